//! Arbitrary bytes as a screen template, through binding, layout, focus and check with the
//! shipped standard theme and the demo data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use screen::measure::ApproxMeasure;

const THEME: &str = include_str!("../../../../stb-templates/themes/standard.xml");

fuzz_target!(|data: &[u8]| {
    let t = screen::Templates::from_sources(
        vec![("fuzz.xml".into(), data.to_vec())],
        vec![("standard.xml".into(), THEME.as_bytes().to_vec())],
        vec![],
    );
    let _ = t.check(&screen::demo_data(), &ApproxMeasure);
});
