//! Golden-picture test: the sample home screen, drawn with its first topic focused, must
//! match `tests/goldens/sample-home.png` within [`Tolerance::GOLDEN`].
//!
//! After an intended change to drawing, look at the new picture and then update the
//! reference with `UPDATE_GOLDENS=1 cargo test -p render --test sample_golden`. On a mismatch the
//! picture drawn is written next to the system's temporary files for comparison.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use render::{NoImages, Tolerance, compare, decode_png, encode_png, sample};
use typeset::Typesetter;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/goldens")
        .join(name)
}

#[test]
fn sample_home_matches_its_golden_picture() {
    let mut t = Typesetter::new().unwrap();
    let doc = sample::home_screen(&mut t);
    let (pixmap, report) =
        render::draw(&doc, Some(sample::DEFAULT_FOCUS), &mut t, &NoImages).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let path = golden("sample-home.png");
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(&path, encode_png(&pixmap).unwrap()).unwrap();
        return;
    }
    let reference =
        decode_png(&std::fs::read(&path).expect("golden picture; UPDATE_GOLDENS=1 makes it"))
            .unwrap();
    let diff = compare(&pixmap, &reference, Tolerance::GOLDEN);
    if !diff.matches() {
        let actual = std::env::temp_dir().join("sample-home.actual.png");
        std::fs::write(&actual, encode_png(&pixmap).unwrap()).unwrap();
        panic!(
            "{} differs from the golden picture: {diff}; drawn: {}",
            path.display(),
            actual.display()
        );
    }
}
