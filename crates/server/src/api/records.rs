//! A topic's consultation record published: as XML and as a printable HTML report with charts.
//! (The JSON record and its verification are in the crate root.) Public, like the record.

use super::{Id, refusal};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use channel::{ChannelError, RecordInputs};
use consult::ids::TopicId;
use report::RecordView;

async fn inputs(state: &AppState, id: i64) -> Result<RecordInputs, ApiError> {
    super::run(state, move |s| {
        channel::record_inputs(s, TopicId(id)).map_err(|e| match e {
            ChannelError::Store(e) => refusal(e),
            other => ApiError::from(store::StoreError::Corrupt {
                what: format!("topic {id}'s record"),
                detail: other.to_string(),
            }),
        })
    })
    .await
}

fn view(inputs: &RecordInputs) -> RecordView<'_> {
    RecordView {
        topic: &inputs.topic,
        room: &inputs.room,
        entries: &inputs.entries,
        tally: &inputs.tally,
        grids: &inputs.grids,
        verified: inputs.verified.clone(),
    }
}

/// `GET /api/v1/topics/{id}/record.xml`.
pub async fn xml(State(state): State<AppState>, Id(id): Id) -> Result<impl IntoResponse, ApiError> {
    let inputs = inputs(&state, id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        report::to_xml(&view(&inputs)),
    ))
}

/// `GET /api/v1/topics/{id}/report.html`.
pub async fn html(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<impl IntoResponse, ApiError> {
    let inputs = inputs(&state, id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        report::to_html(&view(&inputs)),
    ))
}
