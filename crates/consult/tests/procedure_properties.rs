//! Property tests of the procedure and the record: random attempts at every step leave a topic in
//! a legal state with every accepted step recorded, and any single change to a record is found.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use consult::ids::{CommunityId, RoomId, TopicId};
use consult::procedure::{Role, Stage, Step};
use consult::record::{
    self, Actor, ActorRole, ChainedEntry, RecordWriter, StoredEntry, VerifyError,
};
use consult::time::Timestamp;
use consult::topic::{Category, Session, StepDetails, TopicDraft};
use consult::vote::{Ballot, EligibleArea, Tally, VotingWindow};
use proptest::prelude::*;

fn draft() -> TopicDraft {
    TopicDraft {
        room: RoomId(1),
        title: "3幢加装电梯".into(),
        summary: "3幢共六层，住户多为老人，拟加装电梯一部。".into(),
        category: Category::Elevators,
        eligible: EligibleArea::Community {
            community: CommunityId(1),
        },
        ballot: Ballot::approve_oppose_abstain(),
    }
}

fn details_for(step: Step, at: i64) -> StepDetails {
    let mut details = StepDetails::default();
    match step {
        Step::OpenConsultation => {
            details.session = Some(Session {
                starts_at: Timestamp(at + 3600),
                place: "社区议事厅".into(),
            });
            details.voting = Some(VotingWindow {
                opens_at: Timestamp(at),
                closes_at: Timestamp(at + 7 * 86400),
            });
        }
        Step::DraftConsensus => {
            details.consensus = Some("同意加装，费用按楼层分摊。".into());
            details.tally = Some(Tally::from_counts(
                &Ballot::approve_oppose_abstain(),
                vec![10, 2, 1],
                Default::default(),
                20,
            ));
        }
        Step::Complete => details.feedback = Some("电梯已投入使用。".into()),
        _ => {}
    }
    details
}

fn actor(role: Role) -> Actor {
    Actor {
        role: match role {
            Role::Convener => ActorRole::Convener,
            Role::Overseer => ActorRole::Overseer,
        },
        name: "测试".into(),
    }
}

/// Drives a topic with random attempts; returns the record and the stages accepted.
fn drive(attempts: &[(usize, bool, bool)]) -> (Vec<ChainedEntry>, Vec<Stage>, Stage) {
    let (mut writer, first) = RecordWriter::propose(
        TopicId(9),
        draft(),
        Timestamp(1_000_000),
        actor(Role::Convener),
    )
    .unwrap_or_else(|e| panic!("proposal: {e}"));
    let mut entries = vec![first];
    let mut stages = vec![Stage::Proposed];
    for (i, &(step_index, right_role, with_details)) in attempts.iter().enumerate() {
        let step = Step::ALL[step_index % Step::ALL.len()];
        let role = if right_role {
            step.role()
        } else if step.role() == Role::Convener {
            Role::Overseer
        } else {
            Role::Convener
        };
        let at = 1_000_000 + i as i64 * 60;
        let details = if with_details {
            details_for(step, at)
        } else {
            StepDetails::default()
        };
        let before = writer.topic.stage;
        // With details comes a note; without, none (reject and return then need one).
        let note = if with_details { "理由见附件" } else { "" };
        match writer.step(step, Timestamp(at), actor(role), note, details) {
            Ok(entry) => {
                let expected = step.target(before);
                assert_eq!(
                    Some(writer.topic.stage),
                    expected,
                    "accepted step moves by the table"
                );
                assert_eq!(role, step.role(), "accepted step was made by its role");
                entries.push(entry);
                stages.push(writer.topic.stage);
            }
            Err(_) => assert_eq!(writer.topic.stage, before, "a refused step changes nothing"),
        }
    }
    let stage = writer.topic.stage;
    (entries, stages, stage)
}

fn stored(entries: &[ChainedEntry]) -> Vec<StoredEntry> {
    entries.iter().map(StoredEntry::from_chained).collect()
}

/// A legal path through the whole procedure, for the tamper tests.
fn full_history() -> Vec<ChainedEntry> {
    let path = [
        Step::Confirm,
        Step::BeginResearch,
        Step::OpenConsultation,
        Step::DraftConsensus,
        Step::Report,
        Step::Approve,
        Step::StartImplementation,
        Step::Complete,
        Step::Archive,
    ];
    let attempts: Vec<(usize, bool, bool)> = path
        .iter()
        .map(|s| {
            (
                Step::ALL.iter().position(|x| x == s).unwrap_or(0),
                true,
                true,
            )
        })
        .collect();
    drive(&attempts).0
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_attempts_leave_a_legal_recorded_history(
        attempts in prop::collection::vec((0usize..12, prop::bool::weighted(0.8), prop::bool::weighted(0.8)), 0..60)
    ) {
        let (entries, stages, last) = drive(&attempts);
        // Every accepted step is an entry, and the record replays to the same stage.
        prop_assert_eq!(entries.len(), stages.len());
        let verified = record::verify(9, &stored(&entries));
        prop_assert!(verified.is_ok(), "{:?}", verified);
        if let Ok(v) = verified {
            prop_assert_eq!(v.topic.stage, last);
            prop_assert_eq!(v.entries, entries.len());
        }
        // Consecutive stages are linked by some step of the table.
        for pair in stages.windows(2) {
            prop_assert!(Step::ALL.iter().any(|s| s.target(pair[0]) == Some(pair[1])));
        }
    }

    #[test]
    fn any_single_edit_is_found(index in 0usize..10, field in 0usize..4, bump in 1i64..1000) {
        let entries = full_history();
        let mut rows = stored(&entries);
        let i = index % rows.len();
        match field {
            0 => rows[i].at += bump,
            1 => rows[i].actor_name.push('x'),
            2 => rows[i].fact = rows[i].fact.replacen("\"kind\"", "\"kind\" ", 1).replacen(':', ": ", 1) + " ",
            _ => rows[i].fact = rows[i].fact.replace("测试", "改过").replace('。', "！"),
        }
        let result = record::verify(9, &rows);
        if field == 2 {
            // Whitespace is not content: the canonical bytes are unchanged.
            prop_assert!(result.is_ok());
        } else if rows[i] != StoredEntry::from_chained(&entries[i]) {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn any_deletion_swap_or_insertion_is_found(a in 0usize..10, b in 0usize..10, kind in 0usize..3) {
        let entries = full_history();
        let mut rows = stored(&entries);
        let n = rows.len();
        let (a, b) = (a % n, b % n);
        match kind {
            0 => { rows.remove(a); if a == n - 1 { return Ok(()); } }
            1 => { if a == b { return Ok(()); } rows.swap(a, b); }
            _ => { let copy = rows[a].clone(); rows.insert(b, copy); }
        }
        prop_assert!(record::verify(9, &rows).is_err());
    }
}

#[test]
fn truncation_is_found_with_a_checkpoint() {
    let entries = full_history();
    let rows = stored(&entries);
    let head = record::verify(9, &rows)
        .map(|v| v.head)
        .unwrap_or(record::Digest::GENESIS);
    let cut = &rows[..rows.len() - 2];
    // Without a checkpoint a shorter record is a legal one...
    assert!(record::verify(9, cut).is_ok());
    // ...but the published head is gone from it.
    let hashes = cut.iter().map(|r| r.hash.as_str());
    assert_eq!(
        record::check_checkpoints(&[head], hashes),
        Err(VerifyError::CheckpointMissing(head.to_hex()))
    );
    assert!(record::check_checkpoints(&[head], rows.iter().map(|r| r.hash.as_str())).is_ok());
}

#[test]
fn recomputed_chain_with_an_illegal_history_is_found() {
    // Someone deletes an entry and recomputes every hash after it: the chain holds, the
    // procedure does not.
    let entries = full_history();
    let mut facts: Vec<_> = entries.iter().map(|e| e.entry.clone()).collect();
    facts.remove(2);
    let mut prev = record::Digest::GENESIS;
    let mut rows = Vec::new();
    for (i, mut entry) in facts.into_iter().enumerate() {
        entry.seq = i as u64 + 1;
        let chained = record::chain(prev, entry);
        prev = chained.hash;
        rows.push(StoredEntry::from_chained(&chained));
    }
    let result = record::verify(9, &rows);
    assert!(
        matches!(result, Err(VerifyError::IllegalHistory { seq: 3, .. })),
        "{result:?}"
    );
}

#[test]
fn rejecting_or_returning_a_topic_needs_a_note_saying_why() {
    let (mut writer, _) = RecordWriter::propose(
        TopicId(9),
        draft(),
        Timestamp(1_000_000),
        actor(Role::Convener),
    )
    .unwrap();
    let overseer = || actor(Role::Overseer);
    let refused = writer
        .step(
            Step::Reject,
            Timestamp(1_000_060),
            overseer(),
            "  ",
            StepDetails::default(),
        )
        .unwrap_err();
    assert_eq!(refused.to_string(), "the step reject needs note");
    assert_eq!(writer.topic.stage, Stage::Proposed);
    writer
        .step(
            Step::Reject,
            Timestamp(1_000_060),
            overseer(),
            "不属于本级协商范围",
            StepDetails::default(),
        )
        .unwrap();
    assert_eq!(writer.topic.stage, Stage::Rejected);
}
