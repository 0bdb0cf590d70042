//! The carousel model on built bundles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bundle::carousel::{CarouselParams, ManifestSummary, block};
use bundle::{build, carousel_table, carousel_table_with, format_table};

fn city(n: u32) -> Vec<ManifestSummary> {
    let mut out = vec![ManifestSummary::of(
        &build(&common::base_input(), None).unwrap().manifest,
    )];
    for i in 0..n {
        out.push(ManifestSummary::of(
            &build(&common::community_input(i, 2), None)
                .unwrap()
                .manifest,
        ));
    }
    out
}

#[test]
fn one_row_per_district_with_consistent_figures() {
    let summaries = city(14);
    let rows = carousel_table(&summaries, 2_000_000);
    assert_eq!(rows.len(), 7);
    for r in &rows {
        assert_eq!(r.communities, 2);
        assert_eq!(r.bases, 1);
        assert_eq!(r.missing_bases, 0);
        assert!(r.cycle_bytes > r.content_bytes, "overhead is counted");
        assert!((r.cycle_s - r.cycle_bytes as f64 * 8.0 / 2e6).abs() < 1e-9);
        assert!(r.mean_wait_s > 0.0 && r.mean_wait_s <= r.worst_wait_s);
        assert!(r.worst_wait_s <= r.cycle_s + 1e-9);
        assert!(r.push_mean_s <= r.push_worst_s);
        assert!(r.push_mean_s >= 1.0, "the rebuild second is included");
    }
    let table = format_table(&rows, 2_000_000);
    assert!(table.contains("梁溪区"));
    assert_eq!(table.lines().count(), 2 + 7 + 1);
}

#[test]
fn more_hot_passes_shorten_the_push_and_lengthen_the_cycle() {
    let summaries = city(21);
    let at = |k| {
        let mut p = CarouselParams::new(500_000);
        p.hot_repeats = Some(k);
        carousel_table_with(&summaries, &p).remove(0)
    };
    let one = at(1);
    let four = at(4);
    assert!(four.push_worst_s < one.push_worst_s);
    assert!(four.cycle_bytes > one.cycle_bytes);
    assert_eq!(four.cycle_bytes - one.cycle_bytes, 3 * one.hot_pass_bytes);
}

#[test]
fn a_slower_stream_waits_longer_and_auto_repeats_aim_at_the_target() {
    let summaries = city(7);
    let fast = carousel_table(&summaries, 2_000_000);
    let slow = carousel_table(&summaries, 200_000);
    assert!(slow[0].cycle_s > fast[0].cycle_s);
    for r in &fast {
        assert!(r.push_worst_s <= 20.0, "{r:?}");
    }
}

#[test]
fn a_missing_base_is_reported() {
    let summaries = city(3);
    let rows = carousel_table(&summaries[1..], 2_000_000);
    assert!(
        rows.iter()
            .all(|r| r.missing_bases == r.communities && r.bases == 0)
    );
    assert!(format_table(&rows, 2_000_000).contains("base not found"));
}

#[test]
fn block_overhead_is_what_the_docs_say() {
    // A 64 KiB module: 16 full blocks and one of 480 bytes.
    assert_eq!(block::module_air_bytes(65536), 16 * 4324 + 3 * 188);
}

#[test]
fn a_city_on_disk_summarises_like_the_built_one() {
    let out = tempfile::tempdir().unwrap();
    let base = build(&common::base_input(), None).unwrap();
    bundle::write_dir(&base, &out.path().join("base")).unwrap();
    bundle::build_city(
        out.path(),
        (0..7).map(|n| common::community_input(n, 1)),
        |_, _| {},
    );
    let manifests = bundle::read_city(out.path()).unwrap();
    assert_eq!(manifests.len(), 8);
    let summaries: Vec<ManifestSummary> = manifests.iter().map(ManifestSummary::of).collect();
    let rows = carousel_table(&summaries, 2_000_000);
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r.bases == 1 && r.missing_bases == 0));
}
