//! The API of conveners, overseers, moderators and grid workers under `/api/v1/`
//! (`docs/api.md`; the OpenAPI document at `/api/openapi.json`).
//!
//! Writes need a bearer token ([`auth::Bearer`]): a missing or unknown token is 401, a token
//! acting outside its role or scope is 403. Reads of topics and their records are public: the
//! record is published to households anyway. Bodies are JSON, parsed into the wire types of each
//! module (never the domain's types), and every refusal is `{"error": {"code", "message"}}`
//! naming the field or the rule. Each request is one store call, so one transaction.

pub mod auth;
pub mod comments;
pub mod limits;
pub mod notices;
pub mod operators;
pub mod records;
pub mod topics;

use crate::{ApiError, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use consult::access::AccessError;
use consult::comment::CommentError;
use consult::notice::NoticeError;
use consult::procedure::ProcedureError;
use consult::time::Timestamp;
use consult::topic::TopicError;
use serde::de::DeserializeOwned;
use std::time::Duration;
use store::{Store, StoreError};
use tower_http::timeout::TimeoutLayer;

/// The largest request body the API takes (the return channel has its own limit).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The OpenAPI 3.1 document of every endpoint, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The API's routes, with their body limit, timeout and per-token rate limit.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/topics", post(topics::propose))
        .route("/api/v1/topics/{id}/steps", post(topics::step))
        .route("/api/v1/topics/{id}/findings", post(topics::finding))
        .route("/api/v1/topics/{id}/minutes", post(topics::minutes))
        .route("/api/v1/topics/{id}/progress", post(topics::progress))
        .route("/api/v1/topics/{id}/record.xml", get(records::xml))
        .route("/api/v1/topics/{id}/report.html", get(records::html))
        .route("/api/v1/comments", get(comments::list))
        .route("/api/v1/comments/{id}/decision", post(comments::decide))
        .route("/api/v1/notices", post(notices::push))
        .route("/api/v1/notices/{id}", get(notices::show))
        .route("/api/v1/bundles", get(operators::list))
        .route("/api/v1/bundles/{id}/rebuild", post(operators::rebuild))
        .route(
            "/api/v1/bundles/{id}/manifest.xml",
            get(operators::manifest),
        )
        .route("/api/v1/bundles/{id}/files/{*path}", get(operators::file))
        .route("/api/v1/screens/{id}/{screen}", get(operators::screen_png))
        .route("/api/v1/carousel", get(operators::carousel))
        .route("/api/openapi.json", get(openapi))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::live::mark_after_write,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
}

/// Any path the service does not have: a JSON 404 like every other refusal.
pub async fn no_route(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    state
        .requests
        .count_unmatched(&method, StatusCode::NOT_FOUND.as_u16());
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no endpoint {}; see /api/openapi.json", uri.path()),
    )
}

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

pub(crate) fn error(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
        retry_after_seconds: None,
    }
}

pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> ApiError {
        error(StatusCode::FORBIDDEN, "forbidden", e.to_string())
    }
}

/// A store refusal as the API answers it: the rule broken decides the status.
pub(crate) fn refusal(e: StoreError) -> ApiError {
    let message = e.to_string();
    match &e {
        StoreError::NotFound { .. } => error(StatusCode::NOT_FOUND, "not_found", message),
        StoreError::Topic(t) => match t {
            TopicError::Procedure(ProcedureError::IllegalStep { .. }) => {
                error(StatusCode::CONFLICT, "illegal_step", message)
            }
            TopicError::Procedure(ProcedureError::WrongRole { .. })
            | TopicError::FactWrongActor { .. } => {
                error(StatusCode::FORBIDDEN, "forbidden", message)
            }
            TopicError::FactNotAllowed { .. } => error(StatusCode::CONFLICT, "conflict", message),
            _ => bad_request(message),
        },
        StoreError::Area(_) => bad_request(message),
        StoreError::Refused(_) => error(StatusCode::CONFLICT, "conflict", message),
        StoreError::Comment(CommentError::AlreadyDecided { .. }) => {
            error(StatusCode::CONFLICT, "conflict", message)
        }
        StoreError::Comment(CommentError::BadReason) => bad_request(format!("reason: {message}")),
        StoreError::Comment(_) => bad_request(message),
        StoreError::Notice(n) => match n {
            NoticeError::NotYourGrid { .. } | NoticeError::ReferenceElsewhere(_) => {
                error(StatusCode::FORBIDDEN, "forbidden", message)
            }
            NoticeError::ReferenceCancelled(_) => error(StatusCode::CONFLICT, "conflict", message),
            NoticeError::UnknownReference(_) => bad_request(format!("references: {message}")),
            _ => bad_request(message),
        },
        _ => ApiError::from(e),
    }
}

/// Runs `job` on the store off the async threads; the job answers with API errors itself.
pub(crate) async fn run<T: Send + 'static>(
    state: &AppState,
    job: impl FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    crate::with_store(state, move |s| Ok(job(s))).await?
}

/// Extension: store errors inside a [`run`] job, answered as refusals.
pub(crate) trait OrRefuse<T> {
    fn or_refuse(self) -> Result<T, ApiError>;
}

impl<T> OrRefuse<T> for Result<T, StoreError> {
    fn or_refuse(self) -> Result<T, ApiError> {
        self.map_err(refusal)
    }
}

/// The server's clock: the domain has none.
pub(crate) fn now() -> Timestamp {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Timestamp(seconds)
}

/// An RFC 3339 time in a body field.
pub(crate) fn time(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse(text).map_err(|e| bad_request(format!("{field}: {e}")))
}

/// A JSON body whose every refusal is an [`ApiError`] naming the field (serde's path).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "bad_request",
    };
    let message = match &rejection {
        JsonRejection::JsonDataError(e) => format!("body: {}", source_text(e)),
        JsonRejection::JsonSyntaxError(e) => format!("body is not JSON: {}", source_text(e)),
        JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the body is larger than {MAX_BODY_BYTES} bytes")
        }
        other => other.body_text(),
    };
    // Every body that is not what the endpoint takes is a 400 (axum says 422 for a well-formed
    // body of the wrong shape); only a too-large body and a missing content type differ.
    let status = match status {
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => status,
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, code, message)
}

/// serde's own words (with the field's path), without axum's preamble.
fn source_text(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(source) => source.to_string(),
        None => e.to_string(),
    }
}

/// A numeric id in the path; anything else is a 400 naming it.
pub struct Id(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<i64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) if id > 0 => Ok(Id(id)),
            Ok(axum::extract::Path(id)) => {
                Err(bad_request(format!("id: {id} is not a positive id")))
            }
            Err(e) => Err(bad_request(format!("id: {}", e.body_text()))),
        }
    }
}
