//! Comments: households' short texts enter a moderation queue; a moderator's decision is a
//! record entry. Nothing is deleted: rejected comments are hidden with their reason.

use crate::topics::load_topic;
use crate::{Store, StoreError};
use consult::comment::{self, Comment, Decision, Moderation};
use consult::ids::{CardId, CommentId, HouseholdId, TopicId};
use consult::record::{Actor, Fact};
use consult::time::Timestamp;
use consult::vote;
use rusqlite::{Connection, OptionalExtension, Row, params};

fn read_comment(r: &Row<'_>) -> rusqlite::Result<(Comment, String)> {
    let state: String = r.get(5)?;
    let reason: Option<String> = r.get(6)?;
    let moderation = match state.as_str() {
        "accepted" => Moderation::Accepted,
        "rejected" => Moderation::Rejected {
            reason: reason.unwrap_or_default(),
        },
        _ => Moderation::Pending,
    };
    Ok((
        Comment {
            id: CommentId(r.get(0)?),
            topic: TopicId(r.get(1)?),
            household: HouseholdId(r.get(2)?),
            text: r.get(3)?,
            sent_at: Timestamp(r.get(4)?),
            moderation,
        },
        state,
    ))
}

const COMMENT_COLUMNS: &str = "id, topic_id, household_id, text, sent_at, state, reason";

pub(crate) fn submit_in(
    conn: &Connection,
    topic: TopicId,
    card: &CardId,
    text: &str,
    sent_at: Timestamp,
    received_at: Timestamp,
) -> Result<CommentId, StoreError> {
    let text = comment::check_text(text)?;
    let place =
        crate::places::place_of_card_in(conn, card)?.ok_or_else(|| StoreError::NotFound {
            what: "card",
            id: card.to_string(),
        })?;
    let (t, _, _) = load_topic(conn, topic)?;
    vote::check_participation(&t, &place, sent_at, received_at)?;
    conn.prepare_cached(
        "INSERT INTO comments (topic_id, household_id, card_id, text, sent_at, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        topic.0,
        place.household.0,
        card.as_str(),
        text,
        sent_at.0,
        received_at.0
    ])?;
    Ok(CommentId(conn.last_insert_rowid()))
}

pub(crate) fn comment_in(conn: &Connection, id: CommentId) -> Result<Comment, StoreError> {
    let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id.0], read_comment)
        .optional()?
        .map(|(c, _)| c)
        .ok_or_else(|| StoreError::NotFound {
            what: "comment",
            id: id.to_string(),
        })
}

pub(crate) fn decide_in(
    conn: &Connection,
    id: CommentId,
    decision: &Decision,
    at: Timestamp,
    moderator: Actor,
) -> Result<Comment, StoreError> {
    let mut comment = comment_in(conn, id)?;
    let moderation = comment.decide(decision)?;
    let reason = match &moderation {
        Moderation::Rejected { reason } => Some(reason.clone()),
        _ => None,
    };
    conn.prepare_cached("UPDATE comments SET state = ?2, reason = ?3, decided_at = ?4 WHERE id = ?1 AND state = 'pending'")?
        .execute(params![id.0, moderation.as_str(), reason, at.0])?;
    let fact = Fact::CommentDecision {
        comment: id,
        household: comment.household,
        text: comment.text.clone(),
        moderation: moderation.clone(),
    };
    Store::append_in(conn, comment.topic, at, moderator, fact)?;
    comment.moderation = moderation;
    Ok(comment)
}

impl Store {
    /// Takes a household's comment into the moderation queue.
    pub fn submit_comment(
        &mut self,
        topic: TopicId,
        card: &CardId,
        text: &str,
        sent_at: Timestamp,
        received_at: Timestamp,
    ) -> Result<CommentId, StoreError> {
        let tx = self.conn.transaction()?;
        let id = submit_in(&tx, topic, card, text, sent_at, received_at)?;
        tx.commit()?;
        Ok(id)
    }

    pub fn comment(&self, id: CommentId) -> Result<Comment, StoreError> {
        comment_in(&self.conn, id)
    }

    /// A moderator accepts or rejects a pending comment; the decision enters the record.
    pub fn decide_comment(
        &mut self,
        id: CommentId,
        decision: &Decision,
        at: Timestamp,
        moderator: Actor,
    ) -> Result<Comment, StoreError> {
        let tx = self.conn.transaction()?;
        let comment = decide_in(&tx, id, decision, at, moderator)?;
        tx.commit()?;
        Ok(comment)
    }

    /// Comments in a state (`pending`, `accepted`, `rejected`), oldest first; for one topic or all.
    pub fn comments(
        &self,
        state: &str,
        topic: Option<TopicId>,
        limit: i64,
    ) -> Result<Vec<Comment>, StoreError> {
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM comments WHERE state = ?1 AND (?2 IS NULL OR topic_id = ?2) ORDER BY id LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![state, topic.map(|t| t.0), limit], read_comment)?;
        Ok(rows.map(|r| r.map(|(c, _)| c)).collect::<Result<_, _>>()?)
    }
}
