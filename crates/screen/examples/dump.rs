//! Prints a laid-out screen as a readable outline (or JSON with --json), for eyeballing
//! layouts without the renderer: `cargo run -p screen --example dump -- home elders [PARAM] [--json]`.

use std::path::Path;

use screen::document::Node;
use screen::measure::ApproxMeasure;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let screen = args.first().map(String::as_str).unwrap_or("home");
    let theme = args.get(1).map(String::as_str).unwrap_or("standard");
    let param = args
        .get(2)
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let t = match screen::load_dir(&root.join("stb-templates"), &root.join("assets")) {
        Ok(t) => t,
        Err(e) => return eprintln!("{e}"),
    };
    let out = t.render(
        screen,
        param,
        0,
        theme,
        &screen::demo_data(),
        &ApproxMeasure,
    );
    for f in &out.findings {
        eprintln!("{f}");
    }
    let Some(doc) = out.document else { return };
    if args.iter().any(|a| a == "--json") {
        println!("{}", doc.to_json());
        return;
    }
    for n in &doc.nodes {
        let (x, y, w, h) = n.bounds();
        match n {
            Node::Text { size, lines, .. } => {
                let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
                println!("text  {x:>6.0} {y:>5.0} {w:>5.0}x{h:<4.0} {size}px {text:?}");
            }
            Node::Rect { fill, .. } => {
                println!("rect  {x:>6.0} {y:>5.0} {w:>5.0}x{h:<4.0} {fill:?}")
            }
            Node::Image { .. } => println!("image {x:>6.0} {y:>5.0} {w:>5.0}x{h:<4.0}"),
        }
    }
    for f in &doc.focusables {
        println!(
            "focus {:>6.0} {:>5.0} {:>5.0}x{:<4.0} {} {:?}",
            f.x, f.y, f.w, f.h, f.id, f.nav
        );
    }
    println!(
        "default focus {:?}; keys {:?}",
        doc.default_focus,
        doc.keys.iter().map(|k| &k.key).collect::<Vec<_>>()
    );
}
