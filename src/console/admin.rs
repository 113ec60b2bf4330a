//! The administrators' pages: staff (invite, deactivate, reactivate, a new invitation), the
//! clinic's settings and the audit trail. Clinicians get 403. Each form calls the API's use case.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Days, NaiveDate};
use serde::Deserialize;

use super::pages::{CsrfForm, Fields, as_admin, csrf_of, field};
use super::session::ConsoleSession;
use super::views::{self, Frame};
use super::{ConsoleError, html, see_other};
use crate::audit::{Subject, note_subject};
use crate::domain::StaffInvitation;
use crate::error::AppError;
use crate::models::audit::AuditFilter;
use crate::models::users::User;
use crate::pagination::PageRequest;
use crate::routes::mail::{SettingsUpdate, TreatmentDefaultsInput, UpdateClinicSettings, UrgentAlertsInput};
use crate::routes::path_id;
use crate::state::{AppState, SharedState};
use crate::use_cases::{audit, clinicians, invitations, mail};

const LIST_PAGE: i64 = 100;
const AUDIT_PAGE: i64 = 50;

fn about_staff(req: &HttpRequest, id: &str) {
    note_subject(req, Subject { patient_id: None, resource_type: Some("staff"), resource_id: Some(id.to_string()) });
}

async fn all_staff(state: &SharedState, session: &ConsoleSession) -> Result<Vec<User>, ConsoleError> {
    let page = clinicians::list_staff(state, as_admin(session)?, PageRequest { limit: LIST_PAGE, after: None }).await?;
    Ok(page.items)
}

#[derive(Deserialize)]
pub struct StaffParams {
    done: Option<String>,
}

pub async fn staff(
    state: web::Data<AppState>,
    session: ConsoleSession,
    query: web::Query<StaffParams>,
) -> Result<HttpResponse, ConsoleError> {
    let me = as_admin(&session)?.user_id.clone();
    let done = match query.into_inner().done.as_deref() {
        Some("invited") => Some("Invitation sent."),
        Some("deactivated") => Some("Deactivated: their logins have ended."),
        Some("reactivated") => Some("Reactivated: they can log in with their password again."),
        Some("reinvited") => Some("A new invitation is on its way; the earlier one no longer works."),
        _ => None,
    };
    html(views::StaffPage {
        frame: Frame::of(&session, "staff"),
        staff: all_staff(&state, &session)
            .await?
            .into_iter()
            .map(|u| views::StaffRow {
                is_self: u.id == me,
                role: u.role.as_str().to_string(),
                active: u.active,
                activated: u.activated(),
                id: u.id,
                name: u.name,
                email: u.email,
            })
            .collect(),
        done,
    })
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
}

pub async fn invite_staff(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, ConsoleError> {
    let InviteForm { csrf, name, email, role } = form.into_inner();
    session.check_csrf(&csrf)?;
    let admin = as_admin(&session)?;
    let invitation = StaffInvitation::try_from(crate::routes::clinicians::InviteStaff { name, email, role })?;
    let invited = clinicians::invite(&state, admin, invitation).await?;
    about_staff(&req, &invited.member.id);
    Ok(see_other("/console/staff?done=invited"))
}

/// What a form on a member of staff does.
#[derive(Clone, Copy)]
pub enum StaffAction {
    Deactivate,
    Reactivate,
    Reinvite,
}

async fn on_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
    action: StaffAction,
) -> Result<HttpResponse, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    let admin = as_admin(&session)?;
    let id = path_id(&id)?;
    about_staff(&req, &id);
    let done = match action {
        StaffAction::Deactivate => clinicians::deactivate(&state, admin, id).await.map(|_| "deactivated"),
        StaffAction::Reactivate => clinicians::reactivate(&state, admin, id).await.map(|_| "reactivated"),
        StaffAction::Reinvite => invitations::reinvite_staff(&state, admin, id).await.map(|_| "reinvited"),
    }?;
    Ok(see_other(&format!("/console/staff?done={done}")))
}

pub async fn deactivate_staff(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    on_member(req, state, session, id, form, StaffAction::Deactivate).await
}

pub async fn reactivate_staff(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    on_member(req, state, session, id, form, StaffAction::Reactivate).await
}

pub async fn reinvite_staff(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    on_member(req, state, session, id, form, StaffAction::Reinvite).await
}

// The clinic's settings (the API's getClinicSettings and updateClinicSettings).

#[derive(Deserialize)]
pub struct SettingsParams {
    saved: Option<String>,
}

pub async fn settings(
    state: web::Data<AppState>,
    session: ConsoleSession,
    query: web::Query<SettingsParams>,
) -> Result<HttpResponse, ConsoleError> {
    let current = mail::settings(&state, as_admin(&session)?).await?;
    let staff = all_staff(&state, &session).await?;
    html(views::SettingsPage {
        frame: Frame::of(&session, "settings"),
        alerts_enabled: current.alerts.enabled,
        recipients: staff
            .into_iter()
            .filter(|u| u.active && u.activated())
            .map(|u| views::Recipient {
                chosen: current.alerts.recipients.contains(&u.id),
                label: format!("{} ({}, {})", u.name, u.role.as_str(), u.email),
                id: u.id,
            })
            .collect(),
        default_time: current.treatments.default_time.format("%H:%M").to_string(),
        valid_days: current.screening.valid_days,
        saved: query.into_inner().saved.is_some(),
    })
}

pub async fn save_settings(
    state: web::Data<AppState>,
    session: ConsoleSession,
    form: Fields,
) -> Result<HttpResponse, ConsoleError> {
    let fields = form.into_inner();
    csrf_of(&session, &fields)?;
    let admin = as_admin(&session)?;
    let valid_days =
        match field(&fields, "valid_days") {
            None => None,
            Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
                AppError::invalid("screening.valid_days", "must be a whole number of days from 1 to 365")
            })?),
        };
    let body = UpdateClinicSettings {
        urgent_alerts: Some(UrgentAlertsInput {
            enabled: Some(field(&fields, "alerts").as_deref() == Some("on")),
            recipients: Some(fields.iter().filter(|(k, _)| k == "recipients").map(|(_, v)| v.clone()).collect()),
        }),
        treatments: field(&fields, "default_time").map(|t| TreatmentDefaultsInput { default_time: Some(t) }),
        screening: valid_days.map(|days| crate::routes::mail::ScreeningGateInput { valid_days: Some(days) }),
    };
    let update = SettingsUpdate::try_from(body)?;
    mail::set_settings(&state, admin, update.alerts, update.treatments, update.screening).await?;
    Ok(see_other("/console/settings?saved=1"))
}

// The audit trail, filtered and paged.

/// The kinds of resource an event can be about, as the audit trail names them.
const KINDS: &[&str] = &[
    "patient",
    "treatment",
    "check-in",
    "photo",
    "reminder",
    "screening",
    "screening-override",
    "staff",
    "protocol",
    "erasure-request",
];

#[derive(Deserialize, Default)]
pub struct AuditParams {
    actor: Option<String>,
    kind: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
}

impl AuditParams {
    fn given(raw: &Option<String>) -> Option<String> {
        raw.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from)
    }

    /// The filter the parameters ask for: 422 on a date that is not `YYYY-MM-DD`, an unknown kind,
    /// or an actor that is not an id. `to` is inclusive (the whole day, UTC).
    fn filter(&self) -> Result<AuditFilter, AppError> {
        let day = |name: &str, raw: &Option<String>| -> Result<Option<NaiveDate>, AppError> {
            Self::given(raw)
                .map(|d| {
                    NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| AppError::invalid(name, "must be a date: YYYY-MM-DD"))
                })
                .transpose()
        };
        let from = day("from", &self.from)?;
        let to = day("to", &self.to)?;
        let kind = Self::given(&self.kind);
        if kind.as_deref().is_some_and(|k| !KINDS.contains(&k)) {
            return Err(AppError::invalid("kind", format!("must be one of: {}", KINDS.join(", "))));
        }
        let actor = Self::given(&self.actor)
            .map(|a| crate::domain::parse_id(&a).map_err(|e| AppError::invalid("actor", e)))
            .transpose()?;
        Ok(AuditFilter {
            patient_id: None,
            since: from.map(|d| d.and_time(chrono::NaiveTime::MIN)),
            until: to.and_then(|d| d.checked_add_days(Days::new(1))).map(|d| d.and_time(chrono::NaiveTime::MIN)),
            resource_type: kind,
            user_id: actor,
            action: Self::given(&self.action),
            before_seq: self.before,
        })
    }

    /// The query string of the next page: the same filters, older events.
    fn next_page(&self, before: i64) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("actor", &self.actor),
            ("kind", &self.kind),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = Self::given(value) {
                query.append_pair(name, &v);
            }
        }
        query.append_pair("before", &before.to_string());
        query.finish()
    }
}

pub async fn audit_trail(
    state: web::Data<AppState>,
    session: ConsoleSession,
    query: web::Query<AuditParams>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = as_admin(&session)?;
    let params = query.into_inner();
    let filter = params.filter()?;
    let staff = all_staff(&state, &session).await?;
    let (events, next) = audit::list(&state, admin, filter, PageRequest { limit: AUDIT_PAGE, after: None }).await?;
    let name_of = |id: &str| staff.iter().find(|u| u.id == id).map(|u| u.name.clone());
    let chosen_actor = AuditParams::given(&params.actor).unwrap_or_default();
    let chosen_kind = AuditParams::given(&params.kind).unwrap_or_default();
    html(views::AuditPage {
        frame: Frame::of(&session, "audit"),
        events: events
            .into_iter()
            .map(|e| views::AuditRow {
                at: crate::clock::format_instant(e.at),
                who: match (e.role, e.user_id) {
                    (Some(role), Some(id)) => match name_of(&id) {
                        Some(name) => format!("{name} ({role})"),
                        None => format!("{role} {}", &id[..id.len().min(8)]),
                    },
                    _ => "anonymous".into(),
                },
                action: e.action,
                resource: e.resource_type.map_or_else(String::new, |t| {
                    format!("{t} {}", e.resource_id.as_deref().map_or("", |id| &id[..id.len().min(8)]))
                }),
                patient: e.patient_id.map_or_else(String::new, |p| p[..p.len().min(8)].to_string()),
                outcome: e.outcome,
                status: e.status,
            })
            .collect(),
        next: next.map(|seq| params.next_page(seq)),
        actors: staff
            .iter()
            .map(|u| views::Choice {
                selected: u.id == chosen_actor,
                label: format!("{} ({})", u.name, u.role.as_str()),
                value: u.id.clone(),
            })
            .collect(),
        kinds: KINDS
            .iter()
            .map(|k| views::Choice { selected: *k == chosen_kind, label: k.to_string(), value: k.to_string() })
            .collect(),
        action: AuditParams::given(&params.action).unwrap_or_default(),
        from: AuditParams::given(&params.from).unwrap_or_default(),
        to: AuditParams::given(&params.to).unwrap_or_default(),
        filtered: params.before.is_some()
            || [&params.actor, &params.kind, &params.action, &params.from, &params.to]
                .iter()
                .any(|v| AuditParams::given(v).is_some()),
    })
}
