//! A hand-made city for tests and benchmarks, so that each crate's tests need not build their
//! own: district 1 (梁溪区), town 1 (崇安寺街道) and the communities asked for. Not used by
//! the service.
//!
//! Ids count up from 1 across the city: community c is 第c社区; grids are numbered in order
//! (第g网格, worker 网格员g); households likewise, each with one box whose card is `8610` and
//! the household's number in twelve digits. Rooms are the caller's: their ids and levels
//! differ between tests.

use crate::{CityLoader, StoreError};
use consult::ids::*;
use consult::place::*;

/// Card n's id: `8610` and n in twelve digits (household n's box).
pub fn card(n: i64) -> CardId {
    // Sixteen digits for every n a test uses; a parse error here is a bug in the test.
    CardId::parse(&format!("8610{:012}", n.rem_euclid(1_000_000_000_000)))
        .unwrap_or_else(|e| panic!("card {n}: {e}"))
}

/// Loads the places: `communities[c - 1]` lists community c's grids by their household counts.
/// Returns nothing; the caller adds rooms (and whatever else) and commits.
pub fn places(l: &mut CityLoader<'_>, communities: &[&[i64]]) -> Result<(), StoreError> {
    l.district(&District {
        id: DistrictId(1),
        name: "梁溪区".into(),
        kind: DistrictKind::District,
    })?;
    l.town(&Town {
        id: TownId(1),
        district: DistrictId(1),
        name: "崇安寺街道".into(),
        kind: TownKind::Subdistrict,
    })?;
    let (mut grid, mut household) = (0i64, 0i64);
    for (index, grids) in communities.iter().enumerate() {
        let community = CommunityId(index as i64 + 1);
        l.community(&Community {
            id: community,
            town: TownId(1),
            name: format!("第{}社区", community.0),
            kind: CommunityKind::Community,
        })?;
        for households in grids.iter() {
            grid += 1;
            l.grid(&Grid {
                id: GridId(grid),
                community,
                name: format!("第{grid}网格"),
                worker: format!("网格员{grid}"),
            })?;
            for _ in 0..*households {
                household += 1;
                l.household(&Household {
                    id: HouseholdId(household),
                    grid: GridId(grid),
                    address: Address::new(
                        (household / 100 + 1) as u16,
                        1,
                        (household % 100 + 101) as u16,
                    )
                    .unwrap_or_else(|e| panic!("address of household {household}: {e}")),
                })?;
                l.set_top_box(&SetTopBox {
                    card: card(household),
                    household: HouseholdId(household),
                })?;
            }
        }
    }
    Ok(())
}

/// One community of grids of the given sizes, its room (1) and one topic in consultation whose
/// voting opened an hour before `now` (Unix seconds) and closes a day after it: the city the
/// return channel's benchmarks vote in.
pub fn voting_community(
    store: &mut crate::Store,
    grids: &[i64],
    now: i64,
) -> Result<TopicId, StoreError> {
    use consult::procedure::Step;
    use consult::record::{Actor, ActorRole};
    use consult::room::{Convener, Room, RoomLevel};
    use consult::time::Timestamp;
    use consult::topic::{Category, Session, StepDetails, TopicDraft};
    use consult::vote::{Ballot, EligibleArea, VotingWindow};

    let mut l = store.load_city()?;
    places(&mut l, &[grids])?;
    l.room(&Room {
        id: RoomId(1),
        level: RoomLevel::Community(CommunityId(1)),
        name: "协商议事室".into(),
        convener: Convener {
            name: "周建华".into(),
            office: "社区党委书记".into(),
        },
        participants: vec![],
    })?;
    l.commit()?;
    let t0 = now - 3_600;
    let actor = |role| Actor {
        role,
        name: "测试".into(),
    };
    let draft = TopicDraft {
        room: RoomId(1),
        title: "电动自行车充电桩建设".into(),
        summary: "在东门内侧建设充电车棚。".into(),
        category: Category::EvCharging,
        eligible: EligibleArea::Community {
            community: CommunityId(1),
        },
        ballot: Ballot::approve_oppose_abstain(),
    };
    let id = store
        .propose_topic(draft, Timestamp(t0), actor(ActorRole::Convener))?
        .id;
    let open = StepDetails {
        session: Some(Session {
            starts_at: Timestamp(t0 + 600),
            place: "议事厅".into(),
        }),
        voting: Some(VotingWindow {
            opens_at: Timestamp(t0 + 30),
            closes_at: Timestamp(t0 + 86_400),
        }),
        ..StepDetails::default()
    };
    for (step, at, role, details) in [
        (
            Step::Confirm,
            10,
            ActorRole::Overseer,
            StepDetails::default(),
        ),
        (
            Step::BeginResearch,
            20,
            ActorRole::Convener,
            StepDetails::default(),
        ),
        (Step::OpenConsultation, 30, ActorRole::Convener, open),
    ] {
        store.take_step(id, step, Timestamp(t0 + at), actor(role), "好", details)?;
    }
    Ok(id)
}

/// Creates the database at `path` as a shangyi of schema `version` left it: the first `version`
/// migrations, and nothing opened through [`crate::Store`] (which would migrate it to the end),
/// so that a test can put old rows in it and check what a later migration does with them.
pub fn database_at_version(path: &std::path::Path, version: usize) -> Result<(), StoreError> {
    let mut conn = rusqlite::Connection::open(path)?;
    crate::migrate_to(&mut conn, 0, version)
}
