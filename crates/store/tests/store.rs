//! The store against a small hand-made city: procedure, votes, comments, and a record that
//! refuses changes and reveals them when the triggers are bypassed.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use consult::comment::Decision;
use consult::ids::*;
use consult::procedure::{Stage, Step};
use consult::record::{Actor, ActorRole, Digest, Fact};
use consult::room::{Convener, Room, RoomLevel};
use consult::time::Timestamp;
use consult::topic::{Category, Session, StepDetails, TopicDraft};
use consult::vote::{Ballot, EligibleArea, Refusal, VotingWindow};
use proptest::prelude::*;
use store::{Store, StoreError, VoteInput, VoteOutcome};

const T0: i64 = 1_795_000_000;

fn card(n: u64) -> CardId {
    CardId::parse(&format!("8610{n:012}")).unwrap()
}

fn convener() -> Actor {
    Actor {
        role: ActorRole::Convener,
        name: "周建华（社区党委书记）".into(),
    }
}

fn overseer() -> Actor {
    Actor {
        role: ActorRole::Overseer,
        name: "春江社区党委".into(),
    }
}

fn moderator() -> Actor {
    Actor {
        role: ActorRole::Moderator,
        name: "审核员".into(),
    }
}

/// One community with two grids of two households each; card n belongs to household n.
fn tiny_city(store: &mut Store) {
    let mut l = store.load_city().unwrap();
    store::testing::places(&mut l, &[&[2, 2]]).unwrap();
    for (id, level) in [
        (1, RoomLevel::Town(TownId(1))),
        (2, RoomLevel::Community(CommunityId(1))),
    ] {
        l.room(&Room {
            id: RoomId(id),
            level,
            name: "协商议事室".into(),
            convener: Convener {
                name: "周建华".into(),
                office: "社区党委书记".into(),
            },
            participants: vec![],
        })
        .unwrap();
    }
    l.commit().unwrap();
}

fn draft() -> TopicDraft {
    TopicDraft {
        room: RoomId(2),
        title: "电动自行车充电桩建设".into(),
        summary: "在东门内侧建设充电车棚。".into(),
        category: Category::EvCharging,
        eligible: EligibleArea::Community {
            community: CommunityId(1),
        },
        ballot: Ballot::approve_oppose_abstain(),
    }
}

/// Proposes a topic and takes it to consultation, voting open T0+100 .. T0+10000.
fn open_topic(store: &mut Store) -> TopicId {
    let topic = store
        .propose_topic(draft(), Timestamp(T0), convener())
        .unwrap();
    let id = topic.id;
    store
        .take_step(
            id,
            Step::Confirm,
            Timestamp(T0 + 10),
            overseer(),
            "同意",
            StepDetails::default(),
        )
        .unwrap();
    store
        .take_step(
            id,
            Step::BeginResearch,
            Timestamp(T0 + 20),
            convener(),
            "",
            StepDetails::default(),
        )
        .unwrap();
    store
        .record_fact(
            id,
            Timestamp(T0 + 30),
            convener(),
            Fact::ResearchFinding {
                title: "摸排".into(),
                text: "楼道停车四十辆。".into(),
                materials: vec![],
            },
        )
        .unwrap();
    let details = StepDetails {
        session: Some(Session {
            starts_at: Timestamp(T0 + 500),
            place: "议事厅".into(),
        }),
        voting: Some(VotingWindow {
            opens_at: Timestamp(T0 + 100),
            closes_at: Timestamp(T0 + 10_000),
        }),
        ..StepDetails::default()
    };
    store
        .take_step(
            id,
            Step::OpenConsultation,
            Timestamp(T0 + 100),
            convener(),
            "",
            details,
        )
        .unwrap();
    id
}

fn vote(topic: TopicId, n: u64, option: &str, at: i64) -> VoteInput {
    VoteInput {
        topic,
        card: card(n),
        option: option.into(),
        sent_at: Timestamp(T0 + at),
        received_at: Timestamp(T0 + at),
    }
}

fn fresh() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.db");
    let mut store = Store::open(&path).unwrap();
    tiny_city(&mut store);
    (dir, path, store)
}

#[test]
fn latest_vote_counts_and_history_stays() {
    let (_dir, path, mut store) = fresh();
    let id = open_topic(&mut store);
    assert!(matches!(
        store.cast_vote(&vote(id, 1, "approve", 200)),
        Ok(VoteOutcome::Counted { .. })
    ));
    assert!(matches!(
        store.cast_vote(&vote(id, 3, "oppose", 210)),
        Ok(VoteOutcome::Counted { .. })
    ));
    // Household 1 changes its mind; a delayed earlier vote arriving later does not win.
    assert!(matches!(
        store.cast_vote(&vote(id, 1, "oppose", 300)),
        Ok(VoteOutcome::Counted { .. })
    ));
    assert!(matches!(
        store.cast_vote(&vote(id, 1, "abstain", 250)),
        Ok(VoteOutcome::Superseded { .. })
    ));
    let tally = store.tally(id).unwrap();
    assert_eq!(
        tally.options.iter().map(|o| o.count).collect::<Vec<_>>(),
        vec![0, 2, 0]
    );
    assert_eq!(tally.voters, 2);
    assert_eq!(tally.eligible_households, 4);
    assert_eq!(tally.by_grid.len(), 2);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let history: i64 = raw
        .query_row("SELECT count(*) FROM votes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(history, 4);
    // Refusals change nothing.
    let unknown = store.cast_vote(&vote(id, 2, "maybe", 400));
    assert!(matches!(
        unknown,
        Err(StoreError::Refused(Refusal::UnknownOption(_)))
    ));
    let late = store.cast_vote(&vote(id, 2, "approve", 10_000));
    assert!(matches!(
        late,
        Err(StoreError::Refused(Refusal::CastAfterClose))
    ));
    let stranger = store.cast_vote(&VoteInput {
        card: card(99),
        ..vote(id, 2, "approve", 400)
    });
    assert!(matches!(
        stranger,
        Err(StoreError::NotFound { what: "card", .. })
    ));
    assert_eq!(store.tally(id).unwrap().voters, 2);
}

#[test]
fn only_the_chosen_grids_vote() {
    let (_dir, _path, mut store) = fresh();
    let mut d = draft();
    d.eligible = EligibleArea::Grids {
        community: CommunityId(1),
        grids: vec![GridId(2)],
    };
    let topic = store.propose_topic(d, Timestamp(T0), convener()).unwrap();
    let outside = EligibleArea::Grids {
        community: CommunityId(1),
        grids: vec![GridId(99)],
    };
    let refused = store.propose_topic(
        TopicDraft {
            eligible: outside,
            ..draft()
        },
        Timestamp(T0),
        convener(),
    );
    assert!(matches!(refused, Err(StoreError::Area(_))), "{refused:?}");
    assert_eq!(store.topic(topic.id).unwrap().stage, Stage::Proposed);
}

#[test]
fn consensus_freezes_the_tally_into_the_record() {
    let (_dir, _path, mut store) = fresh();
    let id = open_topic(&mut store);
    store.cast_vote(&vote(id, 1, "approve", 200)).unwrap();
    store.cast_vote(&vote(id, 2, "approve", 200)).unwrap();
    let details = StepDetails {
        consensus: Some("建设充电车棚一处。".into()),
        ..StepDetails::default()
    };
    store
        .take_step(
            id,
            Step::DraftConsensus,
            Timestamp(T0 + 10_001),
            convener(),
            "",
            details,
        )
        .unwrap();
    let record = store.record(id).unwrap();
    let last = record.last().unwrap();
    assert!(
        last.fact.contains("\"tally\"") && last.fact.contains("\"count\":2"),
        "{}",
        last.fact
    );
    // Voting is closed now, even inside the grace period.
    let closed = store.cast_vote(&vote(id, 3, "approve", 9_000));
    assert!(matches!(
        closed,
        Err(StoreError::Refused(Refusal::TopicClosed(Stage::Consensus)))
    ));
}

#[test]
fn illegal_steps_are_refused_naming_where_the_topic_stands() {
    let (_dir, _path, mut store) = fresh();
    let topic = store
        .propose_topic(draft(), Timestamp(T0), convener())
        .unwrap();
    let err = store.take_step(
        topic.id,
        Step::Approve,
        Timestamp(T0 + 1),
        overseer(),
        "",
        StepDetails::default(),
    );
    let message = err.map(|_| ()).unwrap_err().to_string();
    assert_eq!(
        message,
        "cannot approve a topic that is proposed; allowed from proposed: confirm, reject, withdraw"
    );
    assert_eq!(store.record(topic.id).unwrap().len(), 1);
}

#[test]
fn comments_are_moderated_and_never_deleted() {
    let (_dir, path, mut store) = fresh();
    let id = open_topic(&mut store);
    let good = store
        .submit_comment(
            id,
            &card(1),
            "支持，早该建了。",
            Timestamp(T0 + 200),
            Timestamp(T0 + 200),
        )
        .unwrap();
    let bad = store
        .submit_comment(
            id,
            &card(2),
            "广告：低价装修",
            Timestamp(T0 + 201),
            Timestamp(T0 + 201),
        )
        .unwrap();
    assert!(
        store
            .submit_comment(
                id,
                &card(2),
                &"长".repeat(201),
                Timestamp(T0 + 202),
                Timestamp(T0 + 202)
            )
            .is_err()
    );
    assert_eq!(store.comments("pending", Some(id), 10).unwrap().len(), 2);
    store
        .decide_comment(good, &Decision::Accept, Timestamp(T0 + 300), moderator())
        .unwrap();
    store
        .decide_comment(
            bad,
            &Decision::Reject {
                reason: "广告内容".into(),
            },
            Timestamp(T0 + 301),
            moderator(),
        )
        .unwrap();
    assert!(
        store
            .decide_comment(bad, &Decision::Accept, Timestamp(T0 + 302), moderator())
            .is_err()
    );
    assert_eq!(store.comments("accepted", Some(id), 10).unwrap().len(), 1);
    assert_eq!(store.comments("rejected", Some(id), 10).unwrap().len(), 1);
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert!(
        raw.execute("DELETE FROM comments WHERE id = ?1", [bad.0])
            .is_err()
    );
    let decisions = store
        .record(id)
        .unwrap()
        .iter()
        .filter(|e| e.fact.contains("comment_decision"))
        .count();
    assert_eq!(decisions, 2);
    assert!(store.verify_topic(id).unwrap().error.is_none());
}

#[test]
fn the_record_table_refuses_update_and_delete() {
    let (_dir, path, mut store) = fresh();
    let id = open_topic(&mut store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let update = raw.execute(
        "UPDATE record_entries SET at = at + 1 WHERE topic_id = ?1",
        [id.0],
    );
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = raw.execute("DELETE FROM record_entries WHERE topic_id = ?1", [id.0]);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    store.integrity_check().unwrap();
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(Store::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", 99).unwrap();
    drop(raw);
    let err = Store::open(&path).err().unwrap();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn receipts_written_before_migration_6_keep_their_ids_and_kinds_are_still_checked() {
    // A database as shangyi left it at schema version 5, with two receipts in it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    store::testing::database_at_version(&path, 5).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let receipt =
        "INSERT INTO rc_receipts (id, card_id, seq, tag, kind, status, sent_at, received_at)
                   VALUES (?1, '8600000000000001', ?2, zeroblob(32), ?3, ?4, 1, 2)";
    raw.execute(receipt, rusqlite::params![7, 1, "vote", "stored"])
        .unwrap();
    raw.execute(receipt, rusqlite::params![9, 2, "comment", "topic_closed"])
        .unwrap();
    drop(raw);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), store::SCHEMA_VERSION);
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let rows: Vec<(i64, i64, String, String)> = raw
        .prepare("SELECT id, seq, kind, status FROM rc_receipts ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            (7, 1, "vote".to_owned(), "stored".to_owned()),
            (9, 2, "comment".to_owned(), "topic_closed".to_owned())
        ]
    );
    // The rule is the same, written as comparisons.
    for kind in ["vote", "comment", "notice_seen"] {
        raw.execute(
            "INSERT INTO rc_receipts (card_id, seq, tag, kind, status, sent_at, received_at)
             VALUES ('8600000000000001', 3, zeroblob(32), ?1, 'stored', 1, 2)",
            [kind],
        )
        .unwrap();
    }
    let refused = raw.execute(
        "INSERT INTO rc_receipts (card_id, seq, tag, kind, status, sent_at, received_at)
         VALUES ('8600000000000001', 4, zeroblob(32), 'Vote', 'stored', 1, 2)",
        [],
    );
    assert!(refused.is_err(), "a kind outside the three is refused");
}

/// Tampers with the record directly in SQLite, the way someone with the file and the sqlite3
/// shell could: triggers dropped first.
fn tamper(path: &std::path::Path, sql: &str) {
    let raw = rusqlite::Connection::open(path).unwrap();
    raw.execute_batch(
        "DROP TRIGGER record_entries_never_change; DROP TRIGGER record_entries_never_vanish;",
    )
    .unwrap();
    raw.execute_batch(sql).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_single_tampering_in_the_database_is_found(kind in 0usize..6, pick in 0usize..100) {
        let (_dir, path, mut store) = fresh();
        let id = open_topic(&mut store);
        store.cast_vote(&vote(id, 1, "approve", 200)).unwrap();
        let c = store.submit_comment(id, &card(3), "同意", Timestamp(T0 + 210), Timestamp(T0 + 210)).unwrap();
        store.decide_comment(c, &Decision::Accept, Timestamp(T0 + 220), moderator()).unwrap();
        let before = store.verify_records(None, &[]).unwrap();
        prop_assert!(before.ok());
        let head = Digest::from_hex(&store.verify_topic(id).unwrap().head.unwrap()).unwrap();
        let n = store.record(id).unwrap().len() as i64;
        let seq = 1 + (pick as i64 % n);
        let other = 1 + ((pick as i64 + 1) % n);
        let t = id.0;
        let sql = match kind {
            0 => format!("UPDATE record_entries SET at = at + 1 WHERE topic_id = {t} AND seq = {seq};"),
            5 => format!("UPDATE record_entries SET fact = substr(fact, 1, length(fact) - 1) || ',\"edited\":true}}' WHERE topic_id = {t} AND seq = {seq};"),
            1 => format!("DELETE FROM record_entries WHERE topic_id = {t} AND seq = {seq}; UPDATE topics SET record_seq = record_seq WHERE id = {t};"),
            2 => format!("UPDATE record_entries SET seq = 1000000 WHERE topic_id = {t} AND seq = {seq}; UPDATE record_entries SET seq = {seq} WHERE topic_id = {t} AND seq = {other}; UPDATE record_entries SET seq = {other} WHERE topic_id = {t} AND seq = 1000000;"),
            3 => format!("INSERT INTO record_entries SELECT topic_id, {n} + 1, at, actor_role, actor_name, kind, fact, prev_hash, hash FROM record_entries WHERE topic_id = {t} AND seq = {seq};"),
            _ => format!("DELETE FROM record_entries WHERE topic_id = {t} AND seq = {n};"),
        };
        tamper(&path, &sql);
        let swapped_with_itself = kind == 2 && seq == other;
        let after = store.verify_records(None, &[head]).unwrap();
        if swapped_with_itself {
            prop_assert!(after.ok());
        } else {
            prop_assert!(!after.ok(), "tampering {kind} at {seq} went unnoticed");
        }
    }
}

#[test]
fn tokens_are_found_by_their_secret_and_stored_only_as_hashes() {
    use consult::access::{Credential, Scope, TokenRole};
    let (_dir, path, mut store) = fresh();
    let worker = Credential {
        role: TokenRole::GridWorker,
        scope: Scope::Grids {
            community: CommunityId(1),
            grids: vec![GridId(2)],
        },
        name: "李芳".into(),
    };
    store
        .create_token("s3cret-grid-worker", &worker, Timestamp(T0))
        .unwrap();
    assert_eq!(
        store.credential("s3cret-grid-worker").unwrap(),
        Some(worker.clone())
    );
    assert_eq!(store.credential("wrong").unwrap(), None);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let stored: String = raw
        .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_ne!(stored, "s3cret-grid-worker");
    assert_eq!(stored, store::token_hash("s3cret-grid-worker"));
    // A grid outside the community is refused; so is a role without its scope.
    let outside = Credential {
        scope: Scope::Grids {
            community: CommunityId(1),
            grids: vec![GridId(99)],
        },
        ..worker.clone()
    };
    assert!(store.create_token("x", &outside, Timestamp(T0)).is_err());
    let unscoped = Credential {
        role: TokenRole::Convener,
        scope: Scope::City,
        name: "某".into(),
    };
    assert!(store.create_token("y", &unscoped, Timestamp(T0)).is_err());
    assert!(
        store
            .revoke_token("s3cret-grid-worker", Timestamp(T0 + 1))
            .unwrap()
    );
    assert_eq!(store.credential("s3cret-grid-worker").unwrap(), None);
}

/// One thing that can happen to a topic's votes, for the property below.
#[derive(Clone, Debug)]
enum VoteEvent {
    /// Household `h`'s box sends a vote (its next seq), signed `sent` seconds after T0.
    FromBox { h: u64, option: usize, sent: i64 },
    /// Household `h` votes through another connection (`cast_vote`), beside the writer.
    Cast { h: u64, option: usize, sent: i64 },
    /// The writer settles `current_votes`.
    Settle,
    /// The writer dies before it settles; a new one starts from the database.
    Crash,
    /// Household `h`'s box sends a vote while the disk is full: the write fails, the box gets
    /// no ack, and it sends the same message again once there is room.
    DiskFull { h: u64, option: usize, sent: i64 },
}

fn vote_event() -> impl Strategy<Value = VoteEvent> {
    prop_oneof![
        6 => (1u64..=4, 0usize..3, 200i64..5_200).prop_map(|(h, option, sent)| VoteEvent::FromBox { h, option, sent }),
        2 => (1u64..=4, 0usize..3, 200i64..5_200).prop_map(|(h, option, sent)| VoteEvent::Cast { h, option, sent }),
        1 => Just(VoteEvent::Settle),
        1 => Just(VoteEvent::Crash),
        2 => (1u64..=4, 0usize..3, 200i64..5_200).prop_map(|(h, option, sent)| VoteEvent::DiskFull { h, option, sent }),
    ]
}

/// Makes every write of a vote fail, as a full disk does, until [`disk_has_room`]: a trigger,
/// so that the failure comes in the middle of the writer's transaction, after its receipt row.
fn disk_full(path: &std::path::Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER disk_full BEFORE INSERT ON votes \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
}

fn disk_has_room(path: &std::path::Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("DROP TRIGGER disk_full;")
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever mix of box votes, votes cast beside the writer, settles, crashes and writes
    /// that fail: the writer never finds its tally inconsistent, a message whose write failed
    /// is stored when sent again (not taken for a duplicate), and once settled,
    /// `current_votes` counts exactly what the tally counts.
    #[test]
    fn counted_votes_agree_with_the_tally(events in prop::collection::vec(vote_event(), 1..30)) {
        let (_dir, path, mut store) = fresh();
        let topic = open_topic(&mut store);
        let options = ["approve", "oppose", "abstain"];
        let config = store::IngestConfig::default();
        let mut memory = store.load_ingest_memory().unwrap();
        let mut beside = Store::open(&path).unwrap();
        let mut next_seq = [0u64; 5];
        for event in &events {
            match event {
                VoteEvent::FromBox { h, option, sent } | VoteEvent::DiskFull { h, option, sent } => {
                    next_seq[*h as usize] += 1;
                    let seq = next_seq[*h as usize];
                    let mut tag = [0u8; 32];
                    tag[..8].copy_from_slice(&(h * 1_000 + seq).to_be_bytes());
                    let message = store::IngestMessage {
                        card: card(*h),
                        seq,
                        sent_at: Timestamp(T0 + sent),
                        tag,
                        verified: true,
                        body: store::IngestBody::Vote { topic, option: options[*option].into() },
                    };
                    if matches!(event, VoteEvent::DiskFull { .. }) {
                        disk_full(&path);
                        let failed = store.ingest(
                            &mut memory,
                            std::slice::from_ref(&message),
                            Timestamp(T0 + 5_300),
                            &config,
                        );
                        prop_assert!(failed.is_err(), "{event:?}: {failed:?}");
                        disk_has_room(&path);
                    }
                    let outcomes = store
                        .ingest(&mut memory, &[message], Timestamp(T0 + 5_300), &config)
                        .unwrap_or_else(|e| panic!("{event:?}: {e}"));
                    prop_assert_eq!(outcomes, vec![store::IngestOutcome::Stored]);
                }
                VoteEvent::Cast { h, option, sent } => {
                    beside.cast_vote(&vote(topic, *h, options[*option], *sent)).unwrap();
                }
                VoteEvent::Settle => {
                    store.settle_current_votes(&mut memory).unwrap();
                }
                VoteEvent::Crash => {
                    memory = store.load_ingest_memory().unwrap();
                }
            }
        }
        store.settle_current_votes(&mut memory).unwrap();
        let _ = store.load_ingest_memory().unwrap(); // settles anything left from the history
        let tally = store.tally(topic).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        for option in &tally.options {
            let counted: i64 = conn
                .query_row(
                    "SELECT count(*) FROM current_votes WHERE topic_id = ?1 AND option = ?2",
                    rusqlite::params![topic.0, option.key],
                    |r| r.get(0),
                )
                .unwrap();
            prop_assert_eq!(counted as u64, option.count, "option {}", option.key);
        }
        let voters: i64 = conn
            .query_row("SELECT count(DISTINCT household_id) FROM votes WHERE topic_id = ?1", [topic.0], |r| r.get(0))
            .unwrap();
        prop_assert_eq!(voters as u64, tally.voters);
    }
}
