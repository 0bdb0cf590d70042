//! Broken templates are refused, naming the rule: each directory in `tests/broken/` holds a
//! `screen.xml` (and optionally its own `themes/`), and `expected.txt` beside it lists the
//! findings `check` must report, one `FILE:LINE RULE` a line (both themes, deduplicated).
//! `UPDATE_EXPECTED=1` rewrites the lists (review the diff!).

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use screen::measure::Typeset;
use screen::{Templates, demo_data};

fn read_xml(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.extension().is_some_and(|e| e == "xml") {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, std::fs::read(&p).unwrap_or_else(|e| panic!("{e}"))));
        }
    }
    out
}

#[test]
fn broken_templates_fail_naming_the_rule() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped_themes = read_xml(&here.join("../../stb-templates/themes"));
    let measure = Typeset::new().unwrap_or_else(|e| panic!("{e}"));
    let mut cases: Vec<PathBuf> = std::fs::read_dir(here.join("tests/broken"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let own_themes = read_xml(&case.join("themes"));
        let themes = if own_themes.is_empty() {
            shipped_themes.clone()
        } else {
            own_themes
        };
        let t = Templates::from_sources(read_xml(&case), themes, vec![]);
        let findings = t.check(&demo_data(), &measure);
        let got: BTreeSet<String> = findings
            .iter()
            .map(|f| format!("{}:{} {}", f.file, f.line, f.rule))
            .collect();
        let got: Vec<String> = got.into_iter().collect();
        let expected_path = case.join("expected.txt");
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(&expected_path, got.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
            for f in &findings {
                println!("{}: {f}", case.display());
            }
            continue;
        }
        let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
        let want: Vec<String> = want
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        assert!(
            !want.is_empty(),
            "{}: expected.txt lists no finding",
            case.display()
        );
        if got != want {
            failures.push(format!(
                "{}:\n  want {want:?}\n  got  {got:?}\n  {findings:#?}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
