//! User story: a convener (or anyone with the database) loads the demo city, lists topics at a
//! stage, reads a topic's record, and verifies that no record has been altered; someone who
//! edits the record behind shangyi's back is caught, and a published checkpoint catches a
//! truncation.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use shangyi_e2e::{Scratch, load_small_city, run, stdout};

#[test]
fn demo_city_loads_with_1301_rooms_and_every_record_verifies() {
    let scratch = Scratch::new();
    let db = scratch.db();
    let loaded = stdout(&load_small_city(&scratch));
    assert!(
        loaded.contains("1301 rooms (82 town-level, 1219 community-level)"),
        "{loaded}"
    );

    let raw = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let rooms: i64 = raw
        .query_row("SELECT count(*) FROM rooms", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rooms, 1301);
    // Every stage of the procedure is present in the demo.
    for stage in [
        "proposed",
        "confirmed",
        "rejected",
        "research",
        "consultation",
        "consensus",
        "reported",
        "approved",
        "returned",
        "implementing",
        "completed",
        "archived",
        "withdrawn",
    ] {
        let listed = stdout(&run(
            &[
                "topics", "list", "--db", &db, "--stage", stage, "--limit", "3",
            ],
            0,
        ));
        let first = listed
            .lines()
            .next()
            .unwrap_or_else(|| panic!("no topic at {stage}"));
        let columns: Vec<&str> = first.split('\t').collect();
        assert_eq!(columns[1], stage);
        assert!(
            columns[0].parse::<i64>().is_ok(),
            "the id comes first: {first}"
        );
    }
    let unknown = run(&["topics", "list", "--db", &db, "--stage", "voting"], 2);
    assert!(shangyi_e2e::stderr(&unknown).contains("unknown stage \"voting\""));

    let verified = stdout(&run(&["record", "verify", "--db", &db], 0));
    assert!(verified.starts_with("ok: "), "{verified}");

    // A topic's record, and the head to publish.
    let show = stdout(&run(&["record", "show", "--db", &db, "1"], 0));
    assert!(show.contains("\"kind\":\"proposed\""), "{show}");
    let one = stdout(&run(&["record", "verify", "--db", &db, "1"], 0));
    let head = one
        .lines()
        .find_map(|l| l.strip_prefix("head of topic 1: "))
        .unwrap()
        .to_owned();

    // The table refuses changes...
    assert!(
        raw.execute(
            "UPDATE record_entries SET at = at + 1 WHERE topic_id = 1",
            []
        )
        .is_err()
    );
    assert!(
        raw.execute("DELETE FROM record_entries WHERE topic_id = 1", [])
            .is_err()
    );

    // ...and when someone drops the triggers and cuts the record short, the chain still looks
    // whole but the published head is gone.
    raw.execute_batch(
        "DROP TRIGGER record_entries_never_vanish; DROP TRIGGER record_entries_never_change;",
    )
    .unwrap();
    let last: i64 = raw
        .query_row(
            "SELECT max(seq) FROM record_entries WHERE topic_id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    raw.execute(
        "DELETE FROM record_entries WHERE topic_id = 1 AND seq = ?1",
        [last],
    )
    .unwrap();
    raw.execute("UPDATE topics SET record_seq = record_seq - 1, record_head = (SELECT hash FROM record_entries WHERE topic_id = 1 AND seq = ?1) WHERE id = 1", [last - 1]).unwrap();
    let cut = stdout(&run(
        &["record", "verify", "--db", &db, "--checkpoint", &head],
        1,
    ));
    assert!(
        cut.contains(&format!("checkpoint {head} is not in the record")),
        "{cut}"
    );

    // An edited entry is named.
    let changed = raw
        .execute(
            "UPDATE record_entries SET actor_name = '冒名顶替' WHERE topic_id = 2 AND seq = 1",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let edited = stdout(&run(&["record", "verify", "--db", &db], 1));
    assert!(
        edited.contains("first bad entry: topic 2 entry 1"),
        "{edited}"
    );
}

#[test]
fn commands_on_a_missing_database_say_what_to_do() {
    let scratch = Scratch::new();
    let output = run(&["topics", "list", "--db", &scratch.db()], 2);
    assert!(shangyi_e2e::stderr(&output).contains("load the demo city first"));
}
