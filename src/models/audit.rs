//! The audit trail in the database: appended in batches, each entry chained to the one before by
//! its hash, listed for a clinic's administrators, verified end to end.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::db::schema::{audit_events, check_ins, photos, treatments};
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;
use crate::pagination::PageRequest;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Serialises appends on PostgreSQL, where several replicas write to one chain.
const APPEND_LOCK_KEY: i64 = 0x4175_6469_7443_6861;
/// 16 values a row: 4,000 per statement, under SQLite's and PostgreSQL's limits on bound values.
const ROWS_PER_INSERT: usize = 250;

/// One thing that happened, before it takes its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// sha256(previous hash, position, every field), over a fixed canonical form.
pub fn chain_hash(prev_hash: &str, seq: i64, event: &NewEvent) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        seq: i64,
        at_micros: i64,
        #[serde(flatten)]
        event: &'a NewEvent,
    }
    let canonical = Canonical { seq, at_micros: crate::clock::micros(event.at), event };
    let mut hash = Sha256::new();
    hash.update(prev_hash.as_bytes());
    hash.update(b"\n");
    hash.update(serde_json::to_vec(&canonical).unwrap_or_default());
    hex::encode(hash.finalize())
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

/// Appends `events` in order at the end of the chain, in one transaction.
pub fn append(conn: &mut DbConnection, events: Vec<NewEvent>) -> Result<(), AppError> {
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
            let hash = chain_hash(&prev, seq, &event);
            chained.push((seq, event, std::mem::replace(&mut prev, hash.clone()), hash));
        }
        // Many rows per statement: one statement per event cost more than the rows themselves.
        for rows in chained.chunks(ROWS_PER_INSERT) {
            let values: Vec<_> = rows
                .iter()
                .map(|(seq, event, prev_hash, hash)| {
                    (
                        (
                            audit_events::seq.eq(*seq),
                            audit_events::id.eq(&event.id),
                            audit_events::at.eq(event.at),
                            audit_events::user_id.eq(&event.user_id),
                            audit_events::role.eq(&event.role),
                            audit_events::clinic_id.eq(&event.clinic_id),
                            audit_events::patient_id.eq(&event.patient_id),
                            audit_events::action.eq(&event.action),
                        ),
                        (
                            audit_events::resource_type.eq(&event.resource_type),
                            audit_events::resource_id.eq(&event.resource_id),
                            audit_events::outcome.eq(&event.outcome),
                            audit_events::status.eq(event.status),
                            audit_events::request_id.eq(&event.request_id),
                            audit_events::client_addr.eq(&event.client_addr),
                            audit_events::prev_hash.eq(prev_hash),
                            audit_events::hash.eq(hash),
                        ),
                    )
                })
                .collect();
            crate::natively!(&mut *conn, |c| diesel::insert_into(audit_events::table).values(&values).execute(c))?;
        }
        Ok(())
    })
}

pub struct AuditFilter {
    pub patient_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// Only events older than this position (the cursor).
    pub before_seq: Option<i64>,
}

/// The caller's clinic's events, newest first. Administrators only.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<(Vec<StoredEvent>, Option<i64>), AppError> {
    caller.require_admin()?;
    let mut query = audit_events::table
        .filter(audit_events::clinic_id.eq(caller.clinic_id.clone()))
        .select(StoredEvent::as_select())
        .order(audit_events::seq.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(patient) = &filter.patient_id {
        query = query.filter(audit_events::patient_id.eq(patient.clone()));
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
    pub checked: i64,
    pub ok: bool,
    /// The first entry whose hash or link does not match, if any.
    pub broken_at: Option<i64>,
    /// The newest entry's hash. Keep it somewhere else: a later check against it also reveals
    /// newest entries that were removed.
    pub head_hash: String,
}

/// Walks the whole chain, recomputing every hash.
pub fn verify(conn: &mut DbConnection) -> Result<Verification, AppError> {
    const BATCH: i64 = 5_000;
    let (mut prev, mut expected_seq, mut checked) = (GENESIS.to_string(), 1_i64, 0_i64);
    loop {
        let rows: Vec<StoredEvent> = audit_events::table
            .filter(audit_events::seq.ge(expected_seq))
            .select(StoredEvent::as_select())
            .order(audit_events::seq.asc())
            .limit(BATCH)
            .load(conn)?;
        if rows.is_empty() {
            return Ok(Verification { checked, ok: true, broken_at: None, head_hash: prev });
        }
        for row in rows {
            let intact = row.seq == expected_seq
                && row.prev_hash == prev
                && row.hash == chain_hash(&prev, row.seq, &row.fields());
            if !intact {
                return Ok(Verification { checked, ok: false, broken_at: Some(expected_seq), head_hash: prev });
            }
            prev = row.hash;
            expected_seq += 1;
            checked += 1;
        }
    }
}
