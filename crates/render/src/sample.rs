//! A hand-built, representative 1280x720 screen (a community's home screen), for the
//! benchmark, the sample-picture example and tests. Not a product screen: those come from the
//! templates through the `screen` crate.

use screen::document::{
    Action, Color, FocusRing, Focusable, KeyBinding, LayoutDocument, Nav, Node, Target, TextLine,
    Weight,
};
use typeset::{TextStyle, Typesetter};

/// The focusable the sample screen opens with.
pub const DEFAULT_FOCUS: &str = "topic-1";

const INK: Color = Color::rgb(0x1f, 0x1f, 0x1f);
const WHITE: Color = Color::rgb(0xff, 0xff, 0xff);
const RED: Color = Color::rgb(0xa8, 0x1c, 0x1c);
const GREY: Color = Color::rgb(0x55, 0x55, 0x55);

/// A type size of the sample screen.
#[derive(Debug, Clone, Copy)]
pub struct Type {
    pub size: f32,
    pub line_height: f32,
    pub weight: Weight,
}

const TITLE: Type = Type {
    size: 56.0,
    line_height: 72.0,
    weight: Weight::Bold,
};
const HEADING: Type = Type {
    size: 36.0,
    line_height: 48.0,
    weight: Weight::Bold,
};
const SUBTITLE: Type = Type {
    size: 32.0,
    line_height: 40.0,
    weight: Weight::Regular,
};
const BODY: Type = Type {
    size: 28.0,
    line_height: 40.0,
    weight: Weight::Regular,
};
const CAPTION: Type = Type {
    size: 26.0,
    line_height: 34.0,
    weight: Weight::Regular,
};

/// Lays out text in a box `(x, y, w)` and returns the text node: lines broken by the
/// typesetter, placed from the box's top-left.
pub fn text_node(
    typesetter: &mut Typesetter,
    (x, y, w): (f32, f32, f32),
    text: &str,
    ty: Type,
    color: Color,
    max_lines: Option<u32>,
) -> Node {
    let style = TextStyle {
        size: ty.size,
        line_height: ty.line_height,
        weight: match ty.weight {
            Weight::Regular => typeset::Weight::Regular,
            Weight::Bold => typeset::Weight::Bold,
        },
    };
    let paragraph = typesetter.paragraph(text, &style, w, max_lines);
    let lines = paragraph
        .lines
        .iter()
        .map(|line| TextLine {
            text: line.text.clone(),
            x,
            baseline: y + line.baseline,
            width: line.width,
        })
        .collect();
    Node::Text {
        id: None,
        x,
        y,
        w,
        h: paragraph.height,
        size: ty.size,
        line_height: ty.line_height,
        weight: ty.weight,
        color,
        lines,
    }
}

fn rect(id: Option<&str>, (x, y, w, h): (f32, f32, f32, f32), fill: Color, radius: f32) -> Node {
    Node::Rect {
        id: id.map(str::to_owned),
        x,
        y,
        w,
        h,
        fill: Some(fill),
        stroke: None,
        stroke_width: 0.0,
        radius,
    }
}

fn open(screen: &str, param: &str) -> Action {
    Action::OpenScreen {
        screen: screen.to_owned(),
        param: Some(param.to_owned()),
    }
}

/// The sample home screen of 湖㳇村 in 湖㳇镇, 宜兴市: a title band, an urgent notice, three
/// topics as focusable cards, and a colour-key legend. Text is laid out with `typesetter`.
pub fn home_screen(typesetter: &mut Typesetter) -> LayoutDocument {
    let t = typesetter;
    let mut nodes = vec![
        // Title band.
        rect(None, (0.0, 0.0, 1280.0, 128.0), RED, 0.0),
        text_node(t, (64.0, 28.0, 600.0), "有事好商量", TITLE, WHITE, Some(1)),
        text_node(
            t,
            (680.0, 48.0, 536.0),
            "宜兴市 · 湖㳇镇 · 湖㳇村",
            SUBTITLE,
            WHITE,
            Some(1),
        ),
        // Urgent notice banner.
        Node::Rect {
            id: None,
            x: 64.0,
            y: 152.0,
            w: 1152.0,
            h: 96.0,
            fill: Some(Color::rgb(0xff, 0xf3, 0xc4)),
            stroke: Some(Color::rgb(0xc9, 0x8a, 0x00)),
            stroke_width: 3.0,
            radius: 12.0,
        },
        text_node(
            t,
            (88.0, 160.0, 1104.0),
            "【通知】12月5日（周六）上午9:00，在村委会二楼协商议事室召开“老旧小区加装电梯”协商会，欢迎各位居民参加！也可用遥控器投票、留言。",
            BODY,
            INK,
            Some(2),
        ),
    ];
    // Topics.
    let topics = [
        (
            "topic-1",
            "① 老旧小区加装电梯，费用怎么分摊？",
            "协商中 · 已有 128 户投票",
        ),
        (
            "topic-2",
            "② 新能源汽车充电桩建在哪里",
            "商前调研 · 征集意见至12月10日",
        ),
        ("topic-3", "③ 村口停车位改造方案", "成果转化 · 施工进度 60%"),
    ];
    let mut focusables = Vec::new();
    for (i, (id, title, stage)) in topics.iter().enumerate() {
        let y = 280.0 + i as f32 * 120.0;
        nodes.push(rect(Some(id), (64.0, y, 1152.0, 100.0), WHITE, 16.0));
        nodes.push(text_node(
            t,
            (96.0, y + 10.0, 900.0),
            title,
            HEADING,
            INK,
            Some(1),
        ));
        nodes.push(text_node(
            t,
            (96.0, y + 58.0, 900.0),
            stage,
            CAPTION,
            GREY,
            Some(1),
        ));
        nodes.push(text_node(
            t,
            (1040.0, y + 30.0, 150.0),
            "查看 ▶",
            SUBTITLE,
            RED,
            Some(1),
        ));
        let nav = Nav {
            up: (i > 0).then(|| Target::Focus {
                id: format!("topic-{i}"),
            }),
            down: (i < 2).then(|| Target::Focus {
                id: format!("topic-{}", i + 2),
            }),
            left: Some(Target::Blocked),
            right: Some(Target::Blocked),
        };
        focusables.push(Focusable {
            id: (*id).to_owned(),
            x: 64.0,
            y,
            w: 1152.0,
            h: 100.0,
            action: open("topic-detail", &(i + 1).to_string()),
            nav,
            container: None,
        });
    }
    // Colour-key legend.
    let keys = [
        (Color::rgb(0xd3, 0x2f, 0x2f), "红键 投票"),
        (Color::rgb(0x2e, 0x7d, 0x32), "绿键 留言"),
        (Color::rgb(0xf9, 0xa8, 0x25), "黄键 通知"),
        (Color::rgb(0x15, 0x65, 0xc0), "蓝键 帮助"),
    ];
    for (i, (color, label)) in keys.iter().enumerate() {
        let x = 64.0 + i as f32 * 290.0;
        nodes.push(rect(None, (x, 644.0, 40.0, 28.0), *color, 6.0));
        nodes.push(text_node(
            t,
            (x + 52.0, 638.0, 220.0),
            label,
            BODY,
            INK,
            Some(1),
        ));
    }
    LayoutDocument {
        format: screen::document::FORMAT,
        screen: "home".to_owned(),
        param: None,
        page: None,
        theme: "standard".to_owned(),
        width: 1280,
        height: 720,
        background: Color::rgb(0xf4, 0xf1, 0xea),
        focus_ring: FocusRing {
            color: Color::rgb(0x0d, 0x47, 0xa1),
            width: 8.0,
        },
        nodes,
        focusables,
        default_focus: Some(DEFAULT_FOCUS.to_owned()),
        keys: vec![
            KeyBinding {
                key: "RED".to_owned(),
                action: open("ballot", "1"),
            },
            KeyBinding {
                key: "BACK".to_owned(),
                action: Action::Back,
            },
        ],
    }
}
