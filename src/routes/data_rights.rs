//! A patient's own data: the export (GDPR Art. 15 and 20, HIPAA right of access) and erasure
//! requests (GDPR Art. 17), which the clinic's administrator decides on.

use std::collections::BTreeMap;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Subject, note_subject};
use crate::auth::{Admin, Caller, Patient};
use crate::clock::format_instant;
use crate::domain::{ErasureDecision, ErasureStatus, Role, TimeZoneName, format_time_of_day, parse_enum, parse_notes};
use crate::error::AppError;
use crate::models::audit::StoredEvent;
use crate::models::erasure::ErasureRecord;
use crate::models::users::User;
use crate::pagination::{Page, PageQuery};
use crate::routes::check_ins::CheckIn;
use crate::routes::path_id;
use crate::routes::patients::Patient as PatientView;
use crate::routes::photos::Photo;
use crate::routes::screenings::ScreeningFinding;
use crate::routes::treatments::{ProtocolRef, Reminder, Timeline, Treatment, reminder_views, timeline_view};
use crate::state::AppState;
use crate::use_cases::data_rights::{self, Export, ExportedScreening, ExportedTreatment};
use crate::validate::{Checks, checked};

/// The version of the export document's layout.
pub const EXPORT_FORMAT: &str = "aftercare-export/1";

#[derive(Serialize, ToSchema)]
pub struct ExportAccount {
    pub id: String,
    pub role: Role,
    pub clinic_id: String,
    pub email: String,
    pub name: String,
    /// False once the account is deactivated.
    pub active: bool,
    /// Whether the invitation was accepted (a password set).
    pub activated: bool,
    pub created_at: String,
}

impl From<User> for ExportAccount {
    fn from(u: User) -> ExportAccount {
        ExportAccount {
            activated: u.activated(),
            id: u.id,
            role: u.role,
            clinic_id: u.clinic_id,
            email: u.email,
            name: u.name,
            active: u.active,
            created_at: format_instant(u.created_at),
        }
    }
}

/// A time zone and reminder time the patient had, from `effective_at` until the next one.
#[derive(Serialize, ToSchema)]
pub struct ExportSchedule {
    pub effective_at: String,
    #[schema(value_type = TimeZoneName)]
    pub timezone: String,
    /// `HH:MM`, local.
    #[schema(example = "09:00")]
    pub reminder_time: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExportScreening {
    pub id: String,
    /// Each question asked, and the answer given.
    pub answers: BTreeMap<String, bool>,
    /// False when any contraindication was found.
    pub eligible: bool,
    pub contraindications: Vec<ScreeningFinding>,
    pub cautions: Vec<ScreeningFinding>,
    /// The protocol version that judged the answers.
    pub protocol: ProtocolRef,
    /// The staff member who screened.
    pub screened_by_id: String,
    pub created_at: String,
}

impl From<ExportedScreening> for ExportScreening {
    fn from(s: ExportedScreening) -> ExportScreening {
        let findings =
            |found: Vec<crate::plan::protocol::Finding>| found.into_iter().map(ScreeningFinding::from).collect();
        ExportScreening {
            id: s.id,
            answers: s.answers,
            eligible: s.eligible,
            contraindications: findings(s.contraindications),
            cautions: findings(s.cautions),
            protocol: ProtocolRef { id: s.protocol_id, version: s.protocol_version },
            screened_by_id: s.screened_by,
            created_at: format_instant(s.created_at),
        }
    }
}

/// A reminder the patient marked as done.
#[derive(Serialize, ToSchema)]
pub struct ExportAcknowledgement {
    pub reminder_id: String,
    pub local_date: NaiveDate,
    #[schema(example = "sunscreen")]
    pub kind: String,
    pub acknowledged_at: String,
}

/// A treatment with its plan as the API serves it and everything recorded under it.
#[derive(Serialize, ToSchema)]
pub struct ExportTreatment {
    pub treatment: Treatment,
    /// The recovery phases as they stand today in the patient's time zone.
    pub timeline: Timeline,
    /// Every reminder of the plan, with `acknowledged_at` where the patient marked it done.
    pub reminders: Vec<Reminder>,
    pub acknowledgements: Vec<ExportAcknowledgement>,
    /// Newest first, with their assessment and review.
    pub check_ins: Vec<CheckIn>,
    /// Photo metadata, oldest `captured_at` first.
    pub photos: Vec<Photo>,
}

impl From<ExportedTreatment> for ExportTreatment {
    fn from(t: ExportedTreatment) -> ExportTreatment {
        ExportTreatment {
            timeline: timeline_view(&t.timeline),
            reminders: reminder_views(&t.reminders),
            treatment: t.treatment.into(),
            acknowledgements: t
                .acknowledgements
                .into_iter()
                .map(|a| ExportAcknowledgement {
                    reminder_id: a.reminder_id,
                    local_date: a.local_date,
                    kind: a.kind,
                    acknowledged_at: format_instant(a.acknowledged_at),
                })
                .collect(),
            check_ins: t.check_ins.into_iter().map(CheckIn::from).collect(),
            photos: t.photos.into_iter().map(Photo::from).collect(),
        }
    }
}

/// One request that touched the patient's record, from the audit trail.
#[derive(Serialize, ToSchema)]
pub struct RecordAccess {
    /// Position in the audit chain.
    pub seq: i64,
    pub at: String,
    /// Who: the account's id (null for requests without one) and its role.
    pub user_id: Option<String>,
    pub role: Option<Role>,
    /// What: the request (`METHOD /route`), e.g. `GET /v1/patients/{id}`.
    pub action: String,
    #[schema(example = "check-in")]
    pub resource_type: Option<String>,
    /// `success`, `denied`, `invalid`, `throttled` or `error`.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: i32,
}

impl From<StoredEvent> for RecordAccess {
    fn from(e: StoredEvent) -> RecordAccess {
        RecordAccess {
            seq: e.seq,
            at: format_instant(e.at),
            user_id: e.user_id,
            role: e.role.and_then(|r| r.parse().ok()),
            action: e.action,
            resource_type: e.resource_type,
            outcome: e.outcome,
            status: e.status,
        }
    }
}

/// Everything the service holds about the calling patient, in one machine-readable document.
#[derive(Serialize, ToSchema)]
pub struct ExportDocument {
    /// The layout of this document: `aftercare-export/1`.
    #[schema(example = "aftercare-export/1")]
    pub format: String,
    pub generated_at: String,
    pub account: ExportAccount,
    pub patient: PatientView,
    /// Every time zone and reminder time the patient has had, oldest first.
    pub schedules: Vec<ExportSchedule>,
    /// Screenings before treatment, oldest first.
    pub screenings: Vec<ExportScreening>,
    /// Treatments in the order of their dates.
    pub treatments: Vec<ExportTreatment>,
    /// The patient's erasure requests, oldest first.
    pub erasure_requests: Vec<ErasureRequest>,
    /// Every request about the patient's record in the audit trail (their own included), oldest first.
    pub accesses: Vec<RecordAccess>,
}

impl From<Export> for ExportDocument {
    fn from(e: Export) -> ExportDocument {
        ExportDocument {
            format: EXPORT_FORMAT.to_string(),
            generated_at: format_instant(e.generated_at),
            account: e.account.into(),
            patient: e.patient.into(),
            schedules: e
                .schedules
                .into_iter()
                .map(|(at, zone, time)| ExportSchedule {
                    effective_at: format_instant(at),
                    timezone: zone.name().to_string(),
                    reminder_time: format_time_of_day(time),
                })
                .collect(),
            screenings: e.screenings.into_iter().map(ExportScreening::from).collect(),
            treatments: e.treatments.into_iter().map(ExportTreatment::from).collect(),
            erasure_requests: e.erasure_requests.into_iter().map(ErasureRequest::from).collect(),
            accesses: e.accesses.into_iter().map(RecordAccess::from).collect(),
        }
    }
}

/// A copy of everything the service holds about the calling patient, as one JSON document.
///
/// The patient only; administrators and clinicians get 403 (their accounts and actions are the
/// clinic's records, which its administrators read through listClinicians and listAuditEvents). The
/// document holds the account, the patient profile and every schedule it had, screenings,
/// treatments with their plan (today's timeline and every reminder, as getTimeline and
/// listReminders serve them), acknowledgements, check-ins with their assessment and review, photo
/// metadata, erasure requests, and every request about the patient's record in the audit trail
/// (who, when, what, outcome). Sent as a download (`Content-Disposition: attachment`), never cached.
#[utoipa::path(
    operation_id = "exportMyData",
    tag = "me",
    responses(
        (status = 200, description = "The patient's data", body = ExportDocument,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"aftercare-export-<patient id>-<date>.json\"`"))),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/me/export")]
pub async fn export(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let caller = Patient::try_from(caller)?;
    let export = data_rights::export(&state, caller).await?;
    let filename = format!("aftercare-export-{}-{}.json", export.patient.id, export.generated_at.date());
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(ExportDocument::from(export)))
}

#[derive(Serialize, ToSchema)]
pub struct ErasureRequest {
    pub id: String,
    pub clinic_id: String,
    /// The patient whose data is to be erased (after an erasure, an id that names no one).
    pub patient_id: String,
    pub status: ErasureStatus,
    /// The patient's reason, if they gave one; cleared when the erasure is carried out.
    pub reason: Option<String>,
    pub requested_at: String,
    pub decided_at: Option<String>,
    /// The administrator who decided.
    pub decided_by_id: Option<String>,
    /// The administrator's reason for the decision.
    pub decision_reason: Option<String>,
}

impl From<ErasureRecord> for ErasureRequest {
    fn from(r: ErasureRecord) -> ErasureRequest {
        ErasureRequest {
            id: r.id,
            clinic_id: r.clinic_id,
            patient_id: r.patient_id,
            status: r.status,
            reason: r.reason,
            requested_at: format_instant(r.requested_at),
            decided_at: r.decided_at.map(format_instant),
            decided_by_id: r.decided_by,
            decision_reason: r.decision_reason,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"reason": "I have moved away and no longer need the service."}))]
pub struct CreateErasureRequest {
    /// Why, if the patient wishes to say.
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub reason: Option<String>,
}

/// Asks the clinic to erase everything the service holds about the calling patient.
///
/// The patient only; staff get 403. One request may be open at a time: another answers 409 until
/// the clinic's administrator decides. The optional `reason` is free text of at most 2,000
/// characters (422 otherwise). Nothing is erased until an administrator approves (decideErasureRequest).
/// Retrying with the same Idempotency-Key is safe: the retry gets the first answer.
#[utoipa::path(
    operation_id = "requestErasure",
    tag = "me",
    params(crate::routes::openapi::IdempotencyKey),
    request_body = CreateErasureRequest,
    responses(
        (status = 201, description = "Filed", body = ErasureRequest,
            headers(("Location" = String, description = "The path of the created resource"))),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/me/erasure-requests", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn request_erasure(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateErasureRequest>,
) -> Result<HttpResponse, AppError> {
    let mut checks = Checks::new();
    let reason = checks.optional("reason", body.into_inner().reason, parse_notes);
    checks.finish()?;
    let caller = Patient::try_from(caller)?;
    let created = data_rights::request_erasure(&state, caller, reason).await?;
    note(&req, &created);
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/erasure-requests/{}", created.id)))
        .json(ErasureRequest::from(created)))
}

fn note(req: &HttpRequest, record: &ErasureRecord) {
    note_subject(
        req,
        Subject {
            patient_id: Some(record.patient_id.clone()),
            resource_type: Some("erasure-request"),
            resource_id: Some(record.id.clone()),
        },
    );
}

/// One erasure request and where it stands.
///
/// The clinic's administrators, or the patient who filed it; clinicians get 403, and another
/// clinic's or another patient's request answers 404. Once approved, the patient's account no longer
/// exists to ask: the administrators still see the decision.
#[utoipa::path(
    operation_id = "getErasureRequest",
    tag = "erasure",
    params(("id" = uuid::Uuid, Path, description = "Erasure request id")),
    responses(
        (status = 200, description = "The request", body = ErasureRequest),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/erasure-requests/{id}")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<ErasureRequest>, AppError> {
    if caller.role == Role::Clinician {
        return Err(AppError::Forbidden);
    }
    let id = path_id(&id)?;
    let found = data_rights::get_erasure_request(&state, caller, id).await?;
    note(&req, &found);
    Ok(web::Json(found.into()))
}

/// The clinic's erasure requests, oldest first, whatever their state.
///
/// Administrators only; clinicians and patients get 403. Never another clinic's requests. A
/// `limit` outside 1-100 or a `cursor` this server did not issue answers 422.
#[utoipa::path(
    operation_id = "listErasureRequests",
    tag = "erasure",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of requests", body = Page<ErasureRequest>),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/erasure-requests")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<ErasureRequest>>, AppError> {
    let caller = Admin::try_from(caller)?;
    let page = query.into_inner().into_request()?;
    let found = data_rights::list_erasure_requests(&state, caller, page).await?;
    Ok(web::Json(found.map(ErasureRequest::from)))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"decision": "approve", "reason": "Identity confirmed by phone; no records we must keep."}))]
pub struct DecideErasure {
    #[schema(value_type = ErasureDecision, required = true)]
    pub decision: Option<String>,
    /// Why: kept with the decision.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub reason: Option<String>,
}

fn parse_reason(raw: String) -> Result<String, String> {
    let reason = parse_notes(raw)?;
    if reason.trim().is_empty() { Err("must not be blank".into()) } else { Ok(reason) }
}

/// Approves or declines an open erasure request, with a reason. Approval erases the patient.
///
/// Administrators of the request's clinic only; clinicians and patients get 403, another clinic's
/// request answers 404, and a request decided already answers 409. `reason` is required (at most
/// 2,000 characters). Approval carries the erasure out in the same transaction: the patient's
/// profile, schedules, screenings, treatments, acknowledgements, check-ins, photos, sessions and
/// invitations are deleted, stored answers that mention them forgotten, and the account tombstoned
/// (no name, e-mail or password; it can no longer log in). The audit trail is kept as it is: its
/// rows hold only opaque ids. Retrying with the same Idempotency-Key is safe: the retry gets the
/// first answer, not a 409.
#[utoipa::path(
    operation_id = "decideErasureRequest",
    tag = "erasure",
    params(("id" = uuid::Uuid, Path, description = "Erasure request id"), crate::routes::openapi::IdempotencyKey),
    request_body = DecideErasure,
    responses(
        (status = 200, description = "Decided (and, when approved, carried out)", body = ErasureRequest),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/erasure-requests/{id}/decision", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<DecideErasure>,
) -> Result<web::Json<ErasureRequest>, AppError> {
    let body = body.into_inner();
    let mut checks = Checks::new();
    let decision = checks.required("decision", body.decision, parse_enum::<ErasureDecision>);
    let reason = checks.required("reason", body.reason, parse_reason);
    checks.finish()?;
    let caller = Admin::try_from(caller)?;
    let id = path_id(&id)?;
    let decided = data_rights::decide_erasure(&state, caller, id, checked(decision)?, checked(reason)?).await?;
    note(&req, &decided);
    Ok(web::Json(decided.into()))
}
