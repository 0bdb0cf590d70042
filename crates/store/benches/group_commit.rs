//! The ingest writer's cost per group commit, without HTTP or threads: `Store::ingest` of a
//! group of votes, against a baseline measured in the same run, a bare SQLite transaction that
//! appends as many rows to a table of its own (the same pragmas: WAL, synchronous=FULL).
//!
//! ```text
//! cargo bench -p store --bench group_commit            # 1 s a run, 5 rounds a size
//! BENCH_SECS=2 BENCH_ROUNDS=9 cargo bench -p store --bench group_commit
//! ```
//!
//! Why: at 64 boxes the headend's writer spends about 19 µs of CPU on each vote, 80% of what an
//! ack costs beyond plain HTTP (`cargo bench -p server --bench ingest` prints both), and the
//! end-to-end ratio moves by a few points with the neighbours on the shared machines. Here one
//! thread does nothing but the writer's work, so a change to it shows in µs per group.
//!
//! Each round runs the baseline and the ingest back to back, in alternating order; the votes
//! are `HOUSEHOLDS` households changing their vote in random order, like the boxes of the
//! end-to-end benchmark.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use consult::ids::TopicId;
use consult::time::Timestamp;
use std::time::{Duration, Instant};
use store::{IngestBody, IngestConfig, IngestMemory, IngestMessage, Store};

const HOUSEHOLDS: u64 = 4_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Votes from random households, each a new seq of its card and a changed option.
struct Votes {
    topic: TopicId,
    next_seq: Vec<u64>,
    random: u64,
}

impl Votes {
    fn group(&mut self, size: usize) -> Vec<IngestMessage> {
        (0..size)
            .map(|_| {
                // xorshift64: any spread will do, and it is the same in every run.
                self.random ^= self.random << 13;
                self.random ^= self.random >> 7;
                self.random ^= self.random << 17;
                let household = self.random % HOUSEHOLDS + 1;
                let seq = self.next_seq[household as usize];
                self.next_seq[household as usize] += 1;
                IngestMessage {
                    card: store::testing::card(household as i64),
                    seq,
                    sent_at: Timestamp(now()),
                    tag: [(seq % 251) as u8; 32],
                    verified: true,
                    body: IngestBody::Vote {
                        topic: self.topic,
                        option: ["approve", "oppose", "abstain"][(seq % 3) as usize].into(),
                    },
                }
            })
            .collect()
    }
}

/// Microseconds per group: groups of `size` votes through `Store::ingest` for `duration`.
fn ingest(
    store: &mut Store,
    memory: &mut IngestMemory,
    votes: &mut Votes,
    size: usize,
    duration: Duration,
) -> f64 {
    let config = IngestConfig::default();
    let started = Instant::now();
    let mut settled = Instant::now();
    let mut groups = 0;
    while started.elapsed() < duration {
        let group = votes.group(size);
        store
            .ingest(memory, &group, Timestamp(now()), &config)
            .unwrap();
        groups += 1;
        // As the headend's writer does, once a second.
        if settled.elapsed() >= Duration::from_secs(1) {
            store.settle_current_votes(memory).unwrap();
            store.checkpoint().unwrap();
            settled = Instant::now();
        }
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(groups)
}

/// Microseconds per group: transactions appending `size` rows like a vote's for `duration`.
fn baseline(
    conn: &rusqlite::Connection,
    votes: &mut Votes,
    size: usize,
    duration: Duration,
) -> f64 {
    let started = Instant::now();
    let mut groups = 0;
    while started.elapsed() < duration {
        let group = votes.group(size);
        conn.execute_batch("BEGIN").unwrap();
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO rows (card_id, seq, tag, option, sent_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .unwrap();
        for message in &group {
            let IngestBody::Vote { option, .. } = &message.body else {
                unreachable!("only votes here")
            };
            insert
                .execute(rusqlite::params![
                    message.card.as_str(),
                    message.seq as i64,
                    &message.tag[..],
                    option,
                    message.sent_at.0
                ])
                .unwrap();
        }
        drop(insert);
        conn.execute_batch("COMMIT").unwrap();
        groups += 1;
        if groups % 2_000 == 0 {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .unwrap();
        }
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(groups)
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let duration = Duration::from_secs_f64(secs);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingest.db");
    let mut store = Store::open(&path).unwrap();
    let topic = store::testing::voting_community(&mut store, &[400; 10], now()).unwrap();
    store.set_wal_autocheckpoint(0).unwrap();
    let mut memory = store.load_ingest_memory().unwrap();
    let plain = rusqlite::Connection::open(dir.path().join("baseline.db")).unwrap();
    plain.pragma_update(None, "journal_mode", "WAL").unwrap();
    plain.pragma_update(None, "synchronous", "FULL").unwrap();
    plain
        .execute_batch(
            "CREATE TABLE rows (id INTEGER PRIMARY KEY, card_id TEXT NOT NULL, seq INTEGER NOT NULL,
                tag BLOB NOT NULL, option TEXT NOT NULL, sent_at INTEGER NOT NULL)",
        )
        .unwrap();
    let mut votes = Votes {
        topic,
        next_seq: vec![1; HOUSEHOLDS as usize + 1],
        random: 0x2545_F491_4F6C_DD1D,
    };
    println!("{secs} s a run, WAL, synchronous=FULL, one thread; µs per group commit");
    let mut summary = Vec::new();
    for size in [1, 15, 256] {
        let mut runs = Vec::new();
        for round in 1..=rounds {
            let mut plain_run = || baseline(&plain, &mut votes, size, duration);
            let (base, ours) = if round % 2 == 1 {
                let base = plain_run();
                (
                    base,
                    ingest(&mut store, &mut memory, &mut votes, size, duration),
                )
            } else {
                let ours = ingest(&mut store, &mut memory, &mut votes, size, duration);
                (baseline(&plain, &mut votes, size, duration), ours)
            };
            println!(
                "{size:>4} votes a group, round {round}: baseline {base:>8.1} µs, ingest {ours:>8.1} µs ({:.2}×)",
                ours / base
            );
            runs.push((ours / base, base, ours));
        }
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        summary.push((size, runs[runs.len() / 2]));
    }
    for (size, (ratio, base, ours)) in summary {
        println!(
            "{size:>4} votes a group: median round {ratio:.2}× the baseline ({ours:.1} µs against {base:.1} µs; {:.1} µs a vote)",
            ours / size as f64
        );
    }
}
