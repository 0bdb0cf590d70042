//! The published record: well-formed XML that carries what was hashed, and an HTML report whose
//! charts never show a small group on its own.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use consult::Timestamp;
use consult::ids::{CommunityId, GridId, RoomId, TopicId};
use consult::procedure::Step;
use consult::record::{Actor, ActorRole, RecordWriter, StoredEntry};
use consult::topic::{Category, StepDetails, TopicDraft};
use consult::vote::{Ballot, EligibleArea, Tally};

fn view_parts() -> (consult::topic::Topic, Vec<StoredEntry>, Tally) {
    let draft = TopicDraft {
        room: RoomId(1),
        title: "电动自行车充电桩<建设>".into(),
        summary: "楼道充电隐患 & 集中充电棚。".into(),
        category: Category::EvCharging,
        eligible: EligibleArea::Community {
            community: CommunityId(1),
        },
        ballot: Ballot::approve_oppose_abstain(),
    };
    let convener = Actor {
        role: ActorRole::Convener,
        name: "王建华".into(),
    };
    let overseer = Actor {
        role: ActorRole::Overseer,
        name: "社区党委".into(),
    };
    let (mut writer, first) =
        RecordWriter::propose(TopicId(7), draft, Timestamp(0), convener).unwrap();
    let second = writer
        .step(
            Step::Confirm,
            Timestamp(60),
            overseer,
            "同意",
            StepDetails::default(),
        )
        .unwrap();
    let entries = vec![
        StoredEntry::from_chained(&first),
        StoredEntry::from_chained(&second),
    ];
    let mut votes = vec![(GridId(1), "approve"); 7];
    votes.extend(vec![(GridId(2), "oppose"); 2]);
    let tally = Tally::count(&writer.topic.ballot, votes, 30).unwrap();
    (writer.topic, entries, tally)
}

#[test]
fn xml_is_well_formed_and_carries_the_hashed_facts() {
    let (topic, entries, tally) = view_parts();
    let grids = vec![
        (GridId(1), "第1网格".to_string(), 15),
        (GridId(2), "第2网格".to_string(), 15),
    ];
    let view = report::RecordView {
        topic: &topic,
        room: "议事室",
        entries: &entries,
        tally: &tally,
        grids: &grids,
        verified: Some("ab".repeat(32)),
    };
    let xml = report::to_xml(&view);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut facts = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"fact" => {
                let end = e.to_end().into_owned();
                let text = reader.read_text(end.name()).unwrap();
                facts.push(String::from_utf8(text.as_ref().to_vec()).unwrap());
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let unescaped: Vec<String> = facts
        .iter()
        .map(|f| quick_xml::escape::unescape(f).unwrap().into_owned())
        .collect();
    assert_eq!(
        unescaped,
        vec![entries[0].fact.clone(), entries[1].fact.clone()]
    );
}

#[test]
fn html_has_the_chart_and_withholds_small_grids() {
    let (topic, entries, tally) = view_parts();
    let grids = vec![
        (GridId(1), "第1网格".to_string(), 15),
        (GridId(2), "第2网格".to_string(), 15),
    ];
    let view = report::RecordView {
        topic: &topic,
        room: "议事室",
        entries: &entries,
        tally: &tally,
        grids: &grids,
        verified: None,
    };
    let html = report::to_html(&view);
    assert!(html.contains("<svg"));
    assert!(html.contains("第1网格"));
    assert!(
        !html.contains("第2网格"),
        "a grid of two voters must not be shown"
    );
    assert!(html.contains("为保护隐私"));
    assert!(html.contains("记录校验未通过"));
    assert!(
        html.contains("电动自行车充电桩&lt;建设&gt;"),
        "text is escaped"
    );
}
