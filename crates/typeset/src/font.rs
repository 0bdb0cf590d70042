//! The embedded font: shangyi's subset of Noto Sans CJK SC, and what it covers.
//!
//! The font files live in `assets/fonts/` (made by `assets/fonts/make-subset.py`); they are
//! compiled into the binary so that drawing never depends on the fonts of the machine it runs
//! on, and a screen looks the same at the headend, in the emulator and in tests.

use std::sync::Arc;

use cosmic_text::fontdb;

/// Noto Sans CJK SC Regular, subset (see `assets/fonts/README.md`).
pub static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/NotoSansSC-shangyi-Regular.otf");
/// Noto Sans CJK SC Bold, subset with the same characters as [`REGULAR`].
pub static BOLD: &[u8] = include_bytes!("../../../assets/fonts/NotoSansSC-shangyi-Bold.otf");
/// The family name both subsets keep from the original font.
pub const FAMILY: &str = "Noto Sans CJK SC";

/// The font's vertical metrics in em units, for placing baselines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VerticalMetrics {
    /// Distance from the baseline up to the top of the ideographic em box.
    pub ascent: f32,
    /// Distance from the baseline down to the bottom of the ideographic em box.
    pub descent: f32,
}

/// A font database holding the two embedded faces and nothing else: no system font scanning,
/// so a character outside the subset is reported missing on every machine alike.
pub(crate) fn database() -> fontdb::Database {
    let mut db = fontdb::Database::new();
    db.load_font_source(fontdb::Source::Binary(Arc::new(REGULAR)));
    db.load_font_source(fontdb::Source::Binary(Arc::new(BOLD)));
    db.set_sans_serif_family(FAMILY);
    db
}

/// Reads the OS/2 typographic ascender and descender. For Noto CJK these bound the ideographic
/// em box (0.88 and 0.12 em), so centring that box in the line box centres Chinese text the way
/// the eye expects; the hhea values (1.16 and 0.288 em) include room for accents and would sit
/// the text visibly high.
pub(crate) fn vertical_metrics(font: &[u8]) -> Option<VerticalMetrics> {
    use cosmic_text::skrifa::{FontRef, raw::TableProvider as _};
    let face = FontRef::new(font).ok()?;
    let units = f32::from(face.head().ok()?.units_per_em());
    let os2 = face.os2().ok()?;
    if units <= 0.0 {
        return None;
    }
    Some(VerticalMetrics {
        ascent: f32::from(os2.s_typo_ascender()) / units,
        descent: -f32::from(os2.s_typo_descender()) / units,
    })
}

/// The code points the font maps to a glyph, sorted, for answering "is this character in the
/// font?" without shaping.
pub(crate) fn code_points(font: &[u8]) -> Vec<u32> {
    use cosmic_text::skrifa::{FontRef, MetadataProvider as _};
    let Ok(face) = FontRef::new(font) else {
        return Vec::new();
    };
    let mut points: Vec<u32> = face.charmap().mappings().map(|(c, _)| c).collect();
    points.sort_unstable();
    points.dedup();
    points
}
