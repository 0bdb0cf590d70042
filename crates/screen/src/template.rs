//! The template language: parsing `stb-templates/*.xml` into an element tree.
//!
//! The parser never stops at the first problem: it returns the tree it could build plus every
//! finding (malformed XML, DOCTYPE, unknown elements and attributes, excessive depth, size),
//! each with its file and line, so `screens check` can list them all at once. Entities other
//! than XML's five predefined ones and character references are refused, and so is any
//! DOCTYPE, so no entity expansion can blow up.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::check::{Finding, Rule};

/// Elements may nest at most this deep; deeper input is refused (and not descended into).
pub const MAX_DEPTH: usize = 32;
/// A template file larger than this is refused unread.
pub const MAX_FILE_BYTES: usize = 512 * 1024;
/// At most this many elements in one template.
pub const MAX_ELEMENTS: usize = 10_000;

/// One parsed element.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Child>,
    /// 1-based line of the element's start tag in its file.
    pub line: u32,
}

/// An element's content: nested elements and text, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Child {
    Element(Element),
    Text(String),
}

impl Element {
    /// The value of an attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element's child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Child::Element(e) => Some(e),
            Child::Text(_) => None,
        })
    }

    /// All text directly inside the element, joined, with whitespace runs collapsed (a
    /// newline between Chinese characters must not become a space).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.children {
            if let Child::Text(t) = c {
                out.push_str(t);
            }
        }
        collapse_whitespace(&out)
    }
}

/// Collapses whitespace: trims, drops line breaks with their indentation, and turns other
/// runs of spaces into one space.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if i > 0 && !out.is_empty() {
            // Join lines with nothing between CJK text, a space between Latin words.
            let prev_ascii = out
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            let next_ascii = line
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            if prev_ascii && next_ascii {
                out.push(' ');
            }
        }
        let mut last_space = false;
        for ch in line.chars() {
            if ch == ' ' || ch == '\t' {
                if !last_space {
                    out.push(' ');
                }
                last_space = true;
            } else {
                out.push(ch);
                last_space = false;
            }
        }
    }
    out
}

/// What an element may carry: its attributes, and whether it may hold text or elements.
struct Schema {
    name: &'static str,
    attrs: &'static [&'static str],
    text: bool,
    children: bool,
}

const BOX: &[&str] = &[
    "id", "width", "height", "grow", "gap", "padding", "align", "justify", "fill", "stroke",
    "radius", "columns",
];

const SCHEMAS: &[Schema] = &[
    Schema {
        name: "screen",
        attrs: &[
            "id",
            "title",
            "for",
            "as",
            "for2",
            "as2",
            "default-focus",
            "padding",
            "gap",
        ],
        text: false,
        children: true,
    },
    Schema {
        name: "row",
        attrs: BOX,
        text: false,
        children: true,
    },
    Schema {
        name: "column",
        attrs: BOX,
        text: false,
        children: true,
    },
    Schema {
        name: "grid",
        attrs: BOX,
        text: false,
        children: true,
    },
    Schema {
        name: "text",
        attrs: &[
            "id", "role", "lines", "color", "weight", "align", "width", "height", "grow",
        ],
        text: true,
        children: false,
    },
    Schema {
        name: "image",
        attrs: &["id", "src", "width", "height"],
        text: false,
        children: false,
    },
    Schema {
        name: "button",
        attrs: &[
            "id",
            "action",
            "param",
            "keys",
            "nav-up",
            "nav-down",
            "nav-left",
            "nav-right",
            "width",
            "height",
            "grow",
            "role",
            "lines",
            "align",
        ],
        text: true,
        children: false,
    },
    Schema {
        name: "field",
        attrs: &[
            "id",
            "name",
            "label",
            "width",
            "height",
            "grow",
            "nav-up",
            "nav-down",
            "nav-left",
            "nav-right",
        ],
        text: false,
        children: false,
    },
    Schema {
        name: "list",
        attrs: &[
            "id",
            "in",
            "as",
            "page-size",
            "gap",
            "width",
            "height",
            "grow",
            "empty",
        ],
        text: false,
        children: true,
    },
    Schema {
        name: "chart",
        attrs: &[
            "id", "in", "as", "label", "value", "max", "caption", "color", "width", "grow",
        ],
        text: false,
        children: false,
    },
    Schema {
        name: "banner",
        attrs: &["id", "lines"],
        text: true,
        children: false,
    },
    Schema {
        name: "legend",
        attrs: &["id"],
        text: false,
        children: true,
    },
    Schema {
        name: "key",
        attrs: &["key", "action", "param", "label"],
        text: false,
        children: false,
    },
    Schema {
        name: "each",
        attrs: &["in", "as", "limit"],
        text: false,
        children: true,
    },
    Schema {
        name: "if",
        attrs: &["test"],
        text: false,
        children: true,
    },
    Schema {
        name: "spacer",
        attrs: &["width", "height", "grow"],
        text: false,
        children: false,
    },
];

fn schema(name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|s| s.name == name)
}

/// The names of all template elements (for docs and tests).
pub fn element_names() -> impl Iterator<Item = &'static str> {
    SCHEMAS.iter().map(|s| s.name)
}

/// Parses one template (or theme, with `schema_check` off) file. Returns the root element if
/// one could be built, plus every finding.
pub fn parse(file: &str, src: &[u8], schema_check: bool) -> (Option<Element>, Vec<Finding>) {
    let mut findings = Vec::new();
    if src.len() > MAX_FILE_BYTES {
        findings.push(Finding::new(
            file,
            1,
            "",
            Rule::Size,
            format!(
                "file is {} bytes; templates may be at most {MAX_FILE_BYTES}",
                src.len()
            ),
        ));
        return (None, findings);
    }
    let text = match std::str::from_utf8(src) {
        Ok(t) => t,
        Err(e) => {
            let line = line_of(src, e.valid_up_to());
            findings.push(Finding::new(
                file,
                line,
                "",
                Rule::Xml,
                format!("not UTF-8: {e}"),
            ));
            return (None, findings);
        }
    };
    let mut p = Parser {
        file,
        src: text.as_bytes(),
        findings,
        stack: Vec::new(),
        root: None,
        count: 0,
        skip_depth: 0,
        schema_check,
    };
    p.run(text);
    (p.root, p.findings)
}

struct Parser<'a> {
    file: &'a str,
    src: &'a [u8],
    findings: Vec<Finding>,
    stack: Vec<Element>,
    root: Option<Element>,
    count: usize,
    /// While > 0 we are inside an element that was refused (too deep): skip its content.
    skip_depth: usize,
    schema_check: bool,
}

fn line_of(src: &[u8], pos: usize) -> u32 {
    let pos = pos.min(src.len());
    let n = src[..pos].iter().filter(|&&b| b == b'\n').count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

impl Parser<'_> {
    fn finding(&mut self, pos: u64, element: &str, rule: Rule, message: String) {
        let line = line_of(self.src, usize::try_from(pos).unwrap_or(usize::MAX));
        self.findings
            .push(Finding::new(self.file, line, element, rule, message));
    }

    fn run(&mut self, text: &str) {
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        loop {
            let pos = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = reader.error_position();
                    self.finding(at, "", Rule::Xml, format!("malformed XML: {e}"));
                    // quick-xml cannot resynchronise reliably after most errors: stop here
                    // and keep what was built. The loop always ends because each call either
                    // advances or errors.
                    break;
                }
            };
            match event {
                Event::Start(e) => self.open(&e, pos, false),
                Event::Empty(e) => self.open(&e, pos, true),
                Event::End(_) => self.close(),
                Event::Text(t) => {
                    if self.skip_depth > 0 {
                        continue;
                    }
                    match t.decode() {
                        Ok(s) => self.text(&s, pos),
                        Err(e) => self.finding(pos, "", Rule::Xml, format!("bad text: {e}")),
                    }
                }
                Event::CData(t) => {
                    if self.skip_depth > 0 {
                        continue;
                    }
                    match t.decode() {
                        Ok(s) => self.text(&s, pos),
                        Err(e) => self.finding(pos, "", Rule::Xml, format!("bad CDATA: {e}")),
                    }
                }
                Event::GeneralRef(r) => {
                    if self.skip_depth > 0 {
                        continue;
                    }
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        Ok(None) => match r.decode().as_deref() {
                            Ok("amp") => Some("&".into()),
                            Ok("lt") => Some("<".into()),
                            Ok("gt") => Some(">".into()),
                            Ok("quot") => Some("\"".into()),
                            Ok("apos") => Some("'".into()),
                            _ => None,
                        },
                        Err(_) => None,
                    };
                    match resolved {
                        Some(s) => self.text(&s, pos),
                        None => {
                            let name = String::from_utf8_lossy(&r).into_owned();
                            self.finding(
                                pos,
                                "",
                                Rule::Entity,
                                format!("unknown entity &{name}; (only XML's five and character references are allowed)"),
                            );
                        }
                    }
                }
                Event::DocType(_) => {
                    self.finding(
                        pos,
                        "",
                        Rule::Entity,
                        "DOCTYPE is not allowed in templates (it could declare entities)".into(),
                    );
                }
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if !self.stack.is_empty() {
            let names: Vec<String> = self.stack.iter().map(|e| format!("<{}>", e.name)).collect();
            let line = self.stack.last().map(|e| e.line).unwrap_or(1);
            self.findings.push(Finding::new(
                self.file,
                line,
                "",
                Rule::Xml,
                format!("unclosed element(s) at end of file: {}", names.join(" ")),
            ));
            // Keep what was built so later checks can still run.
            while self.stack.len() > 1 {
                self.close();
            }
            if let Some(root) = self.stack.pop() {
                self.root.get_or_insert(root);
            }
        }
        if self.root.is_none() && self.findings.is_empty() {
            self.findings.push(Finding::new(
                self.file,
                1,
                "",
                Rule::Xml,
                "no root element".into(),
            ));
        }
    }

    fn open(&mut self, e: &BytesStart<'_>, pos: u64, empty: bool) {
        if self.skip_depth > 0 {
            if !empty {
                self.skip_depth += 1;
            }
            return;
        }
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        if self.stack.len() >= MAX_DEPTH {
            self.finding(
                pos,
                &name,
                Rule::Depth,
                format!("elements nest deeper than {MAX_DEPTH} levels; the rest of this branch is ignored"),
            );
            if !empty {
                self.skip_depth = 1;
            }
            return;
        }
        self.count += 1;
        if self.count == MAX_ELEMENTS + 1 {
            self.finding(
                pos,
                &name,
                Rule::Size,
                format!("more than {MAX_ELEMENTS} elements; the rest is ignored"),
            );
        }
        if self.count > MAX_ELEMENTS {
            if !empty {
                self.skip_depth = 1;
            }
            return;
        }
        if self.root.is_some() && self.stack.is_empty() {
            self.finding(pos, &name, Rule::Xml, "more than one root element".into());
        }
        let line = line_of(self.src, usize::try_from(pos).unwrap_or(usize::MAX));
        let mut attrs = Vec::new();
        for a in e.attributes() {
            match a {
                Ok(a) => {
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                        Ok(v) => attrs.push((key, v.into_owned())),
                        Err(err) => self.finding(
                            pos,
                            &name,
                            Rule::Entity,
                            format!("attribute {key}: {err}"),
                        ),
                    }
                }
                Err(err) => self.finding(pos, &name, Rule::Xml, format!("bad attribute: {err}")),
            }
        }
        if self.schema_check {
            self.check_schema(&name, &attrs, pos);
        }
        let el = Element {
            name,
            attrs,
            children: Vec::new(),
            line,
        };
        if empty {
            self.attach(el);
        } else {
            self.stack.push(el);
        }
    }

    fn check_schema(&mut self, name: &str, attrs: &[(String, String)], pos: u64) {
        let Some(s) = schema(name) else {
            let known: Vec<&str> = element_names().collect();
            self.finding(
                pos,
                name,
                Rule::UnknownElement,
                format!("unknown element <{name}>; known: {}", known.join(", ")),
            );
            return;
        };
        if let Some(parent) = self.stack.last() {
            let parent_name = parent.name.clone();
            if schema(&parent_name).is_some_and(|p| !p.children) {
                self.finding(
                    pos,
                    name,
                    Rule::UnknownElement,
                    format!("<{parent_name}> cannot contain elements"),
                );
            }
        } else if name != "screen" {
            self.finding(
                pos,
                name,
                Rule::UnknownElement,
                "a template's root element must be <screen>".into(),
            );
        }
        for (k, _) in attrs {
            if !s.attrs.contains(&k.as_str()) {
                self.finding(
                    pos,
                    name,
                    Rule::UnknownAttribute,
                    format!(
                        "<{name}> has no attribute {k:?}; allowed: {}",
                        s.attrs.join(", ")
                    ),
                );
            }
        }
    }

    fn close(&mut self) {
        if self.skip_depth > 0 {
            self.skip_depth -= 1;
            return;
        }
        if let Some(el) = self.stack.pop() {
            self.attach(el);
        }
    }

    fn attach(&mut self, el: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Child::Element(el)),
            None => {
                if self.root.is_none() {
                    self.root = Some(el);
                }
            }
        }
    }

    fn text(&mut self, s: &str, pos: u64) {
        let Some(parent) = self.stack.last_mut() else {
            if !s.trim().is_empty() {
                self.finding(pos, "", Rule::Xml, "text outside the root element".into());
            }
            return;
        };
        if self.schema_check && !s.trim().is_empty() {
            let name = parent.name.clone();
            if schema(&name).is_some_and(|sc| !sc.text) {
                self.finding(
                    pos,
                    &name,
                    Rule::UnknownElement,
                    format!("<{name}> cannot contain text"),
                );
                return;
            }
        }
        // Merge adjacent text (entity references split a text run into several events).
        if let Some(Child::Text(t)) = parent.children.last_mut() {
            t.push_str(s);
        } else {
            parent.children.push(Child::Text(s.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(f: &[Finding]) -> Vec<Rule> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn parses_a_small_screen() {
        let src = "<screen id=\"a\">\n  <column gap=\"8\">\n    <text role=\"body\">有事&amp;好商量</text>\n  </column>\n</screen>";
        let (root, f) = parse("a.xml", src.as_bytes(), true);
        assert!(f.is_empty(), "{f:?}");
        let root = root.unwrap_or_else(|| panic!("no root"));
        let col = root.elements().next().unwrap_or_else(|| panic!("no col"));
        assert_eq!(col.attr("gap"), Some("8"));
        let text = col.elements().next().unwrap_or_else(|| panic!("no text"));
        assert_eq!(text.text(), "有事&好商量");
        assert_eq!(text.line, 3);
    }

    #[test]
    fn collects_every_finding() {
        let src = "<screen id=\"a\" bogus=\"1\">\n<blink/>\n<text role=\"body\" size=\"9\">x</text>\n</screen>";
        let (_, f) = parse("a.xml", src.as_bytes(), true);
        assert_eq!(
            rules(&f),
            vec![
                Rule::UnknownAttribute,
                Rule::UnknownElement,
                Rule::UnknownAttribute
            ]
        );
        assert_eq!(f[1].line, 2);
        assert_eq!(f[2].line, 3);
    }

    #[test]
    fn refuses_doctype_and_custom_entities() {
        let src = "<!DOCTYPE screen [<!ENTITY lol \"lol\">]>\n<screen id=\"a\"><text>&lol;</text></screen>";
        let (_, f) = parse("a.xml", src.as_bytes(), true);
        assert!(f.iter().all(|f| f.rule == Rule::Entity), "{f:?}");
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn caps_depth_without_recursing() {
        let mut src = String::from("<screen id=\"a\">");
        for _ in 0..10_000 {
            src.push_str("<row>");
        }
        for _ in 0..10_000 {
            src.push_str("</row>");
        }
        src.push_str("</screen>");
        let (root, f) = parse("a.xml", src.as_bytes(), true);
        assert!(root.is_some());
        assert_eq!(rules(&f), vec![Rule::Depth]);
    }

    #[test]
    fn malformed_xml_is_a_finding_with_a_line() {
        let (_, f) = parse(
            "a.xml",
            b"<screen id=\"a\">\n<row>\n</column>\n</screen>",
            true,
        );
        assert_eq!(f.first().map(|f| (f.rule, f.line)), Some((Rule::Xml, 3)));
        let (_, f) = parse("a.xml", b"<screen", true);
        assert_eq!(rules(&f), vec![Rule::Xml]);
        let (_, f) = parse("a.xml", b"\xff\xfe", true);
        assert_eq!(rules(&f), vec![Rule::Xml]);
    }

    #[test]
    fn whitespace_between_cjk_lines_vanishes() {
        assert_eq!(
            collapse_whitespace("\n  加装\n  电梯  工程\n"),
            "加装电梯 工程"
        );
        assert_eq!(collapse_whitespace("hello\n world"), "hello world");
    }
}
