//! The send loop: empties an outbox through any [`Transport`], retrying with exponential
//! back-off and full jitter until every message is acknowledged.
//!
//! The loop knows nothing of HTTP: a transport turns a [`Batch`] into a [`BatchResponse`] or a
//! [`TransportError`]. Retrying is always safe because a message's seq and tag never change:
//! the headend deduplicates by (card, seq) and answers `duplicate`.
//!
//! Back-off, after the n-th failure in a row (n = 1, 2, ...): wait a random time, uniform in
//! [0, min(cap, base × 2^(n−1))], with base 200 ms and cap 30 s ("full jitter": boxes that failed
//! together, say after a headend restart, do not come back together). When the headend announces
//! `retry_after_ms` = r, wait at least r: uniform in [r, 1.25 r], r capped at 5 minutes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::outbox::{Outbox, OutboxError, Rejection, Settled};
use crate::rng::SplitMix64;
use crate::wire::{
    Ack, AckStatus, Batch, BatchResponse, MAX_BATCH_MESSAGES, MAX_BODY_BYTES, ReasonCode,
    SignedMessage,
};

/// Carries a batch to the headend and brings back its answer.
///
/// Implementations: an HTTP client posting to `/rc/v1/messages` (the lead's), the
/// [`crate::link::LossyLink`] simulator, in-memory fakes in tests.
pub trait Transport {
    fn send(
        &self,
        batch: Batch,
    ) -> impl Future<Output = Result<BatchResponse, TransportError>> + Send;
}

impl<T: Transport + ?Sized + Sync> Transport for &T {
    fn send(
        &self,
        batch: Batch,
    ) -> impl Future<Output = Result<BatchResponse, TransportError>> + Send {
        (**self).send(batch)
    }
}

impl<T: Transport + ?Sized + Sync + Send> Transport for Arc<T> {
    fn send(
        &self,
        batch: Batch,
    ) -> impl Future<Output = Result<BatchResponse, TransportError>> + Send {
        (**self).send(batch)
    }
}

/// Why a batch brought back no acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No answer in time: the request or its answer was lost. The batch may or may not have
    /// been stored.
    #[error("no answer in time (the request or its answer was lost)")]
    Timeout,
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The headend is overloaded or its store is unavailable (HTTP 503): nothing was stored.
    #[error("the headend is busy")]
    Busy { retry_after_ms: Option<u64> },
    /// The headend refused the whole batch (HTTP 400 or 413) with a reason.
    #[error("the headend refused the batch: {reason}")]
    Refused { reason: ReasonCode },
    /// An answer that is not the protocol's (another status, an unreadable body).
    #[error("unexpected answer: {0}")]
    BadResponse(String),
}

/// How the loop batches and backs off. `Default` gives the documented values.
#[derive(Clone, Debug, PartialEq)]
pub struct SendConfig {
    /// Back-off base: the first retry waits up to this long.
    pub base_delay: Duration,
    /// Back-off cap: no wait is longer (unless the headend announces a longer one).
    pub max_delay: Duration,
    /// At most this many messages in one batch.
    pub max_batch_messages: usize,
    /// At most this many bytes in one request body.
    pub max_batch_bytes: usize,
    /// A request with no answer after this long counts as lost.
    pub request_timeout: Duration,
    /// A `retry_after_ms` above this is taken as this (a confused headend must not silence a
    /// box for a day).
    pub max_retry_after: Duration,
    /// Seeds the jitter. Boxes should use different seeds (e.g. from the card id and the time
    /// they started), or their retries fall into step.
    pub jitter_seed: u64,
}

impl Default for SendConfig {
    fn default() -> Self {
        SendConfig {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_batch_messages: MAX_BATCH_MESSAGES,
            max_batch_bytes: MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(300),
            jitter_seed: 0,
        }
    }
}

/// Full-jitter exponential back-off, as documented at the top of this module.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    rng: SplitMix64,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
            rng: SplitMix64::new(seed),
        }
    }

    /// The longest the next failure can make the box wait: min(cap, base × 2^(n−1)).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(32);
        let ceiling = self.base.saturating_mul(1u32 << shift.min(31));
        ceiling.min(self.cap)
    }

    /// Counts a failure and says how long to wait before the next try.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let ceiling = self.ceiling(self.failures);
        Duration::from_millis(self.rng.between(0, millis(ceiling)))
    }

    /// An answer came: the next failure starts from the base again.
    pub fn succeed(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait for an announced `retry_after_ms`: uniform in [r, 1.25 r].
    pub fn announced(&mut self, retry_after: Duration) -> Duration {
        let r = millis(retry_after);
        Duration::from_millis(self.rng.between(r, r.saturating_add(r / 4)))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What one run of [`drain`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Messages the headend stored because of this run.
    pub stored: usize,
    /// Messages the headend already had (an earlier try got through but its answer was lost).
    pub duplicates: usize,
    /// Messages refused for good during this run (also kept in [`Outbox::rejected`]).
    pub rejected: Vec<Rejection>,
    /// Batches sent (including retries).
    pub attempts: u64,
    /// Attempts that brought back nothing (lost, timed out, busy, refused whole).
    pub failures: u64,
}

/// The outbox could not record what happened. The loop stops: continuing would make the disk
/// and the headend disagree about what is delivered.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SendError(#[from] pub OutboxError);

/// Sends every pending message until none is left, and returns what happened.
///
/// Runs as long as it takes: a box retries for ever (the headend, not the box, decides when a
/// vote is too late). Wrap it in `tokio::time::timeout` to bound it; cancelling is safe at any
/// point, because everything the loop learns is written to the outbox before it moves on.
pub async fn drain<T: Transport + ?Sized>(
    outbox: &mut Outbox,
    transport: &T,
    config: &SendConfig,
) -> Result<SendReport, SendError> {
    let mut report = SendReport::default();
    let mut backoff = Backoff::new(config.base_delay, config.max_delay, config.jitter_seed);
    // Shrinks when the headend refuses whole batches, to find the message it objects to.
    let mut batch_limit = config.max_batch_messages.max(1);
    loop {
        if outbox.is_empty() {
            return Ok(report);
        }
        let batch = take_batch(outbox.pending_iter(), batch_limit, config.max_batch_bytes);
        let sent = batch.messages.len();
        report.attempts += 1;
        let answer = tokio::time::timeout(config.request_timeout, transport.send(batch.clone()))
            .await
            .unwrap_or(Err(TransportError::Timeout));
        let wait = match answer {
            Ok(response) => {
                let progress = record(outbox, &response.acks, &mut report)?;
                let own = if progress == 0 {
                    // An answer about none of what was sent: treat it as a failure so a
                    // confused headend cannot make the box spin.
                    report.failures += 1;
                    backoff.fail()
                } else {
                    backoff.succeed();
                    batch_limit = batch_limit
                        .saturating_mul(2)
                        .min(config.max_batch_messages.max(1));
                    Duration::ZERO
                };
                let asked = response
                    .retry_after_ms
                    .map(|ms| backoff.announced(announced(ms, config)))
                    .unwrap_or_default();
                Some(own.max(asked))
            }
            Err(TransportError::Refused { reason }) => {
                report.failures += 1;
                if sent > 1 {
                    // The headend objects to something in the batch: halve it and try again,
                    // at once (the headend answered; it is not overloaded). Halving finds the
                    // message in at most log2(256) = 8 steps.
                    batch_limit = (sent / 2).max(1);
                    None
                } else {
                    // A batch of one refused whole: that message will never be taken.
                    let acks: Vec<Ack> = batch
                        .messages
                        .iter()
                        .map(|m| Ack::rejected(m.card_id().clone(), m.seq(), reason))
                        .collect();
                    record(outbox, &acks, &mut report)?;
                    None
                }
            }
            Err(TransportError::Busy { retry_after_ms }) => {
                report.failures += 1;
                let jittered = backoff.fail();
                Some(
                    jittered.max(
                        retry_after_ms
                            .map(|ms| backoff.announced(announced(ms, config)))
                            .unwrap_or_default(),
                    ),
                )
            }
            Err(
                TransportError::Timeout
                | TransportError::Connection(_)
                | TransportError::BadResponse(_),
            ) => {
                report.failures += 1;
                Some(backoff.fail())
            }
        };
        if let Some(wait) = wait {
            // A window announced with the last acks matters only if there is more to send.
            if !wait.is_zero() && !outbox.is_empty() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

fn announced(ms: u64, config: &SendConfig) -> Duration {
    Duration::from_millis(ms).min(config.max_retry_after)
}

/// Records acks in the outbox and the report; returns how many pending messages they settled.
fn record(outbox: &mut Outbox, acks: &[Ack], report: &mut SendReport) -> Result<usize, SendError> {
    // Refused messages leave the pending set: copy them for the report first.
    let refused: Vec<SignedMessage> = acks
        .iter()
        .filter(|a| a.status == AckStatus::Rejected && a.card_id == *outbox.card_id())
        .filter_map(|a| outbox.get(a.seq).cloned())
        .collect();
    let settled = outbox.acknowledge_all(acks)?;
    let mut progress = 0;
    for (ack, outcome) in acks.iter().zip(settled) {
        match outcome {
            Some(Settled::Delivered(AckStatus::Duplicate)) => report.duplicates += 1,
            Some(Settled::Delivered(_)) => report.stored += 1,
            Some(Settled::Rejected(reason)) => {
                if let Some(message) = refused.iter().find(|m| m.seq() == ack.seq) {
                    report.rejected.push(Rejection {
                        message: message.clone(),
                        reason,
                    });
                }
            }
            None => continue,
        }
        progress += 1;
    }
    Ok(progress)
}

/// The oldest pending messages that fit in one batch: at most `max_messages`, and at most
/// `max_bytes` of JSON (always at least one message, so a box never stalls).
pub fn take_batch<'a>(
    pending: impl IntoIterator<Item = &'a SignedMessage>,
    max_messages: usize,
    max_bytes: usize,
) -> Batch {
    // `{"messages":[` + `]}`
    let mut bytes = 15;
    let mut messages = Vec::new();
    for message in pending.into_iter().take(max_messages.max(1)) {
        let size = serde_json::to_vec(message).map_or(0, |v| v.len()) + 1;
        if !messages.is_empty() && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        messages.push(message.clone());
    }
    Batch { messages }
}

/// Turns an HTTP answer to `POST /rc/v1/messages` into what the send loop understands, so every
/// HTTP client (the lead's, the emulator's) maps statuses the same way.
///
/// `retry_after` is the `Retry-After` header (whole seconds), if any; a `retry_after_ms` in the
/// body wins over it.
pub fn interpret_answer(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<BatchResponse, TransportError> {
    let header_ms = retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000));
    match status {
        200 => crate::wire::decode_response(body)
            .map_err(|e| TransportError::BadResponse(e.to_string())),
        400 | 413 => match crate::wire::decode_refusal(body) {
            Ok(refusal) => Err(TransportError::Refused {
                reason: refusal.error,
            }),
            // Not the headend's refusal (a proxy's page?): retrying is safer than dropping.
            Err(_) => Err(TransportError::BadResponse(format!(
                "HTTP {status} without a refusal body"
            ))),
        },
        429 | 503 => {
            let body_ms = crate::wire::decode_refusal(body)
                .ok()
                .and_then(|r| r.retry_after_ms);
            Err(TransportError::Busy {
                retry_after_ms: body_ms.or(header_ms),
            })
        }
        other => Err(TransportError::BadResponse(format!("HTTP {other}"))),
    }
}
