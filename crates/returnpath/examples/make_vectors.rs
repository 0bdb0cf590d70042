//! Prints the return channel's test vectors as JSON. Run once, review, and commit the output:
//!
//! ```text
//! cargo run -p returnpath --example make_vectors > crates/returnpath/tests/vectors.json
//! ```
//!
//! `tests/vectors.rs` then checks every vector by recomputing HKDF, HMAC and the canonical bytes
//! from their definitions, without this crate's signing code.

use returnpath::auth::{self, HKDF_INFO_PREFIX, HKDF_SALT};
use returnpath::wire::{self, Batch, Body, CardId, Message};
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let master_bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
    let master = auth::MasterSecret::from_bytes(master_bytes);
    let card_a = CardId::parse("8610012345678901")?;
    let card_b = CardId::parse("8610000000000002")?;

    let cards: Vec<Value> = [&card_a, &card_b]
        .iter()
        .map(|card| {
            let mut info = HKDF_INFO_PREFIX.to_vec();
            info.extend_from_slice(card.as_str().as_bytes());
            json!({
                "card_id": card.as_str(),
                "hkdf_info_hex": hex::encode(&info),
                "card_key_hex": hex::encode(auth::derive_card_key(&master, card).as_bytes()),
            })
        })
        .collect();

    let messages = [
        Message {
            card_id: card_a.clone(),
            seq: 1,
            sent_at: 1_795_779_000,
            body: Body::Vote {
                topic_id: 42,
                option: "approve".into(),
            },
        },
        Message {
            card_id: card_a.clone(),
            seq: 2,
            sent_at: 1_795_779_060,
            body: Body::Vote {
                topic_id: 42,
                option: "oppose".into(),
            },
        },
        Message {
            card_id: card_a.clone(),
            seq: 3,
            sent_at: 1_795_779_120,
            body: Body::Comment {
                topic_id: 42,
                text: "加装电梯，我家同意！".into(),
            },
        },
        Message {
            card_id: card_a.clone(),
            seq: 4,
            sent_at: 1_795_779_180,
            body: Body::Comment {
                topic_id: 42,
                text: "Line one\n\"quoted\" \\ and a bike 🚲".into(),
            },
        },
        Message {
            card_id: card_b.clone(),
            seq: 1,
            sent_at: 1_795_780_000,
            body: Body::NoticeSeen { notice_id: 7 },
        },
        Message {
            card_id: card_b.clone(),
            seq: 4_294_967_297,
            sent_at: -1,
            body: Body::Vote {
                topic_id: 9,
                option: "plan-b_2".into(),
            },
        },
    ];

    let mut signed_all = Vec::new();
    let message_vectors: Vec<Value> = messages
        .iter()
        .map(|m| {
            let key = auth::derive_card_key(&master, &m.card_id);
            let signed = auth::sign_message(&key, m.clone());
            signed_all.push(signed.clone());
            json!({
                "json": serde_json::to_string(&signed).unwrap_or_default(),
                "canonical_bytes_hex": hex::encode(auth::canonical_bytes(m)),
                "tag_hex": signed.tag.to_hex(),
            })
        })
        .collect();

    let batch = Batch {
        messages: signed_all[..2].to_vec(),
    };
    let good_vote = serde_json::to_string(&signed_all[0])?;
    let body_with = |replace: &str, with: &str| {
        format!(
            "{{\"messages\":[{}]}}",
            good_vote.replacen(replace, with, 1)
        )
    };
    let tag = signed_all[0].tag.to_hex();
    let decode_inputs: Vec<(&str, String)> = vec![
        ("a batch of two good messages", String::from_utf8(batch.to_json())?),
        ("a truncated tag", body_with(&tag, &tag[..40])),
        ("a forged tag (one digit changed)", body_with(&tag, &format!("{}{}", if tag.starts_with('0') { "1" } else { "0" }, &tag[1..]))),
        ("an upper-case tag", body_with(&tag, &tag.to_uppercase())),
        ("an altered option under the original tag", body_with("\"approve\"", "\"oppose\"")),
        ("an unknown field", body_with("\"seq\":1,", "\"seq\":1,\"colour\":\"red\",")),
        ("a null field", body_with("\"seq\":1,", "\"seq\":1,\"text\":null,")),
        ("a duplicated field", body_with("\"seq\":1,", "\"seq\":1,\"seq\":1,")),
        ("a vote with a text", body_with("\"seq\":1,", "\"seq\":1,\"text\":\"hi\",")),
        ("seq 0", body_with("\"seq\":1,", "\"seq\":0,")),
        ("an unknown kind", body_with("\"kind\":\"vote\"", "\"kind\":\"poll\"")),
        ("an empty comment", r#"{"messages":[{"kind":"comment","card_id":"8610012345678901","seq":9,"sent_at":1795779000,"topic_id":42,"text":"  ","tag":"0000000000000000000000000000000000000000000000000000000000000000"}]}"#.to_string()),
        ("a comment of 201 characters", format!(r#"{{"messages":[{{"kind":"comment","card_id":"8610012345678901","seq":9,"sent_at":1795779000,"topic_id":42,"text":"{}","tag":"0000000000000000000000000000000000000000000000000000000000000000"}}]}}"#, "好".repeat(201))),
        ("a comment with a control character", r#"{"messages":[{"kind":"comment","card_id":"8610012345678901","seq":9,"sent_at":1795779000,"topic_id":42,"text":"bell\u0007","tag":"0000000000000000000000000000000000000000000000000000000000000000"}]}"#.to_string()),
        ("a card id of 15 digits", body_with("8610012345678901", "861001234567890")),
        ("not JSON", "messages: vote approve".to_string()),
        ("an unknown top-level field", r#"{"messages":[],"box":"x"}"#.to_string()),
    ];
    let decode_cases: Vec<Value> = decode_inputs
        .into_iter()
        .map(|(name, body)| {
            let (batch_error, results) = match wire::decode_batch(body.as_bytes()) {
                Err(e) => (json!(e.reason().as_str()), json!(null)),
                Ok(decoded) => (
                    json!(null),
                    decoded
                        .items
                        .iter()
                        .map(|item| match item {
                            Err(rejected) => json!(rejected.error.reason().as_str()),
                            Ok(m) => {
                                let key = auth::derive_card_key(&master, m.card_id());
                                match auth::verify(&key, m) {
                                    Ok(()) => json!("ok"),
                                    Err(e) => json!(e.reason().as_str()),
                                }
                            }
                        })
                        .collect(),
                ),
            };
            json!({
                "name": name,
                "body": body,
                "batch_error": batch_error,
                "results": results,
            })
        })
        .collect();

    let out = json!({
        "about": "Test vectors of the shangyi return channel, protocol v1: see docs/return-channel.md.",
        "master_secret_hex": hex::encode(master_bytes),
        "hkdf_salt_hex": hex::encode(HKDF_SALT),
        "cards": cards,
        "messages": message_vectors,
        "decode_cases": decode_cases,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
