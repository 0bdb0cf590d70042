//! The store: shangyi's truth, in one SQLite file (rusqlite with the bundled SQLite, WAL,
//! foreign keys on). Only this crate speaks SQL.
//!
//! It keeps the places, households and set-top boxes, rooms, topics with their consultation
//! records, votes, tallies and comments. Every change to a topic goes through the domain
//! ([`consult::record::RecordWriter`]) and is written with its record entry in one transaction.
//! The record table refuses UPDATE and DELETE by triggers, on top of the hash chain.
//!
//! ```
//! let store = store::Store::open_in_memory().expect("a fresh database");
//! assert_eq!(store.schema_version().expect("version"), store::SCHEMA_VERSION);
//! ```

mod comments;
mod counted;
mod error;
mod ingest;
mod notices;
mod places;
mod reach;
mod record;
mod tokens;
mod topics;
mod votes;

#[doc(hidden)]
pub mod testing;

pub use error::{StoreError, Unavailable};
pub use ingest::{
    IngestBody, IngestConfig, IngestMemory, IngestMessage, IngestOutcome, IngestRefusal, VoterCard,
};
pub use places::{CityCounts, CityLoader, CommunitySummary};
pub use reach::NoticeReach;
pub use record::{RecordReport, TopicVerification};
pub use tokens::token_hash;
pub use topics::{TopicFilter, TopicRow};
pub use votes::{VoteInput, VoteOutcome};

use rusqlite::Connection;
use std::path::Path;

/// The migrations, in order; the schema version is how many have run (SQLite's `user_version`).
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        "0002_return_channel",
        include_str!("../migrations/0002_return_channel.sql"),
    ),
    (
        "0003_notices",
        include_str!("../migrations/0003_notices.sql"),
    ),
    ("0004_tokens", include_str!("../migrations/0004_tokens.sql")),
    (
        "0005_current_votes_settled",
        include_str!("../migrations/0005_current_votes_settled.sql"),
    ),
    (
        "0006_receipt_kind_check",
        include_str!("../migrations/0006_receipt_kind_check.sql"),
    ),
];

/// Applies migrations `from + 1 ..= to` (numbered from 1), each in its own transaction that
/// also records the version it reached. [`Store::open`] goes to the end; tests can stop earlier
/// ([`testing::database_at_version`]).
fn migrate_to(conn: &mut Connection, from: usize, to: usize) -> Result<(), StoreError> {
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().take(to).skip(from) {
        let version = index as i64 + 1;
        tracing::info!(migration = name, version, "migrating database");
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A connection to the database, migrated to [`SCHEMA_VERSION`].
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// A database written by a newer shangyi is refused, never mangled.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        Store::prepare(conn)
    }

    /// A private database in memory, for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::prepare(Connection::open_in_memory()?)
    }

    fn prepare(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // FULL: a commit survives a power cut, which acknowledgements to set-top boxes rely on.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        migrate_to(&mut self.conn, found.max(0) as usize, MIGRATIONS.len())
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it says "ok".
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                what: "database".into(),
                detail: result,
            })
        }
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}
