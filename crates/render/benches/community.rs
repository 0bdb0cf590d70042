//! The figure: the time to lay out, draw and PNG-encode the shipped screens from
//! `stb-templates/` with the demo community's data, one screen (home) and one whole community
//! (every screen instance in both themes), on one core. Goal: at most 8 ms a screen.
//!
//! Run: `cargo bench -p render --bench community`. Besides criterion's figures it prints
//! medians of its own short runs, per screen, and their ratio to a baseline measured in the
//! same run (filling a blank 1280x720 pixmap and PNG-encoding it).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use screen::measure::Typeset;
use screen::{Templates, demo_data, load_dir};
use serde_json::Value;

mod common;
use common::median;

const THEMES: [&str; 2] = ["standard", "elders"];

fn templates() -> Templates {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    load_dir(&root.join("stb-templates"), &root.join("assets")).unwrap_or_else(|e| panic!("{e}"))
}

fn baseline() -> usize {
    let mut pixmap = tiny_skia::Pixmap::new(1280, 720).unwrap_or_else(|| unreachable!());
    pixmap.fill(tiny_skia::Color::from_rgba8(0x10, 0x20, 0x40, 0xff));
    render::encode_png(&pixmap)
        .map(|png| png.len())
        .unwrap_or_default()
}

/// Draws and encodes one document with the typesetter the layout measured with (so lines
/// shaped for layout are not shaped again). Returns the PNG's size.
fn draw_encode(measure: &Typeset, doc: &screen::LayoutDocument) -> usize {
    let mut typesetter = measure.0.borrow_mut();
    let (png, _) = render::render_png(
        doc,
        doc.default_focus.as_deref(),
        &mut typesetter,
        &render::NoImages,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", doc.screen));
    png.len()
}

fn home(t: &Templates, data: &Value, measure: &Typeset) -> usize {
    let out = t.render("home", None, 0, "standard", data, measure);
    let doc = out
        .document
        .unwrap_or_else(|| panic!("home: {:?}", out.findings));
    draw_encode(measure, &doc)
}

/// Every screen instance of the community in both themes; returns how many.
fn community(t: &Templates, data: &Value, measure: &Typeset) -> usize {
    let mut screens = 0;
    for theme in THEMES {
        let (docs, _) = t.render_all(theme, data, measure);
        for doc in &docs {
            black_box(draw_encode(measure, doc));
        }
        screens += docs.len();
    }
    screens
}

fn benches(c: &mut Criterion) {
    let t = templates();
    let data = demo_data();
    let measure = Typeset::new().unwrap_or_else(|e| panic!("{e}"));
    community(&t, &data, &measure);
    let mut group = c.benchmark_group("shipped_screens");
    group.bench_function("baseline_blank_fill_encode", |b| {
        b.iter(|| black_box(baseline()))
    });
    group.bench_function("home_layout_draw_encode", |b| {
        b.iter(|| black_box(home(&t, &data, &measure)))
    });
    group.sample_size(10);
    group.bench_function("community_both_themes", |b| {
        b.iter(|| black_box(community(&t, &data, &measure)))
    });
    group.finish();
}

fn ratios() {
    let t = templates();
    let data = demo_data();
    let measure = Typeset::new().unwrap_or_else(|e| panic!("{e}"));
    let screens = community(&t, &data, &measure);
    let base = median(
        || {
            black_box(baseline());
        },
        40,
    );
    let one = median(
        || {
            black_box(home(&t, &data, &measure));
        },
        40,
    );
    let all = median(
        || {
            black_box(community(&t, &data, &measure));
        },
        5,
    );
    let per = all / u32::try_from(screens.max(1)).unwrap_or(u32::MAX);
    let ratio = |d: Duration| d.as_secs_f64() / base.as_secs_f64();
    println!("\nmedians, one core, warm caches:");
    println!("  baseline (blank 1280x720 fill + encode): {base:?}");
    println!(
        "  home: layout + draw + encode:            {one:?} = {:.2}x baseline",
        ratio(one)
    );
    println!(
        "  community, {screens} screens (both themes):  {all:?}, {per:?} a screen = {:.2}x baseline",
        ratio(per)
    );
}

criterion_group!(community_benches, benches);

fn main() {
    community_benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    if std::env::args().any(|a| a == "--bench") {
        ratios();
    }
}
