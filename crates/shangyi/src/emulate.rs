//! `shangyi emulate`: an operator drives an emulated set-top box with remote keys, from a
//! community's bundle and a card's provisioning file, and sees every frame. Votes and comments
//! go into the box's outbox on disk, and upstream with `--server`.
//!
//! Interactive key reading uses crossterm: arrow keys, Enter and Backspace arrive as escape
//! sequences that only a terminal in raw mode hands over one by one, and crossterm does raw mode
//! and the decoding without `unsafe` termios calls (which the workspace forbids).

use anyhow::{Context, Result, bail};
use clap::Args;
use emulator::contact_sheet::{SheetFrame, contact_sheet};
use emulator::keys::{RemoteKey, parse_sequence};
use emulator::{BoxConfig, BoxContent, Provisioning, SetTopBox, Step};
use render::Pixmap;
use returnpath::{Body, SendConfig, SignedMessage};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct EmulateArgs {
    /// The community's bundle directory (verified as `bundle verify` does).
    #[arg(long)]
    bundle: PathBuf,
    /// The base bundle; by default the one beside the community's bundle.
    #[arg(long)]
    base: Option<PathBuf>,
    /// The box's provisioning file (`shangyi cards provision` writes one).
    #[arg(long)]
    provision: PathBuf,
    /// Keys to press, e.g. "DOWN DOWN OK RED OK" (HbbTV names such as VK_ENTER, or short
    /// ones). Without it, keys are read from the terminal.
    #[arg(long)]
    keys: Option<String>,
    /// Write one PNG per step into this directory.
    #[arg(long)]
    frames: Option<PathBuf>,
    /// Lay every frame of the session on one PNG.
    #[arg(long)]
    contact_sheet: Option<PathBuf>,
    /// The headend (e.g. http://127.0.0.1:8080): queued messages are sent, and resent until
    /// acknowledged.
    #[arg(long)]
    server: Option<String>,
    /// The box's clock (RFC 3339): which notices are in force, and the time votes are signed
    /// with. Defaults to now.
    #[arg(long)]
    at: Option<String>,
    /// The box's outbox log. Defaults to FILE.outbox beside the provisioning file.
    #[arg(long)]
    outbox: Option<PathBuf>,
    /// The theme the household picked: standard or elders.
    #[arg(long, default_value = "standard")]
    theme: String,
    /// How long to keep resending before leaving messages queued for the next run.
    #[arg(long, default_value_t = 30)]
    send_timeout: u64,
}

/// Frames kept for the contact sheet.
type Frames = Vec<(String, Pixmap)>;

struct Session {
    stb: SetTopBox,
    frames_dir: Option<PathBuf>,
    sheet: Option<Frames>,
    sender: Option<Sender>,
    step: usize,
    /// Without `--at` the box runs on the real clock: messages carry the time of the key.
    live_clock: bool,
    /// Raw mode needs "\r\n" to start a line at the left.
    newline: &'static str,
}

struct Sender {
    runtime: tokio::runtime::Runtime,
    transport: returnpath::http::HttpTransport,
    config: SendConfig,
    timeout: Duration,
}

pub fn run(args: &EmulateArgs) -> Result<ExitCode> {
    let identity_bytes = std::fs::read(&args.provision)
        .with_context(|| format!("reading {}", args.provision.display()))?;
    let identity = Provisioning::parse(&identity_bytes)
        .with_context(|| format!("{}", args.provision.display()))?;
    let keys = match &args.keys {
        Some(text) => {
            check_keys(text)?;
            Some(parse_sequence(text)?)
        }
        None => None,
    };
    let at = match &args.at {
        Some(text) => consult::time::Timestamp::parse(text)?.0,
        None => now(),
    };
    let content = BoxContent::from_bundle(&args.bundle, args.base.as_deref())?;
    let outbox = args.outbox.clone().unwrap_or_else(|| {
        let mut p = args.provision.clone().into_os_string();
        p.push(".outbox");
        PathBuf::from(p)
    });
    let origin = content.origin.clone();
    let stb = SetTopBox::start(
        content,
        identity,
        BoxConfig {
            theme: args.theme.clone(),
            at,
            outbox: outbox.clone(),
        },
    )?;
    let sender = match &args.server {
        Some(url) => Some(Sender {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the send loop's runtime")?,
            transport: returnpath::http::HttpTransport::new(url)?,
            config: SendConfig {
                // Boxes must not retry in step: seed the jitter from the card and the clock.
                jitter_seed: stb.identity().card_id.as_str().parse::<u64>().unwrap_or(0)
                    ^ now() as u64,
                ..SendConfig::default()
            },
            timeout: Duration::from_secs(args.send_timeout),
        }),
        None => None,
    };
    if let Some(dir) = &args.frames {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let id = stb.identity();
    println!(
        "box: card {} (household {}, grid {}) · bundle {} v{} of community {} · theme {} · clock {}",
        id.card_id,
        id.household,
        id.grid,
        origin.bundle_id,
        origin.version,
        id.community,
        stb.theme(),
        consult::time::Timestamp(at).to_display()
    );
    println!(
        "outbox: {} ({} queued)",
        outbox.display(),
        stb.outbox().pending_len()
    );
    let mut session = Session {
        stb,
        frames_dir: args.frames.clone(),
        sheet: args.contact_sheet.as_ref().map(|_| Vec::new()),
        sender,
        step: 0,
        live_clock: args.at.is_none(),
        newline: "\n",
    };
    println!("{:>4}  {:<13} {:<28} focus", "step", "key", "screen");
    session.show(None)?;
    // What an earlier run left queued goes first.
    session.send()?;
    match keys {
        Some(keys) => {
            for key in keys {
                if session.press(key)? {
                    break;
                }
            }
        }
        None => session.interactive()?,
    }
    if let (Some(path), Some(frames)) = (&args.contact_sheet, &session.sheet) {
        let sheet_frames: Vec<SheetFrame<'_>> = frames
            .iter()
            .map(|(label, pixmap)| SheetFrame { label, pixmap })
            .collect();
        let mut typesetter = typeset::Typesetter::new()?;
        let sheet = contact_sheet(&sheet_frames, &mut typesetter)?;
        std::fs::write(path, render::encode_png(&sheet)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "contact sheet: {} ({} frames)",
            path.display(),
            frames.len()
        );
    }
    session.summary(&outbox);
    Ok(ExitCode::SUCCESS)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn describe(body: &Body) -> String {
    match body {
        Body::Vote { topic_id, option } => format!("vote: topic {topic_id}, option {option}"),
        Body::Comment { topic_id, text } => format!("comment: topic {topic_id}, “{text}”"),
        Body::NoticeSeen { notice_id } => format!("notice_seen: notice {notice_id}"),
    }
}

fn describe_message(m: &SignedMessage) -> String {
    format!(
        "#{} {} (signed {}, tag {}…)",
        m.seq(),
        describe(&m.message.body),
        consult::time::Timestamp(m.message.sent_at).to_display(),
        &m.tag.to_hex()[..12]
    )
}

impl Session {
    /// Prints the state after a step, writes its frame; `step` is `None` at power-on.
    fn show(&mut self, step: Option<&Step>) -> Result<()> {
        let nl = self.newline;
        let screen = match self.stb.document() {
            Some(d) => match (&d.param, d.page) {
                (Some(p), Some(pg)) if pg.count > 1 => {
                    format!("{} {p} p{}", d.screen, pg.index + 1)
                }
                (Some(p), _) => format!("{} {p}", d.screen),
                (None, Some(pg)) if pg.count > 1 => format!("{} p{}", d.screen, pg.index + 1),
                (None, _) => d.screen.clone(),
            },
            None => String::new(),
        };
        let key = step.map_or("(power on)".to_owned(), |s| s.key.to_string());
        let focus = self.stb.focus().unwrap_or("-").to_owned();
        print!("{:>4}  {key:<13} {screen:<28} {focus}{nl}", self.step);
        if let Some(step) = step {
            if let Some(q) = &step.queued {
                print!(
                    "      ↳ queued #{} {} — signed, on disk{nl}",
                    q.seq,
                    describe(&q.body)
                );
            }
            if let Some(note) = &step.note {
                print!("      ↳ {note}{nl}");
            }
        }
        let _ = std::io::stdout().flush();
        if self.frames_dir.is_none() && self.sheet.is_none() {
            return Ok(());
        }
        let (pixmap, report) = self.stb.frame()?;
        if !report.is_clean() {
            print!("      ↳ frame left out: {report:?}{nl}");
        }
        let slug: String = screen
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if let Some(dir) = &self.frames_dir {
            let path = dir.join(format!("step-{:03}-{slug}.png", self.step));
            std::fs::write(&path, render::encode_png(&pixmap)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(frames) = &mut self.sheet {
            let short = step.map_or("start", |s| s.key.short_name());
            frames.push((
                format!("{} {short} > {screen} [{focus}]", self.step),
                pixmap,
            ));
        }
        Ok(())
    }

    /// Presses one key; returns whether the box left the channel (EXIT).
    fn press(&mut self, key: RemoteKey) -> Result<bool> {
        self.step += 1;
        let step = self.stb.press_at(key, self.clock_for_signing())?;
        self.show(Some(&step))?;
        if step.queued.is_some() {
            self.send()?;
        }
        Ok(self.stb.exited())
    }

    /// With `--at` the box lives at that time; without, messages carry the real time.
    fn clock_for_signing(&self) -> i64 {
        if self.live_clock {
            now()
        } else {
            self.stb.clock()
        }
    }

    /// Sends what is queued, if there is a server; prints the headend's receipts.
    fn send(&mut self) -> Result<()> {
        let nl = self.newline;
        let Some(sender) = &self.sender else {
            return Ok(());
        };
        if self.stb.outbox().is_empty() {
            return Ok(());
        }
        let pending: Vec<SignedMessage> = self.stb.outbox().pending();
        let outcome = sender.runtime.block_on(async {
            tokio::time::timeout(
                sender.timeout,
                self.stb.deliver(&sender.transport, &sender.config),
            )
            .await
        });
        match outcome {
            Ok(Ok(report)) => {
                let refused: Vec<u64> = report.rejected.iter().map(|r| r.message.seq()).collect();
                for m in pending.iter().filter(|m| !refused.contains(&m.seq())) {
                    print!(
                        "      ↳ receipt #{}: the headend has it ({})",
                        m.seq(),
                        describe(&m.message.body)
                    );
                    print!("{nl}");
                }
                for r in &report.rejected {
                    print!(
                        "      ↳ receipt #{}: refused, {} ({})",
                        r.message.seq(),
                        r.reason.as_str(),
                        describe(&r.message.message.body)
                    );
                    print!("{nl}");
                }
                print!(
                    "      ↳ {} stored, {} already there, {} refused, {} attempts{nl}",
                    report.stored,
                    report.duplicates,
                    report.rejected.len(),
                    report.attempts
                );
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => print!(
                "      ↳ no acknowledgement within {} s: {} message(s) stay queued on disk and are resent on the next run{nl}",
                sender.timeout.as_secs(),
                self.stb.outbox().pending_len()
            ),
        }
        let _ = std::io::stdout().flush();
        Ok(())
    }

    fn summary(&self, outbox: &Path) {
        let pending = self.stb.outbox().pending();
        if pending.is_empty() {
            println!("outbox: empty ({})", outbox.display());
        } else {
            let why = if self.sender.is_some() {
                "not yet acknowledged"
            } else {
                "not sent: no --server"
            };
            println!(
                "outbox: {} message(s) queued in {} ({why}):",
                pending.len(),
                outbox.display()
            );
            for m in &pending {
                println!("  {}", describe_message(m));
            }
        }
        for r in self.stb.outbox().rejected() {
            println!(
                "  refused by the headend: {} — {}",
                describe_message(&r.message),
                r.reason.as_str()
            );
        }
    }

    /// Reads keys from the terminal until q, Ctrl-C or EXIT; from standard input line by line
    /// (key names) when it is not a terminal.
    fn interactive(&mut self) -> Result<()> {
        if !std::io::stdin().is_terminal() {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading keys from standard input")?;
                for key in parse_sequence(&line)? {
                    if self.press(key)? {
                        return Ok(());
                    }
                }
            }
            return Ok(());
        }
        println!(
            "keys: arrows, Enter = OK, Backspace = BACK, r g y b = colour keys, 0-9, PgUp/PgDn, i = INFO, m = MENU, Esc = EXIT, q = quit"
        );
        crossterm::terminal::enable_raw_mode().context("putting the terminal in raw mode")?;
        self.newline = "\r\n";
        let result = self.read_terminal_keys();
        self.newline = "\n";
        let restored = crossterm::terminal::disable_raw_mode();
        result?;
        restored.context("restoring the terminal")?;
        Ok(())
    }

    fn read_terminal_keys(&mut self) -> Result<()> {
        use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, read};
        loop {
            let Event::Key(ev) = read().context("reading a key")? else {
                continue;
            };
            if ev.kind == KeyEventKind::Release {
                continue;
            }
            let key = match ev.code {
                KeyCode::Char('c') if ev.modifiers.contains(KeyModifiers::CONTROL) => return Ok(()),
                KeyCode::Char('q') => return Ok(()),
                KeyCode::Left => RemoteKey::Left,
                KeyCode::Right => RemoteKey::Right,
                KeyCode::Up => RemoteKey::Up,
                KeyCode::Down => RemoteKey::Down,
                KeyCode::Enter => RemoteKey::Enter,
                KeyCode::Backspace => RemoteKey::Back,
                KeyCode::Esc => RemoteKey::Exit,
                KeyCode::PageUp => RemoteKey::PageUp,
                KeyCode::PageDown => RemoteKey::PageDown,
                KeyCode::Char('r') => RemoteKey::Red,
                KeyCode::Char('g') => RemoteKey::Green,
                KeyCode::Char('y') => RemoteKey::Yellow,
                KeyCode::Char('b') => RemoteKey::Blue,
                KeyCode::Char('i') => RemoteKey::Info,
                KeyCode::Char('m') => RemoteKey::Menu,
                KeyCode::Char(c) if c.is_ascii_digit() => match RemoteKey::digit(c as u8 - b'0') {
                    Some(k) => k,
                    None => continue,
                },
                _ => continue,
            };
            if self.press(key)? {
                return Ok(());
            }
        }
    }
}

/// Refuses an empty key list early, with the list of keys (clap would accept "").
pub fn check_keys(text: &str) -> Result<()> {
    if parse_sequence(text)?.is_empty() {
        bail!(
            "--keys names no key; the remote's keys are: {}",
            emulator::keys::valid_key_list()
        );
    }
    Ok(())
}
