//! The city benchmark: 1,301 synthetic communities of realistic size (40 layout documents of
//! 3-6 KB, topics, tallies, comments, notices), built from cold; a rebuild after one notice;
//! bundle sizes; the carousel at 2 Mbit/s per district. Times are reported with a baseline
//! measured in the same run (SHA-256 of the same bytes and writing them as plain files), so
//! the ratio means something on any machine.
//!
//! `cargo bench -p bundle --bench city` (`CITY=200` for a smaller city).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bundle::carousel::ManifestSummary;
use bundle::{
    BuildStatus, CityOutcome, InputFile, build, build_city, carousel_table, format_table,
    read_manifest, write_dir,
};

fn baseline(out: &Path, input: &bundle::BundleInput) {
    let dir = out.join(match &input.role {
        bundle::Role::Community { community, .. } => community.id.as_str(),
        bundle::Role::Base => "base",
    });
    for f in &input.files {
        let _ = bundle::Sha256::of(&f.bytes);
        let p = dir.join(&f.path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, &f.bytes).unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n: u32 = std::env::var("CITY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1301);
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let inputs: Vec<_> = (0..n).map(|i| common::community_input(i, 3)).collect();
    let raw: u64 = inputs
        .iter()
        .flat_map(|i| &i.files)
        .map(|f| f.bytes.len() as u64)
        .sum();
    println!(
        "input: {n} communities, {} files, {:.1} MB raw (generated in {:.1?})",
        inputs.iter().map(|i| i.files.len()).sum::<usize>(),
        raw as f64 / 1e6,
        t.elapsed()
    );

    // Baseline: hash and write the same bytes as plain files.
    let t = Instant::now();
    for i in &inputs {
        baseline(&tmp.path().join("plain"), i);
    }
    let base_city = t.elapsed();

    // The base bundle.
    let base = build(&common::base_input(), None).unwrap();
    write_dir(&base, &tmp.path().join("out-base")).unwrap();

    // The city from cold.
    let out = tmp.path().join("out");
    let t = Instant::now();
    let items = build_city(&out, inputs.clone(), |_, _| {});
    let cold = t.elapsed();
    assert!(
        items
            .iter()
            .all(|i| matches!(i.outcome, CityOutcome::Written { .. }))
    );

    // Again, nothing changed.
    let t = Instant::now();
    let again = build_city(&out, inputs.clone(), |_, _| {});
    let unchanged = t.elapsed();
    assert!(
        again
            .iter()
            .all(|i| matches!(i.outcome, CityOutcome::Unchanged { .. }))
    );

    // One notice, 21 times on one community: build + write, against hash + write of the same
    // community.
    let mut input = inputs[n as usize / 2].clone();
    let dir = out.join(match &input.role {
        bundle::Role::Community { community, .. } => community.id.clone(),
        bundle::Role::Base => unreachable!(),
    });
    let mut notice_times = Vec::new();
    let mut build_times = Vec::new();
    let mut notice_base = Vec::new();
    let mut hot_changed = 0u64;
    for k in 0..21u32 {
        input.files.push(InputFile::new(
            format!("notices/n-{}.json", 100 + k),
            common::notice(100 + k, "g1", "临时通知"),
        ));
        let t = Instant::now();
        let prev = read_manifest(&dir).unwrap().unwrap();
        let b = Instant::now();
        let built = build(&input, Some(&prev)).unwrap();
        build_times.push(b.elapsed());
        write_dir(&built, &dir).unwrap();
        notice_times.push(t.elapsed());
        assert_eq!(built.status, BuildStatus::Changed);
        hot_changed = bundle::diff(&prev, &built.manifest)
            .iter()
            .filter_map(|c| match c {
                bundle::Change::ModuleChanged { new_air_size, .. } => Some(*new_air_size),
                _ => None,
            })
            .sum();
        let t = Instant::now();
        // Fresh paths each time, as `write_dir` writes: rewriting files in place is slower on
        // ext4 (truncating a file flushes it), which would flatter the ratio.
        baseline(&tmp.path().join(format!("plain-notice-{k}")), &input);
        notice_base.push(t.elapsed());
    }
    let notice = median(notice_times);
    let notice_build = median(build_times);
    let notice_b = median(notice_base);

    // Sizes.
    let mut summaries = vec![ManifestSummary::of(&base.manifest)];
    let mut own: Vec<u64> = Vec::new();
    let mut with_manifest: Vec<u64> = Vec::new();
    for i in &items {
        if let CityOutcome::Written { manifest, .. } = &i.outcome {
            let s = ManifestSummary::of(manifest);
            own.push(manifest.air_bytes());
            with_manifest.push(manifest.air_bytes() + s.manifest_air_size);
            summaries.push(s);
        }
    }
    own.sort_unstable();
    with_manifest.sort_unstable();
    let raw_per: Vec<u64> = inputs
        .iter()
        .map(|i| i.files.iter().map(|f| f.bytes.len() as u64).sum())
        .collect();

    let rows = carousel_table(&summaries, 2_000_000);

    println!();
    println!(
        "build the whole city from cold: {cold:.2?} ({:.1}x the baseline of {base_city:.2?}: SHA-256 + write of the same bytes); goal <= 60 s",
        cold.as_secs_f64() / base_city.as_secs_f64()
    );
    println!(
        "rerun with nothing changed:     {unchanged:.2?} (every file hashed, nothing written)"
    );
    println!(
        "one notice (read manifest, build, write): median {notice:.2?} ({:.1}x the baseline of {notice_b:.2?}); goal <= 100 ms; {hot_changed} bytes on air changed",
        notice.as_secs_f64() / notice_b.as_secs_f64()
    );
    println!(
        "  of which build() alone (hash, compress the changed module, write the XML): median {notice_build:.2?}"
    );
    println!(
        "community raw bytes: median {}, largest {}",
        raw_per[raw_per.len() / 2],
        raw_per.iter().max().unwrap()
    );
    println!(
        "community own content compressed on air: median {} B, largest {} B (goal <= 32 KB); with its manifest: median {} B, largest {} B",
        own[own.len() / 2],
        own.last().unwrap(),
        with_manifest[with_manifest.len() / 2],
        with_manifest.last().unwrap()
    );
    println!(
        "base bundle: {} B raw, {} B on air (synthetic: theme, 16 icons, 4 images; no fonts)",
        base.manifest.raw_bytes(),
        base.manifest.air_bytes()
    );
    println!();
    print!("{}", format_table(&rows, 2_000_000));
    let worst_push = rows.iter().map(|r| r.push_worst_s).fold(0.0, f64::max);
    println!("worst push-to-screen at 2 Mbit/s: {worst_push:.1} s (goal <= 30 s)");

    // The same city with the shipped subset fonts in the base, if they are in the checkout.
    let fonts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/fonts");
    let mut with_fonts = common::base_input();
    if let Ok(entries) = fs::read_dir(&fonts) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".otf") {
                with_fonts.files.push(InputFile::new(
                    format!("fonts/{name}"),
                    fs::read(e.path()).unwrap(),
                ));
            }
        }
    }
    if with_fonts.files.len() > common::base_input().files.len() {
        let fat = build(&with_fonts, None).unwrap();
        let mut summaries = summaries.clone();
        summaries[0] = ManifestSummary::of(&fat.manifest);
        // The communities still name the small base; point the fat one at it for the model.
        summaries[0].content_sha256 = base.manifest.content_sha256;
        let rows = carousel_table(&summaries, 2_000_000);
        println!();
        println!(
            "with the shipped fonts in the base ({} B raw, {} B on air):",
            fat.manifest.raw_bytes(),
            fat.manifest.air_bytes()
        );
        print!("{}", format_table(&rows, 2_000_000));
    }

    let t = Instant::now();
    drop(tmp);
    println!("(removing the benchmark's files took {:.1?})", t.elapsed());
}
