//! Loading the demo city: the generator's items streamed into the store in one transaction.

use anyhow::{Context, Result};
use consult::ids::TopicId;
use democity::{CityItem, Config, Fixture, ScriptAction, TopicScript};
use store::{CityLoader, Store, VoteInput};

/// What a load made, for the command's report.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub topics: u64,
    pub votes: u64,
    pub comments: u64,
    pub notices: u64,
}

/// Generates the city described by `fixture` and `config` into an empty database.
pub fn load_city(store: &mut Store, fixture: &Fixture, config: &Config) -> Result<LoadReport> {
    let _span = tracing::info_span!(
        "fixtures_load",
        seed = config.seed,
        households = config.households_per_community
    )
    .entered();
    store.set_bulk_mode()?;
    let mut report = LoadReport::default();
    let result = (|| -> Result<()> {
        let mut loader = store.load_city()?;
        // Notices of the community being generated, by their place in its list: updates and
        // cancellations name the one they change that way.
        let mut community_notices: Vec<consult::ids::NoticeId> = Vec::new();
        let mut emit = |item: CityItem| -> Result<()> {
            if let CityItem::Community(_) = &item {
                community_notices.clear();
            }
            match item {
                CityItem::District(d) => loader
                    .district(&d)
                    .with_context(|| format!("district {}", d.name)),
                CityItem::Town(t) => loader.town(&t).with_context(|| format!("town {}", t.name)),
                CityItem::Community(c) => loader
                    .community(&c)
                    .with_context(|| format!("community {}", c.name)),
                CityItem::Grid(g) => loader.grid(&g).with_context(|| format!("grid {}", g.id)),
                CityItem::Household(h) => loader
                    .household(&h)
                    .with_context(|| format!("household {}", h.id)),
                CityItem::SetTopBox(b) => loader
                    .set_top_box(&b)
                    .with_context(|| format!("set-top box {}", b.card)),
                CityItem::Room(r) => loader.room(&r).with_context(|| format!("room {}", r.name)),
                CityItem::Notice(script) => {
                    let mut draft = script.draft;
                    if let Some(index) = script.references {
                        draft.references = community_notices.get(index).copied();
                    }
                    let title = draft.title.clone();
                    let notice = loader
                        .push_notice(draft, &script.author, &script.worker_grids, script.sent_at)
                        .with_context(|| format!("demo notice {title}"))?;
                    community_notices.push(notice.id);
                    report.notices += 1;
                    Ok(())
                }
                CityItem::Topic(script) => {
                    let title = script.draft.title.clone();
                    play(&mut loader, *script, &mut report)
                        .with_context(|| format!("demo topic {title}"))
                }
            }
        };
        democity::generate(fixture, config, &mut emit)?;
        loader.set_meta("demo_seed", &config.seed.to_string())?;
        loader.set_meta("demo_anchor", &config.anchor.to_rfc3339())?;
        loader.commit()?;
        Ok(())
    })();
    store.set_durable()?;
    result?;
    Ok(report)
}

/// Plays a demo topic's script through the same checks a live topic goes through.
fn play(loader: &mut CityLoader<'_>, script: TopicScript, report: &mut LoadReport) -> Result<()> {
    let topic = loader.propose_topic(script.draft, script.proposed_at, script.convener)?;
    let id: TopicId = topic.id;
    report.topics += 1;
    for action in script.actions {
        match action {
            ScriptAction::Step {
                step,
                at,
                actor,
                note,
                details,
            } => {
                loader
                    .take_step(id, step, at, actor, &note, details)
                    .with_context(|| format!("step {step}"))?;
            }
            ScriptAction::Fact { at, actor, fact } => {
                let kind = fact.kind();
                loader
                    .record_fact(id, at, actor, fact)
                    .with_context(|| format!("fact {kind}"))?;
            }
            ScriptAction::Vote { card, option, at } => {
                let input = VoteInput {
                    topic: id,
                    card,
                    option,
                    sent_at: at,
                    received_at: at,
                };
                loader
                    .cast_vote(&input)
                    .with_context(|| format!("vote of card {}", input.card))?;
                report.votes += 1;
            }
            ScriptAction::Comment {
                card,
                text,
                at,
                decision,
            } => {
                let decision = decision
                    .as_ref()
                    .map(|(d, t, moderator)| (d, *t, moderator.clone()));
                loader
                    .comment(id, &card, &text, at, decision)
                    .with_context(|| format!("comment of card {card}"))?;
                report.comments += 1;
            }
        }
    }
    Ok(())
}

/// The process's peak resident memory, from Linux's /proc (None elsewhere).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
