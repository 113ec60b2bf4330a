//! Screenings before treatment, kept as a record of what was asked and found.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{Caller, Staff};
use crate::db::DbConnection;
use crate::db::schema::screenings;
use crate::error::AppError;
use crate::models::patients;
use crate::plan::Protocol;
use crate::plan::screening::{ScreeningOutcome, screen};

pub struct ScreeningRecord<'a> {
    pub id: String,
    pub outcome: ScreeningOutcome<'a>,
    pub created_at: NaiveDateTime,
}

pub fn create<'a>(
    conn: &mut DbConnection,
    caller: &Staff,
    patient_id: &str,
    protocol: &'a Protocol,
    answers: &BTreeMap<String, bool>,
) -> Result<ScreeningRecord<'a>, AppError> {
    let patient = patients::get(conn, caller, patient_id)?;
    let outcome = screen(protocol, answers);
    let findings: Vec<&str> =
        outcome.contraindications.iter().chain(&outcome.cautions).map(|f| f.code.as_str()).collect();
    let id = super::new_id();
    let created_at = crate::clock::now();
    diesel::insert_into(screenings::table)
        .values((
            screenings::id.eq(&id),
            screenings::patient_id.eq(&patient.id),
            screenings::clinic_id.eq(&patient.clinic_id),
            screenings::answers.eq(serde_json::to_string(answers).map_err(AppError::internal)?),
            screenings::eligible.eq(outcome.eligible),
            screenings::findings.eq(serde_json::to_string(&findings).map_err(AppError::internal)?),
            screenings::protocol_id.eq(&protocol.id),
            screenings::protocol_version.eq(protocol.version),
            screenings::screened_by.eq(&caller.user_id),
            screenings::created_at.eq(created_at),
        ))
        .execute(conn)?;
    Ok(ScreeningRecord { id, outcome, created_at })
}

/// A stored screening as kept: the answers given, and the protocol version that judged them.
pub struct StoredScreening {
    pub id: String,
    pub answers: BTreeMap<String, bool>,
    pub eligible: bool,
    pub protocol_id: String,
    pub protocol_version: i32,
    pub screened_by: String,
    pub created_at: NaiveDateTime,
}

/// A screening as selected: `COLUMNS`, read into `StoredScreening` by `stored`.
type ScreeningRow = (String, String, bool, String, i32, String, NaiveDateTime);

const COLUMNS: (
    screenings::id,
    screenings::answers,
    screenings::eligible,
    screenings::protocol_id,
    screenings::protocol_version,
    screenings::screened_by,
    screenings::created_at,
) = (
    screenings::id,
    screenings::answers,
    screenings::eligible,
    screenings::protocol_id,
    screenings::protocol_version,
    screenings::screened_by,
    screenings::created_at,
);

fn stored(row: ScreeningRow) -> Result<StoredScreening, AppError> {
    let (id, answers, eligible, protocol_id, protocol_version, screened_by, created_at) = row;
    Ok(StoredScreening {
        id,
        answers: serde_json::from_str(&answers).map_err(AppError::internal)?,
        eligible,
        protocol_id,
        protocol_version,
        screened_by,
        created_at,
    })
}

/// The patient's screenings, oldest first, under the caller's scope.
pub fn list_for_patient(
    conn: &mut DbConnection,
    caller: &Caller,
    patient_id: &str,
) -> Result<Vec<StoredScreening>, AppError> {
    let patient = patients::get(conn, caller, patient_id)?;
    let rows: Vec<ScreeningRow> = screenings::table
        .filter(caller.scope().rows(screenings::clinic_id, screenings::patient_id))
        .filter(screenings::patient_id.eq(patient.id))
        .select(COLUMNS)
        .order((screenings::created_at.asc(), screenings::id.asc()))
        .load(conn)?;
    rows.into_iter().map(stored).collect()
}

/// The patient's most recent screening, under the caller's scope (404 when the patient is not the
/// caller's to see); `None` when they were never screened.
pub fn latest(conn: &mut DbConnection, caller: &Caller, patient_id: &str) -> Result<Option<StoredScreening>, AppError> {
    let patient = patients::get(conn, caller, patient_id)?;
    let row: Option<ScreeningRow> = screenings::table
        .filter(caller.scope().rows(screenings::clinic_id, screenings::patient_id))
        .filter(screenings::patient_id.eq(patient.id))
        .select(COLUMNS)
        .order((screenings::created_at.desc(), screenings::id.desc()))
        .first(conn)
        .optional()?;
    row.map(stored).transpose()
}

/// Erasure: deletes every screening of the patient.
pub fn erase_patient(conn: &mut DbConnection, patient_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(screenings::table.filter(screenings::patient_id.eq(patient_id))).execute(conn)?)
}
