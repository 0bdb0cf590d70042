//! `shangyi screens`: render a community's screens from the database, and check the templates.

use anyhow::{Context, Result};
use consult::ids::{CommunityId, GridId};
use consult::time::Timestamp;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use store::Store;

/// Where the templates are: `./stb-templates` when run from a checkout, else the checkout this
/// binary was built from.
pub fn templates_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_path_buf();
    }
    let here = PathBuf::from("stb-templates");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../stb-templates"))
}

/// The assets beside a templates directory (`TEMPLATES/../assets`).
pub fn assets_dir(templates: &Path) -> PathBuf {
    templates
        .parent()
        .map(|p| p.join("assets"))
        .unwrap_or_else(|| PathBuf::from("assets"))
}

/// `shangyi screens check [TEMPLATES_DIR]`: every finding, exit 1 if any.
pub fn check(dir: Option<&Path>) -> Result<ExitCode> {
    let templates = templates_dir(dir);
    let measure = screen::measure::Typeset::new().context("loading the embedded font")?;
    let findings = screen::check_dir(
        &templates,
        &assets_dir(&templates),
        &screen::demo_data(),
        &measure,
    )
    .with_context(|| format!("reading templates from {}", templates.display()))?;
    for finding in &findings {
        println!("{finding}");
    }
    if findings.is_empty() {
        println!(
            "ok: {} passes every rule in both themes",
            templates.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} findings", findings.len());
        Ok(ExitCode::from(1))
    }
}

/// Options of `shangyi screens render`.
pub struct RenderOptions<'a> {
    pub db: &'a Path,
    pub community: i64,
    pub grid: Option<i64>,
    pub theme: &'a str,
    pub out: &'a Path,
    pub at: Timestamp,
    pub templates: Option<&'a Path>,
}

/// Writes a PNG and a layout document per screen instance of one community.
pub fn render(options: &RenderOptions<'_>) -> Result<ExitCode> {
    let store =
        Store::open(options.db).with_context(|| format!("opening {}", options.db.display()))?;
    let data = channel::community_data(
        &store,
        CommunityId(options.community),
        options.at,
        options.grid.map(GridId),
    )?;
    let templates_dir = templates_dir(options.templates);
    let templates = screen::load_dir(&templates_dir, &assets_dir(&templates_dir))
        .with_context(|| format!("reading templates from {}", templates_dir.display()))?;
    let measure = screen::measure::Typeset::new().context("loading the embedded font")?;
    let mut typesetter = typeset::Typesetter::new().context("loading the embedded font")?;
    let images: HashMap<String, Vec<u8>> = templates
        .assets
        .iter()
        .filter(|(path, _)| path.ends_with(".png"))
        .map(|(_, asset)| (asset.sha256.clone(), asset.bytes.clone()))
        .collect();
    std::fs::create_dir_all(options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    let started = Instant::now();
    let (documents, findings) = templates.render_all(options.theme, &data, &measure);
    let mut written = 0;
    let mut missing = std::collections::BTreeSet::new();
    for document in &documents {
        let name = document.file_stem();
        let (png, report) = render::render_png(
            document,
            document.default_focus.as_deref(),
            &mut typesetter,
            &images,
        )
        .with_context(|| format!("drawing {name}"))?;
        missing.extend(report.missing_glyphs.iter().copied());
        std::fs::write(options.out.join(format!("{name}.png")), png)?;
        std::fs::write(options.out.join(format!("{name}.json")), document.to_json())?;
        written += 1;
    }
    let elapsed = started.elapsed();
    for finding in &findings {
        eprintln!("{finding}");
    }
    println!(
        "{written} screens of community {} ({} theme) in {} ({:.1} ms a screen, layout + drawing + PNG)",
        options.community,
        options.theme,
        options.out.display(),
        elapsed.as_secs_f64() * 1000.0 / written.max(1) as f64
    );
    if !missing.is_empty() {
        let chars: String = missing.into_iter().collect();
        eprintln!("characters the font lacks (not drawn): {chars}");
        return Ok(ExitCode::from(1));
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
