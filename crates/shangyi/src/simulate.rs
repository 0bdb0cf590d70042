//! `shangyi simulate`: N virtual set-top boxes (tokio tasks) vote on a topic through a lossy
//! return channel against a running headend, then the server's tally is compared with what the
//! households chose.
//!
//! The boxes are households of the topic's eligible area that have not voted yet, one card
//! each; their card keys are derived from the master secret beside the database, standing in for
//! the operator's card personalisation. Each box votes, some change their mind (a second vote,
//! later seq), and sends through `returnpath::LossyLink` over `HttpTransport` until its outbox is
//! empty. The ground truth of each household is its last vote the headend did not refuse (in a
//! clean run it refuses none). The expected tally is the tally read before the run plus the
//! ground truth, overall and per grid; any difference exits with status 1.

use anyhow::{Context, Result, bail};
use clap::Args;
use consult::ids::TopicId;
use returnpath::http::HttpTransport;
use returnpath::{
    Body, CardId, LinkConfig, LinkStats, LossyLink, Outbox, SendConfig, SplitMix64,
    derive_card_key, drain,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Args, Clone, Debug)]
pub struct SimulateArgs {
    /// The headend, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// The headend's database: the boxes' cards are read from it.
    #[arg(long, default_value = "./var/shangyi.db")]
    db: PathBuf,
    /// The master secret; defaults to `master.key` beside the database.
    #[arg(long)]
    master_key: Option<PathBuf>,
    /// The topic to vote on (it must be in consultation). Repeat it to spread the households
    /// over several topics (a household takes part in one of them only).
    #[arg(long = "topic", required = true)]
    topics: Vec<i64>,
    /// How many households vote (each with one box), taken from those that have not voted.
    #[arg(long)]
    households: usize,
    /// Probability that a request, and independently its answer, is lost.
    #[arg(long, default_value_t = 0.2)]
    loss: f64,
    /// Probability that a request is delivered twice.
    #[arg(long, default_value_t = 0.1)]
    dup: f64,
    /// Probability that a request is held back and delivered after later ones.
    #[arg(long, default_value_t = 0.1)]
    reorder: f64,
    /// One-way delay range in milliseconds, `MIN..MAX`.
    #[arg(long, default_value = "50..2000")]
    delay_ms: String,
    /// Seeds the link, the choices and the jitter: the same seed makes the same choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of households that change their mind (vote a second time).
    #[arg(long, default_value_t = 0.3)]
    change_mind: f64,
    /// How long a box waits before it takes a request or its answer as lost, in ms (the link's
    /// timeout).
    #[arg(long, default_value_t = 2_000)]
    timeout_ms: u64,
    /// The back-off cap in ms (the protocol's is 30 s; a short run may lower it).
    #[arg(long, default_value_t = 30_000)]
    max_backoff_ms: u64,
    /// Give up (exit 1) if the boxes have not emptied their outboxes after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Write every acknowledged message as a line `card_id seq` to this file.
    #[arg(long)]
    acked_out: Option<PathBuf>,
}

fn parse_range(text: &str) -> Result<std::ops::RangeInclusive<u64>> {
    let (low, high) = text
        .split_once("..")
        .with_context(|| format!("--delay-ms {text:?}: expected MIN..MAX, e.g. 50..2000"))?;
    let low: u64 = low
        .trim()
        .parse()
        .with_context(|| format!("--delay-ms {text:?}: {low:?} is not a number"))?;
    let high: u64 = high
        .trim()
        .trim_start_matches('=')
        .parse()
        .with_context(|| format!("--delay-ms {text:?}: {high:?} is not a number"))?;
    if low > high {
        bail!("--delay-ms {text:?}: the minimum is above the maximum");
    }
    Ok(low..=high)
}

fn check_probability(name: &str, p: f64) -> Result<()> {
    if !(0.0..=0.95).contains(&p) {
        bail!("--{name} {p}: expected a probability from 0 to 0.95");
    }
    Ok(())
}

/// What one box did.
struct BoxResult {
    topic: i64,
    household: consult::ids::HouseholdId,
    grid: consult::ids::GridId,
    card: CardId,
    /// The option of its last vote the headend did not refuse.
    truth: Option<String>,
    /// Every message the headend acknowledged as stored or duplicate.
    delivered: Vec<u64>,
    refused: Vec<(u64, String)>,
    link: LinkStats,
    attempts: u64,
}

pub fn run(args: &SimulateArgs) -> Result<ExitCode> {
    check_probability("loss", args.loss)?;
    check_probability("dup", args.dup)?;
    check_probability("reorder", args.reorder)?;
    let delay = parse_range(&args.delay_ms)?;
    if !args.db.exists() {
        bail!("{} does not exist", args.db.display());
    }
    let store = Store::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    // Households are dealt to the topics in turn; one household votes on one topic only, so
    // no two virtual boxes share a card (they would reuse each other's seqs).
    let mut ballots: BTreeMap<i64, Arc<Vec<String>>> = BTreeMap::new();
    let mut queues = Vec::new();
    for &id in &args.topics {
        let topic = store.topic(TopicId(id))?;
        let options = topic.ballot.options.iter().map(|o| o.key.clone()).collect();
        ballots.insert(id, Arc::new(options));
        queues.push((
            id,
            store.voter_cards(topic.id, args.households)?.into_iter(),
        ));
    }
    drop(store);
    let mut voters: Vec<(i64, store::VoterCard)> = Vec::with_capacity(args.households);
    let mut used = std::collections::HashSet::new();
    while voters.len() < args.households {
        let before = voters.len();
        for (id, queue) in &mut queues {
            if voters.len() == args.households {
                break;
            }
            for voter in queue.by_ref() {
                if used.insert(voter.household) {
                    voters.push((*id, voter));
                    break;
                }
            }
        }
        if voters.len() == before {
            bail!(
                "the topics have only {} eligible households that have not voted; asked for {}",
                voters.len(),
                args.households
            );
        }
    }
    let key_path = args
        .master_key
        .clone()
        .unwrap_or_else(|| crate::keys::default_path(&args.db));
    let master = crate::keys::load(&key_path)?;
    let transport = HttpTransport::new(&args.server)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut before = BTreeMap::new();
        for &id in ballots.keys() {
            before.insert(id, fetch_tally(&args.server, id).await?);
        }
        let started = Instant::now();
        let master = Arc::new(master);
        let mut tasks = tokio::task::JoinSet::new();
        for (index, (topic, voter)) in voters.into_iter().enumerate() {
            let transport = transport.clone();
            let master = master.clone();
            let options = ballots.get(&topic).cloned().unwrap_or_default();
            let link_config = LinkConfig {
                seed: args.seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                loss: args.loss,
                duplicate: args.dup,
                reorder: args.reorder,
                delay_ms: delay.clone(),
                timeout: Duration::from_millis(args.timeout_ms),
                ..LinkConfig::default()
            };
            let send = SendConfig {
                jitter_seed: link_config.seed,
                max_delay: Duration::from_millis(args.max_backoff_ms),
                ..SendConfig::default()
            };
            let plan = BoxPlan {
                topic,
                change_mind: args.change_mind,
                link: link_config,
                send,
            };
            tasks.spawn(async move { one_box(voter, &master, &options, transport, plan).await });
        }
        let deadline = Duration::from_secs(args.timeout_secs);
        let mut results = Vec::new();
        let mut unfinished = 0usize;
        let joined = tokio::time::timeout(deadline, async {
            while let Some(result) = tasks.join_next().await {
                match result {
                    Ok(Ok(result)) => results.push(result),
                    Ok(Err(error)) => {
                        eprintln!("a box failed: {error:#}");
                        unfinished += 1;
                    }
                    Err(error) => {
                        eprintln!("a box's task failed: {error}");
                        unfinished += 1;
                    }
                }
            }
        })
        .await;
        if joined.is_err() {
            unfinished += tasks.len();
            tasks.abort_all();
        }
        let elapsed = started.elapsed();
        let mut after = BTreeMap::new();
        for &id in ballots.keys() {
            after.insert(id, fetch_tally(&args.server, id).await?);
        }
        report(args, &before, &after, &results, unfinished, elapsed)
    })
}

/// What one box does and through what link.
struct BoxPlan {
    topic: i64,
    change_mind: f64,
    link: LinkConfig,
    send: SendConfig,
}

async fn one_box(
    voter: store::VoterCard,
    master: &returnpath::MasterSecret,
    options: &[String],
    transport: HttpTransport,
    plan: BoxPlan,
) -> Result<BoxResult> {
    let BoxPlan {
        topic,
        change_mind,
        link: link_config,
        send,
    } = plan;
    let card = CardId::parse(voter.card.as_str())?;
    let key = derive_card_key(master, &card);
    let mut rng = SplitMix64::new(link_config.seed ^ 0x5eed);
    let mut outbox = Outbox::in_memory(card.clone(), key);
    let link = LossyLink::new(transport, link_config.clone());
    let mut votes: Vec<(u64, String)> = Vec::new();
    let rounds = if rng.chance(change_mind) { 2 } else { 1 };
    let mut attempts = 0;
    for round in 0..rounds {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(rng.between(0, 500))).await;
        }
        let pick = rng.between(0, options.len().saturating_sub(1) as u64) as usize;
        let option = options.get(pick).cloned().unwrap_or_default();
        let seq = outbox.enqueue(
            Body::Vote {
                topic_id: topic,
                option: option.clone(),
            },
            unix_now(),
        )?;
        votes.push((seq, option));
        attempts += drain(&mut outbox, &link, &send).await?.attempts;
    }
    // Late and duplicate copies the link still holds arrive now, after everything newer.
    link.flush().await;
    let refused: Vec<(u64, String)> = outbox
        .rejected()
        .iter()
        .map(|r| (r.message.seq(), r.reason.as_str().to_owned()))
        .collect();
    let truth = votes
        .iter()
        .rev()
        .find(|(seq, _)| !refused.iter().any(|(s, _)| s == seq))
        .map(|(_, option)| option.clone());
    let delivered = votes
        .iter()
        .map(|(seq, _)| *seq)
        .filter(|seq| !refused.iter().any(|(s, _)| s == seq))
        .collect();
    Ok(BoxResult {
        topic,
        household: voter.household,
        grid: voter.grid,
        card,
        truth,
        delivered,
        refused,
        link: link.stats(),
        attempts,
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Counts per option key, overall and per grid.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    overall: BTreeMap<String, u64>,
    by_grid: BTreeMap<(i64, String), u64>,
}

/// Reads `GET /api/v1/topics/{id}` with a plain HTTP/1.1 request and returns its tally.
async fn fetch_tally(server: &str, topic: i64) -> Result<Counts> {
    let authority = server
        .trim_end_matches('/')
        .strip_prefix("http://")
        .with_context(|| format!("{server:?} is not an http:// URL"))?;
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    let request = format!(
        "GET /api/v1/topics/{topic} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .context("the server did not answer the tally request in 30 s")??;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("the server's answer has no body")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!(
            "GET /api/v1/topics/{topic}: {}",
            head.lines().next().unwrap_or("")
        );
    }
    let value: serde_json::Value = serde_json::from_str(body).context("reading the tally")?;
    let tally = &value["tally"];
    let keys: Vec<String> = tally["options"]
        .as_array()
        .context("the tally has no options")?
        .iter()
        .map(|o| o["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut counts = Counts::default();
    for (option, key) in tally["options"].as_array().into_iter().flatten().zip(&keys) {
        counts
            .overall
            .insert(key.clone(), option["count"].as_u64().unwrap_or(0));
    }
    for grid in tally["by_grid"].as_array().into_iter().flatten() {
        let id = grid["grid"].as_i64().unwrap_or(0);
        for (count, key) in grid["counts"].as_array().into_iter().flatten().zip(&keys) {
            let count = count.as_u64().unwrap_or(0);
            if count > 0 {
                counts.by_grid.insert((id, key.clone()), count);
            }
        }
    }
    Ok(counts)
}

fn report(
    args: &SimulateArgs,
    before: &BTreeMap<i64, Counts>,
    after: &BTreeMap<i64, Counts>,
    results: &[BoxResult],
    unfinished: usize,
    elapsed: Duration,
) -> Result<ExitCode> {
    let mut expected: BTreeMap<i64, Counts> = before
        .iter()
        .map(|(id, c)| {
            (
                *id,
                Counts {
                    overall: c.overall.clone(),
                    by_grid: c.by_grid.clone(),
                },
            )
        })
        .collect();
    let mut link = LinkStats::default();
    let (mut messages, mut refused, mut attempts) = (0usize, 0usize, 0u64);
    for result in results {
        if let Some(option) = &result.truth {
            let counts = expected.entry(result.topic).or_default();
            *counts.overall.entry(option.clone()).or_insert(0) += 1;
            *counts
                .by_grid
                .entry((result.grid.0, option.clone()))
                .or_insert(0) += 1;
        }
        messages += result.delivered.len() + result.refused.len();
        refused += result.refused.len();
        attempts += result.attempts;
        for (seq, reason) in &result.refused {
            println!(
                "refused: household {} card {} seq {seq}: {reason}",
                result.household, result.card
            );
        }
        link.requests += result.link.requests;
        link.lost_requests += result.link.lost_requests;
        link.lost_answers += result.link.lost_answers;
        link.duplicated += result.link.duplicated;
        link.reordered += result.link.reordered;
        link.late_deliveries += result.link.late_deliveries;
    }
    if let Some(path) = &args.acked_out {
        let mut text = String::new();
        for result in results {
            for seq in &result.delivered {
                text.push_str(&format!("{} {seq}\n", result.card));
            }
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "simulated {} boxes on {} topics in {:.1} s: {} messages, {} refused, {} attempts",
        results.len(),
        expected.len(),
        elapsed.as_secs_f64(),
        messages,
        refused,
        attempts
    );
    println!(
        "link: {} requests, {} lost, {} answers lost, {} duplicated, {} reordered, {} late deliveries",
        link.requests,
        link.lost_requests,
        link.lost_answers,
        link.duplicated,
        link.reordered,
        link.late_deliveries
    );
    let mut differences = 0;
    let empty = Counts::default();
    for (topic, wanted) in &expected {
        let got = after.get(topic).unwrap_or(&empty);
        let keys: std::collections::BTreeSet<&String> =
            wanted.overall.keys().chain(got.overall.keys()).collect();
        let line: Vec<String> = keys
            .iter()
            .map(|key| {
                let e = wanted.overall.get(*key).copied().unwrap_or(0);
                let s = got.overall.get(*key).copied().unwrap_or(0);
                if e == s {
                    format!("{key} {e}")
                } else {
                    format!("{key} expected {e} server {s} <- differs")
                }
            })
            .collect();
        let wanted_grids: BTreeMap<_, _> = wanted
            .by_grid
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(k, c)| (k.clone(), *c))
            .collect();
        let same = wanted
            .overall
            .iter()
            .filter(|(_, c)| **c > 0)
            .collect::<Vec<_>>()
            == got
                .overall
                .iter()
                .filter(|(_, c)| **c > 0)
                .collect::<Vec<_>>()
            && wanted_grids == got.by_grid;
        if !same {
            differences += 1;
        }
        if !same || expected.len() <= 10 {
            println!("topic {topic}: {}", line.join(", "));
        }
        if wanted_grids != got.by_grid {
            let grids: std::collections::BTreeSet<&(i64, String)> =
                wanted_grids.keys().chain(got.by_grid.keys()).collect();
            for key in grids {
                let e = wanted_grids.get(key).copied().unwrap_or(0);
                let s = got.by_grid.get(key).copied().unwrap_or(0);
                if e != s {
                    println!(
                        "  grid {} option {}: expected {e}, server {s}",
                        key.0, key.1
                    );
                }
            }
        }
    }
    if unfinished > 0 {
        println!("FAILED: {unfinished} boxes did not empty their outboxes");
        return Ok(ExitCode::from(1));
    }
    if differences > 0 {
        println!(
            "FAILED: the server's tally differs from the ground truth on {differences} topics"
        );
        return Ok(ExitCode::from(1));
    }
    println!("ok: the server's tally equals the ground truth on every topic, overall and per grid");
    Ok(ExitCode::SUCCESS)
}
