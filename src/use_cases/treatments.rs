//! Recording a patient's treatments and reading them.

use chrono::NaiveTime;

use crate::auth::{Caller, Staff};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::treatments::{self, Clearance, NewTreatment, TreatmentRecord};
use crate::models::{clinics, screenings};
use crate::pagination::{Page, PageRequest};
use crate::plan::Protocol;
use crate::state::SharedState;

/// Records a treatment of a patient of the caller's clinic at local `time` of day (the clinic's
/// default when `None`), planned with the clinic's current protocol (its newest published one, else
/// the newest standard one): later protocol edits do not change its
/// plan. The screening gate: without `screening_override` (a clinician's reason to treat anyway),
/// the patient's latest screening must have been made under that protocol, within the clinic's
/// `valid_days`, and found them eligible; otherwise 409 naming what is missing. Checked and
/// recorded in the one transaction that stores the treatment.
pub async fn create(
    state: &SharedState,
    caller: Staff,
    patient_id: String,
    new: NewTreatment,
    time: Option<NaiveTime>,
    screening_override: Option<String>,
) -> Result<TreatmentRecord, AppError> {
    let state = state.clone();
    state
        .clone()
        .db
        .write(move |conn| {
            let protocol = state.protocols.current_for(conn, &caller.clinic_id)?;
            let clearance = match screening_override {
                Some(reason) => Clearance::Overridden { by: caller.user_id.clone(), reason },
                None => Clearance::Screened { screening_id: screening_gate(conn, &caller, &patient_id, &protocol)? },
            };
            treatments::create(conn, &caller, &patient_id, new, time, &protocol, clearance)
        })
        .await
}

/// The id of the screening that clears the patient for a treatment planned with `protocol`, or the
/// 409 that says what is missing: a screening at all, one that asked this protocol's questions, a
/// fresh one, an eligible one. Only the latest screening counts: a newer ineligible one is not
/// outweighed by an older eligible one.
fn screening_gate(
    conn: &mut DbConnection,
    caller: &Staff,
    patient_id: &str,
    protocol: &Protocol,
) -> Result<String, AppError> {
    let how = "screen the patient (POST /v1/patients/{id}/screenings), or record the treatment with a \
               screening_override giving a clinician's reason";
    let Some(latest) = screenings::latest(conn, caller, patient_id)? else {
        return Err(AppError::Precondition {
            code: "screening-required",
            detail: format!("the patient has never been screened: {how}"),
        });
    };
    if latest.protocol_id != protocol.id || latest.protocol_version != protocol.version {
        return Err(AppError::Precondition {
            code: "screening-outdated",
            detail: format!(
                "the latest screening ({}) was made under protocol {} version {}, which did not ask every \
                 question of version {} that this treatment is planned with: {how}",
                latest.id, latest.protocol_id, latest.protocol_version, protocol.version
            ),
        });
    }
    let valid_days = clinics::screening_settings(conn, &caller.clinic_id)?.valid_days;
    let age = crate::clock::now() - latest.created_at;
    if age > chrono::Duration::days(i64::from(valid_days)) {
        return Err(AppError::Precondition {
            code: "screening-stale",
            detail: format!(
                "the latest screening ({}) was made on {}, more than the clinic's {valid_days} days ago: {how}",
                latest.id,
                latest.created_at.date()
            ),
        });
    }
    if !latest.eligible {
        let found = crate::plan::screening::screen(protocol, &latest.answers);
        let codes: Vec<&str> = found.contraindications.iter().map(|f| f.code.as_str()).collect();
        return Err(AppError::Precondition {
            code: "screening-ineligible",
            detail: format!(
                "the latest screening ({}) found contraindications ({}): the patient is not eligible; screen \
                 again once they have resolved, or record the treatment with a screening_override giving a \
                 clinician's reason",
                latest.id,
                codes.join(", ")
            ),
        });
    }
    Ok(latest.id)
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
