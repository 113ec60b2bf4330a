//! Reading a treatment's recovery plan (timeline, reminders, calendar), the patient's day, and
//! acknowledging a reminder. Plans come from the plan cache while their inputs are unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::auth::{Caller, Patient};
use crate::db::DbConnection;
use crate::domain::Role;
use crate::error::AppError;
use crate::language::{Language, Requested};
use crate::models::plans::{self, PlanContext};
use crate::models::{check_ins, patients, treatments};
use crate::plan::PlannedReminder;
use crate::plan::local_time::{day_number, local_date};
use crate::plan::timeline::{self, Timeline};
use crate::state::{AppState, SharedState};
use crate::validate::Checks;

/// Days of reminders listed when no end date is given.
pub const DEFAULT_REMINDER_DAYS: i64 = 7;
/// The most days of reminders one list may span.
pub const MAX_REMINDER_DAYS: i64 = 100;

/// The treatment's plan: kept from an earlier request while its inputs are unchanged (no database
/// work at all), or loaded under the caller's scope and kept.
async fn kept_or_loaded(
    state: &SharedState,
    caller: &Caller,
    treatment_id: String,
) -> Result<Arc<PlanContext>, AppError> {
    if let Some(plan) = state.plans.get(caller, &treatment_id) {
        return Ok(plan);
    }
    let (shared, loader) = (state.clone(), caller.clone());
    let plan = Arc::new(state.db.read(move |conn| plans::load(conn, &loader, &shared.protocols, &treatment_id)).await?);
    state.plans.keep(caller, plan.clone());
    Ok(plan)
}

/// The plan in the language chosen for it: `requested` (the request's `Accept-Language`), else the
/// patient's preferred language when `for_patient` (a patient reads their own plan, or the texts
/// go to the patient), else English. Also the language its texts are in: English when the
/// protocol has no translation to the chosen one.
pub fn in_language(
    state: &AppState,
    plan: Arc<PlanContext>,
    requested: Requested,
    for_patient: bool,
) -> (Arc<PlanContext>, Language) {
    let language = requested.or(plan.patient.preferred_language.filter(|_| for_patient));
    match state.protocols.in_language(&plan.treatment, language) {
        Some((protocol, variants)) => {
            let localized = PlanContext {
                treatment: plan.treatment.clone(),
                patient: plan.patient.clone(),
                protocol,
                variants,
                schedules: plan.schedules.clone(),
            };
            (Arc::new(localized), language)
        }
        None => (plan, Language::En),
    }
}

/// The treatment's plan (kept or loaded) in the language chosen for the caller: a patient's
/// preferred language counts when the patient reads their own plan.
async fn localized(
    state: &SharedState,
    caller: &Caller,
    treatment_id: String,
    requested: Requested,
) -> Result<(Arc<PlanContext>, Language), AppError> {
    let plan = kept_or_loaded(state, caller, treatment_id).await?;
    Ok(in_language(state, plan, requested, caller.role == Role::Patient))
}

/// The whole plan of a treatment, as the calendar feed shows it, and the language of its texts.
pub async fn calendar(
    state: &SharedState,
    caller: Caller,
    treatment_id: String,
    requested: Requested,
) -> Result<(Arc<PlanContext>, Language), AppError> {
    localized(state, &caller, treatment_id, requested).await
}

/// A treatment's plan as it stands on a local date of the patient's zone.
pub struct PlanOnDate {
    pub plan: Arc<PlanContext>,
    /// The patient's zone now.
    pub timezone: Tz,
    pub on: NaiveDate,
    /// The language of the plan's texts.
    pub language: Language,
}

impl PlanOnDate {
    /// The recovery phases on `on`.
    pub fn timeline(&self) -> Timeline<'_> {
        timeline::timeline(&self.plan.protocol, self.plan.treatment.treated_on, self.on)
    }
}

/// The treatment's plan on `on`, by default today in the patient's zone.
pub async fn timeline(
    state: &SharedState,
    caller: Caller,
    treatment_id: String,
    on: Option<NaiveDate>,
    requested: Requested,
) -> Result<PlanOnDate, AppError> {
    let (plan, language) = localized(state, &caller, treatment_id, requested).await?;
    let timezone = plan.schedules.current().timezone;
    let on = on.unwrap_or_else(|| local_date(timezone, Utc::now()));
    Ok(PlanOnDate { plan, timezone, on, language })
}

/// The reminders of a treatment's plan on local dates `from..=to`, with their acknowledgements.
pub struct PlanReminders {
    pub plan: Arc<PlanContext>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Acknowledgement instants of the reminders of those dates, by reminder id.
    acks: HashMap<String, NaiveDateTime>,
    /// The language of the plan's texts.
    pub language: Language,
}

impl PlanReminders {
    /// Each reminder, by date then kind, with when the patient acknowledged it.
    pub fn each(&self) -> impl Iterator<Item = (PlannedReminder<'_>, Option<NaiveDateTime>)> {
        let planned = self.plan.plan().reminders(self.from, self.to);
        planned.into_iter().map(|r| {
            let acknowledged_at = self.acks.get(&r.id.to_string()).copied();
            (r, acknowledged_at)
        })
    }
}

/// The reminders of one local date that fall due at the same instant: what one notification says.
pub struct Bundle<'a> {
    pub local_date: NaiveDate,
    pub day_number: i64,
    pub local_time: chrono::NaiveTime,
    pub due_at: chrono::DateTime<Utc>,
    /// By kind, as the reminders list orders them, with when the patient acknowledged each.
    pub items: Vec<(PlannedReminder<'a>, Option<NaiveDateTime>)>,
}

impl PlanReminders {
    /// The reminders grouped by the instant they fall due, one bundle per local date and time,
    /// earliest first: every reminder is in exactly one bundle.
    pub fn bundles(&self) -> Vec<Bundle<'_>> {
        let mut bundles: Vec<Bundle<'_>> = Vec::new();
        for (reminder, acknowledged_at) in self.each() {
            let same = |b: &&mut Bundle<'_>| b.local_date == reminder.local_date && b.due_at == reminder.due_at;
            match bundles.iter_mut().find(same) {
                Some(bundle) => bundle.items.push((reminder, acknowledged_at)),
                None => bundles.push(Bundle {
                    local_date: reminder.local_date,
                    day_number: reminder.day_number,
                    local_time: reminder.local_time,
                    due_at: reminder.due_at,
                    items: vec![(reminder, acknowledged_at)],
                }),
            }
        }
        bundles.sort_by_key(|b| (b.due_at, b.local_date));
        bundles
    }
}

/// The reminders between two local dates: `from` by default today in the patient's zone, `to` by
/// default the last of `DEFAULT_REMINDER_DAYS` days; at most `MAX_REMINDER_DAYS` days in all.
pub async fn reminders(
    state: &SharedState,
    caller: Caller,
    treatment_id: String,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    requested: Requested,
) -> Result<PlanReminders, AppError> {
    let (plan, language) = localized(state, &caller, treatment_id, requested).await?;
    let from = from.unwrap_or_else(|| local_date(plan.schedules.current().timezone, Utc::now()));
    let to = to.unwrap_or(from + Duration::days(DEFAULT_REMINDER_DAYS - 1));
    let mut checks = Checks::new();
    if to < from {
        checks.fail("to", "must not be before `from`");
    } else if (to - from).num_days() + 1 > MAX_REMINDER_DAYS {
        checks.fail("to", format!("the range may span at most {MAX_REMINDER_DAYS} days"));
    }
    checks.finish()?;
    let treatment_id = plan.treatment.id.clone();
    let acks = state.db.read(move |conn| plans::acknowledgements(conn, &treatment_id, from, to)).await?;
    Ok(PlanReminders { plan, from, to, acks, language })
}

/// A reminder the patient acknowledged, with the plan it belongs to.
pub struct Acknowledged {
    pub plan: Arc<PlanContext>,
    /// The language of the plan's texts.
    pub language: Language,
    id: Uuid,
    local_date: NaiveDate,
    /// The first acknowledgement: acknowledging again keeps it.
    pub at: NaiveDateTime,
}

impl Acknowledged {
    /// The reminder itself, planned again from its day's (a planned reminder borrows from its
    /// plan, so it cannot leave the transaction beside it).
    pub fn reminder(&self) -> PlannedReminder<'_> {
        let of_its_day = self.plan.plan().reminders(self.local_date, self.local_date);
        of_its_day.into_iter().find(|r| r.id == self.id).expect("a plan plans the same reminders every time")
    }
}

/// Marks one of the patient's own reminders as done, once; not before its day in the patient's zone.
pub async fn acknowledge(
    state: &SharedState,
    caller: Patient,
    reminder_id: String,
    requested: Requested,
) -> Result<Acknowledged, AppError> {
    let shared = state.clone();
    let now = Utc::now();
    let (ctx, id, local_date, at) = state
        .db
        .write(move |conn| {
            // Reminder ids are derived, not stored: find it among the plans of the caller's own
            // treatments (a patient has few).
            for treatment in treatments::own(conn, &caller)? {
                let ctx = plans::context_of(conn, &caller, &shared.protocols, treatment)?;
                let Some(reminder) = ctx.plan().all_reminders().into_iter().find(|r| r.id.to_string() == reminder_id)
                else {
                    continue;
                };
                let today = local_date(ctx.schedules.current().timezone, now);
                if reminder.local_date > today {
                    return Err(AppError::Conflict("this reminder is for a later day".into()));
                }
                let at = plans::acknowledge(conn, &ctx.treatment.id, &reminder)?;
                let (id, local_date) = (reminder.id, reminder.local_date);
                return Ok((ctx, id, local_date, at));
            }
            Err(AppError::NotFound)
        })
        .await?;
    // Ids and dates are the same in every language: only the texts are chosen for the patient.
    let (plan, language) = in_language(state, Arc::new(ctx), requested, true);
    Ok(Acknowledged { plan, language, id, local_date, at })
}

/// One of the patient's plans on a day it covers.
pub struct ActivePlan {
    pub day_number: i64,
    /// The current phase key.
    pub phase: Option<String>,
    /// Whether a check-in for the day exists.
    pub checked_in: bool,
    /// The day's reminders (`from` and `to` are the day).
    pub reminders: PlanReminders,
}

pub struct Today {
    /// Today in the patient's zone.
    pub date: NaiveDate,
    /// The plans that cover today, in the order of the patient's treatments.
    pub plans: Vec<ActivePlan>,
}

/// What the patient's app shows today: each active plan's day, phase and reminders.
/// Each plan in the language chosen for the patient (`in_language`).
pub async fn today(state: &SharedState, caller: Patient, requested: Requested) -> Result<Today, AppError> {
    let shared = state.clone();
    state
        .db
        .read(move |conn| {
            let contexts = own_plans(conn, &shared, &caller)?;
            let zone = match contexts.first() {
                Some(ctx) => ctx.schedules.current().timezone,
                None => patients::get(conn, &caller, &caller.user_id)?.timezone,
            };
            let date = local_date(zone, Utc::now());
            let mut active = Vec::new();
            for ctx in contexts {
                let (ctx, language) = in_language(&shared, ctx, requested, true);
                active.extend(active_on(conn, ctx, date, language)?);
            }
            Ok(Today { date, plans: active })
        })
        .await
}

/// The plans of all the patient's own treatments: kept together from an earlier request, or each
/// kept or built, and then kept together.
fn own_plans(conn: &mut DbConnection, state: &AppState, caller: &Patient) -> Result<Vec<Arc<PlanContext>>, AppError> {
    if let Some(kept) = state.plans.own_plans(caller) {
        return Ok(kept);
    }
    let mut contexts = Vec::new();
    for treatment in treatments::own(conn, caller)? {
        let id = treatment.id.clone();
        contexts.push(
            state.plans.get_or_build(caller, &id, || plans::context_of(conn, caller, &state.protocols, treatment))?,
        );
    }
    state.plans.keep_own(caller, &contexts);
    Ok(contexts)
}

/// The plan on `date`, when its days cover it.
fn active_on(
    conn: &mut DbConnection,
    ctx: Arc<PlanContext>,
    date: NaiveDate,
    language: Language,
) -> Result<Option<ActivePlan>, AppError> {
    let day = day_number(ctx.treatment.treated_on, date);
    if !(1..=ctx.protocol.plan_days).contains(&day) {
        return Ok(None);
    }
    let checked_in = check_ins::exists_on(conn, &ctx.treatment.id, date)?;
    let acks = plans::acknowledgements(conn, &ctx.treatment.id, date, date)?;
    Ok(Some(ActivePlan {
        day_number: day,
        phase: ctx.protocol.phase_on(day).map(|p| p.key.clone()),
        checked_in,
        reminders: PlanReminders { plan: ctx, from: date, to: date, acks, language },
    }))
}

/// A treatment's whole plan as the API serves it, for the patient's export: the timeline today in
/// the patient's zone, and every reminder of the plan with its acknowledgement. Reads on `conn`.
pub fn whole_plan(
    conn: &mut DbConnection,
    plan: PlanContext,
    now: chrono::DateTime<Utc>,
) -> Result<(PlanOnDate, PlanReminders), AppError> {
    let plan = Arc::new(plan);
    let timezone = plan.schedules.current().timezone;
    let from = plan.treatment.treated_on;
    let to = from + Duration::days(plan.protocol.plan_days - 1);
    let acks = plans::acknowledgements(conn, &plan.treatment.id, from, to)?;
    let on = local_date(timezone, now);
    let language = Language::En;
    Ok((PlanOnDate { plan: plan.clone(), timezone, on, language }, PlanReminders { plan, from, to, acks, language }))
}
