//! Layout: places a bound screen on the 1280x720 canvas with taffy (flexbox and grid) and
//! emits the [`LayoutDocument`]: paint-ordered nodes and the focusables.
//!
//! Text is measured through the [`Measure`] seam, so the lines the document carries are the
//! lines the shaper will draw. The content box of a screen is the graphics-safe area; themes
//! and templates choose every other size. Navigation targets are filled in afterwards by
//! [`crate::focus::resolve`].

use std::cell::RefCell;

use taffy::prelude::*;

use crate::bind::{Bound, BoundScreen, key_glyph};
use crate::check::{Finding, Origin, Rule, SAFE_AREA};
use crate::document::{
    self, Color, FocusRing, Focusable, LayoutDocument, Nav, Node, TextLine, Weight,
};
use crate::measure::{Measure, Paragraph, TextStyle};
use crate::theme::{RoleStyle, Theme};

/// The canvas every screen is laid out on.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 720;

/// Navigation overrides of one focusable, in `Direction::ALL` order; `Some("")` blocks.
pub type Overrides = [Option<String>; 4];

/// A laid-out screen plus what the checks need to trace nodes back to template lines.
#[derive(Debug, Clone, Default)]
pub struct Placed {
    pub document: LayoutDocument,
    pub screen_origin: Origin,
    node_origins: Vec<Origin>,
    focus_origins: Vec<Origin>,
    backdrop: Vec<bool>,
    overflow: Vec<bool>,
    /// Per focusable, the template's `nav-*` overrides.
    pub overrides: Vec<Overrides>,
}

impl Placed {
    pub fn node_origin(&self, i: usize) -> &Origin {
        self.node_origins.get(i).unwrap_or(&self.screen_origin)
    }
    pub fn focus_origin(&self, i: usize) -> &Origin {
        self.focus_origins.get(i).unwrap_or(&self.screen_origin)
    }
    /// Rects that are decoration spanning the screen (allowed outside the safe area).
    pub fn is_backdrop(&self, i: usize) -> bool {
        self.backdrop.get(i).copied().unwrap_or(false)
    }
    /// Text whose content did not fit its box and declared no line limit.
    pub fn overflowed(&self, i: usize) -> bool {
        self.overflow.get(i).copied().unwrap_or(false)
    }
    /// Every text node counts as body text for the minimum size (titles are larger anyway).
    pub fn is_body_text(&self, i: usize) -> bool {
        matches!(self.document.nodes.get(i), Some(Node::Text { .. }))
    }
}

/// What layout needs besides the bound screen.
pub struct LayoutRequest<'a> {
    pub screen: &'a BoundScreen,
    pub theme: &'a Theme,
    pub measure: &'a dyn Measure,
    /// Maps an image `src` (relative to `assets/`) to its content hash.
    pub asset_hash: &'a dyn Fn(&str) -> Option<String>,
}

/// Leaf content taffy asks us to measure.
#[derive(Debug, Clone)]
enum Leaf {
    Text {
        text: String,
        style: TextStyle,
        lines: Option<usize>,
    },
    /// A button's or field's label plus its padding and chip.
    Label {
        text: String,
        style: TextStyle,
        extra_w: f32,
        pad: f32,
        min_h: f32,
        min_w: f32,
    },
    Fixed(f32, f32),
}

struct Builder<'a> {
    req: &'a LayoutRequest<'a>,
    tree: TaffyTree<Leaf>,
    /// For each taffy node, the bound element it came from.
    elems: Vec<(NodeId, &'a Bound)>,
    findings: Vec<Finding>,
}

fn theme_num(theme: &Theme, name: &str, default: f32) -> f32 {
    theme.numbers.get(name).copied().unwrap_or(default)
}

fn role_of(theme: &Theme, name: &str) -> RoleStyle {
    theme
        .role(name)
        .or_else(|| theme.role("body"))
        .unwrap_or(RoleStyle {
            size: 24.0,
            line_height: 32.0,
            weight: Weight::Regular,
            color: Color::rgb(255, 255, 255),
        })
}

/// A numeric attribute: a literal or a theme `$name`.
fn num(t: &Theme, b: &Bound, k: &str) -> Option<f32> {
    b.attr(k)
        .and_then(|v| t.number(v))
        .filter(|n| n.is_finite())
}

fn style_of(r: &RoleStyle) -> TextStyle {
    TextStyle {
        size: r.size,
        line_height: r.line_height,
        weight: r.weight,
    }
}

fn has_chip(b: &Bound) -> Option<String> {
    b.attr("keys")
        .and_then(|k| k.split_whitespace().next().map(str::to_string))
}

impl<'a> Builder<'a> {
    fn finding(&mut self, o: &Origin, rule: Rule, msg: String) {
        self.findings
            .push(Finding::new(&o.file, o.line, &o.element, rule, msg));
    }

    fn box_style(&self, b: &Bound) -> Style {
        let t = self.req.theme;
        let mut s = Style::default();
        if let Some(w) = num(t, b, "width") {
            s.size.width = length(w);
        }
        if let Some(h) = num(t, b, "height") {
            s.size.height = length(h);
        }
        if let Some(g) = num(t, b, "grow") {
            s.flex_grow = g;
            s.flex_basis = length(0.0);
            s.min_size.width = length(0.0);
        }
        let gap = num(t, b, "gap").unwrap_or_else(|| theme_num(t, "gap", 16.0));
        s.gap = Size {
            width: length(gap),
            height: length(gap),
        };
        if let Some(p) = num(t, b, "padding") {
            s.padding = Rect {
                left: length(p),
                right: length(p),
                top: length(p),
                bottom: length(p),
            };
        }
        match b.attr("align") {
            Some("center") => s.align_items = AlignItems::CENTER,
            Some("start") => s.align_items = AlignItems::START,
            Some("end") => s.align_items = AlignItems::END,
            _ => {}
        }
        match b.attr("justify") {
            Some("center") => s.justify_content = JustifyContent::CENTER,
            Some("end") => s.justify_content = JustifyContent::END,
            Some("between") => s.justify_content = JustifyContent::SPACE_BETWEEN,
            _ => {}
        }
        s
    }

    fn build(&mut self, b: &'a Bound) -> Option<NodeId> {
        let t = self.req.theme;
        let mut style = self.box_style(b);
        let node = match b.kind.as_str() {
            "screen" | "row" | "column" | "grid" => {
                style.display = if b.kind == "grid" {
                    Display::Grid
                } else {
                    Display::Flex
                };
                style.flex_direction = if b.kind == "row" {
                    FlexDirection::Row
                } else {
                    FlexDirection::Column
                };
                if b.kind == "grid" {
                    let cols = num(t, b, "columns").unwrap_or(2.0).clamp(1.0, 12.0) as u16;
                    style.grid_template_columns = evenly_sized_tracks(cols);
                }
                if b.kind == "screen" {
                    let (sx, sy, sw, sh) = SAFE_AREA;
                    style.size = Size {
                        width: length(WIDTH as f32),
                        height: length(HEIGHT as f32),
                    };
                    style.padding = Rect {
                        left: length(sx),
                        right: length(WIDTH as f32 - sx - sw),
                        top: length(sy),
                        bottom: length(HEIGHT as f32 - sy - sh),
                    };
                }
                let mut kids = Vec::new();
                for c in &b.children {
                    if let Some(k) = self.build(c) {
                        kids.push(k);
                    }
                }
                self.tree.new_with_children(style, &kids).ok()?
            }
            "text" => {
                let role = role_of(t, b.attr("role").unwrap_or("body"));
                let lines = num(t, b, "lines").map(|n| n.clamp(1.0, 50.0) as usize);
                self.tree
                    .new_leaf_with_context(
                        style,
                        Leaf::Text {
                            text: b.text.clone(),
                            style: style_of(&role),
                            lines,
                        },
                    )
                    .ok()?
            }
            "button" | "field" => {
                let role = role_of(t, b.attr("role").unwrap_or("button"));
                let pad = theme_num(t, "button-padding", 16.0);
                let chip = theme_num(t, "chip", 40.0);
                let extra_w = if b.kind == "button" && has_chip(b).is_some() {
                    chip + pad
                } else {
                    0.0
                };
                let text = if b.kind == "field" {
                    format!("{}　0000", b.attr("label").unwrap_or_default())
                } else {
                    b.text.clone()
                };
                self.tree
                    .new_leaf_with_context(
                        style,
                        Leaf::Label {
                            text,
                            style: style_of(&role),
                            extra_w,
                            pad,
                            min_h: theme_num(t, "button-height", 56.0),
                            min_w: theme_num(t, "button-min-width", 56.0),
                        },
                    )
                    .ok()?
            }
            "image" => {
                let (w, h) = (
                    num(t, b, "width").unwrap_or(0.0),
                    num(t, b, "height").unwrap_or(0.0),
                );
                self.tree
                    .new_leaf_with_context(style, Leaf::Fixed(w, h))
                    .ok()?
            }
            "chip" => {
                let c = theme_num(t, "chip", 40.0);
                let w = if b.text.chars().count() > 1 {
                    c * 1.8
                } else {
                    c
                };
                self.tree
                    .new_leaf_with_context(style, Leaf::Fixed(w, c))
                    .ok()?
            }
            "bar" | "spacer" => self
                .tree
                .new_leaf_with_context(style, Leaf::Fixed(0.0, 0.0))
                .ok()?,
            // The parser already reported unknown elements: lay nothing out for them.
            _ => return None,
        };
        self.elems.push((node, b));
        Some(node)
    }
}

fn measure_leaf(
    m: &dyn Measure,
    leaf: &Leaf,
    known: Size<Option<f32>>,
    avail: Size<AvailableSpace>,
) -> Size<f32> {
    let max_w = known.width.unwrap_or(match avail.width {
        AvailableSpace::Definite(w) => w,
        AvailableSpace::MinContent => 0.0,
        AvailableSpace::MaxContent => f32::INFINITY,
    });
    match leaf {
        Leaf::Text { text, style, lines } => {
            let p = m.paragraph(text, style, max_w.max(style.size), *lines);
            Size {
                width: known.width.unwrap_or(p.width),
                height: known.height.unwrap_or(p.height.max(style.line_height)),
            }
        }
        Leaf::Label {
            text,
            style,
            extra_w,
            pad,
            min_h,
            min_w,
        } => {
            let inner = (max_w - 2.0 * pad - extra_w).max(style.size);
            let p = m.paragraph(text, style, inner, Some(2));
            Size {
                width: known
                    .width
                    .unwrap_or((p.width + 2.0 * pad + extra_w).max(*min_w)),
                height: known.height.unwrap_or((p.height + pad).max(*min_h)),
            }
        }
        Leaf::Fixed(w, h) => Size {
            width: known.width.unwrap_or(*w),
            height: known.height.unwrap_or(*h),
        },
    }
}

/// Lays a bound screen out. Never fails: problems become findings.
pub fn layout(req: &LayoutRequest<'_>) -> (Placed, Vec<Finding>) {
    let theme = req.theme;
    let mut b = Builder {
        req,
        tree: TaffyTree::new(),
        elems: Vec::new(),
        findings: Vec::new(),
    };
    let screen_origin = req.screen.root.origin.clone();
    let mut placed = Placed {
        screen_origin: screen_origin.clone(),
        ..Placed::default()
    };
    let bg = theme.color("background").unwrap_or(Color::rgb(0, 0, 0));
    placed.document = LayoutDocument {
        format: document::FORMAT,
        screen: req.screen.id.clone(),
        param: req.screen.param.clone(),
        page: req.screen.page,
        theme: theme.id.clone(),
        width: WIDTH,
        height: HEIGHT,
        background: bg,
        focus_ring: FocusRing {
            color: theme.focus_color,
            width: theme.focus_width,
        },
        nodes: Vec::new(),
        focusables: Vec::new(),
        default_focus: req.screen.default_focus.clone(),
        keys: req.screen.keys.iter().map(|(k, _)| k.clone()).collect(),
    };
    let Some(root) = b.build(&req.screen.root) else {
        return (placed, b.findings);
    };
    let m = req.measure;
    let computed = b.tree.compute_layout_with_measure(
        root,
        Size {
            width: AvailableSpace::Definite(WIDTH as f32),
            height: AvailableSpace::Definite(HEIGHT as f32),
        },
        |inputs, _id, ctx, style| {
            taffy::compute_leaf_layout(
                inputs,
                style,
                |_, _| 0.0,
                |known, avail| match ctx {
                    Some(leaf) => measure_leaf(m, leaf, known, avail),
                    None => Size::ZERO,
                },
            )
        },
    );
    if let Err(e) = computed {
        b.finding(
            &screen_origin,
            Rule::Structure,
            format!("layout failed: {e}"),
        );
        return (placed, b.findings);
    }
    let emitter = RefCell::new(Emitter {
        theme,
        measure: m,
        placed: &mut placed,
        findings: Vec::new(),
        asset_hash: req.asset_hash,
    });
    let elems = std::mem::take(&mut b.elems);
    let lookup = |id: NodeId| elems.iter().find(|(n, _)| *n == id).map(|(_, e)| *e);
    walk(&b.tree, root, 0.0, 0.0, None, &lookup, &emitter);
    let mut findings = b.findings;
    findings.extend(emitter.into_inner().findings);
    (placed, findings)
}

struct Emitter<'p, 'a> {
    theme: &'a Theme,
    measure: &'a dyn Measure,
    placed: &'p mut Placed,
    findings: Vec<Finding>,
    asset_hash: &'a dyn Fn(&str) -> Option<String>,
}

fn walk<'a>(
    tree: &TaffyTree<Leaf>,
    node: NodeId,
    px: f32,
    py: f32,
    container: Option<&str>,
    lookup: &dyn Fn(NodeId) -> Option<&'a Bound>,
    em: &RefCell<Emitter<'_, '_>>,
) {
    let Ok(l) = tree.layout(node) else { return };
    let (x, y, w, h) = (
        px + l.location.x,
        py + l.location.y,
        l.size.width,
        l.size.height,
    );
    let Some(b) = lookup(node) else { return };
    em.borrow_mut().emit(b, x, y, w, h, container);
    let own_container = match b.kind.as_str() {
        "row" | "column" | "grid" => b.attr("id").or(container),
        _ => container,
    };
    if let Ok(kids) = tree.children(node) {
        for k in kids {
            walk(tree, k, x, y, own_container, lookup, em);
        }
    }
}

impl Emitter<'_, '_> {
    fn color(&mut self, b: &Bound, name: &str) -> Color {
        match self.theme.color(name) {
            Some(c) => c,
            None => {
                self.findings.push(Finding::new(
                    &b.origin.file,
                    b.origin.line,
                    &b.origin.element,
                    Rule::BadValue,
                    format!("no colour {name:?} in theme {}", self.theme.id),
                ));
                Color::rgb(255, 0, 255)
            }
        }
    }

    fn push(&mut self, node: Node, o: &Origin, backdrop: bool, overflow: bool) {
        self.placed.document.nodes.push(node);
        self.placed.node_origins.push(o.clone());
        self.placed.backdrop.push(backdrop);
        self.placed.overflow.push(overflow);
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        b: &Bound,
        id: Option<String>,
        text: &str,
        role: &RoleStyle,
        color: Color,
        (x, y, w, h): (f32, f32, f32, f32),
        lines: Option<usize>,
        align: &str,
    ) {
        let style = style_of(role);
        let p: Paragraph = self.measure.paragraph(text, &style, w.max(1.0), lines);
        let overflow = lines.is_none() && p.height > h + 1.0;
        let lines = p
            .lines
            .iter()
            .map(|l| {
                let dx = match align {
                    "center" => (w - l.width) / 2.0,
                    "end" => w - l.width,
                    _ => 0.0,
                };
                TextLine {
                    text: l.text.clone(),
                    x: x + dx.max(0.0),
                    baseline: y + l.baseline,
                    width: l.width,
                }
            })
            .collect();
        self.push(
            Node::Text {
                id,
                x,
                y,
                w,
                h,
                size: role.size,
                line_height: role.line_height,
                weight: role.weight,
                color,
                lines,
            },
            &b.origin,
            false,
            overflow,
        );
    }

    fn emit(&mut self, b: &Bound, x: f32, y: f32, w: f32, h: f32, container: Option<&str>) {
        let t = self.theme;
        let id = b.attr("id").map(str::to_string);
        let radius = num(t, b, "radius").unwrap_or(0.0);
        match b.kind.as_str() {
            "screen" => {
                // A header band across the top, behind the title: decoration, may bleed.
                if let Some(c) = t.color("header") {
                    let hh = t.numbers.get("header-height").copied().unwrap_or(0.0);
                    if hh > 0.0 {
                        self.push(
                            Node::Rect {
                                id: None,
                                x: 0.0,
                                y: 0.0,
                                w: WIDTH as f32,
                                h: hh,
                                fill: Some(c),
                                stroke: None,
                                stroke_width: 0.0,
                                radius: 0.0,
                            },
                            &b.origin,
                            true,
                            false,
                        );
                    }
                }
            }
            "row" | "column" | "grid" => {
                let fill = b.attr("fill").map(|f| self.color(b, f));
                let stroke = b.attr("stroke").map(|f| self.color(b, f));
                if fill.is_some() || stroke.is_some() {
                    self.push(
                        Node::Rect {
                            id,
                            x,
                            y,
                            w,
                            h,
                            fill,
                            stroke,
                            stroke_width: if stroke.is_some() { 2.0 } else { 0.0 },
                            radius,
                        },
                        &b.origin,
                        false,
                        false,
                    );
                }
            }
            "text" => {
                let role = role_of(t, b.attr("role").unwrap_or("body"));
                let color = match b.attr("color") {
                    Some(c) => self.color(b, c),
                    None => role.color,
                };
                let mut role = role;
                if b.attr("weight") == Some("bold") {
                    role.weight = Weight::Bold;
                }
                let lines = num(t, b, "lines").map(|n| n.clamp(1.0, 50.0) as usize);
                self.text(
                    b,
                    id,
                    &b.text,
                    &role,
                    color,
                    (x, y, w, h),
                    lines,
                    b.attr("align").unwrap_or("start"),
                );
            }
            "button" | "field" => {
                let Some(fid) = id else { return };
                let role = role_of(t, b.attr("role").unwrap_or("button"));
                let pad = theme_num(t, "button-padding", 16.0);
                let fill = self.color(b, "button");
                let text_color = self.color(b, "button-text");
                let r = theme_num(t, "radius", 8.0);
                self.push(
                    Node::Rect {
                        id: Some(fid.clone()),
                        x,
                        y,
                        w,
                        h,
                        fill: Some(fill),
                        stroke: None,
                        stroke_width: 0.0,
                        radius: r,
                    },
                    &b.origin,
                    false,
                    false,
                );
                let mut tx = x + pad;
                if b.kind == "button"
                    && let Some(key) = has_chip(b)
                {
                    let c = theme_num(t, "chip", 40.0);
                    self.chip(b, &key, tx, y + (h - c) / 2.0, c);
                    tx += c + pad;
                }
                let tw = (x + w - pad - tx).max(1.0);
                let style = style_of(&role);
                let label = if b.kind == "field" {
                    b.attr("label").unwrap_or_default().to_string()
                } else {
                    b.text.clone()
                };
                let lines = num(t, b, "lines").map(|n| n as usize).or(Some(2));
                let p = self.measure.paragraph(&label, &style, tw, lines);
                let th = p.height;
                let ty = y + ((h - th) / 2.0).max(0.0);
                let align =
                    b.attr("align")
                        .unwrap_or(if b.kind == "field" { "start" } else { "center" });
                if b.kind == "field" {
                    // The label, then the value the STB fills in: a text node with id
                    // `field:NAME` whose lines the box replaces with what was typed.
                    let lw = p.width;
                    self.text(
                        b,
                        None,
                        &label,
                        &role,
                        text_color,
                        (tx, ty, lw, th),
                        Some(1),
                        "start",
                    );
                    let name = b.attr("name").unwrap_or_default();
                    let vx = tx + lw + pad;
                    let value = b.text.clone();
                    let shown = if value.is_empty() {
                        "—".to_string()
                    } else {
                        value
                    };
                    self.text(
                        b,
                        Some(format!("field:{name}")),
                        &shown,
                        &role,
                        text_color,
                        (vx, ty, (x + w - pad - vx).max(1.0), th),
                        Some(1),
                        "start",
                    );
                } else {
                    self.text(
                        b,
                        None,
                        &label,
                        &role,
                        text_color,
                        (tx, ty, tw, th),
                        lines,
                        align,
                    );
                }
                let o = b.origin.clone();
                let overrides: Overrides = [
                    b.attr("nav-up").map(str::to_string),
                    b.attr("nav-down").map(str::to_string),
                    b.attr("nav-left").map(str::to_string),
                    b.attr("nav-right").map(str::to_string),
                ];
                self.placed.document.focusables.push(Focusable {
                    id: fid,
                    x,
                    y,
                    w,
                    h,
                    action: b.action.clone().unwrap_or(document::Action::Back),
                    nav: Nav::default(),
                    container: container.map(str::to_string),
                });
                self.placed.focus_origins.push(o);
                self.placed.overrides.push(overrides);
            }
            "chip" => {
                let key = b.attr("key").unwrap_or_default().to_string();
                self.chip_sized(b, &key, x, y, w, h);
            }
            "bar" => {
                let track = self.color(b, "bar-track");
                let cname = b.attr("color").unwrap_or("bar-0").to_string();
                let fillc = self.color(b, &cname);
                let frac = num(t, b, "fraction").unwrap_or(0.0).clamp(0.0, 1.0);
                self.push(
                    Node::Rect {
                        id: None,
                        x,
                        y,
                        w,
                        h,
                        fill: Some(track),
                        stroke: None,
                        stroke_width: 0.0,
                        radius: 4.0,
                    },
                    &b.origin,
                    false,
                    false,
                );
                if frac > 0.0 {
                    self.push(
                        Node::Rect {
                            id: None,
                            x,
                            y,
                            w: (w * frac).max(4.0),
                            h,
                            fill: Some(fillc),
                            stroke: None,
                            stroke_width: 0.0,
                            radius: 4.0,
                        },
                        &b.origin,
                        false,
                        false,
                    );
                }
            }
            "image" => {
                let src = b.attr("src").unwrap_or_default();
                match (self.asset_hash)(src) {
                    Some(sha256) => self.push(
                        Node::Image {
                            id,
                            x,
                            y,
                            w,
                            h,
                            sha256,
                        },
                        &b.origin,
                        false,
                        false,
                    ),
                    None => self.findings.push(Finding::new(
                        &b.origin.file,
                        b.origin.line,
                        &b.origin.element,
                        Rule::BadValue,
                        format!("no asset {src:?} in assets/"),
                    )),
                }
            }
            _ => {}
        }
    }

    fn chip(&mut self, b: &Bound, key: &str, x: f32, y: f32, size: f32) {
        let w = if key_glyph(key).chars().count() > 1 {
            size * 1.8
        } else {
            size
        };
        self.chip_sized(b, key, x, y, w, size);
    }

    /// A colour-key swatch (the key's colour) or a digit/key-name tile.
    fn chip_sized(&mut self, b: &Bound, key: &str, x: f32, y: f32, w: f32, h: f32) {
        let t = self.theme;
        let (fill, text_color) = match key {
            "RED" | "GREEN" | "YELLOW" | "BLUE" => {
                let name = format!("key-{}", key.to_ascii_lowercase());
                (self.color(b, &name), None)
            }
            _ => (self.color(b, "chip"), Some(self.color(b, "chip-text"))),
        };
        self.push(
            Node::Rect {
                id: None,
                x,
                y,
                w,
                h,
                fill: Some(fill),
                stroke: None,
                stroke_width: 0.0,
                radius: 6.0,
            },
            &b.origin,
            false,
            false,
        );
        if let Some(tc) = text_color {
            let mut role = role_of(t, "chip");
            role.weight = Weight::Bold;
            let ty = y + ((h - role.line_height) / 2.0).max(0.0);
            self.text(
                b,
                None,
                key_glyph(key),
                &role,
                tc,
                (x, ty, w, role.line_height),
                Some(1),
                "center",
            );
        }
    }
}
