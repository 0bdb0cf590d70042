//! Renders the sample home screen (湖㳇村) with its first topic focused and writes the PNG,
//! for looking at: `cargo run -p render --example sample [OUT.png]` (default /tmp/sample.png).
//! Also writes OUT-zoom.png, a 4x nearest-neighbour enlargement of the title band, for
//! checking glyph shapes and anti-aliasing pixel by pixel.

use render::{NoImages, sample};
use tiny_skia::{FilterQuality, Pixmap, PixmapPaint, Transform};
use typeset::Typesetter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/sample.png".to_owned());
    let mut typesetter = Typesetter::new()?;
    let doc = sample::home_screen(&mut typesetter);
    let (pixmap, report) = render::draw(
        &doc,
        doc.default_focus.as_deref(),
        &mut typesetter,
        &NoImages,
    )?;
    let png = render::encode_png(&pixmap)?;
    std::fs::write(&out, &png)?;
    println!("{out}: {} bytes, {report:?}", png.len());

    let (x, y, w, h) = (820, 40, 260, 60);
    let scale = 4;
    let mut zoom = Pixmap::new(w * scale, h * scale).ok_or("zoom size")?;
    let paint = PixmapPaint {
        quality: FilterQuality::Nearest,
        ..PixmapPaint::default()
    };
    let transform =
        Transform::from_scale(scale as f32, scale as f32).pre_translate(-(x as f32), -(y as f32));
    zoom.draw_pixmap(0, 0, pixmap.as_ref(), &paint, transform, None);
    let zoom_out = out.replace(".png", "-zoom.png");
    std::fs::write(&zoom_out, render::encode_png(&zoom)?)?;
    println!("{zoom_out}");
    Ok(())
}
