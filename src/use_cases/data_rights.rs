//! A patient's rights over their own data: a copy of everything the service holds about them
//! (the export), and erasure, which the clinic's administrator decides on.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::auth::{Admin, Caller, Patient};
use crate::domain::ErasureDecision;
use crate::error::AppError;
use crate::models::audit::{self, StoredEvent};
use crate::models::check_ins::{self, CheckInRecord};
use crate::models::erasure::{self, ErasureRecord};
use crate::models::patients::{self, PatientRecord};
use crate::models::photos::{self, PhotoFilter, PhotoRecord};
use crate::models::plans as plan_models;
use crate::models::screenings;
use crate::models::treatments::{self, TreatmentRecord};
use crate::models::users::{self, User};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::plan::protocol::Finding;
use crate::plan::screening::screen;
use crate::state::SharedState;
use crate::use_cases::plans::{PlanOnDate, PlanReminders, whole_plan};

/// Rows read per query while an export is built: a long history is read page by page, never by
/// one unbounded query.
pub const EXPORT_PAGE: i64 = 100;
/// Audit events read per query.
pub const EXPORT_AUDIT_PAGE: i64 = 1_000;

pub struct ExportedScreening {
    pub id: String,
    pub answers: BTreeMap<String, bool>,
    pub eligible: bool,
    pub contraindications: Vec<Finding>,
    pub cautions: Vec<Finding>,
    pub protocol_id: String,
    pub protocol_version: i32,
    pub screened_by: String,
    pub created_at: NaiveDateTime,
}

pub struct Acknowledgement {
    pub reminder_id: String,
    pub local_date: NaiveDate,
    pub kind: String,
    pub acknowledged_at: NaiveDateTime,
}

pub struct ExportedTreatment {
    pub treatment: TreatmentRecord,
    pub timeline: PlanOnDate,
    pub reminders: PlanReminders,
    pub acknowledgements: Vec<Acknowledgement>,
    pub check_ins: Vec<CheckInRecord>,
    pub photos: Vec<PhotoRecord>,
}

/// Everything the service holds about the calling patient.
pub struct Export {
    pub generated_at: NaiveDateTime,
    pub account: User,
    pub patient: PatientRecord,
    pub schedules: Vec<(NaiveDateTime, chrono_tz::Tz, NaiveTime)>,
    pub screenings: Vec<ExportedScreening>,
    pub treatments: Vec<ExportedTreatment>,
    pub erasure_requests: Vec<ErasureRecord>,
    /// The audit trail's events about the patient's record, oldest first.
    pub accesses: Vec<StoredEvent>,
}

/// Reads every page of a keyset-paged list.
fn all_pages<T>(mut read: impl FnMut(&PageRequest) -> Result<Page<T>, AppError>) -> Result<Vec<T>, AppError> {
    let mut all = Vec::new();
    let mut page = PageRequest { limit: EXPORT_PAGE, after: None };
    loop {
        let Page { items, next_cursor } = read(&page)?;
        all.extend(items);
        match next_cursor {
            Some(cursor) => page.after = Some(Cursor::decode(&cursor).map_err(AppError::internal)?),
            None => return Ok(all),
        }
    }
}

/// The calling patient's data, read under their own scope with the same models (and, for plans,
/// the same plan engine) that serve each part on its own route. Staff get 403 (the handler's
/// `Patient`): their accounts and actions are the clinic's records, listed to its administrators.
pub async fn export(state: &SharedState, caller: Patient) -> Result<Export, AppError> {
    let shared = state.clone();
    state
        .db
        .run(move |conn| {
            let now = Utc::now();
            let account = users::me(conn, &caller)?;
            let patient = patients::get(conn, &caller, &caller.user_id)?;
            let schedules = patients::schedules(conn, &patient)?;
            let mut exported_screenings = Vec::new();
            for s in screenings::list_for_patient(conn, &caller, &patient.id)? {
                let protocol = shared.protocols.get(conn, &s.protocol_id, s.protocol_version)?;
                let outcome = screen(&protocol, &s.answers);
                exported_screenings.push(ExportedScreening {
                    contraindications: outcome.contraindications.into_iter().cloned().collect(),
                    cautions: outcome.cautions.into_iter().cloned().collect(),
                    id: s.id,
                    answers: s.answers,
                    eligible: s.eligible,
                    protocol_id: s.protocol_id,
                    protocol_version: s.protocol_version,
                    screened_by: s.screened_by,
                    created_at: s.created_at,
                });
            }
            let mut exported_treatments = Vec::new();
            for treatment in treatments::own(conn, &caller)? {
                let id = treatment.id.clone();
                let context = plan_models::context_of(conn, &caller, &shared.protocols, treatment.clone())?;
                let (timeline, reminders) = whole_plan(conn, context, now)?;
                let acknowledgements = plan_models::all_acknowledgements(conn, &id)?
                    .into_iter()
                    .map(|(reminder_id, local_date, kind, acknowledged_at)| Acknowledgement {
                        reminder_id,
                        local_date,
                        kind,
                        acknowledged_at,
                    })
                    .collect();
                let check_ins = all_pages(|page| check_ins::list_for_treatment(conn, &caller, &id, page))?;
                let filter = PhotoFilter { body_site: None, view: None, pending_too: true };
                let photos = all_pages(|page| photos::list_for_treatment(conn, &caller, &id, &filter, page))?;
                exported_treatments.push(ExportedTreatment {
                    treatment,
                    timeline,
                    reminders,
                    acknowledgements,
                    check_ins,
                    photos,
                });
            }
            let erasure_requests = all_pages(|page| erasure::list_own(conn, &caller, page))?;
            let mut accesses = Vec::new();
            loop {
                let after = accesses.last().map(|e: &StoredEvent| e.seq).unwrap_or(0);
                let page = audit::about_patient(conn, &caller.clinic_id, &caller.user_id, after, EXPORT_AUDIT_PAGE)?;
                let full = page.len() as i64 == EXPORT_AUDIT_PAGE;
                accesses.extend(page);
                if !full {
                    break;
                }
            }
            Ok(Export {
                generated_at: now.naive_utc(),
                account,
                patient,
                schedules,
                screenings: exported_screenings,
                treatments: exported_treatments,
                erasure_requests,
                accesses,
            })
        })
        .await
}

/// Files the calling patient's erasure request (409 while another is open).
pub async fn request_erasure(
    state: &SharedState,
    caller: Patient,
    reason: Option<String>,
) -> Result<ErasureRecord, AppError> {
    state.db.write(move |conn| erasure::create(conn, &caller, reason)).await
}

/// One erasure request: the clinic's administrators, or the patient who filed it.
pub async fn get_erasure_request(state: &SharedState, caller: Caller, id: String) -> Result<ErasureRecord, AppError> {
    state.db.run(move |conn| erasure::get(conn, &caller, &id)).await
}

/// The clinic's erasure requests, oldest first.
pub async fn list_erasure_requests(
    state: &SharedState,
    caller: Admin,
    page: PageRequest,
) -> Result<Page<ErasureRecord>, AppError> {
    state.db.run(move |conn| erasure::list(conn, &caller, &page)).await
}

/// Approves (and carries out, in the same transaction) or declines an open erasure request. The
/// erased patient's photo bytes are deleted once the erasure has committed (what fails to go, the
/// sweeper removes: no record names it any more).
pub async fn decide_erasure(
    state: &SharedState,
    caller: Admin,
    id: String,
    decision: ErasureDecision,
    reason: String,
) -> Result<ErasureRecord, AppError> {
    let (decided, photo_keys) =
        state.db.write(move |conn| erasure::decide(conn, &caller, &id, decision, reason)).await?;
    for key in photo_keys {
        state.photos.remove(&key).await;
    }
    Ok(decided)
}
