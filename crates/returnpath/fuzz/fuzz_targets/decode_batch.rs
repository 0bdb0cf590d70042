//! Any bytes posted to /rc/v1/messages: decoding must never panic, and whatever decodes must
//! encode and decode again to the same messages, and verify without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use returnpath::auth::{self, CardKey};
use returnpath::wire::{self, Batch};

fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = wire::decode_batch(data) else {
        return;
    };
    let messages: Vec<_> = decoded.items.into_iter().flatten().collect();
    let key = CardKey::from_bytes([7; 32]);
    for m in &messages {
        let _ = auth::verify(&key, m);
    }
    let again = wire::decode_batch(&Batch { messages: messages.clone() }.to_json())
        .map(|d| d.items.into_iter().flatten().collect::<Vec<_>>());
    assert_eq!(again.ok(), Some(messages));
});
