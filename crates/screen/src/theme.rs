//! Themes: the palette, type sizes per text role, spacing and limits of a look
//! (`stb-templates/themes/standard.xml`, `elders.xml`), plus WCAG contrast arithmetic.
//!
//! Templates name colours (`fill="surface"`) and numbers (`gap="$gap"`) from the theme, so
//! one template serves both themes; elders' mode changes sizes, page sizes and limits.

use std::collections::BTreeMap;

use crate::check::{Finding, Rule};
use crate::document::{Color, Weight};
use crate::template::{self, Element};

/// How text of one role looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoleStyle {
    pub size: f32,
    pub line_height: f32,
    pub weight: Weight,
    pub color: Color,
}

/// A parsed theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub id: String,
    pub colors: BTreeMap<String, Color>,
    pub roles: BTreeMap<String, RoleStyle>,
    /// Named numbers templates use as `$name` (spacing, page sizes, column counts, heights).
    pub numbers: BTreeMap<String, f32>,
    pub focus_color: Color,
    pub focus_width: f32,
    /// Smallest allowed size for body text (and buttons' labels).
    pub min_body: f32,
    /// Smallest allowed text contrast ratio.
    pub min_contrast: f32,
    /// At most this many focusables side by side (elders' mode).
    pub max_row_focusables: Option<usize>,
}

impl Theme {
    /// A colour by palette name, or a literal `#rrggbb`.
    pub fn color(&self, name: &str) -> Option<Color> {
        if name.starts_with('#') {
            return Color::parse(name);
        }
        self.colors.get(name).copied()
    }

    /// A number: a literal, or `$name` from the theme.
    pub fn number(&self, v: &str) -> Option<f32> {
        match v.strip_prefix('$') {
            Some(name) => self.numbers.get(name).copied(),
            None => v.trim().parse::<f32>().ok().filter(|n| n.is_finite()),
        }
    }

    /// The style of a text role (`title`, `heading`, `body`, `caption`, `button`, `digit`).
    pub fn role(&self, name: &str) -> Option<RoleStyle> {
        self.roles.get(name).copied()
    }
}

/// Parses a theme file. Returns the theme if it has everything a screen needs.
pub fn parse_theme(file: &str, src: &[u8]) -> (Option<Theme>, Vec<Finding>) {
    let (root, mut findings) = template::parse(file, src, false);
    let Some(root) = root else {
        return (None, findings);
    };
    let theme = build(file, &root, &mut findings);
    (theme, findings)
}

fn build(file: &str, root: &Element, f: &mut Vec<Finding>) -> Option<Theme> {
    let bad = |f: &mut Vec<Finding>, e: &Element, msg: String| {
        f.push(Finding::new(file, e.line, &e.name, Rule::BadValue, msg));
    };
    if root.name != "theme" {
        bad(f, root, "a theme file's root must be <theme>".into());
        return None;
    }
    let num = |e: &Element, k: &str, f: &mut Vec<Finding>| -> Option<f32> {
        let v = e.attr(k)?;
        let n = v
            .parse::<f32>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0 && *n <= 2000.0);
        if n.is_none() {
            f.push(Finding::new(
                file,
                e.line,
                &e.name,
                Rule::BadValue,
                format!("{k}={v:?} is not a size"),
            ));
        }
        n
    };
    let mut colors = BTreeMap::new();
    let mut numbers = BTreeMap::new();
    let mut role_elems = Vec::new();
    let mut focus = None;
    for e in root.elements() {
        match e.name.as_str() {
            "color" => match (e.attr("name"), e.attr("value").and_then(Color::parse)) {
                (Some(n), Some(c)) => {
                    colors.insert(n.to_string(), c);
                }
                _ => bad(f, e, "<color> needs name and value=\"#rrggbb\"".into()),
            },
            "number" => match (e.attr("name"), num(e, "value", f)) {
                (Some(n), Some(v)) => {
                    numbers.insert(n.to_string(), v);
                }
                _ => bad(f, e, "<number> needs name and value".into()),
            },
            "role" => role_elems.push(e),
            "focus" => {
                focus = Some((e.attr("color").and_then(Color::parse), num(e, "width", f)));
            }
            other => f.push(Finding::new(
                file,
                e.line,
                other,
                Rule::UnknownElement,
                format!("unknown theme element <{other}>; known: color, number, role, focus"),
            )),
        }
    }
    let mut roles = BTreeMap::new();
    for e in role_elems {
        let color = e.attr("color").and_then(|c| {
            if c.starts_with('#') {
                Color::parse(c)
            } else {
                colors.get(c).copied()
            }
        });
        let weight = match e.attr("weight") {
            Some("bold") => Weight::Bold,
            None | Some("regular") => Weight::Regular,
            Some(w) => {
                bad(f, e, format!("weight {w:?}: regular or bold"));
                Weight::Regular
            }
        };
        match (
            e.attr("name"),
            num(e, "size", f),
            num(e, "line-height", f),
            color,
        ) {
            (Some(n), Some(size), Some(lh), Some(color)) if size >= 1.0 && lh >= size => {
                roles.insert(
                    n.to_string(),
                    RoleStyle {
                        size,
                        line_height: lh,
                        weight,
                        color,
                    },
                );
            }
            _ => bad(
                f,
                e,
                "<role> needs name, size, line-height (>= size) and a known color".into(),
            ),
        }
    }
    let id = root.attr("id").unwrap_or_default().to_string();
    let attr_num = |k: &str, f: &mut Vec<Finding>| num(root, k, f);
    let min_body = attr_num("min-body", f).unwrap_or(24.0);
    let min_contrast = attr_num("min-contrast", f).unwrap_or(4.5);
    let max_row = attr_num("max-row-focusables", f).map(|n| n as usize);
    let (focus_color, focus_width) = match focus {
        Some((Some(c), Some(w))) => (c, w),
        _ => {
            bad(
                f,
                root,
                "theme needs <focus color=\"#rrggbb\" width=\"N\"/>".into(),
            );
            return None;
        }
    };
    let mut ok = !id.is_empty();
    if !ok {
        bad(f, root, "theme needs an id".into());
    }
    for needed in ["background", "text"] {
        if !colors.contains_key(needed) {
            bad(f, root, format!("theme needs colour {needed:?}"));
            ok = false;
        }
    }
    for needed in ["title", "heading", "body", "caption", "button"] {
        if !roles.contains_key(needed) {
            bad(f, root, format!("theme needs role {needed:?}"));
            ok = false;
        }
    }
    ok.then_some(Theme {
        id,
        colors,
        roles,
        numbers,
        focus_color,
        focus_width,
        min_body,
        min_contrast,
        max_row_focusables: max_row,
    })
}

/// WCAG 2 relative luminance of an sRGB colour (alpha ignored).
pub fn relative_luminance(c: Color) -> f32 {
    let lin = |v: u8| {
        let s = f32::from(v) / 255.0;
        if s <= 0.039_28 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b, _] = c.0;
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// WCAG 2 contrast ratio between two colours, from 1 to 21.
pub fn contrast_ratio(a: Color, b: Color) -> f32 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_matches_wcag_examples() {
        let white = Color::rgb(255, 255, 255);
        let black = Color::rgb(0, 0, 0);
        assert!((contrast_ratio(white, black) - 21.0).abs() < 0.01);
        assert!((contrast_ratio(white, white) - 1.0).abs() < 0.01);
        // #767676 on white is the classic 4.54:1.
        assert!((contrast_ratio(Color::rgb(0x76, 0x76, 0x76), white) - 4.54).abs() < 0.01);
    }

    #[test]
    fn parses_a_theme_and_reports_gaps() {
        let src = r##"<theme id="t" min-body="32" min-contrast="7" max-row-focusables="4">
  <color name="background" value="#000000"/>
  <color name="text" value="#ffffff"/>
  <number name="gap" value="16"/>
  <role name="title" size="48" line-height="60" weight="bold" color="text"/>
  <role name="heading" size="40" line-height="50" color="text"/>
  <role name="body" size="32" line-height="44" color="text"/>
  <role name="caption" size="28" line-height="36" color="text"/>
  <role name="button" size="32" line-height="40" color="text"/>
  <focus color="#ffd500" width="6"/>
</theme>"##;
        let (t, f) = parse_theme("t.xml", src.as_bytes());
        assert!(f.is_empty(), "{f:?}");
        let t = t.unwrap_or_else(|| panic!("no theme"));
        assert_eq!(t.number("$gap"), Some(16.0));
        assert_eq!(t.max_row_focusables, Some(4));
        assert_eq!(t.role("title").map(|r| r.weight), Some(Weight::Bold));

        let (t, f) = parse_theme(
            "t.xml",
            b"<theme id=\"t\"><focus color=\"#fff\" width=\"4\"/></theme>",
        );
        assert!(t.is_none());
        assert!(f.len() >= 7, "{f:?}");
    }
}
