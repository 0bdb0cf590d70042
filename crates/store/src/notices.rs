//! Notices: grid workers push them to their grids; updates and cancellations are new notices
//! that reference the one they change, so nothing is ever edited.

use crate::{Store, StoreError};
use consult::ids::{CommunityId, GridId, NoticeId};
use consult::notice::{MessageType, Notice, NoticeDraft, Urgency};
use consult::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

const NOTICE_COLUMNS: &str = "id, community_id, author, title, body, urgency, message_type, references_id, valid_from, valid_until, sent_at";

fn read_notice(conn: &Connection, row: &rusqlite::Row<'_>) -> Result<Notice, StoreError> {
    let id = NoticeId(row.get(0)?);
    let urgency: String = row.get(5)?;
    let message_type: String = row.get(6)?;
    let mut grids_stmt = conn
        .prepare_cached("SELECT grid_id FROM notice_grids WHERE notice_id = ?1 ORDER BY grid_id")?;
    let grids = grids_stmt
        .query_map([id.0], |r| r.get(0).map(GridId))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Notice {
        id,
        author: row.get(2)?,
        sent_at: Timestamp(row.get(10)?),
        draft: NoticeDraft {
            community: CommunityId(row.get(1)?),
            grids,
            title: row.get(3)?,
            body: row.get(4)?,
            urgency: Urgency::parse(&urgency).ok_or_else(|| {
                StoreError::corrupt(format!("notice {id}"), format!("urgency {urgency:?}"))
            })?,
            message_type: MessageType::parse(&message_type).ok_or_else(|| {
                StoreError::corrupt(
                    format!("notice {id}"),
                    format!("message type {message_type:?}"),
                )
            })?,
            references: row.get::<_, Option<i64>>(7)?.map(NoticeId),
            valid_from: Timestamp(row.get(8)?),
            valid_until: Timestamp(row.get(9)?),
        },
    })
}

pub(crate) fn notice_in(conn: &Connection, id: NoticeId) -> Result<Option<Notice>, StoreError> {
    let sql = format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.0])?;
    match rows.next()? {
        Some(row) => Ok(Some(read_notice(conn, row)?)),
        None => Ok(None),
    }
}

pub(crate) fn push_in(
    tx: &Connection,
    draft: NoticeDraft,
    author: &str,
    worker_grids: &[GridId],
    sent_at: Timestamp,
) -> Result<Notice, StoreError> {
    let referenced = match draft.references {
        Some(id) => {
            let notice = notice_in(tx, id)?;
            let cancelled = tx
                .prepare_cached(
                    "SELECT 1 FROM notices WHERE references_id = ?1 AND message_type = 'cancel'",
                )?
                .query_row([id.0], |_| Ok(()))
                .optional()?
                .is_some();
            notice.map(|n| (n, cancelled))
        }
        None => None,
    };
    draft.check(
        worker_grids,
        |g| crate::places::community_of_grid_in(tx, g).ok().flatten(),
        referenced.as_ref().map(|(n, c)| (n, *c)),
    )?;
    let draft = NoticeDraft {
        title: draft.title.trim().into(),
        body: draft.body.trim().into(),
        ..draft
    };
    tx.prepare_cached(
        "INSERT INTO notices (community_id, author, title, body, urgency, message_type, references_id,
                              valid_from, valid_until, sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        draft.community.0,
        author,
        draft.title,
        draft.body,
        draft.urgency.as_str(),
        draft.message_type.as_str(),
        draft.references.map(|r| r.0),
        draft.valid_from.0,
        draft.valid_until.0,
        sent_at.0
    ])?;
    let id = NoticeId(tx.last_insert_rowid());
    for grid in &draft.grids {
        tx.prepare_cached("INSERT INTO notice_grids (notice_id, grid_id) VALUES (?1, ?2)")?
            .execute(params![id.0, grid.0])?;
    }
    Ok(Notice {
        id,
        author: author.into(),
        sent_at,
        draft,
    })
}

impl Store {
    /// Pushes a grid worker's notice after checking it against the worker's grids and, for an
    /// update or cancellation, the notice it references.
    pub fn push_notice(
        &mut self,
        draft: NoticeDraft,
        author: &str,
        worker_grids: &[GridId],
        sent_at: Timestamp,
    ) -> Result<Notice, StoreError> {
        let tx = self.conn.transaction()?;
        let notice = push_in(&tx, draft, author, worker_grids, sent_at)?;
        tx.commit()?;
        tracing::info!(
            notice = notice.id.0,
            community = notice.draft.community.0,
            "notice pushed"
        );
        Ok(notice)
    }

    pub fn notice(&self, id: NoticeId) -> Result<Notice, StoreError> {
        notice_in(&self.conn, id)?.ok_or_else(|| StoreError::NotFound {
            what: "notice",
            id: id.to_string(),
        })
    }

    /// Every notice of a community, oldest first (updates and cancellations included).
    pub fn notices_of_community(&self, community: CommunityId) -> Result<Vec<Notice>, StoreError> {
        let sql =
            format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE community_id = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([community.0])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read_notice(&self.conn, row)?);
        }
        Ok(out)
    }
}
