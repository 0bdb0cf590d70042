//! What one community's channel shows: its active topics with their stage, research, ballot,
//! tally, accepted comments, consensus and progress, and its notices, gathered from the store
//! into the plain data the screen templates bind to (the shape is documented in
//! `docs/screens.md`, "Screen data") and the bundle carries; and what a topic's published
//! record shows ([`record_inputs`], for the `report` crate).
//!
//! It reads, never writes. Display strings (dates, percentages, addresses) are made here,
//! because the template language has no arithmetic. Participation by grid never shows a grid
//! with fewer than [`MIN_GROUP`] voters on its own: such grids are merged, so that no small
//! group's choice can be read off the screen.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = store::Store::open(std::path::Path::new("var/shangyi.db"))?;
//! let at = consult::Timestamp(1_795_741_200);
//! let data = channel::community_data(&store, consult::ids::CommunityId(1), at, None)?;
//! assert_eq!(data["channel"], "有事好商量");
//! # Ok(()) }
//! ```

mod data;
mod record;

pub use consult::vote::MIN_GROUP;
pub use data::{ChannelError, PHRASES, community_data};
pub use record::{RecordInputs, record_inputs};
