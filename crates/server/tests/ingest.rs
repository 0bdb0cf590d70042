//! The return channel's ingest against a tiny hand-made city: every bad input of issue 4 is
//! refused with its own reason code, counted, and leaves the tally alone; good messages are
//! stored once, acknowledged after the commit, and remembered across a restart.

// Helpers outside `#[test]` functions unwrap too: a test may panic on what it set up itself.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use consult::ids::*;
use consult::procedure::Step;
use consult::record::{Actor, ActorRole};
use consult::time::Timestamp;
use consult::topic::{Category, Session, StepDetails, TopicDraft};
use consult::vote::{Ballot, EligibleArea, VotingWindow};
use returnpath::{
    Ack, AckStatus, Batch, BatchResponse, Body as WireBody, CardId as WireCard, MasterSecret,
    Message, ReasonCode, SignedMessage, derive_card_key, sign_message,
};
use server::ingest::{IngestHandle, IngestSettings, WriterThread};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use store::Store;
use tower::ServiceExt;

mod common;

const T0: i64 = 1_795_000_000;
/// Voting is open from OPENS to CLOSES (seconds after T0).
const OPENS: i64 = 100;
const CLOSES: i64 = 10_000;
const MASTER: MasterSecret = MasterSecret::from_bytes([7; 32]);

fn card(n: u64) -> String {
    format!("8610{n:012}")
}

fn actor(role: ActorRole) -> Actor {
    Actor {
        role,
        name: "测试".into(),
    }
}

/// The shared tiny city (`common`). Topics of room 1: 1 open in community 1, 2 still in
/// research, 3 closed (consensus drafted).
fn city(store: &mut Store) -> (TopicId, TopicId, TopicId) {
    let mut l = store.load_city().unwrap();
    common::places(&mut l);
    l.commit().unwrap();
    let open = topic(store, 2);
    let research = topic(store, 1);
    let closed = topic(store, 3);
    (open, research, closed)
}

/// A topic taken `steps` far: 1 research, 2 consultation, 3 consensus.
fn topic(store: &mut Store, steps: u8) -> TopicId {
    let draft = TopicDraft {
        room: RoomId(1),
        title: "电动自行车充电桩建设".into(),
        summary: "在东门内侧建设充电车棚。".into(),
        category: Category::EvCharging,
        eligible: EligibleArea::Community {
            community: CommunityId(1),
        },
        ballot: Ballot::approve_oppose_abstain(),
    };
    let convener = || actor(ActorRole::Convener);
    let id = store
        .propose_topic(draft, Timestamp(T0), convener())
        .unwrap()
        .id;
    let step = |store: &mut Store, step, at, details| {
        store
            .take_step(id, step, Timestamp(T0 + at), actor_for(step), "好", details)
            .unwrap();
    };
    step(store, Step::Confirm, 10, StepDetails::default());
    step(store, Step::BeginResearch, 20, StepDetails::default());
    if steps >= 2 {
        let details = StepDetails {
            session: Some(Session {
                starts_at: Timestamp(T0 + 500),
                place: "议事厅".into(),
            }),
            voting: Some(VotingWindow {
                opens_at: Timestamp(T0 + OPENS),
                closes_at: Timestamp(T0 + CLOSES),
            }),
            ..StepDetails::default()
        };
        step(store, Step::OpenConsultation, OPENS, details);
    }
    if steps >= 3 {
        let details = StepDetails {
            consensus: Some("建设充电车棚。".into()),
            ..StepDetails::default()
        };
        step(store, Step::DraftConsensus, 600, details);
    }
    id
}

fn actor_for(step: Step) -> Actor {
    match step {
        Step::Confirm => actor(ActorRole::Overseer),
        _ => actor(ActorRole::Convener),
    }
}

struct Headend {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    clock: Arc<AtomicI64>,
    app: axum::Router,
    ingest: IngestHandle,
    writer: Option<WriterThread>,
    open: TopicId,
    research: TopicId,
    closed: TopicId,
}

fn settings(clock: &Arc<AtomicI64>) -> IngestSettings {
    let clock = clock.clone();
    IngestSettings {
        clock: Arc::new(move || clock.load(Ordering::SeqCst)),
        ..IngestSettings::default()
    }
}

impl Headend {
    fn new() -> Headend {
        Headend::with(|settings| settings)
    }

    /// A headend whose ingest settings `change` adjusts.
    fn with(change: impl FnOnce(IngestSettings) -> IngestSettings) -> Headend {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.db");
        let mut store = Store::open(&path).unwrap();
        let (open, research, closed) = city(&mut store);
        let clock = Arc::new(AtomicI64::new(T0 + 1_000));
        let (ingest, writer) =
            server::ingest::start(&path, MASTER, change(settings(&clock))).unwrap();
        let app = server::router(server::AppState::with_ingest(store, ingest.clone()));
        Headend {
            _dir: dir,
            path,
            clock,
            app,
            ingest,
            writer: Some(writer),
            open,
            research,
            closed,
        }
    }

    /// Stops the writer (committing what it holds) and starts a new one on the same database,
    /// as a restarted server would.
    fn restart(&mut self) {
        self.stop_writer();
        let (ingest, writer) =
            server::ingest::start(&self.path, MASTER, settings(&self.clock)).unwrap();
        let store = Store::open(&self.path).unwrap();
        self.app = server::router(server::AppState::with_ingest(store, ingest.clone()));
        self.ingest = ingest;
        self.writer = Some(writer);
    }

    fn set_clock(&self, seconds_after_t0: i64) {
        self.clock.store(T0 + seconds_after_t0, Ordering::SeqCst);
    }

    async fn post(&self, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
        let request = Request::post("/rc/v1/messages")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, value)
    }

    /// Posts messages and returns the acks (the answer must be 200).
    async fn send(&self, messages: &[SignedMessage]) -> Vec<Ack> {
        let body = Batch {
            messages: messages.to_vec(),
        }
        .to_json();
        self.send_raw(body).await
    }

    async fn send_raw(&self, body: Vec<u8>) -> Vec<Ack> {
        let (status, value) = self.post(body).await;
        assert_eq!(status, StatusCode::OK, "{value}");
        let response: BatchResponse = serde_json::from_value(value).unwrap();
        response.acks
    }

    /// The counts of the open topic's options (approve, oppose, abstain).
    fn counts(&self, topic: TopicId) -> Vec<u64> {
        let store = Store::open(&self.path).unwrap();
        let tally = store.tally(topic).unwrap();
        tally.options.iter().map(|o| o.count).collect()
    }

    /// Stops the writer thread so that the test can be the writer itself, on a store opened
    /// the way the thread opens its own.
    fn stop_writer(&mut self) {
        if let Some(writer) = self.writer.take() {
            writer.stop();
        }
    }
}

/// A store and its ingest memory, opened as the writer thread opens them at start.
fn open_as_writer(path: &std::path::Path) -> (Store, store::IngestMemory) {
    let mut store = Store::open(path).unwrap();
    let memory = store.load_ingest_memory().unwrap();
    (store, memory)
}

/// Stores `messages` as one group, as the writer does, received at `T0 + 1_000`.
fn ingest_group(
    store: &mut Store,
    memory: &mut store::IngestMemory,
    messages: &[store::IngestMessage],
) -> Vec<store::IngestOutcome> {
    store
        .ingest(
            memory,
            messages,
            Timestamp(T0 + 1_000),
            &store::IngestConfig::default(),
        )
        .unwrap()
}

fn signed(card_n: u64, seq: u64, sent_after_t0: i64, body: WireBody) -> SignedMessage {
    let card = WireCard::parse(&card(card_n)).unwrap();
    let key = derive_card_key(&MASTER, &card);
    sign_message(
        &key,
        Message {
            card_id: card,
            seq,
            sent_at: T0 + sent_after_t0,
            body,
        },
    )
}

fn vote(card_n: u64, seq: u64, topic: TopicId, option: &str) -> SignedMessage {
    vote_at(card_n, seq, 900, topic, option)
}

/// A vote signed `sent_after_t0` seconds after T0.
fn vote_at(
    card_n: u64,
    seq: u64,
    sent_after_t0: i64,
    topic: TopicId,
    option: &str,
) -> SignedMessage {
    signed(
        card_n,
        seq,
        sent_after_t0,
        WireBody::Vote {
            topic_id: topic.0,
            option: option.into(),
        },
    )
}

fn rejected(ack: &Ack) -> Option<ReasonCode> {
    (ack.status == AckStatus::Rejected)
        .then_some(ack.reason)
        .flatten()
}

#[tokio::test]
async fn a_vote_is_stored_once_and_a_resent_copy_is_a_duplicate() {
    let h = Headend::new();
    let m = vote(1, 1, h.open, "approve");
    let acks = h.send(std::slice::from_ref(&m)).await;
    assert_eq!(acks, vec![Ack::stored(m.card_id().clone(), 1)]);
    assert_eq!(h.counts(h.open), vec![1, 0, 0]);
    // The answer was lost; the box resends, in a batch with a second copy.
    let acks = h.send(&[m.clone(), m.clone()]).await;
    assert_eq!(acks[0].status, AckStatus::Duplicate);
    assert_eq!(acks[1].status, AckStatus::Duplicate);
    assert_eq!(h.counts(h.open), vec![1, 0, 0]);
    assert_eq!(h.ingest.metrics().stored(), 1);
    assert_eq!(h.ingest.metrics().duplicates(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_the_disk_refuses_is_503_and_its_resend_is_stored_once() {
    let h = Headend::new();
    // The database refuses one box's vote mid-transaction, as a full disk does; the other
    // box's vote, perhaps in the same group commit, must not go down with it.
    let beside = rusqlite::Connection::open(&h.path).unwrap();
    beside
        .execute_batch(
            "CREATE TRIGGER disk_full BEFORE INSERT ON votes WHEN NEW.seq = 7 \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    let refused = vote(1, 7, h.open, "approve");
    let other = vote(2, 1, h.open, "oppose");
    let body = |m: &SignedMessage| {
        Batch {
            messages: vec![m.clone()],
        }
        .to_json()
    };
    let ((status, answer), (other_status, other_answer)) =
        tokio::join!(h.post(body(&refused)), h.post(body(&other)));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"], "overloaded", "{answer}");
    assert!(answer["retry_after_ms"].as_u64().is_some(), "{answer}");
    assert_eq!(other_status, StatusCode::OK, "{other_answer}");
    assert_eq!(
        other_answer["acks"][0]["status"], "stored",
        "{other_answer}"
    );
    assert_eq!(h.counts(h.open), vec![0, 1, 0]);

    // Room again: the box sends the same message, which is stored, once.
    beside.execute_batch("DROP TRIGGER disk_full;").unwrap();
    let acks = h.send(std::slice::from_ref(&refused)).await;
    assert_eq!(acks, vec![Ack::stored(refused.card_id().clone(), 7)]);
    let acks = h.send(std::slice::from_ref(&refused)).await;
    assert_eq!(acks[0].status, AckStatus::Duplicate);
    assert_eq!(h.counts(h.open), vec![1, 1, 0]);
    assert_eq!(h.ingest.metrics().stored(), 2);
}

#[tokio::test]
async fn two_copies_in_one_batch_store_once() {
    let h = Headend::new();
    let m = vote(1, 1, h.open, "oppose");
    let acks = h.send(&[m.clone(), m]).await;
    assert_eq!(acks[0].status, AckStatus::Stored);
    assert_eq!(acks[1].status, AckStatus::Duplicate);
    assert_eq!(h.counts(h.open), vec![0, 1, 0]);
}

#[tokio::test]
async fn the_higher_seq_counts_whatever_order_the_votes_arrive_in() {
    let h = Headend::new();
    // The household changed its mind (seq 2) within the same second; seq 2 arrives first.
    let first = vote(1, 1, h.open, "approve");
    let second = vote(1, 2, h.open, "oppose");
    h.send(&[second]).await;
    h.send(&[first]).await;
    assert_eq!(h.counts(h.open), vec![0, 1, 0]);
    // Both stay in the history.
    let store = Store::open(&h.path).unwrap();
    assert_eq!(store.tally(h.open).unwrap().voters, 1);
}

#[tokio::test]
async fn a_forged_tag_is_bad_tag_and_does_not_take_up_the_seq() {
    let h = Headend::new();
    let real = vote(1, 1, h.open, "approve");
    let json = String::from_utf8(
        Batch {
            messages: vec![real.clone()],
        }
        .to_json(),
    )
    .unwrap();
    let tag = real.tag.to_hex();
    let flipped = format!(
        "{}{}",
        if tag.starts_with('0') { "1" } else { "0" },
        &tag[1..]
    );
    let forged = json.replace(&tag, &flipped);
    let acks = h.send_raw(forged.into_bytes()).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::BadTag));
    // An altered option under the original tag.
    let altered = json.replace("\"approve\"", "\"oppose\"");
    let acks = h.send_raw(altered.into_bytes()).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::BadTag));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
    // The real message with that seq still gets in.
    let acks = h.send(&[real]).await;
    assert_eq!(acks[0].status, AckStatus::Stored);
    assert_eq!(h.counts(h.open), vec![1, 0, 0]);
    assert_eq!(h.ingest.metrics().rejected(ReasonCode::BadTag), 2);
}

#[tokio::test]
async fn a_truncated_tag_is_refused() {
    let h = Headend::new();
    let m = vote(1, 1, h.open, "approve");
    let json = String::from_utf8(
        Batch {
            messages: vec![m.clone()],
        }
        .to_json(),
    )
    .unwrap();
    let tag = m.tag.to_hex();
    let truncated = json.replace(&tag, &tag[..40]);
    let acks = h.send_raw(truncated.into_bytes()).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::TruncatedTag));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
    assert_eq!(h.ingest.metrics().rejected(ReasonCode::TruncatedTag), 1);
}

#[tokio::test]
async fn an_unknown_card_is_refused_even_when_signed_with_its_derived_key() {
    let h = Headend::new();
    let acks = h.send(&[vote(999, 1, h.open, "approve")]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::UnknownCard));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
}

#[tokio::test]
async fn a_reused_seq_with_another_message_is_replayed_seq() {
    let h = Headend::new();
    h.send(&[vote(1, 1, h.open, "approve")]).await;
    let acks = h.send(&[vote(1, 1, h.open, "oppose")]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::ReplayedSeq));
    assert_eq!(h.counts(h.open), vec![1, 0, 0]);
    assert_eq!(h.ingest.metrics().rejected(ReasonCode::ReplayedSeq), 1);
}

#[tokio::test]
async fn a_household_outside_the_area_is_not_eligible() {
    let h = Headend::new();
    let acks = h.send(&[vote(5, 1, h.open, "approve")]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::NotEligible));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
    // The refusal is remembered: a resent copy gets the same answer.
    let acks = h.send(&[vote(5, 1, h.open, "approve")]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::NotEligible));
}

#[tokio::test]
async fn topics_not_open_closed_or_unknown_are_refused() {
    let h = Headend::new();
    let acks = h
        .send(&[
            vote(1, 1, h.research, "approve"),
            vote(1, 2, h.closed, "approve"),
            vote(1, 3, TopicId(4242), "approve"),
        ])
        .await;
    let reasons: Vec<_> = acks.iter().map(rejected).collect();
    assert_eq!(
        reasons,
        vec![
            Some(ReasonCode::TopicNotOpen),
            Some(ReasonCode::TopicClosed),
            Some(ReasonCode::UnknownTopic)
        ]
    );
    assert_eq!(h.counts(h.research), vec![0, 0, 0]);
    assert_eq!(h.counts(h.closed), vec![0, 0, 0]);
    // Before the voting window opens.
    h.set_clock(OPENS - 1);
    let early = vote_at(2, 1, OPENS - 2, h.open, "approve");
    let acks = h.send(&[early]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::TopicNotOpen));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
}

#[tokio::test]
async fn the_grace_period_takes_late_votes_signed_before_the_close_and_nothing_after() {
    let h = Headend::new();
    let before_close = |n, seq, option: &str| vote_at(n, seq, CLOSES - 1, h.open, option);
    // Arrives within the grace period: counts.
    h.set_clock(CLOSES + 600);
    let acks = h.send(&[before_close(1, 1, "approve")]).await;
    assert_eq!(acks[0].status, AckStatus::Stored);
    // Signed at the close: topic_closed.
    let at_close = vote_at(2, 1, CLOSES, h.open, "approve");
    let acks = h.send(&[at_close]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::TopicClosed));
    // Signed before the close, arriving after the grace period.
    h.set_clock(CLOSES + 601);
    let acks = h.send(&[before_close(3, 1, "approve")]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::PastGracePeriod));
    assert_eq!(h.counts(h.open), vec![1, 0, 0]);
    assert_eq!(h.ingest.metrics().rejected(ReasonCode::PastGracePeriod), 1);
}

#[tokio::test]
async fn a_box_clock_far_ahead_is_sent_in_future() {
    let h = Headend::new();
    let future = vote_at(1, 1, 1_000 + 301, h.open, "approve");
    let acks = h.send(&[future]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::SentInFuture));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
}

#[tokio::test]
async fn an_option_the_ballot_lacks_is_unknown_option() {
    let h = Headend::new();
    let acks = h.send(&[vote(1, 1, h.open, "plan-b")]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::UnknownOption));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
}

#[tokio::test]
async fn comments_enter_the_moderation_queue_and_bad_texts_are_refused() {
    let h = Headend::new();
    let comment = |seq, text: &str| {
        signed(
            1,
            seq,
            900,
            WireBody::Comment {
                topic_id: h.open.0,
                text: text.into(),
            },
        )
    };
    let acks = h
        .send(&[
            comment(1, "加装电梯，我家同意！\n第二行"),
            comment(2, &"长".repeat(201)),
            comment(3, "   "),
            comment(4, "bell\u{7}"),
        ])
        .await;
    let reasons: Vec<_> = acks.iter().map(rejected).collect();
    assert_eq!(
        reasons,
        vec![
            None,
            Some(ReasonCode::TextTooLong),
            Some(ReasonCode::EmptyText),
            Some(ReasonCode::InvalidText)
        ]
    );
    let store = Store::open(&h.path).unwrap();
    let pending = store.comments("pending", Some(h.open), 10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].text, "加装电梯，我家同意！\n第二行");
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
}

#[tokio::test]
async fn notice_seen_counts_only_notices_sent_to_the_boxs_grid() {
    let h = Headend::new();
    let mut store = Store::open(&h.path).unwrap();
    let notice = |grid: i64| consult::notice::NoticeDraft {
        community: CommunityId(1),
        grids: vec![GridId(grid)],
        title: "停水通知".into(),
        body: "明天上午停水。".into(),
        urgency: consult::notice::Urgency::Urgent,
        message_type: consult::notice::MessageType::Alert,
        references: None,
        valid_from: consult::Timestamp(0),
        valid_until: consult::Timestamp(86_400),
    };
    let mine = store
        .push_notice(notice(1), "李芳", &[GridId(1)], consult::Timestamp(0))
        .unwrap()
        .id
        .0;
    let other = store
        .push_notice(notice(2), "李芳", &[GridId(2)], consult::Timestamp(0))
        .unwrap()
        .id
        .0;
    drop(store);
    // Card 1 lives in grid 1.
    let seen = |seq, notice_id| signed(1, seq, 900, WireBody::NoticeSeen { notice_id });
    let acks = h
        .send(&[seen(1, mine), seen(2, other), seen(3, 0), seen(4, 999)])
        .await;
    assert_eq!(acks[0].status, AckStatus::Stored);
    for ack in &acks[1..] {
        assert_eq!(rejected(ack), Some(ReasonCode::UnknownNotice));
    }
}

#[tokio::test]
async fn oversized_batches_and_bodies_are_413_and_malformed_ones_400() {
    let h = Headend::new();
    let many: Vec<SignedMessage> = (1..=257).map(|s| vote(1, s, h.open, "approve")).collect();
    let (status, value) = h.post(Batch { messages: many }.to_json()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(value["error"], "batch_too_large");
    let mut huge = b"{\"messages\":[".to_vec();
    huge.extend(std::iter::repeat_n(b' ', 300 * 1024));
    huge.extend(b"]}");
    let (status, value) = h.post(huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(value["error"], "batch_too_large");
    for body in [
        b"{\"messages\": [".to_vec(),
        b"not json".to_vec(),
        vec![0xff, 0xfe],
        b"{\"messages\":[],\"extra\":1}".to_vec(),
        b"{\"messages\":[{\"kind\":\"vote\",\"card_id\":\"123\",\"seq\":1}]}".to_vec(),
    ] {
        let (status, value) = h.post(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(value["error"], "malformed");
    }
    // A malformed message with a readable address is refused alone.
    let good = vote(2, 1, h.open, "approve");
    let json = String::from_utf8(
        Batch {
            messages: vec![good],
        }
        .to_json(),
    )
    .unwrap();
    let with_text = json.replace("\"option\"", "\"text\":\"x\",\"option\"");
    let acks = h.send_raw(with_text.into_bytes()).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::Malformed));
    assert_eq!(h.counts(h.open), vec![0, 0, 0]);
    assert_eq!(
        h.ingest
            .metrics()
            .batches_refused(ReasonCode::BatchTooLarge),
        2
    );
    assert_eq!(h.ingest.metrics().batches_refused(ReasonCode::Malformed), 5);
    // The server keeps serving.
    let acks = h.send(&[vote(3, 1, h.open, "abstain")]).await;
    assert_eq!(acks[0].status, AckStatus::Stored);
    assert_eq!(h.counts(h.open), vec![0, 0, 1]);
}

#[tokio::test]
async fn a_card_over_its_rate_is_told_when_to_retry_and_nothing_of_it_is_stored() {
    let h = Headend::with(|settings| IngestSettings {
        card_rate: server::api::limits::RateLimit {
            per_second: 0.5,
            burst: 3.0,
        },
        ..settings
    });
    // Card 1 spends its burst of 3 messages in two batches.
    let acks = h
        .send(&[vote(1, 1, h.open, "approve"), vote(1, 2, h.open, "oppose")])
        .await;
    assert!(acks.iter().all(|a| a.status == AckStatus::Stored));
    let acks = h.send(&[vote(1, 3, h.open, "abstain")]).await;
    assert_eq!(acks[0].status, AckStatus::Stored);
    // The fourth: 429, told when to come back, and nothing stored.
    let over = Batch {
        messages: vec![vote(1, 4, h.open, "approve")],
    }
    .to_json();
    let (status, body) = h.post(over.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert_eq!(body["retry_after_ms"], 2_000, "{body}");
    assert_eq!(h.counts(h.open), vec![0, 0, 1]);
    // Forged messages in that card's name spend nothing: another box is not held up by it,
    // and card 2 has its own allowance.
    let mut forged = vote(1, 5, h.open, "approve");
    forged.tag = vote(1, 6, h.open, "approve").tag;
    let acks = h.send(&[forged]).await;
    assert_eq!(rejected(&acks[0]), Some(ReasonCode::BadTag));
    let acks = h.send(&[vote(2, 1, h.open, "approve")]).await;
    assert_eq!(acks[0].status, AckStatus::Stored);
    assert_eq!(h.counts(h.open), vec![1, 0, 1]);
    // The refusal is counted by its reason.
    let response = h
        .app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let metrics = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        metrics.contains("shangyi_rc_batches_refused_total{reason=\"rate_limited\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_empty_batch_gets_no_acks() {
    let h = Headend::new();
    assert!(h.send(&[]).await.is_empty());
}

#[tokio::test]
async fn a_restarted_writer_remembers_what_it_stored() {
    let mut h = Headend::new();
    let m = vote(1, 1, h.open, "approve");
    h.send(std::slice::from_ref(&m)).await;
    let refused = vote(5, 1, h.open, "approve");
    h.send(std::slice::from_ref(&refused)).await;
    h.restart();
    let acks = h.send(&[m, refused, vote(1, 1, h.open, "oppose")]).await;
    assert_eq!(acks[0].status, AckStatus::Duplicate);
    assert_eq!(rejected(&acks[1]), Some(ReasonCode::NotEligible));
    assert_eq!(rejected(&acks[2]), Some(ReasonCode::ReplayedSeq));
    assert_eq!(h.counts(h.open), vec![1, 0, 0]);
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_text() {
    let h = Headend::new();
    h.send(&[vote(1, 1, h.open, "approve"), vote(5, 1, h.open, "approve")])
        .await;
    let response = h
        .app
        .clone()
        .oneshot(Request::get("/no/such/page").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = h
        .app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        text.contains("shangyi_rc_messages_total{outcome=\"stored\"} 1"),
        "{text}"
    );
    // The HTTP requests, by route pattern, method and status.
    assert!(
        text.contains(
            "shangyi_http_requests_total{route=\"/rc/v1/messages\",method=\"POST\",status=\"200\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("shangyi_rc_messages_total{outcome=\"rejected\",reason=\"not_eligible\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "shangyi_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("shangyi_rc_writer_queue_depth 0"), "{text}");
    // Every group commit is in the histogram of their durations.
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
            .to_owned()
    };
    let groups = value("shangyi_rc_groups_committed_total");
    assert_ne!(groups, "0", "{text}");
    assert_eq!(value("shangyi_rc_group_commit_seconds_count"), groups);
    assert_eq!(
        value("shangyi_rc_group_commit_seconds_bucket{le=\"+Inf\"}"),
        groups
    );
}

/// A vote as the ingest's handler hands it to the store (tag verified), signed 900 s after T0.
fn stored_vote(card_n: u64, seq: u64, topic: TopicId, option: &str) -> store::IngestMessage {
    stored_vote_at(card_n, seq, 900, topic, option)
}

fn stored_vote_at(
    card_n: u64,
    seq: u64,
    sent_after_t0: i64,
    topic: TopicId,
    option: &str,
) -> store::IngestMessage {
    let m = vote_at(card_n, seq, sent_after_t0, topic, option);
    store::IngestMessage {
        card: consult::ids::CardId::parse(&card(card_n)).unwrap(),
        seq,
        sent_at: Timestamp(m.message.sent_at),
        tag: *m.tag.as_bytes(),
        verified: true,
        body: store::IngestBody::Vote {
            topic,
            option: option.into(),
        },
    }
}

/// `current_votes` of a topic: household -> option.
fn current_votes(path: &std::path::Path, topic: TopicId) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT household_id, option FROM current_votes WHERE topic_id = ?1 ORDER BY household_id",
        )
        .unwrap();
    stmt.query_map([topic.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn current_votes_lag_until_settled_and_a_crash_before_settling_loses_nothing() {
    let mut h = Headend::new();
    h.stop_writer();
    let (path, open) = (h.path.clone(), h.open);
    let (mut store, mut memory) = open_as_writer(&path);
    // Household 1 approves, then opposes; household 2 approves.
    let outcomes = ingest_group(
        &mut store,
        &mut memory,
        &[
            stored_vote(1, 1, open, "approve"),
            stored_vote(1, 2, open, "oppose"),
            stored_vote(2, 1, open, "approve"),
        ],
    );
    assert!(outcomes.iter().all(|o| *o == store::IngestOutcome::Stored));
    // The tally is exact at once; `current_votes` waits for the settle.
    assert_eq!(h.counts(open), vec![1, 1, 0]);
    assert_eq!(current_votes(&path, open), vec![]);

    // The writer dies before it settles. The next one settles from the history at start.
    drop(memory);
    drop(store);
    let (mut store, mut memory) = open_as_writer(&path);
    assert_eq!(
        current_votes(&path, open),
        vec![(1, "oppose".to_owned()), (2, "approve".to_owned())]
    );
    // Household 1 changes its mind again: its count moves from "oppose", not from "approve".
    ingest_group(
        &mut store,
        &mut memory,
        &[stored_vote(1, 3, open, "abstain")],
    );
    assert_eq!(h.counts(open), vec![1, 0, 1]);
    assert_eq!(store.settle_current_votes(&mut memory).unwrap(), 1);
    assert_eq!(
        current_votes(&path, open),
        vec![(1, "abstain".to_owned()), (2, "approve".to_owned())]
    );
    assert_eq!(store.settle_current_votes(&mut memory).unwrap(), 0);
}

#[test]
fn a_vote_cast_beside_the_writer_is_counted_once() {
    let mut h = Headend::new();
    h.stop_writer();
    let (path, open) = (h.path.clone(), h.open);
    let (mut writer_store, mut memory) = open_as_writer(&path);
    ingest_group(
        &mut writer_store,
        &mut memory,
        &[stored_vote(1, 1, open, "approve")],
    );
    // Not through the return channel (a fixture loaded into a running headend): household 1
    // votes again, later, on another connection, while the writer has not settled.
    let mut other = Store::open(&path).unwrap();
    other
        .cast_vote(&store::VoteInput {
            topic: open,
            card: consult::ids::CardId::parse(&card(1)).unwrap(),
            option: "oppose".into(),
            sent_at: Timestamp(T0 + 950),
            received_at: Timestamp(T0 + 960),
        })
        .unwrap();
    assert_eq!(h.counts(open), vec![0, 1, 0]);
    // The writer notices the stranger's vote and reads the counted votes again: household 1's
    // next vote from its box, signed later still, moves its count from "oppose".
    ingest_group(
        &mut writer_store,
        &mut memory,
        &[stored_vote_at(1, 2, 990, open, "abstain")],
    );
    assert_eq!(h.counts(open), vec![0, 0, 1]);
    writer_store.settle_current_votes(&mut memory).unwrap();
    assert_eq!(current_votes(&path, open), vec![(1, "abstain".to_owned())]);
}
