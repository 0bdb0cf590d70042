//! Every kind of tampering is refused with its named error, by `verify_dir` and by `load_dir`.
//! Each test copies the sample community bundle (`tests/samples/community`), damages it one
//! way, and checks the finding's name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use bundle::{FindingKind, Limits, Sha256, VerifyOptions, load_dir, verify_dir};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples/community")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

fn edit_manifest(dir: &Path, from: &str, to: &str) {
    let p = dir.join("manifest.xml");
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "the sample manifest has no {from:?}");
    fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

/// Damages a copy of the sample with `tamper`, verifies with `options`, and expects `kind`.
fn refused(kind: FindingKind, options: VerifyOptions, tamper: impl FnOnce(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c-0001");
    copy_dir(&sample(), &dir);
    verify_dir(&dir, &VerifyOptions::default()).expect("the sample itself verifies");
    tamper(&dir);
    let findings = verify_dir(&dir, &options).expect_err("tampered bundle accepted");
    assert!(
        findings.iter().any(|f| f.kind == kind),
        "expected {kind}, got:\n{}",
        bundle::finding::format_findings(&findings)
    );
    assert!(load_dir(&dir, &options).is_err(), "load_dir accepted it");
    for f in &findings {
        assert_eq!(FindingKind::parse(f.kind.as_str()), Some(f.kind));
        assert!(!f.to_string().is_empty());
    }
}

fn defaults() -> VerifyOptions {
    VerifyOptions::default()
}

/// One `#[test]` per finding name, and the list of names covered.
macro_rules! tamper_tests {
    ($($name:ident: $kind:expr, $options:expr, $tamper:expr;)*) => {
        $(
            #[test]
            fn $name() {
                refused($kind, $options, $tamper);
            }
        )*
        const COVERED: &[&str] = &[$(stringify!($name)),*];
    };
}

tamper_tests! {
    malformed_manifest: FindingKind::MalformedManifest, defaults(), |d: &Path| {
        let p = d.join("manifest.xml");
        let text = fs::read(&p).unwrap();
        fs::write(&p, &text[..text.len() / 2]).unwrap();
    };
    doctype_refused: FindingKind::DoctypeRefused, defaults(), |d: &Path| edit_manifest(
        d,
        "<bundle ",
        "<!DOCTYPE bundle [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>\n<bundle ",
    );
    unknown_element: FindingKind::UnknownElement, defaults(), |d: &Path| edit_manifest(
        d, "</files>", "</files>\n  <script/>",
    );
    unknown_attribute: FindingKind::UnknownAttribute, defaults(), |d: &Path| edit_manifest(
        d, "<community ", "<community href=\"x\" ",
    );
    invalid_value: FindingKind::InvalidValue, defaults(), |d: &Path| edit_manifest(
        d, "version=\"1\" newest-input", "version=\"01\" newest-input",
    );
    unsupported_format: FindingKind::UnsupportedFormat, defaults(), |d: &Path| edit_manifest(
        d, "format=\"1\"", "format=\"2\"",
    );
    oversized_manifest: FindingKind::OversizedManifest,
        VerifyOptions { limits: Limits { max_manifest_bytes: 1000, ..Limits::default() }, ..defaults() },
        |_: &Path| {};
    invalid_path: FindingKind::InvalidPath, defaults(), |d: &Path| edit_manifest(
        d, "path=\"topics/101.json\"", "path=\"topics/.101.json\"",
    );
    path_escape: FindingKind::PathEscape, defaults(), |d: &Path| edit_manifest(
        d, "path=\"topics/101.json\"", "path=\"topics/../../../etc/passwd\"",
    );
    absolute_path: FindingKind::AbsolutePath, defaults(), |d: &Path| edit_manifest(
        d, "path=\"topics/101.json\"", "path=\"/etc/passwd\"",
    );
    symlink: FindingKind::Symlink, defaults(), |d: &Path| {
        // Same bytes, but through a link: refused all the same.
        let outside = d.parent().unwrap().join("outside.json");
        fs::rename(d.join("topics/101.json"), &outside).unwrap();
        std::os::unix::fs::symlink(&outside, d.join("topics/101.json")).unwrap();
    };
    not_a_file: FindingKind::NotAFile, defaults(), |d: &Path| {
        fs::remove_file(d.join("topics/101.json")).unwrap();
        fs::create_dir(d.join("topics/101.json")).unwrap();
    };
    duplicate_name: FindingKind::DuplicateName, defaults(), |d: &Path| {
        let p = d.join("manifest.xml");
        let text = fs::read_to_string(&p).unwrap();
        let line = text.lines().find(|l| l.contains("path=\"topics/101.json\"")).unwrap().to_string();
        fs::write(&p, text.replacen(&line, &format!("{line}\n{line}"), 1)).unwrap();
    };
    unknown_kind: FindingKind::UnknownKind, defaults(), |d: &Path| edit_manifest(
        d, "path=\"topics/101.json\"", "path=\"fonts/101.json\"",
    );
    unlisted_file: FindingKind::UnlistedFile, defaults(), |d: &Path| {
        fs::write(d.join("screens/extra.json"), b"{}").unwrap();
    };
    missing_file: FindingKind::MissingFile, defaults(), |d: &Path| {
        fs::remove_file(d.join("notices/n-1.json")).unwrap();
    };
    size_mismatch: FindingKind::SizeMismatch, defaults(), |d: &Path| {
        let p = d.join("notices/n-1.json");
        let mut b = fs::read(&p).unwrap();
        b.push(b' ');
        fs::write(&p, b).unwrap();
    };
    hash_mismatch: FindingKind::HashMismatch, defaults(), |d: &Path| {
        let p = d.join("tallies/101.json");
        let text = fs::read_to_string(&p).unwrap();
        fs::write(&p, text.replace("\"reject\":12", "\"reject\":99")).unwrap();
    };
    module_mismatch: FindingKind::ModuleMismatch, defaults(), |d: &Path| {
        // The content digest does not cover modules: only the recomputed module digest
        // shows this.
        let p = d.join("manifest.xml");
        let text = fs::read_to_string(&p).unwrap();
        let line = text.lines().find(|l| l.contains("kind=\"tallies\"")).unwrap();
        let start = line.find("sha256=\"").unwrap() + 8;
        let bad = format!("{}{}{}", &line[..start], "0".repeat(64), &line[start + 64..]);
        fs::write(&p, text.replacen(line, &bad, 1)).unwrap();
    };
    content_mismatch: FindingKind::ContentMismatch, defaults(), |d: &Path| {
        let p = d.join("manifest.xml");
        let text = fs::read_to_string(&p).unwrap();
        let start = text.find("content-sha256=\"").unwrap() + 16;
        let bad = format!("{}{}{}", &text[..start], "1".repeat(64), &text[start + 64..]);
        fs::write(&p, bad).unwrap();
    };
    oversized_file: FindingKind::OversizedFile,
        VerifyOptions { limits: Limits { max_file_bytes: 1000, ..Limits::default() }, ..defaults() },
        |_: &Path| {};
    oversized_module: FindingKind::OversizedModule, defaults(), |d: &Path| edit_manifest(
        d, "size=\"3996\"", "size=\"70000\"",
    );
    oversized_bundle: FindingKind::OversizedBundle,
        VerifyOptions { limits: Limits { max_community_air_bytes: 1000, ..Limits::default() }, ..defaults() },
        |_: &Path| {};
    too_many_files: FindingKind::TooManyFiles,
        VerifyOptions { limits: Limits { max_files: 3, ..Limits::default() }, ..defaults() },
        |_: &Path| {};
    version_backwards: FindingKind::VersionBackwards,
        VerifyOptions { previous_version: Some(2), ..defaults() },
        |_: &Path| {};
    wrong_base: FindingKind::WrongBase,
        VerifyOptions { expected_base: Some(Sha256::of(b"another base")), ..defaults() },
        |_: &Path| {};
    wrong_bundle: FindingKind::WrongBundle,
        VerifyOptions { expected_community: Some("c-0002".into()), ..defaults() },
        |_: &Path| {};
}

#[test]
fn every_finding_name_has_its_tampering_test() {
    for kind in FindingKind::ALL {
        // io_error needs a disk or permission failure, which a test running as root cannot
        // make portably.
        if kind == FindingKind::IoError {
            continue;
        }
        assert!(
            COVERED.contains(&kind.as_str()),
            "no tampering test for {kind}"
        );
    }
}

#[test]
fn many_tamperings_are_all_reported_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c-0001");
    copy_dir(&sample(), &dir);
    fs::remove_file(dir.join("notices/n-1.json")).unwrap();
    fs::write(dir.join("screens/extra.json"), b"{}").unwrap();
    fs::write(dir.join("tallies/101.json"), b"{}").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("comments/link")).unwrap();
    let findings = verify_dir(
        &dir,
        &VerifyOptions {
            previous_version: Some(3),
            ..defaults()
        },
    )
    .unwrap_err();
    let names: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    for want in [
        "missing_file",
        "unlisted_file",
        "size_mismatch",
        "symlink",
        "version_backwards",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[test]
fn a_linked_directory_is_refused_and_its_files_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c-0001");
    copy_dir(&sample(), &dir);
    let elsewhere = tmp.path().join("elsewhere");
    fs::rename(dir.join("topics"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("topics")).unwrap();
    let findings = verify_dir(&dir, &defaults()).unwrap_err();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].kind, FindingKind::Symlink);
    assert_eq!(findings[0].place, "topics");
}

#[test]
fn the_base_is_checked_against_the_expected_base() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples/base");
    let m = bundle::read_manifest(&base).unwrap().unwrap();
    let ok = VerifyOptions {
        expected_base: Some(m.content_sha256),
        ..defaults()
    };
    verify_dir(&base, &ok).unwrap();
    let bad = VerifyOptions {
        expected_base: Some(Sha256::of(b"x")),
        ..defaults()
    };
    assert_eq!(
        verify_dir(&base, &bad).unwrap_err()[0].kind,
        FindingKind::WrongBase
    );
    let community = VerifyOptions {
        expected_community: Some("c-0001".into()),
        ..defaults()
    };
    assert_eq!(
        verify_dir(&base, &community).unwrap_err()[0].kind,
        FindingKind::WrongBundle
    );
}

#[test]
fn a_missing_manifest_is_reported_with_the_directory_contents() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("screens")).unwrap();
    fs::write(tmp.path().join("screens/a.json"), b"{}").unwrap();
    let findings = verify_dir(tmp.path(), &defaults()).unwrap_err();
    assert_eq!(findings[0].kind, FindingKind::MissingFile);
    assert!(findings.iter().any(|f| f.kind == FindingKind::UnlistedFile));
}

/// The manifests under `tests/manifests/`, each named after the finding it must produce
/// (`NAME.anything.xml`); the ones the schema can state must be refused by xmllint too.
#[test]
fn bad_manifests_are_refused_with_their_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests");
    let mut count = 0;
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let expected = file.split('.').next().unwrap();
        let kind =
            FindingKind::parse(expected).unwrap_or_else(|| panic!("{file}: no finding {expected}"));
        let bytes = fs::read(&path).unwrap();
        let findings = bundle::parse_manifest(&bytes, &Limits::default()).expect_err(&file);
        assert!(
            findings.iter().any(|f| f.kind == kind),
            "{file}: expected {kind}, got:\n{}",
            bundle::finding::format_findings(&findings)
        );
        // Rules XML Schema 1.0 cannot state are Rust's alone.
        let schema_can = !file.contains(".rust-only.");
        if schema_can && let Some(refused) = common::xmllint_refuses(&bytes) {
            assert!(refused, "{file}: xmllint accepts what the parser refuses");
        }
        count += 1;
    }
    assert!(count >= 10, "only {count} sample manifests");
}
