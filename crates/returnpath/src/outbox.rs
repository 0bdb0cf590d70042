//! The box's outbox: every message the household sent that the headend has not yet
//! acknowledged, kept in an append-only log so that a power cut loses nothing.
//!
//! The log is one file per box, one record per line:
//!
//! ```text
//! <16 hex digits: the first 8 bytes of SHA-256 of the JSON> <space> <JSON record> <LF>
//! ```
//!
//! The first line is a header (`{"t":"header","version":1,"card_id":"…","next_seq":N}`); then
//! come `message` records (a signed message, as on the wire) and `acks` records (what became of
//! some seqs). Every append is exactly one line written with one `write` and then `fsync`ed, so
//! a power cut can tear at most the last line: on open such a last line is cut off (it was never
//! reported as written), while a bad line anywhere else is corruption and an error.
//!
//! When every message is acknowledged the log is compacted: a new file with only the header (its
//! `next_seq` keeps seqs from ever being reused) and the refusals not yet dismissed is written
//! beside it, synced, and renamed over it.
//!
//! [`Outbox::in_memory`] gives the same behaviour without a file, for simulations of many boxes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::auth::{CardKey, sign_message};
use crate::wire::{Ack, AckStatus, Body, CardId, Message, MessageError, ReasonCode, SignedMessage};

/// The log format's version, in its header.
const LOG_VERSION: u32 = 1;

/// A message the headend refused (or that the box gave up on because the headend refused every
/// batch holding it): kept so the box can tell the household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub message: SignedMessage,
    pub reason: ReasonCode,
}

/// What one acknowledgement did to the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Delivered: stored now, or earlier (a duplicate).
    Delivered(AckStatus),
    /// Delivered but refused, for good.
    Rejected(ReasonCode),
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("outbox {path}, line {line}: {why}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("outbox {path} belongs to card {found}, not {expected}")]
    WrongCard {
        path: PathBuf,
        found: CardId,
        expected: CardId,
    },
    #[error("the message cannot be sent: {0}")]
    Invalid(#[from] MessageError),
    #[error("card {0} has used every sequence number")]
    SeqExhausted(CardId),
    #[error(
        "outbox {path}: an earlier write failed and the file's state is unknown; reopen the outbox"
    )]
    Poisoned { path: PathBuf },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Record {
    Header {
        version: u32,
        card_id: CardId,
        next_seq: u64,
    },
    Message {
        message: SignedMessage,
    },
    /// Acknowledgements recorded together, one line per response, so that a response's acks
    /// reach the disk in one write (and can tear only as a whole last line).
    Acks {
        acks: Vec<LoggedAck>,
    },
    /// A refusal kept across compaction until the box dismisses it.
    Refused {
        message: SignedMessage,
        reason: ReasonCode,
    },
    /// The box showed the refusals to the household; forget them.
    Dismissed,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoggedAck {
    seq: u64,
    status: AckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<ReasonCode>,
}

struct Log {
    path: PathBuf,
    file: File,
    /// Bytes known to be good: where a failed append is cut back to.
    len: u64,
    /// Set when a write or sync failed and the file could not be restored.
    poisoned: bool,
}

/// The outbox of one box (one card).
pub struct Outbox {
    card_id: CardId,
    key: CardKey,
    next_seq: u64,
    pending: BTreeMap<u64, SignedMessage>,
    rejected: Vec<Rejection>,
    log: Option<Log>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("card_id", &self.card_id)
            .field("next_seq", &self.next_seq)
            .field("pending", &self.pending.len())
            .field("rejected", &self.rejected.len())
            .field("path", &self.log.as_ref().map(|l| &l.path))
            .finish()
    }
}

impl Outbox {
    /// An outbox that lives only in memory: for simulations and tests, never for a real box.
    pub fn in_memory(card_id: CardId, key: CardKey) -> Outbox {
        Outbox {
            card_id,
            key,
            next_seq: 1,
            pending: BTreeMap::new(),
            rejected: Vec::new(),
            log: None,
        }
    }

    /// Opens the box's log at `path`, creating it if it does not exist, and replays it: what was
    /// pending before a restart or power cut is pending again.
    ///
    /// Only one `Outbox` may have a file open at a time.
    pub fn open(
        path: impl AsRef<Path>,
        card_id: CardId,
        key: CardKey,
    ) -> Result<Outbox, OutboxError> {
        let path = path.as_ref().to_path_buf();
        let io_err = |source| OutboxError::Io {
            path: path.clone(),
            source,
        };
        // A leftover from a compaction cut short: the log itself is still whole (the rename is
        // the commit point), so the half-written copy goes.
        let tmp = tmp_path(&path);
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        let mut outbox = Outbox::in_memory(card_id, key);
        let bytes = match File::open(&path) {
            Ok(mut file) => {
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes).map_err(io_err)?;
                Some(bytes)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(e)),
        };
        match bytes {
            None => write_snapshot(&path, &outbox.snapshot()).map_err(io_err)?,
            Some(bytes) => {
                let good_len = outbox.replay(&path, &bytes)?;
                if good_len < bytes.len() {
                    // Cut off the torn last line, so the next append starts on a clean line.
                    let file = OpenOptions::new().write(true).open(&path).map_err(io_err)?;
                    file.set_len(good_len as u64).map_err(io_err)?;
                    file.sync_all().map_err(io_err)?;
                }
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        outbox.log = Some(Log {
            path,
            file,
            len,
            poisoned: false,
        });
        Ok(outbox)
    }

    /// Replays the log's bytes into this (empty) outbox; returns how many bytes are good.
    fn replay(&mut self, path: &Path, bytes: &[u8]) -> Result<usize, OutboxError> {
        let corrupt = |line: usize, why: String| OutboxError::Corrupt {
            path: path.to_path_buf(),
            line,
            why,
        };
        let mut good_len = 0;
        let mut line_no = 0;
        let mut rest = bytes;
        while !rest.is_empty() {
            line_no += 1;
            let (line, next, terminated) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..], true),
                None => (rest, &rest[rest.len()..], false),
            };
            let record = if terminated {
                parse_line(line)
            } else {
                Err("the line has no end".to_string())
            };
            match record {
                Ok(record) => {
                    if let Record::Header { card_id, .. } = &record {
                        if *card_id != self.card_id {
                            return Err(OutboxError::WrongCard {
                                path: path.to_path_buf(),
                                found: card_id.clone(),
                                expected: self.card_id.clone(),
                            });
                        }
                    }
                    self.apply(record, line_no == 1)
                        .map_err(|why| corrupt(line_no, why))?;
                    good_len += line.len() + 1;
                }
                // One bad line at the very end is what a power cut during an append leaves.
                // The header is never appended (it is renamed into place), so it cannot be torn.
                Err(_) if next.is_empty() && line_no > 1 => return Ok(good_len),
                Err(why) => {
                    return Err(corrupt(line_no, why));
                }
            }
            rest = next;
        }
        if line_no == 0 {
            return Err(corrupt(
                1,
                "the log is empty; it should start with a header".into(),
            ));
        }
        Ok(good_len)
    }

    fn apply(&mut self, record: Record, first: bool) -> Result<(), String> {
        match (first, record) {
            (
                true,
                Record::Header {
                    version,
                    card_id,
                    next_seq,
                },
            ) => {
                if version != LOG_VERSION {
                    return Err(format!(
                        "log version {version}; this build reads {LOG_VERSION}"
                    ));
                }
                if card_id != self.card_id {
                    return Err(format!(
                        "the log is card {card_id}'s, not card {}'s",
                        self.card_id
                    ));
                }
                if next_seq == 0 {
                    return Err("next_seq 0 in the header".into());
                }
                self.next_seq = next_seq;
            }
            (true, _) => return Err("the first line is not a header".into()),
            (false, Record::Header { .. }) => return Err("a second header".into()),
            (false, Record::Message { message }) => {
                if message.message.card_id != self.card_id {
                    return Err(format!("a message of card {}", message.message.card_id));
                }
                // Seqs are handed out one after another, so the log holds them in order.
                if message.message.seq != self.next_seq {
                    return Err(format!(
                        "seq {} where {} was next",
                        message.message.seq, self.next_seq
                    ));
                }
                self.next_seq = self.next_seq.saturating_add(1);
                self.pending.insert(message.message.seq, message);
            }
            (false, Record::Acks { acks }) => {
                for ack in acks {
                    let settled = match (ack.status, ack.reason) {
                        (AckStatus::Rejected, reason) => {
                            Settled::Rejected(reason.unwrap_or(ReasonCode::Unrecognized))
                        }
                        (status, _) => Settled::Delivered(status),
                    };
                    self.settle(ack.seq, settled);
                }
            }
            (false, Record::Refused { message, reason }) => {
                self.rejected.push(Rejection { message, reason });
            }
            (false, Record::Dismissed) => self.rejected.clear(),
        }
        Ok(())
    }

    /// Removes a pending message; returns whether it was pending.
    fn settle(&mut self, seq: u64, settled: Settled) -> bool {
        match self.pending.remove(&seq) {
            Some(message) => {
                if let Settled::Rejected(reason) = settled {
                    self.rejected.push(Rejection { message, reason });
                }
                true
            }
            None => false,
        }
    }

    pub fn card_id(&self) -> &CardId {
        &self.card_id
    }

    /// The seq the next message will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Creates, signs and durably queues a message; returns its seq. When this returns `Ok`, the
    /// message survives a power cut.
    ///
    /// `sent_at` is now, in Unix seconds (UTC), from the caller: the crate reads no clock.
    pub fn enqueue(&mut self, body: Body, sent_at: i64) -> Result<u64, OutboxError> {
        body.validate()?;
        let seq = self.next_seq;
        let next = seq
            .checked_add(1)
            .ok_or_else(|| OutboxError::SeqExhausted(self.card_id.clone()))?;
        let signed = sign_message(
            &self.key,
            Message {
                card_id: self.card_id.clone(),
                seq,
                sent_at,
                body,
            },
        );
        if let Some(log) = &mut self.log {
            log.append(&Record::Message {
                message: signed.clone(),
            })?;
        }
        self.next_seq = next;
        self.pending.insert(seq, signed);
        Ok(seq)
    }

    /// Every message not yet acknowledged, oldest first.
    pub fn pending(&self) -> Vec<SignedMessage> {
        self.pending.values().cloned().collect()
    }

    /// The pending messages, oldest first, without copying them.
    pub fn pending_iter(&self) -> impl Iterator<Item = &SignedMessage> {
        self.pending.values()
    }

    /// The pending message with this seq.
    pub fn get(&self, seq: u64) -> Option<&SignedMessage> {
        self.pending.get(&seq)
    }

    /// How many messages are not yet acknowledged.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Nothing left to send.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Messages the headend refused, for the box to show; kept until [`Outbox::dismiss_rejected`].
    pub fn rejected(&self) -> &[Rejection] {
        &self.rejected
    }

    /// Records one acknowledgement. See [`Outbox::acknowledge_all`].
    pub fn acknowledge(&mut self, ack: &Ack) -> Result<Option<Settled>, OutboxError> {
        Ok(self
            .acknowledge_all(std::slice::from_ref(ack))?
            .pop()
            .flatten())
    }

    /// Records the acknowledgements of a response, in one write, synced. Acks of another card, or
    /// of a seq that is not pending (already settled, or never sent), change nothing and give
    /// `None`. When the last pending message is settled, the log is compacted.
    pub fn acknowledge_all(&mut self, acks: &[Ack]) -> Result<Vec<Option<Settled>>, OutboxError> {
        let mut logged = Vec::new();
        let mut settled = Vec::with_capacity(acks.len());
        for ack in acks {
            if ack.card_id != self.card_id || !self.pending.contains_key(&ack.seq) {
                settled.push(None);
                continue;
            }
            let outcome = match ack.status {
                AckStatus::Rejected => {
                    Settled::Rejected(ack.reason.unwrap_or(ReasonCode::Unrecognized))
                }
                status => Settled::Delivered(status),
            };
            logged.push(LoggedAck {
                seq: ack.seq,
                status: ack.status,
                reason: match outcome {
                    Settled::Rejected(reason) => Some(reason),
                    Settled::Delivered(_) => None,
                },
            });
            settled.push(Some((ack.seq, outcome)));
        }
        if logged.is_empty() {
            return Ok(vec![None; acks.len()]);
        }
        // Write first, then change memory: if the write fails, memory still matches the disk.
        // (Losing an ack would be harmless anyway: the message is resent and comes back as a
        // duplicate.)
        if let Some(log) = &mut self.log {
            log.append(&Record::Acks { acks: logged })?;
        }
        let mut out = Vec::with_capacity(settled.len());
        for entry in settled {
            out.push(entry.and_then(|(seq, outcome)| self.settle(seq, outcome).then_some(outcome)));
        }
        if self.pending.is_empty() {
            // The acks are on disk already; compaction is housekeeping. If it fails before its
            // rename nothing changed (the log just stays long, and the next time everything is
            // settled it tries again); if it fails after, the outbox is poisoned and the next
            // write says so. Either way this answer is true.
            let _ = self.compact();
        }
        Ok(out)
    }

    /// Forgets the refusals (the box has shown them to the household).
    pub fn dismiss_rejected(&mut self) -> Result<(), OutboxError> {
        if self.rejected.is_empty() {
            return Ok(());
        }
        if let Some(log) = &mut self.log {
            log.append(&Record::Dismissed)?;
        }
        self.rejected.clear();
        Ok(())
    }

    /// When nothing is pending, rewrites the log as just a header (keeping the next seq) and the
    /// refusals not yet dismissed; does nothing while messages are pending. Called by itself
    /// when the last pending message is settled.
    pub fn compact(&mut self) -> Result<(), OutboxError> {
        if !self.pending.is_empty() {
            return Ok(());
        }
        let snapshot = self.snapshot();
        let Some(log) = &mut self.log else {
            return Ok(());
        };
        if log.poisoned {
            return Err(OutboxError::Poisoned {
                path: log.path.clone(),
            });
        }
        let path = log.path.clone();
        let io_err = |source| OutboxError::Io {
            path: path.clone(),
            source,
        };
        // Until the rename, the old log is whole and its handle good: a failure changes nothing.
        let tmp = tmp_path(&path);
        if let Err(e) = write_file(&tmp, &snapshot) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(e));
        }
        fs::rename(&tmp, &path).map_err(io_err)?;
        // After it, appends must go to the new file, and the rename must be durable; if either
        // fails, nobody knows which file a restart will find, so the outbox takes no more writes.
        let reopened = OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|file| Ok((file.metadata()?.len(), file)))
            .and_then(|opened| sync_dir(&path).map(|()| opened));
        match reopened {
            Ok((len, file)) => {
                log.file = file;
                log.len = len;
                Ok(())
            }
            Err(e) => {
                log.poisoned = true;
                Err(io_err(e))
            }
        }
    }

    /// How many bytes the log file has (0 for an outbox in memory): lets tests see compaction.
    pub fn log_len(&self) -> u64 {
        self.log.as_ref().map_or(0, |l| l.len)
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(encode_line(&Record::Header {
            version: LOG_VERSION,
            card_id: self.card_id.clone(),
            next_seq: self.next_seq,
        }));
        for r in &self.rejected {
            out.extend(encode_line(&Record::Refused {
                message: r.message.clone(),
                reason: r.reason,
            }));
        }
        out
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Writes `bytes` as the whole new content of `path`, atomically: a temporary file beside it,
/// synced, renamed over it, and the directory synced so the rename itself survives a power cut.
fn write_snapshot(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_path(path);
    write_file(&tmp, bytes)?;
    fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Creates (or truncates) a file with these bytes, synced.
fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing elsewhere; the rename is as durable as the
    // platform makes it.
    Ok(())
}

fn checksum(json: &[u8]) -> String {
    let digest = Sha256::digest(json);
    hex::encode(&digest[..8])
}

fn encode_line(record: &Record) -> Vec<u8> {
    // Records hold only strings and integers: serialising them cannot fail. An empty JSON
    // object would be refused on replay, which is the safe way to fail.
    let json = serde_json::to_vec(record).unwrap_or_default();
    let mut line = Vec::with_capacity(json.len() + 18);
    line.extend_from_slice(checksum(&json).as_bytes());
    line.push(b' ');
    line.extend_from_slice(&json);
    line.push(b'\n');
    line
}

fn parse_line(line: &[u8]) -> Result<Record, String> {
    if line.len() < 18 || line[16] != b' ' {
        return Err("not a checksummed line".into());
    }
    let (sum, json) = (&line[..16], &line[17..]);
    if sum != checksum(json).as_bytes() {
        return Err("the checksum does not match".into());
    }
    serde_json::from_slice(json).map_err(|e| format!("not a record: {e}"))
}

impl Log {
    fn append(&mut self, record: &Record) -> Result<(), OutboxError> {
        if self.poisoned {
            return Err(OutboxError::Poisoned {
                path: self.path.clone(),
            });
        }
        let line = encode_line(record);
        let result = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(source) => {
                // Cut a partial line back off, so that it cannot end up in the middle of the log
                // once later appends succeed. If even that fails, refuse further writes: after a
                // failed fsync nobody knows what is on the disk.
                let restored = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_data());
                if restored.is_err() {
                    self.poisoned = true;
                }
                Err(OutboxError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }
}
