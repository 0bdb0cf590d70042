//! The consultation record (协商记录): every fact about a topic, appended, never changed.
//!
//! Entries are hash-chained. Each entry's hash is SHA-256 over the previous entry's hash (32 zero
//! bytes for the first) followed by the entry's canonical bytes: the entry as JSON with object
//! keys sorted and no insignificant whitespace (see [`canonical_bytes`]). [`verify`] recomputes
//! the chain and replays the facts through the procedure, so it finds an edited, deleted,
//! reordered or inserted entry, and, given a published head hash (a checkpoint), a truncation.

use crate::comment::Moderation;
use crate::ids::{CommentId, HouseholdId, RoomId, TopicId};
use crate::procedure::{Stage, Step};
use crate::time::Timestamp;
use crate::topic::{Category, StepDetails, Topic, TopicError};
use crate::vote::{Ballot, EligibleArea, Tally};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::fmt;

/// Who made an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    Convener,
    Overseer,
    Moderator,
    /// The headend itself, e.g. a tally snapshot.
    System,
}

impl ActorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorRole::Convener => "convener",
            ActorRole::Overseer => "overseer",
            ActorRole::Moderator => "moderator",
            ActorRole::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<ActorRole> {
        [
            ActorRole::Convener,
            ActorRole::Overseer,
            ActorRole::Moderator,
            ActorRole::System,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub role: ActorRole,
    /// A person's name and office, e.g. 王建国（社区党委书记）, or `shangyi` for the system.
    pub name: String,
}

/// One fact about a topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fact {
    /// The topic as the convener proposed it; always the first entry.
    Proposed {
        room: RoomId,
        title: String,
        summary: String,
        category: Category,
        eligible: EligibleArea,
        ballot: Ballot,
    },
    /// A step through the procedure.
    Transition {
        step: Step,
        from: Stage,
        to: Stage,
        note: String,
        #[serde(flatten)]
        details: StepDetails,
    },
    /// 商前调研: a finding of the research before consultation.
    ResearchFinding {
        title: String,
        text: String,
        /// Names of attached materials (surveys, drawings, photos).
        #[serde(default)]
        materials: Vec<String>,
    },
    /// Minutes of the consultation session.
    Minutes { text: String },
    /// The tally at a moment, e.g. at the end of the session.
    TallySnapshot { tally: Tally, reason: String },
    /// A moderator's decision on a household's comment.
    CommentDecision {
        comment: CommentId,
        household: HouseholdId,
        text: String,
        moderation: Moderation,
    },
    /// 成果转化: how far implementation has come.
    ProgressUpdate { percent: u8, text: String },
}

impl Fact {
    pub fn kind(&self) -> &'static str {
        match self {
            Fact::Proposed { .. } => "proposed",
            Fact::Transition { .. } => "transition",
            Fact::ResearchFinding { .. } => "research_finding",
            Fact::Minutes { .. } => "minutes",
            Fact::TallySnapshot { .. } => "tally_snapshot",
            Fact::CommentDecision { .. } => "comment_decision",
            Fact::ProgressUpdate { .. } => "progress_update",
        }
    }
}

/// An entry of a topic's record, before it is chained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub topic: TopicId,
    /// 1 for the proposal, then one more for each entry.
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub fact: Fact,
}

/// A SHA-256 hash, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The "previous hash" of a record's first entry.
    pub const GENESIS: Digest = Digest([0; 32]);

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Digest> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
        Some(Digest(bytes))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// An entry with its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedEntry {
    #[serde(flatten)]
    pub entry: Entry,
    pub prev_hash: Digest,
    pub hash: Digest,
}

/// Writes a JSON value with object keys in byte order and no whitespace. Done by hand rather
/// than trusting the map type, because a dependency enabling serde_json's `preserve_order`
/// would silently change the bytes and so every hash.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(key.clone()), out);
                out.push(b':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

/// The canonical JSON text of a fact, as the store keeps it.
pub fn canonical_fact(fact: &Fact) -> String {
    let value = serde_json::to_value(fact).unwrap_or(Value::Null);
    let mut out = Vec::new();
    write_canonical(&value, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The bytes an entry's hash covers: `{"actor":{"name":..,"role":..},"at":..,"fact":{..},
/// "seq":..,"topic":..,"v":1}` with keys sorted and no whitespace.
pub fn canonical_bytes(
    topic: TopicId,
    seq: u64,
    at: Timestamp,
    actor: &Actor,
    fact: &Value,
) -> Vec<u8> {
    let value = serde_json::json!({
        "v": 1,
        "topic": topic.0,
        "seq": seq,
        "at": at.0,
        "actor": { "role": actor.role.as_str(), "name": actor.name },
        "fact": fact,
    });
    let mut out = Vec::new();
    write_canonical(&value, &mut out);
    out
}

/// SHA-256(previous hash ‖ canonical bytes).
pub fn chain_hash(prev: &Digest, canonical: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(prev.0);
    hasher.update(canonical);
    Digest(hasher.finalize().into())
}

/// Chains an entry after `prev`.
pub fn chain(prev: Digest, entry: Entry) -> ChainedEntry {
    let fact = serde_json::to_value(&entry.fact).unwrap_or(Value::Null);
    let bytes = canonical_bytes(entry.topic, entry.seq, entry.at, &entry.actor, &fact);
    ChainedEntry {
        hash: chain_hash(&prev, &bytes),
        prev_hash: prev,
        entry,
    }
}

/// An entry as stored: plain text fields, so that verification sees exactly what is on disk,
/// including edits that no longer parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub topic: i64,
    pub seq: i64,
    pub at: i64,
    pub actor_role: String,
    pub actor_name: String,
    /// The fact as canonical JSON.
    pub fact: String,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredEntry {
    pub fn from_chained(entry: &ChainedEntry) -> StoredEntry {
        StoredEntry {
            topic: entry.entry.topic.0,
            seq: entry.entry.seq as i64,
            at: entry.entry.at.0,
            actor_role: entry.entry.actor.role.as_str().into(),
            actor_name: entry.entry.actor.name.clone(),
            fact: canonical_fact(&entry.entry.fact),
            prev_hash: entry.prev_hash.to_hex(),
            hash: entry.hash.to_hex(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("topic {topic} has no record entries")]
    Empty { topic: i64 },
    #[error(
        "topic {topic}: entry {found} stands where entry {expected} belongs (an entry was deleted, inserted or moved)"
    )]
    Sequence {
        topic: i64,
        expected: i64,
        found: i64,
    },
    #[error("topic {topic}: entry {seq} belongs to topic {other}")]
    WrongTopic { topic: i64, seq: i64, other: i64 },
    #[error(
        "topic {topic}: entry {seq} does not link to the entry before it (an entry before it was changed, deleted or inserted)"
    )]
    BrokenLink { topic: i64, seq: i64 },
    #[error("topic {topic}: entry {seq} was altered: its hash does not match its content")]
    Altered { topic: i64, seq: i64 },
    #[error("topic {topic}: entry {seq} cannot be read: {reason}")]
    Unreadable {
        topic: i64,
        seq: i64,
        reason: String,
    },
    #[error("topic {topic}: entry {seq} describes an illegal history: {error}")]
    IllegalHistory {
        topic: i64,
        seq: i64,
        error: TopicError,
    },
    #[error("checkpoint {0} is not in the record: entries up to it were truncated or altered")]
    CheckpointMissing(String),
}

impl VerifyError {
    /// The entry the failure was found at, if it names one.
    pub fn seq(&self) -> Option<i64> {
        match self {
            VerifyError::Sequence { found: seq, .. }
            | VerifyError::WrongTopic { seq, .. }
            | VerifyError::BrokenLink { seq, .. }
            | VerifyError::Altered { seq, .. }
            | VerifyError::Unreadable { seq, .. }
            | VerifyError::IllegalHistory { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

/// What a successful verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub topic: Topic,
    pub entries: usize,
    /// The hash of the last entry: publish it as a checkpoint.
    pub head: Digest,
}

/// Verifies one topic's record, entries in sequence order as stored: the chain, then the history
/// by replaying every fact through the procedure.
pub fn verify(topic: i64, entries: &[StoredEntry]) -> Result<Verified, VerifyError> {
    let mut prev = Digest::GENESIS;
    let mut state: Option<Topic> = None;
    for (index, stored) in entries.iter().enumerate() {
        let expected = index as i64 + 1;
        let seq = stored.seq;
        if stored.topic != topic {
            return Err(VerifyError::WrongTopic {
                topic,
                seq,
                other: stored.topic,
            });
        }
        if seq != expected {
            return Err(VerifyError::Sequence {
                topic,
                expected,
                found: seq,
            });
        }
        let unreadable = |reason: String| VerifyError::Unreadable { topic, seq, reason };
        if Digest::from_hex(&stored.prev_hash) != Some(prev) {
            return Err(VerifyError::BrokenLink { topic, seq });
        }
        let fact_value: Value = serde_json::from_str(&stored.fact)
            .map_err(|e| unreadable(format!("fact is not JSON: {e}")))?;
        let role = ActorRole::parse(&stored.actor_role)
            .ok_or_else(|| unreadable(format!("unknown actor role {:?}", stored.actor_role)))?;
        let actor = Actor {
            role,
            name: stored.actor_name.clone(),
        };
        let bytes = canonical_bytes(
            TopicId(topic),
            seq as u64,
            Timestamp(stored.at),
            &actor,
            &fact_value,
        );
        let hash = chain_hash(&prev, &bytes);
        if Digest::from_hex(&stored.hash) != Some(hash) {
            return Err(VerifyError::Altered { topic, seq });
        }
        let fact: Fact = serde_json::from_value(fact_value)
            .map_err(|e| unreadable(format!("fact is not a known kind: {e}")))?;
        let illegal = |error: TopicError| VerifyError::IllegalHistory { topic, seq, error };
        match &mut state {
            None => {
                state = Some(
                    Topic::from_proposal(TopicId(topic), &fact, Timestamp(stored.at))
                        .map_err(illegal)?,
                )
            }
            Some(current) => current.apply(&fact, role).map_err(illegal)?,
        }
        prev = hash;
    }
    match state {
        Some(topic_state) => Ok(Verified {
            topic: topic_state,
            entries: entries.len(),
            head: prev,
        }),
        None => Err(VerifyError::Empty { topic }),
    }
}

/// Checks that every checkpoint (a head published earlier) is still in one of the verified
/// records: the record was not cut back past it.
pub fn check_checkpoints<'a>(
    checkpoints: &[Digest],
    hashes: impl IntoIterator<Item = &'a str>,
) -> Result<(), VerifyError> {
    let present: std::collections::HashSet<&str> = hashes.into_iter().collect();
    for checkpoint in checkpoints {
        if !present.contains(checkpoint.to_hex().as_str()) {
            return Err(VerifyError::CheckpointMissing(checkpoint.to_hex()));
        }
    }
    Ok(())
}

/// A topic together with the head of its record: how new entries are made. Every entry goes
/// through [`Topic::apply`] before it is chained, so only legal facts are ever written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordWriter {
    pub topic: Topic,
    pub head: Digest,
    /// The sequence number of the last entry.
    pub last_seq: u64,
}

impl RecordWriter {
    /// Proposes a topic: the first entry of its record.
    pub fn propose(
        id: TopicId,
        draft: crate::topic::TopicDraft,
        at: Timestamp,
        convener: Actor,
    ) -> Result<(RecordWriter, ChainedEntry), TopicError> {
        let (topic, fact) = Topic::propose(id, draft, at)?;
        let entry = chain(
            Digest::GENESIS,
            Entry {
                topic: id,
                seq: 1,
                at,
                actor: convener,
                fact,
            },
        );
        let writer = RecordWriter {
            topic,
            head: entry.hash,
            last_seq: 1,
        };
        Ok((writer, entry))
    }

    /// Checks and applies a fact, and returns the entry to store.
    pub fn append(
        &mut self,
        at: Timestamp,
        actor: Actor,
        fact: Fact,
    ) -> Result<ChainedEntry, TopicError> {
        let mut topic = self.topic.clone();
        topic.apply(&fact, actor.role)?;
        let entry = chain(
            self.head,
            Entry {
                topic: topic.id,
                seq: self.last_seq + 1,
                at,
                actor,
                fact,
            },
        );
        self.topic = topic;
        self.head = entry.hash;
        self.last_seq += 1;
        Ok(entry)
    }

    /// Takes a step through the procedure.
    pub fn step(
        &mut self,
        step: Step,
        at: Timestamp,
        actor: Actor,
        note: &str,
        details: StepDetails,
    ) -> Result<ChainedEntry, TopicError> {
        let role = match actor.role {
            ActorRole::Overseer => crate::procedure::Role::Overseer,
            _ => crate::procedure::Role::Convener,
        };
        let fact = self.topic.plan_step(step, role, note, details)?;
        self.append(at, actor, fact)
    }
}
