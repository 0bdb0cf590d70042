//! Painting the nodes of a layout document onto a pixmap: rectangles, text, images and the
//! focus mark, in the document's paint order.

use screen::document::{Color, FocusRing, Focusable, LayoutDocument, Node, TextLine, Weight};
use tiny_skia::{
    FillRule, FilterQuality, Paint, Path, PathBuilder, Pattern, Pixmap, Rect, SpreadMode, Transform,
};
use typeset::{GlyphMask, TextStyle, Typesetter};

use crate::image::{ImageSource, SourceImage};
use crate::{RenderError, RenderReport};

/// The thinnest focus ring drawn, px: anything thinner is hard to see from a sofa three metres
/// from a 720p screen. A document asking for less gets this.
pub const MIN_FOCUS_RING: f32 = 6.0;

/// How strongly the focus colour tints a light focused box (0-255): enough to notice, little
/// enough that the dark label on it keeps its contrast.
pub const FOCUS_TINT_ALPHA: u8 = 48;

/// How strongly white lightens a dark focused box (0-255). A colour tint would turn muddy
/// there (a yellow ring's tint over blue is grey, which reads as "disabled"); lightening reads
/// as "lit up", and at 11% keeps white labels above 7:1 on the dark themes' buttons.
pub const FOCUS_LIGHTEN_ALPHA: u8 = 28;

/// The largest canvas drawn, px a side; a layout document asking for more is refused rather
/// than allocating gigabytes.
pub const MAX_SIDE: u32 = 4096;

pub(crate) fn draw(
    doc: &LayoutDocument,
    focused: Option<&str>,
    typesetter: &mut Typesetter,
    images: &dyn ImageSource,
) -> Result<(Pixmap, RenderReport), RenderError> {
    if doc.width > MAX_SIDE || doc.height > MAX_SIDE {
        return Err(RenderError::Size {
            width: doc.width,
            height: doc.height,
        });
    }
    let mut pixmap = Pixmap::new(doc.width, doc.height).ok_or(RenderError::Size {
        width: doc.width,
        height: doc.height,
    })?;
    let focus = match focused {
        Some(id) => Some(
            doc.focusables
                .iter()
                .find(|f| f.id == id)
                .ok_or_else(|| RenderError::UnknownFocus(id.to_owned()))?,
        ),
        None => None,
    };
    let mut report = RenderReport::default();
    pixmap.fill(skia_color(doc.background));

    let mut tinted = false;
    for node in &doc.nodes {
        match node {
            Node::Rect {
                x,
                y,
                w,
                h,
                fill,
                stroke,
                stroke_width,
                radius,
                ..
            } => {
                rect(
                    &mut pixmap,
                    (*x, *y, *w, *h),
                    *fill,
                    *stroke,
                    *stroke_width,
                    *radius,
                );
            }
            Node::Text {
                size,
                line_height,
                weight,
                color,
                lines,
                ..
            } => {
                if !(*size > 0.0 && *size <= typeset::MAX_DRAWN_SIZE) {
                    return Err(RenderError::TextSize(*size));
                }
                let style = TextStyle {
                    size: *size,
                    line_height: *line_height,
                    weight: match weight {
                        Weight::Regular => typeset::Weight::Regular,
                        Weight::Bold => typeset::Weight::Bold,
                    },
                };
                for line in lines {
                    text_line(&mut pixmap, typesetter, line, &style, *color, &mut report);
                }
            }
            Node::Image {
                x, y, w, h, sha256, ..
            } => {
                if !image(&mut pixmap, (*x, *y, *w, *h), images.image(sha256)) {
                    push_unique(&mut report.missing_images, sha256.clone());
                }
            }
        }
        // The tint goes right after the focused element's own node (usually the button's
        // background), so the label drawn next stays crisp on top of it.
        if let Some(f) = focus {
            if !tinted && node.id() == Some(f.id.as_str()) {
                // Follow the node's rounded corners, so no tinted square corner pokes out.
                let radius = match node {
                    Node::Rect { radius, .. } => *radius,
                    _ => 0.0,
                };
                tint(&mut pixmap, f, doc.focus_ring, radius);
                tinted = true;
            }
        }
    }
    if let Some(f) = focus {
        if !tinted {
            tint(&mut pixmap, f, doc.focus_ring, 0.0);
        }
        ring(&mut pixmap, f, doc.focus_ring);
        report.focus = Some(f.id.clone());
    }
    Ok((pixmap, report))
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

pub(crate) fn skia_color(c: Color) -> tiny_skia::Color {
    let [r, g, b, a] = c.0;
    tiny_skia::Color::from_rgba8(r, g, b, a)
}

fn paint(c: Color) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(skia_color(c));
    paint.anti_alias = true;
    paint
}

/// A rectangle with optional fill and stroke; the stroke lies inside the box, as the
/// document format says, so a stroked box never grows past its bounds.
fn rect(
    pixmap: &mut Pixmap,
    (x, y, w, h): (f32, f32, f32, f32),
    fill: Option<Color>,
    stroke: Option<Color>,
    stroke_width: f32,
    radius: f32,
) {
    if let Some(fill) = fill {
        if let Some(path) = rounded_rect(x, y, w, h, radius) {
            pixmap.fill_path(
                &path,
                &paint(fill),
                FillRule::Winding,
                Transform::identity(),
                None,
            );
        }
    }
    if let Some(stroke) = stroke {
        let sw = stroke_width.min(w / 2.0).min(h / 2.0);
        if sw > 0.0 {
            // The band between the outer outline and the outline inset by the width, filled
            // even-odd: exact inner corners, no stroker joins.
            let mut pb = PathBuilder::new();
            push_rounded_rect(&mut pb, x, y, w, h, radius);
            push_rounded_rect(
                &mut pb,
                x + sw,
                y + sw,
                w - 2.0 * sw,
                h - 2.0 * sw,
                (radius - sw).max(0.0),
            );
            if let Some(path) = pb.finish() {
                pixmap.fill_path(
                    &path,
                    &paint(stroke),
                    FillRule::EvenOdd,
                    Transform::identity(),
                    None,
                );
            }
        }
    }
}

fn rounded_rect(x: f32, y: f32, w: f32, h: f32, radius: f32) -> Option<Path> {
    let mut pb = PathBuilder::new();
    push_rounded_rect(&mut pb, x, y, w, h, radius);
    pb.finish()
}

/// Adds a rectangle with circular corners of `radius` (clamped to half the shorter side).
fn push_rounded_rect(pb: &mut PathBuilder, x: f32, y: f32, w: f32, h: f32, radius: f32) {
    if !(w > 0.0 && h > 0.0) {
        return;
    }
    let r = radius.max(0.0).min(w / 2.0).min(h / 2.0);
    if r <= 0.0 {
        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(rect);
        }
        return;
    }
    // Cubic approximation of a quarter circle.
    let k = r * 0.552_284_8;
    let (right, bottom) = (x + w, y + h);
    pb.move_to(x + r, y);
    pb.line_to(right - r, y);
    pb.cubic_to(right - r + k, y, right, y + r - k, right, y + r);
    pb.line_to(right, bottom - r);
    pb.cubic_to(
        right,
        bottom - r + k,
        right - r + k,
        bottom,
        right - r,
        bottom,
    );
    pb.line_to(x + r, bottom);
    pb.cubic_to(x + r - k, bottom, x, bottom - r + k, x, bottom - r);
    pb.line_to(x, y + r);
    pb.cubic_to(x, y + r - k, x + r - k, y, x + r, y);
    pb.close();
}

/// Draws one line of text with the same shaping the layout measured it with.
fn text_line(
    pixmap: &mut Pixmap,
    typesetter: &mut Typesetter,
    line: &TextLine,
    style: &TextStyle,
    color: Color,
    report: &mut RenderReport,
) {
    let width = pixmap.width();
    let height = pixmap.height();
    let data = pixmap.data_mut();
    let missing = typesetter.draw_line(&line.text, style, line.x, line.baseline, &mut |mask| {
        blend_mask(data, width, height, &mask, color);
    });
    for c in missing {
        push_unique(&mut report.missing_glyphs, c);
    }
}

/// Composites a glyph's coverage mask in `color` onto premultiplied RGBA pixels (source-over),
/// clipped to the canvas.
fn blend_mask(data: &mut [u8], width: u32, height: u32, mask: &GlyphMask<'_>, color: Color) {
    let [r, g, b, a] = color.0.map(u32::from);
    // The mask's rows and columns that fall on the canvas, as ranges of the mask.
    let visible = |origin: i32, len: u32, canvas: u32| {
        let start = i64::from(origin).clamp(0, i64::from(canvas));
        let end = (i64::from(origin) + i64::from(len)).clamp(0, i64::from(canvas));
        let first = usize::try_from(start - i64::from(origin)).unwrap_or(0);
        let count = usize::try_from(end - start).unwrap_or(0);
        (first, count, usize::try_from(start).unwrap_or(0))
    };
    let (col0, cols, x0) = visible(mask.left, mask.width, width);
    let (row0, rows, y0) = visible(mask.top, mask.height, height);
    let (mask_w, canvas_w) = (mask.width as usize, width as usize);
    for row in 0..rows {
        let m = (row0 + row) * mask_w + col0;
        let p = ((y0 + row) * canvas_w + x0) * 4;
        let (Some(coverage), Some(dst)) = (
            mask.coverage.get(m..m + cols),
            data.get_mut(p..p + cols * 4),
        ) else {
            continue;
        };
        for (&c, px) in coverage.iter().zip(dst.chunks_exact_mut(4)) {
            if c == 0 {
                continue;
            }
            let sa = div255(a * u32::from(c));
            let inv = 255 - sa;
            for (d, s) in px.iter_mut().zip([r, g, b, 255]) {
                // src + dst*(1-sa) never exceeds 255 for premultiplied values.
                *d = u8::try_from(div255(s * sa) + div255(u32::from(*d) * inv)).unwrap_or(u8::MAX);
            }
        }
    }
}

/// x / 255, rounded, for x up to 255 * 255.
fn div255(x: u32) -> u32 {
    let x = x + 128;
    (x + (x >> 8)) >> 8
}

/// Draws a supplied image scaled into its box; false when there is none to draw.
fn image(
    pixmap: &mut Pixmap,
    (x, y, w, h): (f32, f32, f32, f32),
    source: Option<SourceImage<'_>>,
) -> bool {
    let Some(source) = source else { return false };
    let Some(img) = crate::image::to_pixmap(source) else {
        return false;
    };
    let Some(rect) = Rect::from_xywh(x, y, w, h) else {
        return true;
    };
    let sx = w / img.width() as f32;
    let sy = h / img.height() as f32;
    let pattern = Pattern::new(
        img.as_ref(),
        SpreadMode::Pad,
        FilterQuality::Bilinear,
        1.0,
        Transform::from_row(sx, 0.0, 0.0, sy, x, y),
    );
    let paint = Paint {
        shader: pattern,
        anti_alias: true,
        ..Paint::default()
    };
    pixmap.fill_rect(rect, &paint, Transform::identity(), None);
    true
}

/// The subtle part of the focus mark: a light box gets a faint wash of the focus colour, a
/// dark box is lightened a little. Light or dark is judged from the box as drawn so far (the
/// median luma of five points across its middle), so a set-top box can do the same.
fn tint(pixmap: &mut Pixmap, f: &Focusable, ring: FocusRing, radius: f32) {
    let mut lumas: Vec<u32> = (0..5u8)
        .filter_map(|i| {
            let x = f.x + f.w * (0.1 + 0.2 * f32::from(i));
            let y = f.y + f.h / 2.0;
            if x < 0.0 || y < 0.0 {
                return None;
            }
            // Truncation to the pixel under the point is intended.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let p = pixmap.pixel(x as u32, y as u32)?.demultiply();
            Some(
                (2126 * u32::from(p.red())
                    + 7152 * u32::from(p.green())
                    + 722 * u32::from(p.blue()))
                    / 10_000,
            )
        })
        .collect();
    lumas.sort_unstable();
    let light = lumas.get(lumas.len() / 2).is_none_or(|&l| l >= 128);
    let [r, g, b, _] = ring.color.0;
    let wash = if light {
        Color([r, g, b, FOCUS_TINT_ALPHA])
    } else {
        Color([255, 255, 255, FOCUS_LIGHTEN_ALPHA])
    };
    if let Some(path) = rounded_rect(f.x, f.y, f.w, f.h, radius) {
        pixmap.fill_path(
            &path,
            &paint(wash),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

/// The unmistakable part: a band `ring.width` thick (at least [`MIN_FOCUS_RING`]) just outside
/// the focused box, square-cornered, as the document format specifies.
fn ring(pixmap: &mut Pixmap, f: &Focusable, ring: FocusRing) {
    let rw = ring.width.max(MIN_FOCUS_RING);
    let mut pb = PathBuilder::new();
    push_rounded_rect(
        &mut pb,
        f.x - rw,
        f.y - rw,
        f.w + 2.0 * rw,
        f.h + 2.0 * rw,
        0.0,
    );
    push_rounded_rect(&mut pb, f.x, f.y, f.w, f.h, 0.0);
    if let Some(path) = pb.finish() {
        let [r, g, b, _] = ring.color.0;
        // Opaque whatever the document says: a see-through ring is not unmistakable.
        pixmap.fill_path(
            &path,
            &paint(Color([r, g, b, 255])),
            FillRule::EvenOdd,
            Transform::identity(),
            None,
        );
    }
}
