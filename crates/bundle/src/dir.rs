//! Bundle directories on disk: writing one atomically, and building the whole city while
//! skipping the communities whose content did not change.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::build::{BuildStatus, Built, BundleError, BundleInput, build};
use crate::manifest::{Manifest, Role, parse_manifest};

/// The manifest's file name inside a bundle directory.
pub const MANIFEST: &str = "manifest.xml";

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `built` as the directory `dir`, replacing what is there. Returns `false` (and writes
/// nothing) when the build is unchanged and `dir` already holds that exact manifest.
///
/// The bundle is written into `.NAME.tmp` beside `dir`, then renamed into place; an old bundle
/// is first renamed to `.NAME.old` and removed after. A reader therefore sees the old bundle or
/// the new one, never a mix; between the two renames `dir` is briefly absent, and a crash there
/// leaves `.NAME.old`, which the next write removes. A write that fails (a full disk) removes
/// its `.NAME.tmp` and leaves the old bundle in place. One writer at a time per directory (the
/// temporary names are fixed). Files are not fsynced: the goal is that
/// readers never see half a bundle, not durability across power loss (a rebuild recreates it).
pub fn write_dir(built: &Built, dir: &Path) -> Result<bool, BundleError> {
    let manifest_path = dir.join(MANIFEST);
    if built.status == BuildStatus::Unchanged
        && fs::read(&manifest_path).is_ok_and(|b| b == built.manifest_xml)
    {
        return Ok(false);
    }
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| BundleError::Io {
            path: dir.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "no directory name"),
        })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let tmp = parent.join(format!(".{name}.tmp"));
    let old = parent.join(format!(".{name}.old"));
    for stale in [&tmp, &old] {
        if fs::symlink_metadata(stale).is_ok() {
            fs::remove_dir_all(stale).map_err(io_err(stale))?;
        }
    }
    fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let written = write_files(built, &tmp);
    if written.is_err() {
        // A half-written bundle is no use to anyone, and on a full disk it holds the very
        // space the next community's bundle needs.
        let _ = fs::remove_dir_all(&tmp);
    }
    written?;
    let replacing = fs::symlink_metadata(dir).is_ok();
    if replacing {
        fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    if let Err(error) = fs::rename(&tmp, dir) {
        // Put the old bundle back: a community keeps the bundle it had rather than none.
        if replacing {
            let _ = fs::rename(&old, dir);
        }
        let _ = fs::remove_dir_all(&tmp);
        return Err(io_err(dir)(error));
    }
    if replacing {
        fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(true)
}

/// The bundle's files, then its manifest, into the staging directory `tmp`.
fn write_files(built: &Built, tmp: &Path) -> Result<(), BundleError> {
    for f in &built.files {
        let path = tmp.join(&f.path);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).map_err(io_err(p))?;
        }
        fs::write(&path, &f.bytes).map_err(io_err(&path))?;
    }
    // The manifest last: a directory without one is never mistaken for a bundle.
    let m = tmp.join(MANIFEST);
    fs::write(&m, &built.manifest_xml).map_err(io_err(&m))
}

/// Reads and parses the manifest of the bundle at `dir`, if there is one.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, BundleError> {
    let path = dir.join(MANIFEST);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(BundleError::Io { path, source }),
    };
    parse_manifest(&bytes, &crate::rules::Limits::default())
        .map(Some)
        .map_err(|findings| BundleError::PreviousRefused { path, findings })
}

/// Reads the manifest of every bundle directory directly under `out` (community bundles and
/// the base alike), in name order, skipping names starting with a dot (a write in progress).
/// For `shangyi bundle carousel`: summarise them with
/// [`ManifestSummary::of`](crate::carousel::ManifestSummary::of). Manifests are parsed and
/// checked, not their files: run [`verify_dir`](crate::verify_dir) for that.
pub fn read_city(out: &Path) -> Result<Vec<Manifest>, BundleError> {
    let mut dirs = Vec::new();
    for e in fs::read_dir(out).map_err(io_err(out))? {
        let e = e.map_err(io_err(out))?;
        let name = e.file_name();
        let hidden = name.to_str().is_none_or(|n| n.starts_with('.'));
        if !hidden && e.file_type().map_err(io_err(&e.path()))?.is_dir() {
            dirs.push(e.path());
        }
    }
    dirs.sort();
    let mut out = Vec::new();
    for d in dirs {
        if let Some(m) = read_manifest(&d)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// What happened to one community in a city build.
#[derive(Debug)]
pub enum CityOutcome {
    /// Content unchanged: nothing written, the version kept.
    Unchanged {
        /// The kept version.
        version: u64,
    },
    /// Built and written.
    Written {
        /// The new version.
        version: u64,
        /// Its manifest.
        manifest: Box<Manifest>,
    },
    /// Refused; the previous bundle, if any, is left as it was.
    Failed(BundleError),
}

/// One community's line in a city build.
#[derive(Debug)]
pub struct CityItem {
    /// The community id (the directory name under `out`).
    pub community: String,
    /// What happened.
    pub outcome: CityOutcome,
}

/// Builds every community's bundle into `out/<community id>/`, skipping those whose content
/// digest equals their previous manifest's (the files are hashed, nothing is compressed or
/// written). `progress` is called after each community with its index from 0, for a progress
/// bar. One community's failure does not stop the others; base inputs are refused here (build
/// and write the base with [`build`] and [`write_dir`]).
pub fn build_city<I>(
    out: &Path,
    inputs: I,
    mut progress: impl FnMut(usize, &CityItem),
) -> Vec<CityItem>
where
    I: IntoIterator<Item = BundleInput>,
{
    let mut items = Vec::new();
    for (n, input) in inputs.into_iter().enumerate() {
        let community = match &input.role {
            Role::Community { community, .. } => community.id.clone(),
            Role::Base => String::new(),
        };
        let outcome = build_one(out, &community, &input);
        let item = CityItem { community, outcome };
        progress(n, &item);
        items.push(item);
    }
    items
}

fn build_one(out: &Path, community: &str, input: &BundleInput) -> CityOutcome {
    if community.is_empty() || !crate::rules::is_id(community) {
        return CityOutcome::Failed(BundleError::PreviousMismatch {
            expected: "a community with a valid id".into(),
            found: if community.is_empty() {
                "the base bundle".into()
            } else {
                format!("community {community:?}")
            },
        });
    }
    let dir = out.join(community);
    let previous = match read_manifest(&dir) {
        Ok(p) => p,
        Err(e) => return CityOutcome::Failed(e),
    };
    if let Some(prev) = &previous
        && prev.content_sha256 == input.content_sha256()
        && prev.community().is_some_and(|c| c.id == community)
    {
        return CityOutcome::Unchanged {
            version: prev.version,
        };
    }
    match build(input, previous.as_ref()).and_then(|b| write_dir(&b, &dir).map(|_| b)) {
        Ok(b) => CityOutcome::Written {
            version: b.manifest.version,
            manifest: Box::new(b.manifest),
        },
        Err(e) => CityOutcome::Failed(e),
    }
}
