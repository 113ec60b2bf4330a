//! Enrolling patients, reading their profiles, and changing them.

use crate::auth::{Caller, Staff};
use crate::domain::{PatientStatus, Role};
use crate::error::AppError;
use crate::models::patients::{self, NewPatient, PatientChanges, PatientRecord};
use crate::pagination::{Page, PageRequest};
use crate::state::SharedState;
use crate::use_cases::invitations;

/// A patient just added, with the invitation that activates their account.
pub struct Enrolled {
    pub patient: PatientRecord,
    /// The one-time token, shown once when `INVITE_TOKENS_IN_ANSWERS` allows (v1 compatibility);
    /// stored only hashed. The invitation e-mail carries it in any case.
    pub invite_token: Option<String>,
}

/// Adds a patient to the caller's clinic: the account, its profile and first schedule, and an
/// invitation valid for the configured time, sent by e-mail.
pub async fn enroll(state: &SharedState, caller: Staff, new: NewPatient) -> Result<Enrolled, AppError> {
    let shared = state.clone();
    state
        .db
        .write(move |conn| {
            let (patient, account) = patients::create(conn, &caller, new)?;
            let invitation = invitations::invite_by_mail(conn, &shared, &account)?;
            Ok(Enrolled { patient, invite_token: invitations::shown(&shared, invitation) })
        })
        .await
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

/// Skin type and Fitzpatrick type are the clinician's assessment: only staff may set them.
pub fn refuse_assessment_by_patient(caller: &Caller, skin_type: bool, fitzpatrick: bool) -> Result<(), AppError> {
    let named: Vec<&str> = [("skin_type", skin_type), ("fitzpatrick", fitzpatrick)]
        .into_iter()
        .filter_map(|(field, given)| given.then_some(field))
        .collect();
    if caller.role == Role::Patient && !named.is_empty() {
        return Err(AppError::ForbiddenBecause(format!(
            "{} {} the clinician's assessment: only clinic staff may change {}; nothing was changed",
            named.join(" and "),
            if named.len() == 1 { "is" } else { "are" },
            if named.len() == 1 { "it" } else { "them" },
        )));
    }
    Ok(())
}

/// Changes the profile; a new time zone or reminder time starts a new schedule from now. A new
/// skin or Fitzpatrick type (staff only) plans later treatments; existing treatments keep the
/// values frozen on them until a clinician re-plans them.
pub async fn update(
    state: &SharedState,
    caller: Caller,
    id: String,
    changes: PatientChanges,
) -> Result<PatientRecord, AppError> {
    refuse_assessment_by_patient(&caller, changes.skin_type.is_some(), changes.fitzpatrick.is_some())?;
    state.db.write(move |conn| patients::update(conn, &caller, &id, changes)).await
}
