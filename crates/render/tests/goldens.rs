//! Golden pictures of the shipped screens: home, ballot and results, in both themes, laid
//! out from `stb-templates/` with the demo community's data and drawn with the default focus.
//!
//! Tolerance: [`render::Tolerance::GOLDEN`] (a pixel differs when a channel is off by more
//! than 8; at most 0.1% of pixels may differ). Rasteriser noise stays under that; a moved
//! line, a changed colour or a lost focus ring does not.
//!
//! `UPDATE_GOLDENS=1 cargo test -p render --test goldens` rewrites the references;
//! `SHANGYI_SCREENS_OUT=DIR` also writes every screen instance of both themes to DIR for
//! looking at.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use screen::measure::Typeset;
use screen::{Templates, demo_data, load_dir};
use typeset::Typesetter;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn templates() -> Templates {
    load_dir(&root().join("stb-templates"), &root().join("assets"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn draw(t: &Templates, screen: &str, param: Option<&str>, theme: &str) -> render::Pixmap {
    let measure = Typeset::new().unwrap_or_else(|e| panic!("{e}"));
    let out = t.render(screen, param, 0, theme, &demo_data(), &measure);
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    let doc = out
        .document
        .unwrap_or_else(|| panic!("no document for {screen}"));
    let mut ts = Typesetter::new().unwrap_or_else(|e| panic!("{e}"));
    let (pixmap, report) = render::draw(
        &doc,
        doc.default_focus.as_deref(),
        &mut ts,
        &render::NoImages,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{screen}/{theme}: {report:?}");
    pixmap
}

fn golden(screen: &str, param: Option<&str>) {
    let t = templates();
    for theme in ["standard", "elders"] {
        let pixmap = draw(&t, screen, param, theme);
        let path = root().join(format!("crates/render/tests/goldens/{screen}-{theme}.png"));
        if std::env::var_os("UPDATE_GOLDENS").is_some() {
            let png = render::encode_png(&pixmap).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        let want = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDENS=1 writes it)", path.display()));
        let want = render::decode_png(&want).unwrap_or_else(|e| panic!("{e}"));
        let diff = render::compare(&pixmap, &want, render::Tolerance::GOLDEN);
        assert!(
            diff.matches(),
            "{screen}/{theme} differs from {}: {diff:?}",
            path.display()
        );
    }
}

#[test]
fn home_matches_its_golden() {
    golden("home", None);
}

#[test]
fn ballot_matches_its_golden() {
    golden("ballot", Some("101"));
}

#[test]
fn results_matches_its_golden() {
    golden("results", Some("101"));
}

/// Writes every screen instance in both themes when `SHANGYI_SCREENS_OUT` is set.
#[test]
fn every_screen_draws_cleanly() {
    let t = templates();
    let out = std::env::var_os("SHANGYI_SCREENS_OUT").map(PathBuf::from);
    let measure = Typeset::new().unwrap_or_else(|e| panic!("{e}"));
    let mut ts = Typesetter::new().unwrap_or_else(|e| panic!("{e}"));
    for theme in ["standard", "elders"] {
        let (docs, findings) = t.render_all(theme, &demo_data(), &measure);
        assert!(findings.is_empty(), "{findings:?}");
        for doc in docs {
            let (pixmap, report) = render::draw(
                &doc,
                doc.default_focus.as_deref(),
                &mut ts,
                &render::NoImages,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert!(report.is_clean(), "{}: {report:?}", doc.screen);
            if let Some(dir) = &out {
                let name = format!(
                    "{}{}{}-{theme}.png",
                    doc.screen,
                    doc.param
                        .as_deref()
                        .map(|p| format!("-{}", p.replace('/', "-")))
                        .unwrap_or_default(),
                    doc.page
                        .filter(|p| p.index > 0)
                        .map(|p| format!("-p{}", p.index + 1))
                        .unwrap_or_default(),
                );
                let png = render::encode_png(&pixmap).unwrap_or_else(|e| panic!("{e}"));
                std::fs::write(dir.join(name), png).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}
