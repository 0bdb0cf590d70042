//! User story: an operator loads a community's bundle into the emulator, drives it with the
//! keys of a household that opens a topic, casts a ballot and confirms, and reviews the frames;
//! the box's outbox then holds one signed vote for the right topic and option, and with a
//! headend the vote is delivered, acknowledged and in the headend's database.
//!
//! Runs the real `shangyi emulate` (and `fixtures load`, `serve`, `cards provision`,
//! `bundle build`). The golden-frame tests use the demo community's bundle written from the
//! screens fixture (`emulator::demo::write_bundles`, the same layout `bundle build` writes);
//! the headend test builds a loaded city's community with `shangyi bundle build`.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use shangyi_e2e::{Scratch, Serve, build_bundle, run, stderr, stdout};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo bundles and a provisioning file for a box in grid 1, in a scratch directory.
fn setup(scratch: &Scratch) -> (String, String) {
    let dir = emulator::demo::write_bundles(&root(), &scratch.dir.path().join("bundles")).unwrap();
    let card = scratch.dir.path().join("card.json");
    let identity = emulator::demo::provisioning(emulator::demo::CARD, 1, 1).unwrap();
    std::fs::write(&card, identity.to_json()).unwrap();
    (dir.display().to_string(), card.display().to_string())
}

/// The signed messages still pending in an outbox log (`docs/return-channel.md` section 10:
/// one record a line after 16 hex digits; `message` records carry the signed message as on the
/// wire, `acks` records settle them).
fn queued(outbox: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(outbox).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter_map(|(_, json)| serde_json::from_str(json).ok())
        .collect();
    let acked: Vec<u64> = records
        .iter()
        .filter(|r| r["t"] == "acks")
        .flat_map(|r| r["acks"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["seq"].as_u64())
        .collect();
    records
        .iter()
        .filter(|r| r["t"] == "message")
        .map(|r| r["message"].clone())
        .filter(|m| !m["seq"].as_u64().is_some_and(|s| acked.contains(&s)))
        .collect()
}

#[test]
fn a_household_opens_a_topic_casts_a_ballot_and_confirms_in_the_emulator() {
    let scratch = Scratch::new();
    let (bundle, card) = setup(&scratch);
    for theme in ["standard", "elders"] {
        let frames = scratch.dir.path().join(format!("frames-{theme}"));
        let sheet = scratch.dir.path().join(format!("sheet-{theme}.png"));
        let outbox = scratch.dir.path().join(format!("outbox-{theme}.log"));
        let out = run(
            &[
                "emulate",
                "--bundle",
                &bundle,
                "--provision",
                &card,
                "--at",
                "2026-11-27T20:00:00+08:00",
                "--theme",
                theme,
                "--keys",
                "VK_OK RED DOWN OK OK",
                "--frames",
                &frames.display().to_string(),
                "--contact-sheet",
                &sheet.display().to_string(),
                "--outbox",
                &outbox.display().to_string(),
            ],
            0,
        );
        let text = stdout(&out);
        for line in [
            "home                         topic-1",
            "VK_ENTER      topic-detail 101             act-first",
            "VK_RED        ballot 101                   option-1",
            "VK_ENTER      vote-receipt 101/oppose      to-topic",
            "queued #1 vote: topic 101, option oppose",
            "1 message(s) queued",
            "not sent: no --server",
        ] {
            assert!(text.contains(line), "{line:?} not in:\n{text}");
        }

        // The frames the binary wrote are the emulator's goldens, within the tolerance.
        for (file, golden) in [
            ("step-000-home.png", "home"),
            ("step-003-ballot-101.png", "ballot"),
            ("step-004-vote-confirm-101-oppose.png", "vote-confirm"),
            ("step-005-vote-receipt-101-oppose.png", "vote-receipt"),
        ] {
            let got = render::decode_png(&std::fs::read(frames.join(file)).unwrap()).unwrap();
            let path = root().join(format!(
                "crates/emulator/tests/goldens/{golden}-{theme}.png"
            ));
            let want = render::decode_png(&std::fs::read(&path).unwrap()).unwrap();
            let diff = render::compare(&got, &want, render::Tolerance::GOLDEN);
            assert!(
                diff.matches(),
                "{file} ({theme}) vs {}: {diff:?}",
                path.display()
            );
        }
        assert!(render::decode_png(&std::fs::read(&sheet).unwrap()).is_ok());

        // One signed vote for topic 101, option "oppose", that verifies under the card's key.
        let messages = queued(&outbox);
        assert_eq!(messages.len(), 1, "{messages:?}");
        let m = &messages[0];
        assert_eq!(
            (
                m["kind"].as_str(),
                m["topic_id"].as_i64(),
                m["option"].as_str()
            ),
            (Some("vote"), Some(101), Some("oppose"))
        );
        let batch = format!("{{\"messages\":[{m}]}}");
        let decoded = returnpath::decode_batch(batch.as_bytes()).unwrap();
        let signed = decoded.items[0].as_ref().unwrap();
        let key = returnpath::derive_card_key(
            &returnpath::MasterSecret::from_bytes(emulator::demo::MASTER),
            signed.card_id(),
        );
        returnpath::verify(&key, signed).unwrap();
    }
}

#[test]
fn a_box_in_another_grid_does_not_see_the_first_grids_notice() {
    let scratch = Scratch::new();
    let (bundle, _) = setup(&scratch);
    let card = scratch.dir.path().join("grid2.json");
    let identity = emulator::demo::provisioning(emulator::demo::CARD_GRID_2, 2, 2).unwrap();
    std::fs::write(&card, identity.to_json()).unwrap();
    let out = run(
        &[
            "emulate",
            "--bundle",
            &bundle,
            "--provision",
            &card.display().to_string(),
            "--at",
            "2026-11-27T20:00:00+08:00",
            "--keys",
            "GREEN OK",
        ],
        0,
    );
    let text = stdout(&out);
    // Grid 2's newest notice is its gas inspection (8), not grid 1's water cut (7).
    assert!(text.contains("notice-detail 8"), "{text}");
    assert!(text.contains("notice_seen: notice 8"), "{text}");
}

#[test]
fn bad_keys_foreign_cards_and_tampered_bundles_are_refused() {
    let scratch = Scratch::new();
    let (bundle, card) = setup(&scratch);
    let out = run(
        &[
            "emulate",
            "--bundle",
            &bundle,
            "--provision",
            &card,
            "--keys",
            "OK POWER",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("unknown key \"POWER\""),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("VK_ENTER (OK, 13)"),
        "{}",
        stderr(&out)
    );

    let foreign = scratch.dir.path().join("foreign.json");
    let text = std::fs::read_to_string(&card)
        .unwrap()
        .replace("320213001", "320213002");
    std::fs::write(&foreign, text).unwrap();
    let out = run(
        &[
            "emulate",
            "--bundle",
            &bundle,
            "--provision",
            &foreign.display().to_string(),
            "--keys",
            "OK",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("community 320213002"),
        "{}",
        stderr(&out)
    );

    let notices = Path::new(&bundle).join("notices/notices.json");
    let mut bytes = std::fs::read(&notices).unwrap();
    bytes.push(b' ');
    std::fs::write(&notices, bytes).unwrap();
    let out = run(
        &[
            "emulate",
            "--bundle",
            &bundle,
            "--provision",
            &card,
            "--keys",
            "OK",
        ],
        2,
    );
    assert!(stderr(&out).contains("size_mismatch"), "{}", stderr(&out));
}

/// A headend on loopback that stores every message it is sent: plain HTTP/1.1 with
/// Content-Length, keep-alive, one connection at a time. Returns its URL; the thread serves
/// until the test process ends.
fn fake_headend() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            loop {
                let mut length = 0usize;
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    break;
                }
                let batch: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let acks: Vec<serde_json::Value> = batch["messages"]
                    .as_array()
                    .map(|ms| {
                        ms.iter()
                            .map(|m| serde_json::json!({"card_id": m["card_id"], "seq": m["seq"], "status": "stored"}))
                            .collect()
                    })
                    .unwrap_or_default();
                let answer = serde_json::json!({ "acks": acks }).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                if writer.write_all(response.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    url
}

#[test]
fn with_a_server_the_vote_is_delivered_and_the_receipt_shown() {
    let scratch = Scratch::new();
    let (bundle, card) = setup(&scratch);
    let url = fake_headend();
    let outbox = scratch.dir.path().join("outbox.log");
    let out = run(
        &[
            "emulate",
            "--bundle",
            &bundle,
            "--provision",
            &card,
            "--at",
            "2026-11-27T20:00:00+08:00",
            "--keys",
            "OK RED OK OK",
            "--server",
            &url,
            "--outbox",
            &outbox.display().to_string(),
        ],
        0,
    );
    let text = stdout(&out);
    assert!(
        text.contains("receipt #1: the headend has it (vote: topic 101, option approve)"),
        "{text}"
    );
    assert!(text.contains("outbox: empty"), "{text}");
    assert!(queued(&outbox).is_empty(), "nothing left to send");
}

#[test]
fn a_vote_cast_in_the_emulator_lands_in_the_headends_record() {
    let scratch = Scratch::new();
    let db = scratch.db();
    let at = "2026-11-27T20:00:00+08:00";
    run(
        &[
            "fixtures",
            "load",
            "--db",
            &db,
            "--households-per-community",
            "3",
            "--at",
            at,
        ],
        0,
    );
    // Answering /healthz, the service has written its master key beside the database.
    let server = Serve::start(&db);
    // The first card of the city, its community's bundle, its provisioning file.
    let card = "8610000000000001";
    let provision = scratch.dir.path().join("card.json");
    let out = run(
        &[
            "cards",
            "provision",
            "--db",
            &db,
            "--card",
            card,
            "--out",
            &provision.display().to_string(),
        ],
        0,
    );
    assert!(stdout(&out).contains("community 1"), "{}", stdout(&out));
    // Not `bundles/` beside the database: the running `serve` builds its own there.
    let bundles = scratch.dir.path().join("operator-bundles");
    build_bundle(&db, 1, &bundles, 0);
    let bundle = bundles.join("c-1");

    // Open the first topic (open ballots come first), RED to its ballot, choose the first
    // option, confirm: one vote, delivered and acknowledged.
    let out = run(
        &[
            "emulate",
            "--bundle",
            &bundle.display().to_string(),
            "--provision",
            &provision.display().to_string(),
            "--at",
            at,
            "--keys",
            "OK RED OK OK",
            "--server",
            &server.url(),
        ],
        0,
    );
    let text = stdout(&out);
    assert!(text.contains("queued #1 vote: topic"), "{text}");
    assert!(text.contains("receipt #1: the headend has it"), "{text}");
    assert!(
        text.contains("1 stored, 0 already there, 0 refused"),
        "{text}"
    );
    assert!(text.contains("outbox: empty"), "{text}");

    // In the headend's database: one vote from this card.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let votes: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM votes WHERE card_id = ?1",
            [card],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(votes, 1);
}
