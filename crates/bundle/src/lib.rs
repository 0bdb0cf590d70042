//! Broadcast bundles: what the cable headend carousels for each community, and what that costs
//! on air.
//!
//! A community's bundle is a directory: `manifest.xml` plus its files (layout documents,
//! topics, tallies, comments, notices). The manifest names the community and its grids, the
//! version, the time of the newest input, the shared base bundle (by its content digest), every
//! file with its size and SHA-256, and the 64 KiB modules the files travel in. The format is
//! documented in `docs/bundle.md`, the manifest's schema in `docs/bundle.xsd`.
//!
//! This crate knows the format and nothing of where the content comes from: it takes plain
//! data and bytes. It does no I/O except in [`dir`] (writing a bundle directory atomically,
//! building a city) and [`verify`] (reading one back), and never reads the clock.
//!
//! - [`build()`]: input and the previous manifest in, a manifest and files out. Same input,
//!   same bytes; the version rises only when the content changed.
//! - [`write_dir`], [`build_city`]: on disk.
//! - [`verify_dir`], [`load_dir`]: every finding, each with a stable name
//!   ([`FindingKind::as_str`]); nothing is handed out before all of it verified.
//! - [`diff()`]: what changed between two manifests.
//! - [`carousel`]: the carousel model, per district.
//!
//! ```
//! use bundle::{build, BundleInput, Community, Grid, InputFile, Sha256, BuildStatus, diff};
//!
//! let community = Community {
//!     id: "c-0001".into(),
//!     name: "崇宁路社区".into(),
//!     town: "崇安寺街道".into(),
//!     district: "梁溪区".into(),
//! };
//! let grids = vec![Grid { id: "g1".into(), name: "第一网格".into() }];
//! let mut input = BundleInput::community(
//!     community,
//!     grids,
//!     Sha256::of(b"the base bundle"),
//!     "2026-11-27T21:00:00+08:00",
//!     vec![
//!         InputFile::new("screens/home.standard.json", br#"{"format":1,"screen":"home"}"#.to_vec()),
//!         InputFile::new("notices/n-1.json", r#"{"id":1,"title":"停水通知"}"#.as_bytes().to_vec()),
//!     ],
//! );
//! let first = build(&input, None).unwrap();
//! assert_eq!(first.manifest.version, 1);
//!
//! // Same input: nothing changes, the previous bundle is kept byte for byte.
//! let again = build(&input, Some(&first.manifest)).unwrap();
//! assert_eq!(again.status, BuildStatus::Unchanged);
//! assert_eq!(again.manifest_xml, first.manifest_xml);
//!
//! // A new notice: version 2, and only the notices module changes.
//! input.files.push(InputFile::new("notices/n-2.json", br#"{"id":2}"#.to_vec()));
//! input.newest_input = "2026-11-27T21:05:00+08:00".into();
//! let second = build(&input, Some(&first.manifest)).unwrap();
//! assert_eq!(second.manifest.version, 2);
//! let changes = diff(&first.manifest, &second.manifest);
//! assert!(changes.iter().any(|c| c.to_string() == "+ file notices/n-2.json (8 bytes)"));
//! ```

pub mod build;
pub mod carousel;
pub mod diff;
pub mod dir;
pub mod finding;
pub mod kind;
pub mod manifest;
pub mod rules;
pub mod sha;
pub mod verify;

pub use build::{BuildStatus, Built, BundleError, BundleInput, InputFile, OutFile, build};
pub use carousel::{
    CarouselParams, DistrictRow, ManifestSummary, carousel_table, carousel_table_with,
    format_table, parse_bitrate,
};
pub use diff::{Change, diff};
pub use dir::{CityItem, CityOutcome, MANIFEST, build_city, read_city, read_manifest, write_dir};
pub use finding::{BundleFinding, FindingKind};
pub use kind::{FileKind, ModuleClass, RoleKind};
pub use manifest::{
    Community, Compression, FileEntry, Grid, Manifest, ModuleEntry, Role, parse_manifest,
};
pub use rules::Limits;
pub use sha::Sha256;
pub use verify::{LoadedBundle, VerifiedBundle, VerifyOptions, load_dir, verify_dir};
