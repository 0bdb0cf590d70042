//! Typed identifiers, so that a grid id can never be passed where a household id is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A district or county-level city.
    DistrictId
);
id_type!(
    /// A town or subdistrict.
    TownId
);
id_type!(
    /// A village or community: one broadcast bundle each.
    CommunityId
);
id_type!(
    /// A grid inside a community.
    GridId
);
id_type!(
    /// One home.
    HouseholdId
);
id_type!(
    /// A consultation room.
    RoomId
);
id_type!(
    /// A topic consulted on in a room.
    TopicId
);
id_type!(
    /// A comment a household sent on a topic.
    CommentId
);
id_type!(
    /// A notice a grid worker pushed.
    NoticeId
);

/// The smart-card id of a set-top box: its identity on the cable network (16 ASCII digits).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CardId(String);

impl CardId {
    /// Checks the card id's form: exactly 16 ASCII digits.
    pub fn parse(text: &str) -> Result<CardId, crate::place::PlaceError> {
        if text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(CardId(text.to_owned()))
        } else {
            Err(crate::place::PlaceError::BadCardId(
                text.chars().take(40).collect(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
