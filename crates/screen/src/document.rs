//! The layout document: the JSON wire format a set-top box (and the `render` crate) draws from.
//!
//! Everything here is absolute and final: boxes in pixels on a `width` x `height` canvas, text
//! already broken into lines with each line's pen position, images by content hash, the focus
//! graph already resolved for every arrow, and the keys bound on the screen. A box needs no
//! template, no data and no layout engine to draw and navigate it. This file is the single
//! source of the format; `docs/screens.md` describes it field by field.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The version of the layout document format; bumped on any incompatible change.
pub const FORMAT: u32 = 1;

/// One laid-out screen, ready to draw and navigate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LayoutDocument {
    /// Always [`FORMAT`].
    pub format: u32,
    /// The screen's id, e.g. `"home"`, `"ballot"`.
    pub screen: String,
    /// The screen's parameter (a topic id, `"42/approve"`, ...), if it takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Which page of a paged screen this is (0-based) and how many there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
    /// The theme's id: `"standard"` or `"elders"`.
    pub theme: String,
    /// Canvas size in pixels (1280 x 720).
    pub width: u32,
    pub height: u32,
    /// Fills the whole canvas before any node is drawn.
    pub background: Color,
    /// How the focused focusable is marked.
    pub focus_ring: FocusRing,
    /// Drawn in order: later nodes paint over earlier ones.
    pub nodes: Vec<Node>,
    /// Everything the remote's arrows and OK can reach.
    pub focusables: Vec<Focusable>,
    /// The focusable that has focus when the screen opens.
    pub default_focus: Option<String>,
    /// Keys other than arrows and OK (digits, colour keys, paging, INFO, MENU, BACK, EXIT).
    pub keys: Vec<KeyBinding>,
}

/// The position of a page within a paged screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Page {
    /// 0-based index of this page.
    pub index: u32,
    /// How many pages the screen has (at least 1).
    pub count: u32,
}

/// The focus ring: a band `width` pixels thick drawn just *outside* the focused box, i.e.
/// covering from the box edge outwards by `width` (square corners). Drawn after all nodes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct FocusRing {
    pub color: Color,
    pub width: f32,
}

/// One thing to paint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    /// A rectangle, optionally rounded, filled and/or stroked. The stroke lies *inside* the box.
    Rect {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<Color>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stroke: Option<Color>,
        #[serde(default)]
        stroke_width: f32,
        #[serde(default)]
        radius: f32,
    },
    /// Text already broken into lines. `x, y, w, h` is the box the text was laid out in (for
    /// hit-testing and checks); each line carries its own absolute pen position.
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        /// Font size in pixels (the em size).
        size: f32,
        /// Distance between consecutive baselines, in pixels.
        line_height: f32,
        weight: Weight,
        color: Color,
        lines: Vec<TextLine>,
    },
    /// A bitmap from the bundle's assets, scaled to fill `w` x `h`.
    Image {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        /// Lower-case hex SHA-256 of the asset file's bytes.
        sha256: String,
    },
}

impl Node {
    /// The node's box: `(x, y, w, h)`.
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        match self {
            Node::Rect { x, y, w, h, .. }
            | Node::Text { x, y, w, h, .. }
            | Node::Image { x, y, w, h, .. } => (*x, *y, *w, *h),
        }
    }

    /// The node's id, if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Node::Rect { id, .. } | Node::Text { id, .. } | Node::Image { id, .. } => id.as_deref(),
        }
    }
}

/// One line of text: draw `text` with its pen starting at (`x`, `baseline`), absolute pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextLine {
    pub text: String,
    pub x: f32,
    pub baseline: f32,
    /// The advance width the shaper measured for `text`.
    pub width: f32,
}

/// Font weight: the embedded font has a regular and a bold face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Weight {
    #[default]
    Regular,
    Bold,
}

/// Something the remote can focus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Focusable {
    pub id: String,
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    /// What OK does here.
    pub action: Action,
    /// Where each arrow goes from here.
    pub nav: Nav,
    /// The id of the nearest enclosing container that remembers its last focused child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// The resolved neighbour for each arrow key. `None`: nothing lies that way, focus stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Nav {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<Target>,
}

impl Nav {
    /// The target for an arrow.
    pub fn get(&self, dir: Direction) -> Option<&Target> {
        match dir {
            Direction::Up => self.up.as_ref(),
            Direction::Down => self.down.as_ref(),
            Direction::Left => self.left.as_ref(),
            Direction::Right => self.right.as_ref(),
        }
    }

    /// Mutable access to the target for an arrow.
    pub fn get_mut(&mut self, dir: Direction) -> &mut Option<Target> {
        match dir {
            Direction::Up => &mut self.up,
            Direction::Down => &mut self.down,
            Direction::Left => &mut self.left,
            Direction::Right => &mut self.right,
        }
    }
}

/// An arrow key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
    Left,
    Right,
}

impl Direction {
    pub const ALL: [Direction; 4] = [
        Direction::Up,
        Direction::Down,
        Direction::Left,
        Direction::Right,
    ];
}

/// Where an arrow leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Move focus to this focusable.
    Focus { id: String },
    /// Move focus into this container: to its last focused child if the box remembers one,
    /// else to `fallback` (the child geometrically nearest, computed at layout time).
    Container { id: String, fallback: String },
    /// The template blocked this direction explicitly (`nav-left=""`): focus stays.
    Blocked,
}

/// What a focusable's OK or a bound key does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Open another screen, pushing the current one (and its focus) on the back stack.
    OpenScreen {
        screen: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        param: Option<String>,
    },
    /// Show another page of this screen (0-based) in place: no back-stack entry, and focus
    /// stays on the list at the same position (clamped to the items on the new page).
    Page { page: u32 },
    /// Cast this household's vote (the STB sends it upstream), then open `vote-receipt`
    /// with param `"{topic_id}/{option}"`.
    CastVote { topic_id: i64, option: String },
    /// Make `phrase` the text of the comment being drafted.
    ChoosePhrase { phrase: String },
    /// Make `field` (e.g. `"building"`, `"room"`) the field the digits type into.
    EditField { field: String },
    /// Type a digit into the active field.
    Digit { digit: u8 },
    /// Delete the last digit of the active field.
    Erase,
    /// Send the drafted comment upstream, then open `comment-receipt` with the topic id.
    SubmitComment { topic_id: i64 },
    /// Go back to the previous screen, restoring its focus.
    Back,
    /// Leave the channel.
    Exit,
}

/// A key other than the arrows and OK, bound to an action on this screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBinding {
    /// The remote key's name: `"0"`..`"9"`, `"RED"`, `"GREEN"`, `"YELLOW"`, `"BLUE"`,
    /// `"PAGE_UP"`, `"PAGE_DOWN"`, `"INFO"`, `"MENU"`, `"BACK"`, `"EXIT"`.
    pub key: String,
    pub action: Action,
}

/// The remote keys a screen may bind (everything but arrows and OK).
pub const BINDABLE_KEYS: [&str; 20] = [
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "RED",
    "GREEN",
    "YELLOW",
    "BLUE",
    "PAGE_UP",
    "PAGE_DOWN",
    "INFO",
    "MENU",
    "BACK",
    "EXIT",
];

/// An sRGB colour with alpha, `[r, g, b, a]`; on the wire `"#rrggbb"` (opaque) or `"#rrggbbaa"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Color(pub [u8; 4]);

impl Color {
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color([r, g, b, 255])
    }

    /// Parses `#rgb`, `#rrggbb` or `#rrggbbaa`.
    pub fn parse(s: &str) -> Option<Color> {
        let hex = s.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        let nib = |i: usize| {
            u8::from_str_radix(hex.get(i..i + 1)?, 16)
                .ok()
                .map(|v| v * 17)
        };
        match hex.len() {
            3 => Some(Color([nib(0)?, nib(1)?, nib(2)?, 255])),
            6 => Some(Color([byte(0)?, byte(2)?, byte(4)?, 255])),
            8 => Some(Color([byte(0)?, byte(2)?, byte(4)?, byte(6)?])),
            _ => None,
        }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b, a] = self.0;
        if a == 255 {
            write!(f, "#{r:02x}{g:02x}{b:02x}")
        } else {
            write!(f, "#{r:02x}{g:02x}{b:02x}{a:02x}")
        }
    }
}

impl Serialize for Color {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Color::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a colour: {s:?} (want #rrggbb)")))
    }
}

impl LayoutDocument {
    /// The focusable with this id.
    pub fn focusable(&self, id: &str) -> Option<&Focusable> {
        self.focusables.iter().find(|f| f.id == id)
    }

    /// The action bound to a key on this screen, if any.
    pub fn key_action(&self, key: &str) -> Option<&Action> {
        self.keys.iter().find(|k| k.key == key).map(|k| &k.action)
    }

    /// The document as pretty JSON (the wire format).
    pub fn to_json(&self) -> String {
        // Serialising plain structs with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The file name (without extension) this instance is stored under, in bundles and in
    /// `screens render`: `screen`, then `-param` (`/` turned into `-`), then `-pN` on paged
    /// screens with more than one page.
    pub fn file_stem(&self) -> String {
        let mut name = self.screen.clone();
        if let Some(param) = &self.param {
            name.push('-');
            name.push_str(&param.replace('/', "-"));
        }
        if let Some(page) = self.page
            && page.count > 1
        {
            name.push_str(&format!("-p{}", page.index + 1));
        }
        name
    }

    /// The same document without whitespace: what bundles carry, since every byte on the
    /// carousel costs every box waiting time.
    pub fn to_compact_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a document from JSON.
    pub fn from_json(s: &str) -> Result<LayoutDocument, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_round_trip() {
        assert_eq!(Color::parse("#ff8000"), Some(Color([255, 128, 0, 255])));
        assert_eq!(Color::parse("#ff800080"), Some(Color([255, 128, 0, 128])));
        assert_eq!(Color::parse("#fff"), Some(Color([255, 255, 255, 255])));
        assert_eq!(Color::parse("ff8000"), None);
        assert_eq!(Color::parse("#ff80"), None);
        assert_eq!(Color::parse("#ééé"), None);
        assert_eq!(Color([1, 2, 3, 255]).to_string(), "#010203");
        assert_eq!(Color([1, 2, 3, 4]).to_string(), "#01020304");
    }

    #[test]
    fn document_round_trips_through_json() {
        let doc = LayoutDocument {
            format: FORMAT,
            screen: "home".into(),
            theme: "standard".into(),
            width: 1280,
            height: 720,
            background: Color::rgb(0, 0, 0),
            focus_ring: FocusRing {
                color: Color::rgb(255, 200, 0),
                width: 6.0,
            },
            nodes: vec![
                Node::Rect {
                    id: None,
                    x: 0.0,
                    y: 0.0,
                    w: 10.0,
                    h: 10.0,
                    fill: Some(Color::rgb(1, 2, 3)),
                    stroke: None,
                    stroke_width: 0.0,
                    radius: 4.0,
                },
                Node::Text {
                    id: Some("t".into()),
                    x: 0.0,
                    y: 0.0,
                    w: 100.0,
                    h: 40.0,
                    size: 32.0,
                    line_height: 40.0,
                    weight: Weight::Bold,
                    color: Color::rgb(255, 255, 255),
                    lines: vec![TextLine {
                        text: "有事好商量".into(),
                        x: 0.0,
                        baseline: 30.0,
                        width: 160.0,
                    }],
                },
            ],
            focusables: vec![Focusable {
                id: "a".into(),
                x: 0.0,
                y: 0.0,
                w: 60.0,
                h: 60.0,
                action: Action::CastVote {
                    topic_id: 7,
                    option: "approve".into(),
                },
                nav: Nav {
                    up: Some(Target::Blocked),
                    ..Nav::default()
                },
                container: None,
            }],
            default_focus: Some("a".into()),
            keys: vec![KeyBinding {
                key: "RED".into(),
                action: Action::Back,
            }],
            ..LayoutDocument::default()
        };
        let json = doc.to_json();
        assert!(json.contains("\"kind\": \"rect\""));
        assert!(json.contains("\"type\": \"cast_vote\""));
        assert_eq!(LayoutDocument::from_json(&json).ok(), Some(doc));
    }
}
