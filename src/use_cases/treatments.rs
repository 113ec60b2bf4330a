//! Recording a patient's treatments and reading them.

use chrono::NaiveTime;

use crate::auth::{Caller, Staff};
use crate::error::AppError;
use crate::models::treatments::{self, NewTreatment, TreatmentRecord};
use crate::pagination::{Page, PageRequest};
use crate::state::SharedState;

/// Records a treatment of a patient of the caller's clinic at local `time` of day (the clinic's
/// default when `None`), planned with the current protocol: later protocol edits do not change its
/// plan.
pub async fn create(
    state: &SharedState,
    caller: Staff,
    patient_id: String,
    new: NewTreatment,
    time: Option<NaiveTime>,
) -> Result<TreatmentRecord, AppError> {
    let protocol = state.protocols.current();
    state.db.write(move |conn| treatments::create(conn, &caller, &patient_id, new, time, &protocol)).await
}

pub async fn list_for_patient(
    state: &SharedState,
    caller: Caller,
    patient_id: String,
    page: PageRequest,
) -> Result<Page<TreatmentRecord>, AppError> {
    state.db.run(move |conn| treatments::list_for_patient(conn, &caller, &patient_id, &page)).await
}

pub async fn get(state: &SharedState, caller: Caller, id: String) -> Result<TreatmentRecord, AppError> {
    state.db.run(move |conn| treatments::get(conn, &caller, &id)).await
}

/// Re-plans a treatment of the caller's clinic with its patient's current skin and Fitzpatrick
/// types, in one write. The plan cache follows: the write moves the plans' inputs version.
pub async fn replan(state: &SharedState, caller: Staff, id: String) -> Result<TreatmentRecord, AppError> {
    let (replanned, before) = state.db.write(move |conn| treatments::replan(conn, &caller, &id)).await?;
    if before != replanned.personal() {
        tracing::info!(treatment = %replanned.id, "treatment re-planned with the patient's current assessment");
    }
    Ok(replanned)
}
