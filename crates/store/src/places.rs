//! Places, households, set-top boxes and rooms: loading a city in bulk, and the look-ups the
//! rest of shangyi needs.

use crate::{Store, StoreError};
use consult::ids::{CardId, CommunityId, GridId, HouseholdId, RoomId, TownId};
use consult::place::{Community, District, Grid, Household, HouseholdPlace, SetTopBox, Town};
use consult::room::{Room, RoomLevel};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

/// Writes a whole city in one transaction. Rows must come parents first (district, then its
/// towns, ...), as the generator emits them; foreign keys refuse anything else.
pub struct CityLoader<'a> {
    tx: Transaction<'a>,
}

impl Store {
    /// Starts loading a city into an empty database.
    pub fn load_city(&mut self) -> Result<CityLoader<'_>, StoreError> {
        let districts: i64 = self
            .conn
            .query_row("SELECT count(*) FROM districts", [], |r| r.get(0))?;
        if districts > 0 {
            return Err(StoreError::AlreadyLoaded(districts));
        }
        Ok(CityLoader {
            tx: self.conn.transaction()?,
        })
    }

    /// For bulk loads only: stop waiting for the disk at each commit. A crash during a load
    /// loses the load, which is simply run again; [`Store::set_durable`] restores the default.
    pub fn set_bulk_mode(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "OFF")?;
        Ok(())
    }

    pub fn set_durable(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }
}

impl CityLoader<'_> {
    pub fn district(&mut self, d: &District) -> Result<(), StoreError> {
        consult::place::check_name("district", &d.name)
            .map_err(|e| StoreError::corrupt("district", e))?;
        let kind = match d.kind {
            consult::place::DistrictKind::District => "district",
            consult::place::DistrictKind::CountyCity => "county_city",
        };
        self.tx
            .prepare_cached("INSERT INTO districts (id, name, kind) VALUES (?1, ?2, ?3)")?
            .execute(params![d.id.0, d.name, kind])?;
        Ok(())
    }

    pub fn town(&mut self, t: &Town) -> Result<(), StoreError> {
        consult::place::check_name("town", &t.name).map_err(|e| StoreError::corrupt("town", e))?;
        self.tx
            .prepare_cached(
                "INSERT INTO towns (id, district_id, name, kind) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![t.id.0, t.district.0, t.name, t.kind.as_str()])?;
        Ok(())
    }

    pub fn community(&mut self, c: &Community) -> Result<(), StoreError> {
        consult::place::check_name("community", &c.name)
            .map_err(|e| StoreError::corrupt("community", e))?;
        self.tx
            .prepare_cached(
                "INSERT INTO communities (id, town_id, name, kind) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![c.id.0, c.town.0, c.name, c.kind.as_str()])?;
        Ok(())
    }

    pub fn grid(&mut self, g: &Grid) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO grids (id, community_id, name, worker) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![g.id.0, g.community.0, g.name, g.worker])?;
        Ok(())
    }

    pub fn household(&mut self, h: &Household) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO households (id, grid_id, building, unit, room) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                h.id.0,
                h.grid.0,
                h.address.building,
                h.address.unit,
                h.address.room
            ])?;
        Ok(())
    }

    pub fn set_top_box(&mut self, b: &SetTopBox) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT INTO set_top_boxes (card_id, household_id) VALUES (?1, ?2)")?
            .execute(params![b.card.as_str(), b.household.0])?;
        Ok(())
    }

    pub fn room(&mut self, r: &Room) -> Result<(), StoreError> {
        let (level, town, community) = match r.level {
            RoomLevel::Town(t) => ("town", Some(t.0), None),
            RoomLevel::Community(c) => ("community", None, Some(c.0)),
        };
        self.tx
            .prepare_cached(
                "INSERT INTO rooms (id, level, town_id, community_id, name, convener_name, convener_office)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                r.id.0,
                level,
                town,
                community,
                r.name,
                r.convener.name,
                r.convener.office
            ])?;
        for p in &r.participants {
            self.tx
                .prepare_cached(
                    "INSERT INTO participants (room_id, name, role, affiliation) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![r.id.0, p.name, p.role.as_str(), p.affiliation])?;
        }
        Ok(())
    }

    /// Proposes a topic inside the load, exactly as [`Store::propose_topic`] does.
    pub fn propose_topic(
        &mut self,
        draft: consult::topic::TopicDraft,
        at: consult::time::Timestamp,
        convener: consult::record::Actor,
    ) -> Result<consult::topic::Topic, StoreError> {
        crate::topics::propose_in(&self.tx, draft, at, convener)
    }

    /// As [`Store::take_step`].
    pub fn take_step(
        &mut self,
        id: consult::ids::TopicId,
        step: consult::procedure::Step,
        at: consult::time::Timestamp,
        actor: consult::record::Actor,
        note: &str,
        details: consult::topic::StepDetails,
    ) -> Result<consult::topic::Topic, StoreError> {
        crate::topics::step_in(&self.tx, id, step, at, actor, note, details)
    }

    /// As [`Store::record_fact`].
    pub fn record_fact(
        &mut self,
        id: consult::ids::TopicId,
        at: consult::time::Timestamp,
        actor: consult::record::Actor,
        fact: consult::record::Fact,
    ) -> Result<consult::topic::Topic, StoreError> {
        Store::append_in(&self.tx, id, at, actor, fact)
    }

    /// As [`Store::cast_vote`].
    pub fn cast_vote(
        &mut self,
        input: &crate::VoteInput,
    ) -> Result<crate::VoteOutcome, StoreError> {
        crate::votes::cast_in(&self.tx, input)
    }

    /// As [`Store::submit_comment`] followed, when given, by [`Store::decide_comment`].
    pub fn comment(
        &mut self,
        topic: consult::ids::TopicId,
        card: &CardId,
        text: &str,
        at: consult::time::Timestamp,
        decision: Option<(
            &consult::comment::Decision,
            consult::time::Timestamp,
            consult::record::Actor,
        )>,
    ) -> Result<consult::ids::CommentId, StoreError> {
        let id = crate::comments::submit_in(&self.tx, topic, card, text, at, at)?;
        if let Some((decision, decided_at, moderator)) = decision {
            crate::comments::decide_in(&self.tx, id, decision, decided_at, moderator)?;
        }
        Ok(id)
    }

    /// As [`Store::push_notice`].
    pub fn push_notice(
        &mut self,
        draft: consult::notice::NoticeDraft,
        author: &str,
        worker_grids: &[GridId],
        sent_at: consult::time::Timestamp,
    ) -> Result<consult::notice::Notice, StoreError> {
        crate::notices::push_in(&self.tx, draft, author, worker_grids, sent_at)
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            [key, value],
        )?;
        Ok(())
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}

/// How much of each thing the database holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CityCounts {
    pub districts: i64,
    pub towns: i64,
    pub communities: i64,
    pub grids: i64,
    pub households: i64,
    pub set_top_boxes: i64,
    pub rooms: i64,
    pub town_rooms: i64,
    pub community_rooms: i64,
    pub topics: i64,
    pub record_entries: i64,
    pub votes: i64,
    pub comments: i64,
}

/// A community with where it sits, for listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommunitySummary {
    pub id: CommunityId,
    pub name: String,
    pub town: String,
    pub district: String,
    pub grids: i64,
    pub households: i64,
}

impl Store {
    pub fn counts(&self) -> Result<CityCounts, StoreError> {
        let count = |sql: &str| -> Result<i64, StoreError> {
            Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
        };
        Ok(CityCounts {
            districts: count("SELECT count(*) FROM districts")?,
            towns: count("SELECT count(*) FROM towns")?,
            communities: count("SELECT count(*) FROM communities")?,
            grids: count("SELECT count(*) FROM grids")?,
            households: count("SELECT count(*) FROM households")?,
            set_top_boxes: count("SELECT count(*) FROM set_top_boxes")?,
            rooms: count("SELECT count(*) FROM rooms")?,
            town_rooms: count("SELECT count(*) FROM rooms WHERE level = 'town'")?,
            community_rooms: count("SELECT count(*) FROM rooms WHERE level = 'community'")?,
            topics: count("SELECT count(*) FROM topics")?,
            record_entries: count("SELECT count(*) FROM record_entries")?,
            votes: count("SELECT count(*) FROM votes")?,
            comments: count("SELECT count(*) FROM comments")?,
        })
    }

    /// Where the household owning a card lives; `None` for an unknown card.
    pub fn place_of_card(&self, card: &CardId) -> Result<Option<HouseholdPlace>, StoreError> {
        place_of_card_in(&self.conn, card)
    }

    pub fn community_of_grid(&self, grid: GridId) -> Result<Option<CommunityId>, StoreError> {
        community_of_grid_in(&self.conn, grid)
    }

    pub fn town_of_community(&self, community: CommunityId) -> Result<Option<TownId>, StoreError> {
        town_of_community_in(&self.conn, community)
    }

    pub fn communities_of_town(&self, town: TownId) -> Result<Vec<CommunityId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM communities WHERE town_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([town.0], |r| r.get(0).map(CommunityId))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn grids_of_community(&self, community: CommunityId) -> Result<Vec<Grid>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, community_id, name, worker FROM grids WHERE community_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([community.0], |r| {
            Ok(Grid {
                id: GridId(r.get(0)?),
                community: CommunityId(r.get(1)?),
                name: r.get(2)?,
                worker: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn room_level(&self, room: RoomId) -> Result<RoomLevel, StoreError> {
        room_level_in(&self.conn, room)
    }

    /// The room of a village or community.
    pub fn room_of_community(&self, community: CommunityId) -> Result<RoomId, StoreError> {
        self.conn
            .prepare_cached("SELECT id FROM rooms WHERE community_id = ?1")?
            .query_row([community.0], |r| r.get(0).map(RoomId))
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "room of community",
                id: community.to_string(),
            })
    }

    /// The room's name and its convener's name and office.
    pub fn room_convener(&self, room: RoomId) -> Result<(String, String, String), StoreError> {
        self.conn
            .prepare_cached("SELECT name, convener_name, convener_office FROM rooms WHERE id = ?1")?
            .query_row([room.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "room",
                id: room.to_string(),
            })
    }

    pub fn community(&self, id: CommunityId) -> Result<CommunitySummary, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT c.id, c.name, t.name, d.name,
                        (SELECT count(*) FROM grids g WHERE g.community_id = c.id),
                        (SELECT count(*) FROM households h JOIN grids g ON g.id = h.grid_id
                          WHERE g.community_id = c.id)
                 FROM communities c JOIN towns t ON t.id = c.town_id JOIN districts d ON d.id = t.district_id
                 WHERE c.id = ?1",
            )?
            .query_row([id.0], |r| {
                Ok(CommunitySummary {
                    id: CommunityId(r.get(0)?),
                    name: r.get(1)?,
                    town: r.get(2)?,
                    district: r.get(3)?,
                    grids: r.get(4)?,
                    households: r.get(5)?,
                })
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "community",
                id: id.to_string(),
            })
    }

    /// Every village and community, by id.
    pub fn community_ids(&self) -> Result<Vec<CommunityId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM communities ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0).map(CommunityId))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The time of the newest input a community's channel shows: record entries, comments and
    /// votes of its topics, and its notices. A bundle is stamped with it instead of the clock, so
    /// that building from the same inputs gives the same bytes.
    pub fn community_newest_input(
        &self,
        community: CommunityId,
    ) -> Result<Option<consult::time::Timestamp>, StoreError> {
        let newest: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT max(x) FROM (
                   SELECT max(e.at) AS x FROM topic_communities tc JOIN record_entries e ON e.topic_id = tc.topic_id
                    WHERE tc.community_id = ?1
                   UNION ALL
                   SELECT max(coalesce(c.decided_at, c.received_at)) FROM topic_communities tc
                     JOIN comments c ON c.topic_id = tc.topic_id WHERE tc.community_id = ?1
                   UNION ALL
                   SELECT max(v.sent_at) FROM topic_communities tc JOIN current_votes v ON v.topic_id = tc.topic_id
                    WHERE tc.community_id = ?1
                   UNION ALL
                   SELECT max(sent_at) FROM notices WHERE community_id = ?1)",
            )?
            .query_row([community.0], |r| r.get(0))?;
        Ok(newest.map(consult::time::Timestamp))
    }

    /// The grids of a community with how many households live in each.
    pub fn grid_households(&self, community: CommunityId) -> Result<Vec<(Grid, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT g.id, g.community_id, g.name, g.worker, (SELECT count(*) FROM households h WHERE h.grid_id = g.id)
             FROM grids g WHERE g.community_id = ?1 ORDER BY g.id",
        )?;
        let rows = stmt.query_map([community.0], |r| {
            Ok((
                Grid {
                    id: GridId(r.get(0)?),
                    community: CommunityId(r.get(1)?),
                    name: r.get(2)?,
                    worker: r.get(3)?,
                },
                r.get(4)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A household's address.
    pub fn household_address(
        &self,
        household: HouseholdId,
    ) -> Result<consult::place::Address, StoreError> {
        self.conn
            .prepare_cached("SELECT building, unit, room FROM households WHERE id = ?1")?
            .query_row([household.0], |r| {
                Ok(consult::place::Address {
                    building: r.get(0)?,
                    unit: r.get(1)?,
                    room: r.get(2)?,
                })
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "household",
                id: household.to_string(),
            })
    }

    /// The first set-top box of each of the first `limit` households of a community: demo cards.
    pub fn cards_in_community(
        &self,
        community: CommunityId,
        limit: i64,
    ) -> Result<Vec<(CardId, GridId)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT min(s.card_id), h.grid_id FROM set_top_boxes s
             JOIN households h ON h.id = s.household_id
             JOIN grids g ON g.id = h.grid_id
             WHERE g.community_id = ?1 GROUP BY h.id ORDER BY h.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![community.0, limit], |r| {
            Ok((r.get::<_, String>(0)?, GridId(r.get(1)?)))
        })?;
        let mut cards = Vec::new();
        for row in rows {
            let (card, grid) = row?;
            let card = CardId::parse(&card).map_err(|e| StoreError::corrupt("set_top_boxes", e))?;
            cards.push((card, grid));
        }
        Ok(cards)
    }
}

pub(crate) fn place_of_card_in(
    conn: &rusqlite::Connection,
    card: &CardId,
) -> Result<Option<HouseholdPlace>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT h.id, h.grid_id, g.community_id, c.town_id
             FROM set_top_boxes s
             JOIN households h ON h.id = s.household_id
             JOIN grids g ON g.id = h.grid_id
             JOIN communities c ON c.id = g.community_id
             WHERE s.card_id = ?1",
        )?
        .query_row([card.as_str()], |r| {
            Ok(HouseholdPlace {
                household: HouseholdId(r.get(0)?),
                grid: GridId(r.get(1)?),
                community: CommunityId(r.get(2)?),
                town: TownId(r.get(3)?),
            })
        })
        .optional()?)
}

pub(crate) fn eligible_households_in(
    conn: &rusqlite::Connection,
    area: &consult::vote::EligibleArea,
) -> Result<u64, StoreError> {
    use consult::vote::EligibleArea;
    let in_community = |community: CommunityId| -> Result<i64, StoreError> {
        Ok(conn
            .prepare_cached(
                "SELECT count(*) FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.community_id = ?1",
            )?
            .query_row([community.0], |r| r.get(0))?)
    };
    let mut total: i64 = 0;
    match area {
        EligibleArea::Community { community } => total += in_community(*community)?,
        EligibleArea::Grids { grids, .. } => {
            for grid in grids {
                total += conn
                    .prepare_cached("SELECT count(*) FROM households WHERE grid_id = ?1")?
                    .query_row([grid.0], |r| r.get::<_, i64>(0))?;
            }
        }
        EligibleArea::Communities { communities, .. } => {
            for community in communities {
                total += in_community(*community)?;
            }
        }
    }
    Ok(total.max(0) as u64)
}

pub(crate) fn community_of_grid_in(
    conn: &rusqlite::Connection,
    grid: GridId,
) -> Result<Option<CommunityId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT community_id FROM grids WHERE id = ?1")?
        .query_row([grid.0], |r| r.get(0).map(CommunityId))
        .optional()?)
}

pub(crate) fn town_of_community_in(
    conn: &rusqlite::Connection,
    community: CommunityId,
) -> Result<Option<TownId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT town_id FROM communities WHERE id = ?1")?
        .query_row([community.0], |r| r.get(0).map(TownId))
        .optional()?)
}

pub(crate) fn room_level_in(
    conn: &rusqlite::Connection,
    room: RoomId,
) -> Result<RoomLevel, StoreError> {
    let row: Option<(Option<i64>, Option<i64>)> = conn
        .prepare_cached("SELECT town_id, community_id FROM rooms WHERE id = ?1")?
        .query_row([room.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((Some(town), None)) => Ok(RoomLevel::Town(TownId(town))),
        Some((None, Some(community))) => Ok(RoomLevel::Community(CommunityId(community))),
        Some(_) => Err(StoreError::corrupt(
            format!("room {room}"),
            "names both or neither of a town and a community",
        )),
        None => Err(StoreError::NotFound {
            what: "room",
            id: room.to_string(),
        }),
    }
}
