//! The service: shangyi's HTTP interface (axum on hyper). Only this crate speaks HTTP.
//!
//! Today it answers `/healthz`, lets anyone read topics and their consultation records, and
//! takes set-top boxes' return-channel messages at `POST /rc/v1/messages` ([`ingest`]: verify,
//! deduplicate, group-commit, acknowledge after the commit), with the ingest's counters at
//! `/metrics`. [`api`] is the rest of the API under `/api/v1/` (bearer tokens and roles;
//! proposing and stepping topics, comments, notices, the record as XML and HTML) with its
//! OpenAPI document; `docs/api.md` documents it.

pub mod api;
pub mod ingest;
pub mod listen;
pub mod live;
pub mod requests;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consult::ids::{CommunityId, TopicId};
use consult::procedure::Stage;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use store::{Store, StoreError, TopicFilter};

pub use listen::{LISTEN_BACKLOG, listen};

/// What every request handler shares: one `Arc`, so that the clone axum makes for every
/// request and every middleware is one atomic increment (it was eight, on cache lines both
/// cores fight over; the profile of the return channel's benchmark showed it).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

/// The services behind an [`AppState`].
#[derive(Clone)]
pub struct Services {
    store: Arc<Mutex<Store>>,
    ingest: Option<ingest::IngestHandle>,
    limiter: api::limits::RateLimiter,
    /// Where writes mark communities for a live bundle rebuild; `None`: no live rebuilds.
    live: Option<live::LiveHandle>,
    /// What the operators' endpoints read; `None`: they answer 503.
    bundles: Option<Arc<BundlePaths>>,
    /// Requests answered, per route, for `/metrics`.
    requests: Arc<requests::RequestMetrics>,
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// Where the headend's bundles and the templates they are laid out from are.
#[derive(Clone, Debug)]
pub struct BundlePaths {
    /// `c-{id}/` per community, `base/`.
    pub bundles_dir: std::path::PathBuf,
    pub templates_dir: std::path::PathBuf,
    pub assets_dir: std::path::PathBuf,
}

impl AppState {
    /// A service without the return channel (`/rc/v1/messages` answers 503).
    pub fn new(store: Store) -> AppState {
        AppState(Arc::new(Services {
            store: Arc::new(Mutex::new(store)),
            ingest: None,
            limiter: api::limits::RateLimiter::new(api::limits::RateLimit::default()),
            live: None,
            bundles: None,
            requests: Arc::default(),
        }))
    }

    /// A service that takes return-channel messages through `ingest`'s writer thread.
    pub fn with_ingest(store: Store, ingest: ingest::IngestHandle) -> AppState {
        AppState::new(store).change(|s| s.ingest = Some(ingest))
    }

    /// The same service, marking the communities its writes touch for a live rebuild.
    pub fn with_live(self, live: live::LiveHandle) -> AppState {
        self.change(|s| s.live = Some(live))
    }

    /// The same service, answering the operators' bundle and screen endpoints from `paths`.
    pub fn with_bundles(self, paths: BundlePaths) -> AppState {
        self.change(|s| s.bundles = Some(Arc::new(paths)))
    }

    /// The same service with another per-token rate limit for the API.
    pub fn with_rate_limit(self, limit: api::limits::RateLimit) -> AppState {
        self.change(|s| s.limiter = api::limits::RateLimiter::new(limit))
    }

    fn change(self, change: impl FnOnce(&mut Services)) -> AppState {
        let mut services = Arc::unwrap_or_clone(self.0);
        change(&mut services);
        AppState(Arc::new(services))
    }
}

/// An API error: a status, a stable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Sent as `Retry-After` when trying again later may succeed.
    retry_after_seconds: Option<u64>,
}

/// What a client is told to wait when the store cannot write for now (a full disk, a busy
/// database): long enough for an operator's alert to fire, short enough for a person to wait.
const STORE_RETRY_AFTER_SECONDS: u64 = 30;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound { .. } => ApiError {
                status: StatusCode::NOT_FOUND,
                code: "not_found",
                message: error.to_string(),
                retry_after_seconds: None,
            },
            other => match other.unavailable() {
                Some(why) => {
                    tracing::error!(error = %other, "the store cannot write: {why}");
                    ApiError {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        code: "unavailable",
                        message: format!("{why}: nothing was saved; try again later"),
                        retry_after_seconds: Some(STORE_RETRY_AFTER_SECONDS),
                    }
                }
                None => {
                    tracing::error!(error = %other, "store error");
                    ApiError {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        code: "internal",
                        message: "the store failed; see the server log".into(),
                        retry_after_seconds: None,
                    }
                }
            },
        }
    }
}

fn bad_request(message: String) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "bad_request",
        message,
        retry_after_seconds: None,
    }
}

/// Runs a store call off the async threads: SQLite blocks.
async fn with_store<T: Send + 'static>(
    state: &AppState,
    job: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        let mut guard = store.lock().unwrap_or_else(|poisoned| {
            // A request panicked while it held the store (a bug, answered 500 on its own). Its
            // transaction was rolled back as it unwound (every store write runs in a
            // `rusqlite::Transaction`, which rolls back on drop), so the store is whole: one
            // bug must not take every later request down with it.
            tracing::error!("a request panicked while it held the store; going on");
            store.clear_poison();
            poisoned.into_inner()
        });
        job(&mut guard).map_err(ApiError::from)
    })
    .await
}

/// Runs blocking work (SQLite, files, layout, drawing) off the async threads, inside the
/// request's span, so that what the work logs is told apart by request.
pub(crate) async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(job))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the request's task failed");
            ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal",
                message: format!("the request's task failed: {e}"),
                retry_after_seconds: None,
            }
        })?
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/topics", get(list_topics))
        .route("/api/v1/topics/{id}", get(show_topic))
        .route("/api/v1/topics/{id}/record", get(topic_record))
        .route("/api/v1/topics/{id}/record/verify", get(verify_record))
        .route(returnpath::wire::PATH, post(ingest::post_messages))
        .route("/metrics", get(metrics))
        .merge(api::routes(&state))
        .route_layer(requests::CountLayer(state.requests.clone()))
        .fallback(api::no_route)
        .with_state(state)
}

/// `/metrics`: the return channel's counters, the live bundle builds' and the HTTP requests',
/// in one response so that one scrape sees them all.
async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state
        .ingest
        .as_ref()
        .map(|i| i.metrics().render())
        .unwrap_or_default();
    if let Some(live) = &state.live {
        text.push_str(&live.metrics.render());
    }
    text.push_str(&state.requests.render());
    let mut response = text.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let counts = with_store(&state, |s| s.counts()).await?;
    Ok(Json(
        serde_json::json!({ "status": "ok", "rooms": counts.rooms, "topics": counts.topics }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicQuery {
    stage: Option<String>,
    community: Option<i64>,
    limit: Option<i64>,
}

async fn list_topics(
    State(state): State<AppState>,
    query: Result<Query<TopicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request(format!("query: {}", e.body_text())))?;
    let stage = match &query.stage {
        Some(s) => Some(Stage::parse(s).map_err(|e| bad_request(format!("stage: {e}")))?),
        None => None,
    };
    let filter = TopicFilter {
        stage,
        community: query.community.map(CommunityId),
        room: None,
        limit: Some(query.limit.unwrap_or(100).clamp(1, 1000)),
    };
    let topics = with_store(&state, move |s| s.topics(&filter)).await?;
    Ok(Json(serde_json::json!({ "topics": topics })))
}

async fn show_topic(
    State(state): State<AppState>,
    api::Id(id): api::Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (topic, tally) = with_store(&state, move |s| {
        Ok((s.topic(TopicId(id))?, s.tally(TopicId(id))?))
    })
    .await?;
    Ok(Json(serde_json::json!({ "topic": topic, "tally": tally })))
}

async fn topic_record(
    State(state): State<AppState>,
    api::Id(id): api::Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    let entries = with_store(&state, move |s| {
        s.topic(TopicId(id))?;
        s.record(TopicId(id))
    })
    .await?;
    let entries: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "seq": e.seq,
                "at": consult::Timestamp(e.at).to_rfc3339(),
                "actor": { "role": e.actor_role, "name": e.actor_name },
                "fact": serde_json::from_str::<serde_json::Value>(&e.fact).unwrap_or(serde_json::Value::Null),
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "topic": id, "entries": entries })))
}

async fn verify_record(
    State(state): State<AppState>,
    api::Id(id): api::Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    let verification = with_store(&state, move |s| s.verify_topic(TopicId(id))).await?;
    Ok(Json(serde_json::json!(verification)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_panics_holding_the_store_does_not_take_the_others_down() {
        let state = AppState::new(Store::open_in_memory().unwrap_or_else(|e| panic!("{e}")));
        let panicked = with_store(&state, |store| -> Result<(), StoreError> {
            let mut loader = store.load_city()?;
            store::testing::places(&mut loader, &[&[1]])?;
            panic!("a bug in a handler, half way through a transaction");
        })
        .await;
        assert_eq!(
            panicked.map_err(|e| e.status),
            Err(StatusCode::INTERNAL_SERVER_ERROR)
        );
        // The next request gets the store, outside any transaction, without the half-done
        // writes: the city can be loaded, and is loaded once.
        let loaded = with_store(&state, |store| {
            let mut loader = store.load_city()?;
            store::testing::places(&mut loader, &[&[1]])?;
            loader.commit()
        })
        .await;
        assert!(loaded.is_ok(), "{loaded:?}");
        let counts = with_store(&state, |store| store.counts()).await;
        assert!(counts.is_ok_and(|c| c.rooms == 0), "no rooms: only places");
    }

    fn sqlite_error(code: std::os::raw::c_int) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[tokio::test]
    async fn a_full_disk_is_503_with_retry_after_and_other_store_failures_are_500() {
        let response = ApiError::from(sqlite_error(rusqlite::ffi::SQLITE_FULL)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "30");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert_eq!(
            body["error"]["message"],
            "the headend's disk is full: nothing was saved; try again later"
        );

        let busy = ApiError::from(sqlite_error(rusqlite::ffi::SQLITE_BUSY)).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);

        let corrupt = ApiError::from(sqlite_error(rusqlite::ffi::SQLITE_CORRUPT)).into_response();
        assert_eq!(corrupt.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !corrupt
                .headers()
                .contains_key(axum::http::header::RETRY_AFTER)
        );
    }
}
