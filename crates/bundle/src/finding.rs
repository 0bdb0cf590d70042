//! Findings: every reason a bundle (or a builder's input) is refused, each with a stable name
//! that tools and tests match on, a place (file and line, or a path) and a message for the
//! person at the terminal.

use std::fmt;

/// Why a bundle is refused. The names (`as_str`) are stable: scripts and tests match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// `manifest.xml` is not well-formed XML, not UTF-8, or lacks a required element or
    /// attribute, or breaks an ordering rule.
    MalformedManifest,
    /// A DOCTYPE (and with it any entity declaration) is present: refused outright, so no
    /// entity can expand.
    DoctypeRefused,
    /// An element the schema does not allow at that place.
    UnknownElement,
    /// An attribute the schema does not allow on that element.
    UnknownAttribute,
    /// An attribute's value does not match its type (number, hash, time, identifier, name).
    InvalidValue,
    /// `format` is not one this code reads.
    UnsupportedFormat,
    /// `manifest.xml` is larger than the limit.
    OversizedManifest,
    /// A path with a character, segment or length the format does not allow.
    InvalidPath,
    /// A path with a `..` segment.
    PathEscape,
    /// A path starting with `/` or a drive letter.
    AbsolutePath,
    /// A symbolic link in the bundle directory.
    Symlink,
    /// Something that is neither a regular file nor a directory, or a directory where a file
    /// is listed.
    NotAFile,
    /// Two files, modules or grids with the same name or id.
    DuplicateName,
    /// A path whose first segment is not a kind this role of bundle carries.
    UnknownKind,
    /// A file in the directory that the manifest does not list.
    UnlistedFile,
    /// A file the manifest lists that is not in the directory.
    MissingFile,
    /// A file whose size differs from the manifest's.
    SizeMismatch,
    /// A file whose SHA-256 differs from the manifest's.
    HashMismatch,
    /// A module whose size, hash, kind, class or file assignment differs from what the files
    /// make.
    ModuleMismatch,
    /// `content-sha256` is not the digest of what the manifest lists.
    ContentMismatch,
    /// A file larger than the limit.
    OversizedFile,
    /// A module larger than 64 KiB (raw or on air).
    OversizedModule,
    /// A bundle larger than the limit (raw bytes, or compressed bytes on air).
    OversizedBundle,
    /// More files, modules or grids than the limit.
    TooManyFiles,
    /// The version is lower than the previously accepted one.
    VersionBackwards,
    /// The base bundle reference is not the expected base.
    WrongBase,
    /// The bundle is of the other role (a base where a community was expected, or another
    /// community than expected).
    WrongBundle,
    /// The directory could not be read.
    IoError,
}

impl FindingKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [FindingKind; 28] = [
        FindingKind::MalformedManifest,
        FindingKind::DoctypeRefused,
        FindingKind::UnknownElement,
        FindingKind::UnknownAttribute,
        FindingKind::InvalidValue,
        FindingKind::UnsupportedFormat,
        FindingKind::OversizedManifest,
        FindingKind::InvalidPath,
        FindingKind::PathEscape,
        FindingKind::AbsolutePath,
        FindingKind::Symlink,
        FindingKind::NotAFile,
        FindingKind::DuplicateName,
        FindingKind::UnknownKind,
        FindingKind::UnlistedFile,
        FindingKind::MissingFile,
        FindingKind::SizeMismatch,
        FindingKind::HashMismatch,
        FindingKind::ModuleMismatch,
        FindingKind::ContentMismatch,
        FindingKind::OversizedFile,
        FindingKind::OversizedModule,
        FindingKind::OversizedBundle,
        FindingKind::TooManyFiles,
        FindingKind::VersionBackwards,
        FindingKind::WrongBase,
        FindingKind::WrongBundle,
        FindingKind::IoError,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::MalformedManifest => "malformed_manifest",
            FindingKind::DoctypeRefused => "doctype_refused",
            FindingKind::UnknownElement => "unknown_element",
            FindingKind::UnknownAttribute => "unknown_attribute",
            FindingKind::InvalidValue => "invalid_value",
            FindingKind::UnsupportedFormat => "unsupported_format",
            FindingKind::OversizedManifest => "oversized_manifest",
            FindingKind::InvalidPath => "invalid_path",
            FindingKind::PathEscape => "path_escape",
            FindingKind::AbsolutePath => "absolute_path",
            FindingKind::Symlink => "symlink",
            FindingKind::NotAFile => "not_a_file",
            FindingKind::DuplicateName => "duplicate_name",
            FindingKind::UnknownKind => "unknown_kind",
            FindingKind::UnlistedFile => "unlisted_file",
            FindingKind::MissingFile => "missing_file",
            FindingKind::SizeMismatch => "size_mismatch",
            FindingKind::HashMismatch => "hash_mismatch",
            FindingKind::ModuleMismatch => "module_mismatch",
            FindingKind::ContentMismatch => "content_mismatch",
            FindingKind::OversizedFile => "oversized_file",
            FindingKind::OversizedModule => "oversized_module",
            FindingKind::OversizedBundle => "oversized_bundle",
            FindingKind::TooManyFiles => "too_many_files",
            FindingKind::VersionBackwards => "version_backwards",
            FindingKind::WrongBase => "wrong_base",
            FindingKind::WrongBundle => "wrong_bundle",
            FindingKind::IoError => "io_error",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        FindingKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason for refusal, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFinding {
    /// The stable name.
    pub kind: FindingKind,
    /// Where: `manifest.xml line 12`, or a path inside the bundle.
    pub place: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl BundleFinding {
    /// A finding.
    pub fn new(kind: FindingKind, place: impl Into<String>, message: impl Into<String>) -> Self {
        BundleFinding {
            kind,
            place: place.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for BundleFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.place, self.kind, self.message)
    }
}

/// Formats findings one a line.
pub fn format_findings(findings: &[BundleFinding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&f.to_string());
        out.push('\n');
    }
    out
}
