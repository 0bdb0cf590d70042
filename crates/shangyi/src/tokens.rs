//! `shangyi tokens create`: a bearer token for one role and scope, printed once.

use anyhow::{Context, Result, bail};
use consult::access::{Credential, Scope, TokenRole};
use consult::ids::{GridId, RoomId};
use consult::time::Timestamp;
use store::Store;

/// A new token secret: `sy_` and 48 hex digits of the operating system's randomness.
pub fn new_secret() -> Result<String> {
    let bytes: [u8; 24] = crate::keys::random_bytes()?;
    Ok(format!(
        "sy_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Makes the credential a role and its scope arguments describe; the holder's name defaults
/// to what the database knows (the room's convener, the grid's worker).
pub fn credential(
    store: &Store,
    role: &str,
    room: Option<i64>,
    grids: &[i64],
    name: Option<String>,
) -> Result<Credential> {
    let role = TokenRole::parse(role).with_context(|| {
        format!(
            "unknown role {role:?}; roles are convener, overseer, grid-worker, moderator, operator"
        )
    })?;
    let (scope, default_name) = match role {
        TokenRole::Convener | TokenRole::Overseer => {
            let Some(room) = room else {
                bail!("a {} token needs --room ID", role.as_str())
            };
            if !grids.is_empty() {
                bail!("a {} token takes --room, not --grid", role.as_str());
            }
            let (room_name, convener, office) = store.room_convener(RoomId(room))?;
            let name = if role == TokenRole::Convener {
                format!("{convener}（{office}）")
            } else {
                format!(
                    "{}党组织",
                    room_name.split('“').next().unwrap_or(&room_name)
                )
            };
            (Scope::Room { room: RoomId(room) }, name)
        }
        TokenRole::GridWorker => {
            if grids.is_empty() {
                bail!("a grid-worker token needs --grid ID (repeat it for several grids)");
            }
            if room.is_some() {
                bail!("a grid-worker token takes --grid, not --room");
            }
            let first = GridId(grids[0]);
            let community = store
                .community_of_grid(first)?
                .with_context(|| format!("no grid {first}"))?;
            let worker = store
                .grids_of_community(community)?
                .into_iter()
                .find(|g| g.id == first)
                .map(|g| g.worker)
                .unwrap_or_else(|| "网格员".into());
            (
                Scope::Grids {
                    community,
                    grids: grids.iter().map(|g| GridId(*g)).collect(),
                },
                worker,
            )
        }
        TokenRole::Moderator | TokenRole::Operator => {
            if room.is_some() || !grids.is_empty() {
                bail!(
                    "a {} token is city-wide: it takes no --room or --grid",
                    role.as_str()
                );
            }
            let name = if role == TokenRole::Moderator {
                "信息审核员"
            } else {
                "运营人员"
            };
            (Scope::City, name.to_owned())
        }
    };
    Ok(Credential {
        role,
        scope,
        name: name.unwrap_or(default_name),
    })
}

/// Creates a token and returns its secret.
pub fn create(store: &mut Store, credential: &Credential, at: Timestamp) -> Result<String> {
    let secret = new_secret()?;
    store.create_token(&secret, credential, at)?;
    Ok(secret)
}
