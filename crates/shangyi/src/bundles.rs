//! `shangyi bundle`: build every community's broadcast bundle from the database, verify one,
//! list what changed between two versions, and model the carousel.
//!
//! A community bundle holds its layout documents in both themes (`screens/`), its screen data
//! without the hot parts (`topics/community.json`), each topic's tally (`tallies/`) and accepted
//! comments (`comments/`), and its notices with their target grids (`notices/`); the base
//! bundle holds the templates and themes (`theme/`) every box shares. The layout is what
//! `emulator::content` reads.

use anyhow::{Context, Result, anyhow, bail};
use bundle::{BundleInput, InputFile, Manifest, Sha256};
use consult::ids::CommunityId;
use consult::time::Timestamp;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use store::Store;

/// The base bundle's inputs are files with no time of their own: it is stamped with the day
/// the channel went on air.
const BASE_NEWEST_INPUT: &str = "2020-07-01T00:00:00+08:00";

/// Communities laid out in parallel per batch: bounds memory while both cores work.
const BATCH: usize = 64;

/// A community's bundle directory under the output directory.
pub fn community_dir(out: &Path, community: CommunityId) -> PathBuf {
    out.join(format!("c-{}", community.0))
}

/// What one community's build came to before writing.
enum Prepared {
    /// Its data and the base are what the previous bundle was built from: nothing to lay out.
    Same,
    Input(Box<BundleInput>),
}

pub struct BuildOptions<'a> {
    pub db: &'a Path,
    pub out: &'a Path,
    pub community: Option<i64>,
    pub templates: Option<&'a Path>,
}

pub struct BuildReport {
    pub written: usize,
    pub unchanged: usize,
    pub failed: Vec<String>,
}

/// Builds the base bundle and every (or one) community's bundle; only what changed is laid out
/// and written again.
pub fn build(options: &BuildOptions<'_>) -> Result<BuildReport> {
    let started = Instant::now();
    let templates_dir = crate::screens::templates_dir(options.templates);
    let assets_dir = crate::screens::assets_dir(&templates_dir);
    std::fs::create_dir_all(options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    let base_files = emulator::content::base_files(&templates_dir, &assets_dir)?;
    let base_dir = options.out.join("base");
    let previous_base = bundle::read_manifest(&base_dir)?;
    let base = bundle::build(
        &BundleInput::base(BASE_NEWEST_INPUT, base_files),
        previous_base.as_ref(),
    )?;
    bundle::write_dir(&base, &base_dir)?;
    let base_digest = base.manifest.content_sha256;
    let templates = screen::load_dir(&templates_dir, &assets_dir)
        .with_context(|| format!("reading templates from {}", templates_dir.display()))?;

    let store =
        Store::open(options.db).with_context(|| format!("opening {}", options.db.display()))?;
    let communities = match options.community {
        Some(id) => {
            store.community(CommunityId(id))?;
            vec![CommunityId(id)]
        }
        None => store.community_ids()?,
    };
    drop(store);
    let total = communities.len();
    let mut report = BuildReport {
        written: 0,
        unchanged: 0,
        failed: Vec::new(),
    };
    let show_progress = total > 1;
    for (batch_index, batch) in communities.chunks(BATCH).enumerate() {
        let halves: Vec<&[CommunityId]> = batch.chunks(batch.len().div_ceil(2).max(1)).collect();
        let prepared: Vec<(CommunityId, Result<Prepared>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = halves
                .iter()
                .map(|half| {
                    let templates = &templates;
                    scope.spawn(move || prepare_many(options, templates, half, base_digest))
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|_| Vec::new()))
                .collect()
        });
        let mut inputs = Vec::new();
        for (community, outcome) in prepared {
            match outcome {
                Ok(Prepared::Same) => report.unchanged += 1,
                Ok(Prepared::Input(input)) => inputs.push(*input),
                Err(e) => report.failed.push(format!("community {community}: {e:#}")),
            }
        }
        for item in bundle::build_city(options.out, inputs, |_, _| {}) {
            match item.outcome {
                bundle::CityOutcome::Unchanged { .. } => report.unchanged += 1,
                bundle::CityOutcome::Written { .. } => report.written += 1,
                bundle::CityOutcome::Failed(e) => {
                    report.failed.push(format!("{}: {e}", item.community))
                }
            }
        }
        if show_progress {
            let done = ((batch_index + 1) * BATCH).min(total);
            let width = 40;
            let filled = done * width / total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total} communities, {:.0} s",
                "#".repeat(filled),
                " ".repeat(width - filled),
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
    }
    if show_progress {
        eprintln!();
    }
    Ok(report)
}

fn prepare_many(
    options: &BuildOptions<'_>,
    templates: &screen::Templates,
    communities: &[CommunityId],
    base: Sha256,
) -> Vec<(CommunityId, Result<Prepared>)> {
    let setup = || -> Result<(Store, screen::measure::Typeset)> {
        Ok((Store::open(options.db)?, screen::measure::Typeset::new()?))
    };
    match setup() {
        Ok((store, measure)) => communities
            .iter()
            .map(|c| {
                (
                    *c,
                    prepare(&store, templates, &measure, *c, base, options.out),
                )
            })
            .collect(),
        Err(e) => communities
            .iter()
            .map(|c| (*c, Err(anyhow!("{e:#}"))))
            .collect(),
    }
}

/// Gathers one community's files; lays out its screens only when its data changed.
fn prepare(
    store: &Store,
    templates: &screen::Templates,
    measure: &screen::measure::Typeset,
    community: CommunityId,
    base: Sha256,
    out: &Path,
) -> Result<Prepared> {
    let _span = tracing::info_span!("bundle_build", community = community.0).entered();
    let at = store
        .community_newest_input(community)?
        .unwrap_or(Timestamp(0));
    // The bundle carries the data split, so that a notice changes its small hot module only.
    // Screens are laid out without notices for the same reason: a box draws its own grid's
    // notices (the banner and the notices list) from the notices module.
    let mut data = channel::community_data(store, community, at, None)?;
    let mut screen_data = data.clone();
    if let Some(map) = screen_data.as_object_mut() {
        map.insert("notices".into(), Value::Array(Vec::new()));
        map.insert("urgent_notices".into(), Value::Array(Vec::new()));
    }
    let notices = emulator::records_in_force(&store.notices_of_community(community)?, at.0);
    let mut files = Vec::new();
    if let Some(topics) = data.get_mut("topics").and_then(Value::as_array_mut) {
        for topic in topics {
            let id = topic.get("id").and_then(Value::as_i64).unwrap_or(0);
            if let Some(map) = topic.as_object_mut() {
                if let Some(tally) = map.remove("tally") {
                    files.push(InputFile::new(
                        format!("tallies/{id}.json"),
                        serde_json::to_vec(&tally)?,
                    ));
                }
                if let Some(comments) = map.remove("comments") {
                    files.push(InputFile::new(
                        format!("comments/{id}.json"),
                        serde_json::to_vec(&comments)?,
                    ));
                }
            }
        }
    }
    files.extend(emulator::content::community_files(&data, notices));
    let grids: Vec<bundle::Grid> = store
        .grids_of_community(community)?
        .into_iter()
        .map(|g| bundle::Grid {
            id: format!("g{}", g.id.0),
            name: g.name,
        })
        .collect();
    let dir = community_dir(out, community);
    let previous = bundle::read_manifest(&dir).ok().flatten();
    if let Some(previous) = &previous {
        if same_inputs(previous, &files, base, &[]) {
            return Ok(Prepared::Same);
        }
        // Only notices changed (a grid worker's push): the screens, laid out without notices,
        // are the previous ones; reuse them instead of laying out again.
        if same_inputs(previous, &files, base, &["notices/"])
            && let Some(screens) = previous_screens(&dir, previous)
        {
            files.extend(screens);
            return Ok(Prepared::Input(Box::new(community_input(
                store, community, grids, base, at, files,
            )?)));
        }
    }
    for theme in ["standard", "elders"] {
        let (documents, findings) = templates.render_all(theme, &screen_data, measure);
        if let Some(finding) = findings.first() {
            tracing::warn!(community = community.0, theme, %finding, "layout finding");
        }
        for document in documents {
            let mut name = document.screen.clone();
            if let Some(param) = &document.param {
                name.push('-');
                name.push_str(&param.replace('/', "-"));
            }
            if let Some(page) = document.page
                && page.count > 1
            {
                name.push_str(&format!("-p{}", page.index + 1));
            }
            files.push(InputFile::new(
                format!("screens/{theme}/{name}.json"),
                document.to_compact_json().into_bytes(),
            ));
        }
    }
    Ok(Prepared::Input(Box::new(community_input(
        store, community, grids, base, at, files,
    )?)))
}

fn community_input(
    store: &Store,
    community: CommunityId,
    grids: Vec<bundle::Grid>,
    base: Sha256,
    at: Timestamp,
    files: Vec<InputFile>,
) -> Result<BundleInput> {
    let summary = store.community(community)?;
    Ok(BundleInput::community(
        bundle::Community {
            id: format!("c-{}", community.0),
            name: summary.name,
            town: summary.town,
            district: summary.district,
        },
        grids,
        base,
        at.to_rfc3339(),
        files,
    ))
}

/// The previous bundle's screens, read back and checked against its manifest; `None` if any
/// is missing or does not match (then they are laid out again).
fn previous_screens(dir: &Path, previous: &Manifest) -> Option<Vec<InputFile>> {
    let mut out = Vec::new();
    for entry in previous
        .files
        .iter()
        .filter(|f| f.path.starts_with("screens/"))
    {
        let bytes = std::fs::read(dir.join(&entry.path)).ok()?;
        if Sha256::of(&bytes) != entry.sha256 {
            return None;
        }
        out.push(InputFile::new(entry.path.clone(), bytes));
    }
    Some(out)
}

/// Whether a previous bundle was built from these data files over this base: then its
/// screens, laid out from the same data and templates, are the same too.
/// Files under `ignoring` are left out of the comparison.
fn same_inputs(previous: &Manifest, files: &[InputFile], base: Sha256, ignoring: &[&str]) -> bool {
    let bundle::Role::Community {
        base: previous_base,
        ..
    } = &previous.role
    else {
        return false;
    };
    if *previous_base != base {
        return false;
    }
    let counted =
        |path: &str| !path.starts_with("screens/") && !ignoring.iter().any(|p| path.starts_with(p));
    let previous_data: Vec<_> = previous.files.iter().filter(|f| counted(&f.path)).collect();
    let files: Vec<&InputFile> = files.iter().filter(|f| counted(&f.path)).collect();
    previous_data.len() == files.len()
        && files.iter().all(|file| {
            previous_data
                .iter()
                .any(|p| p.path == file.path && p.sha256 == Sha256::of(&file.bytes))
        })
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
