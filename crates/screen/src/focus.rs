//! Focus navigation (spatial navigation): which focusable each arrow leads to, and the
//! [`Navigator`] state machine a set-top box (or the emulator) runs on the layout documents.
//!
//! The neighbour for each arrow is found geometrically, after the W3C CSS spatial navigation
//! draft, Norigin Spatial Navigation and BBC LRUD (scoring in [`score`] and in
//! `docs/screens.md`), unless the template overrides it (`nav-left="id"`, or `nav-left=""`
//! to block). Moving into another container goes to the child the container last had
//! focused, which the navigator remembers.

use std::collections::BTreeMap;

use crate::check::{Finding, Rule};
use crate::document::{Action, Direction, Focusable, LayoutDocument, Target};
use crate::layout::Placed;

/// How much an offset across the direction of travel counts against a candidate, per
/// direction of travel (W3C spatial navigation's weights: rows are tight, so a horizontal
/// move punishes leaving the row hard; vertical moves between rows of different widths do not).
pub const ORTHOGONAL_WEIGHT_HORIZONTAL: f32 = 30.0;
pub const ORTHOGONAL_WEIGHT_VERTICAL: f32 = 2.0;
/// Weight of the distance between centres across the direction (a tie-breaker).
pub const CENTER_WEIGHT: f32 = 0.5;

/// A box: `(x, y, w, h)`.
pub type Rect = (f32, f32, f32, f32);

/// Scores moving from `from` to `to` in `dir`: `None` if `to` is not strictly that way,
/// otherwise lower is better.
///
/// * Candidates must lie strictly in the direction: their near edge at or beyond the
///   source's far edge (1 px tolerance for rounding).
/// * `axis`: the gap between the facing edges along the direction.
/// * `orth`: the gap between the two boxes across the direction (0 if they overlap there).
/// * `overlap`: how much they overlap across the direction.
/// * `centre`: the distance between their centres across the direction.
///
/// `score = axis + weight * orth + 0.5 * centre - sqrt(overlap)`.
pub fn score(from: Rect, to: Rect, dir: Direction) -> Option<f32> {
    let (fx, fy, fw, fh) = from;
    let (tx, ty, tw, th) = to;
    let tol = 1.0;
    let (axis, (a0, a1), (b0, b1), weight) = match dir {
        Direction::Right => (
            tx - (fx + fw),
            (fy, fy + fh),
            (ty, ty + th),
            ORTHOGONAL_WEIGHT_HORIZONTAL,
        ),
        Direction::Left => (
            fx - (tx + tw),
            (fy, fy + fh),
            (ty, ty + th),
            ORTHOGONAL_WEIGHT_HORIZONTAL,
        ),
        Direction::Down => (
            ty - (fy + fh),
            (fx, fx + fw),
            (tx, tx + tw),
            ORTHOGONAL_WEIGHT_VERTICAL,
        ),
        Direction::Up => (
            fy - (ty + th),
            (fx, fx + fw),
            (tx, tx + tw),
            ORTHOGONAL_WEIGHT_VERTICAL,
        ),
    };
    if axis < -tol {
        return None;
    }
    let axis = axis.max(0.0);
    let overlap = (a1.min(b1) - a0.max(b0)).max(0.0);
    let orth = if overlap > 0.0 {
        0.0
    } else {
        (b0 - a1).max(a0 - b1).max(0.0)
    };
    let centre = ((a0 + a1) / 2.0 - (b0 + b1) / 2.0).abs();
    Some(axis + weight * orth + CENTER_WEIGHT * centre - overlap.sqrt())
}

fn rect(f: &Focusable) -> Rect {
    (f.x, f.y, f.w, f.h)
}

/// The geometric neighbour of `focusables[from]` in `dir`, if any (ties: document order).
pub fn neighbour(focusables: &[Focusable], from: usize, dir: Direction) -> Option<usize> {
    let src = rect(focusables.get(from)?);
    let mut best: Option<(f32, usize)> = None;
    for (i, f) in focusables.iter().enumerate() {
        if i == from {
            continue;
        }
        if let Some(s) = score(src, rect(f), dir)
            && best.is_none_or(|(b, _)| s < b)
        {
            best = Some((s, i));
        }
    }
    best.map(|(_, i)| i)
}

/// Fills in every focusable's `nav` from geometry and the template's overrides, and checks
/// the overrides and the default focus. Returns findings for overrides naming nothing,
/// pointing at themselves, or bouncing straight back (A right→B, B right→A).
pub fn resolve(placed: &mut Placed) -> Vec<Finding> {
    let mut findings = Vec::new();
    let n = placed.document.focusables.len();
    let ids: Vec<String> = placed
        .document
        .focusables
        .iter()
        .map(|f| f.id.clone())
        .collect();
    let containers: Vec<Option<String>> = placed
        .document
        .focusables
        .iter()
        .map(|f| f.container.clone())
        .collect();
    // Duplicate ids make navigation ambiguous.
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            let o = placed.focus_origin(i);
            findings.push(Finding::new(
                &o.file,
                o.line,
                &o.element,
                Rule::Structure,
                format!("focusable id {id:?} is used twice on this screen"),
            ));
        }
    }
    let target_to = |j: usize, from_container: &Option<String>| -> Target {
        match &containers[j] {
            Some(c) if Some(c) != from_container.as_ref() => Target::Container {
                id: c.clone(),
                fallback: ids[j].clone(),
            },
            _ => Target::Focus { id: ids[j].clone() },
        }
    };
    for i in 0..n {
        for (k, dir) in Direction::ALL.into_iter().enumerate() {
            let over = placed.overrides.get(i).and_then(|o| o[k].clone());
            let target = match over {
                Some(s) if s.is_empty() => Some(Target::Blocked),
                Some(s) => {
                    match ids.iter().position(|id| *id == s) {
                        Some(j) if j == i => {
                            let o = placed.focus_origin(i);
                            findings.push(Finding::new(
                                &o.file,
                                o.line,
                                &o.element,
                                Rule::NavOverride,
                                format!("nav-{} of {} points at itself", dir_name(dir), ids[i]),
                            ));
                            Some(Target::Blocked)
                        }
                        Some(j) => Some(target_to(j, &containers[i])),
                        None => {
                            let o = placed.focus_origin(i);
                            findings.push(Finding::new(&o.file, o.line, &o.element, Rule::NavOverride, format!("nav-{} of {} names {s:?}, which is no focusable on this screen", dir_name(dir), ids[i])));
                            neighbour(&placed.document.focusables, i, dir)
                                .map(|j| target_to(j, &containers[i]))
                        }
                    }
                }
                None => neighbour(&placed.document.focusables, i, dir)
                    .map(|j| target_to(j, &containers[i])),
            };
            if let Some(f) = placed.document.focusables.get_mut(i) {
                *f.nav.get_mut(dir) = target;
            }
        }
    }
    // Overrides that bounce straight back in the same direction trap the viewer.
    for i in 0..n {
        for (k, dir) in Direction::ALL.into_iter().enumerate() {
            let Some(Some(to)) = placed.overrides.get(i).map(|o| o[k].clone()) else {
                continue;
            };
            let Some(j) = ids.iter().position(|id| *id == to) else {
                continue;
            };
            if j > i
                && placed.overrides.get(j).and_then(|o| o[k].as_deref()) == Some(ids[i].as_str())
            {
                let o = placed.focus_origin(i);
                findings.push(Finding::new(
                    &o.file,
                    o.line,
                    &o.element,
                    Rule::NavOverride,
                    format!(
                        "nav-{0} cycle: {1} → {2} → {1}",
                        dir_name(dir),
                        ids[i],
                        ids[j]
                    ),
                ));
            }
        }
    }
    // `default-focus` may list candidates ("option-1 back"): the first present wins, so a
    // screen whose first choice is conditional still opens focused where the template wants.
    let doc = &mut placed.document;
    let first = doc.focusables.first().map(|f| f.id.clone());
    doc.default_focus = match doc.default_focus.take() {
        Some(d) => {
            let found = d
                .split_whitespace()
                .find(|c| doc.focusables.iter().any(|f| f.id == *c))
                .map(str::to_string);
            if found.is_none() && !doc.focusables.is_empty() {
                let o = &placed.screen_origin;
                findings.push(Finding::new(
                    &o.file,
                    o.line,
                    &o.element,
                    Rule::Unreachable,
                    format!("default-focus {d:?} names no focusable on this screen"),
                ));
            }
            found.or(first)
        }
        None => first,
    };
    findings
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
        Direction::Left => "left",
        Direction::Right => "right",
    }
}

/// A remote key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Arrow(Direction),
    Ok,
    Back,
    Exit,
    Menu,
    Info,
    Digit(u8),
    Red,
    Green,
    Yellow,
    Blue,
    PageUp,
    PageDown,
}

impl Key {
    /// Parses a key name: `UP`, `DOWN`, `LEFT`, `RIGHT`, `OK`, `BACK`, `EXIT`, `MENU`, `INFO`,
    /// `0`-`9`, `RED`, `GREEN`, `YELLOW`, `BLUE`, `PAGE_UP`, `PAGE_DOWN`.
    pub fn parse(s: &str) -> Option<Key> {
        Some(match s {
            "UP" => Key::Arrow(Direction::Up),
            "DOWN" => Key::Arrow(Direction::Down),
            "LEFT" => Key::Arrow(Direction::Left),
            "RIGHT" => Key::Arrow(Direction::Right),
            "OK" => Key::Ok,
            "BACK" => Key::Back,
            "EXIT" => Key::Exit,
            "MENU" => Key::Menu,
            "INFO" => Key::Info,
            "RED" => Key::Red,
            "GREEN" => Key::Green,
            "YELLOW" => Key::Yellow,
            "BLUE" => Key::Blue,
            "PAGE_UP" => Key::PageUp,
            "PAGE_DOWN" => Key::PageDown,
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => {
                Key::Digit(d.as_bytes()[0] - b'0')
            }
            _ => return None,
        })
    }

    /// The key's name in layout documents' key bindings (`None` for arrows and OK).
    pub fn binding_name(self) -> Option<String> {
        Some(match self {
            Key::Arrow(_) | Key::Ok => return None,
            Key::Back => "BACK".into(),
            Key::Exit => "EXIT".into(),
            Key::Menu => "MENU".into(),
            Key::Info => "INFO".into(),
            Key::Digit(d) => d.to_string(),
            Key::Red => "RED".into(),
            Key::Green => "GREEN".into(),
            Key::Yellow => "YELLOW".into(),
            Key::Blue => "BLUE".into(),
            Key::PageUp => "PAGE_UP".into(),
            Key::PageDown => "PAGE_DOWN".into(),
        })
    }
}

/// Where the navigator finds documents: by screen id, param and page.
pub trait Screens {
    fn document(&self, screen: &str, param: Option<&str>, page: u32) -> Option<LayoutDocument>;
}

impl<F> Screens for F
where
    F: Fn(&str, Option<&str>, u32) -> Option<LayoutDocument>,
{
    fn document(&self, screen: &str, param: Option<&str>, page: u32) -> Option<LayoutDocument> {
        self(screen, param, page)
    }
}

/// One screen on the back stack, with its focus and its containers' memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub document: LayoutDocument,
    pub focus: Option<String>,
    /// Container id → the child that last had focus in it.
    pub memory: BTreeMap<String, String>,
}

/// The comment being drafted with the remote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Draft {
    pub phrase: Option<String>,
    /// Field name (`building`, `room`) → digits typed.
    pub fields: BTreeMap<String, String>,
    /// The field digits type into.
    pub active: Option<String>,
}

/// Digits a draft field holds at most (building and room numbers are short).
pub const MAX_FIELD_DIGITS: usize = 6;

/// What a key press did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Focus moved to this id.
    Moved(String),
    /// Nothing happened (blocked, nothing that way, key unbound).
    Stayed,
    /// A screen opened (pushed, or replaced by paging).
    Opened {
        screen: String,
        param: Option<String>,
        page: u32,
    },
    /// Went back to the previous screen.
    Returned { screen: String },
    /// The draft changed.
    Drafted,
    /// The box must do something outside navigation: send a vote or a comment (the
    /// navigator has already opened the receipt screen), or leave the channel.
    Effect(Action),
    /// The screen the action named could not be found.
    Missing {
        screen: String,
        param: Option<String>,
    },
}

/// The navigation state machine: a back stack of screens with their focus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Navigator {
    stack: Vec<Frame>,
    pub draft: Draft,
}

impl Navigator {
    /// Starts on a screen (usually `home`).
    pub fn new(first: LayoutDocument) -> Navigator {
        let mut n = Navigator::default();
        n.push(first);
        n
    }

    fn push(&mut self, document: LayoutDocument) {
        let focus = initial_focus(&document);
        self.stack.push(Frame {
            document,
            focus,
            memory: BTreeMap::new(),
        });
    }

    /// The screen on top.
    pub fn current(&self) -> Option<&Frame> {
        self.stack.last()
    }

    /// The focused id on the current screen.
    pub fn focus(&self) -> Option<&str> {
        self.current().and_then(|f| f.focus.as_deref())
    }

    /// How many screens are on the stack.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Handles one key press.
    pub fn press(&mut self, key: Key, screens: &dyn Screens) -> Outcome {
        let Some(frame) = self.stack.last() else {
            return Outcome::Stayed;
        };
        match key {
            Key::Arrow(dir) => self.arrow(dir),
            Key::Ok => {
                let action = frame
                    .focus
                    .as_deref()
                    .and_then(|id| frame.document.focusable(id))
                    .map(|f| f.action.clone());
                match action {
                    Some(a) => self.act(a, screens),
                    None => Outcome::Stayed,
                }
            }
            other => {
                let name = other.binding_name().unwrap_or_default();
                if let Some(a) = frame.document.key_action(&name).cloned() {
                    return self.act(a, screens);
                }
                match other {
                    Key::Back => self.act(Action::Back, screens),
                    Key::Exit => Outcome::Effect(Action::Exit),
                    Key::Menu => self.act(
                        Action::OpenScreen {
                            screen: "home".into(),
                            param: None,
                        },
                        screens,
                    ),
                    Key::Info => self.act(
                        Action::OpenScreen {
                            screen: "help".into(),
                            param: None,
                        },
                        screens,
                    ),
                    Key::Digit(d) if self.draft.active.is_some() => {
                        self.act(Action::Digit { digit: d }, screens)
                    }
                    _ => Outcome::Stayed,
                }
            }
        }
    }

    fn arrow(&mut self, dir: Direction) -> Outcome {
        let Some(frame) = self.stack.last_mut() else {
            return Outcome::Stayed;
        };
        let Some(cur) = frame.focus.clone() else {
            return Outcome::Stayed;
        };
        let Some(f) = frame.document.focusable(&cur) else {
            return Outcome::Stayed;
        };
        let from_container = f.container.clone();
        let to = match f.nav.get(dir) {
            Some(Target::Focus { id }) => id.clone(),
            Some(Target::Container { id, fallback }) => frame
                .memory
                .get(id)
                .filter(|m| frame.document.focusable(m).is_some())
                .cloned()
                .unwrap_or_else(|| fallback.clone()),
            Some(Target::Blocked) | None => return Outcome::Stayed,
        };
        if frame.document.focusable(&to).is_none() {
            return Outcome::Stayed;
        }
        if let Some(c) = from_container {
            frame.memory.insert(c, cur);
        }
        frame.focus = Some(to.clone());
        Outcome::Moved(to)
    }

    fn open(&mut self, screen: &str, param: Option<String>, screens: &dyn Screens) -> Outcome {
        match screens.document(screen, param.as_deref(), 0) {
            Some(doc) => {
                self.push(doc);
                Outcome::Opened {
                    screen: screen.to_string(),
                    param,
                    page: 0,
                }
            }
            None => Outcome::Missing {
                screen: screen.to_string(),
                param,
            },
        }
    }

    fn act(&mut self, action: Action, screens: &dyn Screens) -> Outcome {
        match action {
            Action::OpenScreen { screen, param } => {
                if screen == "home" && param.is_none() {
                    // MENU and "home" buttons go back down the stack rather than growing it.
                    if let Some(pos) = self.stack.iter().position(|f| f.document.screen == "home") {
                        self.stack.truncate(pos + 1);
                        return Outcome::Returned { screen };
                    }
                }
                self.open(&screen, param, screens)
            }
            Action::Page { page } => self.page(page, screens),
            Action::Back => {
                if self.stack.len() > 1 {
                    self.stack.pop();
                    let screen = self
                        .current()
                        .map(|f| f.document.screen.clone())
                        .unwrap_or_default();
                    Outcome::Returned { screen }
                } else {
                    Outcome::Stayed
                }
            }
            Action::CastVote {
                topic_id,
                ref option,
            } => {
                let param = format!("{topic_id}/{option}");
                let _ = self.open("vote-receipt", Some(param), screens);
                Outcome::Effect(action)
            }
            Action::SubmitComment { topic_id } => {
                let _ = self.open("comment-receipt", Some(topic_id.to_string()), screens);
                let out = Outcome::Effect(action);
                self.draft = Draft::default();
                out
            }
            Action::ChoosePhrase { phrase } => {
                self.draft.phrase = Some(phrase);
                Outcome::Drafted
            }
            Action::EditField { field } => {
                self.draft.fields.entry(field.clone()).or_default();
                self.draft.active = Some(field);
                Outcome::Drafted
            }
            Action::Digit { digit } => {
                let Some(active) = self.draft.active.clone() else {
                    return Outcome::Stayed;
                };
                let v = self.draft.fields.entry(active).or_default();
                if v.len() < MAX_FIELD_DIGITS && digit <= 9 {
                    v.push(char::from(b'0' + digit));
                }
                Outcome::Drafted
            }
            Action::Erase => {
                if let Some(active) = self.draft.active.clone() {
                    self.draft.fields.entry(active).or_default().pop();
                }
                Outcome::Drafted
            }
            Action::Exit => Outcome::Effect(Action::Exit),
        }
    }

    fn page(&mut self, page: u32, screens: &dyn Screens) -> Outcome {
        let Some(frame) = self.stack.last() else {
            return Outcome::Stayed;
        };
        let doc = &frame.document;
        let Some(new) = screens.document(&doc.screen, doc.param.as_deref(), page) else {
            return Outcome::Missing {
                screen: doc.screen.clone(),
                param: doc.param.clone(),
            };
        };
        // Keep focus on the list, at the same position (clamped to the new page's items).
        let cur = frame.focus.as_deref().and_then(|id| doc.focusable(id));
        let focus = match cur.and_then(|f| f.container.clone()) {
            Some(c) => {
                let pos = doc
                    .focusables
                    .iter()
                    .filter(|f| f.container.as_deref() == Some(&c))
                    .position(|f| Some(f.id.as_str()) == frame.focus.as_deref())
                    .unwrap_or(0);
                let items: Vec<&Focusable> = new
                    .focusables
                    .iter()
                    .filter(|f| f.container.as_deref() == Some(&c))
                    .collect();
                items
                    .get(pos.min(items.len().saturating_sub(1)))
                    .map(|f| f.id.clone())
            }
            None => frame.focus.clone().filter(|id| new.focusable(id).is_some()),
        }
        .or_else(|| initial_focus(&new));
        let screen = new.screen.clone();
        let param = new.param.clone();
        let memory = frame.memory.clone();
        if let Some(top) = self.stack.last_mut() {
            *top = Frame {
                document: new,
                focus,
                memory,
            };
        }
        Outcome::Opened {
            screen,
            param,
            page,
        }
    }
}

fn initial_focus(doc: &LayoutDocument) -> Option<String> {
    doc.default_focus
        .clone()
        .filter(|d| doc.focusable(d).is_some())
        .or_else(|| doc.focusables.first().map(|f| f.id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Nav;

    fn f(id: &str, x: f32, y: f32, w: f32, h: f32, container: Option<&str>) -> Focusable {
        Focusable {
            id: id.into(),
            x,
            y,
            w,
            h,
            action: Action::Back,
            nav: Nav::default(),
            container: container.map(str::to_string),
        }
    }

    fn placed(fs: Vec<Focusable>, overrides: Vec<[Option<String>; 4]>) -> Placed {
        let n = fs.len();
        let mut p = Placed::default();
        p.document.focusables = fs;
        p.overrides = if overrides.is_empty() {
            vec![Default::default(); n]
        } else {
            overrides
        };
        p
    }

    fn target(p: &Placed, id: &str, d: Direction) -> Option<String> {
        match p.document.focusable(id)?.nav.get(d)? {
            Target::Focus { id } => Some(id.clone()),
            Target::Container { fallback, .. } => Some(fallback.clone()),
            Target::Blocked => Some("BLOCKED".into()),
        }
    }

    #[test]
    fn a_row_and_a_grid_navigate_like_a_remote_expects() {
        // A 3x2 grid of 100x60 buttons, 20 px apart.
        let mut fs = Vec::new();
        for r in 0..2 {
            for c in 0..3 {
                fs.push(f(
                    &format!("b{r}{c}"),
                    100.0 + c as f32 * 120.0,
                    100.0 + r as f32 * 80.0,
                    100.0,
                    60.0,
                    None,
                ));
            }
        }
        let mut p = placed(fs, vec![]);
        assert!(resolve(&mut p).is_empty());
        assert_eq!(target(&p, "b00", Direction::Right).as_deref(), Some("b01"));
        assert_eq!(target(&p, "b01", Direction::Down).as_deref(), Some("b11"));
        assert_eq!(target(&p, "b12", Direction::Up).as_deref(), Some("b02"));
        assert_eq!(target(&p, "b10", Direction::Left), None);
        assert_eq!(target(&p, "b02", Direction::Right), None);
    }

    #[test]
    fn overlap_beats_a_nearer_diagonal() {
        // From a wide button, down: one directly below but further, one diagonal but nearer.
        let from = (100.0, 100.0, 200.0, 60.0);
        let below = (150.0, 260.0, 100.0, 60.0);
        let diagonal = (320.0, 170.0, 100.0, 60.0);
        let s_below = score(from, below, Direction::Down).unwrap_or(f32::MAX);
        let s_diag = score(from, diagonal, Direction::Down).unwrap_or(f32::MAX);
        assert!(s_below < s_diag, "{s_below} vs {s_diag}");
        // Right of a row item, a same-row item beats a nearer one in the next row.
        let from = (100.0, 100.0, 100.0, 60.0);
        let same_row = (400.0, 100.0, 100.0, 60.0);
        let next_row = (220.0, 180.0, 100.0, 60.0);
        assert!(score(from, same_row, Direction::Right) < score(from, next_row, Direction::Right));
        // Strictly in the direction: something above is never a candidate for down.
        assert_eq!(
            score(from, (100.0, 0.0, 100.0, 60.0), Direction::Down),
            None
        );
    }

    #[test]
    fn overrides_redirect_block_and_are_checked() {
        let fs = vec![
            f("a", 0.0, 0.0, 60.0, 60.0, None),
            f("b", 100.0, 0.0, 60.0, 60.0, None),
            f("c", 200.0, 0.0, 60.0, 60.0, None),
        ];
        let mut o: Vec<[Option<String>; 4]> = vec![Default::default(); 3];
        o[0][3] = Some("c".into()); // a right → c
        o[1][2] = Some(String::new()); // b left blocked
        o[2][3] = Some("zz".into()); // c right → nothing
        let mut p = placed(fs, o);
        let findings = resolve(&mut p);
        assert_eq!(target(&p, "a", Direction::Right).as_deref(), Some("c"));
        assert_eq!(target(&p, "b", Direction::Left).as_deref(), Some("BLOCKED"));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, Rule::NavOverride);

        let fs = vec![
            f("a", 0.0, 0.0, 60.0, 60.0, None),
            f("b", 100.0, 0.0, 60.0, 60.0, None),
        ];
        let mut o: Vec<[Option<String>; 4]> = vec![Default::default(); 2];
        o[0][0] = Some("b".into());
        o[1][0] = Some("a".into());
        let mut p = placed(fs, o);
        let findings = resolve(&mut p);
        assert_eq!(
            findings
                .iter()
                .filter(|f| f.rule == Rule::NavOverride)
                .count(),
            1
        );
    }

    #[test]
    fn containers_remember_and_back_restores_focus() {
        // A menu column on the left (m0..m2) and a list on the right (l0..l2).
        let mut fs = Vec::new();
        for i in 0..3 {
            fs.push(f(
                &format!("m{i}"),
                100.0,
                100.0 + i as f32 * 100.0,
                200.0,
                80.0,
                Some("menu"),
            ));
            fs.push(f(
                &format!("l{i}"),
                400.0,
                100.0 + i as f32 * 100.0,
                400.0,
                80.0,
                Some("list"),
            ));
        }
        let mut p = placed(fs, vec![]);
        resolve(&mut p);
        p.document.screen = "home".into();
        p.document.default_focus = Some("m0".into());
        p.document.focusables[1].action = Action::OpenScreen {
            screen: "detail".into(),
            param: None,
        };
        let home = p.document.clone();
        let mut detail = home.clone();
        detail.screen = "detail".into();
        let screens = move |s: &str, _: Option<&str>, _: u32| match s {
            "home" => Some(home.clone()),
            "detail" => Some(detail.clone()),
            _ => None,
        };
        let mut nav = Navigator::new(screens("home", None, 0).unwrap_or_default());
        assert_eq!(nav.focus(), Some("m0"));
        assert_eq!(
            nav.press(Key::Arrow(Direction::Right), &screens),
            Outcome::Moved("l0".into())
        );
        nav.press(Key::Arrow(Direction::Down), &screens);
        nav.press(Key::Arrow(Direction::Down), &screens);
        assert_eq!(nav.focus(), Some("l2"));
        // Left goes back into the menu at the child it remembers (m0, not m2 beside l2), and
        // right comes back to l2, remembered.
        nav.press(Key::Arrow(Direction::Left), &screens);
        assert_eq!(nav.focus(), Some("m0"));
        assert_eq!(
            nav.press(Key::Arrow(Direction::Right), &screens),
            Outcome::Moved("l2".into())
        );
        // Open a screen from l0 and come back: focus is restored.
        nav.press(Key::Arrow(Direction::Up), &screens);
        nav.press(Key::Arrow(Direction::Up), &screens);
        assert_eq!(nav.focus(), Some("l0"));
        assert!(matches!(
            nav.press(Key::Ok, &screens),
            Outcome::Opened { .. }
        ));
        assert_eq!(nav.depth(), 2);
        assert_eq!(
            nav.press(Key::Back, &screens),
            Outcome::Returned {
                screen: "home".into()
            }
        );
        assert_eq!(nav.focus(), Some("l0"));
        assert_eq!(nav.press(Key::Back, &screens), Outcome::Stayed);
    }

    #[test]
    fn digits_type_into_the_active_field() {
        let mut nav = Navigator::new(LayoutDocument::default());
        let none = |_: &str, _: Option<&str>, _: u32| None;
        assert_eq!(nav.press(Key::Digit(3), &none), Outcome::Stayed);
        nav.act(
            Action::EditField {
                field: "building".into(),
            },
            &none,
        );
        for d in [1, 2, 3, 4, 5, 6, 7] {
            nav.press(Key::Digit(d), &none);
        }
        assert_eq!(
            nav.draft.fields.get("building").map(String::as_str),
            Some("123456")
        );
        nav.act(Action::Erase, &none);
        assert_eq!(
            nav.draft.fields.get("building").map(String::as_str),
            Some("12345")
        );
    }
}
