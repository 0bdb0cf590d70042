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

impl StoreError {
    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}
