//! The verifier: a bundle directory against its manifest, every finding at once. `load_dir`
//! hands out a bundle's files only after all of it verified, so nothing is ever half-loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::Path;

use crate::dir::MANIFEST;
use crate::finding::{BundleFinding, FindingKind};
use crate::kind::FileKind;
use crate::manifest::{Manifest, module_layout, parse_manifest};
use crate::rules::{Limits, MAX_PATH_DEPTH};
use crate::sha::Sha256;

/// What the verifier is told besides the directory.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The version accepted last for this bundle: a lower one is `version_backwards`.
    pub previous_version: Option<u64>,
    /// The base bundle's content digest: a community must reference it, a base bundle must
    /// have it; else `wrong_base`.
    pub expected_base: Option<Sha256>,
    /// The community the bundle must be for (else `wrong_bundle`); a base bundle is refused
    /// when this is set.
    pub expected_community: Option<String>,
    /// Limits on sizes and counts.
    pub limits: Limits,
}

/// A bundle that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// Its manifest.
    pub manifest: Manifest,
    /// Bytes of all its files.
    pub raw_bytes: u64,
    /// Compressed bytes of its modules on air.
    pub air_bytes: u64,
}

/// A bundle in memory, fully verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedBundle {
    /// Its manifest.
    pub manifest: Manifest,
    /// Every file's bytes by path.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Verifies the bundle directory at `dir`. Returns every finding, not just the first.
pub fn verify_dir(
    dir: &Path,
    options: &VerifyOptions,
) -> Result<VerifiedBundle, Vec<BundleFinding>> {
    load_dir(dir, options).map(|b| VerifiedBundle {
        raw_bytes: b.manifest.raw_bytes(),
        air_bytes: b.manifest.air_bytes(),
        manifest: b.manifest,
    })
}

/// Verifies the bundle directory at `dir` and returns its files in memory, or every finding.
pub fn load_dir(dir: &Path, options: &VerifyOptions) -> Result<LoadedBundle, Vec<BundleFinding>> {
    let limits = &options.limits;
    let mut findings = Vec::new();
    let manifest_path = dir.join(MANIFEST);
    let manifest_bytes = match read_regular(&manifest_path, MANIFEST, limits.max_manifest_bytes) {
        Ok(b) => b,
        Err(f) => {
            findings.push(f);
            // Still list what is in the directory, so one run shows everything.
            walk(dir, &BTreeSet::new(), limits, &mut findings);
            return Err(findings);
        }
    };
    let manifest = match parse_manifest(&manifest_bytes, limits) {
        Ok(m) => m,
        Err(mut f) => {
            findings.append(&mut f);
            return Err(findings);
        }
    };

    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    let mut bad_prefixes = BTreeSet::new();
    walk(dir, &listed, limits, &mut findings);
    for f in &findings {
        if f.kind == FindingKind::Symlink || f.kind == FindingKind::NotAFile {
            bad_prefixes.insert(f.place.clone());
        }
    }

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in &manifest.files {
        // A listed file below a symlinked or odd directory was reported by the walk.
        let under_bad = bad_prefixes
            .iter()
            .any(|p| entry.path == *p || entry.path.starts_with(&format!("{p}/")));
        if under_bad {
            continue;
        }
        let path = dir.join(&entry.path);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(_) => {
                findings.push(BundleFinding::new(
                    FindingKind::MissingFile,
                    &entry.path,
                    "listed in the manifest but not in the directory",
                ));
                continue;
            }
        };
        if !meta.is_file() {
            // Symlinks and non-files at a listed path were reported by the walk.
            continue;
        }
        if meta.len() != entry.size {
            findings.push(BundleFinding::new(
                FindingKind::SizeMismatch,
                &entry.path,
                format!("{} bytes; the manifest says {}", meta.len(), entry.size),
            ));
            continue;
        }
        match read_regular(&path, &entry.path, entry.size) {
            Ok(bytes) => {
                if bytes.len() as u64 != entry.size {
                    findings.push(BundleFinding::new(
                        FindingKind::SizeMismatch,
                        &entry.path,
                        format!("{} bytes; the manifest says {}", bytes.len(), entry.size),
                    ));
                } else if Sha256::of(&bytes) != entry.sha256 {
                    findings.push(BundleFinding::new(
                        FindingKind::HashMismatch,
                        &entry.path,
                        format!(
                            "SHA-256 is {}; the manifest says {}",
                            Sha256::of(&bytes),
                            entry.sha256
                        ),
                    ));
                } else {
                    files.insert(entry.path.clone(), bytes);
                }
            }
            Err(f) => findings.push(f),
        }
    }

    // Module digests, where every file of the kind is intact (else the file's own finding
    // already says what is wrong).
    let mut by_kind: BTreeMap<FileKind, Vec<&str>> = BTreeMap::new();
    for f in &manifest.files {
        if let Some(kind) = f.path.split('/').next().and_then(FileKind::parse) {
            by_kind.entry(kind).or_default().push(f.path.as_str());
        }
    }
    for (kind, paths) in &by_kind {
        if !paths.iter().all(|p| files.contains_key(*p)) {
            continue;
        }
        let mut stream = Vec::new();
        let mut sizes = Vec::new();
        for p in paths {
            if let Some(b) = files.get(*p) {
                stream.extend_from_slice(b);
                sizes.push(b.len() as u64);
            }
        }
        let (module_sizes, _) = module_layout(&sizes);
        let mut at = 0usize;
        for (i, size) in module_sizes.iter().enumerate() {
            let end = at + *size as usize;
            let id = kind.first_module_id() + i as u16;
            if let (Some(raw), Some(m)) = (
                stream.get(at..end),
                manifest.modules.iter().find(|m| m.id == id),
            ) && Sha256::of(raw) != m.sha256
            {
                findings.push(BundleFinding::new(
                    FindingKind::ModuleMismatch,
                    MANIFEST,
                    format!("module {id} ({kind}): its files' bytes do not give its SHA-256"),
                ));
            }
            at = end;
        }
    }

    if let Some(prev) = options.previous_version
        && manifest.version < prev
    {
        findings.push(BundleFinding::new(
            FindingKind::VersionBackwards,
            MANIFEST,
            format!("version {} is below the accepted {prev}", manifest.version),
        ));
    }
    if let Some(expected) = &options.expected_community {
        match manifest.community() {
            Some(c) if c.id == *expected => {}
            Some(c) => findings.push(BundleFinding::new(
                FindingKind::WrongBundle,
                MANIFEST,
                format!("the bundle is for community {}, not {expected}", c.id),
            )),
            None => findings.push(BundleFinding::new(
                FindingKind::WrongBundle,
                MANIFEST,
                format!("this is the base bundle, not community {expected}'s"),
            )),
        }
    }
    // For a community, the base it references; for the base itself, its own content digest.
    let base = manifest.base().unwrap_or(manifest.content_sha256);
    if let Some(expected) = options.expected_base
        && base != expected
    {
        findings.push(BundleFinding::new(
            FindingKind::WrongBase,
            MANIFEST,
            format!("the bundle's base is {base}, not {expected}"),
        ));
    }

    if findings.is_empty() {
        Ok(LoadedBundle { manifest, files })
    } else {
        Err(findings)
    }
}

/// Reads a regular file of at most `limit` bytes without following a symlink.
fn read_regular(path: &Path, place: &str, limit: u64) -> Result<Vec<u8>, BundleFinding> {
    let meta = fs::symlink_metadata(path)
        .map_err(|_| BundleFinding::new(FindingKind::MissingFile, place, "not in the directory"))?;
    if meta.file_type().is_symlink() {
        return Err(BundleFinding::new(
            FindingKind::Symlink,
            place,
            "is a symbolic link; bundles hold regular files only",
        ));
    }
    if !meta.is_file() {
        return Err(BundleFinding::new(
            FindingKind::NotAFile,
            place,
            "is not a regular file",
        ));
    }
    if meta.len() > limit {
        let kind = if place == MANIFEST {
            FindingKind::OversizedManifest
        } else {
            FindingKind::SizeMismatch
        };
        return Err(BundleFinding::new(
            kind,
            place,
            format!("{} bytes; at most {limit}", meta.len()),
        ));
    }
    let io = |e: std::io::Error| BundleFinding::new(FindingKind::IoError, place, e.to_string());
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // Read one byte past the limit, so a file growing under us is caught, not read forever.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Walks the directory without following links: reports links, odd files, and files the
/// manifest does not list. Bounded in depth and entries.
fn walk(dir: &Path, listed: &BTreeSet<&str>, limits: &Limits, findings: &mut Vec<BundleFinding>) {
    let mut stack: Vec<(std::path::PathBuf, String, usize)> =
        vec![(dir.to_path_buf(), String::new(), 0)];
    let mut seen = 0usize;
    let max_entries = limits.max_files.saturating_mul(2).saturating_add(64);
    while let Some((path, rel, depth)) = stack.pop() {
        let entries = match fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) => {
                findings.push(BundleFinding::new(
                    FindingKind::IoError,
                    if rel.is_empty() { "." } else { rel.as_str() },
                    e.to_string(),
                ));
                continue;
            }
        };
        let mut names = Vec::new();
        for e in entries {
            match e {
                Ok(e) => names.push(e),
                Err(e) => findings.push(BundleFinding::new(
                    FindingKind::IoError,
                    &rel,
                    e.to_string(),
                )),
            }
        }
        names.sort_by_key(|e| e.file_name());
        for e in names {
            seen += 1;
            if seen > max_entries {
                findings.push(BundleFinding::new(
                    FindingKind::TooManyFiles,
                    ".",
                    format!("more than {max_entries} entries in the directory"),
                ));
                return;
            }
            let name = e.file_name();
            let Some(name) = name.to_str() else {
                findings.push(BundleFinding::new(
                    FindingKind::InvalidPath,
                    format!("{rel}/{}", name.to_string_lossy()),
                    "the name is not UTF-8",
                ));
                continue;
            };
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            if child == MANIFEST {
                continue;
            }
            let meta = match fs::symlink_metadata(e.path()) {
                Ok(m) => m,
                Err(err) => {
                    findings.push(BundleFinding::new(
                        FindingKind::IoError,
                        &child,
                        err.to_string(),
                    ));
                    continue;
                }
            };
            let ft = meta.file_type();
            if ft.is_symlink() {
                findings.push(BundleFinding::new(
                    FindingKind::Symlink,
                    &child,
                    "is a symbolic link; bundles hold regular files only",
                ));
            } else if ft.is_dir() {
                if listed.contains(child.as_str()) {
                    findings.push(BundleFinding::new(
                        FindingKind::NotAFile,
                        &child,
                        "is a directory; the manifest lists it as a file",
                    ));
                } else if depth + 1 >= MAX_PATH_DEPTH {
                    findings.push(BundleFinding::new(
                        FindingKind::InvalidPath,
                        &child,
                        "nested deeper than any bundle path",
                    ));
                } else {
                    stack.push((e.path(), child, depth + 1));
                }
            } else if !ft.is_file() {
                findings.push(BundleFinding::new(
                    FindingKind::NotAFile,
                    &child,
                    "is neither a regular file nor a directory",
                ));
            } else if !listed.contains(child.as_str()) {
                findings.push(BundleFinding::new(
                    FindingKind::UnlistedFile,
                    &child,
                    "is in the directory but not in the manifest",
                ));
            }
        }
    }
}
