//! The outbox on disk: restarts, power cuts (a torn last line), corruption, compaction.
#![allow(clippy::unwrap_used)]

use returnpath::auth::{self, CardKey, MasterSecret};
use returnpath::wire::{Ack, Body, CardId, ReasonCode};
use returnpath::{Outbox, OutboxError, Settled};
use std::fs;
use std::io::Write;
use std::path::Path;

fn card() -> CardId {
    CardId::parse("8610012345678901").unwrap()
}

fn key() -> CardKey {
    auth::derive_card_key(&MasterSecret::from_bytes([1; 32]), &card())
}

fn vote(option: &str) -> Body {
    Body::Vote {
        topic_id: 42,
        option: option.into(),
    }
}

fn open(path: &Path) -> Outbox {
    Outbox::open(path, card(), key()).unwrap()
}

#[test]
fn a_new_outbox_starts_at_seq_one_and_signs_what_it_queues() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(&dir.path().join("box.log"));
    assert!(outbox.is_empty());
    assert_eq!(outbox.enqueue(vote("approve"), 100).unwrap(), 1);
    assert_eq!(
        outbox
            .enqueue(Body::NoticeSeen { notice_id: 3 }, 101)
            .unwrap(),
        2
    );
    let pending = outbox.pending();
    assert_eq!(
        pending.iter().map(|m| m.seq()).collect::<Vec<_>>(),
        vec![1, 2]
    );
    for m in &pending {
        auth::verify(&key(), m).unwrap();
        assert_eq!(m.card_id(), &card());
    }
}

#[test]
fn invalid_messages_are_refused_before_they_are_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(&dir.path().join("box.log"));
    let long = Body::Comment {
        topic_id: 1,
        text: "长".repeat(201),
    };
    assert!(matches!(
        outbox.enqueue(long, 1),
        Err(OutboxError::Invalid(_))
    ));
    assert!(matches!(
        outbox.enqueue(vote("No Such"), 1),
        Err(OutboxError::Invalid(_))
    ));
    // Nothing was used up.
    assert_eq!(outbox.enqueue(vote("approve"), 1).unwrap(), 1);
}

#[test]
fn a_restart_resends_what_was_not_acknowledged_and_never_reuses_a_seq() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    {
        let mut outbox = open(&path);
        for option in ["approve", "oppose", "abstain"] {
            outbox.enqueue(vote(option), 10).unwrap();
        }
        let settled = outbox
            .acknowledge_all(&[
                Ack::stored(card(), 1),
                Ack::rejected(card(), 3, ReasonCode::TopicClosed),
                // Not ours, not pending: ignored.
                Ack::stored(CardId::parse("8610000000000009").unwrap(), 2),
                Ack::stored(card(), 99),
            ])
            .unwrap();
        assert_eq!(
            settled,
            vec![
                Some(Settled::Delivered(returnpath::AckStatus::Stored)),
                Some(Settled::Rejected(ReasonCode::TopicClosed)),
                None,
                None
            ]
        );
    }
    let mut outbox = open(&path);
    assert_eq!(
        outbox.pending().iter().map(|m| m.seq()).collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(outbox.rejected().len(), 1);
    assert_eq!(outbox.rejected()[0].reason, ReasonCode::TopicClosed);
    assert_eq!(outbox.rejected()[0].message.seq(), 3);
    assert_eq!(outbox.enqueue(vote("approve"), 11).unwrap(), 4);
}

#[test]
fn compaction_keeps_the_next_seq_and_the_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    let mut outbox = open(&path);
    for _ in 0..20 {
        outbox.enqueue(vote("approve"), 10).unwrap();
    }
    let before = outbox.log_len();
    let mut acks: Vec<Ack> = (1..=19).map(|seq| Ack::duplicate(card(), seq)).collect();
    acks.push(Ack::rejected(card(), 20, ReasonCode::UnknownOption));
    outbox.acknowledge_all(&acks).unwrap();
    assert!(outbox.is_empty());
    assert!(
        outbox.log_len() < before / 5,
        "{} of {before}",
        outbox.log_len()
    );
    assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
    assert!(!dir.path().join("box.log.tmp").exists());
    // Appends after compaction go to the new file.
    assert_eq!(outbox.enqueue(vote("oppose"), 11).unwrap(), 21);
    drop(outbox);

    let mut outbox = open(&path);
    assert_eq!(outbox.pending().len(), 1);
    assert_eq!(outbox.rejected().len(), 1);
    outbox.dismiss_rejected().unwrap();
    drop(outbox);
    let mut outbox = open(&path);
    assert!(outbox.rejected().is_empty());
    assert_eq!(outbox.enqueue(vote("oppose"), 12).unwrap(), 22);
}

#[test]
fn a_power_cut_at_any_byte_loses_nothing_that_was_enqueued() {
    // Write a log, then for every possible length it could have been cut to, reopen a copy:
    // what enqueue had returned for by then is pending, and the next seq is fresh.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    let mut returned_at = Vec::new(); // (file length after enqueue returned, seq)
    {
        let mut outbox = open(&path);
        for i in 0..6 {
            let body = if i % 2 == 0 {
                vote("approve")
            } else {
                Body::Comment {
                    topic_id: 42,
                    text: "同意加装电梯".into(),
                }
            };
            let seq = outbox.enqueue(body, 1000 + i).unwrap();
            returned_at.push((fs::metadata(&path).unwrap().len(), seq));
        }
        outbox.acknowledge(&Ack::stored(card(), 1)).unwrap();
    }
    let full = fs::read(&path).unwrap();
    let header_len = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    let cut_path = dir.path().join("cut.log");
    // Every byte near a line's end (where tearing is subtle), and a sample of the rest: each
    // cut costs a few fsyncs, and the suite must stay fast on a busy disk.
    let ends: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    let cuts = (header_len..=full.len())
        .filter(|cut| cut % 11 == 0 || ends.iter().any(|end| end.abs_diff(*cut) <= 2));
    for cut in cuts {
        fs::write(&cut_path, &full[..cut]).unwrap();
        let mut outbox = Outbox::open(&cut_path, card(), key()).unwrap();
        let pending: Vec<u64> = outbox.pending().iter().map(|m| m.seq()).collect();
        let durable: Vec<u64> = returned_at
            .iter()
            .filter(|(len, _)| *len as usize <= cut)
            .map(|(_, seq)| *seq)
            .collect();
        let acked_1 = cut == full.len();
        for seq in &durable {
            assert!(
                pending.contains(seq) || (*seq == 1 && acked_1),
                "cut at {cut}: seq {seq} lost"
            );
        }
        let highest = durable.last().copied().unwrap_or(0);
        let next = outbox.enqueue(vote("abstain"), 2000).unwrap();
        assert!(next > highest, "cut at {cut}: seq {next} reused");
        drop(outbox);
        // The torn tail was cut off, so the append landed on a clean line: it reopens.
        let outbox = Outbox::open(&cut_path, card(), key()).unwrap();
        assert!(outbox.pending().iter().any(|m| m.seq() == next));
    }
}

#[test]
fn garbage_after_a_power_cut_is_a_torn_line_not_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    {
        let mut outbox = open(&path);
        outbox.enqueue(vote("approve"), 1).unwrap();
    }
    // Some file systems leave zeros, or a whole line of junk, where the last write was.
    for tail in [&[0u8; 300][..], b"0123456789abcdef {\"t\":\"acks\"}\n"] {
        let copy = dir.path().join("copy.log");
        fs::copy(&path, &copy).unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(&copy)
            .unwrap()
            .write_all(tail)
            .unwrap();
        let outbox = Outbox::open(&copy, card(), key()).unwrap();
        assert_eq!(outbox.pending().len(), 1);
    }
}

#[test]
fn corruption_before_the_last_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    {
        let mut outbox = open(&path);
        outbox.enqueue(vote("approve"), 1).unwrap();
        outbox.enqueue(vote("oppose"), 2).unwrap();
    }
    let text = fs::read_to_string(&path).unwrap();
    let corrupted = text.replacen("approve", "apprnve", 1);
    fs::write(&path, corrupted).unwrap();
    match Outbox::open(&path, card(), key()) {
        Err(OutboxError::Corrupt { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn a_log_belongs_to_one_card() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    drop(open(&path));
    let other = CardId::parse("8610000000000009").unwrap();
    assert!(matches!(
        Outbox::open(&path, other, key()),
        Err(OutboxError::WrongCard { .. })
    ));
}

#[test]
fn a_half_finished_compaction_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    {
        let mut outbox = open(&path);
        outbox.enqueue(vote("approve"), 1).unwrap();
    }
    fs::write(dir.path().join("box.log.tmp"), b"half a snap").unwrap();
    let outbox = open(&path);
    assert_eq!(outbox.pending().len(), 1);
    assert!(!dir.path().join("box.log.tmp").exists());
}

#[test]
fn empty_or_headerless_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    fs::write(&path, b"").unwrap();
    assert!(matches!(
        Outbox::open(&path, card(), key()),
        Err(OutboxError::Corrupt { .. })
    ));
    fs::write(&path, b"hello\n").unwrap();
    assert!(matches!(
        Outbox::open(&path, card(), key()),
        Err(OutboxError::Corrupt { .. })
    ));
}
