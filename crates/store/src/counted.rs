//! Which vote counts for each household on each topic, and how `current_votes` keeps up.
//!
//! `votes` is the history, appended in rowid order; `current_votes` names each household's
//! counted vote; `tallies` counts them. The return channel's writer used to update
//! `current_votes` with every vote, and because boxes arrive in random household order every
//! vote dirtied its own B-tree page: a group commit of 16 votes wrote about 16 pages to the WAL,
//! most of the commit's cost. Now the writer keeps the counted votes of the topics it serves in
//! memory ([`Counted`] in `IngestMemory`), writes only `votes`, `rc_receipts` and `tallies`
//! with each group (a few pages at the ends of their B-trees), and *settles* `current_votes`
//! about once a second, in key order, so that each page is written once per settle rather than
//! once per group.
//!
//! The invariant that makes this safe: **`current_votes` reflects every vote with an id up to
//! the watermark** (`current_votes_watermark`), and the counted vote of a household is what
//! `current_votes` says, overridden by the later of the household's votes after the watermark,
//! in id order. Anyone can bring `current_votes` up to date from the history alone
//! ([`settle_from_history`]); the writer does it at start, and [`crate::Store::cast_vote`]
//! does it before it reads `current_votes`. Tallies are never touched by settling: they were
//! counted when each vote was stored.

use crate::StoreError;
use consult::time::Timestamp;
use foldhash::{HashMap, HashMapExt};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// A household's counted vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Counted {
    pub vote_id: i64,
    pub option: String,
    pub sent_at: i64,
    /// The box's card and seq, for votes from the return channel.
    pub card: Option<String>,
    pub seq: Option<i64>,
    pub grid: i64,
}

impl Counted {
    /// Whether `self` is the household's later vote than `old`: for one box the higher seq
    /// (whatever its clock said); across boxes, or without seqs, the later `sent_at`, then the
    /// later arrival.
    pub fn supersedes(&self, old: &Counted) -> bool {
        match (&self.card, self.seq, &old.card, old.seq) {
            (Some(card), Some(seq), Some(old_card), Some(old_seq)) if card == old_card => {
                seq_from_sql(seq) > seq_from_sql(old_seq)
            }
            _ => consult::vote::supersedes(
                (Timestamp(self.sent_at), self.vote_id),
                (Timestamp(old.sent_at), old.vote_id),
            ),
        }
    }
}

/// u64 seqs are stored as the i64 with the same bits (SQLite integers are signed).
pub(crate) fn seq_from_sql(seq: i64) -> u64 {
    u64::from_ne_bytes(seq.to_ne_bytes())
}

/// The votes up to this id are all reflected in `current_votes`.
pub(crate) fn watermark(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT vote_id FROM current_votes_watermark WHERE only = 1")?
        .query_row([], |r| r.get(0))?)
}

pub(crate) fn set_watermark(conn: &Connection, vote_id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE current_votes_watermark SET vote_id = ?1 WHERE only = 1")?
        .execute([vote_id])?;
    Ok(())
}

/// The newest vote's id (0 without votes).
pub(crate) fn newest_vote(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM votes")?
        .query_row([], |r| r.get(0))?)
}

/// Reads a [`Counted`] from the row's columns `first..first + 6`, which a query selects as
/// `vote_id, option, sent_at, card_id, seq, grid_id` (from `current_votes`, or the same from
/// `votes` joined with the household's grid).
fn counted_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Counted> {
    Ok(Counted {
        vote_id: r.get(first)?,
        option: r.get(first + 1)?,
        sent_at: r.get(first + 2)?,
        card: r.get(first + 3)?,
        seq: r.get(first + 4)?,
        grid: r.get(first + 5)?,
    })
}

/// One household's row in `current_votes`.
pub(crate) fn read_current(
    conn: &Connection,
    topic: i64,
    household: i64,
) -> Result<Option<Counted>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT vote_id, option, sent_at, card_id, seq, grid_id FROM current_votes
             WHERE topic_id = ?1 AND household_id = ?2",
        )?
        .query_row(params![topic, household], |r| counted_at(r, 0))
        .optional()?)
}

/// Every household's counted vote on `topic`: its row in `current_votes`, overridden by its
/// later votes after the watermark.
pub(crate) fn read_counted_of_topic(
    conn: &Connection,
    topic: i64,
) -> Result<HashMap<i64, Counted>, StoreError> {
    let mut households = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT household_id, vote_id, option, sent_at, card_id, seq, grid_id
             FROM current_votes WHERE topic_id = ?1",
        )?;
        let rows = stmt.query_map([topic], |r| Ok((r.get::<_, i64>(0)?, counted_at(r, 1)?)))?;
        for row in rows {
            let (household, counted) = row?;
            households.insert(household, counted);
        }
    }
    for (_, household, vote) in votes_after_watermark(conn, Some(topic))? {
        if households
            .get(&household)
            .is_none_or(|old| vote.supersedes(old))
        {
            households.insert(household, vote);
        }
    }
    Ok(households)
}

/// Writes counted votes into `current_votes`, in key order.
pub(crate) fn write_current<'a>(
    conn: &Connection,
    rows: impl IntoIterator<Item = ((i64, i64), &'a Counted)>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO current_votes (topic_id, household_id, grid_id, vote_id, option, sent_at, card_id, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (topic_id, household_id) DO UPDATE SET grid_id = excluded.grid_id,
           vote_id = excluded.vote_id, option = excluded.option, sent_at = excluded.sent_at,
           card_id = excluded.card_id, seq = excluded.seq",
    )?;
    let mut written = 0;
    for ((topic, household), c) in rows {
        stmt.execute(params![
            topic, household, c.grid, c.vote_id, c.option, c.sent_at, c.card, c.seq
        ])?;
        written += 1;
    }
    Ok(written)
}

/// The votes after the watermark, in id order, each as (topic, household, its `Counted`);
/// `topic`: only that topic's.
pub(crate) fn votes_after_watermark(
    conn: &Connection,
    topic: Option<i64>,
) -> Result<Vec<(i64, i64, Counted)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.topic_id, v.household_id, v.id, v.option, v.sent_at, v.card_id, v.seq, h.grid_id
         FROM votes v JOIN households h ON h.id = v.household_id
         WHERE v.id > (SELECT vote_id FROM current_votes_watermark WHERE only = 1)
           AND (?1 IS NULL OR v.topic_id = ?1)
         ORDER BY v.id",
    )?;
    let rows = stmt.query_map([topic], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, counted_at(r, 2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Brings `current_votes` up to the newest vote from the history alone, in the caller's
/// transaction: every vote after the watermark is applied in id order, the rows that changed
/// are written in key order, and the watermark moves to the newest vote. Returns the rows
/// written.
pub(crate) fn settle_from_history(conn: &Connection) -> Result<usize, StoreError> {
    let newest = newest_vote(conn)?;
    if watermark(conn)? >= newest {
        return Ok(0);
    }
    let mut changed: BTreeMap<(i64, i64), Counted> = BTreeMap::new();
    let mut known: HashMap<(i64, i64), Option<Counted>> = HashMap::new();
    for (topic, household, vote) in votes_after_watermark(conn, None)? {
        let key = (topic, household);
        let current = match changed.get(&key) {
            Some(c) => Some(c.clone()),
            None => match known.get(&key) {
                Some(c) => c.clone(),
                None => {
                    let c = read_current(conn, topic, household)?;
                    known.insert(key, c.clone());
                    c
                }
            },
        };
        if current.as_ref().is_none_or(|old| vote.supersedes(old)) {
            changed.insert(key, vote);
        }
    }
    let written = write_current(conn, changed.iter().map(|(k, c)| (*k, c)))?;
    set_watermark(conn, newest)?;
    Ok(written)
}

/// Writes the writer's counted votes that changed since the last settle and moves the
/// watermark to `newest`, the newest vote the writer stored; the caller has checked that no
/// vote after it exists and that the writer saw every vote since the watermark.
pub(crate) fn settle_from_memory<'a>(
    conn: &Connection,
    rows: impl IntoIterator<Item = ((i64, i64), &'a Counted)>,
    newest: i64,
) -> Result<usize, StoreError> {
    let written = write_current(conn, rows)?;
    set_watermark(conn, newest)?;
    Ok(written)
}
