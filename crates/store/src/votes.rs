//! Votes: every accepted vote joins the history; the household's latest one counts, and the
//! per-grid counts move with it, so a tally is read without scanning the votes.

use crate::topics::load_topic;
use crate::{Store, StoreError};
use consult::ids::{CardId, GridId, TopicId};
use consult::time::Timestamp;
use consult::vote::{self, Tally};
use rusqlite::{Connection, params};
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
    let key = (input.topic.0, place.household.0);
    let vote = crate::counted::Counted {
        vote_id,
        option: input.option.clone(),
        sent_at: input.sent_at.0,
        card: Some(input.card.as_str().to_owned()),
        seq: None,
        grid: place.grid.0,
    };
    let current = crate::counted::read_current(conn, key.0, key.1)?;
    if current.as_ref().is_some_and(|old| !vote.supersedes(old)) {
        return Ok(VoteOutcome::Superseded { vote_id });
    }
    crate::counted::write_current(conn, [(key, &vote)])?;
    if let Some(old) = current {
        move_tally(conn, input.topic.0, place.grid.0, &old.option, -1)?;
    }
    move_tally(conn, input.topic.0, place.grid.0, &input.option, 1)?;
    Ok(VoteOutcome::Counted { vote_id })
}

/// Moves `by` votes into (or, negative, out of) one option's count in one grid. A decrement
/// moves a vote that was counted before, so its row exists and stays non-negative; anything
/// else is a damaged tally. (The CHECK on `count` is evaluated before an upsert's conflict
/// handling, so a decrement is a plain UPDATE of a row that must exist.)
pub(crate) fn move_tally(
    conn: &Connection,
    topic: i64,
    grid: i64,
    option: &str,
    by: i64,
) -> Result<(), StoreError> {
    if by > 0 {
        conn.prepare_cached(
            "INSERT INTO tallies (topic_id, grid_id, option, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (topic_id, grid_id, option) DO UPDATE SET count = count + excluded.count",
        )?
        .execute(params![topic, grid, option, by])?;
    } else if by < 0 {
        let changed = conn
            .prepare_cached(
                "UPDATE tallies SET count = count + ?4
                 WHERE topic_id = ?1 AND grid_id = ?2 AND option = ?3 AND count + ?4 >= 0",
            )?
            .execute(params![topic, grid, option, by])?;
        if changed != 1 {
            return Err(StoreError::corrupt(
                format!("tally of topic {topic}"),
                format!("no count for option {option:?} in grid {grid} to move {by} votes from"),
            ));
        }
    }
    Ok(())
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
