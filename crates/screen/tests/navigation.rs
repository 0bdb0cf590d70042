//! Navigation on every shipped screen (both themes, demo data): every focusable is reachable
//! with the arrows from the default focus, and no key sequence leaves a screen without focus.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use screen::document::{Direction, LayoutDocument};
use screen::focus::{Key, Navigator};
use screen::measure::ApproxMeasure;
use screen::{demo_data, load_dir};

type Docs = BTreeMap<(String, Option<String>, u32), LayoutDocument>;

/// Laid out once per theme and shared by the property test's cases.
fn docs(theme: &str) -> &'static Docs {
    static STANDARD: OnceLock<Docs> = OnceLock::new();
    static ELDERS: OnceLock<Docs> = OnceLock::new();
    let cell = if theme == "elders" {
        &ELDERS
    } else {
        &STANDARD
    };
    cell.get_or_init(|| build(theme))
}

fn build(theme: &str) -> Docs {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let t = load_dir(&root.join("stb-templates"), &root.join("assets"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (docs, findings) = t.render_all(theme, &demo_data(), &ApproxMeasure);
    assert!(findings.is_empty(), "{findings:?}");
    docs.into_iter()
        .map(|d| {
            let page = d.page.map(|p| p.index).unwrap_or(0);
            ((d.screen.clone(), d.param.clone(), page), d)
        })
        .collect()
}

fn provider(docs: &Docs) -> impl Fn(&str, Option<&str>, u32) -> Option<LayoutDocument> + '_ {
    move |s: &str, p: Option<&str>, page: u32| {
        docs.get(&(s.to_string(), p.map(str::to_string), page))
            .cloned()
    }
}

#[test]
fn every_focusable_is_reachable_from_the_default_focus() {
    for theme in ["standard", "elders"] {
        let docs = docs(theme);
        assert!(docs.len() > 40, "{theme}: only {} screens", docs.len());
        let screens = provider(docs);
        for (key, doc) in docs {
            let start = Navigator::new(doc.clone());
            let mut seen = BTreeSet::new();
            let mut states = BTreeSet::new();
            let mut queue = VecDeque::from([start]);
            while let Some(nav) = queue.pop_front() {
                if states.len() > 5000 || !states.insert(format!("{:?}", nav.current())) {
                    continue;
                }
                if let Some(f) = nav.focus() {
                    seen.insert(f.to_string());
                }
                for d in Direction::ALL {
                    let mut next = nav.clone();
                    next.press(Key::Arrow(d), &screens);
                    queue.push_back(next);
                }
            }
            for f in &doc.focusables {
                assert!(
                    seen.contains(&f.id),
                    "{theme} {key:?}: {} unreachable",
                    f.id
                );
            }
        }
    }
}

fn key_strategy() -> impl Strategy<Value = Key> {
    prop_oneof![
        4 => prop_oneof![
            Just(Key::Arrow(Direction::Up)),
            Just(Key::Arrow(Direction::Down)),
            Just(Key::Arrow(Direction::Left)),
            Just(Key::Arrow(Direction::Right)),
        ],
        2 => Just(Key::Ok),
        1 => Just(Key::Back),
        1 => Just(Key::Menu),
        1 => Just(Key::Info),
        1 => (0u8..10).prop_map(Key::Digit),
        1 => prop_oneof![Just(Key::Red), Just(Key::Green), Just(Key::Yellow), Just(Key::Blue)],
        1 => prop_oneof![Just(Key::PageUp), Just(Key::PageDown)],
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn navigation_never_leaves_a_screen_without_focus(
        elders in any::<bool>(),
        keys in proptest::collection::vec(key_strategy(), 1..120),
    ) {
        let docs = docs(if elders { "elders" } else { "standard" });
        let screens = provider(docs);
        let home = docs.get(&("home".to_string(), None, 0)).cloned().unwrap_or_default();
        let mut nav = Navigator::new(home);
        for key in keys {
            let _ = nav.press(key, &screens);
            let frame = nav.current().unwrap_or_else(|| panic!("empty stack"));
            if !frame.document.focusables.is_empty() {
                let focus = nav.focus().unwrap_or_else(|| panic!("no focus on {}", frame.document.screen));
                prop_assert!(frame.document.focusable(focus).is_some(), "focus {focus} not on {}", frame.document.screen);
            }
        }
    }
}

#[test]
fn paging_keeps_focus_on_the_list_and_back_restores_focus() {
    let docs = docs("standard");
    let screens = provider(docs);
    let home = docs
        .get(&("home".to_string(), None, 0))
        .cloned()
        .unwrap_or_default();
    let mut nav = Navigator::new(home);
    // GREEN opens the notices (six notices, five a page).
    assert!(matches!(
        nav.press(Key::Green, &screens),
        screen::focus::Outcome::Opened { .. }
    ));
    assert_eq!(
        nav.current().map(|f| f.document.screen.as_str()),
        Some("notices")
    );
    assert_eq!(nav.focus(), Some("item-1"));
    nav.press(Key::Arrow(Direction::Down), &screens);
    nav.press(Key::Arrow(Direction::Down), &screens);
    assert_eq!(nav.focus(), Some("item-3"));
    // Page 2 has one item: focus stays on the list, clamped to it.
    nav.press(Key::PageDown, &screens);
    let page = nav.current().and_then(|f| f.document.page);
    assert_eq!(page.map(|p| (p.index, p.count)), Some((1, 2)));
    assert_eq!(nav.focus(), Some("item-1"));
    assert_eq!(nav.depth(), 2, "paging adds no back-stack entry");
    nav.press(Key::PageUp, &screens);
    assert_eq!(nav.focus(), Some("item-1"));
    // Digit 2 opens the second notice; BACK returns with focus where it was.
    nav.press(Key::Arrow(Direction::Down), &screens);
    assert_eq!(nav.focus(), Some("item-2"));
    nav.press(Key::Digit(4), &screens);
    assert_eq!(
        nav.current().map(|f| f.document.screen.as_str()),
        Some("notice-detail")
    );
    nav.press(Key::Back, &screens);
    assert_eq!(
        nav.current().map(|f| f.document.screen.as_str()),
        Some("notices")
    );
    assert_eq!(nav.focus(), Some("item-2"));
    // MENU goes home without growing the stack.
    nav.press(Key::Menu, &screens);
    assert_eq!(nav.depth(), 1);
}

#[test]
fn a_vote_goes_from_ballot_to_receipt_with_the_colour_key() {
    let docs = docs("elders");
    let screens = provider(docs);
    let ballot = docs
        .get(&("ballot".to_string(), Some("101".to_string()), 0))
        .cloned()
        .unwrap_or_default();
    let mut nav = Navigator::new(ballot);
    nav.press(Key::Yellow, &screens);
    assert_eq!(
        nav.current()
            .and_then(|f| f.document.param.clone())
            .as_deref(),
        Some("101/abstain")
    );
    let out = nav.press(Key::Ok, &screens);
    assert_eq!(
        out,
        screen::focus::Outcome::Effect(screen::document::Action::CastVote {
            topic_id: 101,
            option: "abstain".into()
        })
    );
    assert_eq!(
        nav.current().map(|f| f.document.screen.as_str()),
        Some("vote-receipt")
    );
}

#[test]
fn a_comment_is_drafted_with_the_remote_alone() {
    let docs = docs("standard");
    let screens = provider(docs);
    let entry = docs
        .get(&("comment-entry".to_string(), Some("102".to_string()), 0))
        .cloned()
        .unwrap_or_default();
    let mut nav = Navigator::new(entry);
    nav.press(Key::Arrow(Direction::Down), &screens);
    nav.press(Key::Ok, &screens);
    assert_eq!(nav.draft.phrase.as_deref(), Some("原则同意，建议优化方案"));
    // Right into the digit pad (the key beside the phrase), up onto the building field; OK,
    // then type 12 with the remote's digits.
    nav.press(Key::Arrow(Direction::Right), &screens);
    assert_eq!(nav.focus(), Some("d1"));
    nav.press(Key::Arrow(Direction::Up), &screens);
    assert_eq!(nav.focus(), Some("building"));
    nav.press(Key::Ok, &screens);
    nav.press(Key::Digit(1), &screens);
    nav.press(Key::Digit(2), &screens);
    assert_eq!(
        nav.draft.fields.get("building").map(String::as_str),
        Some("12")
    );
    let out = nav.press(Key::Green, &screens);
    assert_eq!(
        out,
        screen::focus::Outcome::Effect(screen::document::Action::SubmitComment { topic_id: 102 })
    );
    assert_eq!(
        nav.current().map(|f| f.document.screen.as_str()),
        Some("comment-receipt")
    );
}
