//! Topics (议题): what a room consults on, and how each fact in its consultation record changes
//! it.
//!
//! A topic's state is the fold of its record: [`Topic::propose`] starts it from a
//! [`Fact::Proposed`], and [`Topic::apply`] checks and applies every later fact. The same code
//! runs when a convener acts and when the record is verified, so a record that verifies also
//! describes a legal history.

use crate::ids::{RoomId, TopicId};
use crate::procedure::{ProcedureError, Role, Stage, Step};
use crate::record::{Actor, ActorRole, Fact};
use crate::time::Timestamp;
use crate::vote::{Ballot, BallotError, EligibleArea, Tally, VotingWindow};
use serde::{Deserialize, Serialize};

pub const MAX_TITLE_CHARS: usize = 40;
pub const MAX_SUMMARY_CHARS: usize = 1000;
pub const MAX_TEXT_CHARS: usize = 5000;

/// What a topic is about: the nine kinds of matter the rooms consult on, and "other".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 停车位改造
    Parking,
    /// 老旧楼房加装电梯
    Elevators,
    /// 电动车充电桩
    EvCharging,
    /// 居民活动场所
    ActivitySpace,
    /// 老旧小区改造
    EstateRenovation,
    /// 垃圾分类
    GarbageSorting,
    /// 社区管理与疫情防控
    CommunityManagement,
    /// 城市精细化管理
    CityManagement,
    /// 黑臭水体整治
    WaterBodies,
    /// 其他
    Other,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Parking,
        Category::Elevators,
        Category::EvCharging,
        Category::ActivitySpace,
        Category::EstateRenovation,
        Category::GarbageSorting,
        Category::CommunityManagement,
        Category::CityManagement,
        Category::WaterBodies,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Parking => "parking",
            Category::Elevators => "elevators",
            Category::EvCharging => "ev_charging",
            Category::ActivitySpace => "activity_space",
            Category::EstateRenovation => "estate_renovation",
            Category::GarbageSorting => "garbage_sorting",
            Category::CommunityManagement => "community_management",
            Category::CityManagement => "city_management",
            Category::WaterBodies => "water_bodies",
            Category::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Category::Parking => "停车位改造",
            Category::Elevators => "加装电梯",
            Category::EvCharging => "充电桩建设",
            Category::ActivitySpace => "居民活动场所",
            Category::EstateRenovation => "老旧小区改造",
            Category::GarbageSorting => "垃圾分类",
            Category::CommunityManagement => "社区管理与疫情防控",
            Category::CityManagement => "城市精细化管理",
            Category::WaterBodies => "黑臭水体整治",
            Category::Other => "其他",
        }
    }
}

/// The consultation meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub starts_at: Timestamp,
    /// e.g. 社区党群服务中心二楼议事厅
    pub place: String,
}

/// What a convener proposes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicDraft {
    pub room: RoomId,
    pub title: String,
    pub summary: String,
    pub category: Category,
    pub eligible: EligibleArea,
    pub ballot: Ballot,
}

/// A step a convener or overseer asks for, with what that step needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDetails {
    /// For `open_consultation`: when and where the meeting is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// For `open_consultation`: when households may vote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voting: Option<VotingWindow>,
    /// For `draft_consensus`: the agreed outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus: Option<String>,
    /// For `draft_consensus`: the tally at the close, frozen into the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<Tally>,
    /// For `complete`: the feedback published to households.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopicError {
    #[error(transparent)]
    Procedure(#[from] ProcedureError),
    #[error(transparent)]
    Ballot(#[from] BallotError),
    #[error("{field} must be 1 to {max} characters")]
    BadText { field: &'static str, max: usize },
    #[error("the step {step} needs {field}")]
    MissingDetail { step: Step, field: &'static str },
    #[error("the step {step} takes no {field}")]
    UnexpectedDetail { step: Step, field: &'static str },
    #[error("a {fact} can be recorded while the topic is {allowed}, not {current}")]
    FactNotAllowed {
        fact: &'static str,
        current: Stage,
        allowed: String,
    },
    #[error("a {fact} is recorded by the {required}, not the {actor}")]
    FactWrongActor {
        fact: &'static str,
        required: &'static str,
        actor: &'static str,
    },
    #[error(
        "progress must be 0 to 100 percent and may not go back from {current}% to {attempted}%"
    )]
    BadProgress { current: u8, attempted: u8 },
    #[error("the record says the topic went from {claimed} but it was {actual}")]
    WrongFrom { claimed: Stage, actual: Stage },
    #[error("the record says {step} led to {claimed} but the procedure leads to {actual}")]
    WrongTo {
        step: Step,
        claimed: Stage,
        actual: Stage,
    },
    #[error("a topic is proposed only once, in its first record entry")]
    ProposedTwice,
    #[error("the session starts at {starts} but voting closes at {closes}, before it")]
    SessionAfterVoting {
        starts: Timestamp,
        closes: Timestamp,
    },
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), TopicError> {
    let count = text.trim().chars().count();
    if count == 0 || count > max {
        return Err(TopicError::BadText { field, max });
    }
    Ok(())
}

impl TopicDraft {
    /// Checks what can be checked without the places (the area is checked against the room by
    /// [`EligibleArea::check_for_room`]).
    pub fn check(&self) -> Result<(), TopicError> {
        check_text("title", &self.title, MAX_TITLE_CHARS)?;
        check_text("summary", &self.summary, MAX_SUMMARY_CHARS)?;
        self.ballot.check()?;
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub id: TopicId,
    pub room: RoomId,
    pub title: String,
    pub summary: String,
    pub category: Category,
    pub eligible: EligibleArea,
    pub ballot: Ballot,
    pub stage: Stage,
    pub proposed_at: Timestamp,
    pub session: Option<Session>,
    pub voting: Option<VotingWindow>,
    pub consensus: Option<String>,
    /// The latest implementation progress, in percent.
    pub progress: Option<u8>,
    pub feedback: Option<String>,
}

impl Topic {
    /// Starts a topic from its proposal, returning it and the record's first fact.
    pub fn propose(
        id: TopicId,
        draft: TopicDraft,
        at: Timestamp,
    ) -> Result<(Topic, Fact), TopicError> {
        draft.check()?;
        let fact = Fact::Proposed {
            room: draft.room,
            title: draft.title.trim().into(),
            summary: draft.summary.trim().into(),
            category: draft.category,
            eligible: draft.eligible,
            ballot: draft.ballot,
        };
        let topic = Topic::from_proposal(id, &fact, at)?;
        Ok((topic, fact))
    }

    /// Rebuilds a topic from the first fact of its record.
    pub fn from_proposal(id: TopicId, fact: &Fact, at: Timestamp) -> Result<Topic, TopicError> {
        let Fact::Proposed {
            room,
            title,
            summary,
            category,
            eligible,
            ballot,
        } = fact
        else {
            return Err(TopicError::FactNotAllowed {
                fact: fact.kind(),
                current: Stage::Proposed,
                allowed: "after the proposal".into(),
            });
        };
        Ok(Topic {
            id,
            room: *room,
            title: title.clone(),
            summary: summary.clone(),
            category: *category,
            eligible: eligible.clone(),
            ballot: ballot.clone(),
            stage: Stage::Proposed,
            proposed_at: at,
            session: None,
            voting: None,
            consensus: None,
            progress: None,
            feedback: None,
        })
    }

    /// Builds the fact for a step, checked against the procedure, without applying it.
    pub fn plan_step(
        &self,
        step: Step,
        role: Role,
        note: &str,
        details: StepDetails,
    ) -> Result<Fact, TopicError> {
        let to = step.check(self.stage, role)?;
        // An overseer who turns a topic down says why: households read it on the topic's
        // screen. Checked here, when the step is taken, not in `apply`: records kept before
        // the rule must still replay.
        if matches!(step, Step::Reject | Step::Return) && note.trim().is_empty() {
            return Err(TopicError::MissingDetail {
                step,
                field: "note",
            });
        }
        let fact = Fact::Transition {
            step,
            from: self.stage,
            to,
            note: note.trim().into(),
            details,
        };
        let mut probe = self.clone();
        probe.apply(&fact, actor_role_for(role))?;
        Ok(fact)
    }

    /// Checks one fact against the topic as it stands and applies it. This is the only way a
    /// topic changes after its proposal.
    pub fn apply(&mut self, fact: &Fact, actor: ActorRole) -> Result<(), TopicError> {
        match fact {
            Fact::Proposed { .. } => return Err(TopicError::ProposedTwice),
            Fact::Transition {
                step,
                from,
                to,
                details,
                ..
            } => {
                if *from != self.stage {
                    return Err(TopicError::WrongFrom {
                        claimed: *from,
                        actual: self.stage,
                    });
                }
                let role = match actor {
                    ActorRole::Overseer => Role::Overseer,
                    ActorRole::Convener => Role::Convener,
                    other => {
                        return Err(TopicError::FactWrongActor {
                            fact: "transition",
                            required: step.role().as_str(),
                            actor: other.as_str(),
                        });
                    }
                };
                let actual = step.check(self.stage, role)?;
                if actual != *to {
                    return Err(TopicError::WrongTo {
                        step: *step,
                        claimed: *to,
                        actual,
                    });
                }
                self.apply_details(*step, details)?;
                self.stage = actual;
            }
            Fact::ResearchFinding { title, text, .. } => {
                self.require(
                    fact,
                    actor,
                    ActorRole::Convener,
                    &[Stage::Research, Stage::Returned],
                )?;
                check_text("finding title", title, MAX_TITLE_CHARS)?;
                check_text("finding text", text, MAX_TEXT_CHARS)?;
            }
            Fact::Minutes { text } => {
                self.require(
                    fact,
                    actor,
                    ActorRole::Convener,
                    &[Stage::Consultation, Stage::Consensus],
                )?;
                check_text("minutes", text, MAX_TEXT_CHARS)?;
            }
            Fact::TallySnapshot { .. } => {
                self.require(
                    fact,
                    actor,
                    ActorRole::System,
                    &[Stage::Consultation, Stage::Consensus, Stage::Reported],
                )?;
            }
            Fact::CommentDecision { .. } => {
                self.require(
                    fact,
                    actor,
                    ActorRole::Moderator,
                    &[
                        Stage::Consultation,
                        Stage::Consensus,
                        Stage::Reported,
                        Stage::Approved,
                        Stage::Returned,
                        Stage::Implementing,
                        Stage::Completed,
                    ],
                )?;
            }
            Fact::ProgressUpdate { percent, text } => {
                self.require(fact, actor, ActorRole::Convener, &[Stage::Implementing])?;
                let current = self.progress.unwrap_or(0);
                if *percent > 100 || *percent < current {
                    return Err(TopicError::BadProgress {
                        current,
                        attempted: *percent,
                    });
                }
                check_text("progress text", text, MAX_TEXT_CHARS)?;
                self.progress = Some(*percent);
            }
        }
        Ok(())
    }

    fn require(
        &self,
        fact: &Fact,
        actor: ActorRole,
        required: ActorRole,
        stages: &[Stage],
    ) -> Result<(), TopicError> {
        if actor != required {
            return Err(TopicError::FactWrongActor {
                fact: fact.kind(),
                required: required.as_str(),
                actor: actor.as_str(),
            });
        }
        if !stages.contains(&self.stage) {
            return Err(TopicError::FactNotAllowed {
                fact: fact.kind(),
                current: self.stage,
                allowed: stages
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
            });
        }
        Ok(())
    }

    fn apply_details(&mut self, step: Step, details: &StepDetails) -> Result<(), TopicError> {
        let needs = |present: bool, field: &'static str| {
            if present {
                Ok(())
            } else {
                Err(TopicError::MissingDetail { step, field })
            }
        };
        let refuses = |present: bool, field: &'static str| {
            if present {
                Err(TopicError::UnexpectedDetail { step, field })
            } else {
                Ok(())
            }
        };
        let (wants_session, wants_consensus, wants_feedback) = match step {
            Step::OpenConsultation => (true, false, false),
            Step::DraftConsensus => (false, true, false),
            Step::Complete => (false, false, true),
            _ => (false, false, false),
        };
        for (wanted, present, field) in [
            (wants_session, details.session.is_some(), "session"),
            (wants_session, details.voting.is_some(), "voting"),
            (wants_consensus, details.consensus.is_some(), "consensus"),
            (wants_consensus, details.tally.is_some(), "tally"),
            (wants_feedback, details.feedback.is_some(), "feedback"),
        ] {
            if wanted {
                needs(present, field)?;
            } else {
                refuses(present, field)?;
            }
        }
        if let (Some(session), Some(voting)) = (&details.session, &details.voting) {
            VotingWindow::new(voting.opens_at, voting.closes_at)?;
            check_text("session place", &session.place, MAX_TITLE_CHARS * 2)?;
            if session.starts_at >= voting.closes_at {
                return Err(TopicError::SessionAfterVoting {
                    starts: session.starts_at,
                    closes: voting.closes_at,
                });
            }
            self.session = Some(session.clone());
            self.voting = Some(*voting);
        }
        if let Some(consensus) = &details.consensus {
            check_text("consensus", consensus, MAX_TEXT_CHARS)?;
            self.consensus = Some(consensus.trim().into());
        }
        if let Some(feedback) = &details.feedback {
            check_text("feedback", feedback, MAX_TEXT_CHARS)?;
            self.feedback = Some(feedback.trim().into());
        }
        Ok(())
    }
}

/// The record's actor role for a procedure role.
pub fn actor_role_for(role: Role) -> ActorRole {
    match role {
        Role::Convener => ActorRole::Convener,
        Role::Overseer => ActorRole::Overseer,
    }
}

/// Convenience for the procedure's simplest use: a step with a note and no details.
pub fn transition_actor(role: Role, name: &str) -> Actor {
    Actor {
        role: actor_role_for(role),
        name: name.into(),
    }
}
