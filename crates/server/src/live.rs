//! Live rebuilds: when a write through the API changes what a community's boxes show (a notice,
//! a topic's step or fact, a comment decision), that community's bundle is built again in the
//! background.
//!
//! Writes only mark communities dirty on a channel; one thread owns the queue, waits for a
//! burst to settle ([`LiveSettings::quiet`] after the last mark, but never longer than
//! [`LiveSettings::max_wait`] after the first) and then builds each dirty community once with
//! `broadcast::build`. Ten notices pushed in a second cost one build; votes streaming in from
//! the return channel, which never leave a quiet gap, still reach the bundles' tallies every
//! `max_wait`; and a slow build never holds up a request.
//!
//! A build that fails (a full disk, a template broken on disk) leaves the community's previous
//! bundle on the air and is tried again by itself, [`LiveSettings::retry_first`] later and then
//! twice as long each time up to [`LiveSettings::retry_max`], until it succeeds: a written
//! notice never waits for another write to reach its boxes.

use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use consult::ids::{CommunityId, TopicId};
use consult::vote::EligibleArea;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long the queue waits after the last mark before building: a burst becomes one build.
pub const QUIET: Duration = Duration::from_millis(300);

/// The longest the queue waits after the first mark of a burst, however busy the burst is.
pub const MAX_WAIT: Duration = Duration::from_millis(1_000);

/// How long after a failed build the community is first built again.
pub const RETRY_FIRST: Duration = Duration::from_secs(5);

/// The longest wait between retries of a community whose builds keep failing.
pub const RETRY_MAX: Duration = Duration::from_secs(300);

/// Where the live rebuilds read and write, and how they pace themselves.
#[derive(Clone, Debug)]
pub struct LiveSettings {
    pub db: PathBuf,
    /// The bundles directory (`c-{id}/` per community, `base/`).
    pub out: PathBuf,
    pub templates_dir: PathBuf,
    pub assets_dir: PathBuf,
    pub quiet: Duration,
    pub max_wait: Duration,
    /// The wait before the first retry of a failed build; it doubles with each failure.
    pub retry_first: Duration,
    pub retry_max: Duration,
}

impl LiveSettings {
    /// The service's pacing ([`QUIET`], [`MAX_WAIT`], [`RETRY_FIRST`], [`RETRY_MAX`]).
    pub fn new(db: PathBuf, out: PathBuf, templates_dir: PathBuf, assets_dir: PathBuf) -> Self {
        Self {
            db,
            out,
            templates_dir,
            assets_dir,
            quiet: QUIET,
            max_wait: MAX_WAIT,
            retry_first: RETRY_FIRST,
            retry_max: RETRY_MAX,
        }
    }

    /// The wait after a community's `failures`-th failure in a row (1 for the first).
    fn retry_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.retry_first
            .saturating_mul(1 << doublings)
            .min(self.retry_max)
    }
}

/// Build counts and durations, rendered on `/metrics` beside the ingest's counters.
#[derive(Debug, Default)]
pub struct LiveMetrics {
    builds: AtomicU64,
    build_failures: AtomicU64,
    bundles_written: AtomicU64,
    build_micros: AtomicU64,
    marks: AtomicU64,
    /// Communities whose last build failed and that wait for a retry (a gauge).
    retries_pending: AtomicU64,
}

impl LiveMetrics {
    /// Completed builds (one per dirty community per settled burst).
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }

    /// Builds that failed (each is retried later).
    pub fn build_failures(&self) -> u64 {
        self.build_failures.load(Ordering::Relaxed)
    }

    /// Communities waiting for a retry of a failed build: their boxes show an older bundle.
    pub fn retries_pending(&self) -> u64 {
        self.retries_pending.load(Ordering::Relaxed)
    }

    /// Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let simple = [
            (
                "shangyi_bundle_builds_total",
                "counter",
                "Live community bundle builds run.",
                self.builds.load(Ordering::Relaxed),
            ),
            (
                "shangyi_bundle_build_failures_total",
                "counter",
                "Live community bundle builds that failed.",
                self.build_failures.load(Ordering::Relaxed),
            ),
            (
                "shangyi_bundles_written_total",
                "counter",
                "Community bundles written with a new version by live builds.",
                self.bundles_written.load(Ordering::Relaxed),
            ),
            (
                "shangyi_bundle_marks_total",
                "counter",
                "Communities marked dirty by writes.",
                self.marks.load(Ordering::Relaxed),
            ),
            (
                "shangyi_bundle_retries_pending",
                "gauge",
                "Communities whose last build failed, waiting for a retry.",
                self.retries_pending(),
            ),
        ];
        // The same shape as the ingest's metrics (`ingest::metrics`).
        for (name, kind, help, value) in simple {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        let micros = self.build_micros.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP shangyi_bundle_build_seconds_total Time spent in live bundle builds."
        );
        let _ = writeln!(out, "# TYPE shangyi_bundle_build_seconds_total counter");
        let _ = writeln!(
            out,
            "shangyi_bundle_build_seconds_total {:.6}",
            micros as f64 / 1e6
        );
        out
    }
}

/// The writers' end of the queue: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct LiveHandle {
    sender: mpsc::Sender<CommunityId>,
    pub metrics: Arc<LiveMetrics>,
}

impl LiveHandle {
    /// Marks a community dirty. If the rebuild thread is gone the mark is dropped: the bundle
    /// is then rebuilt at the next start, and the write itself has succeeded.
    pub fn mark(&self, community: CommunityId) {
        self.metrics.marks.fetch_add(1, Ordering::Relaxed);
        if self.sender.send(community).is_err() {
            tracing::warn!(
                community = community.0,
                "the live rebuild thread is gone; mark dropped"
            );
        }
    }
}

/// The thread's end of the queue.
pub struct LiveQueue {
    receiver: mpsc::Receiver<CommunityId>,
    metrics: Arc<LiveMetrics>,
    /// Communities whose last build failed: when to try again, and how many failures in a row.
    retries: BTreeMap<CommunityId, Retry>,
}

#[derive(Clone, Copy, Debug)]
struct Retry {
    due: Instant,
    failures: u32,
}

/// A queue and its handle; run the queue with [`LiveQueue::run`] (or, as the service does,
/// [`LiveQueue::build_all_then_run`]) on a thread of your own.
pub fn queue() -> (LiveHandle, LiveQueue) {
    let (sender, receiver) = mpsc::channel();
    let metrics = Arc::new(LiveMetrics::default());
    (
        LiveHandle {
            sender,
            metrics: metrics.clone(),
        },
        LiveQueue {
            receiver,
            metrics,
            retries: BTreeMap::new(),
        },
    )
}

/// A queue running on a new thread.
pub fn start(settings: LiveSettings) -> LiveHandle {
    let (handle, queue) = queue();
    std::thread::spawn(move || queue.run(&settings));
    handle
}

impl LiveQueue {
    /// Builds dirty communities, and retries failed ones when they are due, until every handle
    /// is dropped.
    pub fn run(mut self, settings: &LiveSettings) {
        loop {
            let first = match self.next_retry_due() {
                None => match self.receiver.recv() {
                    Ok(community) => Some(community),
                    Err(mpsc::RecvError) => return,
                },
                Some(due) => {
                    let left = due.saturating_duration_since(Instant::now());
                    match self.receiver.recv_timeout(left) {
                        Ok(community) => Some(community),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            };
            let mut dirty = BTreeSet::new();
            if let Some(first) = first {
                dirty.insert(first);
                // Coalesce: keep taking marks until none came for `quiet`, or `max_wait` is over.
                let deadline = Instant::now() + settings.max_wait;
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match self.receiver.recv_timeout(settings.quiet.min(left)) {
                        Ok(community) => {
                            dirty.insert(community);
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => break,
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            }
            let now = Instant::now();
            dirty.extend(
                self.retries
                    .iter()
                    .filter(|(_, retry)| retry.due <= now)
                    .map(|(community, _)| *community),
            );
            for community in dirty {
                self.build_one(settings, community);
            }
        }
    }

    /// What the service's rebuild thread does from the start: builds every community's bundle
    /// (only what changed since the last start is written), building whatever writes mark
    /// meanwhile between batches, then [`run`](Self::run)s. Communities the first build could
    /// not build are retried like failed live builds; a build that fails outright (the base
    /// bundle, the templates, the store) is tried again after the same waits until it runs.
    pub fn build_all_then_run(self, settings: &LiveSettings) {
        let metrics = self.metrics.clone();
        // The build calls back between its batches from its own thread: the queue is shared.
        let queue = Mutex::new(self);
        let build_marked_now = || {
            if let Ok(mut queue) = queue.lock() {
                queue.build_marked_now(settings);
            }
        };
        let mut attempts = 0;
        let failed = loop {
            attempts += 1;
            let _span = tracing::info_span!("bundle_build_all", attempt = attempts).entered();
            let started = Instant::now();
            let between_batches = |_: usize, _: usize| build_marked_now();
            match broadcast::build(&broadcast::BuildOptions {
                db: &settings.db,
                out: &settings.out,
                community: None,
                templates_dir: &settings.templates_dir,
                assets_dir: &settings.assets_dir,
                progress: Some(&between_batches),
            }) {
                Ok(report) => {
                    tracing::info!(
                        written = report.written,
                        unchanged = report.unchanged,
                        failed = report.failed.len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "bundles built in {}",
                        settings.out.display()
                    );
                    for failure in &report.failed {
                        tracing::error!(%failure, "bundle build failed");
                    }
                    break report
                        .failed
                        .iter()
                        .map(|failure| failure.community)
                        .collect::<Vec<_>>();
                }
                Err(error) => {
                    metrics.build_failures.fetch_add(1, Ordering::Relaxed);
                    let wait = settings.retry_after(attempts);
                    tracing::error!(
                        %error,
                        retry_in_seconds = wait.as_secs_f64(),
                        "building the bundles failed; boxes keep the bundles already on disk"
                    );
                    // Marks made meanwhile are tried now, and retried like any failed build.
                    build_marked_now();
                    std::thread::sleep(wait);
                }
            }
        };
        let mut queue = queue.into_inner().unwrap_or_else(PoisonError::into_inner);
        queue.retry_later(settings, &failed);
        queue.run(settings);
    }

    /// Builds, at once, every community marked so far, without waiting for a quiet moment.
    /// Called between the batches of the first build of every bundle, so that a write made in
    /// the first minute of a fresh start is on the air in a batch's time (about a second)
    /// rather than after all 1,219 communities.
    fn build_marked_now(&mut self, settings: &LiveSettings) {
        let dirty: BTreeSet<CommunityId> = self.receiver.try_iter().collect();
        for community in dirty {
            self.build_one(settings, community);
        }
    }

    /// Schedules a retry of communities whose build failed elsewhere (the first build of every
    /// bundle, which logged why), as if their live build had failed once.
    fn retry_later(&mut self, settings: &LiveSettings, communities: &[CommunityId]) {
        for community in communities {
            self.schedule_retry(settings, *community);
        }
    }

    fn next_retry_due(&self) -> Option<Instant> {
        self.retries.values().map(|retry| retry.due).min()
    }

    /// Counts and logs a failed live build, and schedules the next try.
    fn failed(&mut self, settings: &LiveSettings, community: CommunityId, error: &str) {
        self.metrics.build_failures.fetch_add(1, Ordering::Relaxed);
        let (failures, wait) = self.schedule_retry(settings, community);
        tracing::error!(
            error,
            failures,
            retry_in_seconds = wait.as_secs_f64(),
            "bundle rebuild failed; the community's boxes keep its previous bundle until a retry succeeds"
        );
    }

    /// Schedules the community's next try; answers how many failures in a row it has had, and
    /// the wait.
    fn schedule_retry(
        &mut self,
        settings: &LiveSettings,
        community: CommunityId,
    ) -> (u32, Duration) {
        let failures = self
            .retries
            .get(&community)
            .map_or(1, |retry| retry.failures.saturating_add(1));
        let wait = settings.retry_after(failures);
        self.retries.insert(
            community,
            Retry {
                due: Instant::now() + wait,
                failures,
            },
        );
        self.metrics
            .retries_pending
            .store(self.retries.len() as u64, Ordering::Relaxed);
        (failures, wait)
    }

    fn succeeded(&mut self, community: CommunityId) {
        if let Some(retry) = self.retries.remove(&community) {
            tracing::info!(
                community = community.0,
                failures = retry.failures,
                "bundle rebuilt after failed tries"
            );
            self.metrics
                .retries_pending
                .store(self.retries.len() as u64, Ordering::Relaxed);
        }
    }

    fn build_one(&mut self, settings: &LiveSettings, community: CommunityId) {
        let _span = tracing::info_span!("bundle_live_build", community = community.0).entered();
        let started = Instant::now();
        let outcome = broadcast::build(&broadcast::BuildOptions {
            db: &settings.db,
            out: &settings.out,
            community: Some(community.0),
            templates_dir: &settings.templates_dir,
            assets_dir: &settings.assets_dir,
            progress: None,
        });
        let elapsed = started.elapsed();
        self.metrics.builds.fetch_add(1, Ordering::Relaxed);
        self.metrics.build_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        match outcome {
            Ok(report) if report.failed.is_empty() => {
                self.metrics
                    .bundles_written
                    .fetch_add(report.written as u64, Ordering::Relaxed);
                tracing::info!(
                    written = report.written,
                    unchanged = report.unchanged,
                    seconds = elapsed.as_secs_f64(),
                    "bundle rebuilt"
                );
                self.succeeded(community);
            }
            Ok(report) => {
                let error = report
                    .failed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                self.failed(settings, community, &error);
            }
            Err(error) => self.failed(settings, community, &error.to_string()),
        }
    }
}

/// The communities whose boxes show a topic: those of its eligible area.
pub fn communities_of(area: &EligibleArea) -> Vec<CommunityId> {
    match area {
        EligibleArea::Community { community } | EligibleArea::Grids { community, .. } => {
            vec![*community]
        }
        EligibleArea::Communities { communities, .. } => communities.clone(),
    }
}

/// The largest answer the marking layer reads back (the API's answers are small JSON).
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A layer over the API: after a successful write that changes what boxes show, marks the
/// communities it touched. It reads them off the answer (the notice's community, the topic's
/// or the comment's topic's eligible area), so the handlers need not know about bundles.
pub async fn mark_after_write(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(live) = state.live.clone() else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    let relevant = request.method() == Method::POST
        && (path == "/api/v1/notices"
            || (path.starts_with("/api/v1/topics/") && path != "/api/v1/topics/")
            || (path.starts_with("/api/v1/comments/") && path.ends_with("/decision")));
    let response = next.run(request).await;
    if !relevant || !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "reading an answer to mark its communities");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let topic = answer
        .pointer("/topic/id")
        .or_else(|| answer.pointer("/comment/topic"))
        .and_then(serde_json::Value::as_i64);
    if let Some(community) = answer
        .pointer("/notice/community")
        .and_then(serde_json::Value::as_i64)
    {
        live.mark(CommunityId(community));
    } else if let Some(topic) = topic {
        match crate::with_store(&state, move |s| s.topic(TopicId(topic))).await {
            Ok(topic) => {
                for community in communities_of(&topic.eligible) {
                    live.mark(community);
                }
            }
            Err(error) => tracing::warn!(?error, "finding a topic's communities to rebuild"),
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_cap() {
        let settings = LiveSettings::new(
            PathBuf::from("db"),
            PathBuf::from("out"),
            PathBuf::from("templates"),
            PathBuf::from("assets"),
        );
        let waits: Vec<u64> = [1, 2, 3, 4, 5, 6, 7, 1_000, u32::MAX]
            .map(|failures| settings.retry_after(failures).as_secs())
            .to_vec();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
    }
}
