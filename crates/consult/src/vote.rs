//! Ballots, votes and tallies.
//!
//! A household has one counted vote per topic: its latest one cast before the voting closed.
//! Earlier votes stay in the history. Only households in the topic's eligible area may vote, and
//! only while the topic is in consultation. A vote cast before the close but delayed by the
//! return channel is still accepted if it arrives within [`GRACE_PERIOD_SECONDS`].

use crate::ids::{CommunityId, GridId, TownId};
use crate::place::HouseholdPlace;
use crate::procedure::Stage;
use crate::room::RoomLevel;
use crate::time::Timestamp;
use crate::topic::Topic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long after the close a vote signed before it may still arrive: ten minutes covers the
/// return channel's worst retry back-off several times over.
pub const GRACE_PERIOD_SECONDS: i64 = 600;

/// Longest ballot option label, in characters: it must fit on a TV button.
pub const MAX_OPTION_LABEL: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotOption {
    /// Stable identifier used on the wire and in the database, e.g. `approve` or `b`.
    pub key: String,
    /// What households see, e.g. 赞成.
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    pub options: Vec<BallotOption>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BallotError {
    #[error("a ballot has 2 to 6 named options; this one has {0}")]
    OptionCount(usize),
    #[error("ballot option {index} has an empty label")]
    EmptyLabel { index: usize },
    #[error("ballot option {index} label is longer than {MAX_OPTION_LABEL} characters")]
    LabelTooLong { index: usize },
    #[error("ballot option label {0:?} appears twice")]
    DuplicateLabel(String),
    #[error("voting window closes at {closes} before it opens at {opens}")]
    EmptyWindow { opens: Timestamp, closes: Timestamp },
}

impl Ballot {
    /// The default ballot: 赞成 / 反对 / 弃权.
    pub fn approve_oppose_abstain() -> Ballot {
        let option = |key: &str, label: &str| BallotOption {
            key: key.into(),
            label: label.into(),
        };
        Ballot {
            options: vec![
                option("approve", "赞成"),
                option("oppose", "反对"),
                option("abstain", "弃权"),
            ],
        }
    }

    /// A ballot of 2 to 6 named options, keyed `a`, `b`, ... in the order given.
    pub fn named<S: AsRef<str>>(labels: &[S]) -> Result<Ballot, BallotError> {
        if !(2..=6).contains(&labels.len()) {
            return Err(BallotError::OptionCount(labels.len()));
        }
        let mut options: Vec<BallotOption> = Vec::new();
        for (index, label) in labels.iter().enumerate() {
            let label = label.as_ref().trim();
            if label.is_empty() {
                return Err(BallotError::EmptyLabel { index });
            }
            if label.chars().count() > MAX_OPTION_LABEL {
                return Err(BallotError::LabelTooLong { index });
            }
            if options.iter().any(|o| o.label == label) {
                return Err(BallotError::DuplicateLabel(label.into()));
            }
            let key = char::from(b'a' + index as u8).to_string();
            options.push(BallotOption {
                key,
                label: label.into(),
            });
        }
        Ok(Ballot { options })
    }

    /// Checks a ballot read from outside (a fixture, an API body, the database).
    pub fn check(&self) -> Result<(), BallotError> {
        if *self == Ballot::approve_oppose_abstain() {
            return Ok(());
        }
        let labels: Vec<&str> = self.options.iter().map(|o| o.label.as_str()).collect();
        let rebuilt = Ballot::named(&labels)?;
        if rebuilt
            .options
            .iter()
            .zip(&self.options)
            .any(|(a, b)| a.key != b.key)
        {
            return Err(BallotError::OptionCount(self.options.len()));
        }
        Ok(())
    }

    pub fn position(&self, key: &str) -> Option<usize> {
        self.options.iter().position(|o| o.key == key)
    }
}

/// When households may vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotingWindow {
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
}

impl VotingWindow {
    pub fn new(opens_at: Timestamp, closes_at: Timestamp) -> Result<VotingWindow, BallotError> {
        if closes_at <= opens_at {
            return Err(BallotError::EmptyWindow {
                opens: opens_at,
                closes: closes_at,
            });
        }
        Ok(VotingWindow {
            opens_at,
            closes_at,
        })
    }
}

/// Who may vote and comment on a topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EligibleArea {
    /// Every grid of the room's community.
    Community { community: CommunityId },
    /// Chosen grids of the room's community.
    Grids {
        community: CommunityId,
        grids: Vec<GridId>,
    },
    /// For a town room: the chosen communities of the town.
    Communities {
        town: TownId,
        communities: Vec<CommunityId>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AreaError {
    #[error("the eligible area names no grids or communities")]
    Empty,
    #[error("grid {grid} is not in community {community}")]
    GridOutside {
        grid: GridId,
        community: CommunityId,
    },
    #[error("community {community} is not in town {town}")]
    CommunityOutside {
        community: CommunityId,
        town: TownId,
    },
    #[error("a community room's topic must be voted on in its own community or grids of it")]
    WrongLevelForCommunityRoom,
    #[error("a town room's topic must be voted on in communities of its town")]
    WrongLevelForTownRoom,
    #[error("the eligible area's {0} is not the room's")]
    NotTheRoomsPlace(String),
}

impl EligibleArea {
    pub fn contains(&self, place: &HouseholdPlace) -> bool {
        match self {
            EligibleArea::Community { community } => place.community == *community,
            EligibleArea::Grids { community, grids } => {
                place.community == *community && grids.contains(&place.grid)
            }
            EligibleArea::Communities { town, communities } => {
                place.town == *town && communities.contains(&place.community)
            }
        }
    }

    /// Checks that the area fits the room: a community room's topics reach its community or
    /// grids of it; a town room's reach communities of its town. The lookups say where a grid or
    /// community belongs (`None` when it does not exist).
    pub fn check_for_room(
        &self,
        level: RoomLevel,
        community_of_grid: impl Fn(GridId) -> Option<CommunityId>,
        town_of_community: impl Fn(CommunityId) -> Option<TownId>,
    ) -> Result<(), AreaError> {
        match (self, level) {
            (EligibleArea::Community { community }, RoomLevel::Community(room)) => {
                if *community != room {
                    return Err(AreaError::NotTheRoomsPlace(format!(
                        "community {community}"
                    )));
                }
            }
            (EligibleArea::Grids { community, grids }, RoomLevel::Community(room)) => {
                if *community != room {
                    return Err(AreaError::NotTheRoomsPlace(format!(
                        "community {community}"
                    )));
                }
                if grids.is_empty() {
                    return Err(AreaError::Empty);
                }
                for grid in grids {
                    if community_of_grid(*grid) != Some(*community) {
                        return Err(AreaError::GridOutside {
                            grid: *grid,
                            community: *community,
                        });
                    }
                }
            }
            (EligibleArea::Communities { town, communities }, RoomLevel::Town(room)) => {
                if *town != room {
                    return Err(AreaError::NotTheRoomsPlace(format!("town {town}")));
                }
                if communities.is_empty() {
                    return Err(AreaError::Empty);
                }
                for community in communities {
                    if town_of_community(*community) != Some(*town) {
                        return Err(AreaError::CommunityOutside {
                            community: *community,
                            town: *town,
                        });
                    }
                }
            }
            (_, RoomLevel::Community(_)) => return Err(AreaError::WrongLevelForCommunityRoom),
            (_, RoomLevel::Town(_)) => return Err(AreaError::WrongLevelForTownRoom),
        }
        Ok(())
    }
}

/// Why a vote or a comment is not accepted. Each has a stable identifier, used as the
/// return channel's reason code.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("the household is not in the topic's eligible area")]
    NotEligible,
    #[error("the topic is {0}, not open for votes and comments")]
    TopicClosed(Stage),
    #[error("voting has not opened yet")]
    NotYetOpen,
    #[error("the vote was cast after voting closed")]
    CastAfterClose,
    #[error("the vote arrived after the grace period following the close")]
    PastGracePeriod,
    #[error("the ballot has no option {0:?}")]
    UnknownOption(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotEligible => "not_eligible",
            Refusal::TopicClosed(_) => "topic_closed",
            Refusal::NotYetOpen => "not_yet_open",
            Refusal::CastAfterClose => "cast_after_close",
            Refusal::PastGracePeriod => "past_grace_period",
            Refusal::UnknownOption(_) => "unknown_option",
        }
    }
}

/// Decides whether a household's message about a topic may count: the topic is in
/// consultation, the household is in the area, and the time rules hold. `sent_at` is when the
/// box signed it, `received_at` when the headend got it.
pub fn check_participation(
    topic: &Topic,
    place: &HouseholdPlace,
    sent_at: Timestamp,
    received_at: Timestamp,
) -> Result<(), Refusal> {
    if !topic.eligible.contains(place) {
        return Err(Refusal::NotEligible);
    }
    if !topic.stage.is_open_for_votes() {
        return Err(Refusal::TopicClosed(topic.stage));
    }
    let Some(window) = topic.voting else {
        return Err(Refusal::TopicClosed(topic.stage));
    };
    if sent_at < window.opens_at {
        return Err(Refusal::NotYetOpen);
    }
    if sent_at >= window.closes_at {
        return Err(Refusal::CastAfterClose);
    }
    if received_at > window.closes_at.plus_seconds(GRACE_PERIOD_SECONDS) {
        return Err(Refusal::PastGracePeriod);
    }
    Ok(())
}

/// Checks a vote: participation rules plus an option the ballot has.
pub fn check_vote(
    topic: &Topic,
    place: &HouseholdPlace,
    option: &str,
    sent_at: Timestamp,
    received_at: Timestamp,
) -> Result<(), Refusal> {
    check_participation(topic, place, sent_at, received_at)?;
    if topic.ballot.position(option).is_none() {
        return Err(Refusal::UnknownOption(option.chars().take(40).collect()));
    }
    Ok(())
}

/// Which of two votes of one household counts: the later cast one; on a tie, the one that
/// arrived later (a larger arrival number).
pub fn supersedes(new: (Timestamp, i64), old: (Timestamp, i64)) -> bool {
    new > old
}

/// Counts per ballot option, overall and per grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub options: Vec<OptionCount>,
    pub by_grid: Vec<GridCount>,
    /// Households whose vote counts.
    pub voters: u64,
    /// Households in the eligible area.
    pub eligible_households: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionCount {
    pub key: String,
    pub label: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridCount {
    pub grid: GridId,
    /// One count per ballot option, in ballot order.
    pub counts: Vec<u64>,
    pub voters: u64,
}

impl Tally {
    /// Counts current votes given as (grid, option key). Votes for options the ballot lacks are
    /// an error of the caller's data, reported rather than dropped.
    pub fn count<'a>(
        ballot: &Ballot,
        votes: impl IntoIterator<Item = (GridId, &'a str)>,
        eligible_households: u64,
    ) -> Result<Tally, Refusal> {
        let width = ballot.options.len();
        let mut overall = vec![0u64; width];
        let mut by_grid: BTreeMap<GridId, Vec<u64>> = BTreeMap::new();
        for (grid, key) in votes {
            let index = ballot
                .position(key)
                .ok_or_else(|| Refusal::UnknownOption(key.into()))?;
            overall[index] += 1;
            by_grid.entry(grid).or_insert_with(|| vec![0; width])[index] += 1;
        }
        Ok(Tally::from_counts(
            ballot,
            overall,
            by_grid,
            eligible_households,
        ))
    }

    /// Builds a tally from counts already kept per grid (the store keeps them so that tallies
    /// never need a scan of all votes).
    pub fn from_counts(
        ballot: &Ballot,
        overall: Vec<u64>,
        by_grid: BTreeMap<GridId, Vec<u64>>,
        eligible_households: u64,
    ) -> Tally {
        let options = ballot
            .options
            .iter()
            .zip(overall.iter().chain(std::iter::repeat(&0)))
            .map(|(o, count)| OptionCount {
                key: o.key.clone(),
                label: o.label.clone(),
                count: *count,
            })
            .collect::<Vec<_>>();
        let voters = options.iter().map(|o| o.count).sum();
        let by_grid = by_grid
            .into_iter()
            .map(|(grid, counts)| GridCount {
                grid,
                voters: counts.iter().sum(),
                counts,
            })
            .collect();
        Tally {
            options,
            by_grid,
            voters,
            eligible_households,
        }
    }

    /// Turnout in percent, one decimal.
    pub fn turnout_percent(&self) -> f64 {
        if self.eligible_households == 0 {
            return 0.0;
        }
        (self.voters as f64 * 1000.0 / self.eligible_households as f64).round() / 10.0
    }
}

/// Fewest voters a group may have to be shown on its own: below it, a group's choice could be
/// read off a chart.
pub const MIN_GROUP: u64 = 5;

/// One line of participation by grid, safe to publish.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupParticipation {
    /// The grid's name; `其余网格` for the merged small ones, or `全部网格` when every grid was
    /// too small to show on its own.
    pub label: String,
    pub voted: u64,
    pub households: u64,
}

impl GroupParticipation {
    pub fn percent(&self) -> f64 {
        if self.households == 0 {
            0.0
        } else {
            (self.voted as f64 * 1000.0 / self.households as f64).round() / 10.0
        }
    }
}

/// Participation by grid without exposing small groups: grids (of `grids`, each with its name
/// and household count, in display order) with at least [`MIN_GROUP`] voters are listed; the
/// others, and voters of grids not in `grids`, are merged into one line, shown only if it too
/// reaches [`MIN_GROUP`]. The flag says whether anything was merged or withheld.
pub fn participation_by_grid(
    tally: &Tally,
    grids: &[(GridId, String, u64)],
) -> (Vec<GroupParticipation>, bool) {
    let voted: BTreeMap<GridId, u64> = tally.by_grid.iter().map(|g| (g.grid, g.voters)).collect();
    let mut lines = Vec::new();
    let (mut merged_voted, mut merged_households) = (0u64, 0u64);
    let mut withheld = false;
    for (grid, name, households) in grids {
        let v = voted.get(grid).copied().unwrap_or(0);
        if v >= MIN_GROUP {
            lines.push(GroupParticipation {
                label: name.clone(),
                voted: v,
                households: *households,
            });
        } else {
            withheld |= v > 0;
            merged_voted += v;
            merged_households += households;
        }
    }
    let listed: u64 = grids.iter().map(|(_, _, n)| *n).sum();
    let elsewhere: u64 = tally
        .by_grid
        .iter()
        .filter(|g| !grids.iter().any(|(id, _, _)| *id == g.grid))
        .map(|g| g.voters)
        .sum();
    if elsewhere > 0 {
        withheld = true;
        merged_voted += elsewhere;
        merged_households += tally.eligible_households.saturating_sub(listed);
    }
    if merged_voted >= MIN_GROUP {
        lines.push(GroupParticipation {
            label: if lines.is_empty() {
                "全部网格"
            } else {
                "其余网格"
            }
            .into(),
            voted: merged_voted,
            households: merged_households.max(merged_voted),
        });
    }
    (lines, withheld)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::HouseholdId;

    fn place(grid: i64, community: i64) -> HouseholdPlace {
        HouseholdPlace {
            household: HouseholdId(1),
            grid: GridId(grid),
            community: CommunityId(community),
            town: TownId(1),
        }
    }

    fn window() -> VotingWindow {
        VotingWindow {
            opens_at: Timestamp(1000),
            closes_at: Timestamp(2000),
        }
    }

    #[test]
    fn named_ballots_have_two_to_six_options() {
        assert_eq!(Ballot::named(&["甲"]), Err(BallotError::OptionCount(1)));
        assert!(Ballot::named(&["a", "b", "c", "d", "e", "f", "g"]).is_err());
        let ballot = Ballot::named(&["东侧停车", "西侧停车"])
            .unwrap_or_else(|_| Ballot::approve_oppose_abstain());
        assert_eq!(ballot.options[1].key, "b");
        assert!(ballot.check().is_ok());
        assert!(Ballot::approve_oppose_abstain().check().is_ok());
        assert_eq!(
            Ballot::named(&["同", "同"]),
            Err(BallotError::DuplicateLabel("同".into()))
        );
    }

    fn topic(stage: Stage) -> Topic {
        Topic {
            id: crate::ids::TopicId(1),
            room: crate::ids::RoomId(1),
            title: "t".into(),
            summary: "s".into(),
            category: crate::topic::Category::Other,
            eligible: EligibleArea::Grids {
                community: CommunityId(7),
                grids: vec![GridId(70)],
            },
            ballot: Ballot::approve_oppose_abstain(),
            stage,
            proposed_at: Timestamp(0),
            session: None,
            voting: Some(window()),
            consensus: None,
            progress: None,
            feedback: None,
        }
    }

    #[test]
    fn only_eligible_households_vote_in_the_window() {
        let check = |p: &HouseholdPlace, sent: i64, received: i64, stage: Stage, option: &str| {
            check_vote(
                &topic(stage),
                p,
                option,
                Timestamp(sent),
                Timestamp(received),
            )
        };
        let inside = place(70, 7);
        assert_eq!(
            check(&inside, 1500, 1500, Stage::Consultation, "approve"),
            Ok(())
        );
        assert_eq!(
            check(&place(71, 7), 1500, 1500, Stage::Consultation, "approve"),
            Err(Refusal::NotEligible)
        );
        assert_eq!(
            check(&inside, 1500, 1500, Stage::Research, "approve"),
            Err(Refusal::TopicClosed(Stage::Research))
        );
        assert_eq!(
            check(&inside, 999, 1500, Stage::Consultation, "approve"),
            Err(Refusal::NotYetOpen)
        );
        assert_eq!(
            check(&inside, 2000, 2000, Stage::Consultation, "approve"),
            Err(Refusal::CastAfterClose)
        );
        // Signed before the close, delayed: accepted within the grace period, refused after.
        assert_eq!(
            check(
                &inside,
                1999,
                2000 + GRACE_PERIOD_SECONDS,
                Stage::Consultation,
                "approve"
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &inside,
                1999,
                2001 + GRACE_PERIOD_SECONDS,
                Stage::Consultation,
                "approve"
            ),
            Err(Refusal::PastGracePeriod)
        );
        assert_eq!(
            check(&inside, 1500, 1500, Stage::Consultation, "maybe"),
            Err(Refusal::UnknownOption("maybe".into()))
        );
    }

    #[test]
    fn latest_vote_wins() {
        assert!(supersedes((Timestamp(10), 1), (Timestamp(9), 5)));
        assert!(!supersedes((Timestamp(9), 6), (Timestamp(10), 1)));
        assert!(supersedes((Timestamp(10), 2), (Timestamp(10), 1)));
    }

    #[test]
    fn tally_counts_overall_and_per_grid() {
        let ballot = Ballot::approve_oppose_abstain();
        let votes = [
            (GridId(1), "approve"),
            (GridId(1), "oppose"),
            (GridId(2), "approve"),
        ];
        let tally = Tally::count(&ballot, votes, 10)
            .unwrap_or_else(|_| Tally::from_counts(&ballot, vec![], BTreeMap::new(), 0));
        assert_eq!(tally.options[0].count, 2);
        assert_eq!(tally.options[1].count, 1);
        assert_eq!(tally.voters, 3);
        assert_eq!(tally.by_grid.len(), 2);
        assert_eq!(tally.by_grid[0].counts, vec![1, 1, 0]);
        assert_eq!(tally.turnout_percent(), 30.0);
        assert!(Tally::count(&ballot, [(GridId(1), "x")], 1).is_err());
    }

    #[test]
    fn small_grids_are_merged_or_hidden() {
        let ballot = Ballot::approve_oppose_abstain();
        let mut votes = vec![(GridId(1), "approve"); 6];
        votes.extend(vec![(GridId(2), "oppose"); 3]);
        votes.extend(vec![(GridId(3), "oppose"); 1]);
        let tally = Tally::count(&ballot, votes.iter().map(|(g, o)| (*g, *o)), 40)
            .unwrap_or_else(|_| Tally::from_counts(&ballot, vec![], BTreeMap::new(), 0));
        let grids = vec![
            (GridId(1), "一".to_string(), 10),
            (GridId(2), "二".to_string(), 10),
            (GridId(3), "三".to_string(), 10),
        ];
        let (lines, withheld) = participation_by_grid(&tally, &grids);
        assert!(withheld);
        // Grid 1 alone; grids 2 and 3 (3 + 1 voters) merge into 4, still too few to show.
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].label, "一");
        assert_eq!(lines[0].percent(), 60.0);
        let mut more = votes.clone();
        more.push((GridId(3), "approve"));
        let tally = Tally::count(&ballot, more.iter().map(|(g, o)| (*g, *o)), 40)
            .unwrap_or_else(|_| Tally::from_counts(&ballot, vec![], BTreeMap::new(), 0));
        let (lines, _) = participation_by_grid(&tally, &grids);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].voted, 5);
        assert_eq!(lines[1].label, "其余网格");
        assert_eq!(lines[1].households, 20);
    }

    #[test]
    fn area_must_fit_the_room() {
        let area = EligibleArea::Grids {
            community: CommunityId(7),
            grids: vec![GridId(70), GridId(99)],
        };
        let grid_home = |g: GridId| {
            if g.0 / 10 == 7 {
                Some(CommunityId(7))
            } else {
                None
            }
        };
        let town_of = |_c: CommunityId| Some(TownId(1));
        assert_eq!(
            area.check_for_room(RoomLevel::Community(CommunityId(7)), grid_home, town_of),
            Err(AreaError::GridOutside {
                grid: GridId(99),
                community: CommunityId(7)
            })
        );
        let town_area = EligibleArea::Communities {
            town: TownId(1),
            communities: vec![CommunityId(7)],
        };
        assert_eq!(
            town_area.check_for_room(RoomLevel::Community(CommunityId(7)), grid_home, town_of),
            Err(AreaError::WrongLevelForCommunityRoom)
        );
        assert!(
            town_area
                .check_for_room(RoomLevel::Town(TownId(1)), grid_home, town_of)
                .is_ok()
        );
    }
}
