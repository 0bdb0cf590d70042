//! Images the layout document refers to by content hash: how the caller supplies them, and
//! turning them into pixmaps.
//!
//! The renderer reads no files: the caller (the bundle builder, the emulator) owns the assets
//! and hands them over through [`ImageSource`].

use std::borrow::Cow;
use std::collections::HashMap;

use tiny_skia::{IntSize, Pixmap};

/// An image as the caller has it.
#[derive(Debug, Clone)]
pub enum SourceImage<'a> {
    /// PNG file bytes.
    Png(Cow<'a, [u8]>),
    /// Decoded pixels, 8-bit RGBA with straight (not premultiplied) alpha, row by row.
    Rgba {
        width: u32,
        height: u32,
        pixels: Cow<'a, [u8]>,
    },
}

/// Finds an image by the lower-case hex SHA-256 of its asset file.
pub trait ImageSource {
    fn image(&self, sha256: &str) -> Option<SourceImage<'_>>;
}

/// No images at all: every image node is reported missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoImages;

impl ImageSource for NoImages {
    fn image(&self, _sha256: &str) -> Option<SourceImage<'_>> {
        None
    }
}

/// PNG bytes by hash.
impl ImageSource for HashMap<String, Vec<u8>> {
    fn image(&self, sha256: &str) -> Option<SourceImage<'_>> {
        self.get(sha256)
            .map(|bytes| SourceImage::Png(Cow::Borrowed(bytes)))
    }
}

/// Any closure from hash to image.
impl<F> ImageSource for F
where
    F: Fn(&str) -> Option<SourceImage<'static>>,
{
    fn image(&self, sha256: &str) -> Option<SourceImage<'_>> {
        self(sha256)
    }
}

/// Decodes or converts a source image; `None` if it is not a valid image.
pub(crate) fn to_pixmap(source: SourceImage<'_>) -> Option<Pixmap> {
    match source {
        SourceImage::Png(bytes) => crate::encode::decode_png(&bytes).ok(),
        SourceImage::Rgba {
            width,
            height,
            pixels,
        } => {
            let expected = usize::try_from(u64::from(width) * u64::from(height) * 4).ok()?;
            if pixels.len() != expected {
                return None;
            }
            let mut data = pixels.into_owned();
            premultiply(&mut data);
            Pixmap::from_vec(data, IntSize::from_wh(width, height)?)
        }
    }
}

/// Straight to premultiplied alpha, in place.
pub(crate) fn premultiply(rgba: &mut [u8]) {
    for px in rgba.chunks_exact_mut(4) {
        let a = u16::from(px[3]);
        if a != 255 {
            for c in &mut px[..3] {
                *c = u8::try_from((u16::from(*c) * a + 127) / 255).unwrap_or(u8::MAX);
            }
        }
    }
}
