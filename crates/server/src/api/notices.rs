//! Grid workers: push, update and cancel notices for their own grids, and see each notice's
//! reach.

use super::auth::Bearer;
use super::{Body, Id, OrRefuse, error, now, run, time};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use consult::access::{Scope, TokenRole};
use consult::ids::{GridId, NoticeId};
use consult::notice::{MessageType, NoticeDraft, Urgency};
use serde::Deserialize;

/// `POST /api/v1/notices`. The community is the token's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    grids: Vec<i64>,
    title: String,
    body: String,
    #[serde(default = "normal")]
    urgency: Urgency,
    #[serde(default = "alert")]
    message_type: MessageType,
    #[serde(default)]
    references: Option<i64>,
    /// RFC 3339; defaults to now.
    #[serde(default)]
    valid_from: Option<String>,
    /// RFC 3339.
    valid_until: String,
}

fn normal() -> Urgency {
    Urgency::Normal
}

fn alert() -> MessageType {
    MessageType::Alert
}

pub async fn push(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Body(body): Body<NoticeBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let grids: Vec<GridId> = body.grids.into_iter().map(GridId).collect();
    credential.may_notify(&grids)?;
    let Scope::Grids { community, .. } = credential.scope else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token has no grids",
        ));
    };
    let sent_at = now();
    let valid_from = match &body.valid_from {
        Some(text) => time("valid_from", text)?,
        None => sent_at,
    };
    let draft = NoticeDraft {
        community,
        grids,
        title: body.title,
        body: body.body,
        urgency: body.urgency,
        message_type: body.message_type,
        references: body.references.map(NoticeId),
        valid_from,
        valid_until: time("valid_until", &body.valid_until)?,
    };
    let notice = run(&state, move |s| {
        s.push_notice(draft, &credential.name, credential.grids(), sent_at)
            .or_refuse()
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "notice": notice })),
    ))
}

/// `GET /api/v1/notices/{id}`: the notice and how many households' boxes reported it seen. Only
/// a grid worker of one of its grids may look.
pub async fn show(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Id(id): Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    credential.require(&[TokenRole::GridWorker], "read notices' reach")?;
    let (notice, reach) = run(&state, move |s| {
        let notice = s.notice(NoticeId(id)).or_refuse()?;
        if !notice
            .draft
            .grids
            .iter()
            .any(|g| credential.grids().contains(g))
        {
            return Err(error(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("notice {id} goes to none of this token's grids"),
            ));
        }
        let reach = s.notice_reach(NoticeId(id)).or_refuse()?;
        Ok((notice, reach))
    })
    .await?;
    Ok(Json(
        serde_json::json!({ "notice": notice, "reach": reach }),
    ))
}
