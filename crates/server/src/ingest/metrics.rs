//! Counters of the return channel's ingest: messages by outcome and reason, refused batches,
//! group commits and how long they took, and the writer's queue depth. Lock-free; `/metrics`
//! renders them in Prometheus' text format.

use returnpath::ReasonCode;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the buckets of the group-commit durations (a last bucket holds
/// the longer ones).
///
/// Why a histogram: every acknowledgement of a group waits for its commit, so a commit's time is
/// the floor of those requests' latency. On a healthy disk a commit takes well under 2 ms; the
/// virtual disks this was measured on sometimes stall a flush for 25-75 ms, several in a row,
/// and that, not the ingest's own work, is what a p99 of hundreds of milliseconds is made of
/// (docs/return-channel.md, section 16). The upper buckets tell an operator which it is.
pub const COMMIT_SECONDS_BUCKETS: [f64; 10] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

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
    /// Group commits by duration: one count per bucket of [`COMMIT_SECONDS_BUCKETS`], then the
    /// longer ones (not cumulative; `render` sums them as Prometheus wants).
    commit_durations: [AtomicU64; COMMIT_SECONDS_BUCKETS.len() + 1],
    commit_micros_total: AtomicU64,
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

    /// One group's time from taking it to its commit's end (or its failure).
    pub(crate) fn observe_commit(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = COMMIT_SECONDS_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(COMMIT_SECONDS_BUCKETS.len());
        self.commit_durations[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.commit_micros_total
            .fetch_add(micros, Ordering::Relaxed);
    }

    /// How many group commits fell in each bucket of [`COMMIT_SECONDS_BUCKETS`], then how many
    /// took longer than its last bound.
    pub fn commit_durations(&self) -> [u64; COMMIT_SECONDS_BUCKETS.len() + 1] {
        std::array::from_fn(|i| self.commit_durations[i].load(Ordering::Relaxed))
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

    /// Groups committed so far (failed ones are not counted here).
    pub fn groups_committed(&self) -> u64 {
        self.groups_committed.load(Ordering::Relaxed)
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
        let name = "shangyi_rc_group_commit_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} How long the writer's group commits took (failed ones too); each group's acknowledgements wait for its commit.\n# TYPE {name} histogram"
        );
        let counts = self.commit_durations();
        let mut cumulative = 0;
        for (bound, count) in COMMIT_SECONDS_BUCKETS.iter().zip(counts) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += counts[COMMIT_SECONDS_BUCKETS.len()];
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let seconds = load(&self.commit_micros_total) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {seconds}\n{name}_count {cumulative}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_fall_in_the_bucket_whose_bound_they_do_not_exceed() {
        let metrics = IngestMetrics::default();
        for micros in [300, 1_000, 3_000, 70_000, 2_000_000] {
            metrics.observe_commit(Duration::from_micros(micros));
        }
        // 0.3 ms ≤ 0.5 ms; 1 ms ≤ 1 ms (bounds are inclusive); 3 ms ≤ 5 ms; 70 ms ≤ 100 ms;
        // 2 s beyond the last bound.
        assert_eq!(
            metrics.commit_durations(),
            [1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1]
        );
        let text = metrics.render();
        for line in [
            "shangyi_rc_group_commit_seconds_bucket{le=\"0.0005\"} 1\n",
            "shangyi_rc_group_commit_seconds_bucket{le=\"0.001\"} 2\n",
            "shangyi_rc_group_commit_seconds_bucket{le=\"0.05\"} 3\n",
            "shangyi_rc_group_commit_seconds_bucket{le=\"0.1\"} 4\n",
            "shangyi_rc_group_commit_seconds_bucket{le=\"0.5\"} 4\n",
            "shangyi_rc_group_commit_seconds_bucket{le=\"+Inf\"} 5\n",
            "shangyi_rc_group_commit_seconds_sum 2.0743\n",
            "shangyi_rc_group_commit_seconds_count 5\n",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
