//! Notices (通知): what grid workers push to the households of their grids.
//!
//! A notice has a title (at most 30 characters) and a body (at most 300), is normal or urgent
//! (urgent ones show as a banner over every screen), and is valid for a window of time. As in
//! the Common Alerting Protocol (CAP 1.2, `msgType`), a notice is an alert, or an update or a
//! cancellation of an earlier notice it references: an update replaces the notice it names, a
//! cancellation withdraws it. Boxes show only their own grid's notices, within their window.

use crate::ids::{CommunityId, GridId, NoticeId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

pub const MAX_TITLE_CHARS: usize = 30;
pub const MAX_BODY_CHARS: usize = 300;
/// A notice may stay up for at most a year: anything longer is a mistake.
pub const MAX_VALIDITY_SECONDS: i64 = 366 * 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    /// Shown as a banner over every screen.
    Urgent,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Urgency> {
        [Urgency::Normal, Urgency::Urgent]
            .into_iter()
            .find(|u| u.as_str() == text)
    }
}

/// CAP 1.2 `msgType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// A new notice.
    Alert,
    /// Replaces the notice it references.
    Update,
    /// Withdraws the notice it references.
    Cancel,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Alert => "alert",
            MessageType::Update => "update",
            MessageType::Cancel => "cancel",
        }
    }

    pub fn parse(text: &str) -> Option<MessageType> {
        [MessageType::Alert, MessageType::Update, MessageType::Cancel]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// What a grid worker writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDraft {
    pub community: CommunityId,
    pub grids: Vec<GridId>,
    pub title: String,
    pub body: String,
    pub urgency: Urgency,
    pub message_type: MessageType,
    /// The notice an update or cancellation refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<NoticeId>,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: NoticeId,
    /// The grid worker who pushed it.
    pub author: String,
    pub sent_at: Timestamp,
    #[serde(flatten)]
    pub draft: NoticeDraft,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeError {
    #[error("the title is empty")]
    EmptyTitle,
    #[error("the title has {0} characters; at most {MAX_TITLE_CHARS} are allowed")]
    TitleTooLong(usize),
    #[error("the body is empty")]
    EmptyBody,
    #[error("the body has {0} characters; at most {MAX_BODY_CHARS} are allowed")]
    BodyTooLong(usize),
    #[error("the {0} contains a control character")]
    ControlCharacter(&'static str),
    #[error("a notice goes to at least one grid")]
    NoGrids,
    #[error("grid {0} is named twice")]
    DuplicateGrid(GridId),
    #[error("grid {grid} is not one of this grid worker's grids")]
    NotYourGrid { grid: GridId },
    #[error("grid {grid} is not in community {community}")]
    GridOutsideCommunity {
        grid: GridId,
        community: CommunityId,
    },
    #[error("the validity window ends ({until}) before it begins ({from})")]
    EmptyWindow { from: Timestamp, until: Timestamp },
    #[error("the validity window is longer than a year")]
    WindowTooLong,
    #[error("an {0} must reference the notice it changes")]
    MissingReference(&'static str),
    #[error("an alert is a new notice and references none")]
    UnexpectedReference,
    #[error("there is no notice {0} to update or cancel")]
    UnknownReference(NoticeId),
    #[error("notice {0} belongs to another community")]
    ReferenceElsewhere(NoticeId),
    #[error("notice {0} was already cancelled")]
    ReferenceCancelled(NoticeId),
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), NoticeError> {
    let text = text.trim();
    let count = text.chars().count();
    if count == 0 {
        return Err(if field == "title" {
            NoticeError::EmptyTitle
        } else {
            NoticeError::EmptyBody
        });
    }
    if count > max {
        return Err(if field == "title" {
            NoticeError::TitleTooLong(count)
        } else {
            NoticeError::BodyTooLong(count)
        });
    }
    // The body may have line breaks; nothing else unprintable.
    if text
        .chars()
        .any(|c| c.is_control() && !(field == "body" && c == '\n'))
    {
        return Err(NoticeError::ControlCharacter(field));
    }
    Ok(())
}

impl NoticeDraft {
    /// Checks a draft: texts, window, the worker's own grids (all in the notice's community;
    /// `community_of_grid` says where a grid is), and the reference of an update or
    /// cancellation (`referenced` is the notice it names, looked up by the caller, with whether
    /// it has been cancelled).
    pub fn check(
        &self,
        worker_grids: &[GridId],
        community_of_grid: impl Fn(GridId) -> Option<CommunityId>,
        referenced: Option<(&Notice, bool)>,
    ) -> Result<(), NoticeError> {
        check_text("title", &self.title, MAX_TITLE_CHARS)?;
        check_text("body", &self.body, MAX_BODY_CHARS)?;
        if self.grids.is_empty() {
            return Err(NoticeError::NoGrids);
        }
        for (i, grid) in self.grids.iter().enumerate() {
            if self.grids[..i].contains(grid) {
                return Err(NoticeError::DuplicateGrid(*grid));
            }
            if community_of_grid(*grid) != Some(self.community) {
                return Err(NoticeError::GridOutsideCommunity {
                    grid: *grid,
                    community: self.community,
                });
            }
            if !worker_grids.contains(grid) {
                return Err(NoticeError::NotYourGrid { grid: *grid });
            }
        }
        if self.valid_until <= self.valid_from {
            return Err(NoticeError::EmptyWindow {
                from: self.valid_from,
                until: self.valid_until,
            });
        }
        if self.valid_until.0 - self.valid_from.0 > MAX_VALIDITY_SECONDS {
            return Err(NoticeError::WindowTooLong);
        }
        match (self.message_type, self.references) {
            (MessageType::Alert, None) => {}
            (MessageType::Alert, Some(_)) => return Err(NoticeError::UnexpectedReference),
            (MessageType::Update, None) => return Err(NoticeError::MissingReference("update")),
            (MessageType::Cancel, None) => return Err(NoticeError::MissingReference("cancel")),
            (_, Some(id)) => match referenced {
                None => return Err(NoticeError::UnknownReference(id)),
                Some((notice, _)) if notice.id != id => {
                    return Err(NoticeError::UnknownReference(id));
                }
                Some((notice, _)) if notice.draft.community != self.community => {
                    return Err(NoticeError::ReferenceElsewhere(id));
                }
                Some((_, true)) => return Err(NoticeError::ReferenceCancelled(id)),
                Some(_) => {}
            },
        }
        Ok(())
    }
}

impl Notice {
    /// Whether a box in `grid` shows this notice at `at`, ignoring later updates and
    /// cancellations (see [`current`]).
    pub fn shows_to(&self, grid: GridId, at: Timestamp) -> bool {
        self.draft.message_type != MessageType::Cancel
            && self.draft.grids.contains(&grid)
            && self.draft.valid_from <= at
            && at < self.draft.valid_until
    }
}

/// The notices still in force at `at`: alerts and updates not replaced or withdrawn by a later
/// update or cancellation sent by then, whose window has not ended. (A window that has not
/// begun yet still counts: the bundle carries it and the box waits for its time.)
pub fn current(notices: &[Notice], at: Timestamp) -> Vec<&Notice> {
    let sent: Vec<&Notice> = notices.iter().filter(|n| n.sent_at <= at).collect();
    let superseded: std::collections::HashSet<NoticeId> =
        sent.iter().filter_map(|n| n.draft.references).collect();
    sent.into_iter()
        .filter(|n| n.draft.message_type != MessageType::Cancel)
        .filter(|n| !superseded.contains(&n.id))
        .filter(|n| at < n.draft.valid_until)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> NoticeDraft {
        NoticeDraft {
            community: CommunityId(1),
            grids: vec![GridId(1)],
            title: "停水通知".into(),
            body: "12月3日8时至12时3至5幢停水检修，请提前储水。".into(),
            urgency: Urgency::Urgent,
            message_type: MessageType::Alert,
            references: None,
            valid_from: Timestamp(1000),
            valid_until: Timestamp(5000),
        }
    }

    fn home(grid: GridId) -> Option<CommunityId> {
        (grid.0 < 10).then_some(CommunityId(1))
    }

    fn notice(id: i64, sent: i64, d: NoticeDraft) -> Notice {
        Notice {
            id: NoticeId(id),
            author: "李芳".into(),
            sent_at: Timestamp(sent),
            draft: d,
        }
    }

    #[test]
    fn drafts_are_checked() {
        let mine = [GridId(1), GridId(2)];
        assert_eq!(draft().check(&mine, home, None), Ok(()));
        let check = |d: NoticeDraft| d.check(&mine, home, None);
        assert_eq!(
            check(NoticeDraft {
                title: " ".into(),
                ..draft()
            }),
            Err(NoticeError::EmptyTitle)
        );
        assert_eq!(
            check(NoticeDraft {
                title: "通".repeat(31),
                ..draft()
            }),
            Err(NoticeError::TitleTooLong(31))
        );
        assert_eq!(
            check(NoticeDraft {
                body: "知".repeat(301),
                ..draft()
            }),
            Err(NoticeError::BodyTooLong(301))
        );
        assert_eq!(
            check(NoticeDraft {
                grids: vec![GridId(3)],
                ..draft()
            }),
            Err(NoticeError::NotYourGrid { grid: GridId(3) })
        );
        assert_eq!(
            check(NoticeDraft {
                grids: vec![GridId(11)],
                ..draft()
            }),
            Err(NoticeError::GridOutsideCommunity {
                grid: GridId(11),
                community: CommunityId(1)
            })
        );
        assert_eq!(
            check(NoticeDraft {
                grids: vec![],
                ..draft()
            }),
            Err(NoticeError::NoGrids)
        );
        assert!(matches!(
            check(NoticeDraft {
                valid_until: Timestamp(1000),
                ..draft()
            }),
            Err(NoticeError::EmptyWindow { .. })
        ));
        assert_eq!(
            check(NoticeDraft {
                message_type: MessageType::Cancel,
                ..draft()
            }),
            Err(NoticeError::MissingReference("cancel"))
        );
        assert_eq!(
            check(NoticeDraft {
                message_type: MessageType::Update,
                references: Some(NoticeId(9)),
                ..draft()
            }),
            Err(NoticeError::UnknownReference(NoticeId(9)))
        );
        let old = notice(9, 100, draft());
        let update = NoticeDraft {
            message_type: MessageType::Update,
            references: Some(NoticeId(9)),
            ..draft()
        };
        assert_eq!(update.check(&mine, home, Some((&old, false))), Ok(()));
        assert_eq!(
            update.check(&mine, home, Some((&old, true))),
            Err(NoticeError::ReferenceCancelled(NoticeId(9)))
        );
    }

    #[test]
    fn updates_replace_and_cancellations_withdraw() {
        let first = notice(1, 100, draft());
        let other_grid = notice(
            2,
            110,
            NoticeDraft {
                grids: vec![GridId(2)],
                ..draft()
            },
        );
        let update = notice(
            3,
            200,
            NoticeDraft {
                message_type: MessageType::Update,
                references: Some(NoticeId(1)),
                title: "停水时间调整".into(),
                ..draft()
            },
        );
        let cancel = notice(
            4,
            300,
            NoticeDraft {
                message_type: MessageType::Cancel,
                references: Some(NoticeId(3)),
                ..draft()
            },
        );
        let all = vec![first, other_grid, update, cancel];
        let ids = |at: i64| {
            current(&all, Timestamp(at))
                .iter()
                .map(|n| n.id.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(150), vec![1, 2]);
        assert_eq!(ids(250), vec![2, 3]);
        assert_eq!(ids(350), vec![2]);
        assert_eq!(ids(6000), Vec::<i64>::new());
        assert!(all[0].shows_to(GridId(1), Timestamp(1500)));
        assert!(!all[0].shows_to(GridId(2), Timestamp(1500)));
        assert!(!all[0].shows_to(GridId(1), Timestamp(999)));
    }
}
