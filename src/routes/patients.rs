//! Patient profiles: created by clinic staff, read and edited by staff and by the patient.

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Subject, note_subject};
use crate::auth::{Caller, Staff};
use crate::clock::format_instant;
use crate::domain::{
    EmailAddress, PatientStatus, PersonName, SkinType, TimeZoneName, format_time_of_day, parse_enum, parse_fitzpatrick,
    parse_notes, parse_time_of_day, parse_timezone,
};
use crate::error::AppError;
use crate::language::Language;
use crate::models::patients::{NewPatient, PatientChanges, PatientRecord};
use crate::pagination::{Page, PageQuery};
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::patients;
use crate::validate::{Checks, checked};

/// `en` or `es`.
fn parse_language(value: String) -> Result<Language, String> {
    value.parse()
}

pub const DEFAULT_REMINDER_TIME: &str = "09:00";

#[derive(Serialize, ToSchema)]
pub struct Patient {
    pub id: String,
    pub clinic_id: String,
    pub name: String,
    pub email: String,
    #[schema(value_type = TimeZoneName)]
    pub timezone: String,
    pub skin_type: SkinType,
    /// Fitzpatrick skin phototype, 1 to 6.
    #[schema(minimum = 1, maximum = 6)]
    pub fitzpatrick: i32,
    /// Local time of day for reminders, `HH:MM`.
    #[schema(example = "09:00")]
    pub reminder_time: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When the patient was discharged (RFC 3339, UTC); null while in care. A new treatment
    /// re-admits the patient and clears it.
    pub discharged_at: Option<String>,
    /// The note given with the discharge, if any; null while in care.
    pub discharge_note: Option<String>,
    /// The language the patient prefers for the texts of their plan and their e-mails; null
    /// when never set (English, unless a request's `Accept-Language` asks otherwise).
    pub preferred_language: Option<Language>,
}

impl From<PatientRecord> for Patient {
    fn from(p: PatientRecord) -> Patient {
        Patient {
            id: p.id,
            clinic_id: p.clinic_id,
            name: p.name,
            email: p.email,
            timezone: p.timezone.name().to_string(),
            skin_type: p.skin_type,
            fitzpatrick: p.fitzpatrick,
            reminder_time: format_time_of_day(p.reminder_time),
            created_at: format_instant(p.created_at),
            discharged_at: p.discharged_at.map(format_instant),
            discharge_note: p.discharge_note,
            preferred_language: p.preferred_language,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedPatient {
    #[serde(flatten)]
    pub patient: Patient,
    /// Deprecated: the invitation now goes to the patient by e-mail, with a link carrying this
    /// token. Shown once; empty when the server is set never to show it
    /// (`INVITE_TOKENS_IN_ANSWERS=false`, the recommended setting), and gone in v2.
    #[schema(deprecated)]
    pub invite_token: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "Maria Lopez",
    "email": "maria.lopez@mail.example",
    "timezone": "America/Chicago",
    "skin_type": "combination",
    "fitzpatrick": 3,
    "reminder_time": "09:00"
}))]
pub struct CreatePatient {
    #[schema(schema_with = crate::routes::openapi::person_name, required = true)]
    pub name: Option<String>,
    #[schema(value_type = String, required = true, format = Email)]
    pub email: Option<String>,
    #[schema(value_type = TimeZoneName, required = true)]
    pub timezone: Option<String>,
    #[schema(value_type = SkinType, required = true)]
    pub skin_type: Option<String>,
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 6)]
    #[serde(default, deserialize_with = "crate::validate::integer")]
    pub fitzpatrick: Option<i64>,
    /// `HH:MM`, default 09:00.
    #[schema(value_type = Option<String>, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub reminder_time: Option<String>,
    /// `en` or `es`: the language of the patient's texts and e-mails (the invitation included)
    /// when a request does not ask for one. Optional.
    #[schema(value_type = Option<Language>)]
    pub preferred_language: Option<String>,
}

impl TryFrom<CreatePatient> for NewPatient {
    type Error = AppError;

    fn try_from(body: CreatePatient) -> Result<NewPatient, AppError> {
        let mut checks = Checks::new();
        let name = checks.required("name", body.name, PersonName::parse);
        let email = checks.required("email", body.email, EmailAddress::parse);
        let timezone = checks.required("timezone", body.timezone, parse_timezone);
        let skin_type = checks.required("skin_type", body.skin_type, parse_enum::<SkinType>);
        let fitzpatrick = checks.required("fitzpatrick", body.fitzpatrick, parse_fitzpatrick);
        let reminder_time = checks.required(
            "reminder_time",
            Some(body.reminder_time.unwrap_or_else(|| DEFAULT_REMINDER_TIME.into())),
            parse_time_of_day,
        );
        let preferred_language = checks.optional("preferred_language", body.preferred_language, parse_language);
        checks.finish()?;
        Ok(NewPatient {
            name: checked(name)?,
            email: checked(email)?,
            timezone: checked(timezone)?,
            skin_type: checked(skin_type)?,
            fitzpatrick: checked(fitzpatrick)?,
            reminder_time: checked(reminder_time)?,
            preferred_language,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"timezone": "America/New_York", "reminder_time": "08:30"}))]
pub struct UpdatePatient {
    #[schema(schema_with = crate::routes::openapi::optional_person_name)]
    pub name: Option<String>,
    #[schema(value_type = Option<TimeZoneName>)]
    pub timezone: Option<String>,
    #[schema(value_type = Option<SkinType>)]
    pub skin_type: Option<String>,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 6)]
    #[serde(default, deserialize_with = "crate::validate::integer")]
    pub fitzpatrick: Option<i64>,
    #[schema(value_type = Option<String>, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "08:30")]
    pub reminder_time: Option<String>,
    /// `en` or `es`: the patient's language, which staff and the patient may both set.
    #[schema(value_type = Option<Language>)]
    pub preferred_language: Option<String>,
}

impl TryFrom<UpdatePatient> for PatientChanges {
    type Error = AppError;

    fn try_from(body: UpdatePatient) -> Result<PatientChanges, AppError> {
        let mut checks = Checks::new();
        let changes = PatientChanges {
            name: checks.optional("name", body.name, PersonName::parse),
            timezone: checks.optional("timezone", body.timezone, parse_timezone),
            skin_type: checks.optional("skin_type", body.skin_type, parse_enum::<SkinType>),
            fitzpatrick: checks.optional("fitzpatrick", body.fitzpatrick, parse_fitzpatrick),
            reminder_time: checks.optional("reminder_time", body.reminder_time, parse_time_of_day),
            preferred_language: checks.optional("preferred_language", body.preferred_language, parse_language),
        };
        checks.finish()?;
        Ok(changes)
    }
}

/// Adds a patient to the caller's clinic and returns it with a one-time invitation token.
///
/// Administrators and clinicians; patients get 403. Hand the `invite_token` to the patient, who
/// sets a password with it at /v1/auth/activate; `Location` names the new patient. An e-mail
/// address that already has an account at this clinic answers 409; a `timezone` that is not one
/// of GET /v1/time-zones, 422. Retrying with the same Idempotency-Key is safe: the retry issues a
/// fresh invitation token (the earlier one stops working), or answers 409 once it has been accepted.
#[utoipa::path(
    params(crate::routes::openapi::IdempotencyKey),
    operation_id = "createPatient",
    tag = "patients",
    request_body = CreatePatient,
    responses(
        (status = 201, description = "Created", body = CreatedPatient,
            headers(("Location" = String, description = "The path of the created resource"))),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/patients", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreatePatient>,
) -> Result<HttpResponse, AppError> {
    let caller = Staff::try_from(caller)?;
    let new = NewPatient::try_from(body.into_inner())?;
    let patients::Enrolled { patient, invite_token } = patients::enroll(&state, caller, new).await?;
    let subject = Subject {
        patient_id: Some(patient.id.clone()),
        resource_type: Some("patient"),
        resource_id: Some(patient.id.clone()),
    };
    note_subject(&req, subject);
    let user_id = patient.id.clone();
    let mut created = HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/patients/{user_id}")))
        .json(CreatedPatient { patient: patient.into(), invite_token: invite_token.clone().unwrap_or_default() });
    if invite_token.is_some() {
        crate::idempotency::note_invite(&mut created, &user_id);
    }
    Ok(created)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientsQuery {
    /// Only patients in care (`active`) or only discharged ones; all of them when left out.
    #[param(value_type = Option<PatientStatus>)]
    pub status: Option<String>,
    /// How many items to return, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^([0-2]:)?[0-9]{1,16}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}

/// The caller's clinic's patients, oldest first.
///
/// Administrators and clinicians, who see every patient of their own clinic and no other; patients
/// get 403. Discharged patients are listed too, with `discharged_at` set; `status=active` or
/// `status=discharged` lists only those. Pages hold at most `limit` patients (1-100, default 50):
/// follow `next_cursor` until it is null. An unknown `status`, a `limit` out of range or a `cursor`
/// this server did not issue answers 422.
#[utoipa::path(
    operation_id = "listPatients",
    tag = "patients",
    params(PatientsQuery),
    responses(
        (status = 200, description = "A page of patients", body = Page<Patient>),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/patients")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PatientsQuery>,
) -> Result<web::Json<Page<Patient>>, AppError> {
    let caller = Staff::try_from(caller)?;
    let q = query.into_inner();
    let mut checks = Checks::new();
    let status = checks.optional("status", q.status, parse_enum::<PatientStatus>);
    let page = PageQuery { limit: q.limit, cursor: q.cursor }.parse(&mut checks);
    checks.finish()?;
    let found = patients::list(&state, caller, status, checked(page)?).await?;
    Ok(web::Json(found.map(Patient::from)))
}

/// One patient: staff of its clinic, or the patient itself.
///
/// Administrators and clinicians of the patient's clinic, or the patient; another clinic's patient,
/// or another patient, answers 404, exactly as an id that does not exist. The answer carries an
/// `ETag`: send it back in `If-None-Match` to get 304 with no body while the profile is unchanged.
#[utoipa::path(
    operation_id = "getPatient",
    tag = "patients",
    params(("id" = uuid::Uuid, Path, description = "Patient id"), crate::routes::openapi::IfNoneMatch),
    responses(
        (status = 200, description = "The patient", body = Patient),
    )
)]
#[get("/patients/{id}", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<Patient>, AppError> {
    let id = path_id(&id)?;
    let found = patients::get(&state, caller, id).await?;
    Ok(web::Json(found.into()))
}

/// Changes any of name, time zone, skin type, Fitzpatrick type and reminder time.
///
/// Administrators and clinicians of the patient's clinic, or the patient; anyone else gets 404.
/// Fields left out keep their value; the e-mail address cannot be changed. A new time zone or
/// reminder time moves only the reminders still ahead. Skin type and Fitzpatrick type are the
/// clinician's assessment: a patient whose body carries either gets 403 naming them, and nothing of
/// the body is applied (send the other fields alone). The values staff set plan the treatments
/// recorded afterwards; each existing treatment keeps the values frozen on it until a clinician
/// re-plans it (POST /v1/treatments/{id}/replan). Invalid values answer 422, naming each field.
#[utoipa::path(
    operation_id = "updatePatient",
    tag = "patients",
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    request_body = UpdatePatient,
    responses(
        (status = 200, description = "The updated patient", body = Patient),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[patch("/patients/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<UpdatePatient>,
) -> Result<web::Json<Patient>, AppError> {
    let id = path_id(&id)?;
    let body = body.into_inner();
    // Before the values are checked: a patient sending these fields is refused whatever they hold.
    patients::refuse_assessment_by_patient(&caller, body.skin_type.is_some(), body.fitzpatrick.is_some())?;
    let changes = PatientChanges::try_from(body)?;
    let updated = patients::update(&state, caller, id, changes).await?;
    Ok(web::Json(updated.into()))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"note": "Recovery complete at the 12-week visit; no further sessions planned."}))]
pub struct DischargeBody {
    /// Why, or anything the clinic wants on record; the patient sees it too. At most 2,000 characters.
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub note: Option<String>,
}

/// Discharges a patient: their care has ended. Discharging again answers the same.
///
/// Administrators and clinicians of the patient's clinic; patients get 403, and another clinic's
/// patient (or an id that is no patient) answers 404. The body is `{}` or carries a `note`. The
/// patient can still log in and read their plan, timeline, check-ins and photos; new check-ins and
/// photos are refused with 409; reminders due after `discharged_at` are no longer listed, in the
/// today screen, the calendar or the adherence counts (acknowledging one answers 404). Unreviewed
/// check-ins stay in the review queue. Recording a new treatment re-admits the patient. A repeat
/// keeps the first `discharged_at` and note, so retrying, with the same Idempotency-Key or none, is
/// safe. A note over 2,000 characters or with control characters answers 422.
#[utoipa::path(
    operation_id = "dischargePatient",
    tag = "patients",
    params(("id" = uuid::Uuid, Path, description = "Patient id"), crate::routes::openapi::IdempotencyKey),
    request_body = DischargeBody,
    responses(
        (status = 200, description = "The discharged patient", body = Patient),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[post("/patients/{id}/discharge", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn discharge(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<DischargeBody>,
) -> Result<web::Json<Patient>, AppError> {
    let caller = Staff::try_from(caller)?;
    let id = path_id(&id)?;
    let mut checks = Checks::new();
    let note = checks.optional("note", body.into_inner().note, parse_notes);
    checks.finish()?;
    let discharged = patients::discharge(&state, caller, id, note).await?;
    note_subject(
        &req,
        Subject {
            patient_id: Some(discharged.id.clone()),
            resource_type: Some("patient"),
            resource_id: Some(discharged.id.clone()),
        },
    );
    Ok(web::Json(discharged.into()))
}
