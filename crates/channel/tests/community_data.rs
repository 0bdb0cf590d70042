//! A community's screen data from a small hand-made city: what households see, and what they
//! must not be able to read off (small groups' votes).

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use consult::comment::Decision;
use consult::ids::*;
use consult::notice::{MessageType, NoticeDraft, Urgency};
use consult::procedure::Step;
use consult::record::{Actor, ActorRole};
use consult::room::{Convener, Room, RoomLevel};
use consult::time::Timestamp;
use consult::topic::{Category, Session, StepDetails, TopicDraft};
use consult::vote::{Ballot, EligibleArea, VotingWindow};
use store::{Store, VoteInput};

const T0: i64 = 1_795_000_000;

fn card(n: i64) -> CardId {
    CardId::parse(&format!("8610{n:012}")).unwrap()
}

/// Grid 1 has households 1-10, grid 2 households 11-13.
fn city() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("c.db")).unwrap();
    let mut l = store.load_city().unwrap();
    store::testing::places(&mut l, &[&[10, 3]]).unwrap();
    l.room(&Room {
        id: RoomId(1),
        level: RoomLevel::Community(CommunityId(1)),
        name: "崇宁路社区“有事好商量”协商议事室".into(),
        convener: Convener {
            name: "王建华".into(),
            office: "社区党委书记".into(),
        },
        participants: vec![],
    })
    .unwrap();
    l.commit().unwrap();
    (dir, store)
}

#[test]
fn screen_data_shows_open_ballots_and_hides_small_groups() {
    let (_dir, mut store) = city();
    let convener = Actor {
        role: ActorRole::Convener,
        name: "王建华".into(),
    };
    let overseer = Actor {
        role: ActorRole::Overseer,
        name: "社区党委".into(),
    };
    let draft = TopicDraft {
        room: RoomId(1),
        title: "12号楼加装电梯".into(),
        summary: "六层住宅加装电梯。".into(),
        category: Category::Elevators,
        eligible: EligibleArea::Community {
            community: CommunityId(1),
        },
        ballot: Ballot::approve_oppose_abstain(),
    };
    let id = store
        .propose_topic(draft, Timestamp(T0), convener.clone())
        .unwrap()
        .id;
    store
        .take_step(
            id,
            Step::Confirm,
            Timestamp(T0 + 1),
            overseer,
            "",
            StepDetails::default(),
        )
        .unwrap();
    store
        .take_step(
            id,
            Step::BeginResearch,
            Timestamp(T0 + 2),
            convener.clone(),
            "",
            StepDetails::default(),
        )
        .unwrap();
    let details = StepDetails {
        session: Some(Session {
            starts_at: Timestamp(T0 + 86_400),
            place: "议事厅".into(),
        }),
        voting: Some(VotingWindow {
            opens_at: Timestamp(T0 + 10),
            closes_at: Timestamp(T0 + 10 * 86_400),
        }),
        ..StepDetails::default()
    };
    store
        .take_step(
            id,
            Step::OpenConsultation,
            Timestamp(T0 + 10),
            convener,
            "",
            details,
        )
        .unwrap();
    for h in [1, 2, 3, 4, 5, 6, 11, 12] {
        let vote = VoteInput {
            topic: id,
            card: card(h),
            option: "approve".into(),
            sent_at: Timestamp(T0 + 100),
            received_at: Timestamp(T0 + 100),
        };
        store.cast_vote(&vote).unwrap();
    }
    let comment = store
        .submit_comment(
            id,
            &card(3),
            "盼望早日装上电梯。",
            Timestamp(T0 + 200),
            Timestamp(T0 + 200),
        )
        .unwrap();
    store
        .submit_comment(
            id,
            &card(4),
            "还没审核的留言",
            Timestamp(T0 + 201),
            Timestamp(T0 + 201),
        )
        .unwrap();
    let moderator = Actor {
        role: ActorRole::Moderator,
        name: "审核员".into(),
    };
    store
        .decide_comment(comment, &Decision::Accept, Timestamp(T0 + 300), moderator)
        .unwrap();
    let notice = |grid: i64, urgency: Urgency, title: &str| NoticeDraft {
        community: CommunityId(1),
        grids: vec![GridId(grid)],
        title: title.into(),
        body: "请提前储水。".into(),
        urgency,
        message_type: MessageType::Alert,
        references: None,
        valid_from: Timestamp(T0),
        valid_until: Timestamp(T0 + 86_400),
    };
    store
        .push_notice(
            notice(1, Urgency::Urgent, "1网格停水"),
            "网格员1",
            &[GridId(1)],
            Timestamp(T0),
        )
        .unwrap();
    store
        .push_notice(
            notice(2, Urgency::Normal, "2网格义诊"),
            "网格员2",
            &[GridId(2)],
            Timestamp(T0),
        )
        .unwrap();

    let at = Timestamp(T0 + 1000);
    let data = channel::community_data(&store, CommunityId(1), at, None).unwrap();
    assert_eq!(data["channel"], "有事好商量");
    assert_eq!(data["community"]["place"], "梁溪区 崇安寺街道 第1社区");
    let topic = &data["topics"][0];
    assert_eq!(topic["ballot"]["open"], true);
    assert_eq!(topic["ballot"]["options"][0]["color"], "RED");
    assert_eq!(topic["tally"]["voted"], 8);
    assert_eq!(topic["tally"]["turnout"], "61.5%");
    // Grid 1 has 6 voters and is shown; grid 2's 2 voters are not shown on their own, and too
    // few to show even merged.
    let by_grid = topic["tally"]["by_grid"].as_array().unwrap();
    assert_eq!(by_grid.len(), 1, "{by_grid:?}");
    assert_eq!(by_grid[0]["grid"], "第1网格");
    // Only accepted comments.
    assert_eq!(topic["comments"].as_array().unwrap().len(), 1);
    assert_eq!(topic["comments"][0]["who"], "1幢 1楼住户");
    // Notices: all for the operator's view, one grid's for a box.
    assert_eq!(data["notices"].as_array().unwrap().len(), 2);
    assert_eq!(data["urgent_notices"][0]["title"], "1网格停水");
    let grid2 = channel::community_data(&store, CommunityId(1), at, Some(GridId(2))).unwrap();
    assert_eq!(grid2["notices"].as_array().unwrap().len(), 1);
    assert_eq!(grid2["urgent_notices"].as_array().unwrap().len(), 0);
    // After the window, no notice is in force.
    let later =
        channel::community_data(&store, CommunityId(1), Timestamp(T0 + 2 * 86_400), None).unwrap();
    assert_eq!(later["notices"].as_array().unwrap().len(), 0);
}
