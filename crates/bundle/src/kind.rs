//! What a file is, decided by the first segment of its path, and therefore which modules it
//! travels in and how often the carousel repeats them.

use std::fmt;

/// Whether a role's bundle is a community's own bundle or the city's shared base bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleKind {
    /// One community's bundle (`<bundle>`).
    Community,
    /// The shared base bundle (`<base-bundle>`).
    Base,
}

/// How often a module changes, and so where the carousel puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleClass {
    /// Changes with every notice or vote: small modules, repeated several times a cycle.
    Hot,
    /// Changes with a topic's stage or a screen's layout: carried once a cycle.
    Cold,
}

impl ModuleClass {
    /// The manifest's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleClass::Hot => "hot",
            ModuleClass::Cold => "cold",
        }
    }

    /// Parses the manifest's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hot" => Some(ModuleClass::Hot),
            "cold" => Some(ModuleClass::Cold),
            _ => None,
        }
    }
}

/// The kind of a file: the first segment of its path. Each kind travels in modules of its own,
/// so a new notice never touches a screen's module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// `notices/`: notices with their target grids (hot).
    Notices,
    /// `tallies/`: vote counts per topic (hot).
    Tallies,
    /// `topics/`: topics and their ballots (cold).
    Topics,
    /// `comments/`: accepted comments (cold).
    Comments,
    /// `screens/`: layout documents, both themes (cold).
    Screens,
    /// `theme/` (base bundle).
    Theme,
    /// `icons/` (base bundle).
    Icons,
    /// `images/` (base bundle).
    Images,
    /// `fonts/` (base bundle).
    Fonts,
}

impl FileKind {
    /// Every kind, in module order (the order the manifest lists modules).
    pub const ALL: [FileKind; 9] = [
        FileKind::Notices,
        FileKind::Tallies,
        FileKind::Topics,
        FileKind::Comments,
        FileKind::Screens,
        FileKind::Theme,
        FileKind::Icons,
        FileKind::Images,
        FileKind::Fonts,
    ];

    /// The directory name, which is also the manifest's `kind` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Notices => "notices",
            FileKind::Tallies => "tallies",
            FileKind::Topics => "topics",
            FileKind::Comments => "comments",
            FileKind::Screens => "screens",
            FileKind::Theme => "theme",
            FileKind::Icons => "icons",
            FileKind::Images => "images",
            FileKind::Fonts => "fonts",
        }
    }

    /// Parses a directory name.
    pub fn parse(s: &str) -> Option<Self> {
        FileKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The bundle role whose files may have this kind.
    pub fn role(self) -> RoleKind {
        match self {
            FileKind::Notices
            | FileKind::Tallies
            | FileKind::Topics
            | FileKind::Comments
            | FileKind::Screens => RoleKind::Community,
            FileKind::Theme | FileKind::Icons | FileKind::Images | FileKind::Fonts => {
                RoleKind::Base
            }
        }
    }

    /// Hot kinds change with every push or vote; they get small modules of their own.
    pub fn class(self) -> ModuleClass {
        match self {
            FileKind::Notices | FileKind::Tallies => ModuleClass::Hot,
            _ => ModuleClass::Cold,
        }
    }

    /// The first module id of this kind: module ids are `first_module_id + index`, so a kind
    /// keeps its ids from version to version and a box can tell which module is which.
    pub fn first_module_id(self) -> u16 {
        match self {
            FileKind::Notices | FileKind::Theme => 0x0100,
            FileKind::Tallies | FileKind::Icons => 0x0200,
            FileKind::Topics | FileKind::Images => 0x0300,
            FileKind::Comments => 0x0400,
            FileKind::Screens | FileKind::Fonts => 0x1000,
        }
    }

    /// How many modules a kind may use before its ids would run into the next kind's.
    pub fn max_modules(self) -> usize {
        match self {
            FileKind::Screens | FileKind::Fonts => 0xF000 - 1,
            _ => 0x100,
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
