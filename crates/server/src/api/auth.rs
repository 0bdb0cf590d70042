//! Bearer tokens: `Authorization: Bearer sy_...`, looked up by hash in the store.

use crate::{ApiError, AppState};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use consult::access::{Credential, TokenRole};
use consult::record::{Actor, ActorRole};

/// The holder of a valid token. A handler that takes one refuses a request without it (401).
pub struct Bearer(pub Credential);

/// The secret in an `Authorization: Bearer ...` header, if the header has that form.
pub fn secret(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then_some(secret)
}

fn unauthorized(message: &str) -> ApiError {
    super::error(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(secret) = secret(parts) else {
            return Err(unauthorized(
                "this needs a token: send the header Authorization: Bearer <token>",
            ));
        };
        let secret = secret.to_owned();
        let credential = crate::with_store(state, move |s| s.credential(&secret)).await?;
        credential
            .map(Bearer)
            .ok_or_else(|| unauthorized("the token is unknown or revoked"))
    }
}

/// The actor a credential's holder is in the record: its role and name.
pub fn actor(credential: &Credential) -> Result<Actor, ApiError> {
    let role = match credential.role {
        TokenRole::Convener => ActorRole::Convener,
        TokenRole::Overseer => ActorRole::Overseer,
        TokenRole::Moderator => ActorRole::Moderator,
        TokenRole::GridWorker | TokenRole::Operator => {
            return Err(super::error(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "a {} writes nothing into a record",
                    credential.role.as_str()
                ),
            ));
        }
    };
    Ok(Actor {
        role,
        name: credential.name.clone(),
    })
}
