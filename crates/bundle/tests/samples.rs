//! The sample bundles under `tests/samples/` (a community and the base), kept in the
//! repository: rebuilding them from their own files must give their manifests byte for byte,
//! so a change of the format's bytes shows up here. `BLESS=1 cargo test -p bundle --test
//! samples` rewrites them after an intended change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use bundle::{
    BundleInput, Community, Grid, InputFile, Manifest, Role, VerifyOptions, build, load_dir,
    write_dir,
};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples")
}

fn base_input() -> BundleInput {
    BundleInput::base(
        "2026-11-01T00:00:00+08:00",
        vec![
            InputFile::new(
                "theme/standard.json",
                br##"{"background":"#0b2a4a","text":"#ffffff","accent":"#f2b705","font_size":24}"##.to_vec(),
            ),
            InputFile::new(
                "theme/elders.json",
                br##"{"background":"#000000","text":"#ffffff","accent":"#ffd800","font_size":36}"##.to_vec(),
            ),
            InputFile::new("icons/ok.svg", br##"<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="12" fill="#1f7a3a"/></svg>"##.to_vec()),
        ],
    )
}

fn community_input() -> BundleInput {
    let mut rng = common::Rng::new(2026);
    let mut files = Vec::new();
    for theme in ["standard", "elders"] {
        let mut r = common::Rng::new(1);
        files.push(InputFile::new(
            format!("screens/home.{theme}.json"),
            common::layout_document(&mut r, "home", theme, 1500).into_bytes(),
        ));
    }
    files.push(InputFile::new(
        "topics/101.json",
        r#"{"id":101,"title":"加装电梯","stage":"consultation","ballot":{"open":true,"options":["approve","reject","abstain"]}}"#.as_bytes().to_vec(),
    ));
    files.push(InputFile::new(
        "tallies/101.json",
        format!(r#"{{"topic":101,"options":{{"approve":{},"reject":12,"abstain":3}},"voted":120,"households":800}}"#, rng.below(100)).into_bytes(),
    ));
    files.push(InputFile::new(
        "comments/101.json",
        r#"[{"who":"12号楼 6楼住户","text":"支持加装电梯","time":"2026-11-26 19:30"}]"#
            .as_bytes()
            .to_vec(),
    ));
    files.push(InputFile::new(
        "notices/n-1.json",
        common::notice(1, "g1", "停水通知"),
    ));
    files.push(InputFile::new(
        "notices/n-2.json",
        common::notice(2, "g2", "垃圾分类宣传"),
    ));
    BundleInput::community(
        Community {
            id: "c-0001".into(),
            name: "崇宁路社区".into(),
            town: "崇安寺街道".into(),
            district: "梁溪区".into(),
        },
        vec![
            Grid {
                id: "g1".into(),
                name: "第一网格".into(),
            },
            Grid {
                id: "g2".into(),
                name: "第二网格 & \"东区\"".into(),
            },
        ],
        base_input().content_sha256(),
        "2026-11-27T21:00:00+08:00",
        files,
    )
}

/// Reads a sample back as builder input: the manifest's header and the directory's files.
fn input_from_dir(dir: &Path) -> BundleInput {
    let loaded = load_dir(dir, &VerifyOptions::default()).unwrap();
    let files = loaded
        .files
        .into_iter()
        .map(|(path, bytes)| InputFile::new(path, bytes))
        .collect();
    let m: Manifest = loaded.manifest;
    BundleInput {
        role: m.role,
        newest_input: m.newest_input,
        files,
        limits: Default::default(),
    }
}

#[test]
fn the_samples_rebuild_byte_for_byte() {
    for (name, input) in [("community", community_input()), ("base", base_input())] {
        let dir = samples().join(name);
        let built = build(&input, None).unwrap();
        if std::env::var_os("BLESS").is_some() {
            write_dir(&built, &dir).unwrap();
        }
        let on_disk = fs::read(dir.join("manifest.xml")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&built.manifest_xml),
            String::from_utf8_lossy(&on_disk),
            "{name}: the format's bytes changed (BLESS=1 to accept)"
        );
        // And from the directory alone.
        let again = build(&input_from_dir(&dir), None).unwrap();
        assert_eq!(again.manifest_xml, on_disk);
        common::xmllint(&dir.join("manifest.xml"));
    }
    let base = bundle::read_manifest(&samples().join("base"))
        .unwrap()
        .unwrap();
    let community = bundle::read_manifest(&samples().join("community"))
        .unwrap()
        .unwrap();
    assert!(matches!(community.role, Role::Community { base: b, .. } if b == base.content_sha256));
}
