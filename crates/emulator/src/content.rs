//! What a box has received: the templates and themes (from the city's shared base bundle), the
//! community's cold screen data and its notices (from the community's bundle).
//!
//! [`BoxContent::from_bundle`] reads a community bundle directory and the base bundle it
//! references, each verified by `bundle::load_dir` exactly as `shangyi bundle verify` does:
//! a tampered, truncated or foreign bundle is refused with the verifier's named findings, and
//! nothing is used before all of it verified.
//!
//! Where the emulator finds things in the bundles (the paths are the bundle format's kinds,
//! `docs/bundle.md`; [`base_files`] and [`community_files`] produce exactly this layout):
//!
//! | bundle | path | what |
//! | --- | --- | --- |
//! | base | `theme/*.xml` | the screen templates (`stb-templates/*.xml`) |
//! | base | `theme/themes/*.xml` | the themes (`standard`, `elders`) |
//! | base | `icons/**`, `images/**` | images, by their path under `assets/` |
//! | community | `topics/community.json` | the screen data without notices ([`COLD_DATA`]) |
//! | community | `tallies/<topic id>.json` | optional: a topic's `tally`, merged into it |
//! | community | `comments/<topic id>.json` | optional: a topic's `comments`, merged into it |
//! | community | `notices/*.json` | notices files ([`crate::notices::NoticesFile`]) |
//!
//! The community's `screens/` (the layout documents real boxes draw) are verified with the
//! rest but not used: the emulator lays the screens out itself from the templates and the data
//! for its own grid and clock, with the same code that made those documents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bundle::{BundleFinding, InputFile, LoadedBundle, Role, Sha256, VerifyOptions};
use screen::Templates;
use serde_json::Value;

use crate::notices::{NoticeRecord, NoticesFile};

/// The community's cold screen data inside its bundle.
pub const COLD_DATA: &str = "topics/community.json";
/// The community's notices file written by [`community_files`].
pub const NOTICES_FILE: &str = "notices/notices.json";

/// Why content could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("the bundle {dir} was refused:\n{}", bundle::finding::format_findings(.findings).trim_end())]
    Refused {
        dir: PathBuf,
        findings: Vec<BundleFinding>,
    },
    #[error("{0} is the city's base bundle; give a community's bundle")]
    NotACommunity(PathBuf),
    #[error("{0} is not a base bundle")]
    NotABase(PathBuf),
    #[error(
        "the bundle references base bundle {sha}, which is not in {searched} (give it with --base DIR)"
    )]
    NoBase { sha: String, searched: PathBuf },
    #[error("the base bundle {dir} is {found}, but the community bundle references {expected}")]
    WrongBase {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the bundle has no {0}")]
    Missing(&'static str),
    #[error("{path} in the bundle is not valid: {detail}")]
    Invalid { path: String, detail: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a box's content came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The community bundle's directory (empty when built in memory).
    pub bundle: PathBuf,
    /// The community's id in the manifest.
    pub bundle_id: String,
    /// The bundle's version.
    pub version: u64,
    /// The time of the newest input it holds (RFC 3339).
    pub newest_input: String,
    /// The base bundle's content digest.
    pub base: String,
}

/// Everything a box shows, as received.
#[derive(Debug, Clone)]
pub struct BoxContent {
    /// Templates, themes and images.
    pub templates: Templates,
    /// The community's screen data without notices (`docs/screens.md`).
    pub cold: Value,
    /// Every notice in force for the community, for all its grids.
    pub notices: Vec<NoticeRecord>,
    /// The community id (`cold.community.id`).
    pub community: i64,
    /// Its grid ids (`cold.grids[].id`).
    pub grids: Vec<i64>,
    pub origin: Origin,
}

impl BoxContent {
    /// Content from parts already in memory.
    pub fn from_parts(
        templates: Templates,
        cold: Value,
        notices: Vec<NoticeRecord>,
    ) -> Result<BoxContent, ContentError> {
        let invalid = |detail: &str| ContentError::Invalid {
            path: COLD_DATA.into(),
            detail: detail.into(),
        };
        if !cold.is_object() {
            return Err(invalid("the screen data is not a JSON object"));
        }
        let community = cold
            .pointer("/community/id")
            .and_then(Value::as_i64)
            .ok_or_else(|| invalid("community.id is missing or not an integer"))?;
        let grids = cold
            .get("grids")
            .and_then(Value::as_array)
            .map(|gs| gs.iter().filter_map(|g| g.get("id")?.as_i64()).collect())
            .unwrap_or_default();
        Ok(BoxContent {
            templates,
            cold,
            notices,
            community,
            grids,
            origin: Origin::default(),
        })
    }

    /// Loads the community bundle at `dir` and the base bundle it references, both verified.
    /// The base is `base` if given, else the directory beside `dir` whose manifest is the base
    /// bundle with the referenced content digest (`bundle build --out OUT` writes both under
    /// `OUT`).
    pub fn from_bundle(dir: &Path, base: Option<&Path>) -> Result<BoxContent, ContentError> {
        let community = load(dir, &VerifyOptions::default())?;
        let Some(base_sha) = community.manifest.base() else {
            return Err(ContentError::NotACommunity(dir.to_path_buf()));
        };
        let base_dir = match base {
            Some(b) => b.to_path_buf(),
            None => find_base(dir, &base_sha)?,
        };
        let base_bundle = load(&base_dir, &VerifyOptions::default())?;
        if base_bundle.manifest.role != Role::Base {
            return Err(ContentError::NotABase(base_dir));
        }
        if base_bundle.manifest.content_sha256 != base_sha {
            return Err(ContentError::WrongBase {
                dir: base_dir,
                found: base_bundle.manifest.content_sha256.to_hex(),
                expected: base_sha.to_hex(),
            });
        }
        let templates = templates_from_base(&base_bundle.files);
        let cold = cold_data(&community.files)?;
        let notices = notices_of(&community.files)?;
        let mut content = BoxContent::from_parts(templates, cold, notices)?;
        content.origin = Origin {
            bundle: dir.to_path_buf(),
            bundle_id: community
                .manifest
                .community()
                .map(|c| c.id.clone())
                .unwrap_or_default(),
            version: community.manifest.version,
            newest_input: community.manifest.newest_input.clone(),
            base: base_sha.to_hex(),
        };
        Ok(content)
    }
}

fn load(dir: &Path, options: &VerifyOptions) -> Result<LoadedBundle, ContentError> {
    bundle::load_dir(dir, options).map_err(|findings| ContentError::Refused {
        dir: dir.to_path_buf(),
        findings,
    })
}

/// The base bundle beside `dir` with content digest `sha`.
fn find_base(dir: &Path, sha: &Sha256) -> Result<PathBuf, ContentError> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let io = |source| ContentError::Io {
        path: parent.clone(),
        source,
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&parent)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for candidate in dirs {
        if let Ok(Some(m)) = bundle::read_manifest(&candidate)
            && m.role == Role::Base
            && m.content_sha256 == *sha
        {
            return Ok(candidate);
        }
    }
    Err(ContentError::NoBase {
        sha: sha.to_hex(),
        searched: parent,
    })
}

/// Templates, themes and images from the base bundle's files.
fn templates_from_base(files: &BTreeMap<String, Vec<u8>>) -> Templates {
    let mut screens = Vec::new();
    let mut themes = Vec::new();
    let mut assets = Vec::new();
    for (path, bytes) in files {
        if let Some(rest) = path.strip_prefix("theme/") {
            if let Some(theme) = rest.strip_prefix("themes/") {
                if theme.ends_with(".xml") && !theme.contains('/') {
                    themes.push((path.clone(), bytes.clone()));
                }
            } else if rest.ends_with(".xml") && !rest.contains('/') {
                screens.push((path.clone(), bytes.clone()));
            }
        } else if path.starts_with("icons/") || path.starts_with("images/") {
            assets.push((path.clone(), bytes.clone()));
        }
        // fonts/: the box draws with the font compiled into `typeset`, the headend's own.
    }
    Templates::from_sources(screens, themes, assets)
}

fn parse_json(path: &str, bytes: &[u8]) -> Result<Value, ContentError> {
    serde_json::from_slice(bytes).map_err(|e| ContentError::Invalid {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// The cold screen data, with per-topic tallies and comments merged in.
fn cold_data(files: &BTreeMap<String, Vec<u8>>) -> Result<Value, ContentError> {
    let bytes = files
        .get(COLD_DATA)
        .ok_or(ContentError::Missing(COLD_DATA))?;
    let mut cold = parse_json(COLD_DATA, bytes)?;
    for (dir, field) in [("tallies/", "tally"), ("comments/", "comments")] {
        for (path, bytes) in files.range(dir.to_owned()..) {
            let Some(name) = path.strip_prefix(dir) else {
                break;
            };
            let Some(id) = name
                .strip_suffix(".json")
                .and_then(|s| s.parse::<i64>().ok())
            else {
                continue;
            };
            let value = parse_json(path, bytes)?;
            let topic = cold
                .get_mut("topics")
                .and_then(Value::as_array_mut)
                .and_then(|ts| {
                    ts.iter_mut()
                        .find(|t| t.get("id").and_then(Value::as_i64) == Some(id))
                });
            if let Some(Value::Object(topic)) = topic {
                topic.insert(field.to_owned(), value);
            }
        }
    }
    Ok(cold)
}

/// Every notice of every file under `notices/`.
fn notices_of(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<NoticeRecord>, ContentError> {
    let mut out = Vec::new();
    for (path, bytes) in files.range("notices/".to_owned()..) {
        if !path.starts_with("notices/") {
            break;
        }
        if !path.ends_with(".json") {
            continue;
        }
        let file = NoticesFile::parse(bytes).map_err(|detail| ContentError::Invalid {
            path: path.clone(),
            detail,
        })?;
        out.extend(file.notices);
    }
    Ok(out)
}

/// The base bundle's files the emulator reads, from a templates directory (`stb-templates/`)
/// and an assets directory (`assets/`; fonts are left out, boxes have theirs).
pub fn base_files(templates_dir: &Path, assets_dir: &Path) -> Result<Vec<InputFile>, ContentError> {
    let mut out = Vec::new();
    for (from, to) in [
        (templates_dir.to_path_buf(), "theme/"),
        (templates_dir.join("themes"), "theme/themes/"),
    ] {
        for path in sorted_entries(&from)? {
            if path.is_file() && path.extension().is_some_and(|e| e == "xml") {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                out.push(InputFile::new(format!("{to}{name}"), read(&path)?));
            }
        }
    }
    for kind in ["icons", "images"] {
        let dir = assets_dir.join(kind);
        if dir.is_dir() {
            collect(&dir, kind, &mut out)?;
        }
    }
    Ok(out)
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<InputFile>) -> Result<(), ContentError> {
    for path in sorted_entries(dir)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let rel = format!("{prefix}/{name}");
        if path.is_dir() {
            collect(&path, &rel, out)?;
        } else if path.is_file() {
            out.push(InputFile::new(rel, read(&path)?));
        }
    }
    Ok(())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ContentError> {
    let io = |source| ContentError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    Ok(paths)
}

fn read(path: &Path) -> Result<Vec<u8>, ContentError> {
    std::fs::read(path).map_err(|source| ContentError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The community bundle's files the emulator reads: the screen data without notices at
/// [`COLD_DATA`], and `notices` at [`NOTICES_FILE`]. (The builder adds `screens/`.)
pub fn community_files(screen_data: &Value, notices: Vec<NoticeRecord>) -> Vec<InputFile> {
    let mut cold = screen_data.clone();
    if let Value::Object(map) = &mut cold {
        map.remove("notices");
        map.remove("urgent_notices");
    }
    vec![
        InputFile::new(COLD_DATA, serde_json::to_vec(&cold).unwrap_or_default()),
        InputFile::new(NOTICES_FILE, NoticesFile::new(notices).to_json()),
    ]
}
