//! The consultation procedure (协商议事指导规则) as a state machine.
//!
//! A topic is proposed, confirmed (or rejected) by the same-level party organisation (the
//! overseer), researched, consulted on with the TV channel open for votes and comments, turned
//! into a drafted consensus (voting closed, the tally frozen), reported to the overseer, approved
//! (or returned for reconsultation), implemented with progress updates, completed with feedback,
//! and archived. The convener may withdraw it before consultation.
//!
//! The stage and step identifiers below are used everywhere: code, database, API, command line.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a topic stands in the procedure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Proposed,
    Confirmed,
    Rejected,
    Research,
    Consultation,
    Consensus,
    Reported,
    Approved,
    Returned,
    Implementing,
    Completed,
    Archived,
    Withdrawn,
}

/// Who may make a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 召集人: leads the room and moves its topics along.
    Convener,
    /// 同级党组织: confirms topics and outcomes.
    Overseer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Convener => "convener",
            Role::Overseer => "overseer",
        }
    }
}

/// A move from one stage to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Confirm,
    Reject,
    BeginResearch,
    OpenConsultation,
    DraftConsensus,
    Report,
    Approve,
    Return,
    StartImplementation,
    Complete,
    Archive,
    Withdraw,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProcedureError {
    #[error(
        "cannot {attempted} a topic that is {current}; allowed from {current}: {}",
        list_steps(allowed)
    )]
    IllegalStep {
        current: Stage,
        attempted: Step,
        allowed: Vec<Step>,
    },
    #[error("only the {required} may {step}; {actor} tried")]
    WrongRole {
        step: Step,
        required: Role,
        actor: String,
    },
    #[error("unknown stage {0:?}; stages are {stages}", stages = list_stages())]
    UnknownStage(String),
    #[error("unknown step {0:?}; steps are {steps}", steps = list_steps(&Step::ALL))]
    UnknownStep(String),
}

fn list_steps(steps: &[Step]) -> String {
    if steps.is_empty() {
        return "nothing (the topic's procedure has ended)".into();
    }
    steps
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_stages() -> String {
    Stage::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Stage {
    pub const ALL: [Stage; 13] = [
        Stage::Proposed,
        Stage::Confirmed,
        Stage::Rejected,
        Stage::Research,
        Stage::Consultation,
        Stage::Consensus,
        Stage::Reported,
        Stage::Approved,
        Stage::Returned,
        Stage::Implementing,
        Stage::Completed,
        Stage::Archived,
        Stage::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Proposed => "proposed",
            Stage::Confirmed => "confirmed",
            Stage::Rejected => "rejected",
            Stage::Research => "research",
            Stage::Consultation => "consultation",
            Stage::Consensus => "consensus",
            Stage::Reported => "reported",
            Stage::Approved => "approved",
            Stage::Returned => "returned",
            Stage::Implementing => "implementing",
            Stage::Completed => "completed",
            Stage::Archived => "archived",
            Stage::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Result<Stage, ProcedureError> {
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| ProcedureError::UnknownStage(text.chars().take(40).collect()))
    }

    /// The stage's name on screens and in the record.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Proposed => "已提出",
            Stage::Confirmed => "已确定",
            Stage::Rejected => "未通过",
            Stage::Research => "商前调研",
            Stage::Consultation => "协商中",
            Stage::Consensus => "已形成共识",
            Stage::Reported => "已报送",
            Stage::Approved => "已批准",
            Stage::Returned => "退回再议",
            Stage::Implementing => "成果转化中",
            Stage::Completed => "已办结",
            Stage::Archived => "已归档",
            Stage::Withdrawn => "已撤回",
        }
    }

    /// The steps that may be taken from this stage, in the order the procedure suggests them.
    pub fn allowed_steps(self) -> Vec<Step> {
        Step::ALL
            .into_iter()
            .filter(|step| step.target(self).is_some())
            .collect()
    }

    /// Whether households can vote and comment on the TV channel.
    pub fn is_open_for_votes(self) -> bool {
        self == Stage::Consultation
    }

    /// Whether the procedure has ended for good.
    pub fn is_final(self) -> bool {
        self.allowed_steps().is_empty()
    }

    /// Whether the topic still belongs on a community's home screen.
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            Stage::Rejected | Stage::Archived | Stage::Withdrawn | Stage::Proposed
        )
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Step {
    pub const ALL: [Step; 12] = [
        Step::Confirm,
        Step::Reject,
        Step::BeginResearch,
        Step::OpenConsultation,
        Step::DraftConsensus,
        Step::Report,
        Step::Approve,
        Step::Return,
        Step::StartImplementation,
        Step::Complete,
        Step::Archive,
        Step::Withdraw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Confirm => "confirm",
            Step::Reject => "reject",
            Step::BeginResearch => "begin_research",
            Step::OpenConsultation => "open_consultation",
            Step::DraftConsensus => "draft_consensus",
            Step::Report => "report",
            Step::Approve => "approve",
            Step::Return => "return",
            Step::StartImplementation => "start_implementation",
            Step::Complete => "complete",
            Step::Archive => "archive",
            Step::Withdraw => "withdraw",
        }
    }

    pub fn parse(text: &str) -> Result<Step, ProcedureError> {
        Step::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| ProcedureError::UnknownStep(text.chars().take(40).collect()))
    }

    /// Who may make this step. Confirming a topic and approving or returning its outcome belong
    /// to the same-level party organisation; everything else to the room's convener.
    pub fn role(self) -> Role {
        match self {
            Step::Confirm | Step::Reject | Step::Approve | Step::Return => Role::Overseer,
            _ => Role::Convener,
        }
    }

    /// The stage this step leads to from `from`, or `None` when the procedure forbids it.
    /// This match is the whole transition table; `docs/procedure.md` draws it.
    pub fn target(self, from: Stage) -> Option<Stage> {
        use Stage as S;
        use Step as T;
        match (from, self) {
            (S::Proposed, T::Confirm) => Some(S::Confirmed),
            (S::Proposed, T::Reject) => Some(S::Rejected),
            (S::Confirmed, T::BeginResearch) => Some(S::Research),
            (S::Returned, T::BeginResearch) => Some(S::Research),
            (S::Research, T::OpenConsultation) => Some(S::Consultation),
            (S::Returned, T::OpenConsultation) => Some(S::Consultation),
            (S::Consultation, T::DraftConsensus) => Some(S::Consensus),
            (S::Consensus, T::Report) => Some(S::Reported),
            (S::Reported, T::Approve) => Some(S::Approved),
            (S::Reported, T::Return) => Some(S::Returned),
            (S::Approved, T::StartImplementation) => Some(S::Implementing),
            (S::Implementing, T::Complete) => Some(S::Completed),
            (S::Completed, T::Archive) => Some(S::Archived),
            (S::Proposed | S::Confirmed | S::Research, T::Withdraw) => Some(S::Withdrawn),
            _ => None,
        }
    }

    /// The step's name in the record.
    pub fn label(self) -> &'static str {
        match self {
            Step::Confirm => "同级党组织确认议题",
            Step::Reject => "同级党组织不予确认",
            Step::BeginResearch => "开展商前调研",
            Step::OpenConsultation => "召开协商会议",
            Step::DraftConsensus => "形成协商共识",
            Step::Report => "报送同级党组织",
            Step::Approve => "同级党组织批准实施",
            Step::Return => "退回重新协商",
            Step::StartImplementation => "启动成果转化",
            Step::Complete => "办结并反馈",
            Step::Archive => "归档",
            Step::Withdraw => "撤回议题",
        }
    }

    /// Checks that `role` may take this step from `current`, and returns the new stage.
    pub fn check(self, current: Stage, role: Role) -> Result<Stage, ProcedureError> {
        let to = self
            .target(current)
            .ok_or_else(|| ProcedureError::IllegalStep {
                current,
                attempted: self,
                allowed: current.allowed_steps(),
            })?;
        if role != self.role() {
            return Err(ProcedureError::WrongRole {
                step: self,
                required: self.role(),
                actor: role.as_str().into(),
            });
        }
        Ok(to)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Ok(stage));
            let json = serde_json::to_string(&stage).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", stage.as_str()));
        }
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Ok(step));
            let json = serde_json::to_string(&step).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", step.as_str()));
        }
    }

    #[test]
    fn illegal_step_names_current_attempted_and_allowed() {
        let err = Step::Approve.check(Stage::Proposed, Role::Overseer);
        let Err(err) = err else {
            panic!("approving a proposed topic must fail")
        };
        assert_eq!(
            err.to_string(),
            "cannot approve a topic that is proposed; allowed from proposed: confirm, reject, withdraw"
        );
        assert!(matches!(
            err,
            ProcedureError::IllegalStep {
                current: Stage::Proposed,
                attempted: Step::Approve,
                ..
            }
        ));
    }

    #[test]
    fn roles_are_enforced() {
        assert!(matches!(
            Step::Confirm.check(Stage::Proposed, Role::Convener),
            Err(ProcedureError::WrongRole { .. })
        ));
        assert_eq!(
            Step::Confirm.check(Stage::Proposed, Role::Overseer),
            Ok(Stage::Confirmed)
        );
    }

    #[test]
    fn final_stages_allow_nothing() {
        for stage in [Stage::Rejected, Stage::Archived, Stage::Withdrawn] {
            assert!(stage.is_final(), "{stage}");
        }
        let err = Step::Archive.check(Stage::Withdrawn, Role::Convener);
        assert!(
            err.map_err(|e| e.to_string())
                .unwrap_err()
                .contains("nothing (the topic's procedure has ended)")
        );
    }

    #[test]
    fn every_stage_is_reachable_from_proposed() {
        let mut seen = vec![Stage::Proposed];
        let mut frontier = vec![Stage::Proposed];
        while let Some(stage) = frontier.pop() {
            for step in stage.allowed_steps() {
                if let Some(next) = step.target(stage)
                    && !seen.contains(&next)
                {
                    seen.push(next);
                    frontier.push(next);
                }
            }
        }
        assert_eq!(seen.len(), Stage::ALL.len());
    }
}
