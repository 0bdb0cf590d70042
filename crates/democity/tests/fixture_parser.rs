//! The fixture parser never panics: arbitrary text, and the real fixture cut or corrupted at
//! any point, give a fixture or an error naming the place.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

const BUILTIN: &str = include_str!("../../../fixtures/democity.json");

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = democity::Fixture::parse("arbitrary.json", &text);
    }

    #[test]
    fn a_cut_or_corrupted_fixture_is_refused_with_a_place(cut in 0usize..20_000, byte in any::<u8>(), at in 0usize..20_000) {
        let bytes = BUILTIN.as_bytes();
        let cut = cut.min(bytes.len());
        if let Ok(text) = std::str::from_utf8(&bytes[..cut]) {
            if let Err(e) = democity::Fixture::parse("cut.json", text) {
                prop_assert!(e.to_string().starts_with("cut.json: "));
            }
        }
        let mut corrupted = bytes.to_vec();
        let at = at.min(corrupted.len() - 1);
        corrupted[at] = byte;
        if let Ok(text) = std::str::from_utf8(&corrupted) {
            if let Err(e) = democity::Fixture::parse("corrupted.json", text) {
                prop_assert!(e.to_string().starts_with("corrupted.json: "));
            }
        }
    }
}
