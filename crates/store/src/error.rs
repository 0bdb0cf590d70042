//! The store's errors: each names the thing and the rule it broke.

use consult::comment::CommentError;
use consult::notice::NoticeError;
use consult::topic::TopicError;
use consult::vote::{AreaError, Refusal};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the database has schema version {found}, newer than this shangyi understands ({supported}); use a newer shangyi"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: String },
    #[error(transparent)]
    Topic(#[from] TopicError),
    #[error("eligible area: {0}")]
    Area(#[from] AreaError),
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Comment(#[from] CommentError),
    #[error("notice: {0}")]
    Notice(#[from] NoticeError),
    #[error("{what} in the database is inconsistent: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("the city is already loaded ({0} districts); load into a new database")]
    AlreadyLoaded(i64),
}

/// Why the store could not write just now, when trying again later may succeed: the caller
/// answers "unavailable, nothing was saved" rather than "internal error".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The disk (or the database's size limit) is full.
    DiskFull,
    /// Another connection held the database longer than the busy timeout.
    Busy,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unavailable::DiskFull => "the headend's disk is full",
            Unavailable::Busy => "the database is busy",
        })
    }
}

impl StoreError {
    /// Whether the failure is the store's condition, not the request's, and may pass.
    pub fn unavailable(&self) -> Option<Unavailable> {
        let StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) = self else {
            return None;
        };
        match failure.code {
            rusqlite::ErrorCode::DiskFull => Some(Unavailable::DiskFull),
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                Some(Unavailable::Busy)
            }
            _ => None,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_database_is_unavailable_not_a_bad_request() -> Result<(), StoreError> {
        let store = crate::Store::open_in_memory()?;
        // SQLite's own size limit gives the same error as a full disk: SQLITE_FULL.
        let pages: i64 = store
            .conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))?;
        store
            .conn
            .execute_batch(&format!("PRAGMA max_page_count = {pages};"))?;
        let full = store
            .conn
            .execute_batch("CREATE TABLE filler (bytes BLOB); INSERT INTO filler VALUES (randomblob(1000000));")
            .map_err(StoreError::from);
        let error = full.expect_err("the database is at its size limit");
        assert_eq!(error.unavailable(), Some(Unavailable::DiskFull), "{error}");
        assert_eq!(
            StoreError::NotFound {
                what: "topic",
                id: "1".into()
            }
            .unavailable(),
            None
        );
        Ok(())
    }
}
