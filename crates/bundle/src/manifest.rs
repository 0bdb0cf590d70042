//! `manifest.xml`: the types, the writer and the parser.
//!
//! The parser never panics and never stops at the first problem it can get past: it returns the
//! manifest, or every finding with its line. It refuses a DOCTYPE (so no entity is ever declared
//! or expanded), processing instructions, CDATA and text content, and bounds the input size,
//! the nesting depth and the number of elements before it builds anything.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};

use crate::finding::{BundleFinding, FindingKind};
use crate::kind::{FileKind, ModuleClass, RoleKind};
use crate::rules::{self, FORMAT, Limits, MODULE_LIMIT};
use crate::sha::{Incremental, Sha256};

/// The community a bundle is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Community {
    /// Identifier (`[A-Za-z0-9][A-Za-z0-9._-]{0,63}`); also the bundle's directory name.
    pub id: String,
    /// The community's (or village's) name.
    pub name: String,
    /// Its town or subdistrict.
    pub town: String,
    /// Its district: the carousel is per district.
    pub district: String,
}

/// A grid of the community; notices name the grids they target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grid {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Which bundle this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A community's own bundle, pointing at the shared base by its content digest.
    Community {
        /// The community.
        community: Community,
        /// Its grids, in the order given.
        grids: Vec<Grid>,
        /// The `content-sha256` of the base bundle it is drawn with.
        base: Sha256,
    },
    /// The city's shared base bundle (theme, icons, images, fonts).
    Base,
}

impl Role {
    /// Community or base.
    pub fn kind(&self) -> RoleKind {
        match self {
            Role::Community { .. } => RoleKind::Community,
            Role::Base => RoleKind::Base,
        }
    }
}

/// How a module's bytes are put on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Raw DEFLATE (RFC 1951) by miniz_oxide at level 9.
    Deflate,
    /// Stored as is, when DEFLATE would not make it smaller.
    None,
}

impl Compression {
    /// The manifest's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Deflate => "deflate",
            Compression::None => "none",
        }
    }
}

/// A module: a run of at most 64 KiB of one kind's files laid end to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleEntry {
    /// DSM-CC module id: `kind.first_module_id() + index`.
    pub id: u16,
    /// The kind of the files in it.
    pub kind: FileKind,
    /// Hot or cold (follows from the kind; written so a headend need not know the kinds).
    pub class: ModuleClass,
    /// Rises by one each time the module's bytes change, so a box re-acquires only changed
    /// modules (DSM-CC moduleVersion, which wraps at 256 on air).
    pub version: u32,
    /// Raw bytes.
    pub size: u64,
    /// SHA-256 of the raw bytes.
    pub sha256: Sha256,
    /// Bytes on air after compression.
    pub air_size: u64,
    /// How the bytes are put on air.
    pub compression: Compression,
}

/// A file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative path, `/`-separated; its first segment is its kind.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of its bytes.
    pub sha256: Sha256,
    /// The module holding its first byte.
    pub module: u16,
}

/// A parsed or built `manifest.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Community bundle or base bundle.
    pub role: Role,
    /// Bundle version, from 1, rising by one with each change of content.
    pub version: u64,
    /// The time of the newest input the bundle holds (RFC 3339), given by the caller.
    pub newest_input: String,
    /// SHA-256 of the canonical content text (see `docs/bundle.md`): community, grids, base
    /// and every file's path, size and digest. Equal content, equal digest.
    pub content_sha256: Sha256,
    /// Modules, by id.
    pub modules: Vec<ModuleEntry>,
    /// Files, by path (byte order).
    pub files: Vec<FileEntry>,
}

/// The canonical content text's digest. `files` must be sorted by path.
pub(crate) fn content_digest<'a>(
    role: &Role,
    files: impl Iterator<Item = (&'a str, u64, &'a Sha256)>,
) -> Sha256 {
    let mut h = Incremental::new();
    match role {
        Role::Community {
            community,
            grids,
            base,
        } => {
            h.update(b"shangyi-bundle 1\n");
            h.update(
                format!(
                    "community\t{}\t{}\t{}\t{}\n",
                    community.id, community.name, community.town, community.district
                )
                .as_bytes(),
            );
            for g in grids {
                h.update(format!("grid\t{}\t{}\n", g.id, g.name).as_bytes());
            }
            h.update(format!("base\t{base}\n").as_bytes());
        }
        Role::Base => h.update(b"shangyi-base-bundle 1\n"),
    }
    for (path, size, sha) in files {
        h.update(format!("file\t{path}\t{size}\t{sha}\n").as_bytes());
    }
    h.finish()
}

impl Manifest {
    /// The community, for a community bundle.
    pub fn community(&self) -> Option<&Community> {
        match &self.role {
            Role::Community { community, .. } => Some(community),
            Role::Base => None,
        }
    }

    /// The base reference, for a community bundle.
    pub fn base(&self) -> Option<Sha256> {
        match &self.role {
            Role::Community { base, .. } => Some(*base),
            Role::Base => None,
        }
    }

    /// Raw bytes of all files.
    pub fn raw_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Compressed bytes of all modules (the manifest itself not included).
    pub fn air_bytes(&self) -> u64 {
        self.modules.iter().map(|m| m.air_size).sum()
    }

    /// Recomputes `content-sha256` from the rest of the manifest.
    pub fn compute_content_sha256(&self) -> Sha256 {
        content_digest(
            &self.role,
            self.files
                .iter()
                .map(|f| (f.path.as_str(), f.size, &f.sha256)),
        )
    }

    /// Writes the manifest. The same manifest always gives the same bytes.
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        // Writing to a Vec cannot fail; the results are ignored for that reason.
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let root = match self.role {
            Role::Community { .. } => "bundle",
            Role::Base => "base-bundle",
        };
        let mut start = BytesStart::new(root);
        let version = self.version.to_string();
        let content = self.content_sha256.to_hex();
        start.push_attribute(("format", FORMAT.to_string().as_str()));
        start.push_attribute(("version", version.as_str()));
        start.push_attribute(("newest-input", self.newest_input.as_str()));
        start.push_attribute(("content-sha256", content.as_str()));
        let _ = w.write_event(Event::Start(start));
        if let Role::Community {
            community,
            grids,
            base,
        } = &self.role
        {
            let mut c = BytesStart::new("community");
            c.push_attribute(("id", community.id.as_str()));
            c.push_attribute(("name", community.name.as_str()));
            c.push_attribute(("town", community.town.as_str()));
            c.push_attribute(("district", community.district.as_str()));
            let _ = w.write_event(Event::Empty(c));
            if grids.is_empty() {
                let _ = w.write_event(Event::Empty(BytesStart::new("grids")));
            } else {
                let _ = w.write_event(Event::Start(BytesStart::new("grids")));
                for g in grids {
                    let mut e = BytesStart::new("grid");
                    e.push_attribute(("id", g.id.as_str()));
                    e.push_attribute(("name", g.name.as_str()));
                    let _ = w.write_event(Event::Empty(e));
                }
                let _ = w.write_event(Event::End(BytesEnd::new("grids")));
            }
            let mut b = BytesStart::new("base");
            b.push_attribute(("sha256", base.to_hex().as_str()));
            let _ = w.write_event(Event::Empty(b));
        }
        if self.modules.is_empty() {
            let _ = w.write_event(Event::Empty(BytesStart::new("modules")));
        } else {
            let _ = w.write_event(Event::Start(BytesStart::new("modules")));
            for m in &self.modules {
                let mut e = BytesStart::new("module");
                e.push_attribute(("id", m.id.to_string().as_str()));
                e.push_attribute(("kind", m.kind.as_str()));
                e.push_attribute(("class", m.class.as_str()));
                e.push_attribute(("version", m.version.to_string().as_str()));
                e.push_attribute(("size", m.size.to_string().as_str()));
                e.push_attribute(("sha256", m.sha256.to_hex().as_str()));
                e.push_attribute(("air-size", m.air_size.to_string().as_str()));
                e.push_attribute(("compression", m.compression.as_str()));
                let _ = w.write_event(Event::Empty(e));
            }
            let _ = w.write_event(Event::End(BytesEnd::new("modules")));
        }
        if self.files.is_empty() {
            let _ = w.write_event(Event::Empty(BytesStart::new("files")));
        } else {
            let _ = w.write_event(Event::Start(BytesStart::new("files")));
            for f in &self.files {
                let mut e = BytesStart::new("file");
                e.push_attribute(("path", f.path.as_str()));
                e.push_attribute(("size", f.size.to_string().as_str()));
                e.push_attribute(("sha256", f.sha256.to_hex().as_str()));
                e.push_attribute(("module", f.module.to_string().as_str()));
                let _ = w.write_event(Event::Empty(e));
            }
            let _ = w.write_event(Event::End(BytesEnd::new("files")));
        }
        let _ = w.write_event(Event::End(BytesEnd::new(root)));
        let mut out = w.into_inner();
        out.push(b'\n');
        out
    }

    /// Parses `manifest.xml` with the default limits. See [`parse_manifest`].
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Vec<BundleFinding>> {
        parse_manifest(bytes, &Limits::default())
    }
}

/// One element of the manifest, before the rules are checked.
struct Node {
    name: String,
    line: usize,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

const MAX_DEPTH: usize = 3;
const PLACE: &str = "manifest.xml";

fn at(line: usize) -> String {
    format!("{PLACE} line {line}")
}

fn line_of(bytes: &[u8], pos: u64) -> usize {
    let end = usize::try_from(pos).unwrap_or(usize::MAX).min(bytes.len());
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count()
}

/// Reads the element tree, refusing everything the format does not use. Returns `None` with
/// findings when the XML cannot be read at all.
fn read_tree(bytes: &[u8], max_elements: usize) -> Result<Node, Vec<BundleFinding>> {
    let malformed = |line: usize, msg: String| {
        vec![BundleFinding::new(
            FindingKind::MalformedManifest,
            at(line),
            msg,
        )]
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(malformed(
                line_of(bytes, e.valid_up_to() as u64),
                "not UTF-8".into(),
            ));
        }
    };
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                return Err(malformed(
                    line_of(bytes, reader.error_position()),
                    format!("not well-formed XML: {e}"),
                ));
            }
        };
        let line = line_of(bytes, before);
        match event {
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding()
                    && !enc.eq_ignore_ascii_case(b"utf-8")
                {
                    return Err(malformed(line, "the encoding must be UTF-8".into()));
                }
            }
            Event::DocType(_) => {
                return Err(vec![BundleFinding::new(
                    FindingKind::DoctypeRefused,
                    at(line),
                    "a DOCTYPE is not allowed: the manifest declares no entities",
                )]);
            }
            Event::PI(_) => {
                return Err(malformed(
                    line,
                    "processing instructions are not allowed".into(),
                ));
            }
            Event::CData(_) | Event::GeneralRef(_) => {
                return Err(malformed(
                    line,
                    "text content is not allowed: the manifest is attributes only".into(),
                ));
            }
            Event::Text(t) => {
                if !t.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
                    return Err(malformed(
                        line,
                        "text content is not allowed: the manifest is attributes only".into(),
                    ));
                }
            }
            Event::Comment(_) => {}
            Event::Start(ref s) | Event::Empty(ref s) => {
                count += 1;
                if count > max_elements {
                    return Err(vec![BundleFinding::new(
                        FindingKind::TooManyFiles,
                        at(line),
                        format!("more than {max_elements} elements"),
                    )]);
                }
                if root.is_some() {
                    return Err(malformed(line, "content after the root element".into()));
                }
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                for a in s.attributes() {
                    let a = match a {
                        Ok(a) => a,
                        Err(e) => return Err(malformed(line, format!("bad attribute: {e}"))),
                    };
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    let value = match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                        Ok(v) => v.into_owned(),
                        Err(e) => {
                            return Err(malformed(
                                line,
                                format!("attribute {key}: bad value: {e}"),
                            ));
                        }
                    };
                    attrs.push((key, value));
                }
                let node = Node {
                    name,
                    line,
                    attrs,
                    children: Vec::new(),
                };
                let is_start = matches!(event, Event::Start(_));
                if is_start {
                    if stack.len() >= MAX_DEPTH {
                        return Err(vec![BundleFinding::new(
                            FindingKind::UnknownElement,
                            at(line),
                            format!("<{}> is nested deeper than the format allows", node.name),
                        )]);
                    }
                    stack.push(node);
                } else if let Some(parent) = stack.last_mut() {
                    parent.children.push(node);
                } else {
                    root = Some(node);
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start.
                let Some(node) = stack.pop() else {
                    return Err(malformed(line, "unexpected end tag".into()));
                };
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(node);
                } else {
                    root = Some(node);
                }
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(
            line_of(bytes, bytes.len() as u64),
            "the document ends inside an element".into(),
        ));
    }
    root.ok_or_else(|| malformed(1, "no root element".into()))
}

/// Collects findings while the rules are checked.
struct Check {
    findings: Vec<BundleFinding>,
}

impl Check {
    fn push(&mut self, kind: FindingKind, line: usize, msg: impl Into<String>) {
        self.findings.push(BundleFinding::new(kind, at(line), msg));
    }

    /// The node's attributes by name, after reporting unknown ones.
    fn attrs<'n>(&mut self, node: &'n Node, allowed: &[&str]) -> BTreeMap<&'n str, &'n str> {
        let mut out = BTreeMap::new();
        for (k, v) in &node.attrs {
            if allowed.contains(&k.as_str()) {
                out.insert(k.as_str(), v.as_str());
            } else {
                self.push(
                    FindingKind::UnknownAttribute,
                    node.line,
                    format!("<{}> has no attribute {k:?}", node.name),
                );
            }
        }
        for a in allowed {
            if !out.contains_key(a) {
                self.push(
                    FindingKind::MalformedManifest,
                    node.line,
                    format!("<{}> lacks the attribute {a:?}", node.name),
                );
            }
        }
        out
    }

    fn invalid(&mut self, node: &Node, attr: &str, value: &str, expected: &str) {
        self.push(
            FindingKind::InvalidValue,
            node.line,
            format!("<{}> {attr}={value:?} is not {expected}", node.name),
        );
    }

    fn id(&mut self, node: &Node, a: &BTreeMap<&str, &str>, attr: &str) -> String {
        let v = a.get(attr).copied().unwrap_or_default();
        if a.contains_key(attr) && !rules::is_id(v) {
            self.invalid(
                node,
                attr,
                v,
                "an identifier ([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
            );
        }
        v.to_string()
    }

    fn name(&mut self, node: &Node, a: &BTreeMap<&str, &str>, attr: &str) -> String {
        let v = a.get(attr).copied().unwrap_or_default();
        if a.contains_key(attr) && !rules::is_name(v) {
            self.invalid(
                node,
                attr,
                v,
                "a name of 1 to 100 characters without control characters",
            );
        }
        v.to_string()
    }

    fn sha(&mut self, node: &Node, a: &BTreeMap<&str, &str>, attr: &str) -> Sha256 {
        let v = a.get(attr).copied().unwrap_or_default();
        match Sha256::parse_hex(v) {
            Some(s) => s,
            None => {
                if a.contains_key(attr) {
                    self.invalid(node, attr, v, "64 lowercase hex digits");
                }
                Sha256::default()
            }
        }
    }

    /// A non-negative integer in canonical form (no sign, no leading zero), as the schema's
    /// pattern says, so that one number has one spelling.
    fn number(
        &mut self,
        node: &Node,
        a: &BTreeMap<&str, &str>,
        attr: &str,
        min: u64,
        max: u64,
    ) -> u64 {
        let v = a.get(attr).copied().unwrap_or_default();
        let canonical = !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_digit())
            && (v == "0" || !v.starts_with('0'));
        match v.parse::<u64>() {
            Ok(n) if canonical && (min..=max).contains(&n) => n,
            _ => {
                if a.contains_key(attr) {
                    self.invalid(node, attr, v, &format!("an integer from {min} to {max}"));
                }
                min
            }
        }
    }
}

/// Parses `manifest.xml` and checks every rule that needs only the manifest: the schema's
/// (elements, attributes, value patterns, uniqueness, module references) and the ones the
/// schema cannot state (sorted order, module layout following from the file sizes, hot/cold
/// following from the kind, sizes within `limits`, `content-sha256` matching the listing).
/// Returns every finding, never panics.
pub fn parse_manifest(bytes: &[u8], limits: &Limits) -> Result<Manifest, Vec<BundleFinding>> {
    if bytes.len() as u64 > limits.max_manifest_bytes {
        return Err(vec![BundleFinding::new(
            FindingKind::OversizedManifest,
            PLACE,
            format!(
                "{} bytes; at most {}",
                bytes.len(),
                limits.max_manifest_bytes
            ),
        )]);
    }
    let max_elements = limits.max_files + limits.max_grids + 2 * limits.max_files + 16;
    let root = read_tree(bytes, max_elements)?;
    let mut c = Check {
        findings: Vec::new(),
    };
    let role_kind = match root.name.as_str() {
        "bundle" => RoleKind::Community,
        "base-bundle" => RoleKind::Base,
        other => {
            c.push(
                FindingKind::UnknownElement,
                root.line,
                format!("the root element must be <bundle> or <base-bundle>, not <{other}>"),
            );
            return Err(c.findings);
        }
    };
    let a = c.attrs(
        &root,
        &["format", "version", "newest-input", "content-sha256"],
    );
    if let Some(f) = a.get("format")
        && *f != "1"
    {
        c.push(
            FindingKind::UnsupportedFormat,
            root.line,
            format!("format {f:?}; this code reads format 1"),
        );
    }
    let version = c.number(&root, &a, "version", 1, i64::MAX as u64);
    let newest_input = a
        .get("newest-input")
        .copied()
        .unwrap_or_default()
        .to_string();
    if a.contains_key("newest-input") && !rules::is_rfc3339(&newest_input) {
        c.invalid(&root, "newest-input", &newest_input, "an RFC 3339 time");
    }
    let content_sha256 = c.sha(&root, &a, "content-sha256");

    let expected: &[&str] = match role_kind {
        RoleKind::Community => &["community", "grids", "base", "modules", "files"],
        RoleKind::Base => &["modules", "files"],
    };
    let mut sections: BTreeMap<&str, &Node> = BTreeMap::new();
    let mut next = 0usize;
    for child in &root.children {
        match expected.iter().position(|e| *e == child.name) {
            None => c.push(
                FindingKind::UnknownElement,
                child.line,
                format!("<{}> is not allowed in <{}>", child.name, root.name),
            ),
            Some(i) if i < next || sections.contains_key(expected[i]) => c.push(
                FindingKind::MalformedManifest,
                child.line,
                format!(
                    "<{}> is out of order or repeated; the order is {}",
                    child.name,
                    expected.join(", ")
                ),
            ),
            Some(i) => {
                sections.insert(expected[i], child);
                next = i + 1;
            }
        }
    }
    for e in expected {
        if !sections.contains_key(e) {
            c.push(
                FindingKind::MalformedManifest,
                root.line,
                format!("<{}> lacks <{e}>", root.name),
            );
        }
    }
    let leaf = |c: &mut Check, n: &Node| {
        if !n.children.is_empty() {
            c.push(
                FindingKind::UnknownElement,
                n.line,
                format!("<{}> must be empty", n.name),
            );
        }
    };

    let role = match role_kind {
        RoleKind::Base => Role::Base,
        RoleKind::Community => {
            let community = match sections.get("community") {
                Some(n) => {
                    leaf(&mut c, n);
                    let a = c.attrs(n, &["id", "name", "town", "district"]);
                    Community {
                        id: c.id(n, &a, "id"),
                        name: c.name(n, &a, "name"),
                        town: c.name(n, &a, "town"),
                        district: c.name(n, &a, "district"),
                    }
                }
                None => Community {
                    id: String::new(),
                    name: String::new(),
                    town: String::new(),
                    district: String::new(),
                },
            };
            let mut grids = Vec::new();
            if let Some(n) = sections.get("grids") {
                if !n.attrs.is_empty() {
                    c.attrs(n, &[]);
                }
                let list = children_named(&mut c, n, "grid");
                if list.len() > limits.max_grids {
                    c.push(
                        FindingKind::TooManyFiles,
                        n.line,
                        format!("{} grids; at most {}", list.len(), limits.max_grids),
                    );
                }
                let mut seen = BTreeSet::new();
                for g in list {
                    leaf(&mut c, g);
                    let a = c.attrs(g, &["id", "name"]);
                    let grid = Grid {
                        id: c.id(g, &a, "id"),
                        name: c.name(g, &a, "name"),
                    };
                    if !seen.insert(grid.id.clone()) {
                        c.push(
                            FindingKind::DuplicateName,
                            g.line,
                            format!("grid id {:?} appears twice", grid.id),
                        );
                    }
                    grids.push(grid);
                }
            }
            let base = match sections.get("base") {
                Some(n) => {
                    leaf(&mut c, n);
                    let a = c.attrs(n, &["sha256"]);
                    c.sha(n, &a, "sha256")
                }
                None => Sha256::default(),
            };
            Role::Community {
                community,
                grids,
                base,
            }
        }
    };

    let mut modules = Vec::new();
    if let Some(n) = sections.get("modules") {
        if !n.attrs.is_empty() {
            c.attrs(n, &[]);
        }
        let list = children_named(&mut c, n, "module");
        if list.len() > limits.max_files {
            c.push(
                FindingKind::TooManyFiles,
                n.line,
                format!("{} modules; at most {}", list.len(), limits.max_files),
            );
        }
        let mut prev: Option<u16> = None;
        for m in list {
            leaf(&mut c, m);
            let a = c.attrs(
                m,
                &[
                    "id",
                    "kind",
                    "class",
                    "version",
                    "size",
                    "sha256",
                    "air-size",
                    "compression",
                ],
            );
            let id = c.number(m, &a, "id", 1, u64::from(u16::MAX)) as u16;
            let kind_s = a.get("kind").copied().unwrap_or_default();
            let kind = match FileKind::parse(kind_s) {
                Some(k) if k.role() == role_kind => Some(k),
                _ => {
                    if a.contains_key("kind") {
                        c.invalid(m, "kind", kind_s, "a kind this bundle carries");
                    }
                    None
                }
            };
            let class_s = a.get("class").copied().unwrap_or_default();
            let class = ModuleClass::parse(class_s);
            if class.is_none() && a.contains_key("class") {
                c.invalid(m, "class", class_s, "hot or cold");
            }
            if let (Some(k), Some(cl)) = (kind, class)
                && k.class() != cl
            {
                c.push(
                    FindingKind::ModuleMismatch,
                    m.line,
                    format!(
                        "module {id}: {k} modules are {}, not {}",
                        k.class().as_str(),
                        cl.as_str()
                    ),
                );
            }
            let version = c.number(m, &a, "version", 1, u64::from(u32::MAX)) as u32;
            let size = c.number(m, &a, "size", 0, u64::MAX);
            let sha256 = c.sha(m, &a, "sha256");
            let air_size = c.number(m, &a, "air-size", 0, u64::MAX);
            if size > MODULE_LIMIT || air_size > MODULE_LIMIT {
                c.push(
                    FindingKind::OversizedModule,
                    m.line,
                    format!(
                        "module {id}: {size} bytes raw, {air_size} on air; at most {MODULE_LIMIT}"
                    ),
                );
            }
            let comp_s = a.get("compression").copied().unwrap_or_default();
            let compression = match comp_s {
                "deflate" => Compression::Deflate,
                "none" => Compression::None,
                _ => {
                    if a.contains_key("compression") {
                        c.invalid(m, "compression", comp_s, "deflate or none");
                    }
                    Compression::None
                }
            };
            match compression {
                Compression::None if air_size != size => c.push(
                    FindingKind::ModuleMismatch,
                    m.line,
                    format!("module {id} is stored uncompressed: air-size must equal size"),
                ),
                Compression::Deflate if air_size >= size => c.push(
                    FindingKind::ModuleMismatch,
                    m.line,
                    format!("module {id} is compressed: air-size must be below size"),
                ),
                _ => {}
            }
            match prev {
                Some(p) if p == id => c.push(
                    FindingKind::DuplicateName,
                    m.line,
                    format!("module id {id} appears twice"),
                ),
                Some(p) if p > id => c.push(
                    FindingKind::MalformedManifest,
                    m.line,
                    format!("module {id} comes after {p}: modules are listed by id"),
                ),
                _ => {}
            }
            prev = Some(id);
            if let Some(kind) = kind {
                modules.push(ModuleEntry {
                    id,
                    kind,
                    class: kind.class(),
                    version,
                    size,
                    sha256,
                    air_size,
                    compression,
                });
            }
        }
    }

    let mut files = Vec::new();
    if let Some(n) = sections.get("files") {
        if !n.attrs.is_empty() {
            c.attrs(n, &[]);
        }
        let list = children_named(&mut c, n, "file");
        if list.len() > limits.max_files {
            c.push(
                FindingKind::TooManyFiles,
                n.line,
                format!("{} files; at most {}", list.len(), limits.max_files),
            );
        }
        let mut prev: Option<String> = None;
        for f in list {
            leaf(&mut c, f);
            let a = c.attrs(f, &["path", "size", "sha256", "module"]);
            let path = a.get("path").copied().unwrap_or_default().to_string();
            if a.contains_key("path")
                && let Err((kind, msg)) = rules::check_path(&path, role_kind)
            {
                c.push(kind, f.line, msg);
            }
            let size = c.number(f, &a, "size", 0, u64::MAX);
            if size > limits.max_file_bytes {
                c.push(
                    FindingKind::OversizedFile,
                    f.line,
                    format!("{path}: {size} bytes; at most {}", limits.max_file_bytes),
                );
            }
            let sha256 = c.sha(f, &a, "sha256");
            let module = c.number(f, &a, "module", 1, u64::from(u16::MAX)) as u16;
            if let Some(p) = &prev {
                if *p == path {
                    c.push(
                        FindingKind::DuplicateName,
                        f.line,
                        format!("{path} appears twice"),
                    );
                } else if path.starts_with(p.as_str())
                    && path.as_bytes().get(p.len()) == Some(&b'/')
                {
                    c.push(
                        FindingKind::DuplicateName,
                        f.line,
                        format!("{p} is listed as a file and as a directory of {path}"),
                    );
                } else if *p > path {
                    c.push(
                        FindingKind::MalformedManifest,
                        f.line,
                        format!("{path} comes after {p}: files are listed by path"),
                    );
                }
            }
            prev = Some(path.clone());
            files.push(FileEntry {
                path,
                size,
                sha256,
                module,
            });
        }
    }

    let manifest = Manifest {
        role,
        version,
        newest_input,
        content_sha256,
        modules,
        files,
    };
    if c.findings.is_empty() {
        c.findings.extend(check_layout(&manifest, limits));
    }
    if c.findings.is_empty() {
        Ok(manifest)
    } else {
        Err(c.findings)
    }
}

/// The children of `n` named `want`; any other child is an unknown element.
fn children_named<'n>(c: &mut Check, n: &'n Node, want: &str) -> Vec<&'n Node> {
    let mut out = Vec::new();
    for ch in &n.children {
        if ch.name == want {
            out.push(ch);
        } else {
            c.push(
                FindingKind::UnknownElement,
                ch.line,
                format!("<{}> is not allowed in <{}>", ch.name, n.name),
            );
        }
    }
    out
}

/// The byte ranges each kind's modules cover: files of a kind laid end to end in path order,
/// cut every 64 KiB. A kind with files has at least one module, even if all are empty.
pub(crate) fn module_layout(sizes: &[u64]) -> (Vec<u64>, Vec<usize>) {
    let total: u64 = sizes.iter().sum();
    let count = total.div_ceil(MODULE_LIMIT).max(1);
    let module_sizes: Vec<u64> = (0..count)
        .map(|i| (total - i * MODULE_LIMIT).min(MODULE_LIMIT))
        .collect();
    let mut offset = 0u64;
    let mut first = Vec::with_capacity(sizes.len());
    for s in sizes {
        first.push(((offset / MODULE_LIMIT).min(count - 1)) as usize);
        offset += s;
    }
    (module_sizes, first)
}

/// The rules that tie modules to files and sizes to limits, and `content-sha256` to the
/// listing. Run only on a manifest whose elements were all well-formed.
fn check_layout(m: &Manifest, limits: &Limits) -> Vec<BundleFinding> {
    let mut out = Vec::new();
    let mut push = |kind, msg: String| out.push(BundleFinding::new(kind, PLACE, msg));
    let mut by_kind: BTreeMap<FileKind, Vec<&FileEntry>> = BTreeMap::new();
    for f in &m.files {
        if let Some(kind) = f.path.split('/').next().and_then(FileKind::parse) {
            by_kind.entry(kind).or_default().push(f);
        }
    }
    let mut expected_ids = BTreeSet::new();
    for (kind, files) in &by_kind {
        let sizes: Vec<u64> = files.iter().map(|f| f.size).collect();
        let (module_sizes, first) = module_layout(&sizes);
        if module_sizes.len() > kind.max_modules() {
            push(
                FindingKind::OversizedBundle,
                format!(
                    "{kind}: {} modules; at most {}",
                    module_sizes.len(),
                    kind.max_modules()
                ),
            );
            continue;
        }
        for (i, size) in module_sizes.iter().enumerate() {
            let id = kind.first_module_id() + i as u16;
            expected_ids.insert(id);
            match m.modules.iter().find(|e| e.id == id) {
                None => push(
                    FindingKind::ModuleMismatch,
                    format!("module {id} ({kind}) is not listed"),
                ),
                Some(e) if e.kind != *kind || e.size != *size => push(
                    FindingKind::ModuleMismatch,
                    format!(
                        "module {id} should be {kind} of {size} bytes, is {} of {} bytes",
                        e.kind, e.size
                    ),
                ),
                Some(_) => {}
            }
        }
        for (f, index) in files.iter().zip(first) {
            let id = kind.first_module_id() + index as u16;
            if f.module != id {
                push(
                    FindingKind::ModuleMismatch,
                    format!("{} starts in module {id}, not {}", f.path, f.module),
                );
            }
        }
    }
    for e in &m.modules {
        if u64::from(e.version) > m.version {
            push(
                FindingKind::ModuleMismatch,
                format!(
                    "module {} has version {}, above the bundle's {}",
                    e.id, e.version, m.version
                ),
            );
        }
        if !expected_ids.contains(&e.id) {
            push(
                FindingKind::ModuleMismatch,
                format!("module {} ({}) holds no listed file", e.id, e.kind),
            );
        }
    }
    let raw = m.raw_bytes();
    if raw > limits.max_raw_bytes {
        push(
            FindingKind::OversizedBundle,
            format!("{raw} bytes of files; at most {}", limits.max_raw_bytes),
        );
    }
    let air = m.air_bytes();
    let air_limit = match m.role {
        Role::Community { .. } => limits.max_community_air_bytes,
        Role::Base => limits.max_base_air_bytes,
    };
    if air > air_limit {
        push(
            FindingKind::OversizedBundle,
            format!("{air} bytes compressed on air; at most {air_limit}"),
        );
    }
    let computed = m.compute_content_sha256();
    if computed != m.content_sha256 {
        push(
            FindingKind::ContentMismatch,
            format!(
                "content-sha256 is {}, but the listing gives {computed}",
                m.content_sha256
            ),
        );
    }
    out
}
