//! `shangyi`: the command line of the 有事好商量 cable-TV channel's backend. Only this crate
//! parses command lines; each command is a thin layer over the library crates.

/// mimalloc rather than glibc's malloc: the return channel's requests allocate small
/// buffers on the async threads that the writer thread frees, and glibc's arenas spent a sixth
/// of the ingest's CPU on it (`cargo bench -p server --bench ingest`: 1,000 boxes went from 32%
/// to 40% of the plain-HTTP baseline).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bundles;
mod cards;
mod emulate;
mod keys;
mod load;
mod screens;
mod simulate;
mod tokens;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use consult::ids::{CommunityId, TopicId};
use consult::procedure::Stage;
use consult::record::Digest;
use consult::time::Timestamp;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use store::{Store, TopicFilter};

#[derive(Parser)]
#[command(
    name = "shangyi",
    version,
    about = "The backend of the 有事好商量 interactive cable-TV consultation channel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArg {
    /// The SQLite database.
    #[arg(long, default_value = "./var/shangyi.db")]
    db: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: on first start it creates the database and loads the demo city.
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The return channel's master secret (32 bytes); created on first start. Defaults to
        /// `master.key` beside the database.
        #[arg(long)]
        master_key: Option<PathBuf>,
        /// Where every community's broadcast bundle is built (default: `bundles/` beside the
        /// database).
        #[arg(long)]
        bundles: Option<PathBuf>,
    },
    /// Simulate set-top boxes voting through a lossy return channel, then compare the server's
    /// tally with what the households chose.
    Simulate(simulate::SimulateArgs),
    /// Drive an emulated set-top box with remote keys: a community's bundle, a card's
    /// provisioning file, a frame per key, votes and comments into the box's outbox.
    Emulate(emulate::EmulateArgs),
    /// Set-top-box smart cards.
    Cards {
        #[command(subcommand)]
        command: cards::CardsCommand,
    },
    /// The demo city.
    Fixtures {
        #[command(subcommand)]
        command: FixturesCommand,
    },
    /// Topics and where they stand in the procedure.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// API tokens for conveners, overseers, grid workers, moderators and operators.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// Broadcast bundles: build, verify, diff, and the carousel they make.
    Bundle {
        #[command(subcommand)]
        command: BundleCommand,
    },
    /// The screens households see: render a community's, check the templates.
    Screens {
        #[command(subcommand)]
        command: ScreensCommand,
    },
    /// Consultation records.
    Record {
        #[command(subcommand)]
        command: RecordCommand,
    },
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        #[command(flatten)]
        db: DbArg,
        /// convener, overseer, grid-worker, moderator or operator.
        #[arg(long)]
        role: String,
        /// The room of a convener or overseer.
        #[arg(long)]
        room: Option<i64>,
        /// A grid of a grid worker (repeat for several grids of one community).
        #[arg(long)]
        grid: Vec<i64>,
        /// The holder's name, written into records as the actor (default: from the database).
        #[arg(long)]
        name: Option<String>,
    },
}

fn tokens_command(command: TokensCommand) -> Result<ExitCode> {
    match command {
        TokensCommand::Create {
            db,
            role,
            room,
            grid,
            name,
        } => {
            let mut store = open_existing(&db.db)?;
            let credential = tokens::credential(&store, &role, room, &grid, name)?;
            let secret = tokens::create(&mut store, &credential, now())?;
            println!("{secret}");
            eprintln!(
                "a {} token for {} ({}); it is shown only now",
                credential.role.as_str(),
                credential.name,
                serde_json::to_string(&credential.scope).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Build the base bundle and every community's (or one's); only what changed is rebuilt.
    Build {
        #[command(flatten)]
        db: DbArg,
        /// Every village and community.
        #[arg(
            long,
            conflicts_with = "community",
            required_unless_present = "community"
        )]
        all: bool,
        /// One village or community.
        #[arg(long)]
        community: Option<i64>,
        /// Output directory: `base/` and one `c-ID/` per community.
        #[arg(long, default_value = "./var/bundles")]
        out: PathBuf,
        /// Templates directory (default: ./stb-templates).
        #[arg(long)]
        templates: Option<PathBuf>,
    },
    /// Check a bundle directory: manifest rules, sizes, hashes, paths; every finding named.
    Verify {
        dir: PathBuf,
        /// The version accepted last: a lower one is refused.
        #[arg(long)]
        previous_version: Option<u64>,
    },
    /// What changed between two versions of a bundle.
    Diff { old: PathBuf, new: PathBuf },
    /// Per district: bytes on air, cycle time, tune-in waits and push-to-screen time.
    Carousel {
        /// The data stream's bitrate per district, e.g. 2M, 500k, 2000000.
        #[arg(long, default_value = "2M")]
        bitrate: String,
        /// Where the bundles were built.
        #[arg(long, default_value = "./var/bundles")]
        bundles: PathBuf,
    },
}

fn bundle_command(command: BundleCommand) -> Result<ExitCode> {
    match command {
        BundleCommand::Build {
            db,
            all: _,
            community,
            out,
            templates,
        } => {
            open_existing(&db.db)?;
            let started = Instant::now();
            let report = bundles::build(&db.db, &out, community, templates.as_deref())?;
            println!(
                "{} bundles written, {} unchanged, in {:.3} s ({})",
                report.written,
                report.unchanged,
                started.elapsed().as_secs_f64(),
                out.display()
            );
            for failure in &report.failed {
                eprintln!("failed: {failure}");
            }
            Ok(if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        BundleCommand::Verify {
            dir,
            previous_version,
        } => bundles::verify(&dir, previous_version),
        BundleCommand::Diff { old, new } => bundles::diff(&old, &new),
        BundleCommand::Carousel { bitrate, bundles } => bundles::carousel(&bundles, &bitrate),
    }
}

#[derive(Subcommand)]
enum ScreensCommand {
    /// Write a PNG and a layout document (JSON) for every screen of a community.
    Render {
        #[command(flatten)]
        db: DbArg,
        /// The village or community.
        #[arg(long)]
        community: i64,
        /// Show the notices of this grid only (as a box in it would).
        #[arg(long)]
        grid: Option<i64>,
        /// standard or elders.
        #[arg(long, default_value = "standard", value_parser = ["standard", "elders"])]
        theme: String,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// The moment shown (RFC 3339); defaults to now.
        #[arg(long)]
        at: Option<String>,
        /// Templates directory (default: ./stb-templates).
        #[arg(long)]
        templates: Option<PathBuf>,
    },
    /// Check templates against every rule (safe area, type size, contrast, focus...).
    Check {
        /// Templates directory (default: ./stb-templates).
        templates: Option<PathBuf>,
    },
}

fn screens_command(command: ScreensCommand) -> Result<ExitCode> {
    match command {
        ScreensCommand::Render {
            db,
            community,
            grid,
            theme,
            out,
            at,
            templates,
        } => {
            open_existing(&db.db)?;
            let at = match at {
                Some(text) => Timestamp::parse(&text)?,
                None => now(),
            };
            screens::render(&screens::RenderOptions {
                db: &db.db,
                community,
                grid,
                theme: &theme,
                out: &out,
                at,
                templates: templates.as_deref(),
            })
        }
        ScreensCommand::Check { templates } => screens::check(templates.as_deref()),
    }
}

#[derive(Subcommand)]
enum FixturesCommand {
    /// Generate the demo city into an empty database.
    Load {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        city: CityArgs,
    },
}

#[derive(Args, Clone)]
struct CityArgs {
    /// Seed of the generator: the same seed, size and time give the same city.
    #[arg(long, default_value_t = 2020)]
    seed: u64,
    /// Households in each village or community (1 to 20000).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=20000))]
    households_per_community: u32,
    /// "Now" for the demo (RFC 3339): votes are open around it. Defaults to the current time.
    #[arg(long)]
    at: Option<String>,
    /// A fixture file to use instead of the built-in fixtures/democity.json.
    #[arg(long)]
    fixture: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TopicsCommand {
    /// One topic a line, its id first.
    List {
        #[command(flatten)]
        db: DbArg,
        /// Only topics at this stage (proposed, confirmed, rejected, research, consultation,
        /// consensus, reported, approved, returned, implementing, completed, archived, withdrawn).
        #[arg(long)]
        stage: Option<String>,
        /// Only topics reaching this community.
        #[arg(long)]
        community: Option<i64>,
        #[arg(long)]
        limit: Option<i64>,
    },
    /// A topic in full, with its tally.
    Show {
        #[command(flatten)]
        db: DbArg,
        id: i64,
    },
}

#[derive(Subcommand)]
enum RecordCommand {
    /// A topic's consultation record, entry by entry.
    Show {
        #[command(flatten)]
        db: DbArg,
        topic: i64,
        /// Print the entries as JSON lines.
        #[arg(long)]
        json: bool,
        /// Publish it instead: `xml` (with the hashed facts) or `html` (a printable report
        /// with charts).
        #[arg(long, value_parser = ["xml", "html"])]
        format: Option<String>,
    },
    /// Verify every record (or one topic's): exit status 1 and the first bad entry on failure.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// Only this topic.
        topic: Option<i64>,
        /// A head hash published earlier; fails if the record no longer holds it. Repeatable.
        #[arg(long)]
        checkpoint: Vec<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            master_key,
            bundles,
        } => serve(&db.db, &listen, master_key.as_deref(), bundles.as_deref()),
        Command::Simulate(args) => simulate::run(&args),
        Command::Emulate(args) => emulate::run(&args),
        Command::Cards { command } => cards::run(&command),
        Command::Fixtures {
            command: FixturesCommand::Load { db, city },
        } => fixtures_load(&db.db, &city),
        Command::Topics { command } => topics(command),
        Command::Record { command } => record(command),
        Command::Screens { command } => screens_command(command),
        Command::Bundle { command } => bundle_command(command),
        Command::Tokens { command } => tokens_command(command),
    }
}

fn open_existing(path: &Path) -> Result<Store> {
    if !path.exists() {
        bail!(
            "{} does not exist: load the demo city first with `shangyi fixtures load --db {}`",
            path.display(),
            path.display()
        );
    }
    Store::open(path).with_context(|| format!("opening {}", path.display()))
}

fn city_config(args: &CityArgs) -> Result<(democity::Fixture, democity::Config)> {
    let fixture = match &args.fixture {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            democity::Fixture::parse(&path.display().to_string(), &text)?
        }
        None => democity::Fixture::builtin()?,
    };
    let anchor = match &args.at {
        Some(text) => Timestamp::parse(text)?,
        None => now(),
    };
    let config = democity::Config {
        seed: args.seed,
        households_per_community: args.households_per_community,
        anchor,
        ..democity::Config::default()
    };
    Ok((fixture, config))
}

/// The clock, read only here at the edge: the library crates take time as an argument.
fn now() -> Timestamp {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Timestamp(seconds)
}

fn fixtures_load(path: &Path, args: &CityArgs) -> Result<ExitCode> {
    let (fixture, config) = city_config(args)?;
    let started = Instant::now();
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    let report = load::load_city(&mut store, &fixture, &config)?;
    let elapsed = started.elapsed();
    let counts = store.counts()?;
    println!(
        "loaded the demo city into {} in {:.2} s (seed {}, {} households per community, now = {})",
        path.display(),
        elapsed.as_secs_f64(),
        config.seed,
        config.households_per_community,
        config.anchor.to_rfc3339()
    );
    println!(
        "  {} districts, {} towns and subdistricts, {} villages and communities, {} grids",
        counts.districts, counts.towns, counts.communities, counts.grids
    );
    println!(
        "  {} rooms ({} town-level, {} community-level)",
        counts.rooms, counts.town_rooms, counts.community_rooms
    );
    println!(
        "  {} households with {} set-top boxes",
        counts.households, counts.set_top_boxes
    );
    println!(
        "  {} topics, {} record entries, {} votes, {} comments, {} notices",
        report.topics, counts.record_entries, report.votes, report.comments, report.notices
    );
    if let Some(peak) = load::peak_memory_bytes() {
        println!("  peak memory {:.1} MiB", peak as f64 / (1024.0 * 1024.0));
    }
    Ok(ExitCode::SUCCESS)
}

fn topics(command: TopicsCommand) -> Result<ExitCode> {
    match command {
        TopicsCommand::List {
            db,
            stage,
            community,
            limit,
        } => {
            let store = open_existing(&db.db)?;
            let stage = stage.map(|s| Stage::parse(&s)).transpose()?;
            let filter = TopicFilter {
                stage,
                community: community.map(CommunityId),
                room: None,
                limit,
            };
            for t in store.topics(&filter)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.stage,
                    t.category.as_str(),
                    t.title,
                    t.room_name
                );
            }
        }
        TopicsCommand::Show { db, id } => {
            let store = open_existing(&db.db)?;
            let topic = store.topic(TopicId(id))?;
            let tally = store.tally(TopicId(id))?;
            let (room, convener, office) = store.room_convener(topic.room)?;
            println!("topic {}: {}", topic.id, topic.title);
            println!("  stage     {} ({})", topic.stage, topic.stage.label());
            println!(
                "  category  {} ({})",
                topic.category.as_str(),
                topic.category.label()
            );
            println!("  room      {room}, convener {convener}（{office}）");
            println!("  proposed  {}", topic.proposed_at.to_display());
            println!("  summary   {}", topic.summary);
            if let Some(session) = &topic.session {
                println!(
                    "  session   {} at {}",
                    session.starts_at.to_display(),
                    session.place
                );
            }
            if let Some(voting) = &topic.voting {
                println!(
                    "  voting    {} to {}",
                    voting.opens_at.to_display(),
                    voting.closes_at.to_display()
                );
            }
            if let Some(consensus) = &topic.consensus {
                println!("  consensus {consensus}");
            }
            if let Some(progress) = topic.progress {
                println!("  progress  {progress}%");
            }
            if let Some(feedback) = &topic.feedback {
                println!("  feedback  {feedback}");
            }
            let allowed: Vec<&str> = topic
                .stage
                .allowed_steps()
                .iter()
                .map(|s| s.as_str())
                .collect();
            println!(
                "  next      {}",
                if allowed.is_empty() {
                    "(none: the procedure has ended)".into()
                } else {
                    allowed.join(", ")
                }
            );
            println!(
                "  tally     {} of {} households voted ({}%)",
                tally.voters,
                tally.eligible_households,
                tally.turnout_percent()
            );
            for option in &tally.options {
                println!("            {:<8} {}", option.label, option.count);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn record(command: RecordCommand) -> Result<ExitCode> {
    match command {
        RecordCommand::Show {
            db,
            topic,
            json,
            format,
        } => {
            let store = open_existing(&db.db)?;
            store.topic(TopicId(topic))?;
            if let Some(format) = format {
                let inputs = channel::record_inputs(&store, TopicId(topic))?;
                let view = report::RecordView {
                    topic: &inputs.topic,
                    room: &inputs.room,
                    entries: &inputs.entries,
                    tally: &inputs.tally,
                    grids: &inputs.grids,
                    verified: inputs.verified.clone(),
                };
                let text = if format == "xml" {
                    report::to_xml(&view)
                } else {
                    report::to_html(&view)
                };
                print!("{text}");
                return Ok(ExitCode::SUCCESS);
            }
            for entry in store.record(TopicId(topic))? {
                if json {
                    let fact: serde_json::Value =
                        serde_json::from_str(&entry.fact).unwrap_or(serde_json::Value::Null);
                    let line = serde_json::json!({
                        "topic": entry.topic, "seq": entry.seq, "at": Timestamp(entry.at).to_rfc3339(),
                        "actor": { "role": entry.actor_role, "name": entry.actor_name },
                        "fact": fact, "prev_hash": entry.prev_hash, "hash": entry.hash,
                    });
                    println!("{line}");
                } else {
                    println!(
                        "#{:<3} {}  {:<9} {}  {}",
                        entry.seq,
                        Timestamp(entry.at).to_display(),
                        entry.actor_role,
                        entry.actor_name,
                        &entry.hash[..16]
                    );
                    println!("      {}", entry.fact);
                }
            }
        }
        RecordCommand::Verify {
            db,
            topic,
            checkpoint,
        } => {
            let store = open_existing(&db.db)?;
            let checkpoints = checkpoint
                .iter()
                .map(|c| {
                    Digest::from_hex(c)
                        .with_context(|| format!("checkpoint {c:?} is not 64 hex digits"))
                })
                .collect::<Result<Vec<_>>>()?;
            let report = store.verify_records(topic.map(TopicId), &checkpoints)?;
            if report.ok() {
                println!(
                    "ok: {} records, {} entries verified",
                    report.topics, report.entries
                );
                if let Some(t) = topic
                    && let Ok(v) = store.verify_topic(TopicId(t))
                    && let Some(head) = v.head
                {
                    println!("head of topic {t}: {head}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            for missing in &report.missing_checkpoints {
                println!("FAILED: {missing}");
            }
            if let Some(first) = report.failures.first() {
                println!(
                    "FAILED: {} of {} records; first bad entry: topic {} entry {}: {}",
                    report.failures.len(),
                    report.topics,
                    first.topic,
                    first
                        .first_bad_entry
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    first.error.as_deref().unwrap_or("")
                );
            }
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(
    path: &Path,
    listen: &str,
    master_key: Option<&Path>,
    bundles: Option<&Path>,
) -> Result<ExitCode> {
    let fresh = !path.exists();
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    if fresh || store.counts()?.rooms == 0 {
        let (fixture, config) = city_config(&CityArgs {
            seed: 2020,
            households_per_community: 60,
            at: None,
            fixture: None,
        })?;
        tracing::info!(db = %path.display(), "first start: loading the demo city");
        let started = Instant::now();
        load::load_city(&mut store, &fixture, &config)?;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "demo city loaded"
        );
    }
    let counts = store.counts()?;
    let key_path = master_key.map_or_else(|| keys::default_path(path), Path::to_path_buf);
    let master = keys::load_or_create(&key_path)?;
    // Votes stored by the return channel mark their communities, like the API's writes, so
    // the new tallies reach the bundles.
    let (live, live_queue) = server::live::queue();
    let (ingest, writer) = server::ingest::start(
        path,
        master,
        server::ingest::IngestSettings {
            live: Some(live.clone()),
            ..server::ingest::IngestSettings::default()
        },
    )
    .context("starting the return channel's writer")?;
    let demo = demo_access(&mut store, path, &key_path)?;
    let bundles_dir = bundles.map_or_else(|| sibling(path, "bundles"), Path::to_path_buf);
    // Bundles are built while the service already answers: a first start builds all 1,219.
    // One thread builds them, the communities writes mark meanwhile between batches, and then
    // the live rebuilds: no two builds ever run side by side.
    let templates_dir = screens::templates_dir(None);
    let bundle_paths = server::BundlePaths {
        bundles_dir: bundles_dir.clone(),
        assets_dir: screens::assets_dir(&templates_dir),
        templates_dir: templates_dir.clone(),
    };
    let live_settings = server::live::LiveSettings::new(
        path.to_path_buf(),
        bundles_dir.clone(),
        templates_dir.clone(),
        screens::assets_dir(&templates_dir),
    );
    std::thread::spawn(move || live_queue.build_all_then_run(&live_settings));
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = server::listen(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        println!(
            "shangyi is serving {} rooms and {} topics from {}",
            counts.rooms,
            counts.topics,
            path.display()
        );
        println!("  health:  http://{address}/healthz");
        println!("  topics:  curl 'http://{address}/api/v1/topics?stage=consultation&limit=5'");
        println!("  record:  curl http://{address}/api/v1/topics/1/record");
        println!("  return channel: POST http://{address}/rc/v1/messages (metrics: /metrics)");
        println!("  bundles: {} (building in the background; see the log)", bundles_dir.display());
        println!("demo tokens (shown once; make more with `shangyi tokens create`):");
        for (role, token) in &demo.tokens {
            println!("  {role:<12} {token}");
        }
        println!("a household in the emulator, once the bundles are built:");
        println!(
            "  cargo run --release -- emulate --bundle {}/c-1 --provision {} --keys \"OK RED OK OK\" --server http://{address} --contact-sheet /tmp/household.png",
            bundles_dir.display(),
            demo.card_file.display()
        );
        let app = server::router(server::AppState::with_ingest(store, ingest)
            .with_live(live)
            .with_bundles(bundle_paths));
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving")?;
        Ok::<_, anyhow::Error>(())
    })?;
    // Every request has been answered; commit whatever the writer still holds, then stop.
    writer.stop();
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// What a newcomer needs to try the service: one token per role for community 1's room and
/// first grid, and a provisioning file for the community's first card.
struct DemoAccess {
    tokens: Vec<(&'static str, String)>,
    card_file: PathBuf,
}

fn sibling(db: &Path, name: &str) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}

fn demo_access(store: &mut Store, db: &Path, master_key: &Path) -> Result<DemoAccess> {
    let community = consult::ids::CommunityId(1);
    let room = store.room_of_community(community)?;
    let grid = store
        .grids_of_community(community)?
        .first()
        .map(|g| g.id.0)
        .context("community 1 has no grids")?;
    let mut tokens = Vec::new();
    for (role, room_arg, grids) in [
        ("convener", Some(room.0), vec![]),
        ("overseer", Some(room.0), vec![]),
        ("grid-worker", None, vec![grid]),
        ("moderator", None, vec![]),
        ("operator", None, vec![]),
    ] {
        let credential = tokens::credential(store, role, room_arg, &grids, None)?;
        tokens.push((role, tokens::create(store, &credential, now())?));
    }
    let card = store
        .cards_in_community(community, 1)?
        .into_iter()
        .next()
        .map(|(card, _)| card)
        .context("community 1 has no set-top boxes")?;
    let card_file = sibling(db, "demo-card.json");
    cards::provision(&cards::ProvisionArgs {
        db: db.to_path_buf(),
        card: card.to_string(),
        out: card_file.clone(),
        master_key: Some(master_key.to_path_buf()),
    })?;
    Ok(DemoAccess { tokens, card_file })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
