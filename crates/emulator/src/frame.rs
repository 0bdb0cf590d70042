//! One frame: the current screen's layout document drawn by `render`, with the focus ring on
//! the focused element and the comment draft filled in, as a box draws it.
//!
//! The layout document leaves one thing to the box: the values typed with the remote. A text
//! node with id `field:NAME` (`field:phrase`, `field:building`, `field:room`) shows the draft's
//! value, when there is one, on one line at the node's first line position, in place of its
//! lines (`docs/screens.md`, "Draft display"). Everything else is drawn exactly as the headend's
//! `render` draws it.

use render::{ImageSource, Pixmap, RenderError, RenderReport};
use screen::document::{LayoutDocument, Node, TextLine, Weight};
use screen::focus::Draft;
use typeset::Typesetter;

/// The value a draft shows in the text node `field:NAME`, if any.
pub fn draft_value<'a>(draft: &'a Draft, name: &str) -> Option<&'a str> {
    let value = if name == "phrase" {
        draft.phrase.as_deref()
    } else {
        draft.fields.get(name).map(String::as_str)
    };
    value.filter(|v| !v.is_empty())
}

/// `doc` with the draft's values in its `field:NAME` text nodes.
pub fn with_draft(
    doc: &LayoutDocument,
    draft: &Draft,
    typesetter: &mut Typesetter,
) -> LayoutDocument {
    let mut out = doc.clone();
    for node in &mut out.nodes {
        let Node::Text {
            id: Some(id),
            x,
            y,
            size,
            line_height,
            weight,
            lines,
            ..
        } = node
        else {
            continue;
        };
        let Some(value) = id
            .strip_prefix("field:")
            .and_then(|name| draft_value(draft, name))
        else {
            continue;
        };
        let style = typeset::TextStyle {
            size: *size,
            line_height: *line_height,
            weight: match weight {
                Weight::Regular => typeset::Weight::Regular,
                Weight::Bold => typeset::Weight::Bold,
            },
        };
        let (lx, baseline) = match lines.first() {
            Some(l) => (l.x, l.baseline),
            None => (*x, *y + typesetter.first_baseline(&style)),
        };
        let width = typesetter.measure(value, &style);
        *lines = vec![TextLine {
            text: value.to_owned(),
            x: lx,
            baseline,
            width,
        }];
    }
    out
}

/// Draws `doc` with `focus` marked and the draft filled in.
pub fn draw(
    doc: &LayoutDocument,
    focus: Option<&str>,
    draft: &Draft,
    typesetter: &mut Typesetter,
    images: &dyn ImageSource,
) -> Result<(Pixmap, RenderReport), RenderError> {
    let has_fields = doc
        .nodes
        .iter()
        .any(|n| n.id().is_some_and(|id| id.starts_with("field:")));
    if has_fields {
        let filled = with_draft(doc, draft, typesetter);
        render::draw(&filled, focus, typesetter, images)
    } else {
        render::draw(doc, focus, typesetter, images)
    }
}
