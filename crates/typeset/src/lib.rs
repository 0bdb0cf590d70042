//! typeset: measures, breaks and rasterises Chinese text with shangyi's one embedded font.
//!
//! The screen layout measures text with it and the renderer draws text with it, so what the
//! layout promised is what the picture shows. It holds a subset of Noto Sans CJK SC (Regular
//! and Bold, see `assets/fonts/`) and nothing else: no system font is ever scanned, and a
//! character outside the subset is reported, never silently drawn as a box.
//!
//! Shaping is cosmic-text's (harfrust underneath), rasterising is swash's, line breaking is
//! our own greedy pass with the kinsoku rules of Chinese typesetting (see [`NO_LINE_START`]).
//! The crate does no I/O.
//!
//! ```
//! use typeset::{TextStyle, Typesetter, Weight};
//!
//! let mut typesetter = Typesetter::new()?;
//! let style = TextStyle { size: 32.0, line_height: 48.0, weight: Weight::Regular };
//! let paragraph = typesetter.paragraph("有事好商量，湖㳇镇的居民一起议。", &style, 200.0, Some(2));
//! assert!(paragraph.lines.len() <= 2);
//! assert!(paragraph.lines.iter().all(|line| line.width <= 200.0));
//! assert!(!paragraph.lines.iter().any(|line| line.text.starts_with('，')));
//! assert!(paragraph.missing.is_empty());
//! assert_eq!(typesetter.missing_glyphs("𠀀湖"), vec!['𠀀']);
//! # Ok::<(), typeset::TypesetError>(())
//! ```

mod font;
mod linebreak;

use std::collections::HashMap;
use std::sync::Arc;

use cosmic_text::{
    Attrs, AttrsList, CacheKey, CacheKeyFlags, Family, FontSystem, Hinting, ShapeLine, Shaping,
    SwashCache, SwashContent, Wrap, fontdb,
};

pub use font::{BOLD, FAMILY, REGULAR};
pub use linebreak::{NO_LINE_END, NO_LINE_START};

/// The largest font size [`Typesetter::draw_line`] rasterises, px. A glyph image grows with
/// the square of the size, so a corrupt document asking for 10^6 px text must not be able to
/// exhaust memory; nothing on a 720-line screen needs more.
pub const MAX_DRAWN_SIZE: f32 = 1024.0;

/// The character that ends a line cut short by a line limit.
pub const ELLIPSIS: char = '…';

/// Shaped lines kept for reuse: a screen is measured by the layout and then drawn, and the
/// same labels recur on every screen. Past this many entries the cache starts over.
const SHAPE_CACHE_LIMIT: usize = 8192;

/// Rasterised glyph images kept for reuse (one per glyph, size and quarter-pixel offset; a
/// 32 px ideograph is about 1 KB). Past this many the cache starts over, bounding a
/// long-lived process to some tens of MB.
const GLYPH_CACHE_LIMIT: usize = 32_768;

/// The font weights the embedded font has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Weight {
    #[default]
    Regular,
    Bold,
}

impl Weight {
    fn font_weight(self) -> cosmic_text::Weight {
        match self {
            Weight::Regular => cosmic_text::Weight::NORMAL,
            Weight::Bold => cosmic_text::Weight::BOLD,
        }
    }
}

/// How a run of text is set. Sizes are in px at 1280x720.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Font size (the em), px.
    pub size: f32,
    /// Distance between consecutive baselines, px. The glyphs' em box is centred in it.
    pub line_height: f32,
    pub weight: Weight,
}

/// A paragraph broken into lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Paragraph {
    pub lines: Vec<Line>,
    /// The widest line's width, px.
    pub width: f32,
    /// `lines.len() * line_height`, px.
    pub height: f32,
    /// Whether text was left out because of the line limit (the last line then ends in "…").
    pub truncated: bool,
    /// Characters the font has no glyph for, in order of first appearance.
    pub missing: Vec<char>,
}

/// One line of a paragraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The line's text, without the whitespace at the break.
    pub text: String,
    /// Its advance width, px, as [`Typesetter::measure`] gives it.
    pub width: f32,
    /// The baseline's distance from the paragraph's top, px.
    pub baseline: f32,
}

/// A rasterised glyph, handed to the caller of [`Typesetter::draw_line`] to composite.
#[derive(Debug, Clone, Copy)]
pub struct GlyphMask<'a> {
    /// Pixel position of the mask's top-left corner.
    pub left: i32,
    pub top: i32,
    pub width: u32,
    pub height: u32,
    /// Coverage, one byte a pixel, row by row (`width * height` bytes).
    pub coverage: &'a [u8],
}

/// The errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum TypesetError {
    #[error("the embedded {0} font could not be loaded")]
    Font(&'static str),
}

/// A glyph of a shaped line, positioned relative to the line's origin on the baseline.
#[derive(Debug, Clone)]
struct Glyph {
    /// Byte where the glyph's cluster starts in the line's text.
    cluster: usize,
    font_id: fontdb::ID,
    glyph_id: u16,
    x: f32,
    y: f32,
    advance: f32,
}

#[derive(Debug)]
struct ShapedLine {
    glyphs: Vec<Glyph>,
    width: f32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ShapeKey {
    text: String,
    size_bits: u32,
    weight: Weight,
}

/// Shapes, measures, breaks and rasterises text with the embedded font.
///
/// Building one parses the font (a few milliseconds); keep one per thread and reuse it, since
/// it also caches shaped lines and glyph images.
pub struct Typesetter {
    fonts: FontSystem,
    glyphs: SwashCache,
    /// Code points both faces map, sorted.
    coverage: Vec<u32>,
    metrics: font::VerticalMetrics,
    shaped: HashMap<ShapeKey, Arc<ShapedLine>>,
}

impl std::fmt::Debug for Typesetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typesetter")
            .field("coverage", &self.coverage.len())
            .field("shaped", &self.shaped.len())
            .finish_non_exhaustive()
    }
}

impl Typesetter {
    /// Loads the embedded font into a font system that holds nothing else.
    pub fn new() -> Result<Typesetter, TypesetError> {
        let db = font::database();
        if db.len() != 2 {
            return Err(TypesetError::Font("Noto Sans CJK SC"));
        }
        let regular = font::code_points(REGULAR);
        let bold = font::code_points(BOLD);
        if regular.is_empty() {
            return Err(TypesetError::Font("Regular"));
        }
        if bold.is_empty() {
            return Err(TypesetError::Font("Bold"));
        }
        // A character counts as present only if both weights have it, so a style change
        // can never make a glyph disappear.
        let coverage = regular
            .into_iter()
            .filter(|c| bold.binary_search(c).is_ok())
            .collect();
        let metrics = font::vertical_metrics(REGULAR).ok_or(TypesetError::Font("Regular"))?;
        // A fixed locale: shaping must not depend on the machine's settings.
        let fonts = FontSystem::new_with_locale_and_db("zh-CN".to_owned(), db);
        Ok(Typesetter {
            fonts,
            glyphs: SwashCache::new(),
            coverage,
            metrics,
            shaped: HashMap::new(),
        })
    }

    /// Forgets every shaped line (glyph images stay cached). For measuring cold layout in
    /// benchmarks, and for bounding memory in a long-lived process.
    pub fn clear_shape_cache(&mut self) {
        self.shaped.clear();
    }

    /// How many characters the font covers (in both weights).
    pub fn coverage_count(&self) -> usize {
        self.coverage.len()
    }

    /// Whether the font has a glyph for `c`.
    pub fn has_glyph(&self, c: char) -> bool {
        self.coverage.binary_search(&u32::from(c)).is_ok()
    }

    /// Characters of `text` the font has no glyph for (deduplicated, in order of first
    /// appearance). Control characters and invisible format characters are not reported:
    /// they draw nothing by design.
    pub fn missing_glyphs(&self, text: &str) -> Vec<char> {
        let mut missing = Vec::new();
        for c in text.chars() {
            if !invisible(c) && !self.has_glyph(c) && !missing.contains(&c) {
                missing.push(c);
            }
        }
        missing
    }

    /// The advance width of `text` set on one line, px.
    pub fn measure(&mut self, text: &str, style: &TextStyle) -> f32 {
        self.shape(text, style).width
    }

    /// Breaks `text` into lines no wider than `max_width` px, at most `max_lines` (then the
    /// last line ends in "…"). A newline in `text` always breaks the line. A single character
    /// wider than `max_width` still gets a line of its own.
    pub fn paragraph(
        &mut self,
        text: &str,
        style: &TextStyle,
        max_width: f32,
        max_lines: Option<u32>,
    ) -> Paragraph {
        let limit = max_lines.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut texts: Vec<String> = Vec::new();
        let mut truncated = false;
        'hard: for hard in text.split('\n') {
            let hard = hard.strip_suffix('\r').unwrap_or(hard);
            let shaped = self.shape(hard, style);
            let graphemes =
                linebreak::graphemes(hard, shaped.glyphs.iter().map(|g| (g.cluster, g.advance)));
            let allowed = linebreak::break_before(hard, &graphemes);
            let mut lines = linebreak::break_lines(&graphemes, &allowed, max_width);
            if lines.is_empty() {
                // An empty hard line still takes a line (a blank line in a notice).
                lines.push(0..0);
            }
            for line in lines {
                if texts.len() == limit {
                    truncated = true;
                    break 'hard;
                }
                texts.push(linebreak::visible_text(hard, &graphemes, line).to_owned());
            }
        }
        if truncated {
            if let Some(last) = texts.pop() {
                let fitted = self.with_ellipsis(&last, style, max_width);
                texts.push(fitted);
            }
        }
        self.assemble(texts, style, truncated, text)
    }

    /// Shortens `line` until it and a trailing "…" fit in `max_width`, and appends the "…".
    fn with_ellipsis(&mut self, line: &str, style: &TextStyle, max_width: f32) -> String {
        let mut kept: Vec<&str> =
            unicode_segmentation::UnicodeSegmentation::graphemes(line, true).collect();
        loop {
            // Never leave an opening bracket or a space dangling before the ellipsis.
            while kept.last().is_some_and(|g| {
                g.chars().all(char::is_whitespace)
                    || g.chars()
                        .next_back()
                        .is_some_and(|c| NO_LINE_END.contains(&c))
            }) {
                kept.pop();
            }
            let mut candidate = kept.concat();
            candidate.push(ELLIPSIS);
            if kept.is_empty() || self.measure(&candidate, style) <= max_width + 0.01 {
                return candidate;
            }
            kept.pop();
        }
    }

    fn assemble(
        &mut self,
        texts: Vec<String>,
        style: &TextStyle,
        truncated: bool,
        source: &str,
    ) -> Paragraph {
        let first_baseline = self.first_baseline(style);
        let mut lines = Vec::with_capacity(texts.len());
        let mut y = 0.0;
        for text in texts {
            let width = self.measure(&text, style);
            lines.push(Line {
                text,
                width,
                baseline: y + first_baseline,
            });
            y += style.line_height;
        }
        Paragraph {
            width: lines.iter().map(|l| l.width).fold(0.0, f32::max),
            height: y,
            truncated,
            missing: self.missing_glyphs(source),
            lines,
        }
    }

    /// The first line's baseline below the paragraph's top: the ideographic em box is centred
    /// in the line box (half the leading above, half below), as CSS does.
    pub fn first_baseline(&self, style: &TextStyle) -> f32 {
        let content = style.size * (self.metrics.ascent + self.metrics.descent);
        (style.line_height - content) / 2.0 + style.size * self.metrics.ascent
    }

    /// Rasterises `text` as one line whose origin is at (`x`, `baseline`) in pixels, handing
    /// every glyph's coverage mask to `sink`. Returns the characters the font has no glyph for;
    /// they are not drawn. Draws nothing at a size that is not finite, positive and at most
    /// [`MAX_DRAWN_SIZE`].
    pub fn draw_line(
        &mut self,
        text: &str,
        style: &TextStyle,
        x: f32,
        baseline: f32,
        sink: &mut dyn FnMut(GlyphMask<'_>),
    ) -> Vec<char> {
        if !(style.size > 0.0 && style.size <= MAX_DRAWN_SIZE) {
            return self.missing_glyphs(text);
        }
        let shaped = self.shape(text, style);
        // Whole-pixel baselines keep the horizontal strokes of Chinese characters sharp;
        // horizontal positions keep cosmic-text's quarter-pixel bins for even spacing.
        let baseline = baseline.round();
        if self.glyphs.image_cache.len() > GLYPH_CACHE_LIMIT {
            self.glyphs.image_cache.clear();
        }
        let mut coverage = Vec::new();
        for glyph in &shaped.glyphs {
            if glyph.glyph_id == 0 {
                continue;
            }
            let (key, px, py) = CacheKey::new(
                glyph.font_id,
                glyph.glyph_id,
                style.size,
                (x + glyph.x, baseline + glyph.y),
                style.weight.font_weight(),
                CacheKeyFlags::DISABLE_HINTING,
            );
            let Some(image) = self.glyphs.get_image(&mut self.fonts, key) else {
                continue;
            };
            let placement = image.placement;
            let mask: &[u8] = match image.content {
                SwashContent::Mask => &image.data,
                // Neither appears with this font; keep the coverage if they ever do.
                SwashContent::Color => {
                    coverage.clear();
                    coverage.extend(image.data.chunks_exact(4).filter_map(|p| p.get(3).copied()));
                    &coverage
                }
                SwashContent::SubpixelMask => {
                    coverage.clear();
                    coverage.extend(image.data.chunks_exact(4).filter_map(|p| p.get(1).copied()));
                    &coverage
                }
            };
            sink(GlyphMask {
                left: px + placement.left,
                top: py - placement.top,
                width: placement.width,
                height: placement.height,
                coverage: mask,
            });
        }
        self.missing_glyphs(text)
    }

    /// Shapes `text` as one line, with the cache.
    fn shape(&mut self, text: &str, style: &TextStyle) -> Arc<ShapedLine> {
        let key = ShapeKey {
            text: text.to_owned(),
            size_bits: style.size.to_bits(),
            weight: style.weight,
        };
        if let Some(shaped) = self.shaped.get(&key) {
            return Arc::clone(shaped);
        }
        let attrs = Attrs::new()
            .family(Family::Name(FAMILY))
            .weight(style.weight.font_weight());
        let attrs = AttrsList::new(&attrs);
        let line = ShapeLine::new(&mut self.fonts, text, &attrs, Shaping::Advanced, 4);
        let layout = line.layout(style.size, None, Wrap::None, None, None, Hinting::Disabled);
        let mut glyphs = Vec::new();
        let mut width: f32 = 0.0;
        for laid in &layout {
            width = width.max(laid.w);
            glyphs.extend(laid.glyphs.iter().map(|g| Glyph {
                cluster: g.start,
                font_id: g.font_id,
                glyph_id: g.glyph_id,
                x: g.x + g.x_offset * g.font_size,
                y: g.y - g.y_offset * g.font_size,
                advance: g.w,
            }));
        }
        let shaped = Arc::new(ShapedLine { glyphs, width });
        if self.shaped.len() >= SHAPE_CACHE_LIMIT {
            self.shaped.clear();
        }
        self.shaped.insert(key, Arc::clone(&shaped));
        shaped
    }
}

/// Characters that draw nothing by design, so a font need not have them.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
        || matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

#[cfg(test)]
mod tests;
