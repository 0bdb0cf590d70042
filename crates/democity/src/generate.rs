//! Generates the demo city from the fixture, a seed and an anchor time ("now" for the demo).

use crate::fixture::{Fixture, TopicTemplate};
use crate::random::SplitMix64;
use consult::comment::Decision;
use consult::ids::{CardId, CommunityId, DistrictId, GridId, HouseholdId, RoomId, TownId};
use consult::place::{
    Address, Community, CommunityKind, District, Grid, Household, SetTopBox, Town, TownKind,
};
use consult::procedure::{Stage, Step};
use consult::record::{Actor, ActorRole, Fact};
use consult::room::{Convener, Participant, ParticipantRole, Room, RoomLevel};
use consult::time::Timestamp;
use consult::topic::{Category, Session, StepDetails, TopicDraft};
use consult::vote::{EligibleArea, VotingWindow};

/// One room per town or subdistrict and one per village or community: 1,301 in Wuxi.
pub const TOTAL_ROOMS: usize = 1301;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub households_per_community: u32,
    /// "Now" for the demo: topics in consultation are open for votes around it, everything else
    /// happened before it.
    pub anchor: Timestamp,
    /// Voters a demo topic gets at most, so that large cities load in reasonable time.
    pub max_voters_per_topic: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 2020,
            households_per_community: 60,
            // 2026-11-27T09:00:00+08:00
            anchor: Timestamp(1_795_741_200),
            max_voters_per_topic: 300,
        }
    }
}

/// A thing the generator makes, parents always before children.
#[derive(Clone, Debug)]
pub enum CityItem {
    District(District),
    Town(Town),
    Community(Community),
    Grid(Grid),
    Household(Household),
    SetTopBox(SetTopBox),
    Room(Room),
    Topic(Box<TopicScript>),
    /// A notice of the community emitted last.
    Notice(NoticeScript),
}

/// A grid worker's notice. Updates and cancellations name the notice they change by its place
/// among the same community's notices, since ids are the store's to give.
#[derive(Clone, Debug)]
pub struct NoticeScript {
    pub draft: consult::notice::NoticeDraft,
    /// The grid worker, who may write to `worker_grids`.
    pub author: String,
    pub worker_grids: Vec<GridId>,
    pub sent_at: Timestamp,
    /// For an update or a cancellation: the index of the notice it changes among this
    /// community's notices.
    pub references: Option<usize>,
}

/// A demo topic's life: its proposal and what happened to it since, in order.
#[derive(Clone, Debug)]
pub struct TopicScript {
    pub draft: TopicDraft,
    pub proposed_at: Timestamp,
    pub convener: Actor,
    pub actions: Vec<ScriptAction>,
}

#[derive(Clone, Debug)]
pub enum ScriptAction {
    /// A step through the procedure; for `draft_consensus` the store freezes the current tally.
    Step {
        step: Step,
        at: Timestamp,
        actor: Actor,
        note: String,
        details: StepDetails,
    },
    Fact {
        at: Timestamp,
        actor: Actor,
        fact: Fact,
    },
    Vote {
        card: CardId,
        option: String,
        at: Timestamp,
    },
    Comment {
        card: CardId,
        text: String,
        at: Timestamp,
        /// The moderator's decision, its time and the moderator, or none while still pending.
        decision: Option<(Decision, Timestamp, Actor)>,
    },
}

/// Generates the city, handing each item to `emit` in order. Stops at the first error `emit`
/// returns.
pub fn generate<E>(
    fixture: &Fixture,
    config: &Config,
    emit: &mut dyn FnMut(CityItem) -> Result<(), E>,
) -> Result<(), E> {
    let mut g = Generator {
        fixture,
        config,
        rng: SplitMix64::new(config.seed),
        next_district: 1,
        next_town: 1,
        next_community: 1,
        next_grid: 1,
        next_household: 1,
        next_card: 1,
        next_room: 1,
        topic_counter: 0,
    };
    g.run(emit)
}

struct Generator<'a> {
    fixture: &'a Fixture,
    config: &'a Config,
    rng: SplitMix64,
    next_district: i64,
    next_town: i64,
    next_community: i64,
    next_grid: i64,
    next_household: i64,
    next_card: u64,
    next_room: i64,
    topic_counter: usize,
}

/// A community's households as voters: one card and the grid of each household.
struct Voters {
    community: CommunityId,
    name: String,
    cards: Vec<(CardId, GridId)>,
    grids: Vec<GridId>,
}

/// The stages demo topics cycle through, so every (category, stage) pair appears.
const STAGES: [Stage; 13] = Stage::ALL;

impl Generator<'_> {
    fn run<E>(&mut self, emit: &mut dyn FnMut(CityItem) -> Result<(), E>) -> Result<(), E> {
        let towns_total = self.fixture.town_count();
        let communities_total = TOTAL_ROOMS - towns_total;
        let per_town = self.distribute(communities_total, towns_total);
        let mut town_index = 0;
        for district in &self.fixture.districts {
            let district_id = DistrictId(self.next_district);
            self.next_district += 1;
            emit(CityItem::District(District {
                id: district_id,
                name: district.name.clone(),
                kind: district.kind,
            }))?;
            for town_name in &district.towns {
                let town = Town {
                    id: TownId(self.next_town),
                    district: district_id,
                    name: town_name.clone(),
                    kind: TownKind::from_name(town_name),
                };
                self.next_town += 1;
                emit(CityItem::Town(town.clone()))?;
                let town_room = self.room(RoomLevel::Town(town.id), town_name, "town");
                emit(CityItem::Room(town_room.clone()))?;
                let mut kept: Vec<Voters> = Vec::new();
                let names = self.community_names(&town, per_town[town_index]);
                town_index += 1;
                for (name, kind) in names {
                    let voters = self.community(&town, name, kind, emit)?;
                    if kept.len() < 3 {
                        kept.push(voters);
                    }
                }
                // The town room consults on a matter spanning some of its communities.
                if !kept.is_empty() {
                    let overseer = format!("{}党工委", town.name);
                    let area = EligibleArea::Communities {
                        town: town.id,
                        communities: kept.iter().map(|v| v.community).collect(),
                    };
                    let cards: Vec<(CardId, GridId)> =
                        kept.iter().flat_map(|v| v.cards.iter().cloned()).collect();
                    let stage = self.next_stage();
                    let category = self.next_category();
                    let script = self.topic(
                        &town_room, &town.name, &overseer, area, &cards, stage, category,
                    );
                    emit(CityItem::Topic(Box::new(script)))?;
                }
            }
        }
        Ok(())
    }

    /// Splits `total` communities among `towns` towns, each getting 6 to 20 shares' worth,
    /// summing exactly to `total` (largest remainder).
    fn distribute(&mut self, total: usize, towns: usize) -> Vec<usize> {
        let weights: Vec<u64> = (0..towns).map(|_| self.rng.range(6, 20)).collect();
        let sum: u64 = weights.iter().sum::<u64>().max(1);
        let mut counts: Vec<usize> = weights
            .iter()
            .map(|w| (*w as usize * total) / sum as usize)
            .collect();
        let mut remainders: Vec<(u64, usize)> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| ((*w * total as u64) % sum, i))
            .collect();
        remainders.sort_by(|a, b| b.cmp(a));
        let mut missing = total.saturating_sub(counts.iter().sum());
        for (_, i) in remainders.iter().cycle() {
            if missing == 0 {
                break;
            }
            counts[*i] += 1;
            missing -= 1;
        }
        counts
    }

    fn community_names(&mut self, town: &Town, count: usize) -> Vec<(String, CommunityKind)> {
        let mut names: Vec<(String, CommunityKind)> = Vec::with_capacity(count);
        let suffixes = ["社区", "新村社区", "花园社区", "苑社区", "里社区"];
        let mut attempt = 0u64;
        while names.len() < count {
            attempt += 1;
            let village = town.kind == TownKind::Town && self.rng.chance(0.6);
            let (name, kind) = if village {
                let word = self
                    .rng
                    .pick(&self.fixture.village_words)
                    .cloned()
                    .unwrap_or_default();
                (format!("{word}村"), CommunityKind::Village)
            } else {
                let word = self
                    .rng
                    .pick(&self.fixture.community_words)
                    .cloned()
                    .unwrap_or_default();
                let suffix = suffixes[self.rng.range(0, suffixes.len() as u64 - 1) as usize];
                (format!("{word}{suffix}"), CommunityKind::Community)
            };
            let name = if attempt > 2000 {
                format!("{name}{}", names.len() + 1)
            } else {
                name
            };
            if !names.iter().any(|(n, _)| *n == name) {
                names.push((name, kind));
            }
        }
        names
    }

    fn person(&mut self) -> String {
        let surnames: Vec<char> = self.fixture.surnames.chars().collect();
        let surname = self.rng.pick(&surnames).copied().unwrap_or('王');
        let given = self
            .rng
            .pick(&self.fixture.given_names)
            .cloned()
            .unwrap_or_default();
        format!("{surname}{given}")
    }

    fn room(&mut self, level: RoomLevel, place: &str, kind: &str) -> Room {
        let offices = match kind {
            "town" => &self.fixture.offices.town,
            "village" => &self.fixture.offices.village,
            _ => &self.fixture.offices.community,
        };
        let office = self.rng.pick(offices).cloned().unwrap_or_default();
        let convener = Convener {
            name: self.person(),
            office,
        };
        let mut participants = Vec::new();
        for role in ParticipantRole::ALL {
            let n = self.rng.range(1, 3);
            for _ in 0..n {
                let affiliation = self
                    .fixture
                    .affiliations
                    .get(role.as_str())
                    .and_then(|list| self.rng.pick(list).cloned())
                    .unwrap_or_default();
                participants.push(Participant {
                    name: self.person(),
                    role,
                    affiliation,
                });
            }
        }
        let room = Room {
            id: RoomId(self.next_room),
            level,
            name: format!("{place}“有事好商量”协商议事室"),
            convener,
            participants,
        };
        self.next_room += 1;
        room
    }

    fn community<E>(
        &mut self,
        town: &Town,
        name: String,
        kind: CommunityKind,
        emit: &mut dyn FnMut(CityItem) -> Result<(), E>,
    ) -> Result<Voters, E> {
        let community = Community {
            id: CommunityId(self.next_community),
            town: town.id,
            name: name.clone(),
            kind,
        };
        self.next_community += 1;
        emit(CityItem::Community(community.clone()))?;
        let grid_count = self.rng.range(4, 12) as usize;
        let mut grids = Vec::with_capacity(grid_count);
        let mut grid_workers = Vec::with_capacity(grid_count);
        for n in 1..=grid_count {
            let grid = Grid {
                id: GridId(self.next_grid),
                community: community.id,
                name: format!("第{n}网格"),
                worker: self.person(),
            };
            self.next_grid += 1;
            grids.push(grid.id);
            grid_workers.push((grid.id, grid.worker.clone()));
            emit(CityItem::Grid(grid))?;
        }
        let total = self.config.households_per_community as usize;
        let mut cards = Vec::with_capacity(total);
        let mut building = 0u16;
        for (g, grid) in grids.iter().enumerate() {
            let quota = total / grid_count + usize::from(g < total % grid_count);
            let mut made = 0;
            'buildings: while made < quota {
                building = building.saturating_add(1);
                for unit in 1..=2u16 {
                    for floor in 1..=6u16 {
                        for door in 1..=2u16 {
                            if made == quota {
                                break 'buildings;
                            }
                            let household = Household {
                                id: HouseholdId(self.next_household),
                                grid: *grid,
                                address: Address::new(building.max(1), unit, floor * 100 + door)
                                    .unwrap_or(Address {
                                        building: 1,
                                        unit,
                                        room: floor * 100 + door,
                                    }),
                            };
                            self.next_household += 1;
                            let boxes = if self.rng.chance(0.15) { 2 } else { 1 };
                            let household_id = household.id;
                            emit(CityItem::Household(household))?;
                            for b in 0..boxes {
                                let card = CardId::parse(&format!("8610{:012}", self.next_card))
                                    .unwrap_or_else(|_| unreachable_card());
                                self.next_card += 1;
                                if b == 0 {
                                    cards.push((card.clone(), *grid));
                                }
                                emit(CityItem::SetTopBox(SetTopBox {
                                    card,
                                    household: household_id,
                                }))?;
                            }
                            made += 1;
                        }
                    }
                }
            }
        }
        let room = self.room(RoomLevel::Community(community.id), &name, kind.as_str());
        emit(CityItem::Room(room.clone()))?;
        let voters = Voters {
            community: community.id,
            name: name.clone(),
            cards,
            grids,
        };
        let overseer = format!("{name}党组织");
        // Every community has one topic open for votes now, and one or two more at any stage.
        let extra = self.rng.range(1, 2) as usize;
        for i in 0..=extra {
            let stage = if i == 0 {
                Stage::Consultation
            } else {
                self.next_stage()
            };
            let category = if i == 0 {
                Category::ALL[(community.id.0 as usize) % Category::ALL.len()]
            } else {
                self.next_category()
            };
            let area = if self.rng.chance(0.25) && voters.grids.len() >= 2 {
                EligibleArea::Grids {
                    community: community.id,
                    grids: voters.grids[..voters.grids.len() / 2].to_vec(),
                }
            } else {
                EligibleArea::Community {
                    community: community.id,
                }
            };
            let cards: Vec<(CardId, GridId)> = match &area {
                EligibleArea::Grids { grids, .. } => voters
                    .cards
                    .iter()
                    .filter(|(_, g)| grids.contains(g))
                    .cloned()
                    .collect(),
                _ => voters.cards.clone(),
            };
            let script = self.topic(
                &room,
                &voters.name,
                &overseer,
                area,
                &cards,
                stage,
                category,
            );
            emit(CityItem::Topic(Box::new(script)))?;
        }
        for notice in self.notices(&community, &grid_workers) {
            emit(CityItem::Notice(notice))?;
        }
        Ok(voters)
    }

    /// One to three notices from the community's grid workers, now and then updated or
    /// cancelled.
    fn notices(
        &mut self,
        community: &Community,
        workers: &[(GridId, String)],
    ) -> Vec<NoticeScript> {
        use consult::notice::{MessageType, NoticeDraft};
        let anchor = self.config.anchor.0;
        let count = self.rng.range(1, 3) as usize;
        let mut out: Vec<NoticeScript> = Vec::new();
        for _ in 0..count {
            let Some(template) = self.rng.pick(&self.fixture.notices).cloned() else {
                break;
            };
            let Some((grid, worker)) = self.rng.pick(workers).cloned() else {
                break;
            };
            let building = self.rng.range(1, 30).to_string();
            let sent_at = anchor - self.rng.range(1, 36) as i64 * HOUR;
            out.push(NoticeScript {
                draft: NoticeDraft {
                    community: community.id,
                    grids: vec![grid],
                    title: template.title.replace("{building}", &building),
                    body: template.body.replace("{building}", &building),
                    urgency: template.urgency,
                    message_type: MessageType::Alert,
                    references: None,
                    valid_from: Timestamp(sent_at),
                    valid_until: Timestamp(sent_at + i64::from(template.hours) * HOUR),
                },
                author: worker,
                worker_grids: vec![grid],
                sent_at: Timestamp(sent_at),
                references: None,
            });
        }
        // Now and then the first notice is updated, or withdrawn.
        if let Some(first) = out.first().cloned() {
            let message_type = match self.rng.range(0, 19) {
                0 | 1 => Some(MessageType::Update),
                2 => Some(MessageType::Cancel),
                _ => None,
            };
            if let Some(message_type) = message_type {
                let sent_at = first.sent_at.plus_seconds(HOUR / 2);
                let prefix = if message_type == MessageType::Update {
                    "（更新）"
                } else {
                    "（取消）"
                };
                let title = format!("{prefix}{}", first.draft.title)
                    .chars()
                    .take(consult::notice::MAX_TITLE_CHARS)
                    .collect();
                out.push(NoticeScript {
                    draft: NoticeDraft {
                        title,
                        message_type,
                        valid_from: sent_at,
                        ..first.draft.clone()
                    },
                    sent_at,
                    references: Some(0),
                    ..first
                });
            }
        }
        out
    }

    fn next_stage(&mut self) -> Stage {
        STAGES[self.topic_counter % STAGES.len()]
    }

    /// Advances the cycle: stages turn fastest, categories once per full turn of stages.
    fn next_category(&mut self) -> Category {
        let category = Category::ALL[(self.topic_counter / STAGES.len()) % Category::ALL.len()];
        self.topic_counter += 1;
        category
    }

    #[allow(clippy::too_many_arguments)]
    fn topic(
        &mut self,
        room: &Room,
        place: &str,
        overseer: &str,
        area: EligibleArea,
        cards: &[(CardId, GridId)],
        stage: Stage,
        category: Category,
    ) -> TopicScript {
        let templates: Vec<&TopicTemplate> = self
            .fixture
            .topics
            .iter()
            .filter(|t| t.category == category)
            .collect();
        let template = match self.rng.pick(&templates) {
            Some(t) => (*t).clone(),
            None => self.fixture.topics[0].clone(),
        };
        let building = self.rng.range(1, 30).to_string();
        let fill = |text: &str| {
            text.replace("{community}", place)
                .replace("{building}", &building)
        };
        let convener = Actor {
            role: ActorRole::Convener,
            name: format!("{}（{}）", room.convener.name, room.convener.office),
        };
        let overseer = Actor {
            role: ActorRole::Overseer,
            name: overseer.to_owned(),
        };
        let moderator = Actor {
            role: ActorRole::Moderator,
            name: format!("{place}信息审核员"),
        };
        let anchor = self.config.anchor.0;
        let path = path_to(stage);
        let live = stage == Stage::Consultation;
        // Steps are about eight days apart and the last one lands before the anchor; a topic in
        // consultation opened two days ago and stays open for twelve more.
        let mut t = anchor - (path.len() as i64 + 2) * 8 * DAY - self.rng.range(0, 6) as i64 * DAY;
        if live {
            t = anchor - 2 * DAY - (path.len() as i64) * 8 * DAY;
        }
        let proposed_at = Timestamp(t);
        let mut actions = Vec::new();
        for step in path {
            t += if step == Step::OpenConsultation && live {
                anchor - 2 * DAY - t
            } else {
                8 * DAY
            };
            let (actor, note) = match step.role() {
                consult::procedure::Role::Overseer => (overseer.clone(), overseer_note(step)),
                consult::procedure::Role::Convener => (convener.clone(), convener_note(step)),
            };
            let mut details = StepDetails::default();
            match step {
                Step::OpenConsultation => {
                    let closes = if live { anchor + 12 * DAY } else { t + 7 * DAY };
                    let session_place = self
                        .rng
                        .pick(&self.fixture.session_places)
                        .cloned()
                        .unwrap_or_default();
                    details.session = Some(Session {
                        starts_at: Timestamp(t + 3 * DAY + 10 * HOUR - (t % DAY)),
                        place: format!("{place}{session_place}"),
                    });
                    details.voting = Some(VotingWindow {
                        opens_at: Timestamp(t),
                        closes_at: Timestamp(closes),
                    });
                }
                Step::DraftConsensus => details.consensus = Some(fill(&template.consensus)),
                Step::Complete => details.feedback = Some(fill(&template.feedback)),
                _ => {}
            }
            let window = details.voting;
            let session = details.session.clone();
            actions.push(ScriptAction::Step {
                step,
                at: Timestamp(t),
                actor,
                note,
                details,
            });
            match step {
                Step::BeginResearch => {
                    for (i, finding) in template.findings.iter().enumerate() {
                        actions.push(ScriptAction::Fact {
                            at: Timestamp(t + (i as i64 + 1) * DAY),
                            actor: convener.clone(),
                            fact: Fact::ResearchFinding {
                                title: fill(&finding.title),
                                text: fill(&finding.text),
                                materials: finding.materials.clone(),
                            },
                        });
                    }
                }
                Step::OpenConsultation => {
                    if let Some(window) = window {
                        let until = window.closes_at.0.min(anchor);
                        self.participation(
                            &template,
                            cards,
                            window.opens_at.0,
                            until,
                            &moderator,
                            &mut actions,
                        );
                        if let Some(session) = session
                            && session.starts_at.0 < anchor
                        {
                            actions.push(ScriptAction::Fact {
                                at: Timestamp(session.starts_at.0 + 3 * HOUR),
                                actor: convener.clone(),
                                fact: Fact::Minutes {
                                    text: fill(&template.minutes),
                                },
                            });
                        }
                        if !live {
                            t = window.closes_at.0 + HOUR - 8 * DAY;
                        }
                    }
                }
                Step::StartImplementation => {
                    let updates = template.progress.len();
                    let reach = if stage == Stage::Implementing {
                        updates.saturating_sub(1).max(1)
                    } else {
                        updates
                    };
                    for (i, text) in template.progress.iter().take(reach).enumerate() {
                        let percent = ((i + 1) * 100 / updates.max(1)).min(100) as u8;
                        actions.push(ScriptAction::Fact {
                            at: Timestamp(t + (i as i64 + 1) * DAY),
                            actor: convener.clone(),
                            fact: Fact::ProgressUpdate {
                                percent,
                                text: fill(text),
                            },
                        });
                    }
                }
                _ => {}
            }
        }
        TopicScript {
            draft: TopicDraft {
                room: room.id,
                title: fill(&template.title),
                summary: fill(&template.summary),
                category,
                eligible: area,
                ballot: template.ballot(),
            },
            proposed_at,
            convener,
            actions,
        }
    }

    /// Households vote (some change their mind) and comment between `from` and `until`.
    fn participation(
        &mut self,
        template: &TopicTemplate,
        cards: &[(CardId, GridId)],
        from: i64,
        until: i64,
        moderator: &Actor,
        actions: &mut Vec<ScriptAction>,
    ) {
        if cards.is_empty() || until <= from {
            return;
        }
        let ballot = template.ballot();
        let keys: Vec<String> = ballot.options.iter().map(|o| o.key.clone()).collect();
        let wanted =
            ((cards.len() as f64 * 0.55) as usize).min(self.config.max_voters_per_topic as usize);
        // Each household turns out with the same chance, so turnout spreads over the grids
        // (as it does in life) instead of filling the first ones.
        let chance = wanted as f64 / cards.len() as f64;
        let offset = self.rng.range(0, 6) as usize;
        let span = (until - from).max(2) as u64;
        let voters: Vec<&(CardId, GridId)> = cards
            .iter()
            .filter(|_| self.rng.chance(chance))
            .take(wanted)
            .collect();
        for (card, _) in voters {
            let at = from + self.rng.range(0, span - 2) as i64;
            let option = self.choose(&keys);
            actions.push(ScriptAction::Vote {
                card: card.clone(),
                option,
                at: Timestamp(at),
            });
            if self.rng.chance(0.1) {
                let later = at + 1 + self.rng.range(0, (until - at - 1).max(0) as u64) as i64;
                if later < until {
                    let option = self.choose(&keys);
                    actions.push(ScriptAction::Vote {
                        card: card.clone(),
                        option,
                        at: Timestamp(later),
                    });
                }
            }
        }
        let comments = template.comments.len().min(cards.len());
        for (i, text) in template.comments.iter().take(comments).enumerate() {
            let (card, _) = &cards[(i * 7 + offset) % cards.len()];
            let at = from + (span as i64 * (i as i64 + 1)) / (comments as i64 + 2);
            let decided = at + 6 * HOUR;
            let decision = if decided >= until {
                None
            } else if i == 1 && comments > 3 {
                Some((
                    Decision::Reject {
                        reason: "与议题无直接关系，已转相关部门处理".into(),
                    },
                    Timestamp(decided),
                    moderator.clone(),
                ))
            } else {
                Some((Decision::Accept, Timestamp(decided), moderator.clone()))
            };
            actions.push(ScriptAction::Comment {
                card: card.clone(),
                text: text.clone(),
                at: Timestamp(at),
                decision,
            });
        }
    }

    /// Households lean towards the first option: 60% first, 25% second, the rest spread.
    fn choose(&mut self, keys: &[String]) -> String {
        let roll = self.rng.range(0, 99);
        let index = if roll < 60 {
            0
        } else if roll < 85 || keys.len() < 3 {
            1.min(keys.len() - 1)
        } else {
            self.rng.range(2, keys.len() as u64 - 1) as usize
        };
        keys.get(index).cloned().unwrap_or_default()
    }
}

/// A card id that is valid by construction; only reached if formatting changed.
fn unreachable_card() -> CardId {
    CardId::parse("8610999999999999").unwrap_or_else(|_| unreachable_card())
}

/// The steps that take a new topic to `stage`.
fn path_to(stage: Stage) -> Vec<Step> {
    use Step::*;
    let main = [
        Confirm,
        BeginResearch,
        OpenConsultation,
        DraftConsensus,
        Report,
        Approve,
        StartImplementation,
        Complete,
        Archive,
    ];
    let upto = |n: usize| main[..n].to_vec();
    match stage {
        Stage::Proposed => vec![],
        Stage::Confirmed => upto(1),
        Stage::Rejected => vec![Reject],
        Stage::Research => upto(2),
        Stage::Consultation => upto(3),
        Stage::Consensus => upto(4),
        Stage::Reported => upto(5),
        Stage::Approved => upto(6),
        Stage::Returned => vec![
            Confirm,
            BeginResearch,
            OpenConsultation,
            DraftConsensus,
            Report,
            Return,
        ],
        Stage::Implementing => upto(7),
        Stage::Completed => upto(8),
        Stage::Archived => upto(9),
        Stage::Withdrawn => vec![Confirm, BeginResearch, Withdraw],
    }
}

fn overseer_note(step: Step) -> String {
    match step {
        Step::Confirm => "经研究，同意列为协商议题，请按程序开展商前调研。",
        Step::Reject => "该事项不属于本级协商范围，建议通过信访渠道反映。",
        Step::Approve => "同意协商共识，请抓紧组织实施并及时反馈。",
        Step::Return => "费用分摊方案意见分歧较大，请进一步听取意见后重新协商。",
        _ => "",
    }
    .to_owned()
}

fn convener_note(step: Step) -> String {
    match step {
        Step::BeginResearch => "组织网格员和居民代表开展调研。",
        Step::OpenConsultation => "召开协商会议，电视端同步开放投票和留言。",
        Step::DraftConsensus => "投票结束，形成协商共识。",
        Step::Report => "将协商共识报送同级党组织。",
        Step::StartImplementation => "启动成果转化，每周公示进度。",
        Step::Complete => "事项办结，向居民反馈。",
        Step::Archive => "资料整理归档。",
        Step::Withdraw => "提议人撤回，相关诉求已通过其他渠道解决。",
        _ => "",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn city(households: u32) -> Vec<CityItem> {
        let fixture = Fixture::builtin().unwrap_or_else(|e| panic!("{e}"));
        let config = Config {
            households_per_community: households,
            ..Config::default()
        };
        let mut items = Vec::new();
        let result: Result<(), ()> = generate(&fixture, &config, &mut |item| {
            items.push(item);
            Ok(())
        });
        assert!(result.is_ok());
        items
    }

    #[test]
    fn exactly_1301_rooms_and_every_category_at_every_stage() {
        let items = city(12);
        let rooms = items
            .iter()
            .filter(|i| matches!(i, CityItem::Room(_)))
            .count();
        assert_eq!(rooms, TOTAL_ROOMS);
        let towns = items
            .iter()
            .filter(|i| matches!(i, CityItem::Town(_)))
            .count();
        let communities = items
            .iter()
            .filter(|i| matches!(i, CityItem::Community(_)))
            .count();
        assert_eq!(towns + communities, TOTAL_ROOMS);
        let districts = items
            .iter()
            .filter(|i| matches!(i, CityItem::District(_)))
            .count();
        assert_eq!(districts, 7);
        let mut pairs = BTreeSet::new();
        for item in &items {
            if let CityItem::Topic(script) = item {
                let stage = script
                    .actions
                    .iter()
                    .filter_map(|a| match a {
                        ScriptAction::Step { step, .. } => Some(*step),
                        _ => None,
                    })
                    .fold(Stage::Proposed, |s, step| step.target(s).unwrap_or(s));
                pairs.insert((script.draft.category, stage));
            }
        }
        assert_eq!(pairs.len(), Category::ALL.len() * Stage::ALL.len());
    }

    #[test]
    fn grids_per_community_are_4_to_12_and_households_as_asked() {
        let items = city(30);
        let mut grids_by_community = std::collections::BTreeMap::<CommunityId, usize>::new();
        for item in &items {
            if let CityItem::Grid(g) = item {
                *grids_by_community.entry(g.community).or_default() += 1;
            }
        }
        assert!(grids_by_community.values().all(|n| (4..=12).contains(n)));
        let households = items
            .iter()
            .filter(|i| matches!(i, CityItem::Household(_)))
            .count();
        assert_eq!(households, 30 * grids_by_community.len());
    }

    #[test]
    fn same_seed_same_city() {
        let a = format!("{:?}", city(5));
        let b = format!("{:?}", city(5));
        assert_eq!(a, b);
    }
}
