//! Writes the demo community's bundle, the base bundle, and two provisioning files (a box in
//! grid 1 and one in grid 2) under OUT:
//!
//! ```text
//! cargo run -p emulator --example demo_bundle -- OUT
//! ```
//!
//! Stands in for `shangyi bundle build` + `shangyi cards provision` when there is no database.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "out/demo".into()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = emulator::demo::write_bundles(&root, &out.join("bundles"))?;
    for (name, card, household, grid) in [
        ("card-grid1.json", emulator::demo::CARD, 1, 1),
        ("card-grid2.json", emulator::demo::CARD_GRID_2, 2, 2),
    ] {
        let p = emulator::demo::provisioning(card, household, grid).ok_or("bad demo card")?;
        std::fs::write(out.join(name), p.to_json())?;
    }
    println!("bundle: {}", dir.display());
    println!(
        "cards:  {0}/card-grid1.json {0}/card-grid2.json",
        out.display()
    );
    println!("clock:  2026-11-27T20:00:00+08:00");
    Ok(())
}
