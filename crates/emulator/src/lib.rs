//! emulator: a set-top box in software. An operator loads a community's broadcast bundle into
//! it, presses remote keys, sees every frame, and sends votes and comments upstream through
//! the return channel, before the bundle goes on air.
//!
//! The box lays out and draws with the headend's own code: from the bundle's cold screen data
//! and its notices it builds the screen data **for its own grid and clock**
//! ([`notices::box_data`]), lays each screen out from the base bundle's templates with
//! `screen`, drives focus with `screen::focus::Navigator`, and draws with `render`. So what the
//! operator sees is what households see.
//!
//! - [`keys`]: the remote's keys by their HbbTV names and codes.
//! - [`provision`]: the box's identity (card id, household, grid, community, card key).
//! - [`notices`]: the bundle's notices and the per-box screen data.
//! - [`content`]: loading a verified bundle (and the base bundle it references).
//! - [`set_top_box`]: the box: keys in, steps and frames out, signed messages into the
//!   outbox on disk, delivery through any `returnpath::Transport`.
//! - [`frame`], [`contact_sheet`]: pictures of one step and of a whole session.
//!
//! The crate reads no clock (the box's time is an argument) and opens no network connection
//! (the caller hands [`SetTopBox::deliver`] a transport). Its only files are the bundles it
//! reads and the outbox it keeps.
//!
//! ```no_run
//! use emulator::{BoxConfig, BoxContent, Provisioning, RemoteKey, SetTopBox};
//! use std::path::Path;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let content = BoxContent::from_bundle(Path::new("out/bundles/c-320213001"), None)?;
//! let identity = Provisioning::parse(&std::fs::read("card.json")?)?;
//! let mut stb = SetTopBox::start(content, identity, BoxConfig {
//!     theme: "standard".into(),
//!     at: 1_795_741_200,
//!     outbox: "var/box/outbox.log".into(),
//! })?;
//! for key in emulator::keys::parse_sequence("OK RED RED GREEN")? {
//!     let step = stb.press(key)?;
//!     println!("{} → {} [{}]", step.key, step.screen, step.focus.unwrap_or_default());
//! }
//! std::fs::write("frame.png", stb.frame_png()?)?;
//! assert_eq!(stb.outbox().pending_len(), 1); // the vote, signed, on disk
//! # Ok(()) }
//! ```

pub mod contact_sheet;
pub mod content;
pub mod demo;
pub mod frame;
pub mod keys;
pub mod notices;
pub mod provision;
pub mod set_top_box;

pub use content::{BoxContent, ContentError};
pub use keys::{RemoteKey, UnknownKey};
pub use notices::{NoticeRecord, NoticesFile, Urgency, box_data, records_in_force};
pub use provision::{ProvisionError, Provisioning};
pub use set_top_box::{BoxConfig, BoxError, Queued, SetTopBox, Step};
