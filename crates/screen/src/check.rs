//! Validation: the findings `shangyi screens check` reports, and the rules that produce them.
//!
//! A finding names the template file, the line, the element and the rule, with a message for
//! the person at the terminal. Parsing, binding and layout all report through [`Finding`];
//! the screen-level rules (safe area, type size, contrast, overflow, target size,
//! reachability, actions, glyphs) run on the laid-out [`LayoutDocument`]s here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use crate::document::{Action, LayoutDocument, Node, Target};
use crate::layout::Placed;
use crate::theme::{Theme, contrast_ratio};

/// The graphics-safe area of a 1280x720 screen: 1152x648 at (64, 36).
pub const SAFE_AREA: (f32, f32, f32, f32) = (64.0, 36.0, 1152.0, 648.0);
/// Focus targets must be at least this wide and tall.
pub const MIN_TARGET: f32 = 50.0;

/// Which rule a finding breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Malformed XML, not UTF-8, no or several roots.
    Xml,
    /// DOCTYPE or an entity other than XML's predefined ones.
    Entity,
    UnknownElement,
    UnknownAttribute,
    /// A required attribute is missing or an attribute's value is invalid.
    BadValue,
    /// Elements nested too deeply.
    Depth,
    /// A file, a number or a repetition too large.
    Size,
    /// `{path}` names data that is not there.
    Binding,
    /// Duplicate ids, missing themes, screens that cannot be found.
    Structure,
    SafeArea,
    TextSize,
    Contrast,
    TextOverflow,
    TargetSize,
    Unreachable,
    /// An action names no screen or no ballot option.
    ActionTarget,
    /// Navigation overrides that lead in a circle back to the start with no way out, or name
    /// no focusable.
    NavOverride,
    /// A character the embedded font does not have.
    Glyph,
    /// Elders' mode: too many focusables in a row.
    RowDensity,
}

impl Rule {
    /// The rule's name as `screens check` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Xml => "xml",
            Rule::Entity => "entity",
            Rule::UnknownElement => "unknown-element",
            Rule::UnknownAttribute => "unknown-attribute",
            Rule::BadValue => "bad-value",
            Rule::Depth => "depth",
            Rule::Size => "size",
            Rule::Binding => "binding",
            Rule::Structure => "structure",
            Rule::SafeArea => "safe-area",
            Rule::TextSize => "text-size",
            Rule::Contrast => "contrast",
            Rule::TextOverflow => "text-overflow",
            Rule::TargetSize => "target-size",
            Rule::Unreachable => "unreachable",
            Rule::ActionTarget => "action-target",
            Rule::NavOverride => "nav-override",
            Rule::Glyph => "glyph",
            Rule::RowDensity => "row-density",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem, where it is, and which rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    pub file: String,
    pub line: u32,
    /// The element's name (`button`), or its id when it has one (`button#vote-1`); may be empty.
    pub element: String,
    pub rule: Rule,
    pub message: String,
}

impl Finding {
    pub fn new(file: &str, line: u32, element: &str, rule: Rule, message: String) -> Finding {
        Finding {
            file: file.to_string(),
            line,
            element: element.to_string(),
            rule,
            message,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: [{}]", self.file, self.line, self.rule)?;
        if !self.element.is_empty() {
            write!(f, " <{}>", self.element)?;
        }
        write!(f, " {}", self.message)
    }
}

/// Where a laid-out thing came from, so a finding on the document can name the template line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: u32,
    pub element: String,
}

/// Which screens exist and which params each accepts: what actions must resolve to.
#[derive(Debug, Clone, Default)]
pub struct ScreenIndex {
    /// Screen id → the set of valid params (`None` in the set: the screen takes no param).
    pub screens: BTreeMap<String, BTreeSet<Option<String>>>,
}

impl ScreenIndex {
    fn resolves(&self, screen: &str, param: Option<&str>) -> Result<(), String> {
        let Some(params) = self.screens.get(screen) else {
            return Err(format!("no screen {screen:?}"));
        };
        if params.contains(&param.map(str::to_string)) {
            return Ok(());
        }
        match param {
            Some(p) => Err(format!("screen {screen:?} has no instance for param {p:?}")),
            None => Err(format!("screen {screen:?} needs a param")),
        }
    }
}

/// Runs the screen-level rules on one laid-out screen. `placed` maps node and focusable
/// indexes back to template lines (see [`crate::layout::Placed`]).
pub fn check_document(
    placed: &Placed,
    theme: &Theme,
    index: &ScreenIndex,
    missing_glyphs: &dyn Fn(&str) -> Vec<char>,
) -> Vec<Finding> {
    let doc = &placed.document;
    let mut out = Vec::new();
    let (sx, sy, sw, sh) = SAFE_AREA;
    let fin =
        |o: &Origin, rule: Rule, msg: String| Finding::new(&o.file, o.line, &o.element, rule, msg);
    let eps = 0.5;
    for (i, node) in doc.nodes.iter().enumerate() {
        let o = placed.node_origin(i);
        let (x, y, w, h) = node.bounds();
        // Full-screen backgrounds may bleed; everything with content must be inside.
        let is_backdrop = matches!(node, Node::Rect { .. }) && placed.is_backdrop(i);
        if !is_backdrop
            && (x < sx - eps || y < sy - eps || x + w > sx + sw + eps || y + h > sy + sh + eps)
        {
            out.push(fin(
                o,
                Rule::SafeArea,
                format!("box ({x:.0},{y:.0} {w:.0}x{h:.0}) leaves the safe area 1152x648 at 64,36"),
            ));
        }
        if let Node::Text {
            size,
            color,
            lines,
            w,
            h,
            ..
        } = node
        {
            if placed.is_body_text(i) && *size < theme.min_body {
                out.push(fin(
                    o,
                    Rule::TextSize,
                    format!(
                        "text is {size} px; theme {} needs at least {} px",
                        theme.id, theme.min_body
                    ),
                ));
            }
            let bg = background_under(doc, i);
            let ratio = contrast_ratio(*color, bg);
            if ratio + 1e-3 < theme.min_contrast {
                out.push(fin(
                    o,
                    Rule::Contrast,
                    format!(
                        "text {color} on {bg} has contrast {ratio:.2}:1; theme {} needs {}:1",
                        theme.id, theme.min_contrast
                    ),
                ));
            }
            if placed.overflowed(i) {
                out.push(fin(
                    o,
                    Rule::TextOverflow,
                    "text does not fit its box; shorten it or declare lines=\"N\"".into(),
                ));
            } else {
                let used: f32 = lines.iter().map(|l| l.width).fold(0.0, f32::max);
                if used > *w + 1.0 || *h < 0.0 {
                    out.push(fin(
                        o,
                        Rule::TextOverflow,
                        format!("a line is {used:.0} px wide in a {w:.0} px box"),
                    ));
                }
            }
            let text: String = lines.iter().map(|l| l.text.as_str()).collect();
            let missing = missing_glyphs(&text);
            if !missing.is_empty() {
                let list: String = missing
                    .iter()
                    .map(|c| format!("{c} (U+{:04X}) ", *c as u32))
                    .collect();
                out.push(fin(
                    o,
                    Rule::Glyph,
                    format!("the font has no glyph for {}", list.trim_end()),
                ));
            }
        }
    }
    for (i, f) in doc.focusables.iter().enumerate() {
        let o = placed.focus_origin(i);
        if f.w + 0.01 < MIN_TARGET || f.h + 0.01 < MIN_TARGET {
            out.push(fin(
                o,
                Rule::TargetSize,
                format!(
                    "focus target {} is {:.0}x{:.0}; at least 50x50",
                    f.id, f.w, f.h
                ),
            ));
        }
        if let Some(msg) = action_problem(&f.action, doc, index) {
            out.push(fin(o, Rule::ActionTarget, format!("{}: {msg}", f.id)));
        }
    }
    for k in &doc.keys {
        if let Some(msg) = action_problem(&k.action, doc, index) {
            out.push(fin(
                &placed.screen_origin,
                Rule::ActionTarget,
                format!("key {}: {msg}", k.key),
            ));
        }
    }
    // Reachability from the default focus, following the resolved arrows.
    if let Some(start) = &doc.default_focus {
        let reached = reachable(doc, start);
        for (i, f) in doc.focusables.iter().enumerate() {
            if !reached.contains(f.id.as_str()) {
                out.push(fin(
                    placed.focus_origin(i),
                    Rule::Unreachable,
                    format!("{} cannot be reached with the arrows from {start}", f.id),
                ));
            }
        }
    } else if !doc.focusables.is_empty() {
        out.push(fin(
            &placed.screen_origin,
            Rule::Unreachable,
            "the screen has focusables but no default focus".into(),
        ));
    }
    // Elders' mode: few focusables side by side.
    if let Some(max) = theme.max_row_focusables {
        for (i, f) in doc.focusables.iter().enumerate() {
            let cy = f.y + f.h / 2.0;
            let in_row = doc
                .focusables
                .iter()
                .filter(|g| g.y <= cy && cy <= g.y + g.h)
                .count();
            if in_row > max {
                out.push(fin(
                    placed.focus_origin(i),
                    Rule::RowDensity,
                    format!(
                        "{in_row} focusable items side by side; theme {} allows {max}",
                        theme.id
                    ),
                ));
                break;
            }
        }
    }
    out
}

/// The ids reachable from `start` by arrow presses (containers resolve to their fallback).
pub fn reachable<'a>(doc: &'a LayoutDocument, start: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([start]);
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        let Some(f) = doc.focusable(id) else { continue };
        for d in crate::document::Direction::ALL {
            match f.nav.get(d) {
                Some(Target::Focus { id }) => queue.push_back(id),
                // The child a container remembers was itself reached some other way first, so
                // following the fallback finds everything the box can reach.
                Some(Target::Container { fallback, .. }) => queue.push_back(fallback),
                Some(Target::Blocked) | None => {}
            }
        }
    }
    seen
}

fn action_problem(action: &Action, doc: &LayoutDocument, index: &ScreenIndex) -> Option<String> {
    match action {
        Action::OpenScreen { screen, param } => index.resolves(screen, param.as_deref()).err(),
        // A vote resolves when its topic's ballot has the option: exactly when the receipt
        // screen (one instance per topic and option) has that instance.
        Action::CastVote { topic_id, option } => match index.screens.get("vote-receipt") {
            None => Some("there is no vote-receipt screen to show after voting".into()),
            Some(_) => index
                .resolves("vote-receipt", Some(&format!("{topic_id}/{option}")))
                .err()
                .map(|_| format!("topic {topic_id} has no ballot option {option:?}")),
        },
        Action::SubmitComment { topic_id } => index
            .resolves("comment-receipt", Some(&topic_id.to_string()))
            .err(),
        Action::Page { page } => {
            let count = doc.page.map(|p| p.count).unwrap_or(1);
            (*page >= count).then(|| format!("page {page} of {count}"))
        }
        Action::ChoosePhrase { .. }
        | Action::EditField { .. }
        | Action::Digit { .. }
        | Action::Erase
        | Action::Back
        | Action::Exit => None,
    }
}

/// The colour a text node sits on: the topmost opaque rect painted before it that covers its
/// box's centre, else the document background.
fn background_under(doc: &LayoutDocument, text_index: usize) -> crate::document::Color {
    let (x, y, w, h) = doc.nodes[text_index].bounds();
    let (cx, cy) = (x + w / 2.0, y + h / 2.0);
    for node in doc.nodes[..text_index].iter().rev() {
        if let Node::Rect {
            x,
            y,
            w,
            h,
            fill: Some(fill),
            ..
        } = node
            && fill.0[3] == 255
            && *x <= cx
            && cx <= x + w
            && *y <= cy
            && cy <= y + h
        {
            return *fill;
        }
    }
    doc.background
}
