//! The consultation domain of shangyi: places, households and their set-top boxes, consultation
//! rooms, topics moving through the consultation procedure, votes, comments, and the
//! tamper-evident consultation record of each topic.
//!
//! This crate is pure: no I/O, no async, no clock. Every operation that depends on time takes the
//! time as an argument, so tests are exact and the store decides what "now" is.
//!
//! ```
//! use consult::procedure::{Stage, Step};
//! use consult::procedure::Role;
//!
//! // From `proposed`, only the overseer may confirm or reject, and the convener may withdraw.
//! let allowed = Stage::Proposed.allowed_steps();
//! assert!(allowed.contains(&Step::Confirm));
//! assert_eq!(Step::Confirm.role(), Role::Overseer);
//! assert_eq!(Step::Confirm.target(Stage::Proposed), Some(Stage::Confirmed));
//! ```

pub mod access;
pub mod comment;
pub mod ids;
pub mod notice;
pub mod place;
pub mod procedure;
pub mod record;
pub mod room;
pub mod time;
pub mod topic;
pub mod vote;

pub use ids::*;
pub use time::Timestamp;
