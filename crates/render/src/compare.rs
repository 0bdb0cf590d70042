//! Comparing two pictures for golden-image tests, with a stated tolerance.
//!
//! Two renders of the same document on different machines can differ in the last bit of an
//! anti-aliased edge (floating-point rounding in rasterisers, SIMD or not), never in what a
//! viewer sees. [`Tolerance::GOLDEN`] allows exactly that: a channel may be off by a few
//! levels anywhere, and a handful of edge pixels may be off by more.

use tiny_skia::Pixmap;

/// How different two pictures may be and still count as the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// A pixel differs when any channel (premultiplied RGBA) differs by more than this.
    pub channel: u8,
    /// The pictures match when at most this fraction of pixels differ.
    pub max_fraction: f64,
}

impl Tolerance {
    /// For golden PNGs: channels within 8 of 255 (3%), and at most 0.1% of pixels (about 920
    /// of a 1280x720 screen) beyond that. A moved line of text, a changed colour or a missing
    /// focus ring changes tens of thousands of pixels; rasteriser noise changes a few.
    pub const GOLDEN: Tolerance = Tolerance {
        channel: 8,
        max_fraction: 0.001,
    };
    /// Bit-exact.
    pub const EXACT: Tolerance = Tolerance {
        channel: 0,
        max_fraction: 0.0,
    };
}

/// How two pictures differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// Whether the sizes match; if not, nothing else was compared and every pixel counts as
    /// differing.
    pub same_size: bool,
    /// Pixels with a channel beyond the tolerance.
    pub differing: u64,
    /// Pixels compared (of the larger picture if sizes differ).
    pub total: u64,
    /// The largest channel difference seen.
    pub max_channel_delta: u8,
    /// The smallest box holding every differing pixel: x, y, width, height.
    pub bounds: Option<(u32, u32, u32, u32)>,
    /// The tolerance it was measured with.
    pub tolerance: Tolerance,
}

impl Diff {
    /// The fraction of pixels that differ.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.differing as f64 / self.total as f64
        }
    }

    /// Whether the pictures count as the same under the tolerance.
    pub fn matches(&self) -> bool {
        self.same_size && self.fraction() <= self.tolerance.max_fraction
    }
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.same_size {
            return write!(f, "sizes differ");
        }
        write!(
            f,
            "{} of {} pixels ({:.4}%) differ by more than {} (largest difference {}, allowed {:.4}%)",
            self.differing,
            self.total,
            self.fraction() * 100.0,
            self.tolerance.channel,
            self.max_channel_delta,
            self.tolerance.max_fraction * 100.0
        )?;
        if let Some((x, y, w, h)) = self.bounds {
            write!(f, " in {w}x{h} at {x},{y}")?;
        }
        Ok(())
    }
}

/// Compares two pictures pixel by pixel.
pub fn compare(a: &Pixmap, b: &Pixmap, tolerance: Tolerance) -> Diff {
    let total = u64::from(a.width().max(b.width())) * u64::from(a.height().max(b.height()));
    if a.width() != b.width() || a.height() != b.height() {
        return Diff {
            same_size: false,
            differing: total,
            total,
            max_channel_delta: u8::MAX,
            bounds: None,
            tolerance,
        };
    }
    let width = a.width();
    let mut differing = 0;
    let mut max_channel_delta = 0;
    let mut bounds: Option<(u32, u32, u32, u32)> = None; // min x, min y, max x, max y
    for (i, (pa, pb)) in a
        .data()
        .chunks_exact(4)
        .zip(b.data().chunks_exact(4))
        .enumerate()
    {
        let delta = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        max_channel_delta = max_channel_delta.max(delta);
        if delta > tolerance.channel {
            differing += 1;
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let (x, y) = (i % width, i / width);
            bounds = Some(match bounds {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    Diff {
        same_size: true,
        differing,
        total,
        max_channel_delta,
        bounds: bounds.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1)),
        tolerance,
    }
}
