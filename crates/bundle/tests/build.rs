//! Building: determinism, versions, hot modules, writing, the city helper, diff, load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use bundle::{
    BuildStatus, Change, CityOutcome, InputFile, Limits, ModuleClass, VerifyOptions, build,
    build_city, diff, load_dir, parse_manifest, read_manifest, verify_dir, write_dir,
};
use common::{base_input, community_input, notice, xmllint, xmllint_bytes};

#[test]
fn building_twice_gives_identical_bytes() {
    let input = community_input(7, 3);
    let a = build(&input, None).unwrap();
    let b = build(&input, None).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.status, BuildStatus::New);
    assert_eq!(a.manifest.version, 1);
    // The order files are given in does not matter.
    let mut shuffled = input.clone();
    shuffled.files.reverse();
    assert_eq!(build(&shuffled, None).unwrap().manifest_xml, a.manifest_xml);
    xmllint_bytes(&a.manifest_xml);

    // And on disk: two writes, the same files.
    let dir = tempfile::tempdir().unwrap();
    write_dir(&a, &dir.path().join("one")).unwrap();
    write_dir(&b, &dir.path().join("two")).unwrap();
    for f in a
        .files
        .iter()
        .map(|f| f.path.as_str())
        .chain(["manifest.xml"])
    {
        assert_eq!(
            fs::read(dir.path().join("one").join(f)).unwrap(),
            fs::read(dir.path().join("two").join(f)).unwrap(),
            "{f}"
        );
    }
    xmllint(&dir.path().join("one/manifest.xml"));
}

#[test]
fn the_manifest_round_trips() {
    let built = build(&community_input(3, 2), None).unwrap();
    let parsed = bundle::Manifest::parse(&built.manifest_xml).unwrap();
    assert_eq!(parsed, built.manifest);
    assert_eq!(parsed.to_xml(), built.manifest_xml);
}

#[test]
fn a_community_stays_within_32_kib_on_air() {
    let built = build(&community_input(11, 4), None).unwrap();
    assert!(
        built.manifest.air_bytes() <= 32 * 1024,
        "{}",
        built.manifest.air_bytes()
    );
    assert!(
        built.manifest.raw_bytes() > 100_000,
        "the sample should be realistic"
    );
    // Hot and cold in separate modules.
    for m in &built.manifest.modules {
        let hot = matches!(
            m.kind,
            bundle::FileKind::Notices | bundle::FileKind::Tallies
        );
        assert_eq!(m.class == ModuleClass::Hot, hot, "{m:?}");
    }
}

#[test]
fn a_new_notice_changes_only_the_notices_module_and_bumps_the_version() {
    let input = community_input(5, 2);
    let v1 = build(&input, None).unwrap();
    let mut next = input.clone();
    next.files.push(InputFile::new(
        "notices/n-3.json",
        notice(3, "g1", "停电通知"),
    ));
    next.newest_input = "2026-11-27T21:10:00+08:00".into();
    let v2 = build(&next, Some(&v1.manifest)).unwrap();
    assert_eq!(v2.status, BuildStatus::Changed);
    assert_eq!(v2.manifest.version, 2);
    let changes = diff(&v1.manifest, &v2.manifest);
    let modules: Vec<&Change> = changes
        .iter()
        .filter(|c| {
            matches!(
                c,
                Change::ModuleChanged { .. }
                    | Change::ModuleAdded { .. }
                    | Change::ModuleRemoved { .. }
            )
        })
        .collect();
    assert_eq!(modules.len(), 1, "{changes:#?}");
    let Change::ModuleChanged {
        id,
        new_version,
        new_air_size,
        ..
    } = modules[0]
    else {
        panic!("{modules:?}");
    };
    assert_eq!(*id, bundle::FileKind::Notices.first_module_id());
    assert_eq!(*new_version, 2);
    assert!(
        *new_air_size < 4096,
        "a notice changes a few kilobytes, not {new_air_size}"
    );
    // Every other module kept its version.
    for m in v2.manifest.modules.iter().filter(|m| m.id != *id) {
        assert_eq!(m.version, 1);
    }
    assert!(changes.contains(&Change::Version { old: 1, new: 2 }));
    assert!(
        changes
            .iter()
            .any(|c| c.to_string().starts_with("+ file notices/n-3.json"))
    );
    xmllint_bytes(&v2.manifest_xml);
}

#[test]
fn unchanged_input_keeps_the_version_and_the_bytes() {
    let input = community_input(9, 1);
    let v1 = build(&input, None).unwrap();
    let mut later = input.clone();
    // A later time alone is not new content.
    later.newest_input = "2026-11-28T08:00:00+08:00".into();
    let again = build(&later, Some(&v1.manifest)).unwrap();
    assert_eq!(again.status, BuildStatus::Unchanged);
    assert_eq!(again.manifest_xml, v1.manifest_xml);
    assert!(diff(&v1.manifest, &again.manifest).is_empty());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-0009");
    assert!(write_dir(&v1, &path).unwrap());
    let before = fs::metadata(path.join("manifest.xml"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(
        !write_dir(&again, &path).unwrap(),
        "an unchanged bundle is not rewritten"
    );
    assert_eq!(
        fs::metadata(path.join("manifest.xml"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}

#[test]
fn a_cancelled_notice_is_gone_from_the_next_version() {
    let input = community_input(4, 3);
    let v1 = build(&input, None).unwrap();
    let mut next = input.clone();
    next.files.retain(|f| f.path != "notices/n-2.json");
    let v2 = build(&next, Some(&v1.manifest)).unwrap();
    assert_eq!(v2.manifest.version, 2);
    assert!(
        v2.manifest
            .files
            .iter()
            .all(|f| f.path != "notices/n-2.json")
    );
    assert!(
        diff(&v1.manifest, &v2.manifest).contains(&Change::FileRemoved {
            path: "notices/n-2.json".into()
        })
    );
}

/// Community 1's bundle written as version 1 into `dir/c-0001`, and its version 2 built (not
/// written) without notice n-1.
fn written_and_next(dir: &std::path::Path) -> (std::path::PathBuf, bundle::Built, bundle::Built) {
    let path = dir.join("c-0001");
    let input = community_input(1, 2);
    let v1 = build(&input, None).unwrap();
    write_dir(&v1, &path).unwrap();
    let mut next = input.clone();
    next.files.retain(|f| f.path != "notices/n-1.json");
    let v2 = build(&next, Some(&v1.manifest)).unwrap();
    (path, v1, v2)
}

/// The names in a directory: what a write left beside a bundle.
fn names_in(dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

#[test]
fn a_write_that_fails_half_way_keeps_the_old_bundle_and_leaves_nothing_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, v1, mut v2) = written_and_next(dir.path());
    // A file below another file cannot be written: the write fails after the first files,
    // as it does when the disk fills up.
    let first = v2.files[0].path.clone();
    v2.files.push(bundle::OutFile {
        path: format!("{first}/below"),
        bytes: b"x".to_vec(),
    });
    let error = write_dir(&v2, &path).unwrap_err();
    assert!(
        error.to_string().contains("below") || error.to_string().contains(&first),
        "{error}"
    );

    // The old bundle is whole and alone: no staging directory holds disk space.
    verify_dir(&path, &VerifyOptions::default()).unwrap();
    assert_eq!(read_manifest(&path).unwrap().unwrap(), v1.manifest);
    assert_eq!(names_in(dir.path()), ["c-0001"]);
}

#[test]
fn write_replaces_a_bundle_and_load_returns_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, v2) = written_and_next(dir.path());
    assert!(write_dir(&v2, &path).unwrap());
    // The removed notice is gone from disk too; nothing is left beside the bundle.
    assert!(!path.join("notices/n-1.json").exists());
    assert_eq!(names_in(dir.path()), ["c-0001"]);

    let loaded = load_dir(
        &path,
        &VerifyOptions {
            previous_version: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(loaded.manifest, v2.manifest);
    assert_eq!(loaded.files.len(), v2.files.len());
    for f in &v2.files {
        assert_eq!(loaded.files[&f.path], f.bytes);
    }
    let verified = verify_dir(&path, &VerifyOptions::default()).unwrap();
    assert_eq!(verified.manifest.version, 2);
    xmllint(&path.join("manifest.xml"));
}

#[test]
fn the_city_helper_rebuilds_only_what_changed() {
    let out = tempfile::tempdir().unwrap();
    let inputs: Vec<_> = (0..6).map(|n| community_input(n, 2)).collect();
    let mut seen = 0;
    let first = build_city(out.path(), inputs.clone(), |_, _| seen += 1);
    assert_eq!(seen, 6);
    assert!(
        first
            .iter()
            .all(|i| matches!(i.outcome, CityOutcome::Written { version: 1, .. }))
    );

    let mut second_inputs = inputs.clone();
    second_inputs[2]
        .files
        .push(InputFile::new("notices/n-9.json", notice(9, "g2", "通知")));
    let second = build_city(out.path(), second_inputs, |_, _| {});
    for (n, item) in second.iter().enumerate() {
        match (&item.outcome, n) {
            (CityOutcome::Written { version: 2, .. }, 2) => {}
            (CityOutcome::Unchanged { version: 1 }, n) if n != 2 => {}
            (other, _) => panic!("{n}: {other:?}"),
        }
    }
    let m = read_manifest(&out.path().join("c-0002")).unwrap().unwrap();
    assert_eq!(m.version, 2);
    xmllint(&out.path().join("c-0002/manifest.xml"));
    // A broken previous manifest is refused, not overwritten with a version 1.
    fs::write(out.path().join("c-0003/manifest.xml"), b"<bundle").unwrap();
    let third = build_city(out.path(), vec![inputs[3].clone()], |_, _| {});
    assert!(matches!(
        third[0].outcome,
        CityOutcome::Failed(bundle::BundleError::PreviousRefused { .. })
    ));
    assert_eq!(
        fs::read(out.path().join("c-0003/manifest.xml")).unwrap(),
        b"<bundle"
    );
}

#[test]
fn the_base_bundle_builds_and_verifies() {
    let base = build(&base_input(), None).unwrap();
    assert_eq!(base.manifest.content_sha256, base_input().content_sha256());
    let dir = tempfile::tempdir().unwrap();
    write_dir(&base, &dir.path().join("base")).unwrap();
    verify_dir(&dir.path().join("base"), &VerifyOptions::default()).unwrap();
    xmllint(&dir.path().join("base/manifest.xml"));
    // A community referencing it verifies with the expected base; noise is stored, not
    // deflated.
    assert!(
        base.manifest
            .modules
            .iter()
            .any(|m| m.compression == bundle::Compression::None)
    );
    let c = build(&community_input(2, 1), None).unwrap();
    let cdir = dir.path().join("c-0002");
    write_dir(&c, &cdir).unwrap();
    let opts = VerifyOptions {
        expected_base: Some(base.manifest.content_sha256),
        expected_community: Some("c-0002".into()),
        ..Default::default()
    };
    verify_dir(&cdir, &opts).unwrap();
}

#[test]
fn large_content_is_cut_into_64_kib_modules() {
    let mut input = base_input();
    input
        .files
        .push(InputFile::new("fonts/big.otf", vec![7u8; 200_000]));
    let built = build(&input, None).unwrap();
    let fonts: Vec<_> = built
        .manifest
        .modules
        .iter()
        .filter(|m| m.kind == bundle::FileKind::Fonts)
        .collect();
    assert_eq!(fonts.len(), 4);
    assert!(fonts.iter().all(|m| m.size <= 65536 && m.air_size <= 65536));
    assert_eq!(fonts.iter().map(|m| m.size).sum::<u64>(), 200_000);
    parse_manifest(&built.manifest_xml, &Limits::default()).unwrap();
    xmllint_bytes(&built.manifest_xml);
}

#[test]
fn bad_input_is_refused_with_every_reason() {
    let mut input = community_input(1, 1);
    input
        .files
        .push(InputFile::new("../escape.json", b"{}".to_vec()));
    input
        .files
        .push(InputFile::new("/abs.json", b"{}".to_vec()));
    input
        .files
        .push(InputFile::new("fonts/x.otf", b"{}".to_vec()));
    input
        .files
        .push(InputFile::new("notices/n-1.json", b"{}".to_vec()));
    input.newest_input = "yesterday".into();
    let Err(bundle::BundleError::Invalid(findings)) = build(&input, None) else {
        panic!("accepted");
    };
    let names: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    for want in [
        "path_escape",
        "absolute_path",
        "unknown_kind",
        "duplicate_name",
        "invalid_value",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    // Over the air budget.
    let mut tight = community_input(1, 1);
    tight.limits.max_community_air_bytes = 1000;
    let Err(bundle::BundleError::Invalid(findings)) = build(&tight, None) else {
        panic!("accepted");
    };
    assert_eq!(findings[0].kind, bundle::FindingKind::OversizedBundle);
    // A previous manifest of another community.
    let other = build(&community_input(2, 1), None).unwrap();
    assert!(matches!(
        build(&community_input(1, 1), Some(&other.manifest)),
        Err(bundle::BundleError::PreviousMismatch { .. })
    ));
}

#[test]
fn edge_cases_build_verify_and_validate() {
    let c = bundle::Community {
        id: "c-empty".into(),
        name: "空".into(),
        town: "镇".into(),
        district: "区".into(),
    };
    let cases = vec![
        // No files, no grids.
        bundle::BundleInput::community(
            c.clone(),
            vec![],
            bundle::Sha256::of(b"b"),
            "2026-01-01T00:00:00Z",
            vec![],
        ),
        // Empty files only.
        bundle::BundleInput::community(
            c.clone(),
            vec![],
            bundle::Sha256::of(b"b"),
            "2026-01-01T00:00:00Z",
            vec![
                InputFile::new("notices/a.json", vec![]),
                InputFile::new("notices/b.json", vec![]),
            ],
        ),
        // Deep paths and a file exactly one module long.
        bundle::BundleInput::community(
            c,
            vec![],
            bundle::Sha256::of(b"b"),
            "2026-01-01T00:00:00.123456789-05:30",
            vec![
                InputFile::new("screens/a/b/c/d/e/f/g.json", vec![b'x'; 65536]),
                InputFile::new("screens/z.json", vec![b'y'; 1]),
            ],
        ),
    ];
    for input in cases {
        let built = build(&input, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-empty");
        write_dir(&built, &path).unwrap();
        let loaded = load_dir(&path, &VerifyOptions::default()).unwrap();
        assert_eq!(loaded.files.len(), input.files.len());
        xmllint(&path.join("manifest.xml"));
    }
}
