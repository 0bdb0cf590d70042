//! Any bytes a headend (or something pretending to be one) answers with: the box's decoders and
//! the HTTP mapping must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use returnpath::{interpret_answer, wire};

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode_response(data);
    let _ = wire::decode_refusal(data);
    for status in [200, 400, 413, 429, 503, 500] {
        let _ = interpret_answer(status, std::str::from_utf8(data).ok(), data);
    }
});
