//! Signed checkpoints of the audit chain, kept outside the database: one JSON line per checkpoint,
//! `{v, seq, count, hash, at, key_id, mac}`, appended and fsync'd to a file meant to be shipped to
//! storage the database's administrators cannot write. Each names the position it covers, so
//! several replicas may append to one file, in any order. `audit verify` checks every one against
//! the chain: removing or rewriting entries up to a checkpoint is then detected.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::key::{AuditKey, beside_database};
use crate::config::Settings;

pub const DEFAULT_FILE: &str = "aftercare-audit-checkpoints.jsonl";
const FORMAT: u32 = 1;

/// The newest entry an append wrote: its position and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub v: u32,
    /// The position of the entry this checkpoint covers.
    pub seq: i64,
    /// How many entries the chain had up to and including it (positions start at 1: equals seq).
    pub count: i64,
    /// That entry's hash.
    pub hash: String,
    pub at: String,
    pub key_id: String,
    pub mac: String,
}

impl Checkpoint {
    pub fn signed(key: &AuditKey, head: &Head) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            v: FORMAT,
            seq: head.seq,
            count: head.seq,
            hash: head.hash.clone(),
            at: crate::clock::format_instant(crate::clock::now()),
            key_id: key.id().to_string(),
            mac: String::new(),
        };
        checkpoint.mac = key.mac(&[checkpoint.signed_text().as_bytes()]);
        checkpoint
    }

    /// What the MAC covers: every other field.
    fn signed_text(&self) -> String {
        let Checkpoint { v, seq, count, hash, at, key_id, mac: _ } = self;
        format!("aftercare audit checkpoint\n{v}\n{seq}\n{count}\n{hash}\n{at}\n{key_id}")
    }

    /// Why this checkpoint cannot be trusted, if it cannot.
    fn problem(&self, key: &AuditKey) -> Option<String> {
        if self.key_id != key.id() {
            return Some(format!(
                "it was signed with another key (key id {}, this one is {}): verify with the AUDIT_KEY \
                 (or JWT_SECRET) the server uses",
                self.key_id,
                key.id()
            ));
        }
        if !key.verify(self.signed_text().as_bytes(), &self.mac) {
            return Some("its MAC does not match: the checkpoint was altered or forged".into());
        }
        (self.v != FORMAT || self.seq < 1 || self.count != self.seq).then(|| "it is malformed".to_string())
    }
}

/// Where checkpoints go: `AUDIT_CHECKPOINT_PATH`, else beside the SQLite database, else the
/// working directory.
pub fn path(settings: &Settings) -> PathBuf {
    settings.audit_checkpoint_path.clone().unwrap_or_else(|| beside_database(&settings.database_url, DEFAULT_FILE))
}

/// Every checkpoint in the file, sorted by position, each with a valid MAC; or what is wrong. A
/// missing file holds none. A last line without its newline (a write cut short) is ignored.
pub fn read(path: &Path, key: &AuditKey) -> Result<Vec<Checkpoint>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read the checkpoints at {}: {e}", path.display())),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    let mut checkpoints = Vec::new();
    for (n, line) in complete.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let problem = match serde_json::from_str::<Checkpoint>(line) {
            Ok(checkpoint) => match checkpoint.problem(key) {
                None => {
                    checkpoints.push(checkpoint);
                    continue;
                }
                Some(problem) => problem,
            },
            Err(_) => "it is not a checkpoint".to_string(),
        };
        return Err(format!("checkpoint on line {} of {}: {problem}", n + 1, path.display()));
    }
    checkpoints.sort_by_key(|c| c.seq);
    Ok(checkpoints)
}

/// Appends one line and waits for it to reach the disk. Opened anew each time, so the file can be
/// rotated or shipped away under a running server.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    // One write: appends from several processes do not interleave within a line.
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_data()
}

/// Decides when the audit writer signs a checkpoint of the chain's head: after `every_events`
/// events, `every` after the first event not yet covered, and when asked (flush, shutdown).
pub struct Checkpointer {
    key: AuditKey,
    path: PathBuf,
    every: Duration,
    every_events: u64,
    head: Option<Head>,
    uncovered: u64,
    uncovered_since: Option<Instant>,
}

impl Checkpointer {
    pub fn new(key: AuditKey, settings: &Settings) -> Checkpointer {
        Checkpointer {
            key,
            path: path(settings),
            every: settings.audit_checkpoint_interval,
            every_events: settings.audit_checkpoint_events,
            head: None,
            uncovered: 0,
            uncovered_since: None,
        }
    }

    pub fn key(&self) -> &AuditKey {
        &self.key
    }

    /// Notes what an append wrote; signs a checkpoint when one is due.
    pub fn appended(&mut self, head: Head, events: u64) {
        self.head = Some(head);
        self.uncovered += events;
        let since = *self.uncovered_since.get_or_insert_with(Instant::now);
        if self.uncovered >= self.every_events || since.elapsed() >= self.every {
            self.checkpoint();
        }
    }

    /// How long until the events written so far must be covered; `None` when they are.
    pub fn due_in(&self) -> Option<Duration> {
        self.uncovered_since.map(|since| self.every.saturating_sub(since.elapsed()))
    }

    /// Signs and writes a checkpoint of the newest entry this writer appended, if not yet covered.
    /// A failure is logged and retried at the next one: the events themselves are already stored.
    pub fn checkpoint(&mut self) {
        let Some(head) = self.head.as_ref().filter(|_| self.uncovered > 0) else { return };
        let line = serde_json::to_string(&Checkpoint::signed(&self.key, head)).unwrap_or_default();
        match append_line(&self.path, &line) {
            Ok(()) => {
                self.uncovered = 0;
                self.uncovered_since = None;
            }
            Err(err) => {
                tracing::error!(
                    error = %err, path = %self.path.display(), seq = head.seq,
                    "could not write an audit checkpoint; will retry"
                );
                self.uncovered_since = Some(Instant::now());
            }
        }
    }
}
