//! Treatments and their recovery plans: timeline, reminders, calendar feed.

use actix_web::CustomizeResponder;
use actix_web::http::header::{self, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Subject, note_subject};
use crate::auth::{Caller, Staff};
use crate::clock::format_instant;
use crate::domain::treatment::{parse_areas, parse_needle_depth};
use crate::domain::{
    Area, Procedure, Setting, SkinType, format_time_of_day, parse_date, parse_enum, parse_notes, parse_time_of_day,
    parse_treatment_date,
};
use crate::error::AppError;
use crate::language::{self, Requested};
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
    /// The patient's skin type this treatment's plan uses: the clinician's assessment when the
    /// treatment was recorded, or when a clinician last re-planned it. A later change to the
    /// patient's profile does not change it.
    pub skin_type: SkinType,
    /// The Fitzpatrick type (1-6) this treatment's plan uses, frozen as `skin_type` is.
    #[schema(minimum = 1, maximum = 6)]
    pub fitzpatrick: i32,
    /// The local time of day of the treatment (`HH:MM`, in the patient's zone when it was
    /// recorded): the one given, or the clinic's default. Null for treatments recorded before times
    /// were, whose plans run by local days alone.
    #[schema(example = "15:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub treatment_time: Option<String>,
    /// The instant of the treatment (RFC 3339, UTC): `treated_on` at `treatment_time`. Rules that
    /// hold for some hours after treatment run from it, and no reminder is due before it.
    pub treated_at: Option<String>,
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
            skin_type: t.skin_type,
            fitzpatrick: t.fitzpatrick,
            treatment_time: t.treatment_time.map(format_time_of_day),
            treated_at: t.treated_at.map(format_instant),
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
    "notes": "Numbing cream 30 minutes before; no bleeding after the session.",
    "treatment_time": "15:00"
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
    /// `HH:MM`, the local time of day of the treatment in the patient's zone; default: the clinic's
    /// `treatments.default_time` setting (10:00 unless changed).
    #[schema(value_type = Option<String>, example = "15:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub treatment_time: Option<String>,
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

/// A treatment body, parsed: the treatment, its time of day and the override's reason when given.
pub struct ParsedTreatment {
    pub new: NewTreatment,
    pub time: Option<NaiveTime>,
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
        let time = checks.optional("treatment_time", body.treatment_time, parse_time_of_day);
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
            time,
            screening_override,
        })
    }
}

/// Records a treatment for a patient of the caller's clinic; its plan starts on `treated_on`.
///
/// Administrators and clinicians, for a patient of their own clinic; patients get 403, and another
/// clinic's patient answers 404. The plan follows the current protocol version, kept with the
/// treatment; `Location` names the new treatment. `treatment_time` (`HH:MM`, the patient's local
/// time; default the clinic's `treatments.default_time`) fixes `treated_at`: no reminder is due
/// before it, and rules that hold for some hours after treatment run from it; a time that is not
/// `HH:MM` answers 422. A `treated_on` more than a year after today,
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
    let created =
        treatments::create(&state, caller, patient_id, parsed.new, parsed.time, parsed.screening_override).await?;
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

/// Re-plans a treatment with its patient's current skin type and Fitzpatrick type.
///
/// Administrators and clinicians of the treatment's clinic; patients get 403, and another clinic's
/// treatment (or an id that is no treatment) answers 404. The patient's current values replace the
/// ones frozen on the treatment, and its whole plan (reminders of every day, acknowledgements kept
/// by reminder id) follows them from now on; the audit trail records who asked. Re-planning when
/// the values are already the patient's answers 200 with the treatment unchanged, so retrying, with
/// the same Idempotency-Key or none, is safe.
#[utoipa::path(
    operation_id = "replanTreatment",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), crate::routes::openapi::IdempotencyKey),
    responses(
        (status = 200, description = "The treatment, with the values its plan now uses", body = Treatment),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[post("/treatments/{id}/replan", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn replan(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<Treatment>, AppError> {
    let caller = Staff::try_from(caller)?;
    let id = path_id(&id)?;
    let replanned = treatments::replan(&state, caller, id).await?;
    note_subject(
        &req,
        Subject {
            patient_id: Some(replanned.patient_id.clone()),
            resource_type: Some("treatment"),
            resource_id: Some(replanned.id.clone()),
        },
    );
    Ok(web::Json(replanned.into()))
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
    /// The protocol's variants this treatment's plan follows (its procedure, setting and areas
    /// select them), in the order they apply; empty for a standard plan and for every plan of
    /// protocol version 1. Their changes are already in `phases` and in the reminders.
    pub variants: Vec<PlanVariant>,
    /// The "you may now…" moments of this patient's plan, in order (none for plans of protocol v1).
    pub milestones: Vec<MilestoneView>,
}

#[derive(Serialize, ToSchema)]
pub struct PlanVariant {
    #[schema(example = "prp")]
    pub key: String,
    #[schema(example = "Microneedling with PRP")]
    pub title: String,
}

#[derive(Serialize, ToSchema)]
pub struct MilestoneView {
    /// The reminder kind that announces it, e.g. `may_resume_makeup`.
    #[schema(example = "may_resume_makeup")]
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The local date in the patient's zone, and its day of recovery.
    pub local_date: NaiveDate,
    pub day_number: i64,
    /// From when it holds (RFC 3339, UTC): the moment its reminder is due.
    pub at: String,
    /// Whether it holds on `on` (its date is `on` or earlier).
    pub reached: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// `YYYY-MM-DD`; default: today in the patient's time zone.
    #[param(value_type = Option<NaiveDate>)]
    pub on: Option<String>,
}

impl TimelineQuery {
    /// `on`, a date when given (422 naming `on` when it is not).
    pub fn on(self) -> Result<Option<NaiveDate>, AppError> {
        let mut checks = Checks::new();
        let on = checks.optional("on", self.on, parse_date);
        checks.finish()?;
        Ok(on)
    }
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
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), TimelineQuery, crate::routes::openapi::IfNoneMatch, crate::routes::openapi::AcceptLanguage),
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
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<Timeline>>, AppError> {
    let on = query.into_inner().on()?;
    let treatment_id = path_id(&id)?;
    let found = plans::timeline(&state, caller, treatment_id, on, requested).await?;
    Ok(language::localized(web::Json(timeline_view(&found)), [found.language]))
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
        variants: found
            .plan
            .variants
            .iter()
            .map(|v| PlanVariant { key: v.key.clone(), title: v.title.clone() })
            .collect(),
        milestones: found
            .plan
            .plan()
            .milestones()
            .into_iter()
            .map(|m| MilestoneView {
                kind: m.kind.to_string(),
                title: m.title.to_string(),
                body: m.body.to_string(),
                local_date: m.local_date,
                day_number: m.day_number,
                at: format_instant(m.due_at.naive_utc()),
                reached: m.local_date <= t.on,
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
    /// The patient's reminder time, `HH:MM`, local; on the day of treatment never before the
    /// treatment's own time, and for a rule that holds for some hours after treatment never before
    /// its window opens.
    pub local_time: String,
    /// `local_date` at `local_time` in the patient's zone, as a UTC instant.
    pub due_at: String,
    pub acknowledged_at: Option<String>,
    /// A "you may now…" entry (kinds such as `may_resume_makeup`) rather than a rule to follow.
    pub milestone: bool,
    /// For a rule that holds for some hours after the treatment (RFC 3339, UTC): when it ends.
    /// Null for rules that hold for whole days.
    pub window_ends_at: Option<String>,
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
        milestone: r.milestone,
        window_ends_at: r.window_ends_at.map(|at| format_instant(at.naive_utc())),
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

impl ReminderRangeQuery {
    /// `from` and `to`, each a date when given (422 naming each that is not).
    fn dates(self) -> Result<(Option<NaiveDate>, Option<NaiveDate>), AppError> {
        let mut checks = Checks::new();
        let from = checks.optional("from", self.from, parse_date);
        let to = checks.optional("to", self.to, parse_date);
        checks.finish()?;
        Ok((from, to))
    }
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
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), ReminderRangeQuery, crate::routes::openapi::IfNoneMatch, crate::routes::openapi::AcceptLanguage),
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
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<ReminderList>>, AppError> {
    let (from, to) = query.into_inner().dates()?;
    let treatment_id = path_id(&id)?;
    let found = plans::reminders(&state, caller, treatment_id, from, to, requested).await?;
    Ok(language::localized(web::Json(ReminderList { items: reminder_views(&found) }), [found.language]))
}

/// One reminder of a notification.
#[derive(Serialize, ToSchema)]
pub struct NotificationItem {
    /// The reminder's id, as in the reminders list (acknowledge it with `POST /v1/reminders/{id}/ack`).
    pub reminder_id: String,
    #[schema(example = "sunscreen")]
    pub kind: String,
    pub title: String,
    pub acknowledged_at: Option<String>,
}

/// The reminders of one local date due at the same time: one notification for the app to schedule.
#[derive(Serialize, ToSchema)]
pub struct Notification {
    pub local_date: NaiveDate,
    pub day_number: i64,
    /// `HH:MM`, local to the patient's zone.
    pub local_time: String,
    /// `local_date` at `local_time` in the patient's zone, as a UTC instant.
    pub due_at: String,
    /// How many reminders fall due at this time (the length of `items`).
    pub count: i64,
    /// How many of them are not acknowledged yet (0: the app may drop the notification).
    pub pending: i64,
    /// The reminders due at this time, by kind.
    pub items: Vec<NotificationItem>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    /// Earliest first, one per local date and time.
    pub items: Vec<Notification>,
}

/// The reminders between two local dates bundled for notification: one entry per date and time.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// Beside the per-reminder list, for an app that schedules one notification per time instead of
/// one per reminder: each entry holds every reminder of that local date due at that instant
/// (ids, kinds, titles, acknowledgements), so the entries' counts add up to the reminders list of
/// the same range. `from` defaults to today in the patient's time zone and `to` to `from` + 6; a
/// `to` before `from`, or a range of more than 100 days, answers 422. Revalidate with
/// `If-None-Match`: 304 while the answer is unchanged (acknowledgements included).
#[utoipa::path(
    operation_id = "listNotifications",
    tag = "treatments",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), ReminderRangeQuery, crate::routes::openapi::IfNoneMatch, crate::routes::openapi::AcceptLanguage),
    responses(
        (status = 200, description = "Reminders bundled by date and time", body = NotificationList),
    )
)]
#[get("/treatments/{id}/notifications", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ReminderRangeQuery>,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<NotificationList>>, AppError> {
    let (from, to) = query.into_inner().dates()?;
    let treatment_id = path_id(&id)?;
    let found = plans::reminders(&state, caller, treatment_id, from, to, requested).await?;
    let items = found
        .bundles()
        .into_iter()
        .map(|b| Notification {
            local_date: b.local_date,
            day_number: b.day_number,
            local_time: format_time_of_day(b.local_time),
            due_at: format_instant(b.due_at.naive_utc()),
            count: b.items.len() as i64,
            pending: b.items.iter().filter(|(_, at)| at.is_none()).count() as i64,
            items: b
                .items
                .iter()
                .map(|(r, at)| NotificationItem {
                    reminder_id: r.id.to_string(),
                    kind: r.kind.to_string(),
                    title: r.title.to_string(),
                    acknowledged_at: at.map(format_instant),
                })
                .collect(),
        })
        .collect();
    Ok(language::localized(web::Json(NotificationList { items }), [found.language]))
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
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), crate::routes::openapi::IfNoneMatch, crate::routes::openapi::AcceptLanguage),
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
    requested: Requested,
) -> Result<HttpResponse, AppError> {
    let treatment_id = path_id(&id)?;
    let (plan, language) = plans::calendar(&state, caller, treatment_id, requested).await?;
    let body = crate::calendar::render(&plan);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Content-Disposition", "inline; filename=\"aftercare.ics\""))
        .insert_header((header::CONTENT_LANGUAGE, language::content_language([language])))
        .insert_header((header::VARY, "Accept-Language"))
        .body(body))
}
