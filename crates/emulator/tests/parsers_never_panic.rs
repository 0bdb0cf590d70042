//! Property tests ("fuzzing" with proptest): the provisioning parser, the key-name parser and
//! the notices parser take any input without panicking, and never accept what they must not.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use emulator::keys::{RemoteKey, parse_sequence};
use emulator::{NoticesFile, Provisioning};
use proptest::prelude::*;

const GOOD: &str = r#"{"format":1,"card_id":"8610012345678901","household":4711,"grid":1,"community":320213001,"card_key":"58df7339be70a7d46b7179d4367409243f106e2039198ca1016c2e9cd0e5ca6f"}"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn provisioning_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Provisioning::parse(&bytes);
    }

    #[test]
    fn provisioning_takes_any_mutation_of_a_good_file(
        at in 0usize..GOOD.len(), len in 0usize..8, with in "[ -~]{0,8}"
    ) {
        let end = (at + len).min(GOOD.len());
        let text = format!("{}{}{}", &GOOD[..at], with, &GOOD[end..]);
        if let Ok(p) = Provisioning::parse(text.as_bytes()) {
            // Whatever was accepted is well formed and round-trips.
            prop_assert_eq!(p.card_id.as_str().len(), 16);
            prop_assert!(p.household > 0 && p.grid > 0 && p.community > 0);
            prop_assert_eq!(Provisioning::parse(p.to_json().as_bytes()), Ok(p));
        }
    }

    #[test]
    fn key_names_take_any_text(text in "\\PC{0,40}") {
        if let Ok(key) = RemoteKey::parse(&text) {
            prop_assert!(RemoteKey::ALL.contains(&key));
        }
        let _ = parse_sequence(&text);
    }

    #[test]
    fn key_names_round_trip(i in 0usize..RemoteKey::ALL.len(), lower in any::<bool>()) {
        let key = RemoteKey::ALL[i];
        let name = if lower { key.hbbtv_name().to_lowercase() } else { key.hbbtv_name().to_owned() };
        prop_assert_eq!(RemoteKey::parse(&name), Ok(key));
    }

    #[test]
    fn notices_files_take_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = NoticesFile::parse(&bytes);
    }
}
