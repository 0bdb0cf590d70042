//! Tests of drawing, from small documents written inline, reading pixels back.

#![allow(clippy::unwrap_used)]

use screen::document::{
    Action, Color, FocusRing, Focusable, LayoutDocument, Nav, Node, TextLine, Weight,
};
use typeset::Typesetter;

use super::*;

const BG: Color = Color::rgb(250, 250, 250);
const FOCUS: Color = Color::rgb(0, 80, 200);

fn doc(nodes: Vec<Node>) -> LayoutDocument {
    LayoutDocument {
        format: screen::document::FORMAT,
        screen: "test".to_owned(),
        theme: "standard".to_owned(),
        width: 200,
        height: 100,
        background: BG,
        focus_ring: FocusRing {
            color: FOCUS,
            width: 6.0,
        },
        nodes,
        ..LayoutDocument::default()
    }
}

fn pixel(p: &Pixmap, x: u32, y: u32) -> [u8; 4] {
    let c = p.pixel(x, y).unwrap();
    [c.red(), c.green(), c.blue(), c.alpha()]
}

fn rgba(c: Color) -> [u8; 4] {
    c.0
}

fn rect(id: Option<&str>, x: f32, y: f32, w: f32, h: f32, fill: Option<Color>) -> Node {
    Node::Rect {
        id: id.map(str::to_owned),
        x,
        y,
        w,
        h,
        fill,
        stroke: None,
        stroke_width: 0.0,
        radius: 0.0,
    }
}

fn text(line: &str, x: f32, baseline: f32, color: Color) -> Node {
    Node::Text {
        id: None,
        x,
        y: baseline - 28.0,
        w: 180.0,
        h: 32.0,
        size: 32.0,
        line_height: 32.0,
        weight: Weight::Regular,
        color,
        lines: vec![TextLine {
            text: line.to_owned(),
            x,
            baseline,
            width: 0.0,
        }],
    }
}

fn focusable(id: &str, x: f32, y: f32, w: f32, h: f32) -> Focusable {
    Focusable {
        id: id.to_owned(),
        x,
        y,
        w,
        h,
        action: Action::Back,
        nav: Nav::default(),
        container: None,
    }
}

fn ink(p: &Pixmap, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            if pixel(p, x, y) != rgba(BG) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn fills_the_background_and_rects() {
    let mut t = Typesetter::new().unwrap();
    let d = doc(vec![rect(
        None,
        10.0,
        10.0,
        50.0,
        30.0,
        Some(Color::rgb(200, 0, 0)),
    )]);
    let (p, report) = draw(&d, None, &mut t, &NoImages).unwrap();
    assert!(report.is_clean());
    assert_eq!(pixel(&p, 0, 0), rgba(BG));
    assert_eq!(pixel(&p, 10, 10), [200, 0, 0, 255]);
    assert_eq!(pixel(&p, 59, 39), [200, 0, 0, 255]);
    assert_eq!(pixel(&p, 60, 40), rgba(BG));
}

#[test]
fn strokes_lie_inside_the_box_and_corners_are_rounded() {
    let mut t = Typesetter::new().unwrap();
    let d = doc(vec![Node::Rect {
        id: None,
        x: 20.0,
        y: 20.0,
        w: 100.0,
        h: 60.0,
        fill: Some(Color::rgb(255, 255, 255)),
        stroke: Some(Color::rgb(0, 0, 0)),
        stroke_width: 4.0,
        radius: 16.0,
    }]);
    let (p, _) = draw(&d, None, &mut t, &NoImages).unwrap();
    // The stroke: the box's own edge pixels, on a straight side.
    assert_eq!(pixel(&p, 70, 20), [0, 0, 0, 255]);
    assert_eq!(pixel(&p, 70, 23), [0, 0, 0, 255]);
    assert_eq!(pixel(&p, 70, 24), [255, 255, 255, 255]);
    // Nothing outside the box.
    assert_eq!(pixel(&p, 70, 19), rgba(BG));
    // The corner is cut off by the radius.
    assert_eq!(pixel(&p, 21, 21), rgba(BG));
}

#[test]
fn draws_text_on_its_baseline() {
    let mut t = Typesetter::new().unwrap();
    let d = doc(vec![text("湖㳇镇", 10.0, 60.0, Color::rgb(0, 0, 0))]);
    let (p, report) = draw(&d, None, &mut t, &NoImages).unwrap();
    assert!(report.is_clean(), "{report:?}");
    // Ink within the em box (baseline - 28 .. baseline + 4) of three 32 px characters...
    assert!(ink(&p, 10, 32, 10 + 96, 64) > 300);
    // ...and none above, below or after it.
    assert_eq!(ink(&p, 0, 0, 200, 30), 0);
    assert_eq!(ink(&p, 0, 66, 200, 100), 0);
    assert_eq!(ink(&p, 108, 0, 200, 100), 0);
}

#[test]
fn a_missing_glyph_is_reported_and_not_drawn() {
    let mut t = Typesetter::new().unwrap();
    let d = doc(vec![
        text("𠀀", 10.0, 60.0, Color::rgb(0, 0, 0)),
        text("镇𠀀\u{9FA6}", 10.0, 60.0, Color::rgb(0, 0, 0)),
    ]);
    let (p, report) = draw(&d, None, &mut t, &NoImages).unwrap();
    assert_eq!(report.missing_glyphs, vec!['𠀀', '\u{9FA6}']);
    assert!(!report.is_clean());
    // Only 镇 has ink: nothing (no box) where the missing characters would be.
    assert!(ink(&p, 10, 30, 42, 66) > 100);
    assert_eq!(ink(&p, 44, 0, 200, 100), 0);
}

#[test]
fn the_focused_element_gets_a_thick_ring_and_a_tint() {
    let mut t = Typesetter::new().unwrap();
    let white = Color::rgb(255, 255, 255);
    let mut d = doc(vec![rect(Some("ok"), 50.0, 30.0, 100.0, 40.0, Some(white))]);
    d.focusables.push(focusable("ok", 50.0, 30.0, 100.0, 40.0));
    let (plain, report) = draw(&d, None, &mut t, &NoImages).unwrap();
    assert_eq!(report.focus, None);
    let (p, report) = draw(&d, Some("ok"), &mut t, &NoImages).unwrap();
    assert_eq!(report.focus.as_deref(), Some("ok"));
    // A 6 px band just outside the box, all around.
    for (x, y) in [
        (44, 50),
        (49, 50),
        (150, 50),
        (155, 50),
        (100, 24),
        (100, 29),
        (100, 70),
        (100, 75),
        (44, 24),
    ] {
        assert_eq!(pixel(&p, x, y), rgba(FOCUS), "at {x},{y}");
    }
    assert_eq!(pixel(&p, 43, 50), rgba(BG));
    assert_eq!(pixel(&p, 156, 50), rgba(BG));
    // Inside: the white box, tinted with the focus colour, not white any more.
    let inside = pixel(&p, 100, 50);
    assert_ne!(inside, [255, 255, 255, 255]);
    assert!(inside[2] > inside[0], "{inside:?}");
    assert_eq!(pixel(&plain, 100, 50), [255, 255, 255, 255]);
}

#[test]
fn a_dark_focused_box_is_lightened_not_tinted() {
    let mut t = Typesetter::new().unwrap();
    let navy = Color::rgb(20, 56, 110);
    let mut d = doc(vec![rect(Some("ok"), 50.0, 30.0, 100.0, 40.0, Some(navy))]);
    d.focus_ring.color = Color::rgb(255, 204, 0);
    d.focusables.push(focusable("ok", 50.0, 30.0, 100.0, 40.0));
    let (p, _) = draw(&d, Some("ok"), &mut t, &NoImages).unwrap();
    let [r, g, b, _] = pixel(&p, 100, 50);
    // Lighter in every channel and still blue, not a yellow-grey mix.
    assert!(r > 20 && g > 56 && b > 110, "{r} {g} {b}");
    assert!(b > r + 60 && b > g + 30, "{r} {g} {b}");
    assert_eq!(pixel(&p, 47, 50), [255, 204, 0, 255]);
}

#[test]
fn a_thin_ring_in_the_document_is_drawn_at_the_minimum() {
    let mut t = Typesetter::new().unwrap();
    let mut d = doc(vec![]);
    d.focus_ring.width = 2.0;
    d.focusables.push(focusable("ok", 50.0, 30.0, 100.0, 40.0));
    let (p, _) = draw(&d, Some("ok"), &mut t, &NoImages).unwrap();
    assert_eq!(pixel(&p, 44, 50), rgba(FOCUS));
}

#[test]
fn refuses_an_unknown_focus_and_absurd_sizes() {
    let mut t = Typesetter::new().unwrap();
    let d = doc(vec![]);
    assert!(
        matches!(draw(&d, Some("nope"), &mut t, &NoImages), Err(RenderError::UnknownFocus(id)) if id == "nope")
    );
    let mut big = doc(vec![]);
    big.width = 100_000;
    assert!(matches!(
        draw(&big, None, &mut t, &NoImages),
        Err(RenderError::Size { .. })
    ));
    let mut empty = doc(vec![]);
    empty.width = 0;
    assert!(matches!(
        draw(&empty, None, &mut t, &NoImages),
        Err(RenderError::Size { .. })
    ));
}

#[test]
fn images_come_from_the_source_and_missing_ones_are_reported() {
    let mut t = Typesetter::new().unwrap();
    let d = doc(vec![
        Node::Image {
            id: None,
            x: 10.0,
            y: 10.0,
            w: 20.0,
            h: 20.0,
            sha256: "green".to_owned(),
        },
        Node::Image {
            id: None,
            x: 100.0,
            y: 10.0,
            w: 20.0,
            h: 20.0,
            sha256: "absent".to_owned(),
        },
    ]);
    let source = |hash: &str| {
        (hash == "green").then(|| SourceImage::Rgba {
            width: 2,
            height: 2,
            pixels: std::borrow::Cow::Owned([0u8, 160, 0, 255].repeat(4)),
        })
    };
    let (p, report) = draw(&d, None, &mut t, &source).unwrap();
    assert_eq!(pixel(&p, 20, 20), [0, 160, 0, 255]);
    assert_eq!(report.missing_images, vec!["absent".to_owned()]);
    assert_eq!(pixel(&p, 110, 20), rgba(BG));

    // The same through PNG bytes.
    let green = draw(
        &doc(vec![rect(
            None,
            0.0,
            0.0,
            200.0,
            100.0,
            Some(Color::rgb(0, 160, 0)),
        )]),
        None,
        &mut t,
        &NoImages,
    )
    .unwrap()
    .0;
    let mut pngs = std::collections::HashMap::new();
    pngs.insert("green".to_owned(), encode_png(&green).unwrap());
    let (p, report) = draw(&d, None, &mut t, &pngs).unwrap();
    assert_eq!(pixel(&p, 20, 20), [0, 160, 0, 255]);
    assert_eq!(report.missing_images, vec!["absent".to_owned()]);
}

#[test]
fn png_round_trips_exactly_and_is_deterministic() {
    let mut t = Typesetter::new().unwrap();
    let d = sample::home_screen(&mut t);
    let (p, report) = draw(&d, Some(sample::DEFAULT_FOCUS), &mut t, &NoImages).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let png = encode_png(&p).unwrap();
    assert_eq!(png, encode_png(&p).unwrap());
    let back = decode_png(&png).unwrap();
    let diff = compare(&p, &back, Tolerance::EXACT);
    assert!(diff.matches(), "{diff}");
    // Translucent pixels survive too (straight alpha on the wire, within rounding).
    let mut translucent = Pixmap::new(4, 4).unwrap();
    translucent.fill(tiny_skia::Color::from_rgba8(200, 100, 50, 128));
    let back = decode_png(&encode_png(&translucent).unwrap()).unwrap();
    assert!(
        compare(
            &translucent,
            &back,
            Tolerance {
                channel: 1,
                max_fraction: 0.0
            }
        )
        .matches()
    );
}

#[test]
fn compare_sees_a_moved_focus_but_not_noise() {
    let mut t = Typesetter::new().unwrap();
    let d = sample::home_screen(&mut t);
    let (a, _) = draw(&d, Some("topic-1"), &mut t, &NoImages).unwrap();
    let (b, _) = draw(&d, Some("topic-2"), &mut t, &NoImages).unwrap();
    let diff = compare(&a, &b, Tolerance::GOLDEN);
    assert!(!diff.matches(), "{diff}");
    assert!(diff.differing > 10_000);
    let (x, y, _, h) = diff.bounds.unwrap();
    assert!(x < 64 && y < 280 && y + h > 500, "{diff}");

    let mut noisy = a.clone();
    for (i, byte) in noisy.data_mut().iter_mut().enumerate() {
        if i % 97 == 0 {
            *byte = byte.saturating_sub(3);
        }
    }
    assert!(compare(&a, &noisy, Tolerance::GOLDEN).matches());
    assert!(!compare(&a, &noisy, Tolerance::EXACT).matches());
    assert!(!compare(&a, &Pixmap::new(10, 10).unwrap(), Tolerance::GOLDEN).matches());
}

#[test]
fn refuses_absurd_text_sizes_and_survives_odd_geometry() {
    let mut t = Typesetter::new().unwrap();
    for size in [0.0, -3.0, f32::NAN, f32::INFINITY, 1.0e6] {
        let mut node = text("湖", 10.0, 60.0, Color::rgb(0, 0, 0));
        if let Node::Text { size: s, .. } = &mut node {
            *s = size;
        }
        assert!(
            matches!(
                draw(&doc(vec![node]), None, &mut t, &NoImages),
                Err(RenderError::TextSize(_))
            ),
            "{size}"
        );
    }
    // Non-finite or inverted boxes draw nothing and do not fail.
    let odd = doc(vec![
        rect(None, f32::NAN, 0.0, 10.0, 10.0, Some(Color::rgb(0, 0, 0))),
        rect(None, 0.0, 0.0, -10.0, 10.0, Some(Color::rgb(0, 0, 0))),
        rect(None, 1.0e9, 1.0e9, 1.0e9, 1.0e9, Some(Color::rgb(0, 0, 0))),
        text("湖", -1.0e9, f32::NAN, Color::rgb(0, 0, 0)),
    ]);
    let (p, _) = draw(&odd, None, &mut t, &NoImages).unwrap();
    assert_eq!(ink(&p, 0, 0, 200, 100), 0);
}

#[test]
fn refuses_a_png_claiming_an_absurd_size_before_allocating() {
    // A valid PNG signature and IHDR chunk for 100000 x 100000 RGBA, and nothing else.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    // Refused (by our size check or the decoder's own memory limit), not allocated.
    assert!(decode_png(&png).is_err());
    assert!(decode_png(b"not a png").is_err());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn text_running_off_the_canvas_is_clipped() {
    let mut t = Typesetter::new().unwrap();
    // Half of 湖 left of x = 0 and above y = 0; half of 镇 right of the canvas's edge.
    let d = doc(vec![
        text("湖", -16.0, 12.0, Color::rgb(0, 0, 0)),
        text("镇", 184.0, 100.0, Color::rgb(0, 0, 0)),
    ]);
    let (p, _) = draw(&d, None, &mut t, &NoImages).unwrap();
    assert!(ink(&p, 0, 0, 16, 16) > 20);
    assert!(ink(&p, 184, 72, 200, 100) > 20);
    assert_eq!(ink(&p, 20, 20, 180, 70), 0);
}
