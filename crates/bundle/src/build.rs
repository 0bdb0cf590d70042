//! The builder: plain data and bytes in, a manifest and a list of files out. Pure: no clock,
//! no files, no randomness, so the same input and previous manifest give the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::carousel::module as air;
use crate::finding::{BundleFinding, FindingKind, format_findings};
use crate::kind::{FileKind, RoleKind};
use crate::manifest::{
    Community, FileEntry, Grid, Manifest, ModuleEntry, Role, content_digest, module_layout,
};
use crate::rules::{self, Limits};
use crate::sha::Sha256;

/// One file to put in a bundle: its path (whose first segment is its kind) and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Relative path, e.g. `screens/home.standard.json`, `notices/n-17.json`.
    pub path: String,
    /// The bytes, as the box will read them.
    pub bytes: Vec<u8>,
}

impl InputFile {
    /// A file.
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        InputFile {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

/// Everything one bundle is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInput {
    /// Community (with grids and the base reference) or base.
    pub role: Role,
    /// The time of the newest input (RFC 3339), e.g. the latest notice or vote time.
    pub newest_input: String,
    /// The files, in any order.
    pub files: Vec<InputFile>,
    /// Limits the build must stay within (the verifier's defaults unless told otherwise).
    pub limits: Limits,
}

impl BundleInput {
    /// A community's bundle input.
    pub fn community(
        community: Community,
        grids: Vec<Grid>,
        base: Sha256,
        newest_input: impl Into<String>,
        files: Vec<InputFile>,
    ) -> Self {
        BundleInput {
            role: Role::Community {
                community,
                grids,
                base,
            },
            newest_input: newest_input.into(),
            files,
            limits: Limits::default(),
        }
    }

    /// The base bundle's input.
    pub fn base(newest_input: impl Into<String>, files: Vec<InputFile>) -> Self {
        BundleInput {
            role: Role::Base,
            newest_input: newest_input.into(),
            files,
            limits: Limits::default(),
        }
    }

    /// The content digest the built manifest will carry: hashes every file, builds nothing.
    /// Compare it with a previous manifest's `content_sha256` to skip an unchanged community.
    pub fn content_sha256(&self) -> Sha256 {
        let mut listed: Vec<(&str, u64, Sha256)> = self
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.bytes.len() as u64, Sha256::of(&f.bytes)))
            .collect();
        listed.sort_by(|a, b| a.0.cmp(b.0));
        content_digest(&self.role, listed.iter().map(|(p, s, h)| (*p, *s, h)))
    }
}

/// What became of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildStatus {
    /// No previous manifest: version 1.
    New,
    /// The content changed: version = previous + 1.
    Changed,
    /// The content is the previous manifest's: the previous manifest is kept byte for byte.
    Unchanged,
}

/// A file of the built bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    /// Relative path inside the bundle directory.
    pub path: String,
    /// Bytes.
    pub bytes: Vec<u8>,
}

/// A built bundle: what to write into its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The manifest.
    pub manifest: Manifest,
    /// `manifest.xml`'s bytes.
    pub manifest_xml: Vec<u8>,
    /// Every content file, by path (`manifest.xml` not included).
    pub files: Vec<OutFile>,
    /// New, changed or unchanged.
    pub status: BuildStatus,
}

/// Why a build, write or city build failed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The input breaks the format's rules; each finding is named.
    #[error("the input breaks the bundle format:\n{}", format_findings(.0))]
    Invalid(Vec<BundleFinding>),
    /// The previous manifest belongs to another bundle.
    #[error("the previous manifest is for {found}, not {expected}")]
    PreviousMismatch {
        /// What the input is for.
        expected: String,
        /// What the previous manifest is for.
        found: String,
    },
    /// The previous bundle's manifest could not be parsed: refused rather than overwritten,
    /// since a new version 1 would look like a version going backwards to every box.
    #[error("{}: the previous manifest is refused:\n{}", .path.display(), format_findings(.findings))]
    PreviousRefused {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong with it.
        findings: Vec<BundleFinding>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn who(role: &Role) -> String {
    match role {
        Role::Community { community, .. } => format!("community {}", community.id),
        Role::Base => "the base bundle".into(),
    }
}

/// Checks the input against the format's rules; every finding at once.
fn check_input(input: &BundleInput) -> Vec<BundleFinding> {
    let mut out = Vec::new();
    let mut push = |kind, place: &str, msg: String| out.push(BundleFinding::new(kind, place, msg));
    if let Role::Community {
        community, grids, ..
    } = &input.role
    {
        if !rules::is_id(&community.id) {
            push(
                FindingKind::InvalidValue,
                "community",
                format!("id {:?} is not an identifier", community.id),
            );
        }
        for (what, v) in [
            ("name", &community.name),
            ("town", &community.town),
            ("district", &community.district),
        ] {
            if !rules::is_name(v) {
                push(
                    FindingKind::InvalidValue,
                    "community",
                    format!("{what} {v:?} must be 1 to 100 characters without control characters"),
                );
            }
        }
        if grids.len() > input.limits.max_grids {
            push(
                FindingKind::TooManyFiles,
                "grids",
                format!("{} grids; at most {}", grids.len(), input.limits.max_grids),
            );
        }
        let mut seen = BTreeSet::new();
        for g in grids {
            if !rules::is_id(&g.id) {
                push(
                    FindingKind::InvalidValue,
                    "grid",
                    format!("id {:?} is not an identifier", g.id),
                );
            }
            if !rules::is_name(&g.name) {
                push(
                    FindingKind::InvalidValue,
                    "grid",
                    format!("grid {}: name {:?} is not a name", g.id, g.name),
                );
            }
            if !seen.insert(g.id.as_str()) {
                push(
                    FindingKind::DuplicateName,
                    "grid",
                    format!("grid id {:?} appears twice", g.id),
                );
            }
        }
    }
    if !rules::is_rfc3339(&input.newest_input) {
        push(
            FindingKind::InvalidValue,
            "newest-input",
            format!("{:?} is not an RFC 3339 time", input.newest_input),
        );
    }
    if input.files.len() > input.limits.max_files {
        push(
            FindingKind::TooManyFiles,
            "files",
            format!(
                "{} files; at most {}",
                input.files.len(),
                input.limits.max_files
            ),
        );
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut raw = 0u64;
    for f in &input.files {
        if let Err((kind, msg)) = rules::check_path(&f.path, input.role.kind()) {
            push(kind, &f.path, msg);
        }
        if !seen.insert(f.path.as_str()) {
            push(FindingKind::DuplicateName, &f.path, "appears twice".into());
        }
        let size = f.bytes.len() as u64;
        raw += size;
        if size > input.limits.max_file_bytes {
            push(
                FindingKind::OversizedFile,
                &f.path,
                format!("{size} bytes; at most {}", input.limits.max_file_bytes),
            );
        }
    }
    // A path that is both a file and a directory cannot be written.
    let mut prev: Option<&str> = None;
    for p in &seen {
        if let Some(q) = prev
            && p.starts_with(q)
            && p.as_bytes().get(q.len()) == Some(&b'/')
        {
            push(
                FindingKind::DuplicateName,
                p,
                format!("{q} is both a file and a directory"),
            );
        }
        prev = Some(p);
    }
    if raw > input.limits.max_raw_bytes {
        push(
            FindingKind::OversizedBundle,
            "files",
            format!(
                "{raw} bytes of files; at most {}",
                input.limits.max_raw_bytes
            ),
        );
    }
    out
}

/// Builds a bundle from its input, given the manifest of the bundle it replaces.
///
/// - Same input and previous manifest: same bytes.
/// - Content (community, grids, base, files) equal to the previous manifest's: the previous
///   manifest is returned unchanged (status [`BuildStatus::Unchanged`]), whatever
///   `newest_input` says.
/// - Otherwise version = previous + 1 (1 without a previous), and each module keeps its
///   version and compressed size if its bytes did not change; a changed module's version is
///   the new bundle version. Only changed modules are compressed again.
pub fn build(input: &BundleInput, previous: Option<&Manifest>) -> Result<Built, BundleError> {
    let findings = check_input(input);
    if !findings.is_empty() {
        return Err(BundleError::Invalid(findings));
    }
    if let Some(prev) = previous {
        let same = match (&prev.role, &input.role) {
            (Role::Community { community: a, .. }, Role::Community { community: b, .. }) => {
                a.id == b.id
            }
            (Role::Base, Role::Base) => true,
            _ => false,
        };
        if !same {
            return Err(BundleError::PreviousMismatch {
                expected: who(&input.role),
                found: who(&prev.role),
            });
        }
    }

    let mut sorted: Vec<&crate::build::InputFile> = input.files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let hashes: Vec<Sha256> = sorted.iter().map(|f| Sha256::of(&f.bytes)).collect();
    let content = content_digest(
        &input.role,
        sorted
            .iter()
            .zip(&hashes)
            .map(|(f, h)| (f.path.as_str(), f.bytes.len() as u64, h)),
    );
    let out_files: Vec<OutFile> = sorted
        .iter()
        .map(|f| OutFile {
            path: f.path.clone(),
            bytes: f.bytes.clone(),
        })
        .collect();

    if let Some(prev) = previous
        && prev.content_sha256 == content
    {
        return Ok(Built {
            manifest: prev.clone(),
            manifest_xml: prev.to_xml(),
            files: out_files,
            status: BuildStatus::Unchanged,
        });
    }
    let version = previous.map_or(1, |p| p.version.saturating_add(1));
    let module_version = u32::try_from(version).unwrap_or(u32::MAX);

    let mut by_kind: BTreeMap<FileKind, Vec<usize>> = BTreeMap::new();
    for (i, f) in sorted.iter().enumerate() {
        if let Some(kind) = f.path.split('/').next().and_then(FileKind::parse) {
            by_kind.entry(kind).or_default().push(i);
        }
    }
    let mut modules = Vec::new();
    let mut file_module = vec![0u16; sorted.len()];
    let mut problems = Vec::new();
    for (kind, idx) in &by_kind {
        let sizes: Vec<u64> = idx.iter().map(|&i| sorted[i].bytes.len() as u64).collect();
        let (module_sizes, first) = module_layout(&sizes);
        if module_sizes.len() > kind.max_modules() {
            problems.push(BundleFinding::new(
                FindingKind::OversizedBundle,
                kind.as_str(),
                format!(
                    "{} modules; at most {}",
                    module_sizes.len(),
                    kind.max_modules()
                ),
            ));
            continue;
        }
        for (&i, m) in idx.iter().zip(first) {
            file_module[i] = kind.first_module_id() + m as u16;
        }
        let mut stream = Vec::with_capacity(sizes.iter().sum::<u64>() as usize);
        for &i in idx {
            stream.extend_from_slice(&sorted[i].bytes);
        }
        let mut at = 0usize;
        for (n, &size) in module_sizes.iter().enumerate() {
            let end = at + size as usize;
            let raw = &stream[at..end];
            at = end;
            let id = kind.first_module_id() + n as u16;
            let sha256 = Sha256::of(raw);
            let kept = previous.and_then(|p| {
                p.modules
                    .iter()
                    .find(|m| m.id == id && m.kind == *kind && m.sha256 == sha256 && m.size == size)
            });
            let entry = match kept {
                Some(m) => m.clone(),
                None => {
                    let (packed, compression) = air::encode(raw);
                    ModuleEntry {
                        id,
                        kind: *kind,
                        class: kind.class(),
                        version: module_version,
                        size,
                        sha256,
                        air_size: packed.len() as u64,
                        compression,
                    }
                }
            };
            modules.push(entry);
        }
    }
    let manifest = Manifest {
        role: input.role.clone(),
        version,
        newest_input: input.newest_input.clone(),
        content_sha256: content,
        modules,
        files: sorted
            .iter()
            .zip(&hashes)
            .zip(&file_module)
            .map(|((f, h), m)| FileEntry {
                path: f.path.clone(),
                size: f.bytes.len() as u64,
                sha256: *h,
                module: *m,
            })
            .collect(),
    };
    let air = manifest.air_bytes();
    let air_limit = match input.role.kind() {
        RoleKind::Community => input.limits.max_community_air_bytes,
        RoleKind::Base => input.limits.max_base_air_bytes,
    };
    if air > air_limit {
        problems.push(BundleFinding::new(
            FindingKind::OversizedBundle,
            "modules",
            format!("{air} bytes compressed on air; at most {air_limit}"),
        ));
    }
    if !problems.is_empty() {
        return Err(BundleError::Invalid(problems));
    }
    Ok(Built {
        manifest_xml: manifest.to_xml(),
        manifest,
        files: out_files,
        status: if previous.is_some() {
            BuildStatus::Changed
        } else {
            BuildStatus::New
        },
    })
}
