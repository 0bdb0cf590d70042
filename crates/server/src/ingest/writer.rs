//! The single writer: one OS thread that owns a store connection and the deduplication index,
//! takes batches from the request handlers over a channel, and group-commits every batch that
//! is waiting in one SQLite transaction. A second thread, the syncer, makes those commits
//! durable and only then answers each handler through its oneshot.
//!
//! A dedicated thread rather than an async task: SQLite blocks, and the prototype measured the
//! async-task writer 31% slower. While one group commits, the next one gathers in the channel,
//! so the commit cost is shared by every request waiting.
//!
//! Why two threads: an fsync of the WAL takes 0.15 ms on a quiet disk and 3 ms or more on a
//! busy one, and the writer used to sit through it with the next group waiting. Now the writer
//! commits without syncing (`synchronous=NORMAL`, [`Store::defer_commit_sync`]) and passes the
//! group's answers to the syncer, which fsyncs the WAL once for every group committed since its
//! last fsync and then sends their answers. So the writer applies group k+1 while group k is
//! being made durable, and no answer leaves before an fsync that began after its commit:
//! "acknowledged only after the commit" still means after a durable one.
//!
//! If an fsync fails, what it should have made durable may be lost (and a later fsync may
//! succeed without bringing it back), so the ingest stops storing: every later request is
//! answered `503 overloaded` until the server is restarted, and the receipts it then reloads
//! from the database tell the boxes' resends what was really kept.

use super::Clock;
use super::metrics::IngestMetrics;
use consult::ids::{CommunityId, TopicId};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use store::{
    IngestBody, IngestConfig, IngestMessage, IngestOutcome, Receipts, Store, StoreError, WalSync,
};
use tokio::sync::oneshot;

/// One request's messages, and where to send their outcomes (in the same order). `Err`: the
/// group could not be stored; nothing of it was.
pub(crate) struct Job {
    pub messages: Vec<IngestMessage>,
    pub reply: oneshot::Sender<Result<Vec<IngestOutcome>, ()>>,
}

/// A request's answer, held back until its group's commit is durable.
struct Answer {
    reply: oneshot::Sender<Result<Vec<IngestOutcome>, ()>>,
    outcomes: Result<Vec<IngestOutcome>, ()>,
}

pub(crate) enum Command {
    Ingest(Job),
    /// Finish what is queued before this, then stop.
    Stop,
}

/// The running writer and syncer threads; [`WriterThread::stop`] drains them and waits for them.
pub struct WriterThread {
    sender: mpsc::Sender<Command>,
    handle: Option<std::thread::JoinHandle<()>>,
    /// Ends once the writer has ended and it has answered everything the writer passed on.
    syncer: Option<std::thread::JoinHandle<()>>,
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
        if let Some(handle) = self.syncer.take()
            && handle.join().is_err()
        {
            tracing::error!("the ingest syncer thread panicked");
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
    let store = Store::open(db)?;
    // Checkpoints copy WAL pages into the database and sync it: done on the writer's thread
    // they stall every acknowledgement waiting for that commit, so another thread does them.
    store.set_wal_autocheckpoint(0)?;
    let wal = store.defer_commit_sync()?;
    let checkpointer = Store::open(db)?;
    let started = std::time::Instant::now();
    let receipts = store.load_receipts()?;
    tracing::info!(
        receipts = receipts.len(),
        seconds = started.elapsed().as_secs_f64(),
        "return-channel receipts loaded"
    );
    let (sender, receiver) = mpsc::channel();
    // A rendezvous: the writer hands over group k+1 only when the syncer is done with group k,
    // so at most one group is applied while another is synced, and while both are busy the
    // next requests gather into one larger group rather than many small commits.
    let (committed, to_sync) = mpsc::sync_channel(0);
    let failed = Arc::new(AtomicBool::new(false));
    let syncer = {
        let (metrics, failed) = (metrics.clone(), failed.clone());
        std::thread::Builder::new()
            .name("rc-syncer".into())
            .spawn(move || sync_loop(&wal, &to_sync, &metrics, &failed))
            .map_err(|source| StoreError::Io {
                path: db.display().to_string(),
                source,
            })?
    };
    let handle = std::thread::Builder::new()
        .name("rc-writer".into())
        .spawn(move || {
            run(
                store, receipts, receiver, settings, metrics, committed, failed,
            )
        })
        .map_err(|source| StoreError::Io {
            path: db.display().to_string(),
            source,
        })?;
    let (stop, stopped) = mpsc::channel::<()>();
    let checkpoints = std::thread::Builder::new()
        .name("rc-checkpoint".into())
        .spawn(move || checkpoint_loop(checkpointer, stopped))
        .map_err(|source| StoreError::Io {
            path: db.display().to_string(),
            source,
        })?;
    Ok((
        sender.clone(),
        WriterThread {
            sender,
            handle: Some(handle),
            syncer: Some(syncer),
            checkpoints: Some((stop, checkpoints)),
        },
    ))
}

/// Every 200 ms, a PASSIVE checkpoint (it never blocks the writer); a last one at the end.
fn checkpoint_loop(store: Store, stopped: mpsc::Receiver<()>) {
    loop {
        let done = !matches!(
            stopped.recv_timeout(std::time::Duration::from_millis(200)),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        if let Err(error) = store.checkpoint() {
            tracing::warn!(%error, "WAL checkpoint failed; retrying later");
        }
        if done {
            break;
        }
    }
}

/// Makes committed groups durable, then answers them. Ends when the writer has ended and
/// everything it passed on is answered.
fn sync_loop(
    wal: &WalSync,
    committed: &mpsc::Receiver<Vec<Answer>>,
    metrics: &IngestMetrics,
    failed: &AtomicBool,
) {
    while let Ok(mut answers) = committed.recv() {
        // Anything else in the channel now was committed before the fsync below begins.
        while let Ok(more) = committed.try_recv() {
            answers.extend(more);
        }
        let durable = if failed.load(Ordering::SeqCst) {
            false
        } else {
            match wal.sync() {
                Ok(()) => {
                    metrics.count_wal_sync();
                    true
                }
                Err(error) => {
                    failed.store(true, Ordering::SeqCst);
                    metrics.count_commit_failure();
                    tracing::error!(%error, "fsync of the WAL failed: the ingest stops storing until a restart");
                    false
                }
            }
        };
        for Answer { reply, outcomes } in answers {
            // A handler that gave up (its client went away) no longer listens: fine, the
            // messages are stored and a resend gets `duplicate`.
            let _ = reply.send(if durable { outcomes } else { Err(()) });
        }
    }
}

fn run(
    mut store: Store,
    mut receipts: Receipts,
    receiver: mpsc::Receiver<Command>,
    settings: WriterSettings,
    metrics: Arc<IngestMetrics>,
    committed: mpsc::SyncSender<Vec<Answer>>,
    failed: Arc<AtomicBool>,
) {
    let max = settings.max_group_messages.max(1);
    let mut marker = TallyMarker::default();
    loop {
        let mut jobs = Vec::new();
        let mut count = 0;
        let mut stop = false;
        match receiver.recv() {
            Ok(Command::Ingest(job)) => {
                count += job.messages.len();
                jobs.push(job);
            }
            Ok(Command::Stop) | Err(_) => break,
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
        // Taken off the queue: the depth counts what waits, not what is being committed.
        metrics.dequeue(count);
        if failed.load(Ordering::SeqCst) {
            // The WAL could not be synced: storing more would acknowledge nothing durable.
            for job in jobs {
                let _ = job.reply.send(Err(()));
            }
        } else {
            let mut answers = Vec::with_capacity(jobs.len());
            let stored = commit_group(
                &mut store,
                &mut receipts,
                jobs,
                &settings,
                &metrics,
                &mut answers,
            );
            // If the syncer is gone, the answers are dropped and their handlers answer 503.
            let _ = committed.send(answers);
            if let Some(live) = &settings.live {
                marker.mark(&store, live, &stored);
            }
        }
        if stop {
            break;
        }
    }
    tracing::info!("ingest writer stopped");
}

/// The topics whose tallies a group changed (stored votes).
type TalliesChanged = BTreeSet<TopicId>;

/// Commits the group and adds its requests' answers to `answers`; returns the topics it stored
/// votes for.
fn commit_group(
    store: &mut Store,
    receipts: &mut Receipts,
    jobs: Vec<Job>,
    settings: &WriterSettings,
    metrics: &IngestMetrics,
    answers: &mut Vec<Answer>,
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
    match store.ingest(receipts, &all, received_at, &settings.rules) {
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
                answers.push(Answer {
                    reply,
                    outcomes: Ok(rest.by_ref().take(len).collect()),
                });
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
                changed.extend(commit_group(
                    store,
                    receipts,
                    vec![job],
                    settings,
                    metrics,
                    answers,
                ));
            }
            changed
        }
        Err(error) => {
            metrics.count_commit_failure();
            tracing::error!(%error, "could not store a return-channel batch; answering 503");
            for (_, reply) in replies {
                answers.push(Answer {
                    reply,
                    outcomes: Err(()),
                });
            }
            TalliesChanged::new()
        }
    }
}

/// Marks the communities that show a topic whose tally changed, for a live rebuild. A topic's
/// eligible area never changes once proposed, so its communities are looked up once.
#[derive(Default)]
struct TallyMarker {
    communities: HashMap<TopicId, Vec<CommunityId>>,
}

impl TallyMarker {
    fn mark(&mut self, store: &Store, live: &crate::live::LiveHandle, changed: &TalliesChanged) {
        for topic in changed {
            if !self.communities.contains_key(topic) {
                match store.topic(*topic) {
                    Ok(found) => {
                        self.communities
                            .insert(*topic, crate::live::communities_of(&found.eligible));
                    }
                    Err(error) => {
                        tracing::warn!(topic = topic.0, %error, "finding a topic's communities to rebuild");
                        continue;
                    }
                }
            }
            for community in self.communities.get(topic).into_iter().flatten() {
                live.mark(*community);
            }
        }
    }
}
