//! Acknowledging a reminder, and the patient's "today" screen.

use actix_web::CustomizeResponder;
use actix_web::{get, post, web};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Patient;
use crate::error::AppError;
use crate::language::{self, Language, Requested};
use crate::routes::path_id;
use crate::routes::treatments::{Reminder, reminder_view, reminder_views};
use crate::state::AppState;
use crate::use_cases::plans::{self, ActivePlan};

/// Marks one of the patient's own reminders as done. Acknowledging again changes nothing.
///
/// The patient only; staff get 403, and a reminder of another patient answers 404. Reminder ids
/// come from the reminders list or the today screen. A reminder of a later day (in the patient's
/// time zone) cannot be acknowledged yet: 409. A reminder due after the patient's discharge is no
/// longer part of the plan: 404. A repeat answers 200 with the first
/// `acknowledged_at`, so retrying, with the same Idempotency-Key or none, is safe.
#[utoipa::path(
    operation_id = "acknowledgeReminder",
    tag = "reminders",
    params(
        ("id" = uuid::Uuid, Path, description = "Reminder id"),
        crate::routes::openapi::IdempotencyKey,
        crate::routes::openapi::AcceptLanguage,
    ),
    responses(
        (status = 200, description = "The reminder, with `acknowledged_at` set", body = Reminder),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/reminders/{id}/ack", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn acknowledge(
    state: web::Data<AppState>,
    caller: Patient,
    id: web::Path<String>,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<Reminder>>, AppError> {
    let reminder_id = path_id(&id)?;
    let found = plans::acknowledge(&state, caller, reminder_id, requested).await?;
    let view = reminder_view(&found.plan.treatment.id, &found.reminder(), Some(found.at));
    Ok(language::localized(web::Json(view), [found.language]))
}

#[derive(Serialize, ToSchema)]
pub struct TodayTreatment {
    pub treatment_id: String,
    pub day_number: i64,
    /// The current phase key.
    #[schema(example = "days_3_7")]
    pub phase: Option<String>,
    pub reminders: Vec<Reminder>,
    /// Whether a check-in for today exists.
    pub checked_in: bool,
}

impl From<ActivePlan> for TodayTreatment {
    fn from(active: ActivePlan) -> TodayTreatment {
        TodayTreatment {
            treatment_id: active.reminders.plan.treatment.id.clone(),
            day_number: active.day_number,
            phase: active.phase,
            reminders: reminder_views(&active.reminders),
            checked_in: active.checked_in,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Today {
    /// Today in the patient's time zone.
    pub date: NaiveDate,
    /// The treatments whose recovery plan covers today.
    pub treatments: Vec<TodayTreatment>,
}

/// What the patient's app shows today: each active plan's day, phase and reminders.
///
/// The patient only; staff get 403. `date` is today in the patient's time zone; `treatments` holds
/// each of the patient's treatments whose plan covers that date (empty when none does), with the
/// day's reminders and whether today's check-in is done. Revalidate with `If-None-Match`: 304 while
/// the answer is unchanged.
#[utoipa::path(
    params(crate::routes::openapi::IfNoneMatch, crate::routes::openapi::AcceptLanguage),
    operation_id = "getToday",
    tag = "me",
    responses(
        (status = 200, description = "Today", body = Today),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/me/today", wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)")]
pub async fn get_today(
    state: web::Data<AppState>,
    caller: Patient,
    requested: Requested,
) -> Result<CustomizeResponder<web::Json<Today>>, AppError> {
    let found = plans::today(&state, caller, requested).await?;
    let languages: Vec<Language> = found.plans.iter().map(|p| p.reminders.language).collect();
    let today = Today { date: found.date, treatments: found.plans.into_iter().map(TodayTreatment::from).collect() };
    Ok(language::localized(web::Json(today), languages))
}
