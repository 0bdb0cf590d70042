//! Votes: every accepted vote joins the history; the household's latest one counts, and the
//! per-grid counts move with it, so a tally is read without scanning the votes.

use crate::topics::load_topic;
use crate::{Store, StoreError};
use consult::ids::{CardId, GridId, TopicId};
use consult::time::Timestamp;
use consult::vote::{self, Tally};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// A vote as a set-top box sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteInput {
    pub topic: TopicId,
    pub card: CardId,
    pub option: String,
    /// When the box signed it.
    pub sent_at: Timestamp,
    /// When the headend received it.
    pub received_at: Timestamp,
}

/// What became of an accepted vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteOutcome {
    /// It is now the household's counted vote.
    Counted { vote_id: i64 },
    /// Kept in the history; a later-cast vote of the household still counts.
    Superseded { vote_id: i64 },
}

impl Store {
    /// Records one vote in its own transaction.
    pub fn cast_vote(&mut self, input: &VoteInput) -> Result<VoteOutcome, StoreError> {
        let tx = self.conn.transaction()?;
        let outcome = cast_in(&tx, input)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Records many votes in one transaction; each gets its own outcome, and a refused vote
    /// changes nothing.
    pub fn cast_votes(
        &mut self,
        inputs: &[VoteInput],
    ) -> Result<Vec<Result<VoteOutcome, StoreError>>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut outcomes = Vec::with_capacity(inputs.len());
        for input in inputs {
            tx.execute_batch("SAVEPOINT vote")?;
            let outcome = cast_in(&tx, input);
            if outcome.is_ok() {
                tx.execute_batch("RELEASE vote")?;
            } else {
                tx.execute_batch("ROLLBACK TO vote; RELEASE vote")?;
            }
            outcomes.push(outcome);
        }
        tx.commit()?;
        Ok(outcomes)
    }

    /// The topic's tally: counts per option overall and per grid, from the kept counts.
    pub fn tally(&self, topic: TopicId) -> Result<Tally, StoreError> {
        tally_in(&self.conn, topic)
    }
}

/// Casts one vote. `current_votes` is settled first (the ingest writer may have counted votes it
/// has not written there yet, see [`crate::counted`]), so that the comparison below sees the
/// household's real counted vote; afterwards it is complete again, and the watermark says so.
pub(crate) fn cast_in(conn: &Connection, input: &VoteInput) -> Result<VoteOutcome, StoreError> {
    crate::counted::settle_from_history(conn)?;
    let outcome = cast_settled(conn, input)?;
    crate::counted::set_watermark(conn, crate::counted::newest_vote(conn)?)?;
    Ok(outcome)
}

fn cast_settled(conn: &Connection, input: &VoteInput) -> Result<VoteOutcome, StoreError> {
    let place = crate::places::place_of_card_in(conn, &input.card)?.ok_or_else(|| {
        StoreError::NotFound {
            what: "card",
            id: input.card.to_string(),
        }
    })?;
    let (topic, _, _) = load_topic(conn, input.topic)?;
    vote::check_vote(
        &topic,
        &place,
        &input.option,
        input.sent_at,
        input.received_at,
    )?;
    conn.prepare_cached(
        "INSERT INTO votes (topic_id, household_id, card_id, option, sent_at, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        input.topic.0,
        place.household.0,
        input.card.as_str(),
        input.option,
        input.sent_at.0,
        input.received_at.0
    ])?;
    let vote_id = conn.last_insert_rowid();
    let current: Option<(i64, String, i64)> = conn
        .prepare_cached("SELECT vote_id, option, sent_at FROM current_votes WHERE topic_id = ?1 AND household_id = ?2")?
        .query_row(params![input.topic.0, place.household.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    // The CHECK on count is evaluated before an upsert's conflict handling, so a decrement is a
    // plain UPDATE of a row that must exist.
    let bump = |option: &str, by: i64| -> Result<(), StoreError> {
        if by > 0 {
            conn.prepare_cached(
                "INSERT INTO tallies (topic_id, grid_id, option, count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (topic_id, grid_id, option) DO UPDATE SET count = count + excluded.count",
            )?
            .execute(params![input.topic.0, place.grid.0, option, by])?;
        } else {
            let changed = conn
                .prepare_cached("UPDATE tallies SET count = count + ?4 WHERE topic_id = ?1 AND grid_id = ?2 AND option = ?3")?
                .execute(params![input.topic.0, place.grid.0, option, by])?;
            if changed != 1 {
                return Err(StoreError::corrupt(
                    format!("tally of topic {}", input.topic),
                    format!(
                        "no count for option {option:?} in grid {} to move a vote from",
                        place.grid
                    ),
                ));
            }
        }
        Ok(())
    };
    match current {
        None => {
            conn.prepare_cached(
                "INSERT INTO current_votes (topic_id, household_id, grid_id, vote_id, option, sent_at, card_id, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)",
            )?
            .execute(params![
                input.topic.0,
                place.household.0,
                place.grid.0,
                vote_id,
                input.option,
                input.sent_at.0,
                input.card.as_str()
            ])?;
            bump(&input.option, 1)?;
            Ok(VoteOutcome::Counted { vote_id })
        }
        Some((old_id, old_option, old_sent)) => {
            if vote::supersedes((input.sent_at, vote_id), (Timestamp(old_sent), old_id)) {
                conn.prepare_cached(
                    "UPDATE current_votes SET vote_id = ?3, option = ?4, sent_at = ?5, card_id = ?6, seq = NULL
                     WHERE topic_id = ?1 AND household_id = ?2",
                )?
                .execute(params![
                    input.topic.0,
                    place.household.0,
                    vote_id,
                    input.option,
                    input.sent_at.0,
                    input.card.as_str()
                ])?;
                bump(&old_option, -1)?;
                bump(&input.option, 1)?;
                Ok(VoteOutcome::Counted { vote_id })
            } else {
                Ok(VoteOutcome::Superseded { vote_id })
            }
        }
    }
}

pub(crate) fn tally_in(conn: &Connection, topic_id: TopicId) -> Result<Tally, StoreError> {
    let (topic, _, _) = load_topic(conn, topic_id)?;
    let width = topic.ballot.options.len();
    let mut overall = vec![0u64; width];
    let mut by_grid: BTreeMap<GridId, Vec<u64>> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT grid_id, option, count FROM tallies WHERE topic_id = ?1 AND count > 0",
    )?;
    let rows = stmt.query_map([topic_id.0], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (grid, option, count) = row?;
        let index = topic.ballot.position(&option).ok_or_else(|| {
            StoreError::corrupt(
                format!("tally of topic {topic_id}"),
                format!("option {option:?} is not on the ballot"),
            )
        })?;
        let count = count.max(0) as u64;
        overall[index] += count;
        by_grid
            .entry(GridId(grid))
            .or_insert_with(|| vec![0; width])[index] += count;
    }
    let store_eligible = crate::places::eligible_households_in(conn, &topic.eligible)?;
    Ok(Tally::from_counts(
        &topic.ballot,
        overall,
        by_grid,
        store_eligible,
    ))
}
