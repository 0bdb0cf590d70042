//! Arbitrary bytes as `manifest.xml`: never a panic, never a hang; whatever parses writes back
//! to a manifest that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = bundle::Limits::default();
    if let Ok(m) = bundle::parse_manifest(data, &limits) {
        let again = bundle::parse_manifest(&m.to_xml(), &limits);
        let _ = bundle::carousel::ManifestSummary::of(&m);
        assert_eq!(again.ok(), Some(m));
    }
});
