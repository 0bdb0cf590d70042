//! A household's session on an emulated box, from the demo community's real (verified) bundle:
//! opening a topic, casting a ballot and confirming, commenting, going back; what a box in
//! another grid sees; refusals of bad bundles and foreign cards; delivery.
//!
//! Frames are compared with `tests/goldens/*.png` within `render::Tolerance::GOLDEN`;
//! `UPDATE_GOLDENS=1 cargo test -p emulator --test box_session` rewrites them.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use emulator::content::ContentError;
use emulator::demo::{self, AT};
use emulator::keys::parse_sequence;
use emulator::{BoxConfig, BoxContent, BoxError, ProvisionError, SetTopBox};
use returnpath::{
    Ack, Batch, BatchResponse, Body, MasterSecret, SendConfig, Transport, TransportError,
    derive_card_key, verify,
};
use screen::document::Node;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo bundles in a fresh directory: (tempdir, community bundle dir).
fn bundles() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = demo::write_bundles(&root(), &tmp.path().join("bundles")).unwrap();
    (tmp, dir)
}

fn start(dir: &Path, tmp: &Path, card: &str, grid: i64, theme: &str) -> SetTopBox {
    let content = BoxContent::from_bundle(dir, None).unwrap();
    let identity = demo::provisioning(card, grid, grid).unwrap();
    SetTopBox::start(
        content,
        identity,
        BoxConfig {
            theme: theme.into(),
            at: AT,
            outbox: tmp.join(format!("outbox-{card}.log")),
        },
    )
    .unwrap()
}

fn golden(name: &str, stb: &SetTopBox) {
    let (pixmap, report) = stb.frame().unwrap();
    assert!(report.is_clean(), "{name}: {report:?}");
    let path = root().join(format!("crates/emulator/tests/goldens/{name}.png"));
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(&path, render::encode_png(&pixmap).unwrap()).unwrap();
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDENS=1 writes it)", path.display()));
    let want = render::decode_png(&want).unwrap();
    let diff = render::compare(&pixmap, &want, render::Tolerance::GOLDEN);
    assert!(
        diff.matches(),
        "{name} differs from {}: {diff:?}",
        path.display()
    );
}

fn texts(stb: &SetTopBox) -> String {
    stb.document()
        .map(|d| {
            d.nodes
                .iter()
                .filter_map(|n| match n {
                    Node::Text { lines, .. } => {
                        Some(lines.iter().map(|l| l.text.as_str()).collect::<String>())
                    }
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Opens the first topic, goes to its ballot (RED), moves to the second option, chooses it
/// and confirms: the sequence of the end-to-end check, in one theme.
fn vote_session(theme: &str) {
    let (tmp, dir) = bundles();
    let mut stb = start(&dir, tmp.path(), demo::CARD, 1, theme);
    assert_eq!((stb.screen(), stb.focus()), ("home", Some("topic-1")));
    golden(&format!("home-{theme}"), &stb);

    let mut trail = Vec::new();
    for key in parse_sequence("OK RED DOWN OK OK").unwrap() {
        let step = stb.press(key).unwrap();
        trail.push(format!(
            "{} {} {} {}",
            step.key,
            step.screen,
            step.param.unwrap_or_default(),
            step.focus.unwrap_or_default()
        ));
        match step.screen.as_str() {
            "ballot" if step.key == emulator::RemoteKey::Down => {
                golden(&format!("ballot-{theme}"), &stb)
            }
            "vote-confirm" => golden(&format!("vote-confirm-{theme}"), &stb),
            "vote-receipt" => {
                golden(&format!("vote-receipt-{theme}"), &stb);
                let queued = step.queued.clone().unwrap();
                assert_eq!(queued.seq, 1);
            }
            _ => {}
        }
    }
    assert_eq!(
        trail,
        vec![
            "VK_ENTER topic-detail 101 act-first",
            "VK_RED ballot 101 option-1",
            "VK_DOWN ballot 101 option-2",
            "VK_ENTER vote-confirm 101/oppose confirm",
            "VK_ENTER vote-receipt 101/oppose to-topic",
        ]
    );

    // One signed vote for topic 101, option "oppose", that verifies under the card's key.
    let pending = stb.outbox().pending();
    assert_eq!(pending.len(), 1);
    let m = &pending[0];
    assert_eq!(
        m.message.body,
        Body::Vote {
            topic_id: 101,
            option: "oppose".into()
        }
    );
    assert_eq!(m.message.card_id.as_str(), demo::CARD);
    assert_eq!(m.message.sent_at, AT);
    let key = derive_card_key(&MasterSecret::from_bytes(demo::MASTER), m.card_id());
    verify(&key, m).unwrap();
}

#[test]
fn a_household_opens_a_topic_casts_a_ballot_and_confirms() {
    vote_session("standard");
}

#[test]
fn the_same_session_works_in_the_elders_theme() {
    vote_session("elders");
}

#[test]
fn the_outbox_survives_quitting_and_seqs_go_on() {
    let (tmp, dir) = bundles();
    {
        let mut stb = start(&dir, tmp.path(), demo::CARD, 1, "standard");
        for key in parse_sequence("OK RED OK OK").unwrap() {
            stb.press(key).unwrap();
        }
        assert_eq!(stb.outbox().pending_len(), 1);
    } // quit (or a power cut: the message was synced before `press` returned)
    let mut stb = start(&dir, tmp.path(), demo::CARD, 1, "standard");
    assert_eq!(
        stb.outbox().pending_len(),
        1,
        "still queued after a restart"
    );
    for key in parse_sequence("OK RED 3 OK").unwrap() {
        stb.press(key).unwrap();
    }
    let seqs: Vec<(u64, Body)> = stb
        .outbox()
        .pending()
        .into_iter()
        .map(|m| (m.seq(), m.message.body))
        .collect();
    assert_eq!(
        seqs,
        vec![
            (
                1,
                Body::Vote {
                    topic_id: 101,
                    option: "approve".into()
                }
            ),
            (
                2,
                Body::Vote {
                    topic_id: 101,
                    option: "abstain".into()
                }
            ),
        ]
    );
}

#[test]
fn back_restores_the_previous_screens_focus() {
    let (tmp, dir) = bundles();
    let mut stb = start(&dir, tmp.path(), demo::CARD, 1, "standard");
    stb.press(emulator::RemoteKey::Down).unwrap();
    assert_eq!(stb.focus(), Some("topic-2"));
    let step = stb.press(emulator::RemoteKey::Enter).unwrap();
    assert_eq!(
        (step.screen.as_str(), step.param.as_deref()),
        ("topic-detail", Some("102"))
    );
    let step = stb.press(emulator::RemoteKey::Back).unwrap();
    assert_eq!(
        (step.screen.as_str(), step.focus.as_deref()),
        ("home", Some("topic-2"))
    );
    assert_eq!(stb.depth(), 1);
    // BACK on home stays; EXIT leaves the channel.
    stb.press(emulator::RemoteKey::Back).unwrap();
    assert_eq!(stb.screen(), "home");
    stb.press(emulator::RemoteKey::Exit).unwrap();
    assert!(stb.exited());
}

#[test]
fn a_comment_built_with_the_remote_is_queued_signed() {
    let (tmp, dir) = bundles();
    let mut stb = start(&dir, tmp.path(), demo::CARD, 1, "standard");
    // Topic 101, GREEN: comment entry (focus on the first phrase); OK chooses it; RIGHT to
    // the building field, OK makes it active, digits 1 2; GREEN submits.
    for key in parse_sequence("OK GREEN OK RIGHT OK 1 2").unwrap() {
        stb.press(key).unwrap();
    }
    assert_eq!(stb.screen(), "comment-entry");
    assert_eq!(
        stb.draft().fields.get("building").map(String::as_str),
        Some("12")
    );
    golden("comment-entry-standard", &stb);
    let step = stb.press(emulator::RemoteKey::Green).unwrap();
    assert_eq!(step.screen, "comment-receipt");
    let queued = step.queued.unwrap();
    assert_eq!(
        queued.body,
        Body::Comment {
            topic_id: 101,
            text: "赞成，希望尽快实施（12幢）".into()
        }
    );
}

#[test]
fn a_comment_without_a_phrase_is_not_sent() {
    let (tmp, dir) = bundles();
    let mut stb = start(&dir, tmp.path(), demo::CARD, 1, "standard");
    let mut last = None;
    for key in parse_sequence("OK GREEN GREEN").unwrap() {
        last = Some(stb.press(key).unwrap());
    }
    let last = last.unwrap();
    assert!(last.queued.is_none());
    assert!(last.note.is_some());
    assert_eq!(stb.screen(), "comment-entry");
    assert!(stb.outbox().is_empty());
}

#[test]
fn a_box_in_another_grid_does_not_see_the_first_grids_notice() {
    let (tmp, dir) = bundles();
    let grid1 = start(&dir, tmp.path(), demo::CARD, 1, "standard");
    let grid2 = start(&dir, tmp.path(), demo::CARD_GRID_2, 2, "standard");
    let ids = |stb: &SetTopBox, key: &str| -> Vec<i64> {
        stb.data()[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_i64().unwrap())
            .collect()
    };
    // Grid 1: its water cut (urgent), the meeting and the safety reminder; not grid 2's gas
    // inspection, not the expired notice 1, not notice 9 whose window opens later.
    assert_eq!(ids(&grid1, "notices"), vec![7, 6, 5]);
    assert_eq!(ids(&grid1, "urgent_notices"), vec![7]);
    assert_eq!(ids(&grid2, "notices"), vec![8, 6, 5, 2]);
    assert_eq!(ids(&grid2, "urgent_notices"), vec![8]);
    // And on screen: the banner over home.
    assert!(
        texts(&grid1).contains("紧急通知：3至5栋停水检修通知"),
        "{}",
        texts(&grid1)
    );
    assert!(!texts(&grid2).contains("停水"), "{}", texts(&grid2));
    assert!(texts(&grid2).contains("紧急通知：燃气管道安全检查"));
    golden("home-grid2-standard", &grid2);
}

#[test]
fn opening_a_notice_sends_a_read_receipt() {
    let (tmp, dir) = bundles();
    let mut stb = start(&dir, tmp.path(), demo::CARD, 1, "standard");
    let mut last = None;
    for key in parse_sequence("GREEN OK").unwrap() {
        last = Some(stb.press(key).unwrap());
    }
    let last = last.unwrap();
    assert_eq!(
        (last.screen.as_str(), last.param.as_deref()),
        ("notice-detail", Some("7"))
    );
    assert_eq!(
        last.queued.map(|q| q.body),
        Some(Body::NoticeSeen { notice_id: 7 })
    );
}

#[test]
fn a_tampered_bundle_is_refused_with_the_verifiers_named_finding() {
    let (_tmp, dir) = bundles();
    let path = dir.join("topics/community.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let i = bytes.iter().position(|b| *b == b'1').unwrap();
    bytes[i] = b'2';
    std::fs::write(&path, bytes).unwrap();
    let err = BoxContent::from_bundle(&dir, None).unwrap_err();
    let ContentError::Refused { findings, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        findings.iter().any(|f| f.kind.as_str() == "hash_mismatch"),
        "{err}"
    );
    // Truncated: the file cut short is a size mismatch.
    std::fs::write(&path, b"{").unwrap();
    let err = BoxContent::from_bundle(&dir, None).unwrap_err();
    assert!(err.to_string().contains("size_mismatch"), "{err}");
}

#[test]
fn a_missing_base_bundle_is_named() {
    let (tmp, dir) = bundles();
    std::fs::remove_dir_all(tmp.path().join("bundles/base")).unwrap();
    let err = BoxContent::from_bundle(&dir, None).unwrap_err();
    assert!(matches!(err, ContentError::NoBase { .. }), "{err}");
}

#[test]
fn a_card_of_another_community_or_grid_is_refused() {
    let (tmp, dir) = bundles();
    let content = BoxContent::from_bundle(&dir, None).unwrap();
    let mut identity = demo::provisioning(demo::CARD, 1, 1).unwrap();
    identity.community = 320_213_002;
    let config = BoxConfig {
        theme: "standard".into(),
        at: AT,
        outbox: tmp.path().join("o.log"),
    };
    let err = SetTopBox::start(content.clone(), identity, config.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            BoxError::Provision(ProvisionError::WrongCommunity { .. })
        ),
        "{err}"
    );
    let identity = demo::provisioning(demo::CARD, 1, 9).unwrap();
    let err = SetTopBox::start(content.clone(), identity, config.clone()).unwrap_err();
    assert!(err.to_string().contains("grid 9"), "{err}");
    let identity = demo::provisioning(demo::CARD, 1, 1).unwrap();
    let err = SetTopBox::start(
        content,
        identity,
        BoxConfig {
            theme: "large".into(),
            ..config
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("elders"), "{err}");
}

/// A headend that stores everything it is sent.
struct Headend;

impl Transport for Headend {
    fn send(
        &self,
        batch: Batch,
    ) -> impl std::future::Future<Output = Result<BatchResponse, TransportError>> + Send {
        let acks = batch
            .messages
            .iter()
            .map(|m| Ack::stored(m.card_id().clone(), m.seq()))
            .collect();
        std::future::ready(Ok(BatchResponse {
            acks,
            retry_after_ms: None,
        }))
    }
}

#[test]
fn with_a_headend_the_vote_is_delivered_and_leaves_the_outbox() {
    let (tmp, dir) = bundles();
    let mut stb = start(&dir, tmp.path(), demo::CARD, 1, "standard");
    for key in parse_sequence("OK RED OK OK").unwrap() {
        stb.press(key).unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let report = rt
        .block_on(stb.deliver(&Headend, &SendConfig::default()))
        .unwrap();
    assert_eq!(report.stored, 1);
    assert!(stb.outbox().is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any sequence of remote keys: no error, no panic, always a screen with its focus, and
    /// every queued message a well-formed one of this card.
    #[test]
    fn any_key_sequence_keeps_the_box_usable(
        keys in proptest::collection::vec(0usize..emulator::RemoteKey::ALL.len(), 1..60),
        elders in proptest::prelude::any::<bool>(),
    ) {
        let (tmp, dir) = bundles();
        let theme = if elders { "elders" } else { "standard" };
        let mut stb = start(&dir, tmp.path(), demo::CARD, 1, theme);
        for k in keys {
            let key = emulator::RemoteKey::ALL[k];
            let step = stb.press(key).unwrap();
            if stb.exited() {
                break;
            }
            proptest::prop_assert!(!step.screen.is_empty());
            let doc = stb.document().unwrap();
            if !doc.focusables.is_empty() {
                let focus = stb.focus().unwrap();
                proptest::prop_assert!(doc.focusable(focus).is_some(), "{} lost focus", step.screen);
            }
        }
        stb.frame().unwrap();
        for m in stb.outbox().pending() {
            proptest::prop_assert_eq!(m.card_id().as_str(), demo::CARD);
            proptest::prop_assert!(m.message.body.validate().is_ok());
        }
    }
}
