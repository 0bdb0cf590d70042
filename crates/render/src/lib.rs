//! render: draws a laid-out screen (a [`LayoutDocument`]) to pixels and PNG.
//!
//! Bytes in, bytes out: the document, the focused element and the images (supplied by the
//! caller through [`ImageSource`]) go in; a [`tiny_skia::Pixmap`], a [`RenderReport`] and PNG
//! bytes come out. No file is read or written. Shapes are tiny-skia's; text is drawn with the
//! same [`typeset::Typesetter`] that measured it for the layout, at the positions the
//! document gives, so the picture is exactly what the layout promised.
//!
//! The focused element gets a ring at least [`MIN_FOCUS_RING`] px thick in the theme's focus
//! colour just outside its box, and a faint change of its fill: a wash of the focus colour
//! over a light box ([`FOCUS_TINT_ALPHA`]), a slight lightening of a dark one
//! ([`FOCUS_LIGHTEN_ALPHA`]). A character the font lacks is not drawn (no box) and is listed in
//! [`RenderReport::missing_glyphs`]; an image the caller cannot supply is listed in
//! [`RenderReport::missing_images`].
//!
//! ```
//! use screen::document::{Color, LayoutDocument, Node};
//! use typeset::Typesetter;
//!
//! let doc = LayoutDocument {
//!     format: screen::document::FORMAT,
//!     width: 64,
//!     height: 32,
//!     background: Color::rgb(255, 255, 255),
//!     nodes: vec![Node::Rect {
//!         id: None, x: 8.0, y: 8.0, w: 16.0, h: 16.0,
//!         fill: Some(Color::rgb(200, 0, 0)), stroke: None, stroke_width: 0.0, radius: 0.0,
//!     }],
//!     ..LayoutDocument::default()
//! };
//! let mut typesetter = Typesetter::new()?;
//! let (pixmap, report) = render::draw(&doc, None, &mut typesetter, &render::NoImages)?;
//! assert!(report.is_clean());
//! let png = render::encode_png(&pixmap)?;
//! assert_eq!(&png[1..4], b"PNG");
//! let back = render::decode_png(&png)?;
//! assert!(render::compare(&pixmap, &back, render::Tolerance::EXACT).matches());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compare;
mod encode;
mod image;
mod paint;
pub mod sample;

pub use compare::{Diff, Tolerance, compare};
pub use encode::{decode_png, encode_png};
pub use image::{ImageSource, NoImages, SourceImage};
pub use paint::{FOCUS_LIGHTEN_ALPHA, FOCUS_TINT_ALPHA, MAX_SIDE, MIN_FOCUS_RING};
pub use tiny_skia::Pixmap;

use screen::document::LayoutDocument;
use typeset::Typesetter;

/// What a render noticed that the picture alone would not tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderReport {
    /// Characters the font has no glyph for (not drawn), in order of first appearance.
    pub missing_glyphs: Vec<char>,
    /// Hashes of image nodes the caller did not supply or that would not decode (not drawn).
    pub missing_images: Vec<String>,
    /// The focusable drawn focused, if any.
    pub focus: Option<String>,
}

impl RenderReport {
    /// Nothing was left out of the picture.
    pub fn is_clean(&self) -> bool {
        self.missing_glyphs.is_empty() && self.missing_images.is_empty()
    }
}

/// Why a document could not be drawn or a picture encoded.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("canvas {width}x{height} is empty or larger than {MAX_SIDE} px a side")]
    Size { width: u32, height: u32 },
    #[error("text size {0} px is not between 0 and {max} px", max = typeset::MAX_DRAWN_SIZE)]
    TextSize(f32),
    #[error("the focused element {0:?} is not a focusable of this screen")]
    UnknownFocus(String),
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
    #[error("PNG decoding failed: {0}")]
    Decode(#[from] png::DecodingError),
    #[error("the PNG image is too large or of an unsupported kind")]
    UnsupportedImage,
}

/// Draws `doc` with `focused` (a focusable's id) marked as focused.
///
/// Fails only on an absurd canvas or text size or a `focused` id that is not a focusable of
/// the screen; missing glyphs and images are reported, not errors.
pub fn draw(
    doc: &LayoutDocument,
    focused: Option<&str>,
    typesetter: &mut Typesetter,
    images: &dyn ImageSource,
) -> Result<(Pixmap, RenderReport), RenderError> {
    paint::draw(doc, focused, typesetter, images)
}

/// Draws `doc` and encodes it as PNG in one step.
pub fn render_png(
    doc: &LayoutDocument,
    focused: Option<&str>,
    typesetter: &mut Typesetter,
    images: &dyn ImageSource,
) -> Result<(Vec<u8>, RenderReport), RenderError> {
    let (pixmap, report) = draw(doc, focused, typesetter, images)?;
    Ok((encode_png(&pixmap)?, report))
}

#[cfg(test)]
mod tests;
