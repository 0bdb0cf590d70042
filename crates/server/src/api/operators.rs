//! The operators' endpoints: what the headend broadcasts. Every community bundle with its
//! version, one bundle's manifest and files, a rebuild on demand, a screen drawn as the boxes
//! draw it, and the carousel's figures. Operator token only.

use super::auth::Bearer;
use super::{bad_request, error, now};
use crate::{ApiError, AppState, BundlePaths, blocking};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use consult::access::{Credential, TokenRole};
use consult::ids::CommunityId;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

fn operator(credential: &Credential, action: &str) -> Result<(), ApiError> {
    credential.require(&[TokenRole::Operator], action)?;
    Ok(())
}

/// The bundle paths, or 503 when this service was started without them.
fn paths(state: &AppState) -> Result<Arc<BundlePaths>, ApiError> {
    state.bundles.clone().ok_or_else(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this service was started without a bundles directory",
        )
    })
}

/// A positive community id from the path.
fn community(text: &str) -> Result<CommunityId, ApiError> {
    match text.parse::<i64>() {
        Ok(id) if id > 0 => Ok(CommunityId(id)),
        _ => Err(bad_request(format!(
            "community: {text:?} is not a positive id"
        ))),
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what}");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("{what} failed; see the server log"),
    )
}

/// The community bundles in the bundles directory (none if it is not there yet).
fn community_manifests(dir: &std::path::Path) -> Result<Vec<bundle::Manifest>, ApiError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    bundle::read_city(dir).map_err(|e| internal("reading the bundles", e))
}

/// `GET /api/v1/bundles`.
pub async fn list(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
) -> Result<Json<serde_json::Value>, ApiError> {
    operator(&credential, "list bundles")?;
    let paths = paths(&state)?;
    let rows = blocking(move || {
        let manifests = community_manifests(&paths.bundles_dir)?;
        Ok(manifests
            .iter()
            .filter(|m| matches!(m.role, bundle::Role::Community { .. }))
            .map(|m| {
                let summary = bundle::ManifestSummary::of(m);
                let air: u64 = summary.manifest_air_size
                    + summary
                        .modules
                        .iter()
                        .map(|module| module.air_size)
                        .sum::<u64>();
                serde_json::json!({
                    "id": summary.bundle,
                    "version": m.version,
                    "newest_input": m.newest_input,
                    "files": m.files.len(),
                    "air_bytes": air,
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(serde_json::json!({ "bundles": rows })))
}

/// `POST /api/v1/bundles/{community}/rebuild`: queued for the live rebuild thread.
pub async fn rebuild(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    operator(&credential, "rebuild bundles")?;
    let id = community(&id)?;
    let Some(live) = state.live.clone() else {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this service was started without live rebuilds",
        ));
    };
    crate::with_store(&state, move |s| s.community(id)).await?;
    live.mark(id);
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "queued": id.0 })),
    ))
}

/// The community's manifest, or 404 when its bundle is not built.
fn manifest_of(paths: &BundlePaths, id: CommunityId) -> Result<bundle::Manifest, ApiError> {
    let dir = paths.bundles_dir.join(format!("c-{}", id.0));
    bundle::read_manifest(&dir)
        .map_err(|e| internal("reading a manifest", e))?
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("community {} has no bundle yet", id.0),
            )
        })
}

/// `GET /api/v1/bundles/{community}/manifest.xml`.
pub async fn manifest(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    operator(&credential, "read bundles")?;
    let id = community(&id)?;
    let paths = paths(&state)?;
    let xml = blocking(move || Ok(manifest_of(&paths, id)?.to_xml())).await?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// `GET /api/v1/bundles/{community}/files/{*path}`: only a file the manifest lists, so no path
/// (`..`, absolute) can reach outside the bundle.
pub async fn file(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Path((id, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    operator(&credential, "read bundles")?;
    let id = community(&id)?;
    if path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty())
    {
        return Err(bad_request(format!(
            "path: {path:?} is not a relative path inside the bundle"
        )));
    }
    let paths = paths(&state)?;
    let bytes = blocking(move || {
        let manifest = manifest_of(&paths, id)?;
        if !manifest.files.iter().any(|f| f.path == path) {
            return Err(error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("community {}'s bundle lists no file {path:?}", id.0),
            ));
        }
        let dir = paths.bundles_dir.join(format!("c-{}", id.0));
        std::fs::read(dir.join(&path)).map_err(|e| internal("reading a bundle file", e))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenQuery {
    theme: Option<String>,
    param: Option<String>,
}

/// `GET /api/v1/screens/{community}/{screen}.png`: laid out from the community's data now and
/// drawn as a box draws it.
pub async fn screen_png(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    Path((id, file)): Path<(String, String)>,
    query: Result<Query<ScreenQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    operator(&credential, "draw screens")?;
    let id = community(&id)?;
    let Query(query) = query.map_err(|e| bad_request(format!("query: {}", e.body_text())))?;
    let Some(name) = file.strip_suffix(".png").map(str::to_owned) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no screen {file:?}: screens are drawn as .png"),
        ));
    };
    let paths = paths(&state)?;
    let at = now();
    let data = crate::with_store(&state, move |s| {
        Ok(channel::community_data(s, id, at, None))
    })
    .await?
    .map_err(|e| match e {
        channel::ChannelError::Store(store) => ApiError::from(store),
        other => internal("reading the community's screen data", other),
    })?;
    let png = blocking(move || {
        let templates = screen::load_dir(&paths.templates_dir, &paths.assets_dir)
            .map_err(|e| internal("reading the templates", e))?;
        let theme = query.theme.as_deref().unwrap_or("standard");
        let measure =
            screen::measure::Typeset::new().map_err(|e| internal("loading the font", e))?;
        let rendered = templates.render(&name, query.param.as_deref(), 0, theme, &data, &measure);
        let Some(document) = rendered.document else {
            let why = rendered
                .findings
                .first()
                .map_or_else(String::new, |f| format!(": {f}"));
            return Err(error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no screen {name:?} in theme {theme:?}{why}"),
            ));
        };
        let mut typesetter =
            typeset::Typesetter::new().map_err(|e| internal("loading the font", e))?;
        let images: HashMap<String, Vec<u8>> = templates
            .assets
            .iter()
            .filter(|(path, _)| path.ends_with(".png"))
            .map(|(_, asset)| (asset.sha256.clone(), asset.bytes.clone()))
            .collect();
        let (png, _) = render::render_png(
            &document,
            document.default_focus.as_deref(),
            &mut typesetter,
            &images,
        )
        .map_err(|e| internal("drawing the screen", e))?;
        Ok(png)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarouselQuery {
    bitrate: Option<String>,
}

/// `GET /api/v1/carousel?bitrate=2M`: each district's stream, as `shangyi bundle carousel`.
pub async fn carousel(
    State(state): State<AppState>,
    Bearer(credential): Bearer,
    query: Result<Query<CarouselQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    operator(&credential, "model the carousel")?;
    let Query(query) = query.map_err(|e| bad_request(format!("query: {}", e.body_text())))?;
    let bitrate = query.bitrate.unwrap_or_else(|| "2M".into());
    let bps = bundle::parse_bitrate(&bitrate).map_err(|e| bad_request(format!("bitrate: {e}")))?;
    let paths = paths(&state)?;
    let rows = blocking(move || {
        let manifests = if paths.bundles_dir.is_dir() {
            bundle::read_city(&paths.bundles_dir).map_err(|e| internal("reading the bundles", e))?
        } else {
            Vec::new()
        };
        let summaries: Vec<bundle::ManifestSummary> =
            manifests.iter().map(bundle::ManifestSummary::of).collect();
        Ok(bundle::carousel_table(&summaries, bps))
    })
    .await?;
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "district": r.district,
                "communities": r.communities,
                "bases": r.bases,
                "missing_bases": r.missing_bases,
                "content_bytes": r.content_bytes,
                "cycle_bytes": r.cycle_bytes,
                "hot_pass_bytes": r.hot_pass_bytes,
                "hot_repeats": r.hot_repeats,
                "cycle_s": r.cycle_s,
                "mean_wait_s": r.mean_wait_s,
                "worst_wait_s": r.worst_wait_s,
                "push_mean_s": r.push_mean_s,
                "push_worst_s": r.push_worst_s,
            })
        })
        .collect();
    Ok(Json(
        serde_json::json!({ "bitrate_bps": bps, "districts": rows }),
    ))
}
