//! Line breaking: where a paragraph's lines end, given the advance of every grapheme.
//!
//! We break lines ourselves, greedily, over the advances the shaper measured, rather than
//! post-processing cosmic-text's wrapping: the rules Chinese typesetting needs (kinsoku, an
//! ellipsis on the last allowed line) are easier to state and test over a plain list of
//! measured graphemes, and the result is a pure function of that list.
//!
//! Break opportunities start from Unicode's line breaking algorithm (UAX #14, which already
//! allows a break between any two ideographs and only at spaces inside Latin words), then the
//! kinsoku rules below are applied on top, so they hold whatever UAX #14 classifies a
//! character as:
//! - closing punctuation ([`NO_LINE_START`]) never starts a line;
//! - opening brackets ([`NO_LINE_END`]) never end one.
//!
//! When a closing mark does not fit, the break moves one character earlier and the previous
//! character goes down with the mark (oidashi), which is what readers of Chinese expect.

use std::ops::Range;

use unicode_linebreak::{BreakOpportunity, linebreaks};
use unicode_segmentation::UnicodeSegmentation as _;

/// Characters that never start a line: closing punctuation, full-width and ASCII.
pub const NO_LINE_START: &[char] = &[
    '，', '。', '、', '；', '：', '？', '！', '）', '」', '』', '》', '〉', '】', '〕', '〗', '”',
    '’', '…', '·', '・', '～', '％', '‰', '℃', '°', ',', '.', ';', ':', '?', '!', ')', ']', '}',
    '%', '〜', '．', '｝', '］', '＞',
];

/// Characters that never end a line: opening brackets and quotes, full-width and ASCII.
pub const NO_LINE_END: &[char] = &[
    '（', '「', '『', '《', '〈', '【', '〔', '〖', '“', '‘', '(', '[', '{', '｛', '［', '＜',
    '￥', '¥', '$', '＄',
];

/// One grapheme of a line of text, with the advance the shaper gave it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grapheme {
    /// Byte range in the text.
    pub range: Range<usize>,
    /// Horizontal advance in px.
    pub advance: f32,
    /// Whitespace: hangs past the line end and is dropped at a break.
    pub space: bool,
    /// Its first and last characters, for the kinsoku rules.
    pub first: char,
    pub last: char,
}

/// Splits `text` (one hard line, no newline in it) into graphemes with advances, given the
/// shaped glyphs as `(cluster start byte, advance)`. A glyph's advance goes to the grapheme its
/// cluster starts in.
pub(crate) fn graphemes(
    text: &str,
    glyphs: impl IntoIterator<Item = (usize, f32)>,
) -> Vec<Grapheme> {
    let mut out: Vec<Grapheme> = text
        .grapheme_indices(true)
        .map(|(i, g)| Grapheme {
            range: i..i + g.len(),
            advance: 0.0,
            space: g.chars().all(char::is_whitespace),
            first: g.chars().next().unwrap_or(' '),
            last: g.chars().next_back().unwrap_or(' '),
        })
        .collect();
    for (start, advance) in glyphs {
        let at = out.partition_point(|g| g.range.end <= start);
        if let Some(g) = out.get_mut(at) {
            g.advance += advance;
        }
    }
    out
}

/// For every grapheme, whether a line may break just before it (never before the first).
pub(crate) fn break_before(text: &str, graphemes: &[Grapheme]) -> Vec<bool> {
    let mut allowed = vec![false; graphemes.len()];
    let mut opportunities = linebreaks(text)
        .filter(|(_, kind)| *kind == BreakOpportunity::Allowed)
        .map(|(at, _)| at)
        .peekable();
    for (i, g) in graphemes.iter().enumerate().skip(1) {
        while opportunities.next_if(|&at| at < g.range.start).is_some() {}
        let uax14 = opportunities.peek() == Some(&g.range.start);
        if let Some(slot) = allowed.get_mut(i) {
            *slot = uax14 && kinsoku_allows(graphemes, i);
        }
    }
    allowed
}

/// The kinsoku rules, applied to a break before grapheme `i`.
fn kinsoku_allows(graphemes: &[Grapheme], i: usize) -> bool {
    let starts_with_closing = graphemes
        .get(i)
        .is_some_and(|g| NO_LINE_START.contains(&g.first));
    let ends_with_opening = i
        .checked_sub(1)
        .and_then(|p| graphemes.get(p))
        .is_some_and(|g| NO_LINE_END.contains(&g.last));
    !starts_with_closing && !ends_with_opening
}

/// Breaks one hard line greedily into lines no wider than `max_width`, returning grapheme
/// index ranges. Trailing whitespace hangs (does not count against the width) and leading
/// whitespace of a wrapped line is dropped. Every line holds at least one grapheme, so an
/// absurdly narrow width still terminates.
pub(crate) fn break_lines(
    graphemes: &[Grapheme],
    allowed: &[bool],
    max_width: f32,
) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let n = graphemes.len();
    let mut start = 0;
    while start < n {
        let mut x = 0.0;
        let mut last_break = None;
        let mut end = n;
        for g in start..n {
            if g > start && allowed.get(g).copied().unwrap_or(false) {
                last_break = Some(g);
            }
            let Some(grapheme) = graphemes.get(g) else {
                break;
            };
            let next = x + grapheme.advance;
            // A small tolerance keeps a line that fits exactly from breaking on float noise.
            if g > start && !grapheme.space && next > max_width + 0.01 {
                end = last_break.unwrap_or_else(|| emergency_break(graphemes, start, g));
                break;
            }
            x = next;
        }
        lines.push(start..end);
        start = end;
        while graphemes.get(start).is_some_and(|g| g.space) {
            start += 1;
        }
    }
    lines
}

/// Where to break a run with no allowed break that overflows at grapheme `overflow` (a long
/// Latin word or number): before `overflow`, moved earlier while that would start the line
/// with a closing mark or end it with an opening one, as long as the line keeps a grapheme.
fn emergency_break(graphemes: &[Grapheme], start: usize, overflow: usize) -> usize {
    (start + 1..=overflow)
        .rev()
        .find(|&b| kinsoku_allows(graphemes, b))
        .unwrap_or(overflow)
}

/// The text of a line (a range of graphemes) without the whitespace hanging at its end.
pub(crate) fn visible_text<'a>(
    text: &'a str,
    graphemes: &[Grapheme],
    line: Range<usize>,
) -> &'a str {
    let visible = graphemes.get(line).unwrap_or_default();
    let end = visible.iter().rposition(|g| !g.space).map_or(0, |i| i + 1);
    match (
        visible.first(),
        end.checked_sub(1).and_then(|last| visible.get(last)),
    ) {
        (Some(first), Some(last)) => text
            .get(first.range.start..last.range.end)
            .unwrap_or_default(),
        _ => "",
    }
}
