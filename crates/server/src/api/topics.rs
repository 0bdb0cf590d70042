//! Conveners' and overseers' writes on topics: propose, step through the procedure, attach
//! research findings and minutes, post implementation progress.

use super::auth::{Bearer, actor};
use super::{Body, Id, OrRefuse, bad_request, now, run, time};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use consult::access::TokenRole;
use consult::ids::{CommunityId, GridId, TopicId, TownId};
use consult::procedure::Step;
use consult::record::Fact;
use consult::topic::{Category, Session, StepDetails, Topic, TopicDraft};
use consult::vote::{Ballot, BallotOption, EligibleArea, VotingWindow};
use serde::Deserialize;

/// `POST /api/v1/topics`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    title: String,
    summary: String,
    category: Category,
    eligible: AreaBody,
    /// Defaults to 赞成 / 反对 / 弃权.
    #[serde(default)]
    ballot: Option<Vec<OptionBody>>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum AreaBody {
    Community { community: i64 },
    Grids { community: i64, grids: Vec<i64> },
    Communities { town: i64, communities: Vec<i64> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionBody {
    key: String,
    label: String,
}

impl AreaBody {
    fn into_area(self) -> EligibleArea {
        match self {
            AreaBody::Community { community } => EligibleArea::Community {
                community: CommunityId(community),
            },
            AreaBody::Grids { community, grids } => EligibleArea::Grids {
                community: CommunityId(community),
                grids: grids.into_iter().map(GridId).collect(),
            },
            AreaBody::Communities { town, communities } => EligibleArea::Communities {
                town: TownId(town),
                communities: communities.into_iter().map(CommunityId).collect(),
            },
        }
    }
}

fn created(topic: Topic) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::CREATED,
        Json(serde_json::json!({ "topic": topic })),
    )
}

fn convener_room(
    credential: &consult::access::Credential,
) -> Result<consult::ids::RoomId, ApiError> {
    credential.require(&[TokenRole::Convener], "propose topics or record facts")?;
    match credential.scope {
        consult::access::Scope::Room { room } => Ok(room),
        _ => Err(super::error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token has no room",
        )),
    }
}

/// A convener proposes a topic in their own room.
pub async fn propose(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Body(body): Body<ProposeBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let room = convener_room(&credential)?;
    let ballot = match body.ballot {
        None => Ballot::approve_oppose_abstain(),
        Some(options) => Ballot {
            options: options
                .into_iter()
                .map(|o| BallotOption {
                    key: o.key,
                    label: o.label,
                })
                .collect(),
        },
    };
    let draft = TopicDraft {
        room,
        title: body.title,
        summary: body.summary,
        category: body.category,
        eligible: body.eligible.into_area(),
        ballot,
    };
    let actor = actor(&credential)?;
    let topic = run(&state, move |s| {
        s.propose_topic(draft, now(), actor).or_refuse()
    })
    .await?;
    Ok(created(topic))
}

/// `POST /api/v1/topics/{id}/steps`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    step: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    session: Option<SessionBody>,
    #[serde(default)]
    voting: Option<VotingBody>,
    #[serde(default)]
    consensus: Option<String>,
    #[serde(default)]
    feedback: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionBody {
    /// RFC 3339.
    starts_at: String,
    place: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VotingBody {
    /// RFC 3339.
    opens_at: String,
    /// RFC 3339.
    closes_at: String,
}

/// A convener or overseer takes a step: each step only by its role, in its own room.
pub async fn step(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Id(id): Id,
    Body(body): Body<StepBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let step = Step::parse(&body.step).map_err(|e| bad_request(format!("step: {e}")))?;
    let session = match body.session {
        Some(s) => Some(Session {
            starts_at: time("session.starts_at", &s.starts_at)?,
            place: s.place,
        }),
        None => None,
    };
    let voting = match body.voting {
        Some(v) => Some(VotingWindow {
            opens_at: time("voting.opens_at", &v.opens_at)?,
            closes_at: time("voting.closes_at", &v.closes_at)?,
        }),
        None => None,
    };
    let details = StepDetails {
        session,
        voting,
        consensus: body.consensus,
        tally: None,
        feedback: body.feedback,
    };
    let note = body.note;
    let topic = run(&state, move |s| {
        let topic = s.topic(TopicId(id)).or_refuse()?;
        credential.may_step(step, topic.room)?;
        let actor = actor(&credential)?;
        s.take_step(TopicId(id), step, now(), actor, &note, details)
            .or_refuse()
    })
    .await?;
    Ok(Json(serde_json::json!({ "topic": topic })))
}

/// `POST /api/v1/topics/{id}/findings`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingBody {
    title: String,
    text: String,
    #[serde(default)]
    materials: Vec<String>,
}

/// `POST /api/v1/topics/{id}/minutes`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinutesBody {
    text: String,
}

/// `POST /api/v1/topics/{id}/progress`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressBody {
    percent: u8,
    text: String,
}

/// Records a convener's fact on a topic of their room.
async fn record(
    state: &AppState,
    credential: consult::access::Credential,
    id: i64,
    fact: Fact,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    convener_room(&credential)?;
    let topic = run(state, move |s| {
        let topic = s.topic(TopicId(id)).or_refuse()?;
        credential.in_room(topic.room)?;
        let actor = actor(&credential)?;
        s.record_fact(TopicId(id), now(), actor, fact).or_refuse()
    })
    .await?;
    Ok(created(topic))
}

pub async fn finding(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Id(id): Id,
    Body(body): Body<FindingBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let fact = Fact::ResearchFinding {
        title: body.title,
        text: body.text,
        materials: body.materials,
    };
    record(&state, credential, id, fact).await
}

pub async fn minutes(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Id(id): Id,
    Body(body): Body<MinutesBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    record(&state, credential, id, Fact::Minutes { text: body.text }).await
}

pub async fn progress(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Id(id): Id,
    Body(body): Body<ProgressBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    if body.percent > 100 {
        return Err(bad_request(format!(
            "percent: {} is more than 100",
            body.percent
        )));
    }
    let fact = Fact::ProgressUpdate {
        percent: body.percent,
        text: body.text,
    };
    record(&state, credential, id, fact).await
}
