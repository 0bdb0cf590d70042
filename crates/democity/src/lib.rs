//! The demo city: a deterministic, seeded generator of a Wuxi-like city for shangyi.
//!
//! Real districts and towns and subdistricts (from `fixtures/democity.json`), made-up villages and
//! communities, exactly 1,301 consultation rooms (one per town or subdistrict, one per village or
//! community), 4 to 12 grids per community with a grid worker each, households with set-top
//! boxes, and demo topics of every category at every stage of the procedure, with research
//! findings, votes, comments and progress.
//!
//! The generator is pure: it emits [`CityItem`]s, parents before children, to a callback (the
//! binary writes them to the store), so a city of millions of households streams through
//! without being held in memory. The same seed, size and anchor time give the same city.
//!
//! ```
//! let fixture = democity::Fixture::builtin().expect("the built-in fixture is valid");
//! let config = democity::Config { households_per_community: 2, ..democity::Config::default() };
//! let mut rooms = 0;
//! democity::generate(&fixture, &config, &mut |item| {
//!     if let democity::CityItem::Room(_) = item { rooms += 1; }
//!     Ok::<(), std::convert::Infallible>(())
//! }).expect("generation");
//! assert_eq!(rooms, 1301);
//! ```

mod fixture;
mod generate;
mod random;

pub use fixture::{Fixture, FixtureError, NoticeTemplate, TopicTemplate};
pub use generate::{CityItem, Config, ScriptAction, TOTAL_ROOMS, TopicScript, generate};
pub use random::SplitMix64;
