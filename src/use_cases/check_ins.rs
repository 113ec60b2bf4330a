//! Reporting a check-in, reading them, reviewing them, and adherence so far.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};

use crate::auth::{Caller, Patient, Staff};
use crate::db::DbConnection;
use crate::domain::check_in::{CheckInReport, Review};
use crate::error::{AppError, FieldError};
use crate::mail::Letter;
use crate::models::check_ins::{self, CheckInRecord, NewCheckIn, QueueCounts, QueueEntry};
use crate::models::clinics;
use crate::models::outbox::{self, NewMessage};
use crate::models::patients::PatientRecord;
use crate::models::plans::{self, PlanContext};
use crate::pagination::{Page, PageRequest};
use crate::plan::Level;
use crate::plan::local_time::{day_number, local_date};
use crate::plan::questions::{Refused, check_answers};
use crate::state::SharedState;

/// Stores and judges the patient's check-in for one of their treatments. The date should fall
/// between the treatment date and tomorrow in the patient's zone (a phone a little ahead of the
/// clinic is fine) and adherence answers should name reminders of that day; what does not is
/// ignored (and said so in the check-in), never a reason to refuse the symptoms.
pub async fn report(
    state: &SharedState,
    caller: Patient,
    treatment_id: String,
    report: CheckInReport,
) -> Result<CheckInRecord, AppError> {
    let shared = state.clone();
    state
        .db
        .write(move |conn| {
            let ctx = plans::load(conn, &caller, &shared.protocols, &treatment_id)?;
            refuse_if_discharged(&ctx.patient)?;
            let new = fit_to_plan(&ctx, report)?;
            let record = check_ins::create(conn, &caller, &ctx, new)?;
            if record.assessment.level == Level::Urgent {
                alert_clinic(conn, &record)?;
            }
            Ok(record)
        })
        .await
}

/// Writes an e-mail alert to each of the clinic's chosen recipients, in the check-in's own
/// transaction: the alert exists exactly when the check-in does, and the outbox sends each once.
fn alert_clinic(conn: &mut DbConnection, check_in: &CheckInRecord) -> Result<(), AppError> {
    for recipient in clinics::urgent_alert_recipients(conn, &check_in.clinic_id)? {
        outbox::enqueue(
            conn,
            NewMessage {
                clinic_id: &check_in.clinic_id,
                recipient_user_id: &recipient.id,
                recipient: &recipient.email,
                letter: Letter::UrgentCheckIn { check_in_id: check_in.id.clone() },
            },
        )?;
    }
    Ok(())
}

/// A discharged patient's care has ended: they report nothing new until a new treatment
/// re-admits them. (Their earlier check-ins stay, and unreviewed ones stay in the review queue.)
pub fn refuse_if_discharged(patient: &PatientRecord) -> Result<(), AppError> {
    match patient.discharged_at {
        Some(at) => Err(AppError::Conflict(format!(
            "the patient was discharged at {}: new check-ins and photos are not accepted; a new treatment re-admits the patient",
            crate::clock::format_instant(at)
        ))),
        None => Ok(()),
    }
}

/// Fits the report to the plan. A date outside the treatment's days (before `treated_on`, after
/// tomorrow) is ignored and the check-in is of today in the patient's zone; adherence answers that
/// name no reminder of that day are ignored and the others kept; answers to signs the protocol
/// does not ask are ignored. Only the answers themselves can refuse the check-in (`check_answers`):
/// the symptoms must reach the clinic whatever else came with them.
fn fit_to_plan(ctx: &PlanContext, report: CheckInReport) -> Result<NewCheckIn, AppError> {
    let CheckInReport { local_date: given, symptoms, mut adherence, notes, mut ignored } = report;
    let today = local_date(ctx.schedules.current().timezone, Utc::now());
    let date = match given {
        Some(date) if date < ctx.treatment.treated_on => {
            ignored.push(ignore("local_date", "must not be before the treatment date; today was used"));
            today
        }
        Some(date) if date > today + Duration::days(1) => {
            ignored.push(ignore("local_date", "must not be after tomorrow; today was used"));
            today
        }
        Some(date) => date,
        None => today,
    };
    let kinds: Vec<&str> = ctx.plan().reminders(date, date).into_iter().map(|r| r.kind).collect();
    adherence.retain(|kind, _| {
        let known = kinds.contains(&kind.as_str());
        if !known {
            ignored.push(ignore(&format!("adherence.{}", shown_key(kind)), "is not a reminder of that day"));
        }
        known
    });
    let day = day_number(ctx.treatment.treated_on, date);
    let checked = check_answers(&ctx.protocol.assessment.signs, day, &symptoms).map_err(|refusal| match refusal {
        Refused::WrongType(e) => AppError::BadRequest(format!("malformed JSON: {}: {}", e.field, e.message)),
        Refused::Invalid(errors) => refused(errors, ignored.clone()),
    })?;
    for key in &checked.unknown {
        ignored.push(ignore(&format!("symptoms.{}", shown_key(key)), "is not a question of this check-in's protocol"));
    }
    Ok(NewCheckIn {
        local_date: date,
        answers: checked.answers,
        unanswered: checked.unanswered,
        adherence,
        notes,
        ignored,
    })
}

/// The 422 refusing a check-in for its symptoms: the date first (what the app most likely got
/// wrong), then the symptoms' errors, then every other field that would have been ignored, so the
/// app can correct everything at once.
pub fn refused(symptom_errors: Vec<FieldError>, ignored: Vec<FieldError>) -> AppError {
    let (date, rest): (Vec<_>, Vec<_>) = ignored.into_iter().partition(|i| i.field == "local_date");
    AppError::Validation(date.into_iter().chain(symptom_errors).chain(rest).collect())
}

fn ignore(field: &str, message: &str) -> FieldError {
    FieldError { field: field.to_string(), message: message.to_string() }
}

/// A key the patient sent, as an ignored field names it (and as it is stored with the check-in):
/// at most 40 characters, control characters replaced by U+FFFD (PostgreSQL text holds no NUL).
pub fn shown_key(key: &str) -> String {
    key.chars().take(40).map(|c| if c.is_control() { char::REPLACEMENT_CHARACTER } else { c }).collect()
}

pub async fn list_for_treatment(
    state: &SharedState,
    caller: Caller,
    treatment_id: String,
    page: PageRequest,
) -> Result<Page<CheckInRecord>, AppError> {
    state.db.run(move |conn| check_ins::list_for_treatment(conn, &caller, &treatment_id, &page)).await
}

pub async fn get(state: &SharedState, caller: Caller, id: String) -> Result<CheckInRecord, AppError> {
    state.db.run(move |conn| check_ins::get(conn, &caller, &id)).await
}

/// Marks a check-in reviewed; a check-in is reviewed once.
pub async fn review(state: &SharedState, caller: Staff, id: String, review: Review) -> Result<CheckInRecord, AppError> {
    state.db.write(move |conn| check_ins::review(conn, &caller, &id, review.note)).await
}

/// A page of the clinic's unreviewed check-ins, with the counts of all of them by level.
pub async fn review_queue(
    state: &SharedState,
    caller: Staff,
    page: PageRequest,
) -> Result<(Page<QueueEntry>, QueueCounts), AppError> {
    state
        .db
        .run(move |conn| Ok((check_ins::review_queue(conn, &caller, &page)?, check_ins::queue_counts(conn, &caller)?)))
        .await
}

/// Reminders due and acknowledged, of one kind or of all.
pub struct Tally {
    pub due: i64,
    pub acknowledged: i64,
}

impl Tally {
    /// `acknowledged / due`, or `None` while nothing is due.
    pub fn share(&self) -> Option<f64> {
        (self.due > 0).then(|| self.acknowledged as f64 / self.due as f64)
    }
}

pub struct Adherence {
    pub treatment_id: String,
    /// Counted through this local date: today in the patient's zone.
    pub through: NaiveDate,
    pub total: Tally,
    /// By reminder kind, in the order the kinds first fall due.
    pub by_kind: Vec<(String, Tally)>,
}

/// How many of the reminders due so far the patient acknowledged (milestones aside).
pub async fn adherence(state: &SharedState, caller: Caller, treatment_id: String) -> Result<Adherence, AppError> {
    let shared = state.clone();
    state
        .db
        .run(move |conn| {
            let ctx = plans::load(conn, &caller, &shared.protocols, &treatment_id)?;
            let through = local_date(ctx.schedules.current().timezone, Utc::now());
            // "You may now…" milestones tell, they ask nothing: not counted.
            let mut due = ctx.plan().reminders(ctx.treatment.treated_on, through);
            due.retain(|r| !r.milestone);
            let acks = plans::acknowledgements(conn, &ctx.treatment.id, ctx.treatment.treated_on, through)?;
            let mut by_kind: BTreeMap<&str, (usize, Tally)> = BTreeMap::new();
            for (order, reminder) in due.iter().enumerate() {
                let tally = &mut by_kind.entry(reminder.kind).or_insert((order, Tally { due: 0, acknowledged: 0 })).1;
                tally.due += 1;
                tally.acknowledged += i64::from(acks.contains_key(&reminder.id.to_string()));
            }
            let mut by_kind: Vec<(usize, String, Tally)> =
                by_kind.into_iter().map(|(kind, (order, tally))| (order, kind.to_string(), tally)).collect();
            by_kind.sort_by_key(|(order, ..)| *order);
            let acknowledged = by_kind.iter().map(|(_, _, t)| t.acknowledged).sum();
            Ok(Adherence {
                treatment_id: ctx.treatment.id.clone(),
                through,
                total: Tally { due: due.len() as i64, acknowledged },
                by_kind: by_kind.into_iter().map(|(_, kind, tally)| (kind, tally)).collect(),
            })
        })
        .await
}
