//! Moderators: the queue of households' comments, and decisions on them.

use super::auth::{Bearer, actor};
use super::{Body, Id, OrRefuse, bad_request, now, run};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Query, State};
use consult::access::TokenRole;
use consult::comment::Decision;
use consult::ids::{CommentId, TopicId};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending` (the default), `accepted` or `rejected`.
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    topic: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/comments?state=pending`: oldest first.
pub async fn list(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    credential.require(&[TokenRole::Moderator], "read the comment queue")?;
    let Query(query) = query.map_err(|e| bad_request(format!("query: {}", e.body_text())))?;
    let wanted = query.state.unwrap_or_else(|| "pending".into());
    if !["pending", "accepted", "rejected"].contains(&wanted.as_str()) {
        return Err(bad_request(format!(
            "state: {wanted:?} is not one of pending, accepted, rejected"
        )));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad_request(format!("limit: {limit} is not 1 to 1000")));
    }
    let topic = query.topic.map(TopicId);
    let comments = run(&state, move |s| {
        s.comments(&wanted, topic, limit).or_refuse()
    })
    .await?;
    Ok(Json(serde_json::json!({ "comments": comments })))
}

/// `POST /api/v1/comments/{id}/decision`.
#[derive(Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum DecisionBody {
    Accept,
    Reject { reason: String },
}

pub async fn decide(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Id(id): Id,
    Body(body): Body<DecisionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    credential.require(&[TokenRole::Moderator], "decide on comments")?;
    let decision = match body {
        DecisionBody::Accept => Decision::Accept,
        DecisionBody::Reject { reason } => Decision::Reject { reason },
    };
    let actor = actor(&credential)?;
    let comment = run(&state, move |s| {
        s.decide_comment(CommentId(id), &decision, now(), actor)
            .or_refuse()
    })
    .await?;
    Ok(Json(serde_json::json!({ "comment": comment })))
}
