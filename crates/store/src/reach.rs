//! A notice's reach: how many households' boxes reported it seen on the return channel.

use crate::{Store, StoreError};
use consult::ids::NoticeId;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct NoticeReach {
    /// Distinct households with at least one box that reported the notice seen.
    pub households: i64,
    /// Distinct boxes (cards) that reported it seen.
    pub boxes: i64,
    /// Households in the notice's grids.
    pub of_households: i64,
}

impl Store {
    pub fn notice_reach(&self, id: NoticeId) -> Result<NoticeReach, StoreError> {
        let (households, boxes) = self
            .conn
            .prepare_cached(
                "SELECT COUNT(DISTINCT b.household_id), COUNT(DISTINCT s.card_id)
                 FROM rc_notice_seen s JOIN set_top_boxes b ON b.card_id = s.card_id
                 WHERE s.notice_id = ?1",
            )?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let of_households = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM households
                 WHERE grid_id IN (SELECT grid_id FROM notice_grids WHERE notice_id = ?1)",
            )?
            .query_row([id.0], |r| r.get(0))?;
        Ok(NoticeReach {
            households,
            boxes,
            of_households,
        })
    }
}
