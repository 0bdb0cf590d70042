//! Times laying out one community (every screen instance, both themes) with the real font:
//! `cargo run --release -p screen --example bench`.

use std::path::Path;
use std::time::Instant;

use screen::measure::Typeset;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let t = match screen::load_dir(&root.join("stb-templates"), &root.join("assets")) {
        Ok(t) => t,
        Err(e) => return eprintln!("{e}"),
    };
    let measure = match Typeset::new() {
        Ok(m) => m,
        Err(e) => return eprintln!("{e}"),
    };
    let data = screen::demo_data();
    let mut times = Vec::new();
    let mut screens = 0;
    for round in 0..6 {
        let start = Instant::now();
        for theme in ["standard", "elders"] {
            let (docs, _) = t.render_all(theme, &data, &measure);
            screens = docs.len();
        }
        if round > 0 {
            times.push(start.elapsed());
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "one community: {screens} screen instances a theme, both themes laid out in {:.1} ms (median of {}), {:.2} ms a screen",
        median.as_secs_f64() * 1000.0,
        times.len(),
        median.as_secs_f64() * 1000.0 / (2 * screens) as f64
    );
}
