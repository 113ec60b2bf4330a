//! Treatments. Staff see their clinic's; a patient sees only their own.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::schema::treatments;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{Area, Procedure, Role, Setting};
use crate::error::AppError;
use crate::models::patients;
use crate::pagination::{Cursor, Page, PageRequest};
use crate::plan::Protocol;

#[derive(Debug, Clone, PartialEq)]
pub struct TreatmentRecord {
    pub id: String,
    pub patient_id: String,
    pub clinic_id: String,
    pub procedure: Procedure,
    pub treated_on: NaiveDate,
    pub setting: Setting,
    pub areas: Vec<Area>,
    pub needle_depth_mm: f64,
    pub notes: Option<String>,
    pub protocol_id: String,
    pub protocol_version: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = treatments)]
struct TreatmentRow {
    id: String,
    patient_id: String,
    clinic_id: String,
    procedure: String,
    treated_on: NaiveDate,
    setting: String,
    areas: String,
    needle_depth_mm: f64,
    notes: Option<String>,
    protocol_id: String,
    protocol_version: i32,
    created_at: NaiveDateTime,
}

impl TryFrom<TreatmentRow> for TreatmentRecord {
    type Error = AppError;
    fn try_from(row: TreatmentRow) -> Result<TreatmentRecord, AppError> {
        let areas = row
            .areas
            .split(',')
            .map(|a| a.parse::<Area>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::internal)?;
        Ok(TreatmentRecord {
            procedure: row.procedure.parse().map_err(AppError::internal)?,
            setting: row.setting.parse().map_err(AppError::internal)?,
            areas,
            id: row.id,
            patient_id: row.patient_id,
            clinic_id: row.clinic_id,
            treated_on: row.treated_on,
            needle_depth_mm: row.needle_depth_mm,
            notes: row.notes,
            protocol_id: row.protocol_id,
            protocol_version: row.protocol_version,
            created_at: row.created_at,
        })
    }
}

type Visible = treatments::BoxedQuery<'static, MultiBackend>;

/// The treatments `caller` may see: the clinic's for staff, only their own for a patient.
fn visible_to(caller: &Caller) -> Visible {
    let query = treatments::table.into_boxed();
    match caller.role {
        Role::Admin | Role::Clinician => query.filter(treatments::clinic_id.eq(caller.clinic_id.clone())),
        Role::Patient => query.filter(treatments::patient_id.eq(caller.user_id.clone())),
    }
}

pub struct NewTreatment {
    pub procedure: Procedure,
    pub treated_on: NaiveDate,
    pub setting: Setting,
    pub areas: Vec<Area>,
    pub needle_depth_mm: f64,
    pub notes: Option<String>,
}

/// Records a treatment of `patient_id`, planned with `protocol`.
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    patient_id: &str,
    new: NewTreatment,
    protocol: &Protocol,
) -> Result<TreatmentRecord, AppError> {
    caller.require_staff()?;
    let patient = patients::get(conn, caller, patient_id)?;
    let id = super::new_id();
    let areas: Vec<&str> = new.areas.iter().map(|a| a.as_str()).collect();
    diesel::insert_into(treatments::table)
        .values((
            treatments::id.eq(&id),
            treatments::patient_id.eq(&patient.id),
            treatments::clinic_id.eq(&patient.clinic_id),
            treatments::procedure.eq(new.procedure.as_str()),
            treatments::treated_on.eq(new.treated_on),
            treatments::setting.eq(new.setting.as_str()),
            treatments::areas.eq(areas.join(",")),
            treatments::needle_depth_mm.eq(new.needle_depth_mm),
            treatments::notes.eq(&new.notes),
            treatments::protocol_id.eq(&protocol.id),
            treatments::protocol_version.eq(protocol.version),
            treatments::created_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    get(conn, caller, &id)
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<TreatmentRecord, AppError> {
    visible_to(caller)
        .filter(treatments::id.eq(id.to_string()))
        .select(TreatmentRow::as_select())
        .first(conn)?
        .try_into()
}

/// A patient's treatments, oldest first. 404 when the patient is not the caller's to see.
pub fn list_for_patient(
    conn: &mut DbConnection,
    caller: &Caller,
    patient_id: &str,
    page: &PageRequest,
) -> Result<Page<TreatmentRecord>, AppError> {
    let patient = patients::get(conn, caller, patient_id)?;
    let mut query = visible_to(caller)
        .filter(treatments::patient_id.eq(patient.id))
        .select(TreatmentRow::as_select())
        .order((treatments::created_at.asc(), treatments::id.asc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        let at = after.instant();
        query = query.filter(
            treatments::created_at.gt(at).or(treatments::created_at.eq(at).and(treatments::id.gt(after.id.clone()))),
        );
    }
    let rows = query.load(conn)?.into_iter().map(TreatmentRecord::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, |t| Cursor::new(None, t.created_at, &t.id)))
}

/// All of the calling patient's own treatments.
pub fn own(conn: &mut DbConnection, caller: &Caller) -> Result<Vec<TreatmentRecord>, AppError> {
    caller.require_patient()?;
    // `visible_to` for a patient, unboxed: the today screen reads this on every request.
    let rows: Vec<TreatmentRow> = crate::db::natively!(conn, |c| treatments::table
        .filter(treatments::patient_id.eq(&caller.user_id))
        .select(TreatmentRow::as_select())
        .order((treatments::treated_on.asc(), treatments::id.asc()))
        .load(c))?;
    rows.into_iter().map(TreatmentRecord::try_from).collect()
}
