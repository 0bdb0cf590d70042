//! User story: a convener runs a consultation end to end against a running `shangyi serve`.
//! Over the API the convener of community 1's room proposes a topic for the community, the
//! room's overseer confirms it, the convener begins research, attaches a finding and opens
//! consultation with a voting window around now. The next bundle of community 1 carries the
//! topic with its ballot open; three households vote on it from their boxes (the emulator,
//! sending over the return channel) and one of them sends a comment with the remote. A
//! moderator finds the comment in the pending queue and accepts it; the following bundle
//! version carries the tally and the accepted comment, and a box shows them on the results and
//! comments screens. The printable HTML report charts the tally, and once the service is
//! stopped the topic's record verifies.
//!
//! Runs the real `shangyi` binary: `fixtures load`, `serve`, `tokens create`, `cards
//! provision`, `bundle verify`, `emulate --server`, `record verify`.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use consult::time::Timestamp;
use emulator::{BoxConfig, BoxContent, Provisioning, SetTopBox};
use serde_json::Value;
use shangyi_e2e::{
    Response, Scratch, Serve, load_small_city, now, poll, provision, run, snapshot_bundle, stdout,
    token,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

const COMMUNITY: i64 = 1;
const TITLE: &str = "5幢楼道加装声控照明";

/// A query's first column, with the community as its one parameter.
fn db_query<T: rusqlite::types::FromSql>(db: &str, sql: &str) -> Vec<T> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut query = conn.prepare(sql).unwrap();
    query
        .query_map([COMMUNITY], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn expect(response: Response, status: u16) -> Value {
    assert_eq!(response.status, status, "{response}");
    response.json()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Waits for a version of community 1's bundle after `after` for which `shows` holds (the
/// service may build more than one version while a burst of writes comes in), and returns a
/// verified copy of it and its version.
fn wait_for_bundle_showing(
    serve: &Serve,
    operator: &str,
    after: u64,
    dest: &Path,
    what: &str,
    shows: impl Fn(&Path) -> bool,
) -> (PathBuf, u64) {
    let mut seen = after;
    poll(
        &format!("a bundle version after {after} with {what}"),
        Duration::from_secs(30),
        || serve.log(),
        || {
            let listed = serve.bundle_version(operator, COMMUNITY)?;
            if listed <= seen {
                return None;
            }
            let (bundle, version) = snapshot_bundle(&serve.bundles_dir(), COMMUNITY, dest);
            seen = version;
            shows(&bundle).then_some((bundle, version))
        },
    )
}

/// The topic in a bundle's screen data (`topics/community.json`) and its place in the list
/// (home shows the list's first topics in order).
fn topic_in(bundle: &Path, topic: i64) -> Option<(usize, Value)> {
    let data = read_json(&bundle.join("topics/community.json"));
    data["topics"]
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, t)| t["id"] == topic)
        .map(|(i, t)| (i, t.clone()))
}

/// Remote keys from power-on to the topic's detail screen: down the home list, OK.
fn to_topic(index: usize) -> String {
    let mut keys = "DOWN ".repeat(index);
    keys.push_str("OK");
    keys
}

/// Runs `shangyi emulate` on a bundle at the current time, pressing `keys`.
fn emulate(bundle: &Path, card: &Path, keys: &str, extra: &[&str]) -> String {
    let at = Timestamp(now()).to_rfc3339();
    let mut args = vec![
        "emulate".to_owned(),
        "--bundle".to_owned(),
        bundle.display().to_string(),
        "--provision".to_owned(),
        card.display().to_string(),
        "--at".to_owned(),
        at,
        "--keys".to_owned(),
        keys.to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stdout(&run(&args, 0))
}

/// The text a layout document shows, one string per text node.
fn texts(stb: &SetTopBox) -> Vec<String> {
    let document: Value = serde_json::from_str(&stb.document().unwrap().to_json()).unwrap();
    document["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| node["kind"] == "text")
        .map(|node| {
            node["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|line| line["text"].as_str())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn a_topic_goes_from_proposal_to_a_charted_tally_with_households_votes_and_a_comment() {
    let scratch = Scratch::new();
    let db = scratch.db();
    load_small_city(&scratch);
    let room = db_query::<i64>(&db, "SELECT id FROM rooms WHERE community_id = ?1")[0];
    let cards = db_query::<String>(
        &db,
        "SELECT s.card_id FROM set_top_boxes s JOIN households h ON h.id = s.household_id
         JOIN grids g ON g.id = h.grid_id WHERE g.community_id = ?1 ORDER BY s.card_id",
    );
    assert!(cards.len() >= 3, "{cards:?}");

    let serve = Serve::start(&db);
    let room_arg = room.to_string();
    let convener = token(&db, &["--role", "convener", "--room", &room_arg]);
    let overseer = token(&db, &["--role", "overseer", "--room", &room_arg]);
    let moderator = token(&db, &["--role", "moderator"]);
    let operator = token(&db, &["--role", "operator"]);
    let first = serve.wait_for_bundle(&operator, COMMUNITY);

    // The convener proposes; the overseer confirms (the convener may not); research, a
    // finding; consultation opens with a voting window around now.
    let proposed = expect(
        serve.post(
            "/api/v1/topics",
            Some(&convener),
            &format!(
                r#"{{"title":"{TITLE}","summary":"5幢楼道灯损坏多年，拟加装声控照明。","category":"other","eligible":{{"kind":"community","community":{COMMUNITY}}}}}"#
            ),
        ),
        201,
    );
    let topic = proposed["topic"]["id"].as_i64().unwrap();
    assert_eq!(proposed["topic"]["stage"], "proposed");
    let steps = format!("/api/v1/topics/{topic}/steps");
    let refused = serve.post(
        &steps,
        Some(&convener),
        r#"{"step":"confirm","note":"同意"}"#,
    );
    assert_eq!(refused.status, 403, "{refused}");
    assert_eq!(refused.json()["error"]["code"], "forbidden");
    expect(
        serve.post(
            &steps,
            Some(&overseer),
            r#"{"step":"confirm","note":"同意列入"}"#,
        ),
        200,
    );
    expect(
        serve.post(&steps, Some(&convener), r#"{"step":"begin_research"}"#),
        200,
    );
    expect(
        serve.post(
            &format!("/api/v1/topics/{topic}/findings"),
            Some(&convener),
            r#"{"title":"入户调查","text":"3户中3户支持加装。","materials":["问卷.pdf"]}"#,
        ),
        201,
    );
    let now = now();
    let opened = expect(
        serve.post(
            &steps,
            Some(&convener),
            &format!(
                r#"{{"step":"open_consultation","note":"定于下周协商","session":{{"starts_at":"{}","place":"议事厅"}},"voting":{{"opens_at":"{}","closes_at":"{}"}}}}"#,
                Timestamp(now + 86_400).to_rfc3339(),
                Timestamp(now - 3_600).to_rfc3339(),
                Timestamp(now + 2 * 86_400).to_rfc3339(),
            ),
        ),
        200,
    );
    assert_eq!(opened["topic"]["stage"], "consultation");

    // The community's next bundle carries the topic, its ballot open and its finding.
    let (bundle, opened_version) = wait_for_bundle_showing(
        &serve,
        &operator,
        first,
        &scratch.dir.path().join("opened"),
        "the topic open for votes",
        |bundle| topic_in(bundle, topic).is_some_and(|(_, t)| t["ballot"]["open"] == true),
    );
    let (index, shown) = topic_in(&bundle, topic).unwrap();
    assert_eq!(shown["title"], TITLE);
    assert_eq!(shown["stage"], "consultation");
    assert!(
        shown["research"].to_string().contains("3户中3户支持加装"),
        "{shown}"
    );
    let phrase = read_json(&bundle.join("topics/community.json"))["phrases"][0]
        .as_str()
        .unwrap()
        .to_owned();

    // Three households vote from their boxes: two for, one against.
    let provisions: Vec<PathBuf> = cards[..3]
        .iter()
        .map(|card| provision(&scratch, &db, card))
        .collect();
    let server = serve.url();
    for (card, (option, downs)) in
        provisions
            .iter()
            .zip([("approve", 0), ("approve", 0), ("oppose", 1)])
    {
        let keys = format!("{} RED {}OK OK", to_topic(index), "DOWN ".repeat(downs));
        let printout = emulate(&bundle, card, &keys, &["--server", &server]);
        for line in [
            format!("topic-detail {topic} "),
            format!("vote-receipt {topic}/{option} "),
            format!("the headend has it (vote: topic {topic}, option {option})"),
            "1 stored, 0 already there, 0 refused".to_owned(),
            "outbox: empty".to_owned(),
        ] {
            assert!(printout.contains(&line), "{line:?} not in:\n{printout}");
        }
    }

    // The third household also comments: the first phrase, building 12 typed with the digits.
    let comment = format!("{phrase}（12幢）");
    let printout = emulate(
        &bundle,
        &provisions[2],
        &format!("{} GREEN OK RIGHT OK 1 2 GREEN", to_topic(index)),
        &["--server", &server],
    );
    for line in [
        format!("comment-receipt {topic} "),
        format!("the headend has it (comment: topic {topic}, “{comment}”)"),
        "outbox: empty".to_owned(),
    ] {
        assert!(printout.contains(&line), "{line:?} not in:\n{printout}");
    }

    // The moderator's queue holds it (the convener may not read the queue); accepted.
    let queue = format!("/api/v1/comments?state=pending&topic={topic}");
    assert_eq!(serve.must_get(&queue, Some(&convener)).status, 403);
    let pending = expect(serve.must_get(&queue, Some(&moderator)), 200);
    let pending = pending["comments"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["text"], comment.as_str());
    let comment_id = pending[0]["id"].as_i64().unwrap();
    let decided = expect(
        serve.post(
            &format!("/api/v1/comments/{comment_id}/decision"),
            Some(&moderator),
            r#"{"decision":"accept"}"#,
        ),
        200,
    );
    assert_eq!(decided["comment"]["moderation"]["state"], "accepted");
    let still = expect(serve.must_get(&queue, Some(&moderator)), 200);
    assert_eq!(still["comments"], serde_json::json!([]));

    // The following bundle version carries the tally and the accepted comment.
    let (bundle, _) = wait_for_bundle_showing(
        &serve,
        &operator,
        opened_version,
        &scratch.dir.path().join("decided"),
        "the three votes and the accepted comment",
        |bundle| {
            let tally = read_json(&bundle.join(format!("tallies/{topic}.json")));
            let comments = std::fs::read_to_string(bundle.join(format!("comments/{topic}.json")))
                .unwrap_or_default();
            tally["voted"] == 3 && comments.contains(&comment)
        },
    );
    let tally = read_json(&bundle.join(format!("tallies/{topic}.json")));
    let votes = |key: &str| {
        tally["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["key"] == key)
            .map(|o| o["votes"].clone())
    };
    assert_eq!(
        (votes("approve"), votes("oppose"), votes("abstain")),
        (Some(2.into()), Some(1.into()), Some(0.into())),
        "{tally}"
    );
    assert_eq!(tally["households"], 3, "{tally}");

    // A box shows them: BLUE on the topic is its results, YELLOW the accepted comments. The
    // binary goes through those screens; the library, on the same bundle, has their text.
    let frames = scratch.dir.path().join("frames");
    let keys = format!("{} BLUE BACK YELLOW", to_topic(index));
    let printout = emulate(
        &bundle,
        &provisions[0],
        &keys,
        &[
            "--frames",
            &frames.display().to_string(),
            "--outbox",
            &scratch
                .dir
                .path()
                .join("viewer.outbox")
                .display()
                .to_string(),
        ],
    );
    assert!(
        printout.contains(&format!("results {topic} ")),
        "{printout}"
    );
    assert!(
        printout.contains(&format!("comments {topic} ")),
        "{printout}"
    );
    let mut stb = SetTopBox::start(
        BoxContent::from_bundle(&bundle, None).unwrap(),
        Provisioning::parse(&std::fs::read(&provisions[0]).unwrap()).unwrap(),
        BoxConfig {
            theme: "standard".into(),
            at: self::now(),
            outbox: scratch.dir.path().join("library.outbox"),
        },
    )
    .unwrap();
    for key in emulator::keys::parse_sequence(&format!("{} BLUE", to_topic(index))).unwrap() {
        stb.press(key).unwrap();
    }
    assert_eq!(stb.screen(), "results");
    let results = texts(&stb);
    for want in ["参与 3 户 / 共 3 户", "赞成", "反对", "2 票", "1 票"] {
        assert!(
            results.iter().any(|t| t.contains(want)),
            "{want:?} not on the results screen: {results:?}"
        );
    }
    for key in emulator::keys::parse_sequence("BACK YELLOW").unwrap() {
        stb.press(key).unwrap();
    }
    assert_eq!(stb.screen(), "comments");
    let comments = texts(&stb);
    assert!(
        comments.iter().any(|t| t.contains(&comment)),
        "{comment:?} not on the comments screen: {comments:?}"
    );

    // The printable report charts the tally in SVG, and its record holds the decision.
    let report = serve.must_get(&format!("/api/v1/topics/{topic}/report.html"), None);
    assert_eq!(report.status, 200, "{report}");
    assert!(
        report
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        report.content_type
    );
    let html = report.text();
    let start = html.find("<svg").expect("an SVG chart in the report");
    let end = start + html[start..].find("</svg>").expect("the chart's end");
    let chart = &html[start..end];
    let row = |label: &str| {
        let at = chart
            .find(&format!(">{label}<"))
            .unwrap_or_else(|| panic!("no {label} row in the chart: {chart}"));
        let rest = &chart[at..];
        // The row's caption is the first "N 票" after its label.
        let caption = rest.find(" 票").unwrap();
        rest[..caption]
            .rsplit('>')
            .next()
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(
        (row("赞成"), row("反对"), row("弃权")),
        ("2".to_owned(), "1".to_owned(), "0".to_owned()),
        "{chart}"
    );
    assert!(html.contains("参与 3 户 / 共 3 户"), "{html}");
    assert!(html.contains(&comment), "the moderation entry: {html}");

    // Stopped, the service leaves a record that verifies.
    serve.stop();
    let verified = stdout(&run(
        &["record", "verify", "--db", &db, &topic.to_string()],
        0,
    ));
    assert!(
        verified.contains(&format!("head of topic {topic}: ")),
        "{verified}"
    );
}
