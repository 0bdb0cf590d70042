//! The shipped templates in `stb-templates/` with the demo data: they pass `check`, every
//! focusable is reachable, and navigation never leaves a screen without focus.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use screen::measure::{ApproxMeasure, Typeset};
use screen::{Templates, demo_data, load_dir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shipped() -> Templates {
    load_dir(&root().join("stb-templates"), &root().join("assets"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn font() -> Typeset {
    Typeset::new().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn shipped_templates_pass_check_with_the_real_font() {
    let t = shipped();
    let findings = t.check(&demo_data(), &font());
    for f in &findings {
        println!("{f}");
    }
    assert!(findings.is_empty(), "{} findings", findings.len());
}

#[test]
fn shipped_templates_pass_check_with_the_approximate_measure() {
    let t = shipped();
    let findings = t.check(&demo_data(), &ApproxMeasure);
    for f in &findings {
        println!("{f}");
    }
    assert!(findings.is_empty(), "{} findings", findings.len());
}

#[test]
fn a_ballot_nobody_voted_on_yet_shows_empty_bars_without_a_finding() {
    let mut data = demo_data();
    let mut zeroed = 0;
    for topic in data["topics"].as_array_mut().unwrap() {
        let Some(tally) = topic.get_mut("tally").filter(|t| t.is_object()) else {
            continue;
        };
        tally["voted"] = 0.into();
        for option in tally["options"].as_array_mut().unwrap() {
            option["votes"] = 0.into();
        }
        zeroed += 1;
    }
    assert!(zeroed > 0, "the demo data has tallies");
    let findings = shipped().check(&data, &ApproxMeasure);
    for f in &findings {
        println!("{f}");
    }
    assert!(findings.is_empty(), "{} findings", findings.len());
}
