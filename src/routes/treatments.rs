//! Treatments and their recovery plans: timeline, reminders, calendar feed.

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Subject, note_subject};
use crate::auth::{Caller, Staff};
use crate::clock::format_instant;
use crate::domain::treatment::{parse_areas, parse_needle_depth};
use crate::domain::{
    Area, Procedure, Setting, format_time_of_day, parse_date, parse_enum, parse_notes, parse_treatment_date,
};
use crate::error::AppError;
use crate::models::treatments::{NewTreatment, TreatmentRecord};
use crate::pagination::{Page, PageQuery};
use crate::plan::PlannedReminder;
use crate::plan::timeline::PhaseStatus;
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::plans::{self, PlanOnDate, PlanReminders};
use crate::use_cases::treatments;
use crate::validate::{Checks, checked};

#[derive(Serialize, ToSchema)]
pub struct ProtocolRef {
    pub id: String,
    pub version: i32,
}

#[derive(Serialize, ToSchema)]
pub struct Treatment {
    pub id: String,
    pub patient_id: String,
    pub clinic_id: String,
    pub procedure: Procedure,
    /// The local date of the treatment: day 1 of the plan.
    pub treated_on: NaiveDate,
    pub setting: Setting,
    pub areas: Vec<Area>,
    pub needle_depth_mm: f64,
    pub notes: Option<String>,
    /// The protocol version this plan was made with; later protocol edits do not change it.
    pub protocol: ProtocolRef,
    pub created_at: String,
    /// When the patient was discharged while this treatment was in their care (RFC 3339, UTC):
    /// its reminders due after this instant are no longer planned. Null otherwise; a later
    /// re-admission does not clear it.
    pub discharged_at: Option<String>,
    /// The screening that cleared this treatment through the screening gate. Null when a clinician
    /// overrode the gate (`screening_override`), and for treatments recorded before the gate.
    pub screening_id: Option<String>,
    /// Present when a clinician recorded the treatment without a clearing screening: who, when, why.
    pub screening_override: Option<ScreeningOverride>,
}

/// A clinician's decision to treat without an eligible, fresh screening, as recorded.
#[derive(Serialize, ToSchema)]
pub struct ScreeningOverride {
    /// The staff member who overrode the gate.
    pub by_id: String,
    /// When (RFC 3339, UTC): the moment the treatment was recorded.
    pub at: String,
    pub reason: String,
}

impl From<TreatmentRecord> for Treatment {
    fn from(t: TreatmentRecord) -> Treatment {
        Treatment {
            id: t.id,
            patient_id: t.patient_id,
            clinic_id: t.clinic_id,
            procedure: t.procedure,
            treated_on: t.treated_on,
            setting: t.setting,
            areas: t.areas,
            needle_depth_mm: t.needle_depth_mm,
            notes: t.notes,
            protocol: ProtocolRef { id: t.protocol_id, version: t.protocol_version },
            created_at: format_instant(t.created_at),
            discharged_at: t.discharged_at.map(format_instant),
            screening_id: t.screening_id,
            screening_override: match (t.screening_override_by, t.screening_override_at, t.screening_override_reason) {
                (Some(by_id), Some(at), Some(reason)) => {
                    Some(ScreeningOverride { by_id, at: format_instant(at), reason })
                }
                _ => None,
            },
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "procedure": "microneedling",
    "treated_on": "2026-11-30",
    "setting": "in_office",
    "areas": ["face", "neck"],
    "needle_depth_mm": 0.5,
    "notes": "Numbing cream 30 minutes before; no bleeding after the session."
}))]
pub struct CreateTreatment {
    #[schema(value_type = Procedure, required = true)]
    pub procedure: Option<String>,
    /// `YYYY-MM-DD`, the patient's local date of the treatment: from 1900-01-01, at most a year after today.
    #[schema(value_type = NaiveDate, required = true)]
    pub treated_on: Option<String>,
    #[schema(value_type = Setting, required = true)]
    pub setting: Option<String>,
    /// At least one area.
    #[schema(value_type = Vec<Area>, required = true, min_items = 1)]
    pub areas: Option<Vec<String>>,
    #[schema(value_type = f64, required = true, minimum = 0.1, maximum = 3.0)]
    pub needle_depth_mm: Option<f64>,
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub notes: Option<String>,
    /// A clinician's decision to treat without an eligible screening made within the clinic's
    /// period (`screening.valid_days`). Stored on the treatment and findable in the audit trail.
    #[schema(value_type = Option<ScreeningOverrideInput>)]
    pub screening_override: Option<ScreeningOverrideInput>,
}

#[derive(Deserialize, ToSchema)]
pub struct ScreeningOverrideInput {
    /// Why the patient is treated anyway (not blank; at most 2000 characters).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub reason: Option<String>,
}

/// A treatment body, parsed: the treatment and, when given, the override's reason.
pub struct ParsedTreatment {
    pub new: NewTreatment,
    pub screening_override: Option<String>,
}

impl TryFrom<CreateTreatment> for ParsedTreatment {
    type Error = AppError;

    fn try_from(body: CreateTreatment) -> Result<ParsedTreatment, AppError> {
        let mut checks = Checks::new();
        let procedure = checks.required("procedure", body.procedure, parse_enum::<Procedure>);
        let today = Utc::now().date_naive();
        let treated_on = checks.required("treated_on", body.treated_on, |raw| parse_treatment_date(raw, today));
        let setting = checks.required("setting", body.setting, parse_enum::<Setting>);
        let areas = checks.required("areas", body.areas, parse_areas);
        let needle_depth_mm = checks.required("needle_depth_mm", body.needle_depth_mm, parse_needle_depth);
        let notes = checks.optional("notes", body.notes, parse_notes);
        let screening_override = match body.screening_override {
            None => None,
            Some(given) => checks.required("screening_override.reason", given.reason, |reason| {
                if reason.trim().is_empty() {
                    Err("must say why the patient is treated without a clearing screening".to_string())
                } else {
                    parse_notes(reason)
                }
            }),
        };
        checks.finish()?;
        Ok(ParsedTreatment {
            new: NewTreatment {
                procedure: checked(procedure)?,
                treated_on: checked(treated_on)?,
                setting: checked(setting)?,
                areas: checked(areas)?,
                needle_depth_mm: checked(needle_depth_mm)?,
                notes,
            },
            screening_override,
        })
    }
}

/// Records a treatment for a patient of the caller's clinic; its plan starts on `treated_on`.
///
/// Administrators and clinicians, for a patient of their own clinic; patients get 403, and another
/// clinic's patient answers 404. The plan follows the current protocol version, kept with the
/// treatment; `Location` names the new treatment. A `treated_on` more than a year after today,
/// no `areas` or a needle depth outside 0.1-3.0 mm answers 422. A discharged patient is re-admitted
/// by it (`discharged_at` cleared, in the same transaction): the new plan's reminders flow, those of
/// the earlier treatments stay ended. Retrying with the same Idempotency-Key is safe: the retry gets
/// the first answer instead of a second treatment. The screening gate: the patient's latest screening
/// must be made under the current protocol, within the clinic's `screening.valid_days` (default 30),
/// and eligible; otherwise 409 whose problem type names what is missing (`screening-required`,
/// `screening-outdated`, `screening-stale`, `screening-ineligible`), unless the body carries a
/// `screening_override` with a reason (stored on the treatment and audited as `screening-override`;
/// an override without a reason answers 422).
#[utoipa::path(
    operation_id = "createTreatment",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Patient id"), crate::routes::openapi::IdempotencyKey),
    request_body = CreateTreatment,
    responses(
        (status = 201, description = "Created", body = Treatment,
            headers(("Location" = String, description = "The path of the created resource"))),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[post("/patients/{id}/treatments", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CreateTreatment>,
) -> Result<HttpResponse, AppError> {
    let caller = Staff::try_from(caller)?;
    let patient_id = path_id(&id)?;
    let parsed = ParsedTreatment::try_from(body.into_inner())?;
    let created = treatments::create(&state, caller, patient_id, parsed.new, parsed.screening_override).await?;
    if created.screening_override_reason.is_some() {
        // An override is its own kind of event in the trail, so an admin finds every one by
        // `resource_type=screening-override` (the treatment is its resource).
        note_subject(
            &req,
            Subject {
                patient_id: Some(created.patient_id.clone()),
                resource_type: Some("screening-override"),
                resource_id: Some(created.id.clone()),
            },
        );
    }
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/treatments/{}", created.id)))
        .json(Treatment::from(created)))
}

/// A patient's treatments, oldest first.
///
/// Administrators and clinicians of the patient's clinic, or the patient; another clinic's patient,
/// or another patient, answers 404. Pages hold at most `limit` treatments (1-100, default 50):
/// follow `next_cursor` until it is null. A `limit` out of range or a `cursor` this server did not
/// issue answers 422.
#[utoipa::path(
    operation_id = "listTreatments",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Patient id"), PageQuery),
    responses(
        (status = 200, description = "A page of treatments", body = Page<Treatment>),
    )
)]
#[get("/patients/{id}/treatments")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Treatment>>, AppError> {
    let patient_id = path_id(&id)?;
    let page = query.into_inner().into_request()?;
    let found = treatments::list_for_patient(&state, caller, patient_id, page).await?;
    Ok(web::Json(found.map(Treatment::from)))
}

/// One treatment.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404,
/// exactly as for an id that does not exist. The answer carries an `ETag`: send it back in
/// `If-None-Match` to get 304 with no body while the treatment is unchanged.
#[utoipa::path(
    operation_id = "getTreatment",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), crate::routes::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "The treatment", body = Treatment),
    )
)]
#[get("/treatments/{id}", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<Treatment>, AppError> {
    let id = path_id(&id)?;
    let found = treatments::get(&state, caller, id).await?;
    Ok(web::Json(found.into()))
}

#[derive(Serialize, ToSchema)]
pub struct PhaseView {
    #[schema(example = "days_3_7")]
    pub key: String,
    pub title: String,
    pub day_from: i64,
    pub day_to: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub status: PhaseStatus,
    /// What the patient can expect in this phase.
    pub expect: Vec<String>,
    /// How to look after the skin in this phase.
    pub care: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub treatment_id: String,
    /// The patient's IANA time zone: `on` and every date here are local dates there.
    pub timezone: String,
    pub treated_on: NaiveDate,
    pub on: NaiveDate,
    /// Days from `treated_on` to `on`, plus one: 0 or negative before the treatment, above 90 after.
    pub day_number: i64,
    /// The phase `on` falls in, if any.
    #[schema(example = "days_3_7")]
    pub current_phase: Option<String>,
    pub phases: Vec<PhaseView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// `YYYY-MM-DD`; default: today in the patient's time zone.
    #[param(value_type = Option<NaiveDate>)]
    pub on: Option<String>,
}

/// The recovery phases as they stand on a date: what to expect and how to care for the skin.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// `on` is a local date in the patient's time zone, today there by default; each phase says whether
/// it is completed, current or upcoming on that date. An `on` that is not a `YYYY-MM-DD` date from
/// 1900 to 2100 answers 422. Revalidate with `If-None-Match`: 304 while the answer is unchanged.
#[utoipa::path(
    operation_id = "getTimeline",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), TimelineQuery, crate::routes::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "The timeline", body = Timeline),
    )
)]
#[get("/treatments/{id}/timeline", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn get_timeline(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<TimelineQuery>,
) -> Result<web::Json<Timeline>, AppError> {
    let mut checks = Checks::new();
    let on = checks.optional("on", query.into_inner().on, parse_date);
    checks.finish()?;
    let treatment_id = path_id(&id)?;
    let found = plans::timeline(&state, caller, treatment_id, on).await?;
    Ok(web::Json(timeline_view(&found)))
}

/// A plan on a date, as the wire shows it (here and in the patient's export).
pub fn timeline_view(found: &PlanOnDate) -> Timeline {
    let t = found.timeline();
    Timeline {
        treatment_id: found.plan.treatment.id.clone(),
        timezone: found.timezone.name().to_string(),
        treated_on: found.plan.treatment.treated_on,
        on: t.on,
        day_number: t.day_number,
        current_phase: t.current_phase.map(String::from),
        phases: t
            .phases
            .into_iter()
            .map(|p| PhaseView {
                key: p.phase.key.clone(),
                title: p.phase.title.clone(),
                day_from: p.phase.day_from,
                day_to: p.phase.day_to,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
                status: p.status,
                expect: p.phase.expect.clone(),
                care: p.phase.care.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize, ToSchema, Clone)]
pub struct Reminder {
    /// Stable: the same reminder has the same id on every call.
    pub id: String,
    pub treatment_id: String,
    pub local_date: NaiveDate,
    pub day_number: i64,
    #[schema(example = "sunscreen")]
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The patient's reminder time, `HH:MM`, local.
    pub local_time: String,
    /// `local_date` at `local_time` in the patient's zone, as a UTC instant.
    pub due_at: String,
    pub acknowledged_at: Option<String>,
}

pub fn reminder_view(
    treatment_id: &str,
    r: &PlannedReminder,
    acknowledged_at: Option<chrono::NaiveDateTime>,
) -> Reminder {
    Reminder {
        id: r.id.to_string(),
        treatment_id: treatment_id.to_string(),
        local_date: r.local_date,
        day_number: r.day_number,
        kind: r.kind.to_string(),
        title: r.title.to_string(),
        body: r.body.to_string(),
        local_time: format_time_of_day(r.local_time),
        due_at: format_instant(r.due_at.naive_utc()),
        acknowledged_at: acknowledged_at.map(format_instant),
    }
}

/// The reminders of a plan's dates, as the wire shows them.
pub fn reminder_views(found: &PlanReminders) -> Vec<Reminder> {
    found.each().map(|(r, acknowledged_at)| reminder_view(&found.plan.treatment.id, &r, acknowledged_at)).collect()
}

#[derive(Serialize, ToSchema)]
pub struct ReminderList {
    pub items: Vec<Reminder>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReminderRangeQuery {
    /// First local date, `YYYY-MM-DD`; default today in the patient's zone.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<String>,
    /// Last local date, `YYYY-MM-DD`; default `from` + 6. At most 100 days in all.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<String>,
}

/// The daily reminders between two local dates (default: the next seven days).
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// `from` defaults to today in the patient's time zone and `to` to `from` + 6; dates outside the
/// plan have no reminders. A `to` before `from`, or a range of more than 100 days, answers 422.
/// Revalidate with `If-None-Match`: 304 while the answer is unchanged (acknowledgements included).
#[utoipa::path(
    operation_id = "listReminders",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), ReminderRangeQuery, crate::routes::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "Reminders by date, then kind", body = ReminderList),
    )
)]
#[get("/treatments/{id}/reminders", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn list_reminders(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ReminderRangeQuery>,
) -> Result<web::Json<ReminderList>, AppError> {
    let query = query.into_inner();
    let mut checks = Checks::new();
    let from = checks.optional("from", query.from, parse_date);
    let to = checks.optional("to", query.to, parse_date);
    checks.finish()?;
    let treatment_id = path_id(&id)?;
    let found = plans::reminders(&state, caller, treatment_id, from, to).await?;
    Ok(web::Json(ReminderList { items: reminder_views(&found) }))
}

/// The whole plan's reminders as an iCalendar feed (RFC 5545), one event with an alarm each.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// Each event starts at the reminder's `due_at` and keeps its UID across downloads, so a calendar
/// app can update its events rather than duplicate them when the feed is imported again.
/// Revalidate with `If-None-Match`: 304 while the plan is unchanged.
#[utoipa::path(
    operation_id = "getCalendar",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), crate::routes::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "The calendar", body = String, content_type = "text/calendar",
            headers(("Content-Disposition" = String, description = "`inline`, naming the file `aftercare.ics`"))),
    )
)]
#[get("/treatments/{id}/calendar.ics", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn calendar(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let treatment_id = path_id(&id)?;
    let plan = plans::calendar(&state, caller, treatment_id).await?;
    let body = crate::calendar::render(&plan);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Content-Disposition", "inline; filename=\"aftercare.ics\""))
        .body(body))
}
