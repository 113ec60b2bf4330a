//! Erasure requests: a patient asks, the clinic's administrator decides, and an approval erases
//! the patient in the same transaction as the decision.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::auth::{Admin, Caller, Patient};
use crate::db::schema::erasure_requests as requests;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{ErasureDecision, ErasureStatus};
use crate::error::AppError;
use crate::models::{
    calendar_subscriptions, check_ins, idempotency, invites, login_throttle, outbox, patients, photos, plans,
    reset_requests, screenings, sessions, treatments, users,
};
use crate::pagination::{Cursor, Order, Page, PageRequest};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct ErasureRecord {
    pub id: String,
    pub clinic_id: String,
    pub patient_id: String,
    pub status: ErasureStatus,
    /// The patient's reason; cleared when the request is carried out.
    pub reason: Option<String>,
    pub requested_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
}

/// The requests `caller` may see: a clinic's for its staff, a patient's own.
fn visible_to(caller: &Caller) -> requests::BoxedQuery<'static, MultiBackend> {
    requests::table.into_boxed().filter(caller.scope().rows(requests::clinic_id, requests::patient_id))
}

fn already_open() -> AppError {
    AppError::Conflict("an erasure request of this patient is already open".into())
}

/// Files the calling patient's request. One open request at a time: another answers 409.
pub fn create(conn: &mut DbConnection, caller: &Patient, reason: Option<String>) -> Result<ErasureRecord, AppError> {
    let open: Option<String> = requests::table
        .filter(requests::patient_id.eq(&caller.user_id))
        .filter(requests::status.eq(ErasureStatus::Open))
        .select(requests::id)
        .first(conn)
        .optional()?;
    if open.is_some() {
        return Err(already_open());
    }
    let id = super::new_id();
    let inserted = diesel::insert_into(requests::table)
        .values((
            requests::id.eq(&id),
            requests::clinic_id.eq(&caller.clinic_id),
            requests::patient_id.eq(&caller.user_id),
            requests::status.eq(ErasureStatus::Open),
            requests::reason.eq(&reason),
            requests::requested_at.eq(crate::clock::now()),
        ))
        .execute(conn);
    match inserted {
        // A concurrent request of the same patient won the partial unique index.
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => return Err(already_open()),
        other => other?,
    };
    get(conn, caller, &id)
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<ErasureRecord, AppError> {
    Ok(visible_to(caller).filter(requests::id.eq(id.to_string())).select(ErasureRecord::as_select()).first(conn)?)
}

/// The caller's clinic's requests, oldest first.
pub fn list(conn: &mut DbConnection, caller: &Admin, page: &PageRequest) -> Result<Page<ErasureRecord>, AppError> {
    let mut query = visible_to(caller)
        .select(ErasureRecord::as_select())
        .order((requests::requested_at.asc(), requests::id.asc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Ascending, requests::requested_at, requests::id));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |r| Cursor::new(None, r.requested_at, &r.id)))
}

/// Decides an open request of the caller's clinic; an approval erases the patient at once, in the
/// caller's write transaction, and returns the keys of their photos' objects, for the caller to
/// delete once it has committed. A request decided already answers 409.
pub fn decide(
    conn: &mut DbConnection,
    caller: &Admin,
    id: &str,
    decision: ErasureDecision,
    reason: String,
) -> Result<(ErasureRecord, Vec<String>), AppError> {
    let current = get(conn, caller, id)?;
    let status = match decision {
        ErasureDecision::Approve => ErasureStatus::Approved,
        ErasureDecision::Decline => ErasureStatus::Declined,
    };
    // The patient's own words may name them: an approval keeps only the decision.
    let kept_reason = match decision {
        ErasureDecision::Approve => None,
        ErasureDecision::Decline => current.reason.clone(),
    };
    let updated = diesel::update(requests::table.find(&current.id).filter(requests::status.eq(ErasureStatus::Open)))
        .set((
            requests::status.eq(status),
            requests::reason.eq(kept_reason),
            requests::decided_at.eq(crate::clock::now()),
            requests::decided_by.eq(&caller.user_id),
            requests::decision_reason.eq(&reason),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(AppError::Conflict("this erasure request has already been decided".into()));
    }
    let photo_keys = match decision {
        ErasureDecision::Approve => erase_patient(conn, &current.patient_id)?,
        ErasureDecision::Decline => Vec::new(),
    };
    Ok((get(conn, caller, id)?, photo_keys))
}

/// Erases a patient: every row that identifies them or holds their health data is deleted, and
/// their account is tombstoned (its id stays, for the audit trail and this request). The audit
/// trail itself is not touched: its rows hold only opaque ids. The plan cache follows by itself
/// (the triggers on `users`, `patients`, `patient_schedules` and `treatments` move
/// `plan_inputs_version`). Run inside a write transaction.
fn erase_patient(conn: &mut DbConnection, patient_id: &str) -> Result<Vec<String>, AppError> {
    let account = users::find_any(conn, patient_id)?.ok_or(AppError::NotFound)?;
    // The account's row first: a transaction adding to the account (a password reset answered by
    // the mail worker) either committed before this one and its rows are deleted below, or waits and
    // finds the account gone. Its access tokens end here too.
    users::end_access_tokens(conn, patient_id)?;
    let treatment_ids = treatments::ids_of_patient(conn, patient_id)?;
    let photo_keys = photos::keys_of_patient(conn, patient_id)?;
    photos::erase_patient(conn, patient_id)?;
    check_ins::erase_patient(conn, patient_id)?;
    plans::erase_acknowledgements(conn, &treatment_ids)?;
    calendar_subscriptions::erase_patient(conn, patient_id)?;
    treatments::erase_patient(conn, patient_id)?;
    screenings::erase_patient(conn, patient_id)?;
    patients::erase(conn, patient_id)?;
    invites::erase_user(conn, patient_id)?;
    sessions::erase_user(conn, patient_id)?;
    idempotency::forget_patient(conn, patient_id, &account.email)?;
    login_throttle::forget_account(conn, &account.email, patient_id)?;
    outbox::forget_recipient(conn, patient_id)?;
    reset_requests::forget_email(conn, &account.email)?;
    users::tombstone(conn, patient_id)?;
    Ok(photo_keys)
}

/// The calling patient's own requests, oldest first (for the export).
pub fn list_own(
    conn: &mut DbConnection,
    caller: &Patient,
    page: &PageRequest,
) -> Result<Page<ErasureRecord>, AppError> {
    let mut query = visible_to(caller)
        .filter(requests::patient_id.eq(caller.user_id.clone()))
        .select(ErasureRecord::as_select())
        .order((requests::requested_at.asc(), requests::id.asc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Ascending, requests::requested_at, requests::id));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |r| Cursor::new(None, r.requested_at, &r.id)))
}
