//! User story: an operator builds the city's bundles; a grid worker pushes an urgent notice to
//! one grid; the next build changes only the community's hot notices module and bumps its
//! version; a cancellation takes it out again; a tampered bundle is refused by name; a bundle
//! that cannot be written is named.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use consult::ids::{CommunityId, GridId, NoticeId};
use consult::notice::{MessageType, NoticeDraft, Urgency};
use consult::time::Timestamp;
use shangyi_e2e::{Scratch, build_bundle, load_small_city, run, stderr, stdout};
use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn modules(manifest: &str) -> BTreeMap<String, String> {
    // module id -> its sha256, from manifest.xml
    manifest
        .lines()
        .filter(|l| l.trim_start().starts_with("<module "))
        .map(|l| {
            let attr = |name: &str| {
                let start = l.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                l[start..].split('"').next().unwrap().to_owned()
            };
            (format!("{}:{}", attr("id"), attr("kind")), attr("sha256"))
        })
        .collect()
}

#[test]
fn a_notice_changes_only_the_hot_module_and_a_cancellation_removes_it() {
    let scratch = Scratch::new();
    let db = scratch.db();
    load_small_city(&scratch);
    let out = scratch.dir.path().join("bundles");
    build_bundle(&db, 1, &out, 0);
    let community = out.join("c-1");
    let first = files(&community);
    run(&["bundle", "verify", &community.display().to_string()], 0);
    // The manifest the builder wrote validates against the published schema.
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/bundle.xsd");
    match std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(community.join("manifest.xml"))
        .arg(out.join("base/manifest.xml"))
        .output()
    {
        Ok(output) => assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => eprintln!(
            "xmllint is not installed: skipping the schema check (apt-get install libxml2-utils)"
        ),
    }

    // Building again from the same database gives the same bytes, version and all.
    build_bundle(&db, 1, &out, 0);
    assert_eq!(files(&community), first);

    // A grid worker pushes an urgent notice to the community's first grid.
    let mut store = store::Store::open(Path::new(&db)).unwrap();
    let grid = store.grids_of_community(CommunityId(1)).unwrap()[0].id;
    let now = Timestamp::parse("2026-11-27T10:00:00+08:00").unwrap();
    let draft = NoticeDraft {
        community: CommunityId(1),
        grids: vec![grid],
        title: "明日停水".into(),
        body: "明天上午8时至12时停水，请提前储水。".into(),
        urgency: Urgency::Urgent,
        message_type: MessageType::Alert,
        references: None,
        valid_from: now,
        valid_until: now.plus_seconds(86_400),
    };
    let notice = store
        .push_notice(draft.clone(), "网格员", &[grid], now)
        .unwrap();
    drop(store);
    let old_copy = scratch.dir.path().join("v1");
    std::fs::create_dir_all(&old_copy).unwrap();
    for (path, bytes) in &first {
        let target = old_copy.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
    build_bundle(&db, 1, &out, 0);
    let second = files(&community);
    let manifest = String::from_utf8(second["manifest.xml"].clone()).unwrap();
    assert!(manifest.contains(" version=\"2\""), "{manifest}");
    let before = modules(&String::from_utf8(first["manifest.xml"].clone()).unwrap());
    let after = modules(&manifest);
    let changed: Vec<&String> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert_eq!(
        changed,
        vec!["256:notices"],
        "only the hot notices module changes"
    );
    let notices = String::from_utf8(second["notices/notices.json"].clone()).unwrap();
    assert!(notices.contains("明日停水"));
    assert!(
        notices.contains(&format!("{}", grid.0)),
        "the notice names its grid: {notices}"
    );
    let diff = stdout(&run(
        &[
            "bundle",
            "diff",
            &old_copy.display().to_string(),
            &community.display().to_string(),
        ],
        0,
    ));
    assert!(diff.contains("version 1 -> 2"), "{diff}");
    assert!(diff.contains("notices"), "{diff}");

    // The grid worker cancels it: gone from the next version.
    let mut store = store::Store::open(Path::new(&db)).unwrap();
    let cancel = NoticeDraft {
        message_type: MessageType::Cancel,
        references: Some(NoticeId(notice.id.0)),
        ..draft
    };
    store
        .push_notice(cancel, "网格员", &[grid], now.plus_seconds(600))
        .unwrap();
    drop(store);
    build_bundle(&db, 1, &out, 0);
    let third = files(&community);
    assert!(
        String::from_utf8(third["manifest.xml"].clone())
            .unwrap()
            .contains(" version=\"3\"")
    );
    assert!(
        !String::from_utf8(third["notices/notices.json"].clone())
            .unwrap()
            .contains("明日停水")
    );

    // Tampering is refused with its name.
    std::fs::write(
        community.join("notices/notices.json"),
        b"{\"format\":1,\"notices\":[]}",
    )
    .unwrap();
    let refused = stdout(&run(
        &["bundle", "verify", &community.display().to_string()],
        1,
    ));
    assert!(
        refused.contains("size_mismatch") || refused.contains("hash_mismatch"),
        "{refused}"
    );
    let _ = GridId(0);
}

#[test]
fn a_bundle_that_cannot_be_written_is_named_and_nothing_half_written_is_left() {
    let scratch = Scratch::new();
    let db = scratch.db();
    load_small_city(&scratch);
    let out = scratch.dir.path().join("bundles");
    std::fs::create_dir_all(&out).unwrap();
    // A plain file where the builder stages community 1's directory: its write fails, as on a
    // full disk.
    let blocker = out.join(".c-1.tmp");
    std::fs::write(&blocker, "in the way").unwrap();
    let failed = stderr(&build_bundle(&db, 1, &out, 1));
    assert!(
        failed.contains("failed: community 1: ") && failed.contains(".c-1.tmp"),
        "{failed}"
    );
    assert!(!out.join("c-1").exists(), "no bundle without its files");

    std::fs::remove_file(&blocker).unwrap();
    let built = stdout(&build_bundle(&db, 1, &out, 0));
    assert!(
        built.starts_with("1 bundles written, 0 unchanged"),
        "{built}"
    );
    run(
        &["bundle", "verify", &out.join("c-1").display().to_string()],
        0,
    );
}
