//! Who may do what: the roles that hold API tokens and the scope each acts in.
//!
//! A convener or an overseer acts for one room; a grid worker for some grids of one
//! community; a moderator for the comment queue; an operator for bundles and the carousel. The
//! procedure's own rule (which role takes which step) is in [`crate::procedure`]; this module
//! adds the scope: a convener of one room cannot move another room's topic.

use crate::ids::{CommunityId, GridId, RoomId};
use crate::procedure::{Role, Step};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    Convener,
    Overseer,
    GridWorker,
    Moderator,
    Operator,
}

impl TokenRole {
    pub const ALL: [TokenRole; 5] = [
        TokenRole::Convener,
        TokenRole::Overseer,
        TokenRole::GridWorker,
        TokenRole::Moderator,
        TokenRole::Operator,
    ];

    /// The identifier on the command line and in the API (`grid-worker` with a hyphen on the
    /// command line is accepted too).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Convener => "convener",
            TokenRole::Overseer => "overseer",
            TokenRole::GridWorker => "grid_worker",
            TokenRole::Moderator => "moderator",
            TokenRole::Operator => "operator",
        }
    }

    pub fn parse(text: &str) -> Option<TokenRole> {
        let text = text.replace('-', "_");
        TokenRole::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Where a token's holder may act.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scope {
    /// A convener's or overseer's room.
    Room { room: RoomId },
    /// A grid worker's grids, all in one community.
    Grids {
        community: CommunityId,
        grids: Vec<GridId>,
    },
    /// Moderators and operators act city-wide.
    City,
}

/// A verified token's holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub role: TokenRole,
    pub scope: Scope,
    /// Who holds it, e.g. 王建华（社区党委书记）: written into the record as the actor.
    pub name: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessError {
    #[error("a {role} token needs {needs}")]
    ScopeMismatch {
        role: &'static str,
        needs: &'static str,
    },
    #[error("this token is for {held}; {wanted} is outside it")]
    OutOfScope { held: String, wanted: String },
    #[error("a {held} may not {action}")]
    WrongRole { held: &'static str, action: String },
}

impl Credential {
    /// Checks that the role and scope fit together.
    pub fn check(&self) -> Result<(), AccessError> {
        let fits = match (self.role, &self.scope) {
            (TokenRole::Convener | TokenRole::Overseer, Scope::Room { .. }) => true,
            (TokenRole::GridWorker, Scope::Grids { grids, .. }) => !grids.is_empty(),
            (TokenRole::Moderator | TokenRole::Operator, Scope::City) => true,
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            let needs = match self.role {
                TokenRole::Convener | TokenRole::Overseer => "a room",
                TokenRole::GridWorker => "one or more grids of one community",
                TokenRole::Moderator | TokenRole::Operator => "no scope (city-wide)",
            };
            Err(AccessError::ScopeMismatch {
                role: self.role.as_str(),
                needs,
            })
        }
    }

    /// May this holder take `step` on a topic of `room`? The procedure's role, then the room.
    pub fn may_step(&self, step: Step, room: RoomId) -> Result<(), AccessError> {
        let needed = match step.role() {
            Role::Convener => TokenRole::Convener,
            Role::Overseer => TokenRole::Overseer,
        };
        if self.role != needed {
            return Err(AccessError::WrongRole {
                held: self.role.as_str(),
                action: format!("{step} (only the {} may)", step.role()),
            });
        }
        self.in_room(room)
    }

    /// May this holder act for topics of `room` (propose, attach findings, post progress)?
    pub fn in_room(&self, room: RoomId) -> Result<(), AccessError> {
        match &self.scope {
            Scope::Room { room: held } if *held == room => Ok(()),
            Scope::Room { room: held } => Err(AccessError::OutOfScope {
                held: format!("room {held}"),
                wanted: format!("room {room}"),
            }),
            _ => Err(AccessError::WrongRole {
                held: self.role.as_str(),
                action: "act for a room".into(),
            }),
        }
    }

    /// The grids a grid worker may write to (empty for other roles).
    pub fn grids(&self) -> &[GridId] {
        match &self.scope {
            Scope::Grids { grids, .. } if self.role == TokenRole::GridWorker => grids,
            _ => &[],
        }
    }

    /// May this holder push notices to all of `grids`?
    pub fn may_notify(&self, grids: &[GridId]) -> Result<(), AccessError> {
        if self.role != TokenRole::GridWorker {
            return Err(AccessError::WrongRole {
                held: self.role.as_str(),
                action: "push notices".into(),
            });
        }
        match grids.iter().find(|g| !self.grids().contains(g)) {
            Some(outside) => Err(AccessError::OutOfScope {
                held: format!(
                    "grids {}",
                    self.grids()
                        .iter()
                        .map(|g| g.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                wanted: format!("grid {outside}"),
            }),
            None => Ok(()),
        }
    }

    /// Requires one of `roles` (moderation, operations).
    pub fn require(&self, roles: &[TokenRole], action: &str) -> Result<(), AccessError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AccessError::WrongRole {
                held: self.role.as_str(),
                action: action.into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convener(room: i64) -> Credential {
        Credential {
            role: TokenRole::Convener,
            scope: Scope::Room { room: RoomId(room) },
            name: "王建华".into(),
        }
    }

    #[test]
    fn conveners_act_in_their_own_room_only() {
        assert!(convener(1).may_step(Step::BeginResearch, RoomId(1)).is_ok());
        assert!(matches!(
            convener(1).may_step(Step::BeginResearch, RoomId(2)),
            Err(AccessError::OutOfScope { .. })
        ));
        assert!(matches!(
            convener(1).may_step(Step::Confirm, RoomId(1)),
            Err(AccessError::WrongRole { .. })
        ));
        let overseer = Credential {
            role: TokenRole::Overseer,
            ..convener(1)
        };
        assert!(overseer.may_step(Step::Confirm, RoomId(1)).is_ok());
    }

    #[test]
    fn grid_workers_notify_their_grids_only() {
        let worker = Credential {
            role: TokenRole::GridWorker,
            scope: Scope::Grids {
                community: CommunityId(1),
                grids: vec![GridId(3), GridId(4)],
            },
            name: "李芳".into(),
        };
        assert!(worker.check().is_ok());
        assert!(worker.may_notify(&[GridId(3)]).is_ok());
        assert!(matches!(
            worker.may_notify(&[GridId(3), GridId(5)]),
            Err(AccessError::OutOfScope { .. })
        ));
        assert!(convener(1).may_notify(&[GridId(3)]).is_err());
        let unscoped = Credential {
            scope: Scope::City,
            ..worker
        };
        assert!(unscoped.check().is_err());
        assert_eq!(TokenRole::parse("grid-worker"), Some(TokenRole::GridWorker));
    }
}
