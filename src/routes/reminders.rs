//! Acknowledging a reminder, and the patient's "today" screen.

use actix_web::{get, post, web};
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Patient;
use crate::error::AppError;
use crate::models::{check_ins, plans, treatments};
use crate::plan::local_time::{day_number, local_date};
use crate::routes::path_id;
use crate::routes::treatments::{Reminder, reminder_view, reminders_between};
use crate::state::AppState;

/// Marks one of the patient's own reminders as done. Acknowledging again changes nothing.
#[utoipa::path(
    tag = "reminders",
    params(("id" = uuid::Uuid, Path, description = "Reminder id")),
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
) -> Result<web::Json<Reminder>, AppError> {
    let reminder_id = path_id(&id)?;
    let shared = state.clone();
    let now = Utc::now();
    let view = state
        .db
        .write(move |conn| {
            // Reminder ids are derived, not stored: find it among the plans of the caller's own
            // treatments (a patient has few).
            for treatment in treatments::own(conn, &caller)? {
                let ctx = plans::context_of(conn, &caller, &shared.protocols, treatment)?;
                let plan = ctx.plan();
                let Some(reminder) = plan.all_reminders().into_iter().find(|r| r.id.to_string() == reminder_id) else {
                    continue;
                };
                let today = local_date(ctx.schedules.current().timezone, now);
                if reminder.local_date > today {
                    return Err(AppError::Conflict("this reminder is for a later day".into()));
                }
                let at = plans::acknowledge(conn, &ctx.treatment.id, &reminder)?;
                return Ok(reminder_view(&ctx.treatment.id, &reminder, Some(at)));
            }
            Err(AppError::NotFound)
        })
        .await?;
    Ok(web::Json(view))
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

#[derive(Serialize, ToSchema)]
pub struct Today {
    /// Today in the patient's time zone.
    pub date: NaiveDate,
    /// The treatments whose recovery plan covers today.
    pub treatments: Vec<TodayTreatment>,
}

/// What the patient's app shows today: each active plan's day, phase and reminders.
#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "Today", body = Today),
        (status = 403, response = crate::routes::problems::Forbidden),
    )
)]
#[get("/me/today")]
pub async fn get_today(state: web::Data<AppState>, caller: Patient) -> Result<web::Json<Today>, AppError> {
    let shared = state.clone();
    let today = state
        .db
        .read(move |conn| {
            let contexts = match shared.plans.own_plans(&caller) {
                Some(kept) => kept,
                None => {
                    let mut contexts = Vec::new();
                    for treatment in treatments::own(conn, &caller)? {
                        let id = treatment.id.clone();
                        contexts.push(shared.plans.get_or_build(&caller, &id, || {
                            plans::context_of(conn, &caller, &shared.protocols, treatment)
                        })?);
                    }
                    shared.plans.keep_own(&caller, &contexts);
                    contexts
                }
            };
            let zone = match contexts.first() {
                Some(ctx) => ctx.schedules.current().timezone,
                None => crate::models::patients::get(conn, &caller, &caller.user_id)?.timezone,
            };
            let date = local_date(zone, Utc::now());
            let mut active = Vec::new();
            for ctx in contexts {
                let day = day_number(ctx.treatment.treated_on, date);
                if !(1..=ctx.protocol.plan_days).contains(&day) {
                    continue;
                }
                let checked_in = check_ins::exists_on(conn, &ctx.treatment.id, date)?;
                let acks = plans::acknowledgements(conn, &ctx.treatment.id, date, date)?;
                active.push(TodayTreatment {
                    treatment_id: ctx.treatment.id.clone(),
                    day_number: day,
                    phase: ctx.protocol.phase_on(day).map(|p| p.key.clone()),
                    reminders: reminders_between(&ctx, date, date, &acks),
                    checked_in,
                });
            }
            Ok(Today { date, treatments: active })
        })
        .await?;
    Ok(web::Json(today))
}
