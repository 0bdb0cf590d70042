//! What changed between two manifests of the same bundle, for `shangyi bundle diff OLD NEW`.

use std::collections::BTreeMap;
use std::fmt;

use crate::manifest::{Manifest, Role};
use crate::sha::Sha256;

/// One difference between two manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The bundle version.
    Version {
        /// Old version.
        old: u64,
        /// New version.
        new: u64,
    },
    /// The newest input time.
    NewestInput {
        /// Old time.
        old: String,
        /// New time.
        new: String,
    },
    /// The bundles are of different roles or communities.
    Bundle {
        /// Old bundle.
        old: String,
        /// New bundle.
        new: String,
    },
    /// A field of the community (`name`, `town`, `district`).
    Community {
        /// Which field.
        field: &'static str,
        /// Old value.
        old: String,
        /// New value.
        new: String,
    },
    /// A grid added.
    GridAdded {
        /// Its id.
        id: String,
    },
    /// A grid removed.
    GridRemoved {
        /// Its id.
        id: String,
    },
    /// A grid renamed.
    GridRenamed {
        /// Its id.
        id: String,
        /// Old name.
        old: String,
        /// New name.
        new: String,
    },
    /// The base bundle reference.
    Base {
        /// Old digest.
        old: Sha256,
        /// New digest.
        new: Sha256,
    },
    /// A file added.
    FileAdded {
        /// Path.
        path: String,
        /// Bytes.
        size: u64,
    },
    /// A file removed.
    FileRemoved {
        /// Path.
        path: String,
    },
    /// A file whose bytes changed.
    FileChanged {
        /// Path.
        path: String,
        /// Old size.
        old_size: u64,
        /// New size.
        new_size: u64,
    },
    /// A module added.
    ModuleAdded {
        /// Id.
        id: u16,
        /// Bytes on air.
        air_size: u64,
    },
    /// A module removed.
    ModuleRemoved {
        /// Id.
        id: u16,
    },
    /// A module whose bytes changed (a box re-acquires it).
    ModuleChanged {
        /// Id.
        id: u16,
        /// Old module version.
        old_version: u32,
        /// New module version.
        new_version: u32,
        /// Old bytes on air.
        old_air_size: u64,
        /// New bytes on air.
        new_air_size: u64,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Version { old, new } => write!(f, "version {old} -> {new}"),
            Change::NewestInput { old, new } => write!(f, "newest-input {old} -> {new}"),
            Change::Bundle { old, new } => write!(f, "bundle {old} -> {new}"),
            Change::Community { field, old, new } => {
                write!(f, "community {field} {old:?} -> {new:?}")
            }
            Change::GridAdded { id } => write!(f, "+ grid {id}"),
            Change::GridRemoved { id } => write!(f, "- grid {id}"),
            Change::GridRenamed { id, old, new } => write!(f, "~ grid {id} {old:?} -> {new:?}"),
            Change::Base { old, new } => write!(f, "base {old} -> {new}"),
            Change::FileAdded { path, size } => write!(f, "+ file {path} ({size} bytes)"),
            Change::FileRemoved { path } => write!(f, "- file {path}"),
            Change::FileChanged {
                path,
                old_size,
                new_size,
            } => write!(f, "~ file {path} ({old_size} -> {new_size} bytes)"),
            Change::ModuleAdded { id, air_size } => {
                write!(f, "+ module {id} ({air_size} bytes on air)")
            }
            Change::ModuleRemoved { id } => write!(f, "- module {id}"),
            Change::ModuleChanged {
                id,
                old_version,
                new_version,
                old_air_size,
                new_air_size,
            } => write!(
                f,
                "~ module {id} v{old_version} -> v{new_version} ({old_air_size} -> {new_air_size} bytes on air)"
            ),
        }
    }
}

fn label(m: &Manifest) -> String {
    match &m.role {
        Role::Community { community, .. } => format!("community {}", community.id),
        Role::Base => "base".into(),
    }
}

/// Lists what changed from `old` to `new`: header fields first, then grids, files and modules
/// in order. Equal manifests give an empty list.
pub fn diff(old: &Manifest, new: &Manifest) -> Vec<Change> {
    let mut out = Vec::new();
    if label(old) != label(new) {
        out.push(Change::Bundle {
            old: label(old),
            new: label(new),
        });
    }
    if old.version != new.version {
        out.push(Change::Version {
            old: old.version,
            new: new.version,
        });
    }
    if old.newest_input != new.newest_input {
        out.push(Change::NewestInput {
            old: old.newest_input.clone(),
            new: new.newest_input.clone(),
        });
    }
    if let (
        Role::Community {
            community: oc,
            grids: og,
            base: ob,
        },
        Role::Community {
            community: nc,
            grids: ng,
            base: nb,
        },
    ) = (&old.role, &new.role)
    {
        for (field, o, n) in [
            ("name", &oc.name, &nc.name),
            ("town", &oc.town, &nc.town),
            ("district", &oc.district, &nc.district),
        ] {
            if o != n {
                out.push(Change::Community {
                    field,
                    old: o.clone(),
                    new: n.clone(),
                });
            }
        }
        let og: BTreeMap<&str, &str> = og
            .iter()
            .map(|g| (g.id.as_str(), g.name.as_str()))
            .collect();
        let ng: BTreeMap<&str, &str> = ng
            .iter()
            .map(|g| (g.id.as_str(), g.name.as_str()))
            .collect();
        for (id, name) in &og {
            match ng.get(id) {
                None => out.push(Change::GridRemoved { id: id.to_string() }),
                Some(n) if n != name => out.push(Change::GridRenamed {
                    id: id.to_string(),
                    old: name.to_string(),
                    new: n.to_string(),
                }),
                _ => {}
            }
        }
        for id in ng.keys() {
            if !og.contains_key(id) {
                out.push(Change::GridAdded { id: id.to_string() });
            }
        }
        if ob != nb {
            out.push(Change::Base { old: *ob, new: *nb });
        }
    }
    let of: BTreeMap<&str, _> = old.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let nf: BTreeMap<&str, _> = new.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut paths: Vec<&str> = of.keys().chain(nf.keys()).copied().collect();
    paths.sort_unstable();
    paths.dedup();
    for p in paths {
        match (of.get(p), nf.get(p)) {
            (Some(_), None) => out.push(Change::FileRemoved { path: p.into() }),
            (None, Some(n)) => out.push(Change::FileAdded {
                path: p.into(),
                size: n.size,
            }),
            (Some(o), Some(n)) if o.sha256 != n.sha256 || o.size != n.size => {
                out.push(Change::FileChanged {
                    path: p.into(),
                    old_size: o.size,
                    new_size: n.size,
                })
            }
            _ => {}
        }
    }
    let om: BTreeMap<u16, _> = old.modules.iter().map(|m| (m.id, m)).collect();
    let nm: BTreeMap<u16, _> = new.modules.iter().map(|m| (m.id, m)).collect();
    let mut ids: Vec<u16> = om.keys().chain(nm.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        match (om.get(&id), nm.get(&id)) {
            (Some(_), None) => out.push(Change::ModuleRemoved { id }),
            (None, Some(n)) => out.push(Change::ModuleAdded {
                id,
                air_size: n.air_size,
            }),
            (Some(o), Some(n))
                if o.sha256 != n.sha256 || o.size != n.size || o.version != n.version =>
            {
                out.push(Change::ModuleChanged {
                    id,
                    old_version: o.version,
                    new_version: n.version,
                    old_air_size: o.air_size,
                    new_air_size: n.air_size,
                })
            }
            _ => {}
        }
    }
    out
}
