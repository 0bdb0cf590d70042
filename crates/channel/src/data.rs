//! Gathers a community's screen data from the store.

use consult::ids::{CommunityId, GridId};
use consult::notice::{self, Notice, Urgency};
use consult::procedure::Stage;
use consult::record::Fact;
use consult::time::Timestamp;
use consult::topic::Topic;
use consult::vote::{self, Ballot, MIN_GROUP, Tally};
use serde::Serialize;
use std::collections::BTreeMap;
use store::{Store, StoreError, TopicFilter};

/// Preset phrases for commenting with the remote alone.
pub const PHRASES: [&str; 5] = [
    "赞成，希望尽快实施",
    "原则同意，建议优化方案",
    "担心费用，希望公开明细",
    "担心噪音，请合理施工",
    "暂不同意，请再征求意见",
];

/// The colour keys ballot options sit on, in order; options 5 and 6 have digits only.
const COLOURS: [&str; 4] = ["RED", "GREEN", "YELLOW", "BLUE"];

/// At most this many accepted comments per topic travel to the screens.
const MAX_COMMENTS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("topic {topic}'s record cannot be read: {detail}")]
    Record { topic: i64, detail: String },
}

#[derive(Serialize)]
struct ScreenData {
    channel: &'static str,
    community: CommunityData,
    grids: Vec<GridData>,
    urgent_notices: Vec<UrgentNotice>,
    topics: Vec<TopicData>,
    notices: Vec<NoticeData>,
    phrases: Vec<&'static str>,
}

#[derive(Serialize)]
struct CommunityData {
    id: i64,
    name: String,
    town: String,
    district: String,
    place: String,
    room: String,
    convener: String,
    households: i64,
}

#[derive(Serialize)]
struct GridData {
    id: i64,
    name: String,
    households: i64,
    worker: String,
}

#[derive(Serialize)]
struct UrgentNotice {
    id: i64,
    title: String,
}

#[derive(Serialize)]
struct TopicData {
    id: i64,
    title: String,
    stage: &'static str,
    stage_label: &'static str,
    active: bool,
    urgent: bool,
    summary: String,
    research: Vec<String>,
    session: SessionData,
    ballot: BallotData,
    #[serde(skip_serializing_if = "Option::is_none")]
    tally: Option<TallyData>,
    comments: Vec<CommentData>,
    consensus: String,
    progress: Vec<ProgressData>,
}

#[derive(Serialize)]
struct SessionData {
    time: String,
    place: String,
}

#[derive(Serialize)]
struct BallotData {
    open: bool,
    question: String,
    options: Vec<OptionData>,
}

#[derive(Serialize)]
struct OptionData {
    key: String,
    label: String,
    color: &'static str,
}

#[derive(Serialize)]
struct TallyData {
    options: Vec<OptionCountData>,
    voted: u64,
    households: u64,
    turnout: String,
    by_grid: Vec<GridParticipation>,
    /// Says that small grids are merged or not shown, so nobody wonders where they went;
    /// empty when every grid that voted is shown.
    privacy_note: String,
}

#[derive(Serialize)]
struct OptionCountData {
    key: String,
    color: &'static str,
    label: String,
    votes: u64,
    percent: String,
}

#[derive(Serialize)]
struct GridParticipation {
    grid: String,
    voted: u64,
    households: u64,
    percent: f64,
    percent_label: String,
}

#[derive(Serialize)]
struct CommentData {
    who: String,
    text: String,
    time: String,
}

#[derive(Serialize)]
struct ProgressData {
    date: String,
    text: String,
    status: &'static str,
}

#[derive(Serialize)]
struct NoticeData {
    id: i64,
    title: String,
    body: String,
    time: String,
    grid: String,
    from: String,
    urgent: bool,
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// The screen data of one community at `at`. With `grid`, notices are those a box in that grid
/// shows; without, every notice in force in the community.
pub fn community_data(
    store: &Store,
    community: CommunityId,
    at: Timestamp,
    grid: Option<GridId>,
) -> Result<serde_json::Value, ChannelError> {
    let summary = store.community(community)?;
    let grids = store.grid_households(community)?;
    let grid_names: BTreeMap<GridId, (String, i64)> = grids
        .iter()
        .map(|(g, n)| (g.id, (g.name.clone(), *n)))
        .collect();
    let (room_name, convener) = community_room(store, community)?;

    let mut topics = Vec::new();
    let rows = store.topics(&TopicFilter {
        community: Some(community),
        ..TopicFilter::default()
    })?;
    for row in rows {
        if matches!(
            row.stage,
            Stage::Proposed | Stage::Rejected | Stage::Withdrawn
        ) {
            continue;
        }
        let topic = store.topic(row.id)?;
        topics.push(topic_data(store, &topic, at, &grid_names)?);
    }
    // Open ballots first, then other active topics, then the rest; newest first within each.
    topics.sort_by_key(|t| (!t.ballot.open, !t.active, std::cmp::Reverse(t.id)));

    let all_notices = store.notices_of_community(community)?;
    let mut current: Vec<&Notice> = notice::current(&all_notices, at)
        .into_iter()
        .filter(|n| grid.is_none_or(|g| n.draft.grids.contains(&g)))
        .collect();
    current.sort_by_key(|n| std::cmp::Reverse((n.sent_at, n.id)));
    let urgent_notices = current
        .iter()
        .filter(|n| n.draft.urgency == Urgency::Urgent && n.draft.valid_from <= at)
        .map(|n| UrgentNotice {
            id: n.id.0,
            title: n.draft.title.clone(),
        })
        .collect();
    let notices = current
        .iter()
        .map(|n| NoticeData {
            id: n.id.0,
            title: n.draft.title.clone(),
            body: n.draft.body.clone(),
            time: n.sent_at.to_display(),
            grid: n
                .draft
                .grids
                .iter()
                .filter_map(|g| grid_names.get(g).map(|(name, _)| name.clone()))
                .collect::<Vec<_>>()
                .join("、"),
            from: format!("网格员 {}", n.author),
            urgent: n.draft.urgency == Urgency::Urgent,
        })
        .collect();

    let data = ScreenData {
        channel: "有事好商量",
        community: CommunityData {
            id: community.0,
            name: summary.name.clone(),
            town: summary.town.clone(),
            district: summary.district.clone(),
            place: format!("{} {} {}", summary.district, summary.town, summary.name),
            room: room_name,
            convener,
            households: summary.households,
        },
        grids: grids
            .iter()
            .map(|(g, households)| GridData {
                id: g.id.0,
                name: g.name.clone(),
                households: *households,
                worker: g.worker.clone(),
            })
            .collect(),
        urgent_notices,
        topics,
        notices,
        phrases: PHRASES.to_vec(),
    };
    serde_json::to_value(&data).map_err(|e| ChannelError::Record {
        topic: 0,
        detail: e.to_string(),
    })
}

fn community_room(store: &Store, community: CommunityId) -> Result<(String, String), ChannelError> {
    let room = store.room_of_community(community)?;
    let (name, convener, office) = store.room_convener(room)?;
    Ok((name, format!("{convener}（{office}）")))
}

fn topic_data(
    store: &Store,
    topic: &Topic,
    at: Timestamp,
    grid_names: &BTreeMap<GridId, (String, i64)>,
) -> Result<TopicData, ChannelError> {
    let mut research = Vec::new();
    let mut progress = Vec::new();
    for entry in store.record(topic.id)? {
        let fact: Fact = serde_json::from_str(&entry.fact).map_err(|e| ChannelError::Record {
            topic: topic.id.0,
            detail: format!("entry {}: {e}", entry.seq),
        })?;
        match fact {
            Fact::ResearchFinding { title, text, .. } => research.push(format!("{title}：{text}")),
            Fact::ProgressUpdate { percent, text } => progress.push(ProgressData {
                date: Timestamp(entry.at).to_month_day(),
                text: format!("{text}（{percent}%）"),
                status: "已完成",
            }),
            _ => {}
        }
    }
    if topic.stage == Stage::Implementing
        && let Some(last) = progress.last_mut()
    {
        last.status = "进行中";
    }
    let open = topic.stage == Stage::Consultation
        && topic
            .voting
            .is_some_and(|w| w.opens_at <= at && at < w.closes_at);
    let shows_tally = !matches!(topic.stage, Stage::Confirmed | Stage::Research);
    let tally = if shows_tally {
        let tally = store.tally(topic.id)?;
        Some(tally_data(&tally, grid_names))
    } else {
        None
    };
    let comments = store
        .comments("accepted", Some(topic.id), MAX_COMMENTS)?
        .into_iter()
        .map(|c| {
            let who = match store.household_address(c.household) {
                Ok(a) => format!("{}幢 {}楼住户", a.building, a.room / 100),
                Err(_) => "居民".to_owned(),
            };
            CommentData {
                who,
                text: c.text,
                time: c.sent_at.to_month_day(),
            }
        })
        .collect();
    let question = if topic.ballot == Ballot::approve_oppose_abstain() {
        format!("您是否同意“{}”？", topic.title)
    } else {
        format!("关于“{}”，您支持哪个方案？", topic.title)
    };
    let closes_soon = topic
        .voting
        .is_some_and(|w| open && w.closes_at.0 - at.0 < 2 * 86_400);
    Ok(TopicData {
        id: topic.id.0,
        title: topic.title.clone(),
        stage: topic.stage.as_str(),
        stage_label: topic.stage.label(),
        active: topic.stage.is_active() && topic.stage != Stage::Completed,
        urgent: closes_soon,
        summary: topic.summary.clone(),
        research,
        session: SessionData {
            time: topic
                .session
                .as_ref()
                .map(|s| s.starts_at.to_long_display())
                .unwrap_or_else(|| "待定".into()),
            place: topic
                .session
                .as_ref()
                .map(|s| s.place.clone())
                .unwrap_or_else(|| "待定".into()),
        },
        ballot: BallotData {
            open,
            question,
            options: topic
                .ballot
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| OptionData {
                    key: o.key.clone(),
                    label: o.label.clone(),
                    color: COLOURS.get(i).copied().unwrap_or(""),
                })
                .collect(),
        },
        tally,
        comments,
        consensus: topic.consensus.clone().unwrap_or_default(),
        progress,
    })
}

/// The tally as screens show it; participation by grid as [`vote::participation_by_grid`] allows.
fn tally_data(tally: &Tally, grid_names: &BTreeMap<GridId, (String, i64)>) -> TallyData {
    let options = tally
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| OptionCountData {
            key: o.key.clone(),
            color: COLOURS.get(i).copied().unwrap_or(""),
            label: o.label.clone(),
            votes: o.count,
            percent: format!("{:.1}%", percent(o.count, tally.voters)),
        })
        .collect();
    let grids: Vec<(GridId, String, u64)> = grid_names
        .iter()
        .map(|(id, (name, n))| (*id, name.clone(), (*n).max(0) as u64))
        .collect();
    let (lines, withheld) = vote::participation_by_grid(tally, &grids);
    let by_grid = lines
        .into_iter()
        .map(|line| {
            let p = line.percent();
            GridParticipation {
                grid: line.label,
                voted: line.voted,
                households: line.households,
                percent: p,
                percent_label: format!("{p:.1}%"),
            }
        })
        .collect();
    let privacy_note = if withheld {
        format!("为保护隐私，参与少于{MIN_GROUP}户的网格合并显示或不显示。")
    } else {
        String::new()
    };
    TallyData {
        options,
        privacy_note,
        voted: tally.voters,
        households: tally.eligible_households,
        turnout: format!("{:.1}%", tally.turnout_percent()),
        by_grid,
    }
}
