//! Places: the city, its districts, towns and subdistricts, villages and communities, and the
//! grids inside them; households (by address) in a grid; and households' set-top boxes.

use crate::ids::{CardId, CommunityId, DistrictId, GridId, HouseholdId, TownId};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlaceError {
    #[error("{what} has an empty name")]
    EmptyName { what: String },
    #[error("{what} name {name:?} is longer than {max} characters")]
    NameTooLong {
        what: String,
        name: String,
        max: usize,
    },
    #[error("card id {0:?} is not 16 ASCII digits")]
    BadCardId(String),
    #[error("household address {0}: building, unit and room must each be 1 to 9999")]
    BadAddress(String),
}

/// Longest place name we accept, in characters (the longest real ones are about 12).
pub const MAX_PLACE_NAME: usize = 40;

/// Checks a place or person name: not blank, not absurdly long.
pub fn check_name(what: &str, name: &str) -> Result<(), PlaceError> {
    if name.trim().is_empty() {
        return Err(PlaceError::EmptyName { what: what.into() });
    }
    if name.chars().count() > MAX_PLACE_NAME {
        return Err(PlaceError::NameTooLong {
            what: what.into(),
            name: name.chars().take(MAX_PLACE_NAME).collect(),
            max: MAX_PLACE_NAME,
        });
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistrictKind {
    /// 区
    District,
    /// 县级市
    CountyCity,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct District {
    pub id: DistrictId,
    pub name: String,
    pub kind: DistrictKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TownKind {
    /// 镇
    Town,
    /// 街道
    Subdistrict,
}

impl TownKind {
    /// Real names say what they are: 东港镇 is a town, 崇安寺街道 a subdistrict.
    pub fn from_name(name: &str) -> TownKind {
        if name.ends_with('镇') {
            TownKind::Town
        } else {
            TownKind::Subdistrict
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TownKind::Town => "town",
            TownKind::Subdistrict => "subdistrict",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Town {
    pub id: TownId,
    pub district: DistrictId,
    pub name: String,
    pub kind: TownKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommunityKind {
    /// 村
    Village,
    /// 社区
    Community,
}

impl CommunityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommunityKind::Village => "village",
            CommunityKind::Community => "community",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Community {
    pub id: CommunityId,
    pub town: TownId,
    pub name: String,
    pub kind: CommunityKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub id: GridId,
    pub community: CommunityId,
    /// e.g. 第3网格
    pub name: String,
    /// The grid worker who serves it.
    pub worker: String,
}

/// Where a household lives: building (幢), unit (单元), room (室).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    pub building: u16,
    pub unit: u16,
    pub room: u16,
}

impl Address {
    pub fn new(building: u16, unit: u16, room: u16) -> Result<Address, PlaceError> {
        let address = Address {
            building,
            unit,
            room,
        };
        let ok = |n: u16| (1..=9999).contains(&n);
        if ok(building) && ok(unit) && ok(room) {
            Ok(address)
        } else {
            Err(PlaceError::BadAddress(address.to_string()))
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}幢{}单元{}室", self.building, self.unit, self.room)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub id: HouseholdId,
    pub grid: GridId,
    pub address: Address,
}

/// A set-top box, known by its smart card. A household may have several; each speaks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetTopBox {
    pub card: CardId,
    pub household: HouseholdId,
}

/// Where a household sits in the hierarchy: what eligibility checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdPlace {
    pub household: HouseholdId,
    pub grid: GridId,
    pub community: CommunityId,
    pub town: TownId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_are_checked() {
        assert!(check_name("community", "  ").is_err());
        assert!(check_name("community", &"长".repeat(41)).is_err());
        assert!(check_name("town", "湖㳇镇").is_ok());
        assert_eq!(TownKind::from_name("湖㳇镇"), TownKind::Town);
        assert_eq!(TownKind::from_name("崇安寺街道"), TownKind::Subdistrict);
        assert!(Address::new(0, 1, 101).is_err());
        assert_eq!(
            Address::new(3, 2, 501).map(|a| a.to_string()),
            Ok("3幢2单元501室".to_string())
        );
        assert!(CardId::parse("8610000000000001").is_ok());
        assert!(CardId::parse("861000000000001x").is_err());
    }
}
