//! The return channel's ingest, store side: many boxes' messages applied in one transaction.
//!
//! The server decodes and verifies; this module finds each message's card, deduplicates it by
//! (card, seq), applies the participation rules, and writes votes (history and tally; the
//! counted vote is kept in memory and settled into `current_votes` later, see
//! [`crate::counted`]), comments (into the moderation queue) and notice receipts.
//! [`Store::ingest`] runs a whole group of messages in one transaction; card places and topics
//! are remembered across groups (a topic is re-read when its record grows) instead of being
//! read again for every vote.
//!
//! Deduplication is answered from [`IngestMemory`], an index kept in memory by the single
//! writer and rebuilt from the append-only `rc_receipts` table at start
//! ([`Store::load_ingest_memory`]): an index on (card_id, seq) in the database would be written
//! in random order, about ten times slower
//! (the figures are in `migrations/0002_return_channel.sql` and docs/return-channel.md §14).
//! [`Store::ingest`] changes the index only after its transaction committed.

use crate::counted::Counted;
use crate::{Store, StoreError};
use consult::ids::{CardId, GridId, TopicId};
use consult::place::HouseholdPlace;
use consult::procedure::Stage;
use consult::time::Timestamp;
use consult::topic::Topic;
use rusqlite::{CachedStatement, Connection, OptionalExtension, params};
// foldhash rather than std's SipHash for the writer's maps: every message is looked up and
// inserted by card and by (card, seq) several times. In a one-thread loop of `Store::ingest`
// with synchronous=OFF (so that only the CPU counted), a group of 15 votes took 5-8% less time
// in three paired runs. Its hasher is still seeded at random, for each map.
use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A message as the server decoded it; the store knows no wire format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestMessage {
    pub card: CardId,
    pub seq: u64,
    /// When the box signed it (the box's clock).
    pub sent_at: Timestamp,
    pub tag: [u8; 32],
    /// Whether the tag verified under the card's key. A message that did not verify is refused
    /// (`BadTag`, or `UnknownCard` first) and never takes up its (card, seq).
    pub verified: bool,
    pub body: IngestBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestBody {
    Vote { topic: TopicId, option: String },
    Comment { topic: TopicId, text: String },
    NoticeSeen { notice_id: i64 },
}

impl IngestBody {
    fn kind(&self) -> &'static str {
        match self {
            IngestBody::Vote { .. } => "vote",
            IngestBody::Comment { .. } => "comment",
            IngestBody::NoticeSeen { .. } => "notice_seen",
        }
    }
}

/// Why the store refused a message. The names are the return channel's reason codes
/// ([`IngestRefusal::code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IngestRefusal {
    UnknownCard,
    BadTag,
    ReplayedSeq,
    SentInFuture,
    UnknownTopic,
    NotEligible,
    TopicNotOpen,
    TopicClosed,
    PastGracePeriod,
    UnknownOption,
    UnknownNotice,
}

impl IngestRefusal {
    const ALL: [IngestRefusal; 11] = [
        IngestRefusal::UnknownCard,
        IngestRefusal::BadTag,
        IngestRefusal::ReplayedSeq,
        IngestRefusal::SentInFuture,
        IngestRefusal::UnknownTopic,
        IngestRefusal::NotEligible,
        IngestRefusal::TopicNotOpen,
        IngestRefusal::TopicClosed,
        IngestRefusal::PastGracePeriod,
        IngestRefusal::UnknownOption,
        IngestRefusal::UnknownNotice,
    ];

    /// The stable reason code (the same strings as `returnpath::ReasonCode`).
    pub fn code(self) -> &'static str {
        match self {
            IngestRefusal::UnknownCard => "unknown_card",
            IngestRefusal::BadTag => "bad_tag",
            IngestRefusal::ReplayedSeq => "replayed_seq",
            IngestRefusal::SentInFuture => "sent_in_future",
            IngestRefusal::UnknownTopic => "unknown_topic",
            IngestRefusal::NotEligible => "not_eligible",
            IngestRefusal::TopicNotOpen => "topic_not_open",
            IngestRefusal::TopicClosed => "topic_closed",
            IngestRefusal::PastGracePeriod => "past_grace_period",
            IngestRefusal::UnknownOption => "unknown_option",
            IngestRefusal::UnknownNotice => "unknown_notice",
        }
    }

    fn from_code(code: &str) -> Option<IngestRefusal> {
        IngestRefusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IngestOutcome {
    /// Stored by this call (after its commit).
    Stored,
    /// The same message (same card, seq and tag) was stored before.
    Duplicate,
    /// Refused. A resent copy of a verified message refused earlier gets the same refusal.
    Refused(IngestRefusal),
}

/// The rules' parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestConfig {
    /// How long after the close a message signed before it is still taken.
    pub grace_secs: i64,
    /// How far ahead of the headend's clock a `sent_at` may be.
    pub future_tolerance_secs: i64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            grace_secs: consult::vote::GRACE_PERIOD_SECONDS,
            future_tolerance_secs: 300,
        }
    }
}

/// What the headend remembers of a message that took up its (card, seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Receipt {
    /// The first 8 bytes of the tag. Two different verified messages share them with
    /// probability 2^-64, so comparing them tells a resent copy from a reused seq.
    tag_prefix: u64,
    /// `None`: stored. `Some`: refused for this reason.
    refusal: Option<IngestRefusal>,
}

/// The single writer's memory. First the deduplication index: every (card, seq) taken, with
/// its tag prefix and answer, about 40 bytes a message, rebuilt from `rc_receipts` by
/// [`Store::load_ingest_memory`]. Then what saves the writer a query per message: the places of
/// the cards it has seen, the topics it serves (checked against their record length once a group),
/// and the counted vote of every household on those topics ([`crate::counted`]).
#[derive(Debug, Default)]
pub struct IngestMemory {
    taken: TakenIndex,
    /// Cards found (a card, once issued, never moves; unknown cards are asked again).
    places: ByCard<u64, HouseholdPlace>,
    /// Topics with the record length they were read at.
    topics: HashMap<i64, (Arc<Topic>, u64)>,
    /// Per topic, per household: the counted vote. A topic is loaded whole on its first vote.
    counted: HashMap<i64, HashMap<i64, Counted>>,
    /// Counted votes changed since the last settle, to write into `current_votes`.
    unsettled: BTreeMap<(i64, i64), Counted>,
    /// The newest vote id when `counted` was last known complete; another writer's vote makes
    /// the table's newest differ, and then `counted` is forgotten and read again.
    newest_vote: i64,
}

/// A map keyed by card (and, for receipts, seq), in shards by card.
///
/// Why shards: a hash map that outgrows its table moves every entry to a new one at once, and the
/// writer, with every box waiting for it, stops meanwhile. Measured on the 2-core machines, one
/// map of receipts took 73 ms to grow past 1,835,008 entries and 144 ms past 3.7 million; the
/// p99 goal is 50 ms. In 256 shards each growth moves a 256th of the entries, well under a
/// millisecond. The places cache (up to a million cards) is split the same way.
#[derive(Debug)]
struct ByCard<K, V> {
    shards: Vec<HashMap<K, V>>,
}

const CARD_SHARDS: usize = 256;

impl<K, V> Default for ByCard<K, V> {
    fn default() -> Self {
        ByCard {
            shards: (0..CARD_SHARDS).map(|_| HashMap::new()).collect(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> ByCard<K, V> {
    fn shard(card: u64) -> usize {
        // Card numbers are dense and often consecutive: spread them with a multiplicative hash
        // (Knuth's constant) and take the top eight bits.
        (card.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % CARD_SHARDS
    }

    fn get(&self, card: u64, key: &K) -> Option<&V> {
        self.shards.get(Self::shard(card))?.get(key)
    }

    fn insert(&mut self, card: u64, key: K, value: V) {
        if let Some(shard) = self.shards.get_mut(Self::shard(card)) {
            shard.insert(key, value);
        }
    }

    fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    fn clear(&mut self) {
        self.shards.iter_mut().for_each(HashMap::clear);
    }
}

/// Receipts by (card, seq).
type TakenIndex = ByCard<(u64, u64), Receipt>;

/// Above this many cards, the places cache is emptied and starts again (a bound on memory for
/// a city of millions of boxes; refilling costs one query a card).
const MAX_CACHED_PLACES: usize = 1_000_000;

impl IngestMemory {
    /// A topic as the writer last read it (every topic it stored a vote for is here).
    pub fn topic(&self, id: TopicId) -> Option<&Topic> {
        self.topics.get(&id.0).map(|(topic, _)| topic.as_ref())
    }

    pub fn len(&self) -> usize {
        self.taken.len()
    }

    pub fn is_empty(&self) -> bool {
        self.taken.len() == 0
    }
}

fn card_number(card: &CardId) -> u64 {
    // A card id is exactly 16 ASCII digits (checked by `CardId::parse`), so it fits in a u64.
    card.as_str().bytes().fold(0u64, |n, b| {
        n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
    })
}

fn tag_prefix(tag: &[u8]) -> u64 {
    let mut prefix = [0u8; 8];
    for (to, from) in prefix.iter_mut().zip(tag) {
        *to = *from;
    }
    u64::from_be_bytes(prefix)
}

/// u64 seqs are stored as the i64 with the same bits (SQLite integers are signed).
fn seq_to_sql(seq: u64) -> i64 {
    i64::from_ne_bytes(seq.to_ne_bytes())
}

fn seq_from_sql(seq: i64) -> u64 {
    u64::from_ne_bytes(seq.to_ne_bytes())
}

impl Store {
    /// Reads every receipt into the deduplication index (the writer does this once, at start).
    pub fn load_ingest_memory(&mut self) -> Result<IngestMemory, StoreError> {
        // Settle what a writer that stopped without settling (a crash) left to the history.
        let tx = self.conn.transaction()?;
        let settled = crate::counted::settle_from_history(&tx)?;
        tx.commit()?;
        if settled > 0 {
            tracing::info!(rows = settled, "current votes settled from the history");
        }
        let mut memory = IngestMemory {
            newest_vote: crate::counted::newest_vote(&self.conn)?,
            ..IngestMemory::default()
        };
        let mut stmt = self
            .conn
            .prepare("SELECT card_id, seq, tag, status FROM rc_receipts ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let card: String = row.get(0)?;
            let card = CardId::parse(&card).map_err(|e| StoreError::corrupt("rc_receipts", e))?;
            let seq = seq_from_sql(row.get(1)?);
            let tag: Vec<u8> = row.get(2)?;
            let status: String = row.get(3)?;
            let refusal = if status == "stored" {
                None
            } else {
                Some(IngestRefusal::from_code(&status).ok_or_else(|| {
                    StoreError::corrupt("rc_receipts", format!("unknown status {status:?}"))
                })?)
            };
            let number = card_number(&card);
            memory.taken.insert(
                number,
                (number, seq),
                Receipt {
                    tag_prefix: tag_prefix(&tag),
                    refusal,
                },
            );
        }
        Ok(memory)
    }

    /// Applies a group of messages in one transaction and answers each, in order. The index is
    /// updated only once the transaction committed; on `Err` nothing was stored and the index is
    /// unchanged, so the caller answers "overloaded" and the boxes resend.
    pub fn ingest(
        &mut self,
        memory: &mut IngestMemory,
        messages: &[IngestMessage],
        received_at: Timestamp,
        config: &IngestConfig,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let tx = self.conn.transaction()?;
        // Only this writer adds votes while it runs; if someone else did (a fixture loaded into
        // a running headend), what it remembers of counted votes is forgotten and read again.
        let newest = crate::counted::newest_vote(&tx)?;
        if newest != memory.newest_vote {
            crate::counted::settle_from_history(&tx)?;
            memory.counted.clear();
            memory.unsettled.clear();
            memory.newest_vote = newest;
        }
        let mut group = Group {
            conn: &tx,
            taken: &memory.taken,
            places: &mut memory.places,
            topics: &mut memory.topics,
            counted: &mut memory.counted,
            checked_topics: HashMap::new(),
            added: HashMap::new(),
            unknown_cards: HashMap::new(),
            counting: HashMap::new(),
            newest_vote: None,
            tally: HashMap::new(),
            insert_receipt: tx.prepare_cached(INSERT_RECEIPT)?,
            insert_vote: tx.prepare_cached(INSERT_VOTE)?,
            received_at,
            config,
        };
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            outcomes.push(group.apply(message)?);
        }
        group.flush_tally()?;
        let added = std::mem::take(&mut group.added);
        let counting = std::mem::take(&mut group.counting);
        let newest_vote = group.newest_vote;
        drop(group);
        tx.commit()?;
        for (key, receipt) in added {
            memory.taken.insert(key.0, key, receipt);
        }
        for ((topic, household), vote) in counting {
            if let Some(households) = memory.counted.get_mut(&topic) {
                households.insert(household, vote.clone());
            }
            memory.unsettled.insert((topic, household), vote);
        }
        if let Some(newest) = newest_vote {
            memory.newest_vote = newest;
        }
        Ok(outcomes)
    }

    /// Writes the counted votes the writer changed since the last settle into `current_votes`,
    /// in key order, in one transaction (see [`crate::counted`]). The writer calls it about once
    /// a second and when it stops. Returns the rows written.
    pub fn settle_current_votes(&mut self, memory: &mut IngestMemory) -> Result<usize, StoreError> {
        if memory.unsettled.is_empty() {
            return Ok(0);
        }
        let tx = self.conn.transaction()?;
        let newest = crate::counted::newest_vote(&tx)?;
        let written = if newest == memory.newest_vote {
            crate::counted::settle_from_memory(
                &tx,
                memory.unsettled.iter().map(|(k, c)| (*k, c)),
                newest,
            )?
        } else {
            // Another writer added votes: the history is the only complete account.
            memory.counted.clear();
            memory.newest_vote = newest;
            crate::counted::settle_from_history(&tx)?
        };
        tx.commit()?;
        memory.unsettled.clear();
        Ok(written)
    }
}

/// One group commit's working state. What it reads from the database (places, topics, counted
/// votes as committed) goes straight into the writer's memory; what it changes (receipts,
/// counted votes) waits in `added` and `counting` until the commit.
struct Group<'a> {
    conn: &'a Connection,
    taken: &'a TakenIndex,
    places: &'a mut ByCard<u64, HouseholdPlace>,
    topics: &'a mut HashMap<i64, (Arc<Topic>, u64)>,
    counted: &'a mut HashMap<i64, HashMap<i64, Counted>>,
    /// Topics whose record length this group checked: `None` for no such topic.
    checked_topics: HashMap<i64, Option<Arc<Topic>>>,
    /// IngestMemory taken in this group, merged into the index after the commit.
    added: HashMap<(u64, u64), Receipt>,
    /// Cards this group looked up and did not find.
    unknown_cards: HashMap<u64, ()>,
    /// Counted votes this group changed, merged after the commit.
    counting: HashMap<(i64, i64), Counted>,
    /// The id of the newest vote this group stored.
    newest_vote: Option<i64>,
    /// Tally changes, applied once at the end of the group.
    tally: HashMap<(i64, i64, String), i64>,
    /// The two statements run for every vote, taken from the connection's cache once a group
    /// rather than once a message: each lookup hashes the statement's text and reorders the
    /// cache, a few percent of the writer's CPU in a profile at 64 boxes.
    insert_receipt: CachedStatement<'a>,
    insert_vote: CachedStatement<'a>,
    received_at: Timestamp,
    config: &'a IngestConfig,
}

impl Group<'_> {
    fn apply(&mut self, message: &IngestMessage) -> Result<IngestOutcome, StoreError> {
        let card = card_number(&message.card);
        let Some(place) = self.place(card, &message.card)? else {
            return Ok(IngestOutcome::Refused(IngestRefusal::UnknownCard));
        };
        if !message.verified {
            return Ok(IngestOutcome::Refused(IngestRefusal::BadTag));
        }
        let key = (card, message.seq);
        let prefix = tag_prefix(&message.tag);
        if let Some(seen) = self.added.get(&key).or_else(|| self.taken.get(card, &key)) {
            return Ok(if seen.tag_prefix != prefix {
                IngestOutcome::Refused(IngestRefusal::ReplayedSeq)
            } else {
                match seen.refusal {
                    None => IngestOutcome::Duplicate,
                    Some(why) => IngestOutcome::Refused(why),
                }
            });
        }
        let refusal = match self.check(message, &place)? {
            Err(why) => Some(why),
            Ok(()) => {
                self.write(message, &place)?;
                None
            }
        };
        let status = refusal.map_or("stored", IngestRefusal::code);
        self.insert_receipt.execute(params![
            message.card.as_str(),
            seq_to_sql(message.seq),
            &message.tag[..],
            message.body.kind(),
            status,
            message.sent_at.0,
            self.received_at.0
        ])?;
        self.added.insert(
            key,
            Receipt {
                tag_prefix: prefix,
                refusal,
            },
        );
        Ok(match refusal {
            None => IngestOutcome::Stored,
            Some(why) => IngestOutcome::Refused(why),
        })
    }

    fn place(&mut self, number: u64, card: &CardId) -> Result<Option<HouseholdPlace>, StoreError> {
        if let Some(place) = self.places.get(number, &number) {
            return Ok(Some(*place));
        }
        if self.unknown_cards.contains_key(&number) {
            return Ok(None);
        }
        let place = crate::places::place_of_card_in(self.conn, card)?;
        match place {
            Some(place) => {
                if self.places.len() >= MAX_CACHED_PLACES {
                    self.places.clear();
                }
                self.places.insert(number, number, place);
            }
            None => {
                self.unknown_cards.insert(number, ());
            }
        }
        Ok(place)
    }

    /// The topic as committed, read again only when its record grew (a step, a finding...).
    fn topic(&mut self, id: TopicId) -> Result<Option<Arc<Topic>>, StoreError> {
        if let Some(topic) = self.checked_topics.get(&id.0) {
            return Ok(topic.clone());
        }
        let length: Option<i64> = self
            .conn
            .prepare_cached("SELECT record_seq FROM topics WHERE id = ?1")?
            .query_row([id.0], |r| r.get(0))
            .optional()?;
        let topic = match length {
            None => {
                self.topics.remove(&id.0);
                None
            }
            Some(length) => {
                let length = u64::try_from(length).unwrap_or(0);
                match self.topics.get(&id.0) {
                    Some((topic, seen)) if *seen == length => Some(topic.clone()),
                    _ => {
                        let (topic, length, _) = crate::topics::load_topic(self.conn, id)?;
                        let topic = Arc::new(topic);
                        self.topics.insert(id.0, (topic.clone(), length));
                        Some(topic)
                    }
                }
            }
        };
        self.checked_topics.insert(id.0, topic.clone());
        Ok(topic)
    }

    /// The counted votes of a topic as committed: `current_votes` overridden by the votes after
    /// its watermark. Read once, then kept up to date by the writer.
    fn load_counted(&mut self, topic: TopicId) -> Result<(), StoreError> {
        if self.counted.contains_key(&topic.0) {
            return Ok(());
        }
        let households = crate::counted::read_counted_of_topic(self.conn, topic.0)?;
        self.counted.insert(topic.0, households);
        Ok(())
    }

    /// The rules of docs/return-channel.md §12 step 4 and §9, in that order.
    fn check(
        &mut self,
        message: &IngestMessage,
        place: &HouseholdPlace,
    ) -> Result<Result<(), IngestRefusal>, StoreError> {
        let received_at = self.received_at;
        if message.sent_at.0
            > received_at
                .0
                .saturating_add(self.config.future_tolerance_secs)
        {
            return Ok(Err(IngestRefusal::SentInFuture));
        }
        let (topic_id, option) = match &message.body {
            IngestBody::Vote { topic, option } => (*topic, Some(option.as_str())),
            IngestBody::Comment { topic, .. } => (*topic, None),
            IngestBody::NoticeSeen { notice_id } => {
                // A box can only have shown a notice sent to its own grid.
                use rusqlite::OptionalExtension;
                let sent_to_grid = self
                    .conn
                    .prepare_cached(
                        "SELECT 1 FROM notice_grids WHERE notice_id = ?1 AND grid_id = ?2",
                    )?
                    .query_row([*notice_id, place.grid.0], |_| Ok(()))
                    .optional()?
                    .is_some();
                return Ok(if sent_to_grid {
                    Ok(())
                } else {
                    Err(IngestRefusal::UnknownNotice)
                });
            }
        };
        let grace = self.config.grace_secs;
        let Some(topic) = self.topic(topic_id)? else {
            return Ok(Err(IngestRefusal::UnknownTopic));
        };
        if !topic.eligible.contains(place) {
            return Ok(Err(IngestRefusal::NotEligible));
        }
        if topic.stage != Stage::Consultation {
            let before = matches!(
                topic.stage,
                Stage::Proposed
                    | Stage::Confirmed
                    | Stage::Research
                    | Stage::Returned
                    | Stage::Rejected
                    | Stage::Withdrawn
            );
            return Ok(Err(if before {
                IngestRefusal::TopicNotOpen
            } else {
                IngestRefusal::TopicClosed
            }));
        }
        let Some(window) = topic.voting else {
            return Ok(Err(IngestRefusal::TopicNotOpen));
        };
        if received_at < window.opens_at {
            return Ok(Err(IngestRefusal::TopicNotOpen));
        }
        // The closing rule of §9 (the same as `returnpath::check_close`).
        let closes = window.closes_at.0;
        if received_at.0 >= closes {
            if message.sent_at.0 >= closes {
                return Ok(Err(IngestRefusal::TopicClosed));
            }
            if received_at.0 > closes.saturating_add(grace) {
                return Ok(Err(IngestRefusal::PastGracePeriod));
            }
        }
        if let Some(option) = option
            && topic.ballot.position(option).is_none()
        {
            return Ok(Err(IngestRefusal::UnknownOption));
        }
        Ok(Ok(()))
    }

    fn write(&mut self, message: &IngestMessage, place: &HouseholdPlace) -> Result<(), StoreError> {
        let conn = self.conn;
        let seq = seq_to_sql(message.seq);
        match &message.body {
            IngestBody::Vote { topic, option } => {
                // Before the insert: what is loaded must be the committed state.
                self.load_counted(*topic)?;
                self.insert_vote.execute(params![
                    topic.0,
                    place.household.0,
                    message.card.as_str(),
                    option,
                    message.sent_at.0,
                    self.received_at.0,
                    seq
                ])?;
                let vote_id = conn.last_insert_rowid();
                self.newest_vote = Some(vote_id);
                self.count(message, *topic, place, option, vote_id);
            }
            IngestBody::Comment { topic, text } => {
                conn.prepare_cached(
                    "INSERT INTO comments (topic_id, household_id, card_id, text, sent_at, received_at, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    topic.0,
                    place.household.0,
                    message.card.as_str(),
                    text,
                    message.sent_at.0,
                    self.received_at.0,
                    seq
                ])?;
            }
            IngestBody::NoticeSeen { notice_id } => {
                conn.prepare_cached(
                    "INSERT INTO rc_notice_seen (card_id, notice_id, seen_at, received_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    message.card.as_str(),
                    notice_id,
                    message.sent_at.0,
                    self.received_at.0
                ])?;
            }
        }
        Ok(())
    }

    /// Makes the vote the household's counted one if it is its latest ([`Counted::supersedes`]),
    /// moving the household's count in the tally.
    fn count(
        &mut self,
        message: &IngestMessage,
        topic: TopicId,
        place: &HouseholdPlace,
        option: &str,
        vote_id: i64,
    ) {
        let key = (topic.0, place.household.0);
        let vote = Counted {
            vote_id,
            option: option.to_owned(),
            sent_at: message.sent_at.0,
            card: Some(message.card.as_str().to_owned()),
            seq: Some(seq_to_sql(message.seq)),
            grid: place.grid.0,
        };
        let current = self.counting.get(&key).or_else(|| {
            self.counted
                .get(&topic.0)
                .and_then(|households| households.get(&place.household.0))
        });
        let grid = place.grid;
        match current {
            None => {
                self.bump(topic, grid, option, 1);
                self.counting.insert(key, vote);
            }
            Some(old) if vote.supersedes(old) => {
                let old_option = old.option.clone();
                self.bump(topic, grid, &old_option, -1);
                self.bump(topic, grid, option, 1);
                self.counting.insert(key, vote);
            }
            Some(_) => {}
        }
    }

    fn bump(&mut self, topic: TopicId, grid: GridId, option: &str, by: i64) {
        *self
            .tally
            .entry((topic.0, grid.0, option.to_owned()))
            .or_insert(0) += by;
    }

    /// Applies the group's tally changes: one statement per (topic, grid, option) touched.
    fn flush_tally(&mut self) -> Result<(), StoreError> {
        for ((topic, grid, option), by) in self.tally.drain() {
            crate::votes::move_tally(self.conn, topic, grid, &option, by)?;
        }
        Ok(())
    }
}

/// The receipt every message that took up its (card, seq) leaves, and the vote in the history.
/// Their tables' constraints must not cost a B-tree per row (see migration 0006 and the test
/// below).
const INSERT_RECEIPT: &str =
    "INSERT INTO rc_receipts (card_id, seq, tag, kind, status, sent_at, received_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const INSERT_VOTE: &str =
    "INSERT INTO votes (topic_id, household_id, card_id, option, sent_at, received_at, seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// A household a simulation may vote for: one of its cards and its grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoterCard {
    pub household: consult::ids::HouseholdId,
    pub grid: GridId,
    pub card: CardId,
}

impl Store {
    /// Up to `limit` households of the topic's eligible area that have no counted vote on it
    /// yet, each with its first card that never sent anything over the return channel (a
    /// simulated box starts at seq 1), in household order. `shangyi simulate` plays these boxes.
    pub fn voter_cards(&self, topic: TopicId, limit: usize) -> Result<Vec<VoterCard>, StoreError> {
        use consult::vote::EligibleArea;
        let (topic, _, _) = crate::topics::load_topic(&self.conn, topic)?;
        let list = |ids: &mut dyn Iterator<Item = i64>| {
            ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        };
        // The ids are integers from the topic's own record, formatted here, never text.
        let area = match &topic.eligible {
            EligibleArea::Community { community } => format!("g.community_id = {}", community.0),
            EligibleArea::Grids { grids, .. } => {
                format!("h.grid_id IN ({})", list(&mut grids.iter().map(|g| g.0)))
            }
            EligibleArea::Communities { communities, .. } => format!(
                "g.community_id IN ({})",
                list(&mut communities.iter().map(|c| c.0))
            ),
        };
        let mut used = std::collections::HashSet::new();
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT card_id FROM rc_receipts")?;
        for card in stmt.query_map([], |r| r.get::<_, String>(0))? {
            used.insert(card?);
        }
        let sql = format!(
            "SELECT h.id, h.grid_id, s.card_id FROM households h
             JOIN grids g ON g.id = h.grid_id
             JOIN set_top_boxes s ON s.household_id = h.id
             WHERE {area} AND NOT EXISTS (
                 SELECT 1 FROM current_votes v WHERE v.topic_id = ?1 AND v.household_id = h.id)
             ORDER BY h.id, s.card_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![topic.id.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut cards = Vec::new();
        for row in rows {
            let (household, grid, card) = row?;
            if cards.len() == limit {
                break;
            }
            if used.contains(&card)
                || cards
                    .last()
                    .is_some_and(|c: &VoterCard| c.household.0 == household)
            {
                continue;
            }
            cards.push(VoterCard {
                household: consult::ids::HouseholdId(household),
                grid: GridId(grid),
                card: CardId::parse(&card).map_err(|e| StoreError::corrupt("set_top_boxes", e))?,
            });
        }
        Ok(cards)
    }
}

impl Store {
    /// Sets how many WAL pages trigger an automatic checkpoint on this connection (0: never).
    /// The ingest writer turns it off and leaves checkpoints to [`Store::checkpoint`] on another
    /// connection, so that no box's acknowledgement waits for one.
    pub fn set_wal_autocheckpoint(&self, pages: u32) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", pages)?;
        Ok(())
    }

    /// Copies committed WAL pages into the database without waiting for readers or the writer
    /// (a PASSIVE checkpoint). Returns (pages in the WAL, pages checkpointed).
    pub fn checkpoint(&self) -> Result<(i64, i64), StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_message_inserts_open_no_table_of_their_own() {
        // An `IN (...)` in a CHECK constraint compiles to an ephemeral B-tree opened for every
        // row; on the writer's path that was about a tenth of its CPU.
        let store = Store::open_in_memory().unwrap();
        for sql in [INSERT_RECEIPT, INSERT_VOTE] {
            let mut explain = store.conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
            let unbound = std::iter::repeat_n(rusqlite::types::Null, explain.parameter_count());
            let opcodes: Vec<String> = explain
                .query_map(rusqlite::params_from_iter(unbound), |row| row.get(1))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                opcodes.iter().any(|op| op == "Insert"),
                "{sql}: {opcodes:?}"
            );
            assert!(
                !opcodes.iter().any(|op| op == "OpenEphemeral"),
                "{sql}: {opcodes:?}"
            );
        }
    }

    #[test]
    fn consecutive_cards_spread_over_the_shards_and_are_found_again() {
        let first = 8_600_000_000_000_001;
        let mut map: ByCard<(u64, u64), u64> = ByCard::default();
        for card in first..first + 25_600 {
            map.insert(card, (card, 1), card);
        }
        assert_eq!(map.len(), 25_600);
        for card in first..first + 25_600 {
            assert_eq!(map.get(card, &(card, 1)), Some(&card));
            assert_eq!(map.get(card, &(card, 2)), None);
        }
        // A hundred each on average: no shard may be empty or hold several times its share,
        // or the growth this exists to bound comes back.
        let sizes: Vec<usize> = map.shards.iter().map(HashMap::len).collect();
        assert!(sizes.iter().all(|n| (25..=400).contains(n)), "{sizes:?}");
        map.clear();
        assert_eq!(map.len(), 0);
    }
}
