//! The tiny city the server's tests share (`store::testing`): communities 1 and 2 (room n is
//! community n's), grids 1 and 2 in community 1 and grid 3 in community 2, households 1 and 2
//! in grid 1, 3 and 4 in grid 2, 5 in grid 3; household n's card is `store::testing::card(n)`.

use consult::ids::*;
use consult::room::{Convener, Room, RoomLevel};
use store::CityLoader;

/// Card n's id. (Not every test file that includes this module uses it.)
#[allow(dead_code)]
pub fn card_id(n: i64) -> CardId {
    store::testing::card(n)
}

/// Loads the places and rooms into `l`; the caller adds what else it needs and commits.
pub fn places(l: &mut CityLoader<'_>) {
    store::testing::places(l, &[&[2, 2], &[1]]).unwrap();
    for c in 1..=2 {
        l.room(&Room {
            id: RoomId(c),
            level: RoomLevel::Community(CommunityId(c)),
            name: format!("第{c}社区协商议事室"),
            convener: Convener {
                name: "周建华".into(),
                office: "社区党委书记".into(),
            },
            participants: vec![],
        })
        .unwrap();
    }
}
