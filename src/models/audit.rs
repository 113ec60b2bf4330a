//! The audit trail in the database: appended in batches, each entry chained to the one before by
//! its hash (an HMAC under the audit key since chain version 1), listed for a clinic's
//! administrators, verified end to end against the chain and the checkpoints kept outside it.

pub mod checkpoint;
pub mod key;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Admin;
use crate::db::schema::{audit_events, check_ins, photos, treatments};
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;
use crate::pagination::PageRequest;
use checkpoint::{Checkpoint, Head};
use key::AuditKey;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Serialises appends on PostgreSQL, where several replicas write to one chain.
const APPEND_LOCK_KEY: i64 = 0x4175_6469_7443_6861;
/// Entries written before the chain was keyed: sha256, recomputable by anyone.
pub const UNKEYED: i32 = 0;
/// HMAC-SHA256 under the audit key.
pub const KEYED: i32 = 1;
/// 17 values a row: 4,250 per statement, under SQLite's and PostgreSQL's limits on bound values.
const ROWS_PER_INSERT: usize = 250;

/// One thing that happened, before it takes its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewEvent {
    pub id: String,
    pub at: NaiveDateTime,
    pub user_id: Option<String>,
    pub role: Option<String>,
    pub clinic_id: Option<String>,
    pub patient_id: Option<String>,
    /// `METHOD /route/{pattern}`, or a named action such as `login`.
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// `success`, `denied`, `invalid`, `throttled` or `error`.
    pub outcome: String,
    pub status: i32,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub at: NaiveDateTime,
    pub user_id: Option<String>,
    pub role: Option<String>,
    pub clinic_id: Option<String>,
    pub patient_id: Option<String>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub status: i32,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub chain_version: i32,
}

impl StoredEvent {
    fn fields(&self) -> NewEvent {
        NewEvent {
            id: self.id.clone(),
            at: self.at,
            user_id: self.user_id.clone(),
            role: self.role.clone(),
            clinic_id: self.clinic_id.clone(),
            patient_id: self.patient_id.clone(),
            action: self.action.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            outcome: self.outcome.clone(),
            status: self.status,
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
        }
    }
}

/// An event in its place in the chain, as appended.
#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct ChainedEvent {
    seq: i64,
    #[diesel(embed)]
    event: NewEvent,
    prev_hash: String,
    hash: String,
    chain_version: i32,
}

/// The fixed canonical form an entry's hash covers: its position and every field.
fn canonical(seq: i64, event: &NewEvent) -> Vec<u8> {
    #[derive(Serialize)]
    struct Canonical<'a> {
        seq: i64,
        at_micros: i64,
        #[serde(flatten)]
        event: &'a NewEvent,
    }
    let canonical = Canonical { seq, at_micros: crate::clock::micros(event.at), event };
    serde_json::to_vec(&canonical).unwrap_or_default()
}

/// The unkeyed hash of chain version 0: sha256(previous hash, position, every field).
pub fn chain_hash(prev_hash: &str, seq: i64, event: &NewEvent) -> String {
    let mut hash = Sha256::new();
    hash.update(prev_hash.as_bytes());
    hash.update(b"\n");
    hash.update(canonical(seq, event));
    hex::encode(hash.finalize())
}

/// The keyed hash of chain version 1: HMAC-SHA256 under the audit key over the same input.
pub fn keyed_hash(key: &AuditKey, prev_hash: &str, seq: i64, event: &NewEvent) -> String {
    key.mac(&[prev_hash.as_bytes(), b"\n", &canonical(seq, event)])
}

/// Fills in the patient a request touched from the resource it named, when the request did not say.
fn patient_of(conn: &mut DbConnection, event: &NewEvent) -> Result<Option<String>, AppError> {
    if event.patient_id.is_some() || event.role.as_deref() == Some("patient") {
        return Ok(event.patient_id.clone().or_else(|| event.user_id.clone()));
    }
    // Only for requests that succeeded: a refused caller must not learn whose resource it probed.
    let Some(id) = event.resource_id.as_deref().filter(|_| event.outcome == "success") else { return Ok(None) };
    Ok(match event.resource_type.as_deref() {
        Some("patient") => Some(id.to_string()),
        Some("treatment") => treatments::table.find(id).select(treatments::patient_id).first(conn).optional()?,
        Some("check-in") => check_ins::table.find(id).select(check_ins::patient_id).first(conn).optional()?,
        Some("photo") => photos::table.find(id).select(photos::patient_id).first(conn).optional()?,
        _ => None,
    })
}

/// Appends `events` in order at the end of the chain, in one transaction, keyed by `key`.
/// Returns the new head of the chain (`None` when there were no events and the chain is empty).
pub fn append(conn: &mut DbConnection, key: &AuditKey, events: Vec<NewEvent>) -> Result<Option<Head>, AppError> {
    write_transaction(conn, |conn| {
        if let DbConnection::Postgres(pg) = conn {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})")).execute(pg)?;
        }
        let last: Option<(i64, String)> = audit_events::table
            .select((audit_events::seq, audit_events::hash))
            .order(audit_events::seq.desc())
            .first(conn)
            .optional()?;
        let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_string()));
        let mut chained = Vec::with_capacity(events.len());
        for mut event in events {
            event.patient_id = patient_of(conn, &event)?;
            seq += 1;
            let hash = keyed_hash(key, &prev, seq, &event);
            let prev_hash = std::mem::replace(&mut prev, hash.clone());
            chained.push(ChainedEvent { seq, event, prev_hash, hash, chain_version: KEYED });
        }
        // Many rows per statement: one statement per event cost more than the rows themselves.
        for rows in chained.chunks(ROWS_PER_INSERT) {
            crate::db::natively!(&mut *conn, |c| diesel::insert_into(audit_events::table).values(rows).execute(c))?;
        }
        Ok((seq > 0).then_some(Head { seq, hash: prev }))
    })
}

pub struct AuditFilter {
    pub patient_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// Only events about this kind of resource (`screening-override`, `patient`...).
    pub resource_type: Option<String>,
    /// Only events of this actor (a user id).
    pub user_id: Option<String>,
    /// Only events of this action (`GET /v1/patients/{id}`: the method and the route).
    pub action: Option<String>,
    /// Only events older than this position (the cursor).
    pub before_seq: Option<i64>,
}

/// The caller's clinic's events, newest first. Administrators only.
pub fn list(
    conn: &mut DbConnection,
    caller: &Admin,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<(Vec<StoredEvent>, Option<i64>), AppError> {
    let mut query = audit_events::table
        .filter(caller.scope().clinic_rows(audit_events::clinic_id.assume_not_null()))
        .select(StoredEvent::as_select())
        .order(audit_events::seq.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(patient) = &filter.patient_id {
        query = query.filter(audit_events::patient_id.eq(patient.clone()));
    }
    if let Some(kind) = &filter.resource_type {
        query = query.filter(audit_events::resource_type.eq(kind.clone()));
    }
    if let Some(actor) = &filter.user_id {
        query = query.filter(audit_events::user_id.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    if let Some(before) = filter.before_seq {
        query = query.filter(audit_events::seq.lt(before));
    }
    let mut rows: Vec<StoredEvent> = query.load(conn)?;
    let more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    let next = if more { rows.last().map(|e| e.seq) } else { None };
    Ok((rows, next))
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub checked: i64,
    /// The first position whose hash or link does not match, or that a checkpoint covers but the
    /// chain no longer has, if any.
    pub broken_at: Option<i64>,
    /// What is wrong, in words, if anything.
    pub problem: Option<String>,
    /// The newest entry's hash.
    pub head_hash: String,
    /// Entries with the unkeyed hash of chain version 0 (written before the chain was keyed).
    pub unkeyed: i64,
    pub keyed: i64,
    /// Where the checkpoints were read, how many, and how many entries they cover.
    pub checkpoint_path: String,
    pub checkpoints: usize,
    pub covered: i64,
    /// Entries after the newest checkpoint: these could be removed without a trace.
    pub after_last_checkpoint: i64,
}

/// The walk along the chain: what has been checked, and the checkpoints still ahead.
struct Walk<'a> {
    key: &'a AuditKey,
    prev: String,
    checked: i64,
    unkeyed: i64,
    keyed: i64,
    covered: i64,
    checkpoints: std::iter::Peekable<std::slice::Iter<'a, Checkpoint>>,
}

impl Walk<'_> {
    /// Checks the next entry; on a mismatch, what is wrong.
    fn step(&mut self, row: &StoredEvent) -> Result<(), String> {
        let seq = self.checked + 1;
        if row.seq != seq {
            return Err(format!("entry {seq} is missing"));
        }
        if row.prev_hash != self.prev {
            return Err(format!("entry {seq} does not link to the entry before it"));
        }
        let expected = match row.chain_version {
            UNKEYED if self.keyed == 0 => chain_hash(&self.prev, seq, &row.fields()),
            UNKEYED => return Err(format!("entry {seq} is unkeyed but follows keyed entries")),
            KEYED => keyed_hash(self.key, &self.prev, seq, &row.fields()),
            other => return Err(format!("entry {seq} has an unknown chain version {other}")),
        };
        if row.hash != expected {
            return Err(format!("entry {seq} does not match its hash (altered, or another audit key)"));
        }
        while let Some(checkpoint) = self.checkpoints.next_if(|c| c.seq == seq) {
            if checkpoint.hash != row.hash {
                return Err(format!("entry {seq} differs from the checkpoint signed at {}", checkpoint.at));
            }
            self.covered = seq;
        }
        self.prev = row.hash.clone();
        self.checked = seq;
        if row.chain_version == KEYED {
            self.keyed += 1
        } else {
            self.unkeyed += 1
        }
        Ok(())
    }

    fn report(self, path: &std::path::Path, count: usize, broken: Option<String>) -> Verification {
        Verification {
            ok: broken.is_none(),
            checked: self.checked,
            broken_at: broken.is_some().then_some(self.checked + 1),
            problem: broken,
            head_hash: self.prev,
            unkeyed: self.unkeyed,
            keyed: self.keyed,
            checkpoint_path: path.display().to_string(),
            checkpoints: count,
            covered: self.covered,
            after_last_checkpoint: self.checked - self.covered,
        }
    }
}

/// Walks the whole chain, recomputing every hash, and checks it against every checkpoint in the
/// file at `checkpoints` (each signed with `key`).
pub fn verify(
    conn: &mut DbConnection,
    key: &AuditKey,
    checkpoints: &std::path::Path,
) -> Result<Verification, AppError> {
    const BATCH: i64 = 5_000;
    let (signed, unreadable) = match checkpoint::read(checkpoints, key) {
        Ok(signed) => (signed, None),
        Err(problem) => (Vec::new(), Some(problem)),
    };
    let mut walk = Walk {
        key,
        prev: GENESIS.to_string(),
        checked: 0,
        unkeyed: 0,
        keyed: 0,
        covered: 0,
        checkpoints: signed.iter().peekable(),
    };
    if let Some(problem) = unreadable {
        return Ok(Verification { broken_at: None, ..walk.report(checkpoints, 0, Some(problem)) });
    }
    loop {
        let rows: Vec<StoredEvent> = audit_events::table
            .filter(audit_events::seq.gt(walk.checked))
            .select(StoredEvent::as_select())
            .order(audit_events::seq.asc())
            .limit(BATCH)
            .load(conn)?;
        if rows.is_empty() {
            let missing = walk.checkpoints.peek().map(|c| {
                format!(
                    "a checkpoint signed at {} covers entry {}, but the chain ends at {}: entries were removed",
                    c.at, c.seq, walk.checked
                )
            });
            return Ok(walk.report(checkpoints, signed.len(), missing));
        }
        for row in rows {
            if let Err(problem) = walk.step(&row) {
                return Ok(walk.report(checkpoints, signed.len(), Some(problem)));
            }
        }
    }
}

/// The events about one patient's record (`patient_id`), in chain order, after position
/// `after_seq`: one page of at most `limit` (the export reads them page by page). Only the events
/// of the patient's own clinic's accounts name a patient (another clinic's requests are refused, and
/// a refused request is never attributed to whose resource it probed), so the clinic narrows the
/// search to the index `audit_events_by_patient`.
pub fn about_patient(
    conn: &mut DbConnection,
    clinic_id: &str,
    patient_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, AppError> {
    Ok(audit_events::table
        .filter(audit_events::clinic_id.eq(clinic_id))
        .filter(audit_events::patient_id.eq(patient_id))
        .filter(audit_events::seq.gt(after_seq))
        .select(StoredEvent::as_select())
        .order(audit_events::seq.asc())
        .limit(limit)
        .load(conn)?)
}
