//! Gathers what a published consultation record shows (see the `report` crate).

use crate::ChannelError;
use consult::ids::{GridId, TopicId};
use consult::record::StoredEntry;
use consult::topic::Topic;
use consult::vote::{EligibleArea, Tally};
use store::Store;

/// A topic's record with what its report needs, read in one go.
pub struct RecordInputs {
    pub topic: Topic,
    pub room: String,
    pub entries: Vec<StoredEntry>,
    pub tally: Tally,
    /// The eligible area's grids: id, name, households.
    pub grids: Vec<(GridId, String, u64)>,
    /// The head hash when the record verifies; `None` otherwise.
    pub verified: Option<String>,
}

pub fn record_inputs(store: &Store, id: TopicId) -> Result<RecordInputs, ChannelError> {
    let topic = store.topic(id)?;
    let (room, _, _) = store.room_convener(topic.room)?;
    let entries = store.record(id)?;
    let tally = store.tally(id)?;
    let verification = store.verify_topic(id)?;
    let verified = if verification.error.is_none() {
        verification.head
    } else {
        None
    };
    let communities = match &topic.eligible {
        EligibleArea::Community { community } | EligibleArea::Grids { community, .. } => {
            vec![*community]
        }
        EligibleArea::Communities { communities, .. } => communities.clone(),
    };
    let mut grids = Vec::new();
    let several = communities.len() > 1;
    for community in communities {
        // A town topic spans communities whose grids share names (第1网格...): say whose.
        let prefix = if several {
            store.community(community)?.name
        } else {
            String::new()
        };
        for (grid, households) in store.grid_households(community)? {
            let wanted = match &topic.eligible {
                EligibleArea::Grids { grids, .. } => grids.contains(&grid.id),
                _ => true,
            };
            if wanted {
                grids.push((
                    grid.id,
                    format!("{prefix}{}", grid.name),
                    households.max(0) as u64,
                ));
            }
        }
    }
    Ok(RecordInputs {
        topic,
        room,
        entries,
        tally,
        grids,
        verified,
    })
}
