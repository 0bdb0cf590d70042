//! User story: a grid worker, with a token for one grid of community 1, pushes an urgent
//! notice to that grid over the API of a running `shangyi serve`. The service rebuilds the
//! community's bundle on its own; a household's box in that grid, loaded with the new version,
//! shows the notice's banner on home and the notice in its list, while a box in another grid of
//! the same community shows neither. The same token is refused (403) for the other grid, and a
//! request without a token is refused (401). When the worker cancels the notice, the banner is
//! gone from the following version.
//!
//! Runs the real `shangyi` binary: `fixtures load`, `serve`, `tokens create`, `cards
//! provision`, `bundle verify`, `emulate`. What the boxes show is checked twice: on the
//! emulator's output (screens it went through, messages it queued) and on the frame it drew,
//! which must be the home screen the emulator library lays out from the same bundle, for the
//! same card and clock, with (or without) the banner's text.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use consult::time::Timestamp;
use emulator::{BoxConfig, BoxContent, Provisioning, SetTopBox};
use shangyi_e2e::{
    Scratch, Serve, load_small_city, now, provision, run, snapshot_bundle, stdout, token,
};
use std::path::Path;

const COMMUNITY: i64 = 1;
const TITLE: &str = "明日停水";

/// Every set-top box of the community, with its grid: (card id, grid id), by card.
fn boxes(db: &str, community: i64) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut query = conn
        .prepare(
            "SELECT s.card_id, h.grid_id FROM set_top_boxes s
             JOIN households h ON h.id = s.household_id
             JOIN grids g ON g.id = h.grid_id
             WHERE g.community_id = ?1 ORDER BY s.card_id",
        )
        .unwrap();
    query
        .query_map([community], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// What one box showed: the emulator's printout and the home frame it drew.
struct Shown {
    printout: String,
    home_frame: render::Pixmap,
    /// The text on the home screen the emulator library lays out for the same box.
    home_texts: Vec<String>,
    home_expected: render::Pixmap,
}

/// Runs `shangyi emulate` for the card on the bundle at the box's clock `at`, pressing GREEN
/// (the notices list) and OK (the newest notice), and lays out the same box's home with the
/// emulator library.
fn show(scratch: &Scratch, bundle: &Path, provision: &Path, at: i64, label: &str) -> Shown {
    let frames = scratch.dir.path().join(format!("frames-{label}"));
    let outbox = scratch.dir.path().join(format!("{label}.outbox"));
    let at_text = Timestamp(at).to_rfc3339();
    let out = run(
        &[
            "emulate",
            "--bundle",
            &bundle.display().to_string(),
            "--provision",
            &provision.display().to_string(),
            "--at",
            &at_text,
            "--keys",
            "GREEN OK",
            "--frames",
            &frames.display().to_string(),
            "--outbox",
            &outbox.display().to_string(),
        ],
        0,
    );
    let printout = stdout(&out);
    let home_frame =
        render::decode_png(&std::fs::read(frames.join("step-000-home.png")).unwrap()).unwrap();

    let content = BoxContent::from_bundle(bundle, None).unwrap();
    let identity = Provisioning::parse(&std::fs::read(provision).unwrap()).unwrap();
    let stb = SetTopBox::start(
        content,
        identity,
        BoxConfig {
            theme: "standard".into(),
            at,
            outbox: scratch.dir.path().join(format!("{label}-library.outbox")),
        },
    )
    .unwrap();
    assert_eq!(stb.screen(), "home");
    // The layout document's text nodes, each one string (its lines joined).
    let document: serde_json::Value =
        serde_json::from_str(&stb.document().unwrap().to_json()).unwrap();
    let home_texts = document["nodes"]
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
        .collect();
    let (home_expected, _) = stb.frame().unwrap();
    Shown {
        printout,
        home_frame,
        home_texts,
        home_expected,
    }
}

impl Shown {
    fn banner(&self) -> bool {
        let banner = format!("紧急通知：{TITLE}");
        self.home_texts.iter().any(|t| t.contains(&banner))
    }

    fn opened_notice(&self, id: i64) -> bool {
        self.printout.contains(&format!("notice-detail {id} "))
            || self.printout.contains(&format!("notice-detail {id}\n"))
    }

    /// The frame the binary drew at power-on is the home the library laid out.
    fn assert_frame_is_home(&self, label: &str) {
        let diff = render::compare(
            &self.home_frame,
            &self.home_expected,
            render::Tolerance::GOLDEN,
        );
        assert!(
            diff.matches(),
            "{label}: the emulator's home frame is not the home laid out for its box: {diff:?}"
        );
    }
}

#[test]
fn a_grid_workers_urgent_notice_reaches_boxes_in_their_grid_only() {
    let scratch = Scratch::new();
    let db = scratch.db();
    load_small_city(&scratch);
    let serve = Serve::start(&db);
    let operator = token(&db, &["--role", "operator"]);
    let before = serve.wait_for_bundle(&operator, COMMUNITY);

    // Two boxes of community 1 in different grids: A is the worker's grid, B is not.
    let boxes = boxes(&db, COMMUNITY);
    let (card_a, grid_a) = boxes[0].clone();
    let (card_b, grid_b) = boxes
        .iter()
        .find(|(_, grid)| *grid != grid_a)
        .cloned()
        .expect("a box in another grid of the community");
    let worker = token(
        &db,
        &["--role", "grid-worker", "--grid", &grid_a.to_string()],
    );
    let now = now();
    let valid_until = Timestamp(now + 86_400).to_rfc3339();
    let notice = |grid: i64, extra: &str| {
        format!(
            r#"{{"grids":[{grid}],"title":"{TITLE}","body":"明天上午8时至12时停水，请提前储水。","urgency":"urgent","valid_until":"{valid_until}"{extra}}}"#
        )
    };

    // Refused: no token (401), another grid (403); each answered with a JSON error.
    let missing = serve.post("/api/v1/notices", None, &notice(grid_a, ""));
    assert_eq!(missing.status, 401, "{missing}");
    assert_eq!(missing.json()["error"]["code"], "unauthorized", "{missing}");
    let foreign = serve.post("/api/v1/notices", Some(&worker), &notice(grid_b, ""));
    assert_eq!(foreign.status, 403, "{foreign}");
    assert_eq!(foreign.content_type.as_deref(), Some("application/json"));
    let error = foreign.json();
    assert_eq!(error["error"]["code"], "forbidden", "{foreign}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("grid {grid_b}")),
        "the refusal names the grid: {foreign}"
    );

    // Pushed to grid A: 201, and the community's bundle gets a new version on its own.
    let pushed = serve.post("/api/v1/notices", Some(&worker), &notice(grid_a, ""));
    assert_eq!(pushed.status, 201, "{pushed}");
    let pushed = pushed.json();
    let id = pushed["notice"]["id"].as_i64().unwrap();
    assert_eq!(pushed["notice"]["grids"], serde_json::json!([grid_a]));
    assert_eq!(pushed["notice"]["urgency"], "urgent");
    let after = serve.wait_for_bundle_after(&operator, COMMUNITY, before);
    assert!(after > before);
    let (bundle, version) = snapshot_bundle(
        &serve.bundles_dir(),
        COMMUNITY,
        &scratch.dir.path().join("pushed"),
    );
    assert!(version >= after, "copied version {version}, listed {after}");

    let provision_a = provision(&scratch, &db, &card_a);
    let provision_b = provision(&scratch, &db, &card_b);
    let at = self::now();

    // Grid A: the banner on home, the notice in the list, and reading it sends the receipt.
    let a = show(&scratch, &bundle, &provision_a, at, "grid-a");
    assert!(
        a.printout
            .contains(&format!(" v{version} of community {COMMUNITY}")),
        "{}",
        a.printout
    );
    assert!(a.banner(), "no banner on grid A's home: {:?}", a.home_texts);
    a.assert_frame_is_home("grid A");
    assert!(a.opened_notice(id), "{}", a.printout);
    assert!(
        a.printout
            .contains(&format!("queued #1 notice_seen: notice {id}")),
        "{}",
        a.printout
    );

    // Grid B, same community, same bundle: neither the banner nor the notice.
    let b = show(&scratch, &bundle, &provision_b, at, "grid-b");
    assert!(!b.banner(), "banner on grid B's home: {:?}", b.home_texts);
    b.assert_frame_is_home("grid B");
    assert!(
        !render::compare(&a.home_frame, &b.home_frame, render::Tolerance::GOLDEN).matches(),
        "grid A's and grid B's homes look the same"
    );
    assert!(!b.opened_notice(id), "{}", b.printout);
    assert!(
        !b.printout.contains(&format!("notice {id}")),
        "{}",
        b.printout
    );

    // The worker cancels the notice: the following version has no banner in grid A.
    let cancel = format!(
        r#"{{"grids":[{grid_a}],"title":"停水取消","body":"明日不停水。","message_type":"cancel","references":{id},"valid_until":"{valid_until}"}}"#
    );
    let cancelled = serve.post("/api/v1/notices", Some(&worker), &cancel);
    assert_eq!(cancelled.status, 201, "{cancelled}");
    let after_cancel = serve.wait_for_bundle_after(&operator, COMMUNITY, version);
    let (bundle, version) = snapshot_bundle(
        &serve.bundles_dir(),
        COMMUNITY,
        &scratch.dir.path().join("cancelled"),
    );
    assert!(version >= after_cancel);
    let a = show(
        &scratch,
        &bundle,
        &provision_a,
        self::now(),
        "grid-a-cancelled",
    );
    assert!(
        !a.banner(),
        "the cancelled notice's banner is still on grid A's home: {:?}",
        a.home_texts
    );
    a.assert_frame_is_home("grid A after the cancellation");
    assert!(!a.opened_notice(id), "{}", a.printout);
}
