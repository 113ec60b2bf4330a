//! Enrolling patients, reading their profiles, and changing them.

use crate::auth::{Caller, Staff};
use crate::domain::PatientStatus;
use crate::error::AppError;
use crate::models::patients::{self, NewPatient, PatientChanges, PatientRecord};
use crate::pagination::{Page, PageRequest};
use crate::state::SharedState;

/// A patient just added, with the invitation that activates their account.
pub struct Enrolled {
    pub patient: PatientRecord,
    /// The one-time token, shown once; stored only hashed.
    pub invite_token: String,
}

/// Adds a patient to the caller's clinic: the account, its profile and first schedule, and an
/// invitation valid for the configured time.
pub async fn enroll(state: &SharedState, caller: Staff, new: NewPatient) -> Result<Enrolled, AppError> {
    let invite_ttl = state.settings.invite_ttl;
    let (patient, invite_token) = state.db.write(move |conn| patients::create(conn, &caller, new, invite_ttl)).await?;
    Ok(Enrolled { patient, invite_token })
}

/// The caller's clinic's patients, oldest first: all of them, or only those of one status.
pub async fn list(
    state: &SharedState,
    caller: Staff,
    status: Option<PatientStatus>,
    page: PageRequest,
) -> Result<Page<PatientRecord>, AppError> {
    state.db.run(move |conn| patients::list(conn, &caller, status, &page)).await
}

/// Discharges a patient of the caller's clinic, with an optional note: their record and history
/// stay readable, new check-ins and photos are refused, reminders due from now on are no longer
/// planned. A new treatment re-admits them (`treatments::create`). Discharging again changes
/// nothing.
pub async fn discharge(
    state: &SharedState,
    caller: Staff,
    id: String,
    note: Option<String>,
) -> Result<PatientRecord, AppError> {
    state.db.write(move |conn| patients::discharge(conn, &caller, &id, note)).await
}

pub async fn get(state: &SharedState, caller: Caller, id: String) -> Result<PatientRecord, AppError> {
    state.db.run(move |conn| patients::get(conn, &caller, &id)).await
}

/// Changes the profile; a new time zone or reminder time starts a new schedule from now.
pub async fn update(
    state: &SharedState,
    caller: Caller,
    id: String,
    changes: PatientChanges,
) -> Result<PatientRecord, AppError> {
    state.db.write(move |conn| patients::update(conn, &caller, &id, changes)).await
}
