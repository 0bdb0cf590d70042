//! How long drawing and PNG-encoding one 1280x720 screen takes, against a baseline measured
//! in the same run: filling a blank 1280x720 pixmap and PNG-encoding it. The ratio is what to
//! compare across machines; the absolute times are for the 8 ms a screen goal.
//!
//! Run: `cargo bench -p render --bench draw`. After criterion's figures it prints the medians
//! of its own short run of each case and their ratios to the baseline.

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use render::{NoImages, sample};
use tiny_skia::Pixmap;
use typeset::Typesetter;

mod common;
use common::median;

fn baseline() -> Vec<u8> {
    let mut pixmap = Pixmap::new(1280, 720).unwrap_or_else(|| unreachable!());
    pixmap.fill(tiny_skia::Color::from_rgba8(0xf4, 0xf1, 0xea, 0xff));
    render::encode_png(&pixmap).unwrap_or_default()
}

fn draw_encode(t: &mut Typesetter, doc: &screen::document::LayoutDocument) -> Vec<u8> {
    let (png, _) = render::render_png(doc, Some(sample::DEFAULT_FOCUS), t, &NoImages)
        .unwrap_or_else(|e| panic!("{e}"));
    png
}

/// Layout (text broken and measured with a cold shaping cache, as for a screen whose texts
/// are new), drawing and encoding.
fn layout_draw_encode(t: &mut Typesetter) -> Vec<u8> {
    t.clear_shape_cache();
    let doc = sample::home_screen(t);
    draw_encode(t, &doc)
}

fn benches(c: &mut Criterion) {
    let mut t = Typesetter::new().unwrap_or_else(|e| panic!("{e}"));
    let doc = sample::home_screen(&mut t);
    // Warm the glyph cache, as every screen after a bundle's first is.
    draw_encode(&mut t, &doc);

    let mut group = c.benchmark_group("screen_1280x720");
    group.bench_function("baseline_blank_fill_encode", |b| {
        b.iter(|| black_box(baseline()))
    });
    group.bench_function("draw", |b| {
        b.iter(|| {
            render::draw(
                black_box(&doc),
                Some(sample::DEFAULT_FOCUS),
                &mut t,
                &NoImages,
            )
        })
    });
    group.bench_function("draw_encode", |b| {
        b.iter(|| black_box(draw_encode(&mut t, black_box(&doc))))
    });
    group.bench_function("layout_draw_encode", |b| {
        b.iter(|| black_box(layout_draw_encode(&mut t)))
    });
    group.finish();
}

fn ratios() {
    let mut t = Typesetter::new().unwrap_or_else(|e| panic!("{e}"));
    let doc = sample::home_screen(&mut t);
    let runs = 60;
    let base = median(|| drop(black_box(baseline())), runs);
    let draw = median(|| drop(black_box(draw_encode(&mut t, &doc))), runs);
    let full = median(|| drop(black_box(layout_draw_encode(&mut t))), runs);
    let png = draw_encode(&mut t, &doc).len();
    println!("\nmedians of {runs} runs (1280x720, one core, PNG {png} bytes):");
    println!("  baseline (blank fill + encode): {base:?}");
    println!(
        "  draw + encode:                  {draw:?} = {:.2}x baseline",
        draw.as_secs_f64() / base.as_secs_f64()
    );
    println!(
        "  layout + draw + encode:         {full:?} = {:.2}x baseline",
        full.as_secs_f64() / base.as_secs_f64()
    );
}

criterion_group!(draw_benches, benches);

fn main() {
    draw_benches();
    Criterion::default().configure_from_args().final_summary();
    // Only when really benchmarking, not under `cargo test --benches`.
    if std::env::args().any(|a| a == "--bench") {
        ratios();
    }
}
