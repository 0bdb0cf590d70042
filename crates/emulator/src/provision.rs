//! The box's identity, as the operator's smart-card personalisation gives it: a JSON
//! **provisioning file** naming the card, its household, grid and community, and the card's
//! key.
//!
//! ```json
//! {
//!   "format": 1,
//!   "card_id": "8610012345678901",
//!   "household": 4711,
//!   "grid": 1,
//!   "community": 320213001,
//!   "card_key": "58df7339be70a7d46b7179d4367409243f106e2039198ca1016c2e9cd0e5ca6f"
//! }
//! ```
//!
//! Parsing is strict, because a box provisioned wrongly signs votes the headend will refuse
//! (`bad_tag`) or shows another grid's notices: every field is required, no other field is
//! allowed, the card id is 16 ASCII digits, the key 64 lower-case hex digits (HKDF-SHA256 of the
//! headend's master secret, `docs/return-channel.md` section 4), ids positive.

use returnpath::{CardId, CardKey};
use serde::{Deserialize, Serialize};

/// The provisioning file format this code reads and writes.
pub const FORMAT: u32 = 1;

/// Files larger than this are not provisioning files (a real one is about 200 bytes).
pub const MAX_BYTES: usize = 4096;

/// A box's identity.
#[derive(Clone, PartialEq, Eq)]
pub struct Provisioning {
    pub card_id: CardId,
    pub household: i64,
    pub grid: i64,
    pub community: i64,
    pub card_key: CardKey,
}

impl std::fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs (CardKey's Debug hides it too).
        f.debug_struct("Provisioning")
            .field("card_id", &self.card_id)
            .field("household", &self.household)
            .field("grid", &self.grid)
            .field("community", &self.community)
            .finish_non_exhaustive()
    }
}

/// Why a provisioning file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    #[error("the provisioning file is {0} bytes; a provisioning file is at most {MAX_BYTES}")]
    TooLarge(usize),
    #[error("the provisioning file is not valid: {0}")]
    Json(String),
    #[error("provisioning format {0}; this emulator reads format {FORMAT}")]
    Format(u32),
    #[error("card_id {0:?} is not a card id: exactly 16 ASCII digits")]
    CardId(String),
    #[error("card_key is malformed: it must be 64 lower-case hex digits (32 bytes)")]
    Key,
    #[error("{field} must be a positive id, not {value}")]
    Id { field: &'static str, value: i64 },
    #[error(
        "card {card} is provisioned for community {provisioned}, but the bundle is community {bundle}'s"
    )]
    WrongCommunity {
        card: String,
        provisioned: i64,
        bundle: i64,
    },
    #[error(
        "card {card} is provisioned for grid {grid}, which is not a grid of community {community} (its grids: {grids})"
    )]
    UnknownGrid {
        card: String,
        grid: i64,
        community: i64,
        grids: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    card_id: String,
    household: i64,
    grid: i64,
    community: i64,
    card_key: String,
}

impl Provisioning {
    /// Parses a provisioning file's bytes. Never panics, whatever the bytes.
    pub fn parse(bytes: &[u8]) -> Result<Provisioning, ProvisionError> {
        if bytes.len() > MAX_BYTES {
            return Err(ProvisionError::TooLarge(bytes.len()));
        }
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| ProvisionError::Json(e.to_string()))?;
        if wire.format != FORMAT {
            return Err(ProvisionError::Format(wire.format));
        }
        let card_id = CardId::parse(&wire.card_id)
            .map_err(|_| ProvisionError::CardId(wire.card_id.chars().take(40).collect()))?;
        // CardKey::from_hex takes either case and trims; a personalisation file is written by
        // a machine, so anything but exactly 64 lower-case digits means it was mangled.
        let k = wire.card_key.as_bytes();
        if k.len() != 64
            || !k
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        {
            return Err(ProvisionError::Key);
        }
        let card_key = CardKey::from_hex(&wire.card_key).map_err(|_| ProvisionError::Key)?;
        for (field, value) in [
            ("household", wire.household),
            ("grid", wire.grid),
            ("community", wire.community),
        ] {
            if value <= 0 {
                return Err(ProvisionError::Id { field, value });
            }
        }
        Ok(Provisioning {
            card_id,
            household: wire.household,
            grid: wire.grid,
            community: wire.community,
            card_key,
        })
    }

    /// The file's text (pretty JSON with a final newline): what `shangyi cards provision`
    /// writes.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            format: FORMAT,
            card_id: self.card_id.as_str().to_owned(),
            household: self.household,
            grid: self.grid,
            community: self.community,
            card_key: self
                .card_key
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&wire).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Checks the identity against the community whose bundle is loaded: the same community,
    /// and a grid of it. `grids` are the community's grid ids.
    pub fn check_against(&self, community: i64, grids: &[i64]) -> Result<(), ProvisionError> {
        if self.community != community {
            return Err(ProvisionError::WrongCommunity {
                card: self.card_id.to_string(),
                provisioned: self.community,
                bundle: community,
            });
        }
        if !grids.contains(&self.grid) {
            return Err(ProvisionError::UnknownGrid {
                card: self.card_id.to_string(),
                grid: self.grid,
                community,
                grids: grids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"format":1,"card_id":"8610012345678901","household":4711,"grid":1,
        "community":320213001,
        "card_key":"58df7339be70a7d46b7179d4367409243f106e2039198ca1016c2e9cd0e5ca6f"}"#;

    fn with(field: &str, value: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        v[field] = serde_json::from_str(value).unwrap();
        v.to_string()
    }

    #[test]
    fn a_good_file_round_trips() {
        let p = Provisioning::parse(GOOD.as_bytes()).unwrap();
        assert_eq!(p.card_id.as_str(), "8610012345678901");
        assert_eq!((p.household, p.grid, p.community), (4711, 1, 320213001));
        assert_eq!(Provisioning::parse(p.to_json().as_bytes()), Ok(p.clone()));
        assert!(
            !format!("{p:?}").contains("58df"),
            "the key stays out of Debug"
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let bad_key = |k: &str| Provisioning::parse(with("card_key", k).as_bytes());
        assert_eq!(bad_key(r#""58df""#), Err(ProvisionError::Key));
        assert_eq!(
            bad_key(r#""58DF7339BE70A7D46B7179D4367409243F106E2039198CA1016C2E9CD0E5CA6F""#),
            Err(ProvisionError::Key)
        );
        assert_eq!(
            bad_key(r#"" 58df7339be70a7d46b7179d4367409243f106e2039198ca1016c2e9cd0e5ca6f""#),
            Err(ProvisionError::Key)
        );
        assert_eq!(
            bad_key(r#""zzdf7339be70a7d46b7179d4367409243f106e2039198ca1016c2e9cd0e5ca6f""#),
            Err(ProvisionError::Key)
        );
        assert!(matches!(
            Provisioning::parse(with("card_id", r#""861001234567890""#).as_bytes()),
            Err(ProvisionError::CardId(_))
        ));
        assert!(matches!(
            Provisioning::parse(with("grid", "0").as_bytes()),
            Err(ProvisionError::Id { field: "grid", .. })
        ));
        assert!(matches!(
            Provisioning::parse(with("format", "2").as_bytes()),
            Err(ProvisionError::Format(2))
        ));
        assert!(matches!(
            Provisioning::parse(with("extra", "1").as_bytes()),
            Err(ProvisionError::Json(_))
        ));
        assert!(matches!(
            Provisioning::parse(with("household", r#""4711""#).as_bytes()),
            Err(ProvisionError::Json(_))
        ));
        assert!(matches!(
            Provisioning::parse(b"{}"),
            Err(ProvisionError::Json(_))
        ));
        assert!(matches!(
            Provisioning::parse(&[b' '; MAX_BYTES + 1]),
            Err(ProvisionError::TooLarge(_))
        ));
    }

    #[test]
    fn another_communitys_card_or_an_unknown_grid_is_refused() {
        let p = Provisioning::parse(GOOD.as_bytes()).unwrap();
        assert_eq!(p.check_against(320213001, &[1, 2, 3]), Ok(()));
        let err = p.check_against(320213002, &[1, 2]).unwrap_err();
        assert!(matches!(
            err,
            ProvisionError::WrongCommunity {
                bundle: 320213002,
                ..
            }
        ));
        assert!(err.to_string().contains("community 320213001"), "{err}");
        let err = p.check_against(320213001, &[2, 3]).unwrap_err();
        assert!(err.to_string().contains("grid 1"), "{err}");
    }
}
