//! `shangyi cards provision`: what the operator's smart-card personalisation gives a box,
//! written as the emulator's provisioning file. The card's key is derived from the headend's
//! master secret (beside the database) exactly as the headend derives it to verify.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use emulator::Provisioning;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CardsCommand {
    /// Write a box's provisioning file (card id, household, grid, community, card key) for
    /// `shangyi emulate --provision FILE`.
    Provision(ProvisionArgs),
}

#[derive(Args)]
pub struct ProvisionArgs {
    /// The SQLite database.
    #[arg(long, default_value = "./var/shangyi.db")]
    pub db: PathBuf,
    /// The card id (16 digits), as in the `set_top_boxes` table.
    #[arg(long)]
    pub card: String,
    /// Where to write the provisioning file (created owner-only: it holds the card's key).
    #[arg(long)]
    pub out: PathBuf,
    /// The return channel's master secret; defaults to `master.key` beside the database.
    #[arg(long)]
    pub master_key: Option<PathBuf>,
}

pub fn run(command: &CardsCommand) -> Result<ExitCode> {
    match command {
        CardsCommand::Provision(args) => provision(args),
    }
}

pub fn provision(args: &ProvisionArgs) -> Result<ExitCode> {
    let card = consult::ids::CardId::parse(&args.card)
        .map_err(|_| anyhow::anyhow!("{:?} is not a card id: exactly 16 digits", args.card))?;
    let wire_card = returnpath::CardId::parse(&args.card)?;
    let store = crate::open_existing(&args.db)?;
    let place = store
        .place_of_card(&card)
        .with_context(|| format!("looking up card {}", args.card))?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "card {} is not in {} (list cards with `sqlite3 {} 'SELECT card_id FROM set_top_boxes LIMIT 5'`)",
                args.card,
                args.db.display(),
                args.db.display()
            )
        })?;
    let master_path = args
        .master_key
        .clone()
        .unwrap_or_else(|| crate::keys::default_path(&args.db));
    if !master_path.exists() {
        bail!(
            "no master secret at {}: start the service once (`shangyi serve --db {}`) to create it, or give --master-key",
            master_path.display(),
            args.db.display()
        );
    }
    let master = crate::keys::load(&master_path)?;
    let provisioning = Provisioning {
        card_key: returnpath::derive_card_key(&master, &wire_card),
        card_id: wire_card,
        household: place.household.0,
        grid: place.grid.0,
        community: place.community.0,
    };
    write_private(&args.out, provisioning.to_json().as_bytes())?;
    println!(
        "wrote {}: card {} of household {}, grid {}, community {}",
        args.out.display(),
        args.card,
        place.household.0,
        place.grid.0,
        place.community.0
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path`, readable by its owner only (it holds a card key).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
