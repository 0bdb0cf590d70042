//! Households' comments on a topic, and their moderation.
//!
//! A comment is short (at most 200 characters). It waits as pending until a moderator accepts it
//! or rejects it with a reason. A rejected comment is hidden from the screens, never deleted: the
//! decision is an entry in the consultation record.

use crate::ids::{CommentId, HouseholdId, TopicId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

pub const MAX_COMMENT_CHARS: usize = 200;
pub const MAX_REASON_CHARS: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommentError {
    #[error("the comment is empty")]
    Empty,
    #[error("the comment has {0} characters; at most {MAX_COMMENT_CHARS} are allowed")]
    TooLong(usize),
    #[error("the comment contains a control character at position {0}")]
    ControlCharacter(usize),
    #[error("comment {comment} was already {state}; only a pending comment can be decided")]
    AlreadyDecided { comment: CommentId, state: String },
    #[error("a rejection needs a reason of 1 to {MAX_REASON_CHARS} characters")]
    BadReason,
}

/// Checks a comment's text and returns it trimmed.
pub fn check_text(text: &str) -> Result<String, CommentError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CommentError::Empty);
    }
    if let Some(position) = text.chars().position(char::is_control) {
        return Err(CommentError::ControlCharacter(position));
    }
    let count = text.chars().count();
    if count > MAX_COMMENT_CHARS {
        return Err(CommentError::TooLong(count));
    }
    Ok(text.to_owned())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Moderation {
    Pending,
    Accepted,
    Rejected { reason: String },
}

impl Moderation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Moderation::Pending => "pending",
            Moderation::Accepted => "accepted",
            Moderation::Rejected { .. } => "rejected",
        }
    }
}

/// A moderator's decision on a pending comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    Accept,
    Reject { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub topic: TopicId,
    pub household: HouseholdId,
    pub text: String,
    pub sent_at: Timestamp,
    pub moderation: Moderation,
}

impl Comment {
    /// Applies a moderator's decision: only a pending comment can be decided, and a rejection
    /// needs a reason.
    pub fn decide(&self, decision: &Decision) -> Result<Moderation, CommentError> {
        if self.moderation != Moderation::Pending {
            return Err(CommentError::AlreadyDecided {
                comment: self.id,
                state: self.moderation.as_str().into(),
            });
        }
        match decision {
            Decision::Accept => Ok(Moderation::Accepted),
            Decision::Reject { reason } => {
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                    return Err(CommentError::BadReason);
                }
                Ok(Moderation::Rejected {
                    reason: reason.into(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(
            check_text("  建议增加充电桩。 "),
            Ok("建议增加充电桩。".into())
        );
        assert_eq!(check_text("   "), Err(CommentError::Empty));
        assert_eq!(
            check_text(&"好".repeat(200)).map(|t| t.chars().count()),
            Ok(200)
        );
        assert_eq!(
            check_text(&"好".repeat(201)),
            Err(CommentError::TooLong(201))
        );
        assert_eq!(
            check_text("a\u{7}b"),
            Err(CommentError::ControlCharacter(1))
        );
    }

    #[test]
    fn only_pending_comments_are_decided() {
        let mut comment = Comment {
            id: CommentId(1),
            topic: TopicId(1),
            household: HouseholdId(1),
            text: "同意".into(),
            sent_at: Timestamp(0),
            moderation: Moderation::Pending,
        };
        assert_eq!(
            comment.decide(&Decision::Reject { reason: " ".into() }),
            Err(CommentError::BadReason)
        );
        comment.moderation = comment
            .decide(&Decision::Accept)
            .unwrap_or(Moderation::Pending);
        assert_eq!(comment.moderation, Moderation::Accepted);
        assert!(matches!(
            comment.decide(&Decision::Accept),
            Err(CommentError::AlreadyDecided { .. })
        ));
    }
}
