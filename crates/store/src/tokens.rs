//! API tokens: a role, a scope and a holder's name, found by the SHA-256 of the secret. The
//! secret itself is never stored; whoever creates a token sees it once.

use crate::{Store, StoreError};
use consult::access::{Credential, Scope, TokenRole};
use consult::ids::{CommunityId, GridId, RoomId};
use consult::time::Timestamp;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

/// A token's row: id, role, name, room, community.
type TokenRow = (i64, String, String, Option<i64>, Option<i64>);

/// The hash a token is stored and looked up by.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Store {
    /// Stores a token for `credential` under the hash of `secret` (made by the caller from the
    /// operating system's randomness). Checks the scope exists and fits the role.
    pub fn create_token(
        &mut self,
        secret: &str,
        credential: &Credential,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        credential
            .check()
            .map_err(|e| StoreError::corrupt("token", e))?;
        let tx = self.conn.transaction()?;
        let (room, community) = match &credential.scope {
            Scope::Room { room } => {
                crate::places::room_level_in(&tx, *room)?;
                (Some(room.0), None)
            }
            Scope::Grids { community, grids } => {
                for grid in grids {
                    if crate::places::community_of_grid_in(&tx, *grid)? != Some(*community) {
                        return Err(StoreError::NotFound {
                            what: "grid in that community",
                            id: grid.to_string(),
                        });
                    }
                }
                (None, Some(community.0))
            }
            Scope::City => (None, None),
        };
        tx.execute(
            "INSERT INTO tokens (hash, role, name, room_id, community_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token_hash(secret), credential.role.as_str(), credential.name, room, community, at.0],
        )?;
        let id = tx.last_insert_rowid();
        if let Scope::Grids { grids, .. } = &credential.scope {
            for grid in grids {
                tx.execute(
                    "INSERT INTO token_grids (token_id, grid_id) VALUES (?1, ?2)",
                    params![id, grid.0],
                )?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// The credential a secret stands for, or `None` for an unknown or revoked token.
    pub fn credential(&self, secret: &str) -> Result<Option<Credential>, StoreError> {
        let row: Option<TokenRow> = self
            .conn
            .prepare_cached(
                "SELECT id, role, name, room_id, community_id FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([token_hash(secret)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .optional()?;
        let Some((id, role, name, room, community)) = row else {
            return Ok(None);
        };
        let role = TokenRole::parse(&role)
            .ok_or_else(|| StoreError::corrupt(format!("token {id}"), format!("role {role:?}")))?;
        let scope = match (role, room, community) {
            (TokenRole::Convener | TokenRole::Overseer, Some(room), _) => {
                Scope::Room { room: RoomId(room) }
            }
            (TokenRole::GridWorker, _, Some(community)) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT grid_id FROM token_grids WHERE token_id = ?1 ORDER BY grid_id",
                )?;
                let grids = stmt
                    .query_map([id], |r| r.get(0).map(GridId))?
                    .collect::<Result<Vec<_>, _>>()?;
                Scope::Grids {
                    community: CommunityId(community),
                    grids,
                }
            }
            _ => Scope::City,
        };
        Ok(Some(Credential { role, scope, name }))
    }

    pub fn revoke_token(&mut self, secret: &str, at: Timestamp) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
            params![token_hash(secret), at.0],
        )?;
        Ok(changed == 1)
    }
}
