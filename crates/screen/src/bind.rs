//! Data binding: expands a parsed template against a community's data tree.
//!
//! The data is a generic `serde_json::Value` (its shape is in `docs/screens.md`), so this crate
//! knows nothing of the domain. Binding substitutes `{path}` in text and attributes, repeats
//! `<each>`, keeps or drops `<if>`, pages `<list>`, expands `<chart>`, `<banner>` and
//! `<legend>` into plain boxes and text, and resolves action strings into [`Action`]s. What
//! comes out is a tree of concrete [`Bound`] elements that layout can place without data.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::check::{Finding, Origin, Rule};
use crate::document::{Action, BINDABLE_KEYS, KeyBinding, Page};
use crate::template::{Child, Element, collapse_whitespace};
use crate::theme::Theme;

/// At most this many repetitions from one `<each>`, `<list>` or `<chart>`.
pub const MAX_REPEAT: usize = 200;
/// At most this many elements in one bound screen (nested `<each>` multiply).
pub const MAX_EXPANDED: usize = 5_000;
/// Numbers in templates (sizes, gaps, line limits) must lie within 0..=this.
pub const MAX_NUMBER: f32 = 4096.0;

/// A concrete element after binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// The element name: `screen`, `row`, `column`, `grid`, `text`, `image`, `button`,
    /// `field`, `spacer`, or the internal `bar` (a chart bar) and `chip` (a colour-key swatch).
    pub kind: String,
    /// Attributes with bindings substituted.
    pub attrs: BTreeMap<String, String>,
    /// The element's text with bindings substituted.
    pub text: String,
    pub children: Vec<Bound>,
    /// What OK does, for buttons and fields.
    pub action: Option<Action>,
    pub origin: Origin,
}

impl Bound {
    fn new(kind: &str, origin: Origin) -> Bound {
        Bound {
            kind: kind.to_string(),
            attrs: BTreeMap::new(),
            text: String::new(),
            children: Vec::new(),
            action: None,
            origin,
        }
    }

    fn with(mut self, k: &str, v: &str) -> Bound {
        self.attrs.insert(k.to_string(), v.to_string());
        self
    }

    /// An attribute's value.
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
}

/// A screen bound to data: its tree, its keys, its page.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundScreen {
    pub id: String,
    pub param: Option<String>,
    pub root: Bound,
    pub keys: Vec<(KeyBinding, Origin)>,
    pub page: Option<Page>,
    pub default_focus: Option<String>,
}

/// What to bind: the template, the instance (param, page), the data and the theme.
pub struct BindRequest<'a> {
    pub file: &'a str,
    pub template: &'a Element,
    pub param: Option<&'a str>,
    pub page: u32,
    pub data: &'a Value,
    pub theme: &'a Theme,
}

/// The params a screen template has, one per instance: `None` for a screen without `for`,
/// else the `id` of each item of `for` (and `"{id}/{key}"` for each item of `for2`).
pub fn instances(template: &Element, data: &Value) -> Vec<Option<String>> {
    let Some(path) = template.attr("for") else {
        return vec![None];
    };
    let mut out = Vec::new();
    let Some(Value::Array(items)) = lookup_path(data, path) else {
        return out;
    };
    for item in items.iter().take(MAX_REPEAT) {
        let Some(id) = item.get("id").and_then(scalar) else {
            continue;
        };
        match template.attr("for2") {
            None => out.push(Some(id)),
            Some(p2) => {
                let rel = p2.split_once('.').map(|(_, rest)| rest).unwrap_or("");
                if let Some(Value::Array(subs)) = lookup_path(item, rel) {
                    for sub in subs.iter().take(MAX_REPEAT) {
                        if let Some(k) = sub.get("key").and_then(scalar) {
                            out.push(Some(format!("{id}/{k}")));
                        }
                    }
                }
            }
        }
    }
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Looks a dotted path (`topic.tally.turnout`, `topics.0.title`) up in a value.
pub fn lookup_path<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = root;
    if path.is_empty() {
        return Some(cur);
    }
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

struct Binder<'a> {
    file: &'a str,
    data: &'a Value,
    theme: &'a Theme,
    findings: Vec<Finding>,
    /// Innermost scope last.
    scopes: Vec<(String, Value)>,
    keys: Vec<(KeyBinding, Origin)>,
    page_req: u32,
    page: Option<Page>,
    /// The digit keys an item of the paged list will get, while inside one.
    digit_for_item: Option<u32>,
    digit_used: bool,
    /// Elements expanded so far: nested repetitions multiply, so the total is capped.
    expanded: usize,
}

/// Binds a screen template. Returns the bound screen (if the template is a usable screen)
/// and every finding.
pub fn bind(req: &BindRequest<'_>) -> (Option<BoundScreen>, Vec<Finding>) {
    let mut b = Binder {
        file: req.file,
        data: req.data,
        theme: req.theme,
        findings: Vec::new(),
        scopes: Vec::new(),
        keys: Vec::new(),
        page_req: req.page,
        page: None,
        digit_for_item: None,
        digit_used: false,
        expanded: 0,
    };
    let t = req.template;
    let origin = b.origin(t);
    let Some(id) = t.attr("id").filter(|s| !s.is_empty()) else {
        b.finding(t, Rule::BadValue, "<screen> needs an id".into());
        return (None, b.findings);
    };
    // Bring the instance's items into scope.
    if let (Some(path), Some(name)) = (t.attr("for"), t.attr("as")) {
        let Some(param) = req.param else {
            b.finding(
                t,
                Rule::Binding,
                format!("screen {id} is per item of {path}: it needs a param"),
            );
            return (None, b.findings);
        };
        let (first, second) = match param.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (param, None),
        };
        let item = match lookup_path(req.data, path) {
            Some(Value::Array(items)) => items
                .iter()
                .find(|i| i.get("id").and_then(scalar).as_deref() == Some(first))
                .cloned(),
            _ => None,
        };
        let Some(item) = item else {
            b.finding(
                t,
                Rule::Binding,
                format!("no item with id {first:?} in {path}"),
            );
            return (None, b.findings);
        };
        b.scopes.push((name.to_string(), item));
        if let (Some(p2), Some(n2)) = (t.attr("for2"), t.attr("as2")) {
            let sub = match (b.resolve(p2), second) {
                (Some(Value::Array(subs)), Some(k)) => subs
                    .iter()
                    .find(|s| s.get("key").and_then(scalar).as_deref() == Some(k))
                    .cloned(),
                _ => None,
            };
            let Some(sub) = sub else {
                b.finding(t, Rule::Binding, format!("no item {second:?} in {p2}"));
                return (None, b.findings);
            };
            b.scopes.push((n2.to_string(), sub));
        }
    } else if t.attr("for").is_some() || t.attr("for2").is_some() {
        b.finding(
            t,
            Rule::BadValue,
            "for= needs as= (and for2= needs as2=)".into(),
        );
    }
    let mut root = Bound::new("screen", origin);
    for k in ["padding", "gap", "title"] {
        if let Some(v) = t.attr(k) {
            let v = b.subst(t, v);
            root.attrs.insert(k.into(), v);
        }
    }
    root.children = b.children(t, 1);
    let default_focus = t.attr("default-focus").map(|v| b.subst(t, v));
    let screen = BoundScreen {
        id: id.to_string(),
        param: req.param.map(str::to_string),
        root,
        keys: b.keys,
        page: b.page,
        default_focus,
    };
    (Some(screen), b.findings)
}

impl Binder<'_> {
    fn origin(&self, e: &Element) -> Origin {
        let element = match e.attr("id") {
            Some(id) if !id.contains('{') => format!("{}#{id}", e.name),
            _ => e.name.clone(),
        };
        Origin {
            file: self.file.to_string(),
            line: e.line,
            element,
        }
    }

    fn finding(&mut self, e: &Element, rule: Rule, message: String) {
        let o = self.origin(e);
        self.findings
            .push(Finding::new(&o.file, o.line, &o.element, rule, message));
    }

    /// Resolves a path against the scopes (innermost first), then the data root.
    fn resolve(&self, path: &str) -> Option<Value> {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, r),
            None => (path, ""),
        };
        for (name, v) in self.scopes.iter().rev() {
            if name == head {
                return lookup_path(v, rest).cloned();
            }
        }
        lookup_path(self.data, path).cloned()
    }

    /// Substitutes every `{path}` in `s`; `{{` and `}}` are literal braces.
    fn subst(&mut self, e: &Element, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if let Some(after) = tail.strip_prefix('}') {
                self.finding(e, Rule::Binding, format!("stray '}}' in {s:?}"));
                rest = after;
                continue;
            }
            let Some(end) = tail.find('}') else {
                self.finding(e, Rule::Binding, format!("unclosed '{{' in {s:?}"));
                rest = "";
                break;
            };
            let path = tail[1..end].trim();
            match self.resolve(path) {
                Some(v) => match v {
                    Value::String(s) => out.push_str(&s),
                    Value::Number(n) => out.push_str(&n.to_string()),
                    Value::Bool(b) => out.push_str(if b { "是" } else { "否" }),
                    Value::Null => {}
                    _ => self.finding(
                        e,
                        Rule::Binding,
                        format!("{{{path}}} is a list or object, not text"),
                    ),
                },
                None => self.finding(e, Rule::Binding, format!("{{{path}}}: no such data")),
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn number(&mut self, e: &Element, k: &str) -> Option<f32> {
        let v = e.attr(k)?;
        let v = self.subst(e, v);
        match self.theme.number(&v) {
            Some(n) if (0.0..=MAX_NUMBER).contains(&n) => Some(n),
            Some(n) => {
                self.finding(
                    e,
                    Rule::Size,
                    format!("{k}={n} is outside 0..={MAX_NUMBER}"),
                );
                None
            }
            None => {
                self.finding(
                    e,
                    Rule::BadValue,
                    format!("{k}={v:?} is not a number or a theme $number"),
                );
                None
            }
        }
    }

    fn truthy(&self, test: &str) -> bool {
        let (neg, path) = match test.trim().strip_prefix('!') {
            Some(p) => (true, p.trim()),
            None => (false, test.trim()),
        };
        let v = match self.resolve(path) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(Value::Bool(true)) => true,
        };
        v != neg
    }

    fn items(&mut self, e: &Element) -> Vec<Value> {
        let Some(path) = e.attr("in") else {
            self.finding(e, Rule::BadValue, format!("<{}> needs in=\"path\"", e.name));
            return Vec::new();
        };
        match self.resolve(path) {
            Some(Value::Array(a)) => {
                if a.len() > MAX_REPEAT {
                    self.finding(
                        e,
                        Rule::Size,
                        format!(
                            "{path} has {} items; at most {MAX_REPEAT} are shown",
                            a.len()
                        ),
                    );
                }
                a.into_iter().take(MAX_REPEAT).collect()
            }
            Some(_) => {
                self.finding(e, Rule::Binding, format!("{path} is not a list"));
                Vec::new()
            }
            None => {
                self.finding(e, Rule::Binding, format!("{path}: no such data"));
                Vec::new()
            }
        }
    }

    fn children(&mut self, e: &Element, depth: usize) -> Vec<Bound> {
        let mut out = Vec::new();
        for c in &e.children {
            if let Child::Element(c) = c {
                self.element(c, depth, &mut out);
            }
        }
        out
    }

    fn element(&mut self, e: &Element, depth: usize, out: &mut Vec<Bound>) {
        if depth > crate::template::MAX_DEPTH * 2 {
            self.finding(e, Rule::Depth, "nesting too deep after expansion".into());
            return;
        }
        self.expanded += 1;
        if self.expanded == MAX_EXPANDED + 1 {
            self.finding(
                e,
                Rule::Size,
                format!(
                    "the screen expands to more than {MAX_EXPANDED} elements; the rest is dropped"
                ),
            );
        }
        if self.expanded > MAX_EXPANDED {
            return;
        }
        let origin = self.origin(e);
        match e.name.as_str() {
            "each" => {
                let name = e.attr("as").unwrap_or("item").to_string();
                let limit = self
                    .number(e, "limit")
                    .map(|n| n as usize)
                    .unwrap_or(MAX_REPEAT);
                for (i, item) in self.items(e).into_iter().take(limit).enumerate() {
                    self.scopes.push((name.clone(), item));
                    self.scopes.push((format!("{name}_n"), Value::from(i + 1)));
                    for c in e.elements() {
                        self.element(c, depth + 1, out);
                    }
                    self.scopes.pop();
                    self.scopes.pop();
                }
            }
            "if" => {
                let test = e.attr("test").unwrap_or_default();
                if test.is_empty() {
                    self.finding(e, Rule::BadValue, "<if> needs test=\"path\"".into());
                }
                if self.truthy(test) {
                    for c in e.elements() {
                        self.element(c, depth + 1, out);
                    }
                }
            }
            "key" => {
                self.key(e, &origin);
            }
            "list" => out.push(self.list(e, depth, origin)),
            "chart" => out.push(self.chart(e, origin)),
            "banner" => {
                let text = self.subst(e, &e.text());
                let mut t = Bound::new("text", origin.clone())
                    .with("role", "body")
                    .with("color", "banner-text")
                    .with("grow", "1");
                if let Some(l) = e.attr("lines") {
                    t.attrs.insert("lines".into(), l.into());
                }
                t.text = text;
                let mut row = Bound::new("row", origin)
                    .with("fill", "banner")
                    .with("padding", "$banner-padding")
                    .with("radius", "$radius")
                    .with("align", "center");
                if let Some(id) = e.attr("id") {
                    row.attrs.insert("id".into(), self.subst(e, id));
                }
                row.children.push(t);
                out.push(row);
            }
            "legend" => {
                let mut row = Bound::new("row", origin)
                    .with("gap", "$legend-gap")
                    .with("align", "center");
                for k in e.elements() {
                    if k.name != "key" {
                        self.finding(k, Rule::UnknownElement, "<legend> holds only <key>".into());
                        continue;
                    }
                    if let Some(label) = self.key(k, &self.origin(k)) {
                        let ko = self.origin(k);
                        let key = k.attr("key").unwrap_or_default();
                        let mut chip = Bound::new("chip", ko.clone()).with("key", key);
                        chip.text = key_glyph(key).to_string();
                        let mut t = Bound::new("text", ko).with("role", "caption");
                        t.text = label;
                        row.children.push(chip);
                        row.children.push(t);
                    }
                }
                out.push(row);
            }
            _ => {
                let mut b = Bound::new(&e.name, origin);
                for (k, v) in &e.attrs {
                    let v = if k.starts_with("nav-") || k == "action" {
                        v.clone()
                    } else {
                        self.subst(e, v)
                    };
                    b.attrs.insert(k.clone(), v);
                }
                for k in [
                    "width", "height", "grow", "gap", "padding", "radius", "columns", "lines",
                ] {
                    if e.attr(k).is_some() {
                        match self.number(e, k) {
                            Some(n) => {
                                b.attrs.insert(k.into(), n.to_string());
                            }
                            None => {
                                b.attrs.remove(k);
                            }
                        }
                    }
                }
                for k in ["nav-up", "nav-down", "nav-left", "nav-right"] {
                    if let Some(v) = e.attr(k) {
                        let v = self.subst(e, v);
                        b.attrs.insert(k.into(), v);
                    }
                }
                b.text = self.subst(e, &e.text());
                match e.name.as_str() {
                    "button" => {
                        if e.attr("id").is_none() {
                            self.finding(e, Rule::BadValue, "<button> needs an id".into());
                        }
                        b.action = self.action(e, e.attr("action"), e.attr("param"));
                        if let Some(action) = &b.action {
                            let keys = e.attr("keys").map(|k| self.subst(e, k)).unwrap_or_default();
                            for key in keys.split_whitespace() {
                                self.bind_key(e, key, action.clone());
                            }
                            if let Some(n) = self.digit_for_item.filter(|_| !self.digit_used) {
                                self.digit_used = true;
                                self.bind_key(e, &n.to_string(), action.clone());
                                b.attrs.insert(
                                    "keys".into(),
                                    format!("{} {n}", b.attr("keys").unwrap_or(""))
                                        .trim()
                                        .to_string(),
                                );
                            }
                        }
                    }
                    "field" => {
                        let name = e.attr("name").unwrap_or_default();
                        if name.is_empty() || e.attr("id").is_none() {
                            self.finding(e, Rule::BadValue, "<field> needs id and name".into());
                        }
                        b.action = Some(Action::EditField {
                            field: name.to_string(),
                        });
                    }
                    "image"
                        if e.attr("src").is_none()
                            || e.attr("width").is_none()
                            || e.attr("height").is_none() =>
                    {
                        self.finding(
                            e,
                            Rule::BadValue,
                            "<image> needs src, width and height".into(),
                        );
                    }
                    "text" => {
                        if let Some(role) = e.attr("role")
                            && self.theme.role(role).is_none()
                        {
                            self.finding(
                                e,
                                Rule::BadValue,
                                format!("no text role {role:?} in theme {}", self.theme.id),
                            );
                        }
                    }
                    _ => {}
                }
                b.children = self.children(e, depth + 1);
                out.push(b);
            }
        }
    }

    fn bind_key(&mut self, e: &Element, key: &str, action: Action) {
        if !BINDABLE_KEYS.contains(&key) {
            self.finding(
                e,
                Rule::BadValue,
                format!("no remote key {key:?}; keys: {}", BINDABLE_KEYS.join(" ")),
            );
            return;
        }
        if self.keys.iter().any(|(k, _)| k.key == key) {
            self.finding(
                e,
                Rule::Structure,
                format!("key {key} is bound twice on this screen"),
            );
            return;
        }
        let o = self.origin(e);
        self.keys.push((
            KeyBinding {
                key: key.to_string(),
                action,
            },
            o,
        ));
    }

    /// Binds a `<key>`; returns its label for a legend.
    fn key(&mut self, e: &Element, _o: &Origin) -> Option<String> {
        let key = e.attr("key").unwrap_or_default().to_string();
        let action = self.action(e, e.attr("action"), e.attr("param"))?;
        self.bind_key(e, &key, action);
        Some(self.subst(e, e.attr("label").unwrap_or_default()))
    }

    fn topic_id(&mut self, e: &Element) -> Option<i64> {
        match self.resolve("topic.id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => {
                self.finding(
                    e,
                    Rule::ActionTarget,
                    "this action needs a topic in scope (topic.id)".into(),
                );
                None
            }
        }
    }

    /// Parses an action string: `open:SCREEN` (with `param`), `page:next|prev`, `vote:KEY`,
    /// `phrase:TEXT`, `field:NAME`, `digit:N`, `erase`, `submit`, `back`, `exit`.
    fn action(&mut self, e: &Element, action: Option<&str>, param: Option<&str>) -> Option<Action> {
        let Some(raw) = action else {
            self.finding(e, Rule::BadValue, format!("<{}> needs action=", e.name));
            return None;
        };
        let raw = self.subst(e, raw);
        let param = param.map(|p| self.subst(e, p));
        let (verb, arg) = match raw.split_once(':') {
            Some((v, a)) => (v, a.to_string()),
            None => (raw.as_str(), String::new()),
        };
        let a = match verb {
            "open" if !arg.is_empty() => Action::OpenScreen { screen: arg, param },
            "page" => {
                let p = self.page.unwrap_or_default();
                let to = match arg.as_str() {
                    "next" => p.index.saturating_add(1).min(p.count.saturating_sub(1)),
                    "prev" => p.index.saturating_sub(1),
                    other => {
                        self.finding(e, Rule::BadValue, format!("page:{other}: next or prev"));
                        return None;
                    }
                };
                Action::Page { page: to }
            }
            "vote" if !arg.is_empty() => Action::CastVote {
                topic_id: self.topic_id(e)?,
                option: arg,
            },
            "phrase" if !arg.is_empty() => Action::ChoosePhrase { phrase: arg },
            "field" if !arg.is_empty() => Action::EditField { field: arg },
            "digit" => match arg.parse::<u8>() {
                Ok(d) if d <= 9 => Action::Digit { digit: d },
                _ => {
                    self.finding(e, Rule::BadValue, format!("digit:{arg}: 0 to 9"));
                    return None;
                }
            },
            "erase" => Action::Erase,
            "submit" => Action::SubmitComment {
                topic_id: self.topic_id(e)?,
            },
            "back" => Action::Back,
            "exit" => Action::Exit,
            _ => {
                self.finding(
                    e,
                    Rule::BadValue,
                    format!("action {raw:?}: open:SCREEN, page:next|prev, vote:OPTION, phrase:TEXT, field:NAME, digit:N, erase, submit, back or exit"),
                );
                return None;
            }
        };
        Some(a)
    }

    fn list(&mut self, e: &Element, depth: usize, origin: Origin) -> Bound {
        let items = self.items(e);
        let name = e.attr("as").unwrap_or("item").to_string();
        let per_page = self
            .number(e, "page-size")
            .or_else(|| self.theme.number("$page-size"))
            .map(|n| n as usize)
            .filter(|n| (1..=9).contains(n))
            .unwrap_or(5);
        let count = u32::try_from(items.len().div_ceil(per_page).max(1)).unwrap_or(1);
        if self.page.is_some() {
            self.finding(
                e,
                Rule::Structure,
                "only one paged <list> per screen".into(),
            );
        }
        let index = self.page_req.min(count - 1);
        self.page = Some(Page { index, count });
        let mut col = Bound::new("column", origin.clone());
        if let Some(id) = e.attr("id") {
            col.attrs.insert("id".into(), self.subst(e, id));
        } else {
            self.finding(
                e,
                Rule::BadValue,
                "<list> needs an id (it remembers focus)".into(),
            );
        }
        for k in ["gap", "width", "height", "grow"] {
            if e.attr(k).is_some()
                && let Some(n) = self.number(e, k)
            {
                col.attrs.insert(k.into(), n.to_string());
            }
        }
        let start = index as usize * per_page;
        let page_items: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
        if page_items.is_empty() {
            let mut t = Bound::new("text", origin.clone())
                .with("role", "body")
                .with("color", "muted");
            t.text = self.subst(e, e.attr("empty").unwrap_or("暂无内容"));
            col.children.push(t);
        }
        for (i, item) in page_items.into_iter().enumerate() {
            self.scopes.push((name.clone(), item));
            self.scopes.push((format!("{name}_n"), Value::from(i + 1)));
            self.digit_for_item = u32::try_from(i + 1).ok();
            self.digit_used = false;
            for c in e.elements() {
                self.element(c, depth + 1, &mut col.children);
            }
            self.digit_for_item = None;
            self.scopes.pop();
            self.scopes.pop();
        }
        if count > 1 {
            if index + 1 < count {
                self.bind_key(e, "PAGE_DOWN", Action::Page { page: index + 1 });
            }
            if index > 0 {
                self.bind_key(e, "PAGE_UP", Action::Page { page: index - 1 });
            }
            let mut t = Bound::new("text", origin)
                .with("role", "caption")
                .with("color", "muted");
            t.text = format!("第 {} / {} 页　翻页键换页", index + 1, count);
            col.children.push(t);
        }
        col
    }

    fn chart(&mut self, e: &Element, origin: Origin) -> Bound {
        let name = e.attr("as").unwrap_or("row").to_string();
        let items = self.items(e);
        let mut rows = Vec::new();
        for item in items {
            self.scopes.push((name.clone(), item));
            let label = self.subst(e, e.attr("label").unwrap_or_default());
            let value_s = self.subst(e, e.attr("value").unwrap_or_default());
            let caption = self.subst(e, e.attr("caption").unwrap_or(""));
            let color = e.attr("color").map(|c| self.subst(e, c));
            self.scopes.pop();
            let value = value_s
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0);
            if value.is_none() {
                self.finding(
                    e,
                    Rule::Binding,
                    format!("chart value {value_s:?} is not a number ≥ 0"),
                );
            }
            rows.push((label, value.unwrap_or(0.0), caption, color));
        }
        // Bars are relative to `max` when given (a total, or 100 for percentages), else to
        // the largest value.
        let max = match e.attr("max").map(|m| self.subst(e, m)) {
            Some(m) => match m.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => v,
                // A total of 0 with nothing counted yet (a ballot nobody voted on): empty bars.
                Ok(v) if v == 0.0 && rows.iter().all(|r| r.1 == 0.0) => 0.0,
                _ => {
                    self.finding(
                        e,
                        Rule::BadValue,
                        format!("chart max {m:?} is not a number > 0"),
                    );
                    rows.iter().map(|r| r.1).fold(0.0, f64::max)
                }
            },
            None => rows.iter().map(|r| r.1).fold(0.0, f64::max),
        };
        let mut col = Bound::new("column", origin.clone()).with("gap", "$chart-gap");
        if let Some(g) = e.attr("grow") {
            col.attrs.insert("grow".into(), g.into());
        }
        for (i, (label, value, caption, color)) in rows.into_iter().enumerate() {
            let frac = if max > 0.0 {
                (value / max).min(1.0)
            } else {
                0.0
            };
            let mut l = Bound::new("text", origin.clone())
                .with("role", "body")
                .with("width", "$chart-label");
            l.text = label;
            let bar = Bound::new("bar", origin.clone())
                .with("fraction", &format!("{frac:.4}"))
                .with("color", &bar_color(color.as_deref(), i))
                .with("grow", "1")
                .with("height", "$chart-bar");
            let mut c = Bound::new("text", origin.clone())
                .with("role", "body")
                .with("width", "$chart-caption")
                .with("align", "end");
            c.text = caption;
            let mut row = Bound::new("row", origin.clone())
                .with("gap", "$gap")
                .with("align", "center");
            row.children = vec![l, bar, c];
            col.children.push(row);
        }
        col
    }
}

/// A chart bar's palette colour: a remote colour key (`RED`) means that key's colour (so a
/// tally bar matches its ballot option), another name is a palette name, none cycles
/// `bar-0`..`bar-3`.
fn bar_color(color: Option<&str>, i: usize) -> String {
    match color {
        Some(k @ ("RED" | "GREEN" | "YELLOW" | "BLUE")) => {
            format!("key-{}", k.to_ascii_lowercase())
        }
        Some(name) if !name.is_empty() => name.to_string(),
        _ => format!("bar-{}", i % 4),
    }
}

/// What a colour-key chip shows: nothing for the colour keys (the colour says it), the key
/// name otherwise.
pub fn key_glyph(key: &str) -> &str {
    match key {
        "RED" | "GREEN" | "YELLOW" | "BLUE" => "",
        "PAGE_UP" => "上页",
        "PAGE_DOWN" => "下页",
        "BACK" => "返回",
        "MENU" => "菜单",
        "INFO" => "信息",
        "EXIT" => "退出",
        other => other,
    }
}

/// Text with whitespace collapsed, for callers building bound text by hand.
pub fn clean(s: &str) -> String {
    collapse_whitespace(s)
}
