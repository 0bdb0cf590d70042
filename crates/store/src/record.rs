//! Reading and verifying consultation records as they are on disk.

use crate::topics::load_topic;
use crate::{Store, StoreError};
use consult::ids::TopicId;
use consult::record::{self, Digest, StoredEntry, VerifyError};
use serde::Serialize;

/// The outcome of verifying one topic's record.
#[derive(Clone, Debug, Serialize)]
pub struct TopicVerification {
    pub topic: i64,
    pub entries: usize,
    pub head: Option<String>,
    /// `None` when the record verifies.
    pub error: Option<String>,
    pub first_bad_entry: Option<i64>,
}

/// The outcome of verifying every record.
#[derive(Clone, Debug, Serialize)]
pub struct RecordReport {
    pub topics: usize,
    pub entries: usize,
    pub failures: Vec<TopicVerification>,
    /// Checkpoints that no record holds any more.
    pub missing_checkpoints: Vec<String>,
}

impl RecordReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.missing_checkpoints.is_empty()
    }
}

impl Store {
    /// A topic's record, in sequence order, exactly as stored.
    pub fn record(&self, topic: TopicId) -> Result<Vec<StoredEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT topic_id, seq, at, actor_role, actor_name, fact, prev_hash, hash
             FROM record_entries WHERE topic_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([topic.0], |r| {
            Ok(StoredEntry {
                topic: r.get(0)?,
                seq: r.get(1)?,
                at: r.get(2)?,
                actor_role: r.get(3)?,
                actor_name: r.get(4)?,
                fact: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Verifies one topic's record: the chain, the history it describes, and that the topic's
    /// row agrees with it.
    pub fn verify_topic(&self, topic: TopicId) -> Result<TopicVerification, StoreError> {
        let entries = self.record(topic)?;
        let mut result = TopicVerification {
            topic: topic.0,
            entries: entries.len(),
            head: None,
            error: None,
            first_bad_entry: None,
        };
        match record::verify(topic.0, &entries) {
            Ok(verified) => {
                let (projection, seq, head) = load_topic(&self.conn, topic)?;
                result.head = Some(verified.head.to_hex());
                if projection != verified.topic
                    || seq as usize != verified.entries
                    || head != verified.head.to_hex()
                {
                    result.error = Some(format!(
                        "topic {topic}: the topics table disagrees with the record (it says {} at entry {seq}, the record says {} at entry {})",
                        projection.stage, verified.topic.stage, verified.entries
                    ));
                }
            }
            Err(error) => {
                result.first_bad_entry = error.seq();
                result.error = Some(error.to_string());
            }
        }
        Ok(result)
    }

    /// Verifies every topic's record (or one), and that each checkpoint is still in a record.
    pub fn verify_records(
        &self,
        only: Option<TopicId>,
        checkpoints: &[Digest],
    ) -> Result<RecordReport, StoreError> {
        let topics: Vec<i64> = match only {
            Some(t) => {
                load_topic(&self.conn, t)?;
                vec![t.0]
            }
            None => {
                let mut stmt = self.conn.prepare(
                    "SELECT id FROM topics UNION SELECT DISTINCT topic_id FROM record_entries ORDER BY 1",
                )?;
                stmt.query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            }
        };
        let mut report = RecordReport {
            topics: topics.len(),
            entries: 0,
            failures: Vec::new(),
            missing_checkpoints: Vec::new(),
        };
        for topic in topics {
            let verification = match self.verify_topic(TopicId(topic)) {
                Ok(v) => v,
                Err(StoreError::NotFound { .. }) => TopicVerification {
                    topic,
                    entries: 0,
                    head: None,
                    error: Some(format!(
                        "topic {topic}: record entries exist for a topic that does not"
                    )),
                    first_bad_entry: Some(1),
                },
                Err(e) => return Err(e),
            };
            report.entries += verification.entries;
            if verification.error.is_some() {
                report.failures.push(verification);
            }
        }
        for checkpoint in checkpoints {
            let found: Option<i64> = {
                use rusqlite::OptionalExtension;
                self.conn
                    .prepare_cached("SELECT seq FROM record_entries WHERE hash = ?1 LIMIT 1")?
                    .query_row([checkpoint.to_hex()], |r| r.get(0))
                    .optional()?
            };
            if found.is_none() {
                report
                    .missing_checkpoints
                    .push(VerifyError::CheckpointMissing(checkpoint.to_hex()).to_string());
            }
        }
        Ok(report)
    }
}
