//! Stored answers of POSTs that carried an `Idempotency-Key`, one per (caller, key).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::idempotency_keys as keys;
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;

/// What a request carrying a key may do.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use (or the previous use expired or was abandoned): run the request.
    Fresh,
    /// Already answered: send this answer again (with a fresh invitation for `invite_user_id`).
    Replay(Answer),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// A stored answer. Its body holds no secret: an invitation token it handed out was taken out,
/// and `invite_user_id` names the account whose invitation a replay must issue afresh.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `Location` of a create's answer.
    pub location: Option<String>,
    pub body: String,
    pub invite_user_id: Option<String>,
    /// The calendar subscription whose feed URL was taken out of `body`: a replay rotates it.
    pub calendar_subscription_id: Option<String>,
}

/// A key's row: the request it was claimed for and, once answered, the answer.
#[derive(Queryable, Selectable)]
#[diesel(table_name = keys)]
struct Stored {
    fingerprint: String,
    status: Option<i32>,
    content_type: Option<String>,
    location: Option<String>,
    body: Option<String>,
    created_at: NaiveDateTime,
    invite_user_id: Option<String>,
    calendar_subscription_id: Option<String>,
}

/// Claims `key` for `fingerprint`. Keys are kept for `ttl`; a claim whose request has not finished
/// after `abandoned_after` (its server died) may be taken over.
pub fn claim(
    conn: &mut DbConnection,
    user_id: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
    ttl: Duration,
    abandoned_after: Duration,
) -> Result<Claim, AppError> {
    let result = write_transaction(conn, |conn| {
        let restart = |conn: &mut DbConnection| restart(conn, user_id, key, fingerprint, now);
        match stored(conn, user_id, key)? {
            None => {
                diesel::insert_into(keys::table)
                    .values((
                        keys::user_id.eq(user_id),
                        keys::idempotency_key.eq(key),
                        keys::fingerprint.eq(fingerprint),
                        keys::created_at.eq(now),
                    ))
                    .execute(conn)?;
                Ok(Claim::Fresh)
            }
            Some(row) if row.created_at < now - ttl => restart(conn),
            Some(row) if row.fingerprint != fingerprint => Ok(Claim::Mismatch),
            Some(Stored {
                status: Some(status),
                content_type,
                location,
                body,
                invite_user_id,
                calendar_subscription_id,
                ..
            }) => Ok(Claim::Replay(Answer {
                status: status as u16,
                content_type,
                location,
                body: body.unwrap_or_default(),
                invite_user_id,
                calendar_subscription_id,
            })),
            Some(row) if row.created_at < now - abandoned_after => restart(conn),
            Some(_) => Ok(Claim::InProgress),
        }
    });
    match result {
        // Another replica inserted the same key a moment before us: it is running.
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(Claim::InProgress),
        other => other.map_err(AppError::from),
    }
}

fn stored(conn: &mut DbConnection, user_id: &str, key: &str) -> Result<Option<Stored>, DieselError> {
    keys::table.find((user_id, key)).select(Stored::as_select()).first(conn).optional()
}

/// Takes over an expired or abandoned key for a new request.
fn restart(
    conn: &mut DbConnection,
    user_id: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<Claim, DieselError> {
    diesel::update(keys::table.find((user_id, key)))
        .set((
            keys::fingerprint.eq(fingerprint),
            keys::status.eq(None::<i32>),
            keys::content_type.eq(None::<String>),
            keys::location.eq(None::<String>),
            keys::body.eq(None::<String>),
            keys::created_at.eq(now),
            keys::invite_user_id.eq(None::<String>),
            keys::calendar_subscription_id.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| Claim::Fresh)
}

/// Stores the answer of the request that holds the key. The body must hold no secret.
pub fn complete(conn: &mut DbConnection, user_id: &str, key: &str, answer: &Answer) -> Result<(), AppError> {
    diesel::update(keys::table.find((user_id, key)))
        .set((
            keys::status.eq(i32::from(answer.status)),
            keys::content_type.eq(answer.content_type.as_deref()),
            keys::location.eq(answer.location.as_deref()),
            keys::body.eq(&answer.body),
            keys::invite_user_id.eq(answer.invite_user_id.as_deref()),
            keys::calendar_subscription_id.eq(answer.calendar_subscription_id.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Lets go of a key whose request failed on our side, so a retry runs it again.
pub fn release(conn: &mut DbConnection, user_id: &str, key: &str) -> Result<(), AppError> {
    diesel::delete(keys::table.find((user_id, key)).filter(keys::status.is_null())).execute(conn)?;
    Ok(())
}

/// Forgets keys older than `ttl`.
pub fn expire(conn: &mut DbConnection, now: NaiveDateTime, ttl: Duration) -> Result<usize, AppError> {
    Ok(diesel::delete(keys::table.filter(keys::created_at.lt(now - ttl))).execute(conn)?)
}

/// Erasure: forgets the stored answers that mention the patient: the patient's own keys, and any
/// other caller's (staff) whose stored answer, `Location` or re-issued invitation names the patient
/// (creating or changing them, screening, treating, reviewing their check-ins).
pub fn forget_patient(conn: &mut DbConnection, patient_id: &str, email: &str) -> Result<usize, AppError> {
    let id_pattern = format!("%{}%", escape_like(patient_id));
    let email_pattern = format!("%{}%", escape_like(email));
    Ok(diesel::delete(
        keys::table.filter(
            keys::user_id
                .eq(patient_id)
                .or(keys::invite_user_id.eq(patient_id))
                .or(keys::body.like(id_pattern.clone()).escape('\\'))
                .or(keys::location.like(id_pattern).escape('\\'))
                .or(keys::body.like(email_pattern).escape('\\')),
        ),
    )
    .execute(conn)?)
}

/// `text` as a LIKE pattern matching itself (with `\` as the escape character).
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
