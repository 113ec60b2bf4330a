//! The console's handlers: session, form, one use case, page.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::session::{self, ConsoleSession, LOGIN_COOKIE};
use super::views::{self, Frame};
use super::{ConsoleError, chart, html, see_other};
use crate::audit::{Subject, note_subject};
use crate::auth::tokens::random_token;
use crate::auth::{Admin, Staff};
use crate::client_addr::client_ip;
use crate::domain::check_in::Review;
use crate::domain::credentials::LoginAttempt;
use crate::domain::{Area, Procedure, Setting, SkinType, parse_notes};
use crate::error::AppError;
use crate::models::check_ins::{CheckInRecord, QueueEntry};
use crate::models::patients::NewPatient;
use crate::pagination::{Cursor, PageRequest};
use crate::plan::Protocol;
use crate::routes::path_id;
use crate::state::{AppState, SharedState};
use crate::use_cases::{check_ins, invitations, patients, plans, screenings, treatments};
use crate::validate::Checks;

const QUEUE_PAGE: i64 = 50;
const LIST_PAGE: i64 = 100;

const SCRIPT: &str = include_str!("static/console.js");
const STYLESHEET: &str = include_str!("static/console.css");

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub async fn to_console() -> HttpResponse {
    see_other("/console/")
}

fn cursor(raw: Option<String>) -> Result<Option<Cursor>, ConsoleError> {
    raw.map(|c| Cursor::decode(&c)).transpose().map_err(|_| ConsoleError::App(AppError::NotFound))
}

pub(super) fn as_staff(session: &ConsoleSession) -> Result<Staff, ConsoleError> {
    Ok(Staff::try_from(session.caller.clone())?)
}

pub(super) fn as_admin(session: &ConsoleSession) -> Result<Admin, ConsoleError> {
    Ok(Admin::try_from(session.caller.clone())?)
}

fn about_patient(req: &HttpRequest, patient_id: &str, resource_type: &'static str, resource_id: &str) {
    note_subject(
        req,
        Subject {
            patient_id: Some(patient_id.to_string()),
            resource_type: Some(resource_type),
            resource_id: Some(resource_id.to_string()),
        },
    );
}

// Logging in and out.

fn login_page(req: &HttpRequest, state: &AppState, status: u16, error: Option<&str>) -> HttpResponse {
    let csrf = random_token();
    let page = views::LoginPage { csrf: csrf.clone(), error: error.map(String::from) };
    let body = askama::Template::render(&page).unwrap_or_default();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK))
        .cookie(session::cookie(req, state, LOGIN_COOKIE, csrf))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

pub async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    login_page(&req, &state, 200, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    email: String,
    password: String,
}

pub async fn log_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    let LoginForm { csrf, email, password } = form.into_inner();
    // No session yet: the form's token must match the cookie set with it (double submit).
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || !session::constant_time_eq(expected.as_bytes(), csrf.as_bytes()) {
        return Err(ConsoleError::Csrf);
    }
    let request = crate::routes::auth::LoginRequest { email: Some(email), password: Some(password), clinic_id: None };
    let Ok(attempt) = LoginAttempt::try_from(request) else {
        return Ok(login_page(&req, &state, 401, Some("Wrong e-mail or password.")));
    };
    let client = client_ip(&req, &state.settings.trusted_proxies);
    match session::log_in(&state, attempt, client, |actor| crate::audit::note_actor(&req, actor)).await {
        Ok(token) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console/"))
            .cookie(session::cookie(&req, &state, session::COOKIE, token))
            .cookie(session::removal(&req, &state, LOGIN_COOKIE))
            .finish()),
        Err(AppError::Unauthorized) => Ok(login_page(&req, &state, 401, Some("Wrong e-mail or password."))),
        Err(AppError::Forbidden) => Ok(login_page(
            &req,
            &state,
            403,
            Some("This console is for the clinic's staff. Patients use the Aftercare app."),
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

fn logged_out(req: &HttpRequest, state: &AppState) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .cookie(session::removal(req, state, session::COOKIE))
        .finish()
}

pub async fn log_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    let token = req.cookie(session::COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    session::log_out(&state, token).await?;
    Ok(logged_out(&req, &state))
}

pub async fn log_out_everywhere(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    session::log_out_everywhere(&state, session.caller.clone()).await?;
    Ok(logged_out(&req, &state))
}

// The review queue.

#[derive(Deserialize)]
pub struct PageParams {
    cursor: Option<String>,
}

/// The protocol versions the queue's check-ins were judged under (kept in memory by the library).
async fn protocols_of(
    state: &SharedState,
    entries: &[QueueEntry],
) -> Result<Vec<((String, i32), Arc<Protocol>)>, AppError> {
    let mut keys: Vec<(String, i32)> =
        entries.iter().map(|e| (e.check_in.protocol_id.clone(), e.check_in.protocol_version)).collect();
    keys.sort();
    keys.dedup();
    let shared = state.clone();
    state
        .db
        .read(move |conn| {
            keys.into_iter()
                .map(|key| {
                    let protocol = shared.protocols.get(conn, &key.0, key.1)?;
                    Ok((key, protocol))
                })
                .collect()
        })
        .await
}

/// The yes/no signs the check-in reports.
fn signs(check_in: &CheckInRecord) -> String {
    let yes = crate::plan::questions::Answer::YesNo(true);
    let present: Vec<&str> =
        check_in.answers.iter().filter(|(_, answer)| **answer == yes).map(|(sign, _)| sign.as_str()).collect();
    if present.is_empty() { "none".into() } else { present.join(", ") }
}

fn queue_item(entry: QueueEntry, protocol: Option<&Protocol>) -> views::QueueItem {
    let QueueEntry { check_in: c, patient_name } = entry;
    let phase = protocol.and_then(|p| {
        c.phase.as_ref().and_then(|key| p.phases.iter().find(|ph| &ph.key == key)).or_else(|| p.phase_on(c.day_number))
    });
    views::QueueItem {
        patient_id: c.patient_id.clone(),
        patient_name,
        level: c.assessment.level.as_str(),
        shape: views::shape(c.assessment.level),
        day: c.day_number,
        date: c.local_date.to_string(),
        phase: phase.map_or_else(|| "after the plan".to_string(), |p| p.title.clone()),
        expect: phase.map(|p| p.expect.clone()).unwrap_or_default(),
        reasons: c.assessment.reasons.iter().map(|r| r.message.clone()).collect(),
        scores: chart::scores(&c).into_iter().map(|(s, v)| format!("{s} {v}")).collect::<Vec<_>>().join(", "),
        signs: signs(&c),
        notes: c.notes.clone(),
        reported: crate::clock::format_instant(c.created_at),
        id: c.id,
    }
}

async fn queue_items_view(
    state: &SharedState,
    session: &ConsoleSession,
    after: Option<String>,
) -> Result<views::QueueItems, ConsoleError> {
    let page = PageRequest { limit: QUEUE_PAGE, after: cursor(after)? };
    let (page, counts) = check_ins::review_queue(state, as_staff(session)?, page).await?;
    let protocols = protocols_of(state, &page.items).await?;
    let items = page
        .items
        .into_iter()
        .map(|entry| {
            let key = (entry.check_in.protocol_id.clone(), entry.check_in.protocol_version);
            let protocol = protocols.iter().find(|(k, _)| *k == key).map(|(_, p)| p.as_ref());
            queue_item(entry, protocol)
        })
        .collect();
    Ok(views::QueueItems {
        csrf: session.csrf_token.clone(),
        counts: views::Counts { urgent: counts.urgent, watch: counts.watch, ok: counts.ok },
        items,
        next: page.next_cursor,
    })
}

pub async fn queue(
    state: web::Data<AppState>,
    session: ConsoleSession,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ConsoleError> {
    let items = queue_items_view(&state, &session, query.into_inner().cursor).await?;
    let items_html = askama::Template::render(&items).map_err(AppError::internal)?;
    html(views::QueuePage { frame: Frame::of(&session, "queue"), items_html })
}

/// The queue's items alone, for the page's script to poll: an ETag of the content, and 304 while
/// it has not changed.
pub async fn queue_items(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ConsoleError> {
    let items = queue_items_view(&state, &session, query.into_inner().cursor).await?;
    let body = askama::Template::render(&items).map_err(AppError::internal)?;
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body.as_bytes()));
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").insert_header((header::ETAG, etag)).body(body))
}

/// A form whose one field is a free-text note (a review's, a discharge's).
#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf: String,
    note: Option<String>,
}

pub async fn review(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, ConsoleError> {
    let NoteForm { csrf, note } = form.into_inner();
    session.check_csrf(&csrf)?;
    let staff = as_staff(&session)?;
    let id = path_id(&id)?;
    let note = note.filter(|n| !n.trim().is_empty());
    let review = Review::try_from(crate::routes::check_ins::ReviewBody { note })?;
    let reviewed = check_ins::review(&state, staff, id, review).await?;
    about_patient(&req, &reviewed.patient_id, "check-in", &reviewed.id);
    Ok(see_other("/console/"))
}

// Patients.

pub async fn patients(
    state: web::Data<AppState>,
    session: ConsoleSession,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ConsoleError> {
    let page = PageRequest { limit: LIST_PAGE, after: cursor(query.into_inner().cursor)? };
    let page = patients::list(&state, as_staff(&session)?, None, page).await?;
    html(views::PatientsPage {
        frame: Frame::of(&session, "patients"),
        patients: page
            .items
            .into_iter()
            .map(|p| views::PatientRow {
                status: if p.discharged_at.is_some() { "discharged" } else { "in care" },
                since: p.created_at.date().to_string(),
                id: p.id,
                name: p.name,
                email: p.email,
            })
            .collect(),
        next: page.next_cursor,
        timezones: crate::domain::time_zone_names().to_vec(),
        skin_types: SkinType::ALL.iter().map(|s| s.as_str()).collect(),
        added: None,
    })
}

#[derive(Deserialize)]
pub struct AddPatientForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    email: Option<String>,
    timezone: Option<String>,
    skin_type: Option<String>,
    fitzpatrick: Option<String>,
    reminder_time: Option<String>,
    preferred_language: Option<String>,
}

pub async fn add_patient(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    form: web::Form<AddPatientForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    session.check_csrf(&f.csrf)?;
    let staff = as_staff(&session)?;
    let fitzpatrick = match f.fitzpatrick.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| AppError::invalid("fitzpatrick", "must be 1 to 6"))?),
    };
    let body = crate::routes::patients::CreatePatient {
        name: f.name,
        email: f.email,
        timezone: f.timezone,
        skin_type: f.skin_type,
        fitzpatrick,
        reminder_time: f.reminder_time.filter(|t| !t.is_empty()),
        preferred_language: f.preferred_language.filter(|l| !l.is_empty()),
    };
    let new = NewPatient::try_from(body)?;
    let enrolled = patients::enroll(&state, staff, new).await?;
    about_patient(&req, &enrolled.patient.id, "patient", &enrolled.patient.id);
    Ok(see_other(&format!("/console/patients/{}", enrolled.patient.id)))
}

#[derive(Deserialize)]
pub struct PatientParams {
    treatment: Option<String>,
    screened: Option<String>,
    invited: Option<String>,
}

pub async fn patient(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    query: web::Query<PatientParams>,
) -> Result<HttpResponse, ConsoleError> {
    as_staff(&session)?;
    let caller = session.caller.clone();
    let id = path_id(&id)?;
    let record = patients::get(&state, caller.clone(), id.clone()).await?;
    about_patient(&req, &record.id, "patient", &record.id);
    let all =
        treatments::list_for_patient(&state, caller.clone(), id.clone(), PageRequest { limit: LIST_PAGE, after: None })
            .await?
            .items;
    let PatientParams { treatment: asked, screened, invited } = query.into_inner();
    let protocol = screenings::questions(&state, as_staff(&session)?).await?;
    let questions = protocol
        .screening
        .contraindications
        .iter()
        .chain(&protocol.screening.cautions)
        .map(|f| {
            (f.answer.clone(), if f.question.is_empty() { f.answer.replace('_', " ") } else { f.question.clone() })
        })
        .collect();
    let chosen = asked
        .and_then(|t| all.iter().find(|x| x.id == t))
        .or_else(|| all.iter().max_by_key(|t| (t.treated_on, t.created_at)))
        .map(|t| t.id.clone());
    let label = |t: &crate::models::treatments::TreatmentRecord| {
        format!("{} on {}", t.procedure.as_str().replace('_', " "), t.treated_on)
    };
    let treatment = match &chosen {
        None => None,
        Some(tid) => {
            let on =
                plans::timeline(&state, caller.clone(), tid.clone(), None, crate::language::Requested(None)).await?;
            let timeline = on.timeline();
            let phase = timeline
                .current_phase
                .and_then(|key| on.plan.protocol.phases.iter().find(|p| p.key == key))
                .map_or_else(|| "after the plan".to_string(), |p| p.title.clone());
            let mut check_in_list = Vec::new();
            let mut after = None;
            loop {
                let page = PageRequest { limit: LIST_PAGE, after };
                let page = check_ins::list_for_treatment(&state, caller.clone(), tid.clone(), page).await?;
                check_in_list.extend(page.items);
                match page.next_cursor {
                    Some(next) => after = Some(Cursor::decode(&next).map_err(AppError::internal)?),
                    None => break,
                }
            }
            let adherence = check_ins::adherence(&state, caller.clone(), tid.clone()).await?;
            let charts = chart::charts(&on.plan.protocol, &check_in_list, timeline.day_number);
            let photos = super::photos::by_site(&state, caller.clone(), tid.clone()).await?;
            Some(views::TreatmentDetail {
                label: label(&on.plan.treatment),
                day: timeline.day_number,
                phase,
                protocol: format!("{} (version {})", on.plan.protocol.title, on.plan.protocol.version),
                charts: charts
                    .into_iter()
                    .map(|c| views::ChartView {
                        rows: c.points.iter().map(|p| (p.day, p.score, p.level.as_str())).collect(),
                        sign: c.sign,
                        svg: c.svg,
                    })
                    .collect(),
                adherence_through: adherence.through.to_string(),
                adherence: adherence
                    .by_kind
                    .into_iter()
                    .map(|(kind, t)| views::AdherenceRow {
                        percent: t.share().map_or_else(|| "–".into(), |s| format!("{:.0} %", s * 100.0)),
                        kind: kind.replace('_', " "),
                        due: t.due,
                        acknowledged: t.acknowledged,
                    })
                    .collect(),
                check_ins: check_in_list
                    .iter()
                    .map(|c| views::CheckInRow {
                        day: c.day_number,
                        date: c.local_date.to_string(),
                        level: c.assessment.level.as_str(),
                        shape: views::shape(c.assessment.level),
                        reasons: c.assessment.reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "),
                        reviewed: c.reviewed_at.map_or_else(|| "not yet".into(), crate::clock::format_instant),
                    })
                    .collect(),
                photos,
            })
        }
    };
    html(views::PatientPage {
        frame: Frame::of(&session, "patients"),
        treatments: all
            .iter()
            .map(|t| views::TreatmentLink {
                id: t.id.clone(),
                label: label(t),
                current: Some(&t.id) == chosen.as_ref(),
            })
            .collect(),
        treatment,
        id: record.id,
        name: record.name,
        email: record.email,
        timezone: record.timezone.name().to_string(),
        skin_type: record.skin_type.as_str().to_string(),
        fitzpatrick: record.fitzpatrick,
        discharged: record.discharged_at.map(crate::clock::format_instant),
        reminder_time: record.reminder_time.format("%H:%M").to_string(),
        screened: screened.map(|s| {
            if s == "eligible" { "Screening recorded: eligible." } else { "Screening recorded: not eligible now." }
        }),
        invited: invited.is_some(),
        activated: record.activated,
        questions,
        timezones: crate::domain::time_zone_names().to_vec(),
        skin_types: SkinType::ALL.iter().map(|s| s.as_str()).collect(),
        procedures: Procedure::ALL.iter().map(|p| p.as_str()).collect(),
        settings: Setting::ALL.iter().map(|p| p.as_str()).collect(),
        areas: Area::ALL.iter().map(|p| p.as_str()).collect(),
        today: chrono::Utc::now().with_timezone(&record.timezone).date_naive().to_string(),
    })
}

pub async fn discharge(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, ConsoleError> {
    let NoteForm { csrf, note } = form.into_inner();
    session.check_csrf(&csrf)?;
    let staff = as_staff(&session)?;
    let id = path_id(&id)?;
    let mut checks = Checks::new();
    let note = checks.optional("note", note.filter(|n| !n.trim().is_empty()), parse_notes);
    checks.finish()?;
    let discharged = patients::discharge(&state, staff, id, note).await?;
    about_patient(&req, &discharged.id, "patient", &discharged.id);
    Ok(see_other(&format!("/console/patients/{}", discharged.id)))
}

/// Sends the patient a new invitation (the API's `reinvitePatient`): for one who lost the first
/// or let it expire; an activated account is a 409.
pub async fn reinvite_patient(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    let staff = as_staff(&session)?;
    let id = path_id(&id)?;
    let sent = invitations::reinvite_patient(&state, staff, id).await?;
    about_patient(&req, &sent.account.id, "patient", &sent.account.id);
    Ok(see_other(&format!("/console/patients/{}?invited=1", sent.account.id)))
}

/// A form's fields in order (a field may repeat: the treatment's areas).
pub(super) type Fields = web::Form<Vec<(String, String)>>;

pub(super) fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub(super) fn csrf_of(session: &ConsoleSession, fields: &[(String, String)]) -> Result<(), ConsoleError> {
    session.check_csrf(&field(fields, "csrf").unwrap_or_default())
}

fn small_integer(fields: &[(String, String)], name: &str) -> Result<Option<i64>, ConsoleError> {
    field(fields, name)
        .map(|raw| raw.parse::<i64>().map_err(|_| AppError::invalid(name, "must be a whole number").into()))
        .transpose()
}

/// Changes the patient's profile (the API's `updatePatient`).
pub async fn edit_patient(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, ConsoleError> {
    let fields = form.into_inner();
    csrf_of(&session, &fields)?;
    as_staff(&session)?;
    let id = path_id(&id)?;
    let body = crate::routes::patients::UpdatePatient {
        name: field(&fields, "name"),
        timezone: field(&fields, "timezone"),
        skin_type: field(&fields, "skin_type"),
        fitzpatrick: small_integer(&fields, "fitzpatrick")?,
        reminder_time: field(&fields, "reminder_time"),
        preferred_language: field(&fields, "preferred_language"),
    };
    let changes = crate::models::patients::PatientChanges::try_from(body)?;
    let updated = patients::update(&state, session.caller.clone(), id, changes).await?;
    about_patient(&req, &updated.id, "patient", &updated.id);
    Ok(see_other(&format!("/console/patients/{}", updated.id)))
}

/// Records a screening: one yes or no per question of the clinic's current protocol.
pub async fn screen(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, ConsoleError> {
    let fields = form.into_inner();
    csrf_of(&session, &fields)?;
    let staff = as_staff(&session)?;
    let id = path_id(&id)?;
    let answers: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("q_").map(|key| (key.to_string(), serde_json::Value::Bool(v == "yes"))))
        .collect();
    let body: crate::routes::screenings::CreateScreening =
        serde_json::from_value(serde_json::json!({ "answers": answers }))
            .map_err(|e| AppError::invalid("answers", e.to_string()))?;
    let sheet = crate::domain::screening::ScreeningAnswerSheet::try_from(body)?;
    let screened = screenings::screen(&state, staff, id.clone(), sheet).await?;
    about_patient(&req, &id, "screening", &screened.id);
    let outcome = if screened.eligible { "eligible" } else { "not-eligible" };
    Ok(see_other(&format!("/console/patients/{id}?screened={outcome}")))
}

/// Records a treatment (the API's `createTreatment`, screening gate and override included).
pub async fn record_treatment(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, ConsoleError> {
    let fields = form.into_inner();
    csrf_of(&session, &fields)?;
    let staff = as_staff(&session)?;
    let id = path_id(&id)?;
    let depth = field(&fields, "needle_depth_mm")
        .map(|raw| raw.parse::<f64>().map_err(|_| AppError::invalid("needle_depth_mm", "must be a number")))
        .transpose()?;
    let body = crate::routes::treatments::CreateTreatment {
        procedure: field(&fields, "procedure"),
        treated_on: field(&fields, "treated_on"),
        setting: field(&fields, "setting"),
        areas: Some(fields.iter().filter(|(k, _)| k == "areas").map(|(_, v)| v.clone()).collect()),
        needle_depth_mm: depth,
        notes: field(&fields, "notes"),
        treatment_time: field(&fields, "treatment_time"),
        screening_override: field(&fields, "override_reason")
            .map(|reason| crate::routes::treatments::ScreeningOverrideInput { reason: Some(reason) }),
    };
    let parsed = crate::routes::treatments::ParsedTreatment::try_from(body)?;
    let created = treatments::create(&state, staff, id, parsed.new, parsed.time, parsed.screening_override).await?;
    let kind = if created.screening_override_reason.is_some() { "screening-override" } else { "treatment" };
    about_patient(&req, &created.patient_id, kind, &created.id);
    Ok(see_other(&format!("/console/patients/{}?treatment={}", created.patient_id, created.id)))
}
