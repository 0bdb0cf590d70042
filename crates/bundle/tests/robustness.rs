//! The manifest parser and the value rules never panic, whatever the bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bundle::{Limits, parse_manifest};
use proptest::prelude::*;

const SAMPLE: &[u8] = include_bytes!("samples/community/manifest.xml");

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_manifest(&bytes, &Limits::default());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,2000}") {
        let _ = parse_manifest(text.as_bytes(), &Limits::default());
    }

    /// Damaged copies of a real manifest: flipped, dropped and inserted bytes. Either refused
    /// with findings, or accepted and then written back to the same meaning.
    #[test]
    fn damaged_manifests_never_panic(
        edits in proptest::collection::vec((0usize..SAMPLE.len(), any::<u8>(), 0u8..3), 1..8)
    ) {
        let mut bytes = SAMPLE.to_vec();
        for (at, byte, op) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match op {
                0 => bytes[at] = byte,
                1 => { bytes.remove(at); }
                _ => bytes.insert(at, byte),
            }
        }
        if let Ok(m) = parse_manifest(&bytes, &Limits::default()) {
            let again = parse_manifest(&m.to_xml(), &Limits::default());
            prop_assert_eq!(again.ok(), Some(m));
        }
    }

    #[test]
    fn value_rules_never_panic(s in "\\PC{0,80}") {
        let _ = bundle::rules::is_rfc3339(&s);
        let _ = bundle::rules::check_path(&s, bundle::RoleKind::Community);
        let _ = bundle::parse_bitrate(&s);
    }
}

#[test]
fn deep_nesting_and_huge_counts_are_refused_without_building_them() {
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    assert!(parse_manifest(deep.as_bytes(), &Limits::default()).is_err());
    let many = format!("<bundle>{}</bundle>", "<x/>".repeat(100_000));
    let f = parse_manifest(many.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(f[0].kind, bundle::FindingKind::TooManyFiles);
    let big = vec![b' '; 2 * 1024 * 1024];
    let f = parse_manifest(&big, &Limits::default()).unwrap_err();
    assert_eq!(f[0].kind, bundle::FindingKind::OversizedManifest);
}
