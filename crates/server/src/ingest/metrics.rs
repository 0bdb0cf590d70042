//! Counters of the return channel's ingest: messages by outcome and reason, refused batches,
//! group commits, and the writer's queue depth. Lock-free; `/metrics` renders them in
//! Prometheus' text format.

use returnpath::ReasonCode;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Shared by the handlers and the writer thread.
#[derive(Debug, Default)]
pub struct IngestMetrics {
    stored: AtomicU64,
    duplicate: AtomicU64,
    /// Messages refused, by reason (index in `ReasonCode::ALL`).
    rejected: [AtomicU64; ReasonCode::ALL.len()],
    /// Whole batches refused (400, 413, 503), by reason.
    batches_refused: [AtomicU64; ReasonCode::ALL.len()],
    batches: AtomicU64,
    groups_committed: AtomicU64,
    messages_committed: AtomicU64,
    commit_failures: AtomicU64,
    /// Messages handed to the writer and not yet taken into a group commit.
    queue_depth: AtomicUsize,
}

fn index(reason: ReasonCode) -> usize {
    ReasonCode::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(ReasonCode::ALL.len() - 1)
}

impl IngestMetrics {
    pub fn count_stored(&self) {
        self.stored.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_duplicate(&self) {
        self.duplicate.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_rejected(&self, reason: ReasonCode) {
        self.rejected[index(reason)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_batch(&self) {
        self.batches.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_batch_refused(&self, reason: ReasonCode) {
        self.batches_refused[index(reason)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_group(&self, messages: usize) {
        self.groups_committed.fetch_add(1, Ordering::Relaxed);
        self.messages_committed
            .fetch_add(messages as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_commit_failure(&self) {
        self.commit_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn enqueue(&self, messages: usize) -> usize {
        self.queue_depth.fetch_add(messages, Ordering::Relaxed) + messages
    }

    pub(crate) fn dequeue(&self, messages: usize) {
        self.queue_depth.fetch_sub(messages, Ordering::Relaxed);
    }

    /// Messages waiting for the writer or being committed.
    pub fn queue_depth(&self) -> usize {
        self.queue_depth.load(Ordering::Relaxed)
    }

    pub fn stored(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    pub fn duplicates(&self) -> u64 {
        self.duplicate.load(Ordering::Relaxed)
    }

    pub fn rejected(&self, reason: ReasonCode) -> u64 {
        self.rejected[index(reason)].load(Ordering::Relaxed)
    }

    pub fn batches_refused(&self, reason: ReasonCode) -> u64 {
        self.batches_refused[index(reason)].load(Ordering::Relaxed)
    }

    /// The counters in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str("# HELP shangyi_rc_messages_total Return-channel messages answered, by outcome and reason.\n");
        out.push_str("# TYPE shangyi_rc_messages_total counter\n");
        let _ = writeln!(
            out,
            "shangyi_rc_messages_total{{outcome=\"stored\"}} {}",
            load(&self.stored)
        );
        let _ = writeln!(
            out,
            "shangyi_rc_messages_total{{outcome=\"duplicate\"}} {}",
            load(&self.duplicate)
        );
        for (reason, count) in ReasonCode::ALL.iter().zip(&self.rejected) {
            let _ = writeln!(
                out,
                "shangyi_rc_messages_total{{outcome=\"rejected\",reason=\"{}\"}} {}",
                reason.as_str(),
                load(count)
            );
        }
        out.push_str("# HELP shangyi_rc_batches_refused_total Whole batches refused, by reason.\n");
        out.push_str("# TYPE shangyi_rc_batches_refused_total counter\n");
        for (reason, count) in ReasonCode::ALL.iter().zip(&self.batches_refused) {
            let _ = writeln!(
                out,
                "shangyi_rc_batches_refused_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                load(count)
            );
        }
        let simple = [
            (
                "shangyi_rc_batches_total",
                "counter",
                "Batches received.",
                load(&self.batches),
            ),
            (
                "shangyi_rc_groups_committed_total",
                "counter",
                "Group commits by the writer.",
                load(&self.groups_committed),
            ),
            (
                "shangyi_rc_messages_committed_total",
                "counter",
                "Messages in committed groups.",
                load(&self.messages_committed),
            ),
            (
                "shangyi_rc_commit_failures_total",
                "counter",
                "Groups whose transaction failed (answered 503).",
                load(&self.commit_failures),
            ),
            (
                "shangyi_rc_writer_queue_depth",
                "gauge",
                "Messages waiting for the writer.",
                self.queue_depth() as u64,
            ),
        ];
        for (name, kind, help, value) in simple {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}
