//! The send loop over the link simulator and a fake headend: every message lands exactly once
//! in effect, whatever the link does; refusals are final; back-off follows the announced window.
//!
//! Runs in paused tokio time: delays and timeouts of minutes take no real time.
#![allow(clippy::unwrap_used)]

mod common;

use common::FakeHeadend;
use returnpath::auth::{self, MasterSecret};
use returnpath::wire::{Batch, BatchResponse, Body, CardId, ReasonCode};
use returnpath::{
    Backoff, LinkConfig, LossyLink, Outage, Outbox, SendConfig, Transport, TransportError, drain,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const MASTER: [u8; 32] = [0x42; 32];

fn card(n: u64) -> CardId {
    CardId::parse(&format!("86100{n:011}")).unwrap()
}

fn outbox_for(n: u64) -> Outbox {
    let card = card(n);
    let key = auth::derive_card_key(&MasterSecret::from_bytes(MASTER), &card);
    Outbox::in_memory(card, key)
}

fn vote(option: &str) -> Body {
    Body::Vote {
        topic_id: 7,
        option: option.into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_perfect_link_delivers_in_full_batches() {
    let headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    let mut outbox = outbox_for(1);
    for i in 0..600 {
        outbox.enqueue(vote("approve"), i).unwrap();
    }
    let report = drain(&mut outbox, &headend, &SendConfig::default())
        .await
        .unwrap();
    assert!(outbox.is_empty());
    assert_eq!(
        (report.stored, report.duplicates, report.attempts),
        (600, 0, 3)
    );
    assert_eq!(headend.ledger.lock().unwrap().stored.len(), 600);
}

#[tokio::test(start_paused = true)]
async fn batches_respect_the_byte_limit() {
    let headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    let mut outbox = outbox_for(1);
    for i in 0..50 {
        let text = "长".repeat(200);
        outbox
            .enqueue(Body::Comment { topic_id: 1, text }, i)
            .unwrap();
    }
    let config = SendConfig {
        max_batch_bytes: 8 * 1024,
        ..SendConfig::default()
    };
    let report = drain(&mut outbox, &headend, &config).await.unwrap();
    assert_eq!(report.stored, 50);
    // About 760 bytes each: 10 fit in 8 KiB, so 5 batches.
    assert_eq!(report.attempts, 5);
}

/// Many boxes, each behind its own lossy link to one headend, all at once.
#[tokio::test(start_paused = true)]
async fn every_message_lands_exactly_once_through_a_bad_link() {
    let headend = Arc::new(FakeHeadend::new(MasterSecret::from_bytes(MASTER)));
    let boxes = 40u64;
    let per_box = 25i64;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..boxes {
        let headend = headend.clone();
        tasks.spawn(async move {
            let link = LossyLink::new(
                headend,
                LinkConfig {
                    seed: 1000 + n,
                    loss: 0.2,
                    duplicate: 0.1,
                    reorder: 0.1,
                    delay_ms: 50..=2000,
                    timeout: Duration::from_secs(3),
                    outages: vec![Outage {
                        start: Duration::from_secs(5),
                        duration: Duration::from_secs(60),
                    }],
                },
            );
            let mut outbox = outbox_for(n);
            let mut sent = Vec::new();
            let config = SendConfig {
                jitter_seed: n,
                max_batch_messages: 4,
                ..SendConfig::default()
            };
            // Votes trickle in while earlier ones are still on their way.
            for round in 0..5 {
                for i in 0..per_box / 5 {
                    let option = if (i + round) % 2 == 0 {
                        "approve"
                    } else {
                        "oppose"
                    };
                    outbox.enqueue(vote(option), round * 100 + i).unwrap();
                }
                sent.extend(outbox.pending());
                let report = drain(&mut outbox, &link, &config).await.unwrap();
                assert!(report.rejected.is_empty());
                assert!(outbox.is_empty());
            }
            // Let the copies still held in the network arrive: they must change nothing.
            link.flush().await;
            sent.sort_by_key(|m| m.seq());
            sent.dedup_by_key(|m| m.seq());
            (sent, link.stats())
        });
    }
    let mut expected = std::collections::BTreeMap::new();
    let mut totals = returnpath::LinkStats::default();
    while let Some(result) = tasks.join_next().await {
        let (sent, stats) = result.unwrap();
        for m in sent {
            expected.insert((m.card_id().clone(), m.seq()), m.tag);
        }
        totals.lost_requests += stats.lost_requests;
        totals.lost_answers += stats.lost_answers;
        totals.duplicated += stats.duplicated;
        totals.reordered += stats.reordered;
        totals.dropped_in_outage += stats.dropped_in_outage;
        totals.late_deliveries += stats.late_deliveries;
    }
    assert_eq!(expected.len(), (boxes as usize) * (per_box as usize));
    // Exactly the messages sent, each once, each the message the box signed.
    assert_eq!(headend.stored_tags(), expected);
    // And the link really did all its tricks.
    assert!(totals.lost_requests > 0, "{totals:?}");
    assert!(totals.lost_answers > 0, "{totals:?}");
    assert!(totals.duplicated > 0, "{totals:?}");
    assert!(totals.reordered > 0, "{totals:?}");
    assert!(totals.dropped_in_outage > 0, "{totals:?}");
    assert!(totals.late_deliveries > 0, "{totals:?}");
    let copies: u32 = headend
        .ledger
        .lock()
        .unwrap()
        .stored
        .values()
        .map(|(_, c)| c)
        .sum();
    assert!(
        copies as usize > expected.len(),
        "no duplicate ever reached the headend"
    );
}

#[tokio::test(start_paused = true)]
async fn a_box_restarted_mid_send_delivers_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box.log");
    let card = card(5);
    let key = auth::derive_card_key(&MasterSecret::from_bytes(MASTER), &card);
    let headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    let link = LossyLink::new(
        &headend,
        LinkConfig {
            seed: 9,
            loss: 0.3,
            delay_ms: 100..=500,
            ..LinkConfig::default()
        },
    );
    let config = SendConfig {
        max_batch_messages: 3,
        ..SendConfig::default()
    };
    let mut seqs = Vec::new();
    for restart in 0..4 {
        let mut outbox = Outbox::open(&path, card.clone(), key.clone()).unwrap();
        for i in 0..10 {
            seqs.push(outbox.enqueue(vote("approve"), restart * 10 + i).unwrap());
        }
        // Power cut after a little while: the loop is dropped wherever it is.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), drain(&mut outbox, &link, &config)).await;
    }
    let mut outbox = Outbox::open(&path, card.clone(), key).unwrap();
    drain(&mut outbox, &link, &config).await.unwrap();
    let stored: Vec<u64> = headend.stored_tags().keys().map(|(_, seq)| *seq).collect();
    assert_eq!(stored, (1..=40).collect::<Vec<u64>>());
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
}

#[tokio::test(start_paused = true)]
async fn refusals_are_final_and_reported() {
    let headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    let mut outbox = outbox_for(1);
    outbox.enqueue(vote("approve"), 1).unwrap();
    outbox.enqueue(vote("nonexistent"), 2).unwrap();
    outbox.enqueue(vote("oppose"), 3).unwrap();
    let report = drain(&mut outbox, &headend, &SendConfig::default())
        .await
        .unwrap();
    assert_eq!(report.stored, 2);
    assert_eq!(report.attempts, 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].reason, ReasonCode::UnknownOption);
    assert_eq!(report.rejected[0].message.seq(), 2);
    assert_eq!(outbox.rejected().len(), 1);
    assert!(outbox.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_forged_box_is_refused_with_bad_tag() {
    let headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    let card = card(1);
    let wrong_key = auth::derive_card_key(&MasterSecret::from_bytes([0; 32]), &card);
    let mut outbox = Outbox::in_memory(card, wrong_key);
    outbox.enqueue(vote("approve"), 1).unwrap();
    let report = drain(&mut outbox, &headend, &SendConfig::default())
        .await
        .unwrap();
    assert_eq!(report.rejected[0].reason, ReasonCode::BadTag);
    assert!(headend.ledger.lock().unwrap().stored.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_batch_is_halved_until_the_bad_message_is_alone() {
    let mut headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    headend.poison_option = Some("poison".into());
    let mut outbox = outbox_for(1);
    for i in 0..16 {
        outbox
            .enqueue(vote(if i == 11 { "poison" } else { "approve" }), i)
            .unwrap();
    }
    let report = drain(&mut outbox, &headend, &SendConfig::default())
        .await
        .unwrap();
    assert_eq!(report.stored, 15);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].message.seq(), 12);
    assert_eq!(report.rejected[0].reason, ReasonCode::Malformed);
    assert!(report.attempts <= 16, "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_busy_headend_is_left_alone_for_the_window_it_announces() {
    let mut headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    headend.retry_after_ms = Some(5_000);
    *headend.busy_for.lock().unwrap() = 3;
    let mut outbox = outbox_for(1);
    outbox.enqueue(vote("approve"), 1).unwrap();
    let start = tokio::time::Instant::now();
    let report = drain(&mut outbox, &headend, &SendConfig::default())
        .await
        .unwrap();
    assert_eq!((report.attempts, report.failures, report.stored), (4, 3, 1));
    // Three announced windows of at least 5 s each (in paused time: this is behaviour, not
    // speed), and no more than the documented 1.25 × each.
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(15), "{waited:?}");
    assert!(waited <= Duration::from_millis(18_750), "{waited:?}");
}

/// Answers the first requests with acks about nothing it was sent.
struct Confused {
    inner: FakeHeadend,
    confused_for: AtomicU32,
}

impl Transport for Confused {
    fn send(
        &self,
        batch: Batch,
    ) -> impl std::future::Future<Output = Result<BatchResponse, TransportError>> + Send {
        let answer = if self.confused_for.load(Ordering::SeqCst) > 0 {
            self.confused_for.fetch_sub(1, Ordering::SeqCst);
            Ok(BatchResponse::default())
        } else {
            self.inner.handle(&batch.to_json())
        };
        async move { answer }
    }
}

#[tokio::test(start_paused = true)]
async fn an_answer_about_nothing_counts_as_a_failure() {
    let confused = Confused {
        inner: FakeHeadend::new(MasterSecret::from_bytes(MASTER)),
        confused_for: AtomicU32::new(3),
    };
    let mut outbox = outbox_for(1);
    outbox.enqueue(vote("approve"), 1).unwrap();
    let report = drain(&mut outbox, &confused, &SendConfig::default())
        .await
        .unwrap();
    assert_eq!((report.attempts, report.failures, report.stored), (4, 3, 1));
}

#[test]
fn backoff_ceilings_double_from_200_ms_to_30_s() {
    let config = SendConfig::default();
    assert_eq!(config.base_delay, Duration::from_millis(200));
    assert_eq!(config.max_delay, Duration::from_secs(30));
    let backoff = Backoff::new(config.base_delay, config.max_delay, 1);
    let ceilings: Vec<u128> = (1..=10).map(|n| backoff.ceiling(n).as_millis()).collect();
    assert_eq!(
        ceilings,
        vec![200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]
    );
    assert_eq!(backoff.ceiling(1000), Duration::from_secs(30));
}

#[test]
fn backoff_waits_are_full_jitter_within_the_ceiling() {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30), 3);
    let mut waits = Vec::new();
    for n in 1..=12 {
        let wait = backoff.fail();
        assert!(wait <= backoff.ceiling(n));
        waits.push(wait);
    }
    // Full jitter: waits are spread from zero, not clustered at the ceiling.
    assert!(waits.iter().any(|w| *w < backoff.ceiling(12) / 2));
    backoff.succeed();
    assert_eq!(backoff.failures(), 0);
    let announced = backoff.announced(Duration::from_secs(4));
    assert!(announced >= Duration::from_secs(4) && announced <= Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_seed_reproduces_a_link() {
    async fn run(seed: u64) -> (returnpath::LinkStats, Duration) {
        let headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
        let link = LossyLink::new(
            &headend,
            LinkConfig {
                seed,
                loss: 0.3,
                duplicate: 0.2,
                reorder: 0.2,
                delay_ms: 10..=900,
                ..LinkConfig::default()
            },
        );
        let mut outbox = outbox_for(2);
        for i in 0..30 {
            outbox.enqueue(vote("approve"), i).unwrap();
        }
        let start = tokio::time::Instant::now();
        let config = SendConfig {
            max_batch_messages: 2,
            jitter_seed: seed,
            ..SendConfig::default()
        };
        drain(&mut outbox, &link, &config).await.unwrap();
        (link.stats(), start.elapsed())
    }
    assert_eq!(run(77).await, run(77).await);
    assert_ne!(run(77).await, run(78).await);
}

#[test]
fn http_answers_map_onto_the_loop() {
    use returnpath::interpret_answer;
    use returnpath::wire::{BatchError, BatchRefusal};
    let ok = br#"{"acks":[],"retry_after_ms":10}"#;
    assert_eq!(
        interpret_answer(200, None, ok).unwrap().retry_after_ms,
        Some(10)
    );
    assert!(matches!(
        interpret_answer(200, None, b"<html>"),
        Err(TransportError::BadResponse(_))
    ));
    let refusal = BatchError::TooManyMessages(300);
    assert_eq!(refusal.http_status(), 413);
    let body = serde_json::to_vec(&refusal.refusal()).unwrap();
    assert_eq!(
        interpret_answer(413, None, &body),
        Err(TransportError::Refused {
            reason: ReasonCode::BatchTooLarge
        })
    );
    assert!(matches!(
        interpret_answer(400, None, b"Bad Request"),
        Err(TransportError::BadResponse(_))
    ));
    let busy = serde_json::to_vec(&BatchRefusal {
        error: ReasonCode::Overloaded,
        detail: None,
        retry_after_ms: Some(2500),
    })
    .unwrap();
    assert_eq!(
        interpret_answer(503, Some("7"), &busy),
        Err(TransportError::Busy {
            retry_after_ms: Some(2500)
        })
    );
    assert_eq!(
        interpret_answer(503, Some("7"), b""),
        Err(TransportError::Busy {
            retry_after_ms: Some(7000)
        })
    );
    assert!(matches!(
        interpret_answer(502, None, b""),
        Err(TransportError::BadResponse(_))
    ));
}
