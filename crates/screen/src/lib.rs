//! screen: turns the set-top-box templates in `stb-templates/` plus one community's data into
//! [`LayoutDocument`]s: 1280x720 layouts a set-top box can draw and drive with a remote.
//!
//! The pipeline is pure (no I/O, no clock, no async) except [`load_dir`], which reads the
//! template, theme and asset files and hands their bytes to [`Templates::from_sources`]:
//!
//! ```text
//! template XML ─parse─▶ Element tree ─bind (data JSON)─▶ Bound tree ─layout (taffy, Measure)─▶
//!   LayoutDocument (nodes, focusables) ─focus::resolve─▶ navigation targets ─check─▶ findings
//! ```
//!
//! Modules are named after the field's concepts: [`template`] (the XML language), [`theme`],
//! [`bind`] (data binding), [`layout`], [`measure`] (the text-measuring seam), [`focus`]
//! (spatial navigation and the [`focus::Navigator`]), [`check`] (validation) and [`document`]
//! (the wire format).
//!
//! ```
//! use screen::{measure::ApproxMeasure, Templates};
//!
//! let screen = r#"<screen id="home" default-focus="go">
//!   <text role="title">有事好商量</text>
//!   <button id="go" action="open:home">返回首页</button>
//! </screen>"#.as_bytes();
//! let theme = br##"<theme id="standard">
//!   <color name="background" value="#10243e"/><color name="text" value="#ffffff"/>
//!   <color name="button" value="#1d4f91"/><color name="button-text" value="#ffffff"/>
//!   <role name="title" size="44" line-height="56" weight="bold" color="text"/>
//!   <role name="heading" size="36" line-height="46" color="text"/>
//!   <role name="body" size="28" line-height="40" color="text"/>
//!   <role name="caption" size="24" line-height="32" color="text"/>
//!   <role name="button" size="28" line-height="36" color="text"/>
//!   <focus color="#ffcc00" width="6"/>
//! </theme>"##;
//! let t = Templates::from_sources(
//!     vec![("home.xml".into(), screen.to_vec())],
//!     vec![("standard.xml".into(), theme.to_vec())],
//!     vec![],
//! );
//! let data = serde_json::json!({});
//! let out = t.render("home", None, 0, "standard", &data, &ApproxMeasure);
//! let doc = out.document.unwrap();
//! assert_eq!(doc.default_focus.as_deref(), Some("go"));
//! assert!(out.findings.is_empty(), "{:?}", out.findings);
//! ```

pub mod bind;
pub mod check;
pub mod document;
pub mod focus;
pub mod layout;
pub mod measure;
pub mod template;
pub mod theme;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub use check::{Finding, Rule};
pub use document::LayoutDocument;
pub use measure::Measure;

use crate::bind::{BindRequest, bind, instances};
use crate::check::{ScreenIndex, check_document};
use crate::layout::{LayoutRequest, Placed, layout};
use crate::template::Element;
use crate::theme::Theme;

/// A file could not be read at all (everything else is a [`Finding`]).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An image file from `assets/`, by its path relative to `assets/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Lower-case hex SHA-256 of `bytes`: the name layout documents use.
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// One parsed screen template.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenTemplate {
    pub file: String,
    pub id: String,
    pub root: Element,
}

/// All templates, themes and assets, parsed; with the findings parsing produced.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    pub screens: Vec<ScreenTemplate>,
    pub themes: Vec<Theme>,
    /// Path relative to `assets/` → asset.
    pub assets: BTreeMap<String, Asset>,
    /// Parse-time findings (malformed XML, unknown elements, ...).
    pub findings: Vec<Finding>,
}

/// One screen laid out, or why not.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub document: Option<LayoutDocument>,
    pub findings: Vec<Finding>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The demo community's screen data (`fixtures/screens/demo-community.json`), compiled in so
/// `screens check` and tests need no data files.
pub fn demo_data() -> Value {
    serde_json::from_str(include_str!(
        "../../../fixtures/screens/demo-community.json"
    ))
    .unwrap_or(Value::Null)
}

/// Reads `templates_dir/*.xml`, `templates_dir/themes/*.xml` and every file under
/// `assets_dir` (the only I/O in this crate). Files are read in name order so the result is
/// deterministic.
pub fn load_dir(templates_dir: &Path, assets_dir: &Path) -> Result<Templates, LoadError> {
    let screens = read_xml_files(templates_dir)?;
    let themes = read_xml_files(&templates_dir.join("themes"))?;
    let mut assets = Vec::new();
    if assets_dir.is_dir() {
        collect_files(assets_dir, assets_dir, &mut assets)?;
    }
    Ok(Templates::from_sources(screens, themes, assets))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_xml_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, LoadError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "xml") && path.is_file() {
            names.push(path);
        }
    }
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let meta = std::fs::metadata(&path).map_err(io(&path))?;
        // Refuse huge files before reading them: the parser would refuse them anyway.
        let bytes = if meta.len() > template::MAX_FILE_BYTES as u64 {
            vec![b' '; template::MAX_FILE_BYTES + 1]
        } else {
            std::fs::read(&path).map_err(io(&path))?
        };
        out.push((path.display().to_string(), bytes));
    }
    Ok(out)
}

fn collect_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), LoadError> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        entries.push(entry.map_err(io(dir))?.path());
    }
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if path.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read(&path).map_err(io(&path))?));
        }
    }
    Ok(())
}

/// Lays out and checks every screen of `templates_dir` in every theme with `data`, returning
/// every finding; what `shangyi screens check [TEMPLATES_DIR]` prints. `assets_dir` is
/// usually `TEMPLATES_DIR/../assets`.
pub fn check_dir(
    templates_dir: &Path,
    assets_dir: &Path,
    data: &Value,
    measure: &dyn Measure,
) -> Result<Vec<Finding>, LoadError> {
    Ok(load_dir(templates_dir, assets_dir)?.check(data, measure))
}

impl Templates {
    /// Parses templates, themes and assets from their bytes (file name, contents).
    pub fn from_sources(
        screens: Vec<(String, Vec<u8>)>,
        themes: Vec<(String, Vec<u8>)>,
        assets: Vec<(String, Vec<u8>)>,
    ) -> Templates {
        let mut t = Templates::default();
        for (file, bytes) in screens {
            let (root, findings) = template::parse(&file, &bytes, true);
            t.findings.extend(findings);
            let Some(root) = root else { continue };
            let id = root.attr("id").unwrap_or_default().to_string();
            if root.name != "screen" {
                continue;
            }
            if id.is_empty() {
                t.findings.push(Finding::new(
                    &file,
                    root.line,
                    "screen",
                    Rule::BadValue,
                    "<screen> needs an id".into(),
                ));
                continue;
            }
            if let Some(other) = t.screens.iter().find(|s| s.id == id) {
                t.findings.push(Finding::new(
                    &file,
                    root.line,
                    "screen",
                    Rule::Structure,
                    format!("screen id {id:?} is also used by {}", other.file),
                ));
                continue;
            }
            t.screens.push(ScreenTemplate { file, id, root });
        }
        for (file, bytes) in themes {
            let (theme, findings) = theme::parse_theme(&file, &bytes);
            t.findings.extend(findings);
            if let Some(theme) = theme {
                t.themes.push(theme);
            }
        }
        for (path, bytes) in assets {
            t.assets.insert(
                path,
                Asset {
                    sha256: sha256_hex(&bytes),
                    bytes,
                },
            );
        }
        t
    }

    /// A theme by id.
    pub fn theme(&self, id: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.id == id)
    }

    /// Every screen id with the params it accepts for this data.
    pub fn index(&self, data: &Value) -> ScreenIndex {
        let mut index = ScreenIndex::default();
        for s in &self.screens {
            let params: BTreeSet<Option<String>> = instances(&s.root, data).into_iter().collect();
            index.screens.insert(s.id.clone(), params);
        }
        index
    }

    fn place(
        &self,
        screen: &str,
        param: Option<&str>,
        page: u32,
        theme: &Theme,
        data: &Value,
        measure: &dyn Measure,
    ) -> (Option<Placed>, Vec<Finding>) {
        let Some(t) = self.screens.iter().find(|s| s.id == screen) else {
            return (
                None,
                vec![Finding::new(
                    "",
                    0,
                    "",
                    Rule::Structure,
                    format!("no screen template {screen:?}"),
                )],
            );
        };
        let (bound, mut findings) = bind(&BindRequest {
            file: &t.file,
            template: &t.root,
            param,
            page,
            data,
            theme,
        });
        let Some(bound) = bound else {
            return (None, findings);
        };
        let asset_hash = |src: &str| self.assets.get(src).map(|a| a.sha256.clone());
        let (mut placed, more) = layout(&LayoutRequest {
            screen: &bound,
            theme,
            measure,
            asset_hash: &asset_hash,
        });
        findings.extend(more);
        findings.extend(focus::resolve(&mut placed));
        (Some(placed), findings)
    }

    /// Lays out one screen instance: `screen` id, its `param` (topic id, `"42/approve"`, ...),
    /// the 0-based `page` of a paged screen, in theme `theme`, with a community's `data`.
    /// What `shangyi screens render` calls per screen.
    pub fn render(
        &self,
        screen: &str,
        param: Option<&str>,
        page: u32,
        theme: &str,
        data: &Value,
        measure: &dyn Measure,
    ) -> Rendered {
        let Some(th) = self.theme(theme) else {
            return Rendered {
                document: None,
                findings: vec![Finding::new(
                    "",
                    0,
                    "",
                    Rule::Structure,
                    format!("no theme {theme:?}"),
                )],
            };
        };
        let (placed, findings) = self.place(screen, param, page, th, data, measure);
        Rendered {
            document: placed.map(|p| p.document),
            findings,
        }
    }

    /// Every instance of every screen, with every page, in one theme: what a community's
    /// bundle carries. Documents come in template order, then param, then page.
    pub fn render_all(
        &self,
        theme: &str,
        data: &Value,
        measure: &dyn Measure,
    ) -> (Vec<LayoutDocument>, Vec<Finding>) {
        let mut docs = Vec::new();
        let mut findings = Vec::new();
        self.each_instance(theme, data, measure, &mut |placed, f| {
            findings.extend(f);
            if let Some(p) = placed {
                docs.push(p.document);
            }
        });
        (docs, findings)
    }

    fn each_instance(
        &self,
        theme: &str,
        data: &Value,
        measure: &dyn Measure,
        f: &mut dyn FnMut(Option<Placed>, Vec<Finding>),
    ) {
        let Some(th) = self.theme(theme) else {
            f(
                None,
                vec![Finding::new(
                    "",
                    0,
                    "",
                    Rule::Structure,
                    format!("no theme {theme:?}"),
                )],
            );
            return;
        };
        for s in &self.screens {
            for param in instances(&s.root, data) {
                let (placed, findings) = self.place(&s.id, param.as_deref(), 0, th, data, measure);
                let pages = placed
                    .as_ref()
                    .and_then(|p| p.document.page)
                    .map(|p| p.count)
                    .unwrap_or(1);
                f(placed, findings);
                for page in 1..pages.min(100) {
                    let (placed, findings) =
                        self.place(&s.id, param.as_deref(), page, th, data, measure);
                    f(placed, findings);
                }
            }
        }
    }

    /// Checks every screen instance and page in every theme: parse findings, binding and
    /// layout findings, and the screen rules (see [`check`]). Findings are sorted and
    /// deduplicated (one template line breaking a rule on 30 topic screens is one finding).
    pub fn check(&self, data: &Value, measure: &dyn Measure) -> Vec<Finding> {
        let mut out: BTreeSet<Finding> = self.findings.iter().cloned().collect();
        let index = self.index(data);
        for needed in ["standard", "elders"] {
            if self.theme(needed).is_none() {
                out.insert(Finding::new(
                    "themes",
                    0,
                    "theme",
                    Rule::Structure,
                    format!("theme {needed:?} is missing"),
                ));
            }
        }
        for th in &self.themes {
            let missing = |s: &str| measure.missing_glyphs(s);
            let tag = |mut f: Finding| {
                f.message = format!("({}) {}", th.id, f.message);
                f
            };
            let mut sink = |placed: Option<Placed>, f: Vec<Finding>| {
                out.extend(f.into_iter().map(tag));
                if let Some(p) = placed {
                    out.extend(
                        check_document(&p, th, &index, &missing)
                            .into_iter()
                            .map(tag),
                    );
                }
            };
            self.each_instance(&th.id, data, measure, &mut sink);
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Action, Node};
    use crate::measure::ApproxMeasure;
    use serde_json::json;

    const THEME: &str = include_str!("../../../stb-templates/themes/standard.xml");

    fn templates(screen: &str, assets: Vec<(String, Vec<u8>)>) -> Templates {
        Templates::from_sources(
            vec![("s.xml".into(), screen.as_bytes().to_vec())],
            vec![("standard.xml".into(), THEME.as_bytes().to_vec())],
            assets,
        )
    }

    fn data() -> Value {
        json!({
            "topics": (1..=7).map(|i| json!({"id": i, "title": format!("议题{i}"), "urgent": i == 2})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn each_if_and_bindings_expand() {
        let t = templates(
            r#"<screen id="s">
                 <each in="topics" as="t" limit="3">
                   <if test="t.urgent"><text role="body">紧急：{t.title}（第{t_n}项）</text></if>
                 </each>
               </screen>"#,
            vec![],
        );
        let out = t.render("s", None, 0, "standard", &data(), &ApproxMeasure);
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        let doc = out.document.unwrap_or_default();
        let texts: Vec<String> = doc
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Text { lines, .. } => Some(lines.iter().map(|l| l.text.as_str()).collect()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, vec!["紧急：议题2（第2项）".to_string()]);
    }

    #[test]
    fn lists_page_and_bind_digits_to_items() {
        let t = templates(
            r#"<screen id="s" default-focus="i-1">
                 <list id="l" in="topics" as="t" page-size="3">
                   <button id="i-{t_n}" action="open:s">{t.title}</button>
                 </list>
               </screen>"#,
            vec![],
        );
        let page = |p| {
            t.render("s", None, p, "standard", &data(), &ApproxMeasure)
                .document
                .unwrap_or_default()
        };
        let first = page(0);
        assert_eq!(first.page.map(|p| (p.index, p.count)), Some((0, 3)));
        let keys: Vec<&str> = first.keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, vec!["1", "2", "3", "PAGE_DOWN"]);
        assert_eq!(
            first.key_action("PAGE_DOWN"),
            Some(&Action::Page { page: 1 })
        );
        let last = page(2);
        assert_eq!(last.focusables.len(), 1, "seven topics, three a page");
        assert_eq!(last.key_action("PAGE_UP"), Some(&Action::Page { page: 1 }));
        assert!(last.key_action("PAGE_DOWN").is_none());
        // Items remember focus as one container.
        assert!(
            first
                .focusables
                .iter()
                .all(|f| f.container.as_deref() == Some("l"))
        );
        // A page past the end clamps to the last.
        assert_eq!(page(99).page.map(|p| p.index), Some(2));
    }

    #[test]
    fn images_are_emitted_by_content_hash() {
        let png = b"\x89PNG fake bytes".to_vec();
        let t = templates(
            r#"<screen id="s"><image src="icons/lift.png" width="64" height="64"/><image src="nope.png" width="8" height="8"/></screen>"#,
            vec![("icons/lift.png".into(), png.clone())],
        );
        let out = t.render("s", None, 0, "standard", &json!({}), &ApproxMeasure);
        let doc = out.document.unwrap_or_default();
        let hashes: Vec<&str> = doc
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Image { sha256, .. } => Some(sha256.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(hashes, vec![sha256_hex(&png).as_str()]);
        assert_eq!(sha256_hex(b"").len(), 64);
        assert_eq!(
            out.findings.len(),
            1,
            "the missing asset is a finding: {:?}",
            out.findings
        );
    }

    #[test]
    fn text_lines_sit_inside_their_box_at_absolute_positions() {
        let t = templates(
            r#"<screen id="s"><row><spacer width="100"/><text role="body" width="300" lines="2">加装电梯，方便出行。加装电梯，方便出行。加装电梯，方便出行。</text></row></screen>"#,
            vec![],
        );
        let doc = t
            .render("s", None, 0, "standard", &json!({}), &ApproxMeasure)
            .document
            .unwrap_or_default();
        let Some(Node::Text {
            x,
            y,
            w,
            lines,
            line_height,
            ..
        }) = doc.nodes.iter().find(|n| matches!(n, Node::Text { .. }))
        else {
            panic!("no text")
        };
        assert_eq!(*x, 64.0 + 100.0 + 16.0, "safe-area margin, spacer, gap");
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.x == *x && l.width <= *w));
        assert!(
            lines[0].baseline > *y
                && (lines[1].baseline - lines[0].baseline - line_height).abs() < 0.01
        );
        assert!(lines[1].text.ends_with('…'));
    }
}
