//! Bad input never panics or hangs: arbitrary bytes into the parser, and arbitrary
//! XML-shaped templates all the way through binding, layout, focus and check.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use screen::measure::ApproxMeasure;
use screen::{Templates, demo_data, template};

const THEME: &str = include_str!("../../../stb-templates/themes/standard.xml");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = template::parse("fuzz.xml", &bytes, true);
        let _ = screen::theme::parse_theme("fuzz.xml", &bytes);
    }
}

/// A template-shaped string: known and unknown elements, attributes with bindings, actions
/// and numbers, nested at random.
fn element(depth: u32) -> BoxedStrategy<String> {
    let names = prop_oneof![
        Just("row"),
        Just("column"),
        Just("grid"),
        Just("text"),
        Just("button"),
        Just("list"),
        Just("each"),
        Just("if"),
        Just("chart"),
        Just("banner"),
        Just("legend"),
        Just("key"),
        Just("spacer"),
        Just("field"),
        Just("image"),
        Just("bogus"),
    ];
    let attrs = proptest::collection::vec(
        (
            prop_oneof![
                Just("id"),
                Just("action"),
                Just("param"),
                Just("in"),
                Just("as"),
                Just("test"),
                Just("lines"),
                Just("width"),
                Just("height"),
                Just("grow"),
                Just("gap"),
                Just("columns"),
                Just("keys"),
                Just("nav-left"),
                Just("nav-up"),
                Just("role"),
                Just("limit"),
                Just("page-size"),
                Just("value"),
                Just("label"),
                Just("key"),
                Just("fill"),
                Just("max"),
                Just("src"),
                Just("name"),
            ],
            prop_oneof![
                Just("a".to_string()),
                Just("".to_string()),
                Just("{topic.title}".to_string()),
                Just("topics".to_string()),
                Just("topic".to_string()),
                Just("open:home".to_string()),
                Just("vote:approve".to_string()),
                Just("back".to_string()),
                Just("RED 1".to_string()),
                Just("99999".to_string()),
                Just("-1".to_string()),
                Just("NaN".to_string()),
                Just("$gap".to_string()),
                Just("{".to_string()),
                Just("body".to_string()),
                (0u32..2000).prop_map(|n| n.to_string()),
            ],
        ),
        0..4,
    );
    let leaf = (names.clone(), attrs.clone(), "[a-z议题{}. ]{0,12}")
        .prop_map(|(n, a, text)| format!("<{n}{}>{text}</{n}>", render_attrs(&a)))
        .boxed();
    if depth == 0 {
        return leaf;
    }
    prop_oneof![
        leaf,
        (
            names,
            attrs,
            proptest::collection::vec(element(depth - 1), 0..4)
        )
            .prop_map(|(n, a, kids)| {
                format!("<{n}{}>{}</{n}>", render_attrs(&a), kids.concat())
            }),
    ]
    .boxed()
}

fn render_attrs(a: &[(&str, String)]) -> String {
    let mut seen = std::collections::BTreeSet::new();
    a.iter()
        .filter(|(k, _)| seen.insert(*k))
        .map(|(k, v)| format!(" {k}=\"{v}\""))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn arbitrary_templates_never_panic_the_pipeline(
        kids in proptest::collection::vec(element(3), 0..5),
        per_topic in any::<bool>(),
    ) {
        let head = if per_topic { r#"<screen id="s" for="topics" as="topic">"# } else { r#"<screen id="s">"# };
        let src = format!("{head}{}</screen>", kids.concat());
        let t = Templates::from_sources(
            vec![("s.xml".into(), src.into_bytes())],
            vec![("standard.xml".into(), THEME.as_bytes().to_vec())],
            vec![],
        );
        let _ = t.check(&demo_data(), &ApproxMeasure);
    }
}

#[test]
fn nested_repetition_is_capped() {
    // 200 x 200 x 200 would be eight million elements.
    let mut notices = Vec::new();
    for i in 0..200 {
        notices.push(serde_json::json!({ "id": i, "title": "通知" }));
    }
    let data = serde_json::json!({ "n": notices });
    let src = r#"<screen id="s"><each in="n" as="a"><each in="n" as="b"><each in="n" as="c"><text role="body" lines="1">{c.title}</text></each></each></each></screen>"#;
    let t = Templates::from_sources(
        vec![("s.xml".into(), src.as_bytes().to_vec())],
        vec![("standard.xml".into(), THEME.as_bytes().to_vec())],
        vec![],
    );
    let out = t.render("s", None, 0, "standard", &data, &ApproxMeasure);
    assert!(
        out.findings.iter().any(|f| f.rule == screen::Rule::Size),
        "{:?}",
        out.findings
    );
}

#[test]
fn huge_inputs_are_refused_quickly() {
    // A million nested rows: refused by depth without recursion.
    let mut src = String::from("<screen id=\"s\">");
    src.push_str(&"<row>".repeat(100_000));
    let (_, findings) = template::parse("deep.xml", src.as_bytes(), true);
    assert!(!findings.is_empty());
    // A file over the size limit is refused unread.
    let big = vec![b' '; template::MAX_FILE_BYTES + 1];
    let (root, findings) = template::parse("big.xml", &big, true);
    assert!(root.is_none());
    assert_eq!(findings.len(), 1);
    // Many elements: capped.
    let mut src = String::from("<screen id=\"s\">");
    src.push_str(&"<spacer/>".repeat(50_000));
    src.push_str("</screen>");
    let (_, findings) = template::parse("many.xml", src.as_bytes(), true);
    assert!(findings.iter().any(|f| f.rule == screen::Rule::Size));
}
