//! `shangyi bundle`: build every community's broadcast bundle from the database (the building
//! itself is the `broadcast` crate), verify one, list what changed between two versions, and
//! model the carousel.

use anyhow::{Result, anyhow, bail};
use bundle::Manifest;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Builds with the binary's template resolution (`--templates`, else `stb-templates/` here or
/// in the source tree) and, when there is more than one community, a progress bar on stderr.
pub fn build(
    db: &Path,
    out: &Path,
    community: Option<i64>,
    templates: Option<&Path>,
) -> Result<broadcast::BuildReport> {
    let started = Instant::now();
    let templates_dir = crate::screens::templates_dir(templates);
    let assets_dir = crate::screens::assets_dir(&templates_dir);
    let bar = |done: usize, total: usize| {
        if total <= 1 {
            return;
        }
        let width = 40;
        let filled = done * width / total.max(1);
        eprint!(
            "\r[{}{}] {done}/{total} communities, {:.0} s",
            "#".repeat(filled),
            " ".repeat(width - filled),
            started.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
        if done == total {
            eprintln!();
        }
    };
    Ok(broadcast::build(&broadcast::BuildOptions {
        db,
        out,
        community,
        templates_dir: &templates_dir,
        assets_dir: &assets_dir,
        progress: Some(&bar),
    })?)
}

/// `shangyi bundle verify DIR`: every finding, exit 1 if any.
pub fn verify(dir: &Path, previous_version: Option<u64>) -> Result<ExitCode> {
    let base = dir.parent().map(|p| p.join("base"));
    let expected_base = match &base {
        Some(b) if b.join("manifest.xml").exists() && !dir.ends_with("base") => {
            bundle::read_manifest(b)?.map(|m| m.content_sha256)
        }
        _ => None,
    };
    let options = bundle::VerifyOptions {
        previous_version,
        expected_base,
        ..Default::default()
    };
    match bundle::verify_dir(dir, &options) {
        Ok(verified) => {
            println!(
                "ok: {} version {}, {} files, {} bytes",
                dir.display(),
                verified.manifest.version,
                verified.manifest.files.len(),
                verified.raw_bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(findings) => {
            for finding in &findings {
                println!("{finding}");
            }
            println!("refused: {} findings", findings.len());
            Ok(ExitCode::from(1))
        }
    }
}

/// `shangyi bundle diff OLD NEW`.
pub fn diff(old: &Path, new: &Path) -> Result<ExitCode> {
    let read = |dir: &Path| -> Result<Manifest> {
        bundle::read_manifest(dir)?
            .ok_or_else(|| anyhow!("{} holds no bundle (no manifest.xml)", dir.display()))
    };
    let (old_manifest, new_manifest) = (read(old)?, read(new)?);
    let changes = bundle::diff(&old_manifest, &new_manifest);
    for change in &changes {
        println!("{change}");
    }
    if changes.is_empty() {
        println!("no changes");
    }
    Ok(ExitCode::SUCCESS)
}

/// `shangyi bundle carousel --bitrate 2M [--bundles DIR]`.
pub fn carousel(bundles: &Path, bitrate: &str) -> Result<ExitCode> {
    let bps = bundle::parse_bitrate(bitrate).map_err(|e| anyhow!("--bitrate {bitrate}: {e}"))?;
    if !bundles.is_dir() {
        bail!(
            "{} holds no bundles: build them first with `shangyi bundle build --all --out {}`",
            bundles.display(),
            bundles.display()
        );
    }
    let manifests = bundle::read_city(bundles)?;
    let summaries: Vec<bundle::ManifestSummary> =
        manifests.iter().map(bundle::ManifestSummary::of).collect();
    print!(
        "{}",
        bundle::format_table(&bundle::carousel_table(&summaries, bps), bps)
    );
    Ok(ExitCode::SUCCESS)
}
