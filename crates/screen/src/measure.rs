//! The text-measuring seam: layout asks a [`Measure`] how a paragraph breaks into lines.
//!
//! In production the measurer is the `typeset` crate's shaper (the same one `render` draws
//! with), so what layout measures is what the screen shows. [`ApproxMeasure`] is a
//! deterministic stand-in (CJK one em wide, Latin about half) for tests and for builds where
//! the font is not wanted; it follows the same Chinese line-breaking rule.

use std::cell::RefCell;

use crate::document::Weight;

/// The style a paragraph is set in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub size: f32,
    pub line_height: f32,
    pub weight: Weight,
}

/// One line of a set paragraph; `baseline` is measured from the paragraph's top.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub width: f32,
    pub baseline: f32,
}

/// A paragraph broken into lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Paragraph {
    pub lines: Vec<Line>,
    /// The widest line.
    pub width: f32,
    /// `lines.len() * line_height`.
    pub height: f32,
    /// True when `max_lines` cut text off (the last line then ends in an ellipsis).
    pub truncated: bool,
    /// The characters the font has no glyph for.
    pub missing: Vec<char>,
}

/// Sets text into lines no wider than a width.
pub trait Measure {
    /// Breaks `text` into lines at most `max_width` wide; with `max_lines`, stops there and
    /// ends the last line with "…".
    fn paragraph(
        &self,
        text: &str,
        style: &TextStyle,
        max_width: f32,
        max_lines: Option<usize>,
    ) -> Paragraph;

    /// The characters of `text` the font cannot draw (each once, in order of appearance).
    fn missing_glyphs(&self, text: &str) -> Vec<char>;
}

/// Characters that must not start a line (Chinese line-breaking rule, 避头尾).
pub const NO_LINE_START: &str = "，。、；：？！）」』】》〉”’％,.;:?!)]}…—·～";
/// Characters that must not end a line.
pub const NO_LINE_END: &str = "（「『【《〈“‘([{";

/// A deterministic approximate measurer: CJK and full-width characters one em, ASCII 0.55 em.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproxMeasure;

fn advance(c: char, size: f32) -> f32 {
    if c.is_ascii() {
        if c == ' ' { size * 0.3 } else { size * 0.55 }
    } else {
        size
    }
}

/// Units that must stay together on a line: a Latin word or number, or one CJK character
/// (with a following closing punctuation glued to it, and an opening one glued forward).
fn units(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut glue_next = false;
    for c in text.chars() {
        let word_char = c.is_ascii_alphanumeric();
        let join = match out.last() {
            Some(last) => {
                glue_next
                    || NO_LINE_START.contains(c)
                    || (word_char
                        && last
                            .chars()
                            .last()
                            .is_some_and(|p| p.is_ascii_alphanumeric()))
            }
            None => false,
        };
        if join {
            if let Some(last) = out.last_mut() {
                last.push(c);
            }
        } else {
            out.push(c.to_string());
        }
        glue_next = NO_LINE_END.contains(c);
    }
    out
}

/// Greedy line breaking over [`units`], shared by measurers that only know advances.
pub fn break_lines(
    text: &str,
    style: &TextStyle,
    max_width: f32,
    max_lines: Option<usize>,
    advance: &dyn Fn(char) -> f32,
) -> Paragraph {
    let width_of = |s: &str| s.chars().map(advance).sum::<f32>();
    let mut lines: Vec<(String, f32)> = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0.0;
    for unit in units(text) {
        let w = width_of(&unit);
        if !cur.is_empty() && cur_w + w > max_width + 0.01 {
            let done = std::mem::take(&mut cur);
            lines.push((done.trim_end().to_string(), cur_w));
            cur_w = 0.0;
            if unit == " " {
                continue;
            }
        }
        cur.push_str(&unit);
        cur_w += w;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push((cur, cur_w));
    }
    let mut truncated = false;
    if let Some(max) = max_lines.filter(|m| *m > 0)
        && lines.len() > max
    {
        truncated = true;
        lines.truncate(max);
        if let Some((last, _)) = lines.last_mut() {
            let ell = advance('…');
            let mut chars: Vec<char> = last.chars().collect();
            while !chars.is_empty()
                && chars.iter().map(|c| advance(*c)).sum::<f32>() + ell > max_width
            {
                chars.pop();
            }
            // Never leave closing punctuation dangling before the ellipsis' own break.
            *last = chars.into_iter().collect::<String>() + "…";
        }
    }
    let ascent = style.size * 0.88;
    let lead = (style.line_height - style.size) / 2.0;
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .map(|(i, (text, _))| Line {
            width: width_of(&text),
            baseline: i as f32 * style.line_height + lead + ascent,
            text,
        })
        .collect();
    Paragraph {
        width: lines.iter().map(|l| l.width).fold(0.0, f32::max),
        height: lines.len() as f32 * style.line_height,
        lines,
        truncated,
        missing: Vec::new(),
    }
}

impl Measure for ApproxMeasure {
    fn paragraph(
        &self,
        text: &str,
        style: &TextStyle,
        max_width: f32,
        max_lines: Option<usize>,
    ) -> Paragraph {
        let size = style.size;
        break_lines(text, style, max_width, max_lines, &|c| advance(c, size))
    }

    fn missing_glyphs(&self, _text: &str) -> Vec<char> {
        Vec::new()
    }
}

/// The production measurer: the `typeset` crate's shaper with the embedded font, the same
/// one `render` draws with. (`Typesetter` caches shaping, hence the `RefCell`.)
#[derive(Debug)]
pub struct Typeset(pub RefCell<typeset::Typesetter>);

impl Typeset {
    /// Loads the embedded font.
    pub fn new() -> Result<Typeset, typeset::TypesetError> {
        Ok(Typeset(RefCell::new(typeset::Typesetter::new()?)))
    }
}

fn typeset_style(style: &TextStyle) -> typeset::TextStyle {
    typeset::TextStyle {
        size: style.size,
        line_height: style.line_height,
        weight: match style.weight {
            Weight::Regular => typeset::Weight::Regular,
            Weight::Bold => typeset::Weight::Bold,
        },
    }
}

impl Measure for Typeset {
    fn paragraph(
        &self,
        text: &str,
        style: &TextStyle,
        max_width: f32,
        max_lines: Option<usize>,
    ) -> Paragraph {
        let max_lines = max_lines.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let p = self
            .0
            .borrow_mut()
            .paragraph(text, &typeset_style(style), max_width, max_lines);
        Paragraph {
            lines: p
                .lines
                .into_iter()
                .map(|l| Line {
                    text: l.text,
                    width: l.width,
                    baseline: l.baseline,
                })
                .collect(),
            width: p.width,
            height: p.height,
            truncated: p.truncated,
            missing: p.missing,
        }
    }

    fn missing_glyphs(&self, text: &str) -> Vec<char> {
        self.0.borrow().missing_glyphs(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: TextStyle = TextStyle {
        size: 10.0,
        line_height: 14.0,
        weight: Weight::Regular,
    };

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // Four characters fit; the comma would start line two, so "梯，" moves together.
        let p = ApproxMeasure.paragraph("加装电梯，方便出行。", &S, 40.0, None);
        let texts: Vec<&str> = p.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["加装电", "梯，方便", "出行。"]);
        for l in &p.lines {
            assert!(!NO_LINE_START.contains(l.text.chars().next().unwrap_or('x')));
        }
    }

    #[test]
    fn line_limit_ends_with_ellipsis() {
        let p = ApproxMeasure.paragraph("一二三四五六七八九十", &S, 40.0, Some(2));
        assert!(p.truncated);
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[1].text, "五六七…");
        assert!(p.lines.iter().all(|l| l.width <= 40.0));
    }

    #[test]
    fn latin_words_stay_whole() {
        let p = ApproxMeasure.paragraph("EV charging 充电桩", &S, 40.0, None);
        assert_eq!(p.lines[0].text, "EV");
        assert_eq!(p.lines[1].text, "charging");
    }
}
