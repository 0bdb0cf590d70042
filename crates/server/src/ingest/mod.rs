//! The headend's return-channel ingest: `POST /rc/v1/messages` (docs/return-channel.md §12).
//!
//! Per request, on the async threads: refuse a body over 256 KiB before reading it all, decode
//! it (`returnpath::decode_batch`), and verify each message's tag with its card's key derived
//! from the master secret (`returnpath::CardKeys`: HKDF's extract step is done once, at start).
//! Then the verified messages go to the [`writer`] thread, which finds each card, deduplicates
//! by (card, seq), applies the rules, and group-commits many requests in one SQLite transaction.
//! Only after the commit does the handler answer, one ack per message.
//! When more than [`IngestSettings::max_queue_messages`] wait for the writer, a request is
//! answered 503 `overloaded` with `retry_after_ms` at once, and nothing of it is stored. A card
//! that sends more than [`IngestSettings::card_rate`] allows is answered 429 `rate_limited` the
//! same way: one box, or a cloned card, cannot crowd out the others.

pub mod metrics;
mod writer;

pub use metrics::{COMMIT_SECONDS_BUCKETS, IngestMetrics};
pub use writer::WriterThread;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use returnpath::{
    Ack, BatchError, BatchRefusal, BatchResponse, Body as WireBody, CardKeys, MasterSecret,
    ReasonCode, SignedMessage, decode_batch, verify,
};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use store::{IngestBody, IngestMessage, IngestOutcome, IngestRefusal, StoreError};
use tokio::sync::oneshot;

use crate::AppState;
use crate::api::limits::{RateLimit, RateLimiter};

/// The headend's clock, in Unix seconds: the binary passes the system clock; tests pass a fixed
/// one (only the binary reads the clock).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How the ingest runs.
#[derive(Clone)]
pub struct IngestSettings {
    /// The rules' parameters (grace period, tolerated clock skew).
    pub rules: store::IngestConfig,
    /// Above this many messages waiting for the writer, requests are answered 503.
    pub max_queue_messages: usize,
    /// At most this many messages in one group commit.
    pub max_group_messages: usize,
    /// What a 503 (and a 200 while the queue is over half full) announces.
    pub retry_after_ms: u64,
    /// How many messages one card may send: `per_second` on average, `burst` at once. Only
    /// messages whose tag verified count, so nobody can spend another card's allowance.
    pub card_rate: RateLimit,
    pub clock: Clock,
    /// Where stored votes mark their topics' communities, so that the new tallies reach the
    /// bundles ([`crate::live`]); `None`: tallies wait for the next build.
    pub live: Option<crate::live::LiveHandle>,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            rules: store::IngestConfig::default(),
            max_queue_messages: 50_000,
            max_group_messages: 8_192,
            retry_after_ms: 1_000,
            card_rate: DEFAULT_CARD_RATE,
            clock: Arc::new(system_seconds),
            live: None,
        }
    }
}

/// A household presses a few keys a minute; a box back from a long outage resends its whole
/// outbox in batches of at most 256. Two full batches at once, then one message a second.
pub const DEFAULT_CARD_RATE: RateLimit = RateLimit {
    per_second: 1.0,
    burst: 512.0,
};

fn system_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What the handlers hold: the way to the writer, the card keys, the counters.
#[derive(Clone)]
pub struct IngestHandle {
    sender: mpsc::Sender<writer::Command>,
    keys: Arc<CardKeys>,
    metrics: Arc<IngestMetrics>,
    max_queue_messages: usize,
    retry_after_ms: u64,
    cards: RateLimiter<consult::ids::CardId>,
}

impl IngestHandle {
    pub fn metrics(&self) -> &Arc<IngestMetrics> {
        &self.metrics
    }
}

/// Starts the writer thread on its own connection to the database at `db`.
pub fn start(
    db: &Path,
    master: MasterSecret,
    settings: IngestSettings,
) -> Result<(IngestHandle, WriterThread), StoreError> {
    let metrics = Arc::new(IngestMetrics::default());
    let (sender, thread) = writer::spawn(
        db,
        writer::WriterSettings {
            rules: settings.rules,
            max_group_messages: settings.max_group_messages,
            clock: settings.clock.clone(),
            live: settings.live.clone(),
        },
        metrics.clone(),
    )?;
    Ok((
        IngestHandle {
            sender,
            keys: Arc::new(CardKeys::new(&master)),
            metrics,
            max_queue_messages: settings.max_queue_messages,
            retry_after_ms: settings.retry_after_ms,
            cards: RateLimiter::new(settings.card_rate),
        },
        thread,
    ))
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(returnpath::wire::CONTENT_TYPE),
    );
    response
}

fn refuse(metrics: Option<&IngestMetrics>, status: StatusCode, refusal: &BatchRefusal) -> Response {
    if let Some(metrics) = metrics {
        metrics.count_batch_refused(refusal.error);
    }
    let body = serde_json::to_vec(refusal).unwrap_or_default();
    let mut response = json_response(status, body);
    if let Some(ms) = refusal.retry_after_ms
        && let Ok(value) = HeaderValue::from_str(&ms.div_ceil(1000).max(1).to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn batch_error(metrics: &IngestMetrics, error: &BatchError) -> Response {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    refuse(Some(metrics), status, &error.refusal())
}

fn reason_of(refusal: IngestRefusal) -> ReasonCode {
    match refusal {
        IngestRefusal::UnknownCard => ReasonCode::UnknownCard,
        IngestRefusal::BadTag => ReasonCode::BadTag,
        IngestRefusal::ReplayedSeq => ReasonCode::ReplayedSeq,
        IngestRefusal::SentInFuture => ReasonCode::SentInFuture,
        IngestRefusal::UnknownTopic => ReasonCode::UnknownTopic,
        IngestRefusal::NotEligible => ReasonCode::NotEligible,
        IngestRefusal::TopicNotOpen => ReasonCode::TopicNotOpen,
        IngestRefusal::TopicClosed => ReasonCode::TopicClosed,
        IngestRefusal::PastGracePeriod => ReasonCode::PastGracePeriod,
        IngestRefusal::UnknownOption => ReasonCode::UnknownOption,
        IngestRefusal::UnknownNotice => ReasonCode::UnknownNotice,
    }
}

/// A decoded message in the store's terms, with whether its tag verified.
fn to_store(message: &SignedMessage, verified: bool) -> Option<IngestMessage> {
    let card = consult::ids::CardId::parse(message.card_id().as_str()).ok()?;
    let body = match &message.message.body {
        WireBody::Vote { topic_id, option } => IngestBody::Vote {
            topic: consult::ids::TopicId(*topic_id),
            option: option.clone(),
        },
        WireBody::Comment { topic_id, text } => IngestBody::Comment {
            topic: consult::ids::TopicId(*topic_id),
            text: text.clone(),
        },
        WireBody::NoticeSeen { notice_id } => IngestBody::NoticeSeen {
            notice_id: *notice_id,
        },
    };
    Some(IngestMessage {
        card,
        seq: message.seq(),
        sent_at: consult::time::Timestamp(message.message.sent_at),
        tag: *message.tag.as_bytes(),
        verified,
        body,
    })
}

/// How many verified messages of the batch each card sent (a batch is usually one box's).
fn per_card(messages: &[IngestMessage]) -> Vec<(consult::ids::CardId, u32)> {
    let mut counts: Vec<(consult::ids::CardId, u32)> = Vec::with_capacity(1);
    for message in messages.iter().filter(|m| m.verified) {
        match counts.iter_mut().find(|(card, _)| *card == message.card) {
            Some((_, n)) => *n += 1,
            None => counts.push((message.card.clone(), 1)),
        }
    }
    counts
}

/// `POST /rc/v1/messages`.
#[tracing::instrument(name = "rc_batch", skip_all, fields(messages, stored, queue_depth))]
pub(crate) async fn post_messages(State(state): State<AppState>, request: Request) -> Response {
    let Some(ingest) = state.ingest.clone() else {
        return refuse(
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            &BatchRefusal {
                error: ReasonCode::Overloaded,
                detail: Some("this server does not take return-channel messages".into()),
                retry_after_ms: Some(60_000),
            },
        );
    };
    let metrics = &ingest.metrics;
    metrics.count_batch();
    let max = returnpath::wire::MAX_BODY_BYTES;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > max as u64
    {
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        return batch_error(metrics, &BatchError::BodyTooLarge(length));
    }
    let body: Body = request.into_body();
    let Ok(bytes) = axum::body::to_bytes(body, max).await else {
        // Over the limit (a body without a Content-Length) or a broken upload: the box that can
        // still read an answer halves its batch.
        return batch_error(metrics, &BatchError::BodyTooLarge(max + 1));
    };
    let batch = match decode_batch(&bytes) {
        Ok(batch) => batch,
        Err(error) => return batch_error(metrics, &error),
    };
    let span = tracing::Span::current();
    span.record("messages", batch.items.len());

    // Verify on this thread (HMAC is cheap; the writer's time is the scarce one). Keys are
    // derived once per card of the batch: a batch usually comes from one box.
    let mut acks: Vec<Option<Ack>> = Vec::with_capacity(batch.items.len());
    let mut to_writer = Vec::new();
    let mut positions = Vec::new();
    let mut last_key: Option<(returnpath::CardId, returnpath::CardKey)> = None;
    for item in &batch.items {
        match item {
            Err(rejected) => acks.push(Some(rejected.ack())),
            Ok(message) => {
                let key = match &last_key {
                    Some((card, key)) if card == message.card_id() => key.clone(),
                    _ => {
                        let key = ingest.keys.derive(message.card_id());
                        last_key = Some((message.card_id().clone(), key.clone()));
                        key
                    }
                };
                let verified = verify(&key, message).is_ok();
                match to_store(message, verified) {
                    Some(m) => {
                        positions.push(acks.len());
                        acks.push(None);
                        to_writer.push(m);
                    }
                    None => acks.push(Some(Ack::rejected(
                        message.card_id().clone(),
                        message.seq(),
                        ReasonCode::Malformed,
                    ))),
                }
            }
        }
    }

    if let Err(seconds) = ingest
        .cards
        .take_all(&per_card(&to_writer), std::time::Instant::now())
    {
        return refuse(
            Some(metrics),
            StatusCode::TOO_MANY_REQUESTS,
            &BatchRefusal {
                error: ReasonCode::RateLimited,
                detail: Some(
                    "this card sent more messages than the headend takes from one box".into(),
                ),
                retry_after_ms: Some(seconds.saturating_mul(1000)),
            },
        );
    }

    let mut depth = metrics.queue_depth();
    if !to_writer.is_empty() {
        let n = to_writer.len();
        if depth + n > ingest.max_queue_messages {
            return refuse(
                Some(metrics),
                StatusCode::SERVICE_UNAVAILABLE,
                &BatchRefusal::overloaded(ingest.retry_after_ms),
            );
        }
        depth = metrics.enqueue(n);
        let (reply, answer) = oneshot::channel();
        let job = writer::Job {
            messages: to_writer,
            reply,
        };
        if ingest.sender.send(writer::Command::Ingest(job)).is_err() {
            metrics.dequeue(n);
            return refuse(
                Some(metrics),
                StatusCode::SERVICE_UNAVAILABLE,
                &BatchRefusal::overloaded(ingest.retry_after_ms),
            );
        }
        let outcomes = match answer.await {
            Ok(Ok(outcomes)) if outcomes.len() == positions.len() => outcomes,
            _ => {
                return refuse(
                    Some(metrics),
                    StatusCode::SERVICE_UNAVAILABLE,
                    &BatchRefusal::overloaded(ingest.retry_after_ms),
                );
            }
        };
        for (position, outcome) in positions.into_iter().zip(outcomes) {
            let Some(Ok(message)) = batch.items.get(position) else {
                continue;
            };
            let (card, seq) = (message.card_id().clone(), message.seq());
            acks[position] = Some(match outcome {
                IngestOutcome::Stored => Ack::stored(card, seq),
                IngestOutcome::Duplicate => Ack::duplicate(card, seq),
                IngestOutcome::Refused(why) => Ack::rejected(card, seq, reason_of(why)),
            });
        }
    }

    let acks: Vec<Ack> = acks.into_iter().flatten().collect();
    let mut stored = 0;
    for ack in &acks {
        match (ack.status, ack.reason) {
            (returnpath::AckStatus::Stored, _) => {
                stored += 1;
                metrics.count_stored();
            }
            (returnpath::AckStatus::Duplicate, _) => metrics.count_duplicate(),
            (returnpath::AckStatus::Rejected, reason) => {
                metrics.count_rejected(reason.unwrap_or(ReasonCode::Unrecognized));
            }
        }
    }
    span.record("stored", stored);
    span.record("queue_depth", depth);
    let response = BatchResponse {
        acks,
        retry_after_ms: (depth * 2 > ingest.max_queue_messages).then_some(ingest.retry_after_ms),
    };
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&response).unwrap_or_default(),
    )
}
