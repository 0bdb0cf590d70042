//! Consultation rooms (协商议事室): one per town or subdistrict and one per village or community,
//! each led by a convener, with participants in the four roles the rules name.

use crate::ids::{CommunityId, RoomId, TownId};
use serde::{Deserialize, Serialize};

/// The level a room works at, and the place it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "level", content = "place")]
pub enum RoomLevel {
    Town(TownId),
    Community(CommunityId),
}

/// 召集人: leads the room. At town level usually the party committee deputy secretary or the
/// CPPCC work-committee director; in a village or community the party branch secretary or the
/// director.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Convener {
    pub name: String,
    pub office: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    /// 群众代表
    ResidentRepresentative,
    /// 政协委员
    CppccMember,
    /// 利益相关方代表
    StakeholderRepresentative,
    /// 党政部门负责人
    DepartmentHead,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 4] = [
        ParticipantRole::ResidentRepresentative,
        ParticipantRole::CppccMember,
        ParticipantRole::StakeholderRepresentative,
        ParticipantRole::DepartmentHead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::ResidentRepresentative => "resident_representative",
            ParticipantRole::CppccMember => "cppcc_member",
            ParticipantRole::StakeholderRepresentative => "stakeholder_representative",
            ParticipantRole::DepartmentHead => "department_head",
        }
    }

    pub fn parse(text: &str) -> Option<ParticipantRole> {
        ParticipantRole::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
    }

    /// The role's name on screens and in the record.
    pub fn label(self) -> &'static str {
        match self {
            ParticipantRole::ResidentRepresentative => "群众代表",
            ParticipantRole::CppccMember => "政协委员",
            ParticipantRole::StakeholderRepresentative => "利益相关方代表",
            ParticipantRole::DepartmentHead => "党政部门负责人",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub name: String,
    pub role: ParticipantRole,
    /// Where they come from, e.g. 区住建局 or 5幢居民.
    pub affiliation: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: RoomId,
    pub level: RoomLevel,
    /// e.g. 崇安寺街道"有事好商量"协商议事室
    pub name: String,
    pub convener: Convener,
    pub participants: Vec<Participant>,
}
