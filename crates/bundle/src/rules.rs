//! The format's rules on values, shared by the builder (which refuses bad input), the parser
//! and the verifier (which refuse bad bundles). `docs/bundle.xsd` states the same rules as
//! patterns; a change here is a change there.

use crate::finding::FindingKind;
use crate::kind::{FileKind, RoleKind};

/// The largest module, raw or on air: 64 KiB, as a DSM-CC object carousel's modules.
pub const MODULE_LIMIT: u64 = 64 * 1024;
/// The manifest format this code writes and reads.
pub const FORMAT: u32 = 1;
/// The longest path, in bytes (paths are ASCII).
pub const MAX_PATH_LEN: usize = 200;
/// The most segments in a path.
pub const MAX_PATH_DEPTH: usize = 8;
/// The longest segment of a path.
pub const MAX_SEGMENT_LEN: usize = 64;
/// The longest identifier (community, grid).
pub const MAX_ID_LEN: usize = 64;
/// The longest name (community, town, district, grid), in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Limits on sizes and counts. The defaults are what a community's channel needs with room to
/// spare; the verifier refuses anything larger before reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest `manifest.xml`.
    pub max_manifest_bytes: u64,
    /// The most files in one bundle.
    pub max_files: usize,
    /// The most grids in one community.
    pub max_grids: usize,
    /// The largest file.
    pub max_file_bytes: u64,
    /// The most raw bytes in one bundle (sum of file sizes).
    pub max_raw_bytes: u64,
    /// The most compressed bytes on air for a community's own content (its modules, not the
    /// manifest): the budget of 32 KB, read as 32 KiB.
    pub max_community_air_bytes: u64,
    /// The most compressed bytes on air for the base bundle.
    pub max_base_air_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 1024 * 1024,
            max_files: 4096,
            max_grids: 256,
            max_file_bytes: 8 * 1024 * 1024,
            max_raw_bytes: 32 * 1024 * 1024,
            max_community_air_bytes: 32 * 1024,
            max_base_air_bytes: 16 * 1024 * 1024,
        }
    }
}

/// An identifier: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
pub fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ID_LEN
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A name: 1 to 100 characters, none of them a control character (so the canonical content
/// text, which separates fields with tabs and newlines, stays unambiguous).
pub fn is_name(s: &str) -> bool {
    let n = s.chars().count();
    (1..=MAX_NAME_CHARS).contains(&n) && !s.chars().any(char::is_control)
}

/// An RFC 3339 time with seconds and an offset: `2026-11-27T21:00:00Z`,
/// `2026-11-27T21:00:00.5+08:00`. Checked by hand so the rule is exactly the schema's pattern.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    fn digits(b: &[u8], from: usize, n: usize) -> Option<u32> {
        let part = b.get(from..from + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
    }
    let ok = (|| {
        let _year = digits(b, 0, 4)?;
        let month = digits(b, 5, 2)?;
        let day = digits(b, 8, 2)?;
        let hour = digits(b, 11, 2)?;
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        if b.get(4) != Some(&b'-')
            || b.get(7) != Some(&b'-')
            || b.get(10) != Some(&b'T')
            || b.get(13) != Some(&b':')
            || b.get(16) != Some(&b':')
        {
            return None;
        }
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start || i - start > 9 {
                return None;
            }
        }
        match b.get(i) {
            Some(b'Z') => (i + 1 == b.len()).then_some(()),
            Some(b'+') | Some(b'-') => {
                let oh = digits(b, i + 1, 2)?;
                let om = digits(b, i + 4, 2)?;
                (b.get(i + 3) == Some(&b':') && oh <= 23 && om <= 59 && i + 6 == b.len())
                    .then_some(())
            }
            _ => None,
        }
    })();
    ok.is_some()
}

/// Checks a file's path for a bundle of `role` and returns its kind, or the named reason it is
/// refused. Paths are relative, `/`-separated, ASCII: segments of `[A-Za-z0-9_-][A-Za-z0-9._-]*`
/// (so no `.`, `..` or hidden names), the first segment a kind of that role.
pub fn check_path(path: &str, role: RoleKind) -> Result<FileKind, (FindingKind, String)> {
    if path.starts_with('/') || path.starts_with('\\') || path.as_bytes().get(1) == Some(&b':') {
        return Err((
            FindingKind::AbsolutePath,
            format!("{path:?} is absolute; paths are relative to the bundle directory"),
        ));
    }
    if path.split(['/', '\\']).any(|s| s == "..") {
        return Err((
            FindingKind::PathEscape,
            format!("{path:?} has a `..` segment and would leave the bundle directory"),
        ));
    }
    if path.len() > MAX_PATH_LEN {
        return Err((
            FindingKind::InvalidPath,
            format!("path is {} bytes long; at most {MAX_PATH_LEN}", path.len()),
        ));
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < 2 || segments.len() > MAX_PATH_DEPTH {
        return Err((
            FindingKind::InvalidPath,
            format!(
                "{path:?} must be a kind directory then 1 to {} more segments",
                MAX_PATH_DEPTH - 1
            ),
        ));
    }
    for seg in &segments {
        let b = seg.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= MAX_SEGMENT_LEN
            && (b[0].is_ascii_alphanumeric() || matches!(b[0], b'_' | b'-'))
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
        if !ok {
            return Err((
                FindingKind::InvalidPath,
                format!(
                    "{path:?}: segment {seg:?} must be 1 to {MAX_SEGMENT_LEN} of A-Z a-z 0-9 . _ - \
                     and must not start with a dot"
                ),
            ));
        }
    }
    match FileKind::parse(segments[0]) {
        Some(kind) if kind.role() == role => Ok(kind),
        _ => {
            let allowed: Vec<&str> = FileKind::ALL
                .iter()
                .filter(|k| k.role() == role)
                .map(|k| k.as_str())
                .collect();
            Err((
                FindingKind::UnknownKind,
                format!(
                    "{path:?}: the first directory must be one of {}",
                    allowed.join(", ")
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for ok in [
            "2026-11-27T21:00:00Z",
            "2026-11-27T21:00:00.123+08:00",
            "2026-02-01T00:00:60-05:30",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-11-27",
            "2026-13-27T21:00:00Z",
            "2026-11-27 21:00:00Z",
            "2026-11-27T21:00:00",
            "2026-11-27T21:00:00.Z",
            "2026-11-27T21:00:00Z ",
            "2026-11-27T21:00:00+8:00",
            "２026-11-27T21:00:00Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(
            check_path("screens/home.standard.json", RoleKind::Community),
            Ok(FileKind::Screens)
        );
        let kind = |p: &str| check_path(p, RoleKind::Community).map_err(|e| e.0);
        assert_eq!(kind("/etc/passwd"), Err(FindingKind::AbsolutePath));
        assert_eq!(kind("C:/x"), Err(FindingKind::AbsolutePath));
        assert_eq!(kind("screens/../../x"), Err(FindingKind::PathEscape));
        assert_eq!(kind("screens/.hidden"), Err(FindingKind::InvalidPath));
        assert_eq!(kind("screens//a"), Err(FindingKind::InvalidPath));
        assert_eq!(kind("screens"), Err(FindingKind::InvalidPath));
        assert_eq!(kind("fonts/a.otf"), Err(FindingKind::UnknownKind));
        assert_eq!(kind("screens/首页.json"), Err(FindingKind::InvalidPath));
    }

    #[test]
    fn names_and_ids() {
        assert!(is_id("c-320213001001"));
        assert!(!is_id("-x"));
        assert!(!is_id(""));
        assert!(is_name("崇宁路社区"));
        assert!(!is_name("a\tb"));
        assert!(!is_name(""));
    }
}
