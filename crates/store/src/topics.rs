//! Topics: proposing, stepping through the procedure, recording facts, and reading them back.
//! Each change writes the record entry and the topic's projection in one transaction.

use crate::{Store, StoreError};
use consult::ids::{CommunityId, RoomId, TopicId};
use consult::procedure::{Stage, Step};
use consult::record::{Actor, ChainedEntry, Digest, Fact, RecordWriter, StoredEntry};
use consult::time::Timestamp;
use consult::topic::{Category, Session, StepDetails, Topic, TopicDraft};
use consult::vote::{Ballot, EligibleArea, VotingWindow};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

/// A line of a topic listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicRow {
    pub id: TopicId,
    pub title: String,
    pub stage: Stage,
    pub category: Category,
    pub room: RoomId,
    pub room_name: String,
}

/// Which topics to list.
#[derive(Clone, Debug, Default)]
pub struct TopicFilter {
    pub stage: Option<Stage>,
    pub community: Option<CommunityId>,
    pub room: Option<RoomId>,
    pub limit: Option<i64>,
}

const TOPIC_COLUMNS: &str = "id, room_id, title, summary, category, stage, eligible, ballot, proposed_at,
     session_starts_at, session_place, voting_opens_at, voting_closes_at, consensus, progress, feedback,
     record_seq, record_head";

fn read_topic(row: &Row<'_>) -> Result<(Topic, u64, String), StoreError> {
    let id = TopicId(row.get(0)?);
    let bad =
        |field: &str, detail: String| StoreError::corrupt(format!("topic {id} {field}"), detail);
    let category: String = row.get(4)?;
    let stage: String = row.get(5)?;
    let eligible: String = row.get(6)?;
    let ballot: String = row.get(7)?;
    let session = match (
        row.get::<_, Option<i64>>(9)?,
        row.get::<_, Option<String>>(10)?,
    ) {
        (Some(starts_at), Some(place)) => Some(Session {
            starts_at: Timestamp(starts_at),
            place,
        }),
        _ => None,
    };
    let voting = match (
        row.get::<_, Option<i64>>(11)?,
        row.get::<_, Option<i64>>(12)?,
    ) {
        (Some(opens), Some(closes)) => Some(VotingWindow {
            opens_at: Timestamp(opens),
            closes_at: Timestamp(closes),
        }),
        _ => None,
    };
    let progress: Option<i64> = row.get(14)?;
    let topic = Topic {
        id,
        room: RoomId(row.get(1)?),
        title: row.get(2)?,
        summary: row.get(3)?,
        category: Category::parse(&category).ok_or_else(|| bad("category", category.clone()))?,
        stage: Stage::parse(&stage).map_err(|e| bad("stage", e.to_string()))?,
        eligible: serde_json::from_str::<EligibleArea>(&eligible)
            .map_err(|e| bad("eligible", e.to_string()))?,
        ballot: serde_json::from_str::<Ballot>(&ballot)
            .map_err(|e| bad("ballot", e.to_string()))?,
        proposed_at: Timestamp(row.get(8)?),
        session,
        voting,
        consensus: row.get(13)?,
        progress: progress.map(|p| p.clamp(0, 100) as u8),
        feedback: row.get(15)?,
    };
    let seq: i64 = row.get(16)?;
    Ok((topic, seq.max(0) as u64, row.get(17)?))
}

pub(crate) fn load_topic(
    conn: &Connection,
    id: TopicId,
) -> Result<(Topic, u64, String), StoreError> {
    let sql = format!("SELECT {TOPIC_COLUMNS} FROM topics WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.0])?;
    match rows.next()? {
        Some(row) => read_topic(row),
        None => Err(StoreError::NotFound {
            what: "topic",
            id: id.to_string(),
        }),
    }
}

fn insert_entry(conn: &Connection, entry: &ChainedEntry) -> Result<(), StoreError> {
    let stored = StoredEntry::from_chained(entry);
    conn.prepare_cached(
        "INSERT INTO record_entries (topic_id, seq, at, actor_role, actor_name, kind, fact, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        stored.topic,
        stored.seq,
        stored.at,
        stored.actor_role,
        stored.actor_name,
        entry.entry.fact.kind(),
        stored.fact,
        stored.prev_hash,
        stored.hash
    ])?;
    Ok(())
}

fn write_projection(
    conn: &Connection,
    writer: &RecordWriter,
    insert: bool,
) -> Result<(), StoreError> {
    let t = &writer.topic;
    let sql = if insert {
        format!(
            "INSERT INTO topics ({TOPIC_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        )
    } else {
        "UPDATE topics SET room_id = ?2, title = ?3, summary = ?4, category = ?5, stage = ?6, eligible = ?7,
             ballot = ?8, proposed_at = ?9, session_starts_at = ?10, session_place = ?11, voting_opens_at = ?12,
             voting_closes_at = ?13, consensus = ?14, progress = ?15, feedback = ?16, record_seq = ?17,
             record_head = ?18 WHERE id = ?1"
            .to_owned()
    };
    conn.prepare_cached(&sql)?.execute(params![
        t.id.0,
        t.room.0,
        t.title,
        t.summary,
        t.category.as_str(),
        t.stage.as_str(),
        to_json(&t.eligible)?,
        to_json(&t.ballot)?,
        t.proposed_at.0,
        t.session.as_ref().map(|s| s.starts_at.0),
        t.session.as_ref().map(|s| s.place.clone()),
        t.voting.map(|v| v.opens_at.0),
        t.voting.map(|v| v.closes_at.0),
        t.consensus,
        t.progress.map(i64::from),
        t.feedback,
        writer.last_seq as i64,
        writer.head.to_hex()
    ])?;
    Ok(())
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt("topic", e))
}

fn writer(conn: &Connection, id: TopicId) -> Result<RecordWriter, StoreError> {
    let (topic, last_seq, head) = load_topic(conn, id)?;
    let head = Digest::from_hex(&head)
        .ok_or_else(|| StoreError::corrupt(format!("topic {id}"), "record head is not a hash"))?;
    Ok(RecordWriter {
        topic,
        head,
        last_seq,
    })
}

pub(crate) fn propose_in(
    conn: &Connection,
    draft: TopicDraft,
    at: Timestamp,
    convener: Actor,
) -> Result<Topic, StoreError> {
    draft.check()?;
    let level = crate::places::room_level_in(conn, draft.room)?;
    draft.eligible.check_for_room(
        level,
        |g| crate::places::community_of_grid_in(conn, g).ok().flatten(),
        |c| crate::places::town_of_community_in(conn, c).ok().flatten(),
    )?;
    let communities = match &draft.eligible {
        EligibleArea::Community { community } | EligibleArea::Grids { community, .. } => {
            vec![*community]
        }
        EligibleArea::Communities { communities, .. } => communities.clone(),
    };
    let id: i64 = conn.query_row("SELECT coalesce(max(id), 0) + 1 FROM topics", [], |r| {
        r.get(0)
    })?;
    let (writer, entry) = RecordWriter::propose(TopicId(id), draft, at, convener)?;
    write_projection(conn, &writer, true)?;
    for community in communities {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO topic_communities (topic_id, community_id) VALUES (?1, ?2)",
        )?
        .execute(params![id, community.0])?;
    }
    insert_entry(conn, &entry)?;
    Ok(writer.topic)
}

pub(crate) fn step_in(
    conn: &Connection,
    id: TopicId,
    step: Step,
    at: Timestamp,
    actor: Actor,
    note: &str,
    mut details: StepDetails,
) -> Result<Topic, StoreError> {
    if step == Step::DraftConsensus && details.tally.is_none() {
        details.tally = Some(crate::votes::tally_in(conn, id)?);
    }
    let mut writer = writer(conn, id)?;
    let entry = writer.step(step, at, actor, note, details)?;
    insert_entry(conn, &entry)?;
    write_projection(conn, &writer, false)?;
    Ok(writer.topic)
}

impl Store {
    /// Proposes a topic in a room: checks the draft and its eligible area against the room, then
    /// writes the topic and the first entry of its record.
    pub fn propose_topic(
        &mut self,
        draft: TopicDraft,
        at: Timestamp,
        convener: Actor,
    ) -> Result<Topic, StoreError> {
        let tx = self.conn.transaction()?;
        let topic = propose_in(&tx, draft, at, convener)?;
        tx.commit()?;
        tracing::debug!(topic = topic.id.0, "topic proposed");
        Ok(topic)
    }

    /// Takes a step through the procedure. For `draft_consensus` without a tally, the current
    /// tally is frozen into the record.
    pub fn take_step(
        &mut self,
        id: TopicId,
        step: Step,
        at: Timestamp,
        actor: Actor,
        note: &str,
        details: StepDetails,
    ) -> Result<Topic, StoreError> {
        let tx = self.conn.transaction()?;
        let topic = step_in(&tx, id, step, at, actor, note, details)?;
        tx.commit()?;
        tracing::debug!(topic = id.0, step = step.as_str(), "topic stepped");
        Ok(topic)
    }

    /// Records a fact that is not a step: a research finding, minutes, a tally snapshot, a
    /// progress update.
    pub fn record_fact(
        &mut self,
        id: TopicId,
        at: Timestamp,
        actor: Actor,
        fact: Fact,
    ) -> Result<Topic, StoreError> {
        let tx = self.conn.transaction()?;
        let topic = Store::append_in(&tx, id, at, actor, fact)?;
        tx.commit()?;
        Ok(topic)
    }

    pub(crate) fn append_in(
        tx: &Connection,
        id: TopicId,
        at: Timestamp,
        actor: Actor,
        fact: Fact,
    ) -> Result<Topic, StoreError> {
        let mut writer = writer(tx, id)?;
        let entry = writer.append(at, actor, fact)?;
        insert_entry(tx, &entry)?;
        write_projection(tx, &writer, false)?;
        Ok(writer.topic)
    }

    pub fn topic(&self, id: TopicId) -> Result<Topic, StoreError> {
        Ok(load_topic(&self.conn, id)?.0)
    }

    /// Topics, newest proposal last, filtered.
    pub fn topics(&self, filter: &TopicFilter) -> Result<Vec<TopicRow>, StoreError> {
        let mut sql = String::from(
            "SELECT t.id, t.title, t.stage, t.category, t.room_id, r.name FROM topics t JOIN rooms r ON r.id = t.room_id",
        );
        let mut clauses = Vec::new();
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(stage) = filter.stage {
            args.push(stage.as_str().to_owned().into());
            clauses.push(format!("t.stage = ?{}", args.len()));
        }
        if let Some(room) = filter.room {
            args.push(room.0.into());
            clauses.push(format!("t.room_id = ?{}", args.len()));
        }
        if let Some(community) = filter.community {
            args.push(community.0.into());
            clauses.push(format!(
                "t.id IN (SELECT topic_id FROM topic_communities WHERE community_id = ?{})",
                args.len()
            ));
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY t.id");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", limit.max(0)));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, stage, category, room, room_name) = row?;
            out.push(TopicRow {
                id: TopicId(id),
                title,
                stage: Stage::parse(&stage)
                    .map_err(|e| StoreError::corrupt(format!("topic {id}"), e))?,
                category: Category::parse(&category).ok_or_else(|| {
                    StoreError::corrupt(format!("topic {id}"), format!("category {category}"))
                })?,
                room: RoomId(room),
                room_name,
            });
        }
        Ok(out)
    }

    /// How many topics stand at each stage.
    pub fn stage_counts(&self) -> Result<Vec<(Stage, i64)>, StoreError> {
        let mut out = Vec::new();
        for stage in Stage::ALL {
            let n: i64 = self
                .conn
                .prepare_cached("SELECT count(*) FROM topics WHERE stage = ?1")?
                .query_row([stage.as_str()], |r| r.get(0))?;
            out.push((stage, n));
        }
        Ok(out)
    }

    pub fn topic_exists(&self, id: TopicId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM topics WHERE id = ?1")?
            .query_row([id.0], |_| Ok(()))
            .optional()?
            .is_some())
    }
}
