//! The single writer: one OS thread that owns a store connection and the deduplication index,
//! takes batches from the request handlers over a channel, and group-commits every batch that
//! is waiting in one SQLite transaction, then answers each handler through its oneshot.
//!
//! A dedicated thread rather than an async task: SQLite blocks (an fsync per commit), and the
//! prototype measured the async-task writer 31% slower. While one group commits, the next one
//! gathers in the channel, so the commit cost is shared by every request waiting.

use super::Clock;
use super::metrics::IngestMetrics;
use consult::ids::TopicId;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use store::{
    IngestBody, IngestConfig, IngestMemory, IngestMessage, IngestOutcome, Store, StoreError,
};
use tokio::sync::oneshot;

/// One request's messages, and where to send their outcomes (in the same order). `Err`: the
/// group could not be stored; nothing of it was.
pub(crate) struct Job {
    pub messages: Vec<IngestMessage>,
    pub reply: oneshot::Sender<Result<Vec<IngestOutcome>, ()>>,
}

pub(crate) enum Command {
    Ingest(Job),
    /// Finish what is queued before this, then stop.
    Stop,
}

/// The running writer thread; [`WriterThread::stop`] drains it and waits for it.
pub struct WriterThread {
    sender: mpsc::Sender<Command>,
    handle: Option<std::thread::JoinHandle<()>>,
    /// Dropping it stops the checkpointer.
    checkpoints: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl WriterThread {
    /// Commits everything queued so far, answers it, and ends the thread.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.sender.send(Command::Stop);
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!("the ingest writer thread panicked");
        }
        if let Some((stop, handle)) = self.checkpoints.take() {
            drop(stop);
            let _ = handle.join();
        }
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

pub(crate) struct WriterSettings {
    pub rules: IngestConfig,
    pub max_group_messages: usize,
    pub clock: Clock,
    pub live: Option<crate::live::LiveHandle>,
}

/// Opens the writer's own connection, rebuilds the deduplication index, and starts the thread.
pub(crate) fn spawn(
    db: &Path,
    settings: WriterSettings,
    metrics: Arc<IngestMetrics>,
) -> Result<(mpsc::Sender<Command>, WriterThread), StoreError> {
    let mut store = Store::open(db)?;
    // Checkpoints copy WAL pages into the database and sync it: done on the writer's thread
    // they stall every acknowledgement waiting for that commit, so another thread does them.
    store.set_wal_autocheckpoint(0)?;
    let checkpointer = Store::open(db)?;
    let started = std::time::Instant::now();
    let memory = store.load_ingest_memory()?;
    tracing::info!(
        receipts = memory.len(),
        seconds = started.elapsed().as_secs_f64(),
        "return-channel receipts loaded"
    );
    let (sender, receiver) = mpsc::channel();
    let backfilled = Arc::new(AtomicBool::new(false));
    let finish_checkpoints = backfilled.clone();
    let handle = std::thread::Builder::new()
        .name("rc-writer".into())
        .spawn(move || {
            run(
                store,
                memory,
                receiver,
                settings,
                metrics,
                &finish_checkpoints,
            )
        })
        .map_err(|source| StoreError::Io {
            path: db.display().to_string(),
            source,
        })?;
    let (stop, stopped) = mpsc::channel::<()>();
    let checkpoints = std::thread::Builder::new()
        .name("rc-checkpoint".into())
        .spawn(move || checkpoint_loop(checkpointer, stopped, &backfilled))
        .map_err(|source| StoreError::Io {
            path: db.display().to_string(),
            source,
        })?;
    Ok((
        sender.clone(),
        WriterThread {
            sender,
            handle: Some(handle),
            checkpoints: Some((stop, checkpoints)),
        },
    ))
}

/// Every [`CHECKPOINT_EVERY`], a PASSIVE checkpoint (it never blocks the writer), after which
/// `backfilled` asks the writer to finish it; a last one at the end.
fn checkpoint_loop(store: Store, stopped: mpsc::Receiver<()>, backfilled: &AtomicBool) {
    loop {
        let done = !matches!(
            stopped.recv_timeout(CHECKPOINT_EVERY),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        match store.checkpoint() {
            // It copied what was committed when it began; the writer finishes the job.
            Ok((in_wal, _)) if in_wal > 0 => backfilled.store(true, Ordering::Release),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "WAL checkpoint failed; retrying later"),
        }
        if done {
            break;
        }
    }
}

fn run(
    mut store: Store,
    mut memory: IngestMemory,
    receiver: mpsc::Receiver<Command>,
    settings: WriterSettings,
    metrics: Arc<IngestMetrics>,
    backfilled: &AtomicBool,
) {
    let max = settings.max_group_messages.max(1);
    let mut settled_at = std::time::Instant::now();
    // Whether the last group gathered several requests: then more are on their way.
    let mut busy = false;
    loop {
        let mut jobs = Vec::new();
        let mut count = 0;
        let mut stop = false;
        let poll = if busy {
            POLL_BEFORE_SLEEP
        } else {
            std::time::Duration::ZERO
        };
        match next_command(&receiver, poll) {
            Ok(Command::Ingest(job)) => {
                count += job.messages.len();
                jobs.push(job);
            }
            // Idle for a second: a good moment to settle `current_votes`.
            Err(mpsc::RecvTimeoutError::Timeout) => {
                settle(&mut store, &mut memory);
                settled_at = std::time::Instant::now();
                continue;
            }
            Ok(Command::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        while count < max {
            match receiver.try_recv() {
                Ok(Command::Ingest(job)) => {
                    count += job.messages.len();
                    jobs.push(job);
                }
                Ok(Command::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        busy = jobs.len() > 1;
        // Taken off the queue: the depth counts what waits, not what is being committed.
        metrics.dequeue(count);
        let stored = commit_group(&mut store, &mut memory, jobs, &settings, &metrics);
        if let Some(live) = &settings.live {
            mark_tallies(&memory, live, &stored);
        }
        // Taken either way: settling finishes the checkpoint too.
        let pass_done = backfilled.swap(false, Ordering::Acquire);
        if settled_at.elapsed() >= SETTLE_EVERY {
            settle(&mut store, &mut memory);
            settled_at = std::time::Instant::now();
        } else if pass_done {
            finish_checkpoint(&store);
        }
        if stop {
            break;
        }
    }
    settle(&mut store, &mut memory);
    tracing::info!("ingest writer stopped");
}

/// How long the writer keeps looking for the next request, after a group of several, before it
/// sleeps in the channel.
///
/// Why: under load the next request usually comes within a few hundred microseconds, but a writer
/// asleep in the channel must be woken by the kernel and then wait for a core behind the async
/// threads. With a writer that stored nothing, that alone kept 64 boxes at 53% of the plain-HTTP
/// baseline; polling (yielding the core between polls) took it to 66%. With the real writer, in
/// paired rounds (docs/return-channel.md §16): at 1,000 boxes 52% → 60% for a 100 µs poll.
/// Longer polls were not worth their CPU: 100 against 500 µs measured the same at 64 and at
/// 1,000 boxes (four pairs each, 2026-12-03), while at 10,000 votes a second from 1,000 paced
/// boxes, where requests come one at a time, 500 µs cost about 119 µs of CPU an ack against 106.
/// After a lone request (a quiet headend) the writer sleeps at once, so polling costs nothing
/// when nobody is voting.
const POLL_BEFORE_SLEEP: std::time::Duration = std::time::Duration::from_micros(100);

/// The next command: polled for `poll`, then waited for up to [`SETTLE_EVERY`].
fn next_command(
    receiver: &mpsc::Receiver<Command>,
    poll: std::time::Duration,
) -> Result<Command, mpsc::RecvTimeoutError> {
    let polling = std::time::Instant::now();
    while polling.elapsed() < poll {
        match receiver.try_recv() {
            Ok(command) => return Ok(command),
            Err(mpsc::TryRecvError::Disconnected) => {
                return Err(mpsc::RecvTimeoutError::Disconnected);
            }
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    receiver.recv_timeout(SETTLE_EVERY)
}

/// How often the checkpoint thread copies the WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// How often the writer writes the counted votes it changed into `current_votes` (in key order,
/// so each page once; see `store::counted`). Between settles the table lags by at most this
/// much; tallies never lag.
const SETTLE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The writer's once-a-second housekeeping: settle `current_votes`, then finish the WAL
/// checkpoint on its own connection ([`finish_checkpoint`]).
fn settle(store: &mut Store, memory: &mut IngestMemory) {
    let started = std::time::Instant::now();
    let settled = store.settle_current_votes(memory);
    warn_if_slow("settling current votes", started.elapsed(), 0);
    match settled {
        Ok(0) => {}
        Ok(rows) => tracing::debug!(rows, "current votes settled"),
        // Nothing is lost: the votes are in the history, and the next settle (or the next
        // start) writes them.
        Err(error) => tracing::warn!(%error, "settling current votes failed; retrying later"),
    }
    finish_checkpoint(store);
}

/// A PASSIVE checkpoint on the writer's connection, between two of its transactions: after each
/// pass of the checkpoint thread, and once a second.
///
/// Why: the checkpoint thread's PASSIVE checkpoints copy what was committed when they began, but
/// under a steady stream of votes the writer has always appended more by the time one ends, so
/// the WAL was never complete and never restarted from its beginning. It grew by 26 MB a second
/// in the benchmark, and every commit appended to new blocks that ext4 had to allocate and zero
/// (in a loop of 4-frame writes and an fdatasync, appending cost 250-330 µs a commit against
/// 175-195 µs for overwriting). Here only the last frames are left to copy; the checkpoint
/// completes, and the next commit starts the WAL over in blocks that already exist. Done once a
/// second, the WAL still reached 50-56 MB at 64 boxes; after every pass of the checkpoint thread
/// it stays near 14 MB (about 3,500 frames).
fn finish_checkpoint(store: &Store) {
    let started = std::time::Instant::now();
    let checkpoint = store.checkpoint();
    warn_if_slow("finishing a WAL checkpoint", started.elapsed(), 0);
    if let Err(error) = checkpoint {
        tracing::warn!(%error, "the writer's WAL checkpoint failed; retrying later");
    }
}

/// Above this, one of the writer's operations is logged: every request waiting for the writer
/// waited for it too.
///
/// Why 100 ms: a healthy commit takes under 2 ms and a settle or a checkpoint's finish a few;
/// the virtual disks this was measured on stall a flush for 25-75 ms now and then, which the
/// commit-duration histogram in `/metrics` counts. Twice the 50 ms p99 the ingest is held to
/// (docs/return-channel.md §16) is worth a line in the log, where an operator looking for a slow
/// minute will find it.
const SLOW_WRITER_OPERATION: std::time::Duration = std::time::Duration::from_millis(100);

fn warn_if_slow(operation: &str, took: std::time::Duration, messages: usize) {
    if took >= SLOW_WRITER_OPERATION {
        tracing::warn!(
            milliseconds = took.as_millis() as u64,
            messages,
            "{operation} took {} ms; the acknowledgements queued behind it waited as long (a slow disk flush?)",
            took.as_millis()
        );
    }
}

/// The topics whose tallies a group changed (stored votes).
type TalliesChanged = BTreeSet<TopicId>;

/// Commits the group and answers its requests; returns the topics it stored votes for.
fn commit_group(
    store: &mut Store,
    memory: &mut IngestMemory,
    jobs: Vec<Job>,
    settings: &WriterSettings,
    metrics: &IngestMetrics,
) -> TalliesChanged {
    let received_at = consult::time::Timestamp((settings.clock)());
    let mut all: Vec<IngestMessage> =
        Vec::with_capacity(jobs.iter().map(|j| j.messages.len()).sum());
    let mut replies = Vec::with_capacity(jobs.len());
    for job in jobs {
        replies.push((job.messages.len(), job.reply));
        all.extend(job.messages);
    }
    let span = tracing::debug_span!(
        "group_commit",
        requests = replies.len(),
        messages = all.len()
    );
    let _entered = span.enter();
    let started = std::time::Instant::now();
    let result = store.ingest(memory, &all, received_at, &settings.rules);
    let took = started.elapsed();
    metrics.observe_commit(took);
    warn_if_slow("a group commit", took, all.len());
    match result {
        Ok(outcomes) => {
            metrics.count_group(all.len());
            let changed = all
                .iter()
                .zip(&outcomes)
                .filter_map(|(message, outcome)| match (&message.body, outcome) {
                    (IngestBody::Vote { topic, .. }, IngestOutcome::Stored) => Some(*topic),
                    _ => None,
                })
                .collect();
            let mut rest = outcomes.into_iter();
            for (len, reply) in replies {
                let mine: Vec<IngestOutcome> = rest.by_ref().take(len).collect();
                // A handler that gave up (its client went away) no longer listens: fine, the
                // messages are stored and a resend gets `duplicate`.
                let _ = reply.send(Ok(mine));
            }
            changed
        }
        Err(error) if replies.len() > 1 => {
            // One request must not sink the others: try each alone.
            tracing::warn!(%error, "group commit failed; committing its requests one by one");
            let mut messages = all.into_iter();
            let mut changed = TalliesChanged::new();
            for (len, reply) in replies {
                let job = Job {
                    messages: messages.by_ref().take(len).collect(),
                    reply,
                };
                changed.extend(commit_group(store, memory, vec![job], settings, metrics));
            }
            changed
        }
        Err(error) => {
            metrics.count_commit_failure();
            tracing::error!(%error, "could not store a return-channel batch; answering 503");
            for (_, reply) in replies {
                let _ = reply.send(Err(()));
            }
            TalliesChanged::new()
        }
    }
}

/// Marks the communities that show a topic whose tally changed, for a live rebuild. The
/// writer's memory has every topic it stored a vote for.
fn mark_tallies(memory: &IngestMemory, live: &crate::live::LiveHandle, changed: &TalliesChanged) {
    for topic in changed {
        match memory.topic(*topic) {
            Some(found) => {
                for community in crate::live::communities_of(&found.eligible) {
                    live.mark(community);
                }
            }
            None => tracing::warn!(
                topic = topic.0,
                "a topic with new votes is not in the writer's memory"
            ),
        }
    }
}
