//! A treatment together with everything its recovery plan is computed from, loaded under the
//! caller's scope, and the acknowledgements of its reminders.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::DbConnection;
use crate::db::schema::reminder_acks;
use crate::error::AppError;
use crate::models::patients::{self, PatientRecord};
use crate::models::protocols::{AppliedVariant, ProtocolLibrary};
use crate::models::treatments::{self, TreatmentRecord};
use crate::plan::{PlannedReminder, Protocol, ScheduleHistory, TreatmentPlan};

pub struct PlanContext {
    pub treatment: TreatmentRecord,
    pub patient: PatientRecord,
    /// The treatment's protocol version with its variants for this treatment applied.
    pub protocol: Arc<Protocol>,
    /// The variants applied to it, in the order they apply.
    pub variants: Vec<AppliedVariant>,
    pub schedules: ScheduleHistory,
}

impl PlanContext {
    pub fn plan(&self) -> TreatmentPlan<'_> {
        TreatmentPlan {
            protocol: &self.protocol,
            treatment_id: &self.treatment.id,
            treated_on: self.treatment.treated_on,
            personal: self.treatment.personal(),
            schedules: &self.schedules,
            treated_at: self.treatment.treated_at.map(|at| at.and_utc()),
            ends_at: self.treatment.discharged_at.map(|at| at.and_utc()),
        }
    }
}

/// Loads a treatment the caller may see, with its patient, protocol version and schedules.
pub fn load(
    conn: &mut DbConnection,
    caller: &Caller,
    library: &ProtocolLibrary,
    treatment_id: &str,
) -> Result<PlanContext, AppError> {
    let treatment = treatments::get(conn, caller, treatment_id)?;
    context_of(conn, caller, library, treatment)
}

pub fn context_of(
    conn: &mut DbConnection,
    caller: &Caller,
    library: &ProtocolLibrary,
    treatment: TreatmentRecord,
) -> Result<PlanContext, AppError> {
    let patient = patients::get(conn, caller, &treatment.patient_id)?;
    let (protocol, variants) = library.for_treatment(conn, &treatment)?;
    let schedules = patients::schedule_history(conn, &patient)?;
    Ok(PlanContext { treatment, patient, protocol, variants, schedules })
}

/// Acknowledgement instants of the treatment's reminders dated `from..=to`, by reminder id.
pub fn acknowledgements(
    conn: &mut DbConnection,
    treatment_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<String, NaiveDateTime>, AppError> {
    let acks: Vec<(String, NaiveDateTime)> = crate::db::natively!(conn, |c| reminder_acks::table
        .filter(reminder_acks::treatment_id.eq(treatment_id))
        .filter(reminder_acks::local_date.between(from, to))
        .select((reminder_acks::reminder_id, reminder_acks::acknowledged_at))
        .load(c))?;
    Ok(acks.into_iter().collect())
}

/// Acknowledges a reminder once; later calls keep the first instant. Returns that instant.
pub fn acknowledge(
    conn: &mut DbConnection,
    treatment_id: &str,
    reminder: &PlannedReminder,
) -> Result<NaiveDateTime, AppError> {
    let id = reminder.id.to_string();
    let existing: Option<NaiveDateTime> =
        reminder_acks::table.find(&id).select(reminder_acks::acknowledged_at).first(conn).optional()?;
    if let Some(at) = existing {
        return Ok(at);
    }
    let now = crate::clock::now();
    diesel::insert_into(reminder_acks::table)
        .values((
            reminder_acks::reminder_id.eq(&id),
            reminder_acks::treatment_id.eq(treatment_id),
            reminder_acks::local_date.eq(reminder.local_date),
            reminder_acks::kind.eq(&reminder.kind),
            reminder_acks::acknowledged_at.eq(now),
        ))
        .execute(conn)?;
    Ok(now)
}

/// Every acknowledgement of the treatment's reminders, by local date: (reminder id, local date,
/// kind, instant).
pub fn all_acknowledgements(
    conn: &mut DbConnection,
    treatment_id: &str,
) -> Result<Vec<(String, NaiveDate, String, NaiveDateTime)>, AppError> {
    Ok(reminder_acks::table
        .filter(reminder_acks::treatment_id.eq(treatment_id))
        .select((
            reminder_acks::reminder_id,
            reminder_acks::local_date,
            reminder_acks::kind,
            reminder_acks::acknowledged_at,
        ))
        .order((reminder_acks::local_date.asc(), reminder_acks::reminder_id.asc()))
        .load(conn)?)
}

/// Erasure: deletes the acknowledgements of these treatments' reminders.
pub fn erase_acknowledgements(conn: &mut DbConnection, treatment_ids: &[String]) -> Result<usize, AppError> {
    if treatment_ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(reminder_acks::table.filter(reminder_acks::treatment_id.eq_any(treatment_ids))).execute(conn)?)
}
