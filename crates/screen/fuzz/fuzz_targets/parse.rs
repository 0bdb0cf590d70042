//! Arbitrary bytes into the template and theme parsers: never a panic, never a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = screen::template::parse("fuzz.xml", data, true);
    let _ = screen::theme::parse_theme("fuzz.xml", data);
});
