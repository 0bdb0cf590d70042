//! Builds the bundles the headend broadcasts: each community's data from the store through
//! `channel` (the read model) and `screen` (layout) into `bundle` (the format).
//!
//! A community bundle holds its layout documents in both themes (`screens/`), its screen data
//! without the hot parts (`topics/community.json`), each topic's tally (`tallies/`) and accepted
//! comments (`comments/`), and its notices with their target grids (`notices/`); the base
//! bundle holds the templates and themes (`theme/`) every box shares. The layout is what
//! `emulator::content` reads.
//!
//! Only what changed is laid out and written again, and a bundle is stamped with the time of its
//! newest input, not the clock, so rebuilding from the same data gives the same bytes. The
//! binary (`shangyi bundle build`, `serve`) and the server's live rebuilds both call [`build`].

use bundle::{BundleInput, InputFile, Manifest, Sha256};
use consult::ids::CommunityId;
use consult::time::Timestamp;
use serde_json::Value;
use std::path::{Path, PathBuf};
use store::Store;

/// The base bundle's inputs are files with no time of their own: it is stamped with the day
/// the channel went on air.
const BASE_NEWEST_INPUT: &str = "2020-07-01T00:00:00+08:00";

/// Communities laid out in parallel per batch: bounds memory while both cores work.
const BATCH: usize = 64;

/// Why a build could not run at all (one community's failure is in [`BuildReport::failed`]).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    // The cause is in the message rather than `source`, so that a caller printing the chain
    // (`anyhow`'s `{:#}`) shows it once, as the binary did before this crate.
    #[error("creating {}: {error}", path.display())]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("opening {}: {error}", path.display())]
    OpenStore {
        path: PathBuf,
        error: store::StoreError,
    },
    #[error("reading templates from {}: {error}", path.display())]
    Templates {
        path: PathBuf,
        error: screen::LoadError,
    },
    #[error(transparent)]
    Content(#[from] emulator::ContentError),
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Channel(#[from] channel::ChannelError),
    #[error(transparent)]
    Typeset(#[from] typeset::TypesetError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// A community's bundle directory under the output directory.
pub fn community_dir(out: &Path, community: CommunityId) -> PathBuf {
    out.join(format!("c-{}", community.0))
}

/// What one community's build came to before writing.
enum Prepared {
    /// Its data and the base are what the previous bundle was built from: nothing to lay out.
    Same,
    Input(Box<BundleInput>),
}

/// Called after each batch with (communities done, communities in all).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

pub struct BuildOptions<'a> {
    pub db: &'a Path,
    pub out: &'a Path,
    /// One community, or every community when `None`.
    pub community: Option<i64>,
    /// The templates (`stb-templates/`); the caller resolves it, this crate guesses no paths.
    pub templates_dir: &'a Path,
    /// The assets the templates refer to (fonts, pictures).
    pub assets_dir: &'a Path,
    /// The binary draws a progress bar with it; the server passes `None`.
    pub progress: Option<Progress<'a>>,
}

#[derive(Debug, Default)]
pub struct BuildReport {
    pub written: usize,
    pub unchanged: usize,
    /// Communities whose bundle was not built; each keeps its previous bundle, if any.
    pub failed: Vec<Failure>,
}

/// One community whose bundle could not be built, and why (the error with its causes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub community: CommunityId,
    pub error: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "community {}: {}", self.community.0, self.error)
    }
}

/// The error with its causes, the way `anyhow` prints `{:#}`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Builds the base bundle and every (or one) community's bundle; only what changed is laid out
/// and written again.
pub fn build(options: &BuildOptions<'_>) -> Result<BuildReport, BuildError> {
    let templates_dir = options.templates_dir;
    let assets_dir = options.assets_dir;
    std::fs::create_dir_all(options.out).map_err(|error| BuildError::CreateDir {
        path: options.out.to_path_buf(),
        error,
    })?;
    let base_files = emulator::content::base_files(templates_dir, assets_dir)?;
    let base_dir = options.out.join("base");
    let previous_base = bundle::read_manifest(&base_dir)?;
    let base = bundle::build(
        &BundleInput::base(BASE_NEWEST_INPUT, base_files),
        previous_base.as_ref(),
    )?;
    bundle::write_dir(&base, &base_dir)?;
    let base_digest = base.manifest.content_sha256;
    let templates =
        screen::load_dir(templates_dir, assets_dir).map_err(|error| BuildError::Templates {
            path: templates_dir.to_path_buf(),
            error,
        })?;

    let store = Store::open(options.db).map_err(|error| BuildError::OpenStore {
        path: options.db.to_path_buf(),
        error,
    })?;
    let communities = match options.community {
        Some(id) => {
            store.community(CommunityId(id))?;
            vec![CommunityId(id)]
        }
        None => store.community_ids()?,
    };
    drop(store);
    let total = communities.len();
    let mut report = BuildReport::default();
    for (batch_index, batch) in communities.chunks(BATCH).enumerate() {
        let halves: Vec<&[CommunityId]> = batch.chunks(batch.len().div_ceil(2).max(1)).collect();
        let prepared: Vec<(CommunityId, Result<Prepared, String>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = halves
                .iter()
                .map(|half| {
                    let templates = &templates;
                    scope.spawn(move || prepare_many(options, templates, half, base_digest))
                })
                .collect();
            // A worker that panicked reports its whole share as failed: no community may
            // vanish from the report (the live rebuilds retry what failed).
            workers
                .into_iter()
                .zip(&halves)
                .flat_map(|(worker, half)| {
                    worker.join().unwrap_or_else(|_| {
                        half.iter()
                            .map(|c| (*c, Err("preparing its files panicked".to_owned())))
                            .collect()
                    })
                })
                .collect()
        });
        let mut inputs = Vec::new();
        let mut input_communities = Vec::new();
        for (community, outcome) in prepared {
            match outcome {
                Ok(Prepared::Same) => report.unchanged += 1,
                Ok(Prepared::Input(input)) => {
                    inputs.push(*input);
                    input_communities.push(community);
                }
                Err(error) => report.failed.push(Failure { community, error }),
            }
        }
        // `build_city` answers one item per input, in order.
        let built = bundle::build_city(options.out, inputs, |_, _| {});
        for (community, item) in input_communities.into_iter().zip(built) {
            match item.outcome {
                bundle::CityOutcome::Unchanged { .. } => report.unchanged += 1,
                bundle::CityOutcome::Written { .. } => report.written += 1,
                // `BundleError`'s message already names its cause.
                bundle::CityOutcome::Failed(error) => report.failed.push(Failure {
                    community,
                    error: error.to_string(),
                }),
            }
        }
        if let Some(progress) = options.progress {
            progress(((batch_index + 1) * BATCH).min(total), total);
        }
    }
    Ok(report)
}

/// Prepares a share of the communities on one thread, with its own store connection and shaper.
/// Errors are kept as text: each becomes one line of [`BuildReport::failed`].
fn prepare_many(
    options: &BuildOptions<'_>,
    templates: &screen::Templates,
    communities: &[CommunityId],
    base: Sha256,
) -> Vec<(CommunityId, Result<Prepared, String>)> {
    let setup = || -> Result<(Store, screen::measure::Typeset), BuildError> {
        Ok((Store::open(options.db)?, screen::measure::Typeset::new()?))
    };
    match setup() {
        Ok((store, measure)) => communities
            .iter()
            .map(|c| {
                (
                    *c,
                    prepare(&store, templates, &measure, *c, base, options.out)
                        .map_err(|e| chain(&e)),
                )
            })
            .collect(),
        Err(e) => {
            let text = chain(&e);
            communities
                .iter()
                .map(|c| (*c, Err(text.clone())))
                .collect()
        }
    }
}

/// Gathers one community's files; lays out its screens only when its data changed.
fn prepare(
    store: &Store,
    templates: &screen::Templates,
    measure: &screen::measure::Typeset,
    community: CommunityId,
    base: Sha256,
    out: &Path,
) -> Result<Prepared, BuildError> {
    let _span = tracing::info_span!("bundle_build", community = community.0).entered();
    let at = store
        .community_newest_input(community)?
        .unwrap_or(Timestamp(0));
    // The bundle carries the data split, so that a notice changes its small hot module only.
    // Screens are laid out without notices for the same reason: a box draws its own grid's
    // notices (the banner and the notices list) from the notices module.
    let mut data = channel::community_data(store, community, at, None)?;
    let mut screen_data = data.clone();
    if let Some(map) = screen_data.as_object_mut() {
        map.insert("notices".into(), Value::Array(Vec::new()));
        map.insert("urgent_notices".into(), Value::Array(Vec::new()));
    }
    let notices = emulator::records_in_force(&store.notices_of_community(community)?, at.0);
    let mut files = Vec::new();
    if let Some(topics) = data.get_mut("topics").and_then(Value::as_array_mut) {
        for topic in topics {
            let id = topic.get("id").and_then(Value::as_i64).unwrap_or(0);
            if let Some(map) = topic.as_object_mut() {
                if let Some(tally) = map.remove("tally") {
                    files.push(InputFile::new(
                        format!("tallies/{id}.json"),
                        serde_json::to_vec(&tally)?,
                    ));
                }
                if let Some(comments) = map.remove("comments") {
                    files.push(InputFile::new(
                        format!("comments/{id}.json"),
                        serde_json::to_vec(&comments)?,
                    ));
                }
            }
        }
    }
    files.extend(emulator::content::community_files(&data, notices));
    let grids: Vec<bundle::Grid> = store
        .grids_of_community(community)?
        .into_iter()
        .map(|g| bundle::Grid {
            id: format!("g{}", g.id.0),
            name: g.name,
        })
        .collect();
    let dir = community_dir(out, community);
    let previous = bundle::read_manifest(&dir).ok().flatten();
    if let Some(previous) = &previous {
        if same_inputs(previous, &files, base, &[]) {
            return Ok(Prepared::Same);
        }
        // Only notices changed (a grid worker's push): the screens, laid out without notices,
        // are the previous ones; reuse them instead of laying out again.
        if same_inputs(previous, &files, base, &["notices/"])
            && let Some(screens) = previous_screens(&dir, previous)
        {
            files.extend(screens);
            return Ok(Prepared::Input(Box::new(community_input(
                store, community, grids, base, at, files,
            )?)));
        }
    }
    for theme in ["standard", "elders"] {
        let (documents, findings) = templates.render_all(theme, &screen_data, measure);
        if let Some(finding) = findings.first() {
            tracing::warn!(community = community.0, theme, %finding, "layout finding");
        }
        for document in documents {
            let name = document.file_stem();
            files.push(InputFile::new(
                format!("screens/{theme}/{name}.json"),
                document.to_compact_json().into_bytes(),
            ));
        }
    }
    Ok(Prepared::Input(Box::new(community_input(
        store, community, grids, base, at, files,
    )?)))
}

fn community_input(
    store: &Store,
    community: CommunityId,
    grids: Vec<bundle::Grid>,
    base: Sha256,
    at: Timestamp,
    files: Vec<InputFile>,
) -> Result<BundleInput, BuildError> {
    let summary = store.community(community)?;
    Ok(BundleInput::community(
        bundle::Community {
            id: format!("c-{}", community.0),
            name: summary.name,
            town: summary.town,
            district: summary.district,
        },
        grids,
        base,
        at.to_rfc3339(),
        files,
    ))
}

/// The previous bundle's screens, read back and checked against its manifest; `None` if any
/// is missing or does not match (then they are laid out again).
fn previous_screens(dir: &Path, previous: &Manifest) -> Option<Vec<InputFile>> {
    let mut out = Vec::new();
    for entry in previous
        .files
        .iter()
        .filter(|f| f.path.starts_with("screens/"))
    {
        let bytes = std::fs::read(dir.join(&entry.path)).ok()?;
        if Sha256::of(&bytes) != entry.sha256 {
            return None;
        }
        out.push(InputFile::new(entry.path.clone(), bytes));
    }
    Some(out)
}

/// Whether a previous bundle was built from these data files over this base: then its
/// screens, laid out from the same data and templates, are the same too.
/// Files under `ignoring` are left out of the comparison.
fn same_inputs(previous: &Manifest, files: &[InputFile], base: Sha256, ignoring: &[&str]) -> bool {
    let bundle::Role::Community {
        base: previous_base,
        ..
    } = &previous.role
    else {
        return false;
    };
    if *previous_base != base {
        return false;
    }
    let counted =
        |path: &str| !path.starts_with("screens/") && !ignoring.iter().any(|p| path.starts_with(p));
    let previous_data: Vec<_> = previous.files.iter().filter(|f| counted(&f.path)).collect();
    let files: Vec<&InputFile> = files.iter().filter(|f| counted(&f.path)).collect();
    previous_data.len() == files.len()
        && files.iter().all(|file| {
            previous_data
                .iter()
                .any(|p| p.path == file.path && p.sha256 == Sha256::of(&file.bytes))
        })
}
