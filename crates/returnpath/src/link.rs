//! The link simulator: a [`Transport`] wrapper that does to batches what a cable return channel
//! does to them: loses requests, loses answers after the headend acted on the request,
//! duplicates, delivers late (out of order), delays, and goes dark for whole periods.
//!
//! Every choice comes from a seeded [`SplitMix64`], so a seed reproduces a run. Late and
//! duplicate copies are held back inside the link and delivered during later sends, after newer
//! batches: no task is spawned, and nothing happens once the box stops sending (a copy still held
//! then is simply lost, which a real network may do too). [`LossyLink::flush`] delivers them.
//!
//! Waits use `tokio::time`, so tests run them in paused time, instantly.

use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::time::Duration;

use crate::rng::SplitMix64;
use crate::send::{Transport, TransportError};
use crate::wire::{Batch, BatchResponse};

/// A period when the link carries nothing, measured from the link's creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    pub start: Duration,
    pub duration: Duration,
}

/// What the link does, each a parameter. `Default` is a perfect link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    pub seed: u64,
    /// Probability that a request is lost before it reaches the headend; independently, the
    /// same probability that the answer is lost after the headend acted on it.
    pub loss: f64,
    /// Probability that a delivered request is delivered a second time, later.
    pub duplicate: f64,
    /// Probability that a request is held back and delivered only after later requests (the box
    /// sees a timeout, then the old request arrives after its newer ones).
    pub reorder: f64,
    /// Each request's one-way delay, in milliseconds, uniform in this range.
    pub delay_ms: RangeInclusive<u64>,
    /// How long the box waits before it notices a lost request or answer.
    pub timeout: Duration,
    /// Periods when everything is lost.
    pub outages: Vec<Outage>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            seed: 0,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay_ms: 0..=0,
            timeout: Duration::from_secs(2),
            outages: Vec::new(),
        }
    }
}

/// What the link did, for tests and the simulation's report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub requests: u64,
    pub lost_requests: u64,
    pub lost_answers: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub dropped_in_outage: u64,
    /// Held-back copies (late or duplicate) that reached the headend.
    pub late_deliveries: u64,
}

struct Held {
    batch: Batch,
    /// Delivered during the send that brings this to zero.
    after_sends: u32,
}

struct State {
    rng: SplitMix64,
    held: Vec<Held>,
    stats: LinkStats,
}

/// A lossy link in front of a transport (usually the headend, or a fake of it).
pub struct LossyLink<T> {
    inner: T,
    config: LinkConfig,
    started: tokio::time::Instant,
    state: Mutex<State>,
}

/// The fate of one request, drawn up front so the draws do not depend on timing.
struct Plan {
    delay: Duration,
    in_outage: bool,
    lose_request: bool,
    hold_back: Option<u32>,
    duplicate: Option<u32>,
    lose_answer: bool,
    due: Vec<Batch>,
}

impl<T> LossyLink<T> {
    /// Must be called inside a tokio runtime (it reads tokio's clock for the outages).
    pub fn new(inner: T, config: LinkConfig) -> LossyLink<T> {
        let rng = SplitMix64::new(config.seed);
        LossyLink {
            inner,
            config,
            started: tokio::time::Instant::now(),
            state: Mutex::new(State {
                rng,
                held: Vec::new(),
                stats: LinkStats::default(),
            }),
        }
    }

    pub fn stats(&self) -> LinkStats {
        self.lock().stats.clone()
    }

    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a counter set and a queue: still consistent if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn in_outage(&self) -> bool {
        let now = self.started.elapsed();
        self.config
            .outages
            .iter()
            .any(|o| now >= o.start && now < o.start.saturating_add(o.duration))
    }

    fn plan(&self) -> Plan {
        let in_outage = self.in_outage();
        let mut guard = self.lock();
        let state = &mut *guard;
        let rng = &mut state.rng;
        state.stats.requests += 1;
        // Draw everything every time, so one parameter's value does not shift the others' draws.
        let delay = Duration::from_millis(
            rng.between(*self.config.delay_ms.start(), *self.config.delay_ms.end()),
        );
        let lose_request = rng.chance(self.config.loss);
        let hold = rng.chance(self.config.reorder);
        let hold_for = rng.between(1, 3) as u32;
        let dup = rng.chance(self.config.duplicate);
        let dup_after = rng.between(0, 3) as u32;
        let lose_answer = rng.chance(self.config.loss);
        let mut due = Vec::new();
        if !in_outage {
            // Held copies travel only while the link is up.
            state.held.retain_mut(|h| {
                h.after_sends = h.after_sends.saturating_sub(1);
                if h.after_sends == 0 {
                    due.push(h.batch.clone());
                    false
                } else {
                    true
                }
            });
        }
        Plan {
            delay,
            in_outage,
            lose_request,
            hold_back: hold.then_some(hold_for),
            duplicate: dup.then_some(dup_after),
            lose_answer,
            due,
        }
    }

    fn hold(&self, batch: Batch, after_sends: u32) {
        self.lock().held.push(Held { batch, after_sends });
    }
}

impl<T: Transport + Sync> LossyLink<T> {
    /// Delivers every held-back copy now (their answers go nowhere).
    pub async fn flush(&self) {
        let held: Vec<Held> = std::mem::take(&mut self.lock().held);
        for h in held {
            self.lock().stats.late_deliveries += 1;
            let _ = self.inner.send(h.batch).await;
        }
    }

    async fn deliver_late(&self, due: Vec<Batch>) {
        for batch in due {
            self.lock().stats.late_deliveries += 1;
            // Nobody waits for the answer to a copy the box has forgotten.
            let _ = self.inner.send(batch).await;
        }
    }

    async fn send_through(&self, batch: Batch) -> Result<BatchResponse, TransportError> {
        let plan = self.plan();
        tokio::time::sleep(plan.delay).await;
        let lost = |link: &Self| {
            let timeout = link.config.timeout.saturating_sub(plan.delay);
            tokio::time::sleep(timeout)
        };
        if plan.in_outage {
            self.lock().stats.dropped_in_outage += 1;
            lost(self).await;
            return Err(TransportError::Timeout);
        }
        if let Some(after) = plan.hold_back {
            // Stuck in the network: it will arrive, but only after newer requests.
            self.lock().stats.reordered += 1;
            self.hold(batch, after);
            self.deliver_late(plan.due).await;
            lost(self).await;
            return Err(TransportError::Timeout);
        }
        if plan.lose_request {
            self.lock().stats.lost_requests += 1;
            self.deliver_late(plan.due).await;
            lost(self).await;
            return Err(TransportError::Timeout);
        }
        let copy = plan.duplicate.map(|after| (batch.clone(), after));
        let answer = self.inner.send(batch).await;
        if let Some((copy, after)) = copy {
            self.lock().stats.duplicated += 1;
            if after == 0 {
                // A duplicate hard on the heels of the original.
                self.deliver_late(vec![copy]).await;
            } else {
                self.hold(copy, after);
            }
        }
        self.deliver_late(plan.due).await;
        if plan.lose_answer {
            self.lock().stats.lost_answers += 1;
            lost(self).await;
            return Err(TransportError::Timeout);
        }
        answer
    }
}

impl<T: Transport + Sync + Send> Transport for LossyLink<T> {
    fn send(
        &self,
        batch: Batch,
    ) -> impl std::future::Future<Output = Result<BatchResponse, TransportError>> + Send {
        self.send_through(batch)
    }
}
