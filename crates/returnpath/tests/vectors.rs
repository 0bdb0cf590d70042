//! Checks every test vector in `vectors.json` (also printed in docs/return-channel.md).
//!
//! The keys, canonical bytes and tags are recomputed here from their definitions (HKDF per RFC
//! 5869, HMAC per RFC 2104 over plain SHA-256, the byte layout as the doc describes it), not with
//! the crate's signing code, so a mistake in either shows up as a mismatch. Then the crate's own
//! functions must agree too.
#![allow(clippy::unwrap_used)]

use returnpath::auth::{self, CardKey, MasterSecret};
use returnpath::wire::{self, CardId, SignedMessage};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn vectors() -> Value {
    let text = include_str!("vectors.json");
    serde_json::from_str(text).unwrap()
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// HMAC-SHA256 written out from RFC 2104.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(data)
        .finalize();
    let outer = Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    outer.into()
}

/// HKDF-SHA256 for 32 bytes of output, written out from RFC 5869: PRK = HMAC(salt, IKM);
/// OKM = T(1) = HMAC(PRK, info || 0x01).
fn hkdf_sha256_32(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let prk = hmac_sha256(salt, ikm);
    let mut t1_input = info.to_vec();
    t1_input.push(1);
    hmac_sha256(&prk, &t1_input)
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// The canonical bytes as docs/return-channel.md lays them out, from the JSON object.
fn canonical_from_json(m: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    put_str(&mut out, b"shangyi rc v1 message");
    let kind = m["kind"].as_str().unwrap();
    out.push(match kind {
        "vote" => 1,
        "comment" => 2,
        "notice_seen" => 3,
        other => panic!("kind {other}"),
    });
    put_str(&mut out, m["card_id"].as_str().unwrap().as_bytes());
    out.extend_from_slice(&m["seq"].as_u64().unwrap().to_be_bytes());
    out.extend_from_slice(&m["sent_at"].as_i64().unwrap().to_be_bytes());
    match kind {
        "vote" => {
            out.extend_from_slice(&m["topic_id"].as_i64().unwrap().to_be_bytes());
            put_str(&mut out, m["option"].as_str().unwrap().as_bytes());
        }
        "comment" => {
            out.extend_from_slice(&m["topic_id"].as_i64().unwrap().to_be_bytes());
            put_str(&mut out, m["text"].as_str().unwrap().as_bytes());
        }
        _ => out.extend_from_slice(&m["notice_id"].as_i64().unwrap().to_be_bytes()),
    }
    out
}

#[test]
fn the_salt_and_prefixes_are_the_documented_ones() {
    let v = vectors();
    assert_eq!(unhex(&v["hkdf_salt_hex"]), b"shangyi rc v1 hkdf salt");
    assert_eq!(auth::HKDF_SALT, b"shangyi rc v1 hkdf salt");
    assert_eq!(auth::HKDF_INFO_PREFIX, b"shangyi rc v1 card ");
    assert_eq!(auth::CANONICAL_DOMAIN, b"shangyi rc v1 message");
}

#[test]
fn the_hmac_written_out_here_is_rfc_4231() {
    // RFC 4231, test case 2: a check on the checker.
    let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(
        hex::encode(tag),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn card_keys_match_hkdf() {
    let v = vectors();
    let master_bytes = unhex(&v["master_secret_hex"]);
    let salt = unhex(&v["hkdf_salt_hex"]);
    let master = MasterSecret::from_hex(v["master_secret_hex"].as_str().unwrap()).unwrap();
    let cards = v["cards"].as_array().unwrap();
    assert!(cards.len() >= 2);
    // The headend's way: one extract step, reused for every card.
    let keys = auth::CardKeys::new(&master);
    for card in cards {
        let card_id = card["card_id"].as_str().unwrap();
        let info = unhex(&card["hkdf_info_hex"]);
        assert_eq!(info, format!("shangyi rc v1 card {card_id}").into_bytes());
        let expected = unhex(&card["card_key_hex"]);
        assert_eq!(
            hkdf_sha256_32(&salt, &master_bytes, &info).to_vec(),
            expected
        );
        let derived = auth::derive_card_key(&master, &CardId::parse(card_id).unwrap());
        assert_eq!(derived.as_bytes().to_vec(), expected, "card {card_id}");
        let reused = keys.derive(&CardId::parse(card_id).unwrap());
        assert_eq!(
            reused.as_bytes().to_vec(),
            expected,
            "card {card_id}, CardKeys"
        );
    }
}

#[test]
fn messages_match_their_canonical_bytes_and_tags() {
    let v = vectors();
    let master_bytes = unhex(&v["master_secret_hex"]);
    let salt = unhex(&v["hkdf_salt_hex"]);
    let messages = v["messages"].as_array().unwrap();
    assert!(messages.len() >= 5);
    for vector in messages {
        let json = vector["json"].as_str().unwrap();
        let object: Value = serde_json::from_str(json).unwrap();
        let card_id = object["card_id"].as_str().unwrap();

        // Independently: the bytes from the doc's layout, the key and the tag from the RFCs.
        let canonical = canonical_from_json(&object);
        assert_eq!(
            hex::encode(&canonical),
            vector["canonical_bytes_hex"].as_str().unwrap()
        );
        let info = format!("shangyi rc v1 card {card_id}").into_bytes();
        let key = hkdf_sha256_32(&salt, &master_bytes, &info);
        let tag = hmac_sha256(&key, &canonical);
        assert_eq!(hex::encode(tag), vector["tag_hex"].as_str().unwrap());
        assert_eq!(
            object["tag"].as_str().unwrap(),
            vector["tag_hex"].as_str().unwrap()
        );

        // The crate agrees: decoding, canonical bytes, signing, verifying, encoding.
        let signed: SignedMessage = serde_json::from_str(json).unwrap();
        assert_eq!(auth::canonical_bytes(&signed.message), canonical);
        let card_key = CardKey::from_bytes(key);
        assert_eq!(auth::sign(&card_key, &signed.message).as_bytes(), &tag);
        auth::verify(&card_key, &signed).unwrap();
        assert_eq!(serde_json::to_string(&signed).unwrap(), json);
        let body = format!("{{\"messages\":[{json}]}}");
        let decoded = wire::decode_batch(body.as_bytes()).unwrap();
        assert_eq!(decoded.items, vec![Ok(signed)]);
    }
}

#[test]
fn decode_cases_give_their_documented_outcomes() {
    let v = vectors();
    let master = MasterSecret::from_hex(v["master_secret_hex"].as_str().unwrap()).unwrap();
    let cases = v["decode_cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let body = case["body"].as_str().unwrap();
        match wire::decode_batch(body.as_bytes()) {
            Err(e) => assert_eq!(
                case["batch_error"].as_str(),
                Some(e.reason().as_str()),
                "{name}"
            ),
            Ok(decoded) => {
                assert!(case["batch_error"].is_null(), "{name}");
                let expected: Vec<&str> = case["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect();
                let got: Vec<&str> = decoded
                    .items
                    .iter()
                    .map(|item| match item {
                        Err(rejected) => rejected.error.reason().as_str(),
                        Ok(m) => {
                            let key = auth::derive_card_key(&master, m.card_id());
                            match auth::verify(&key, m) {
                                Ok(()) => "ok",
                                Err(e) => e.reason().as_str(),
                            }
                        }
                    })
                    .collect();
                assert_eq!(got, expected, "{name}");
            }
        }
    }
}

#[test]
fn the_doc_prints_every_vector() {
    let doc = include_str!("../../../docs/return-channel.md");
    let v = vectors();
    let mut values = vec![
        v["master_secret_hex"].as_str().unwrap(),
        v["hkdf_salt_hex"].as_str().unwrap(),
    ];
    for card in v["cards"].as_array().unwrap() {
        values.push(card["hkdf_info_hex"].as_str().unwrap());
        values.push(card["card_key_hex"].as_str().unwrap());
    }
    for m in v["messages"].as_array().unwrap() {
        values.push(m["json"].as_str().unwrap());
        values.push(m["canonical_bytes_hex"].as_str().unwrap());
        values.push(m["tag_hex"].as_str().unwrap());
    }
    for case in v["decode_cases"].as_array().unwrap() {
        values.push(case["name"].as_str().unwrap());
    }
    for value in values {
        assert!(doc.contains(value), "docs/return-channel.md lacks {value}");
    }
}
