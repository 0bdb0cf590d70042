//! A contact sheet: every frame of a session, downscaled, on one picture in a grid, each
//! under a label (its step, key, screen and focus), for reviewing a session at a glance.
//!
//! The sheet is itself a layout document (labels as text nodes, thumbnails as image nodes)
//! drawn by `render`, so it needs no drawing code of its own. Thumbnails are made by averaging
//! each source pixel's area (a box filter), which keeps 1/3-scale text legible where the
//! renderer's bilinear scaling would alias.

use std::borrow::Cow;

use render::{ImageSource, Pixmap, RenderError, SourceImage};
use screen::document::{Color, LayoutDocument, Node, TextLine, Weight};
use typeset::Typesetter;

/// The widest thumbnail: a third of a 1280-pixel frame.
pub const MAX_THUMB_WIDTH: u32 = 427;
const GAP: u32 = 16;
const LABEL_SIZE: f32 = 18.0;
const LABEL_HEIGHT: u32 = 28;
/// The renderer's largest canvas side.
const MAX_SIDE: u32 = render::MAX_SIDE;

/// One frame for the sheet.
#[derive(Debug, Clone, Copy)]
pub struct SheetFrame<'a> {
    pub label: &'a str,
    pub pixmap: &'a Pixmap,
}

/// Why a sheet could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("no frames to lay on a contact sheet")]
    Empty,
    #[error("{0} frames do not fit on one contact sheet of at most {MAX_SIDE} px a side")]
    TooMany(usize),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// How the sheet is laid out: columns and the thumbnail size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub columns: u32,
    pub rows: u32,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub width: u32,
    pub height: u32,
}

/// Picks the grid for `n` frames of `frame_w` x `frame_h`: four columns of third-size
/// thumbnails, more and smaller ones when the sheet would outgrow the renderer's canvas.
pub fn grid(n: usize, frame_w: u32, frame_h: u32) -> Option<Grid> {
    let n = u32::try_from(n).ok().filter(|n| *n > 0)?;
    if frame_w == 0 || frame_h == 0 {
        return None;
    }
    for columns in 4u32..=64 {
        let columns_used = columns.min(n);
        let thumb_width = MAX_THUMB_WIDTH
            .min(frame_w)
            .min((MAX_SIDE - (columns + 1) * GAP) / columns);
        let thumb_height =
            (u64::from(thumb_width) * u64::from(frame_h) / u64::from(frame_w)) as u32;
        let rows = n.div_ceil(columns);
        let width = columns_used * (thumb_width + GAP) + GAP;
        let height = rows * (thumb_height + LABEL_HEIGHT + GAP) + GAP;
        if thumb_width >= 32 && thumb_height >= 8 && height <= MAX_SIDE && width <= MAX_SIDE {
            return Some(Grid {
                columns: columns_used,
                rows,
                thumb_width,
                thumb_height,
                width,
                height,
            });
        }
    }
    None
}

/// Downscales `src` to `w` x `h` by averaging the source area under each target pixel.
/// Returns straight-alpha RGBA (frames are opaque, so premultiplied and straight agree).
pub fn downscale(src: &Pixmap, w: u32, h: u32) -> Vec<u8> {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (w, h) = (w.max(1) as usize, h.max(1) as usize);
    let data = src.data();
    let mut out = vec![0u8; w * h * 4];
    for ty in 0..h {
        let y0 = ty * sh / h;
        let y1 = ((ty + 1) * sh / h).max(y0 + 1).min(sh);
        for tx in 0..w {
            let x0 = tx * sw / w;
            let x1 = ((tx + 1) * sw / w).max(x0 + 1).min(sw);
            let mut acc = [0u32; 4];
            for y in y0..y1 {
                let row = y * sw * 4;
                for x in x0..x1 {
                    let i = row + x * 4;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += u32::from(data.get(i + c).copied().unwrap_or(0));
                    }
                }
            }
            let count = ((y1 - y0) * (x1 - x0)).max(1) as u32;
            let o = (ty * w + tx) * 4;
            for (c, sum) in acc.iter().enumerate() {
                if let Some(px) = out.get_mut(o + c) {
                    *px = u8::try_from((sum + count / 2) / count).unwrap_or(u8::MAX);
                }
            }
        }
    }
    out
}

struct Thumbs {
    width: u32,
    height: u32,
    pixels: Vec<Vec<u8>>,
}

impl ImageSource for Thumbs {
    fn image(&self, sha256: &str) -> Option<SourceImage<'_>> {
        let i: usize = sha256.strip_prefix("thumb-")?.parse().ok()?;
        Some(SourceImage::Rgba {
            width: self.width,
            height: self.height,
            pixels: Cow::Borrowed(self.pixels.get(i)?),
        })
    }
}

/// Lays `frames` on one sheet, in order, left to right and top to bottom.
pub fn contact_sheet(
    frames: &[SheetFrame<'_>],
    typesetter: &mut Typesetter,
) -> Result<Pixmap, SheetError> {
    let first = frames.first().ok_or(SheetError::Empty)?;
    let g = grid(frames.len(), first.pixmap.width(), first.pixmap.height())
        .ok_or(SheetError::TooMany(frames.len()))?;
    let style = typeset::TextStyle {
        size: LABEL_SIZE,
        line_height: LABEL_HEIGHT as f32,
        weight: typeset::Weight::Bold,
    };
    let label_color = Color::rgb(0xf2, 0xf2, 0xf2);
    let mut doc = LayoutDocument {
        format: screen::document::FORMAT,
        screen: "contact-sheet".into(),
        theme: "standard".into(),
        width: g.width,
        height: g.height,
        background: Color::rgb(0x20, 0x20, 0x24),
        ..LayoutDocument::default()
    };
    let mut thumbs = Thumbs {
        width: g.thumb_width,
        height: g.thumb_height,
        pixels: Vec::with_capacity(frames.len()),
    };
    for (i, frame) in frames.iter().enumerate() {
        let i32_ = u32::try_from(i).unwrap_or(u32::MAX);
        let col = i32_ % g.columns;
        let row = i32_ / g.columns;
        let x = (GAP + col * (g.thumb_width + GAP)) as f32;
        let y = (GAP + row * (g.thumb_height + LABEL_HEIGHT + GAP)) as f32;
        // Cut the label to the thumbnail's width rather than let it run into the next one.
        let p = typesetter.paragraph(frame.label, &style, g.thumb_width as f32, Some(1));
        let lines = p
            .lines
            .into_iter()
            .map(|l| TextLine {
                text: l.text,
                x,
                baseline: y + l.baseline,
                width: l.width,
            })
            .collect();
        doc.nodes.push(Node::Text {
            id: None,
            x,
            y,
            w: g.thumb_width as f32,
            h: LABEL_HEIGHT as f32,
            size: LABEL_SIZE,
            line_height: LABEL_HEIGHT as f32,
            weight: Weight::Bold,
            color: label_color,
            lines,
        });
        doc.nodes.push(Node::Image {
            id: None,
            x,
            y: y + LABEL_HEIGHT as f32,
            w: g.thumb_width as f32,
            h: g.thumb_height as f32,
            sha256: format!("thumb-{i}"),
        });
        thumbs
            .pixels
            .push(downscale(frame.pixmap, g.thumb_width, g.thumb_height));
    }
    let (pixmap, _report) = render::draw(&doc, None, typesetter, &thumbs)?;
    Ok(pixmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_grows_columns_before_it_outgrows_the_canvas() {
        let g = grid(6, 1280, 720).unwrap();
        assert_eq!(
            (g.columns, g.rows, g.thumb_width, g.thumb_height),
            (4, 2, 427, 240)
        );
        let g = grid(2, 1280, 720).unwrap();
        assert_eq!(g.columns, 2, "no empty columns");
        let g = grid(200, 1280, 720).unwrap();
        assert!(g.width <= MAX_SIDE && g.height <= MAX_SIDE, "{g:?}");
        assert!(g.columns * g.rows >= 200);
        assert_eq!(grid(0, 1280, 720), None);
        assert_eq!(grid(1_000_000, 1280, 720), None);
    }

    #[test]
    fn downscaling_averages_areas() {
        let mut p = Pixmap::new(4, 2).unwrap();
        // Left half white, right half black, opaque.
        for (i, px) in p.data_mut().chunks_exact_mut(4).enumerate() {
            let v = if i % 4 < 2 { 255 } else { 0 };
            px.copy_from_slice(&[v, v, v, 255]);
        }
        assert_eq!(downscale(&p, 2, 1), vec![255, 255, 255, 255, 0, 0, 0, 255]);
        assert_eq!(downscale(&p, 1, 1), vec![128, 128, 128, 255]);
    }
}
