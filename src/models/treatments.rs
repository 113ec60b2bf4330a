//! Treatments. Staff see their clinic's; a patient sees only their own.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};

use crate::auth::{Caller, Patient, Staff};
use crate::db::schema::treatments;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{Area, Procedure, Setting, SkinType};
use crate::error::AppError;
use crate::models::{clinics, patients};
use crate::pagination::{Cursor, Order, Page, PageRequest};
use crate::plan::variants::Treated;
use crate::plan::{Personal, Protocol};
use crate::text_column::text_column;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = treatments)]
pub struct TreatmentRecord {
    pub id: String,
    pub patient_id: String,
    pub clinic_id: String,
    pub procedure: Procedure,
    pub treated_on: NaiveDate,
    pub setting: Setting,
    #[diesel(deserialize_as = AreaList)]
    pub areas: Vec<Area>,
    pub needle_depth_mm: f64,
    pub notes: Option<String>,
    pub protocol_id: String,
    pub protocol_version: i32,
    pub created_at: NaiveDateTime,
    /// When the patient was discharged while this treatment was in their care: its reminders due
    /// after this instant are no longer planned, even once a new treatment re-admits the patient.
    pub discharged_at: Option<NaiveDateTime>,
    /// The patient's skin type and Fitzpatrick type this treatment's plan uses: theirs when it was
    /// recorded, or when a clinician last re-planned it (`replan`).
    pub skin_type: SkinType,
    pub fitzpatrick: i32,
    /// The local time of day of the treatment, as recorded (the clinic's default when none was
    /// given). Null for treatments recorded before times were.
    pub treatment_time: Option<NaiveTime>,
    /// The instant of the treatment: `treated_on` at `treatment_time` in the patient's zone when it
    /// was recorded (UTC).
    pub treated_at: Option<NaiveDateTime>,
    /// The screening that cleared this treatment (the screening gate); `None` when a clinician
    /// overrode the gate, or for treatments recorded before it.
    pub screening_id: Option<String>,
    /// Who overrode the screening gate, when and why (all three or none).
    pub screening_override_by: Option<String>,
    pub screening_override_at: Option<NaiveDateTime>,
    pub screening_override_reason: Option<String>,
}

/// What let a treatment through the screening gate.
pub enum Clearance {
    /// An eligible, fresh screening under the treatment's protocol.
    Screened { screening_id: String },
    /// A clinician's decision to treat without one, with their reason.
    Overridden { by: String, reason: String },
}

/// A treatment's areas as stored: their names joined by commas.
#[derive(Debug, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct AreaList(String);

text_column!(AreaList);

impl AreaList {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AreaList {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<AreaList, Self::Err> {
        Ok(AreaList(text.to_string()))
    }
}

impl From<Vec<Area>> for AreaList {
    fn from(areas: Vec<Area>) -> AreaList {
        AreaList(areas.iter().map(|area| area.as_str()).collect::<Vec<_>>().join(","))
    }
}

impl TryFrom<AreaList> for Vec<Area> {
    type Error = String;
    fn try_from(list: AreaList) -> Result<Vec<Area>, String> {
        list.0.split(',').map(str::parse).collect()
    }
}

/// The treatments `caller` may see.
fn visible_to(caller: &Caller) -> treatments::BoxedQuery<'static, MultiBackend> {
    treatments::table.into_boxed().filter(caller.scope().rows(treatments::clinic_id, treatments::patient_id))
}

#[derive(Insertable)]
#[diesel(table_name = treatments)]
pub struct NewTreatment {
    pub procedure: Procedure,
    pub treated_on: NaiveDate,
    pub setting: Setting,
    #[diesel(serialize_as = AreaList)]
    pub areas: Vec<Area>,
    pub needle_depth_mm: f64,
    pub notes: Option<String>,
}

/// Records a treatment of `patient_id` at local `time` of day (the clinic's default when `None`),
/// planned with `protocol`.
pub fn create(
    conn: &mut DbConnection,
    caller: &Staff,
    patient_id: &str,
    new: NewTreatment,
    time: Option<NaiveTime>,
    protocol: &Protocol,
    clearance: Clearance,
) -> Result<TreatmentRecord, AppError> {
    let patient = patients::get(conn, caller, patient_id)?;
    let time = match time {
        Some(time) => time,
        None => clinics::treatment_settings(conn, &patient.clinic_id)?.default_time,
    };
    // The instant the local date and time named in the patient's zone now; kept, so a later move to
    // another zone does not move the treatment.
    let treated_at = crate::plan::local_time::instant_of(new.treated_on, time, patient.timezone).naive_utc();
    // A new treatment re-admits a discharged patient, in this same transaction. The treatments of
    // their earlier care keep their own discharge instant, so only this one's reminders flow.
    // Always written, not only when the patient was discharged: the write takes the patient's row,
    // so a discharge running at the same time comes either wholly before (and is undone here) or
    // wholly after (and ends this treatment's care too).
    patients::readmit(conn, &patient.id)?;
    let id = super::new_id();
    let now = crate::clock::now();
    let (screening_id, override_by, override_at, override_reason) = match clearance {
        Clearance::Screened { screening_id } => (Some(screening_id), None, None, None),
        Clearance::Overridden { by, reason } => (None, Some(by), Some(now), Some(reason)),
    };
    diesel::insert_into(treatments::table)
        .values((
            new,
            treatments::screening_id.eq(screening_id),
            treatments::screening_override_by.eq(override_by),
            treatments::screening_override_at.eq(override_at),
            treatments::screening_override_reason.eq(override_reason),
            treatments::id.eq(&id),
            treatments::patient_id.eq(&patient.id),
            treatments::clinic_id.eq(&patient.clinic_id),
            treatments::protocol_id.eq(&protocol.id),
            treatments::protocol_version.eq(protocol.version),
            treatments::created_at.eq(now),
            // The clinician's assessment as it stands now is frozen on the treatment.
            treatments::skin_type.eq(patient.skin_type),
            treatments::fitzpatrick.eq(patient.fitzpatrick),
            treatments::treatment_time.eq(time),
            treatments::treated_at.eq(treated_at),
        ))
        .execute(conn)?;
    get(conn, caller, &id)
}

/// Re-plans a treatment of the caller's clinic with its patient's current skin type and Fitzpatrick
/// type (the whole plan follows them, days already past included). Expects to run inside a write
/// transaction; returns the treatment and the values it had before.
pub fn replan(conn: &mut DbConnection, caller: &Staff, id: &str) -> Result<(TreatmentRecord, Personal), AppError> {
    let before = get(conn, caller, id)?;
    let patient = patients::get(conn, caller, &before.patient_id)?;
    diesel::update(treatments::table.find(&before.id))
        .set((treatments::skin_type.eq(patient.skin_type), treatments::fitzpatrick.eq(patient.fitzpatrick)))
        .execute(conn)?;
    let previous = before.personal();
    Ok((get(conn, caller, id)?, previous))
}

impl TreatmentRecord {
    /// What the plan knows of the patient: the values frozen on the treatment.
    pub fn personal(&self) -> Personal {
        Personal { skin_type: self.skin_type, fitzpatrick: self.fitzpatrick }
    }

    /// What variants select on.
    pub fn treated(&self) -> Treated<'_> {
        Treated { procedure: self.procedure, setting: self.setting, areas: &self.areas }
    }
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<TreatmentRecord, AppError> {
    Ok(visible_to(caller).filter(treatments::id.eq(id.to_string())).select(TreatmentRecord::as_select()).first(conn)?)
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
        .select(TreatmentRecord::as_select())
        .order((treatments::created_at.asc(), treatments::id.asc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Ascending, treatments::created_at, treatments::id));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |t| Cursor::new(None, t.created_at, &t.id)))
}

/// All of the calling patient's own treatments.
pub fn own(conn: &mut DbConnection, caller: &Patient) -> Result<Vec<TreatmentRecord>, AppError> {
    // A patient's scope (`Scope::rows`) unboxed, so each engine runs it natively: the today screen
    // reads this on every request.
    Ok(crate::db::natively!(conn, |c| treatments::table
        .filter(treatments::patient_id.eq(&caller.user_id))
        .select(TreatmentRecord::as_select())
        .order((treatments::treated_on.asc(), treatments::id.asc()))
        .load(c))?)
}

/// Erasure: deletes every treatment of the patient (their check-ins, photos and acknowledgements
/// go first).
pub fn erase_patient(conn: &mut DbConnection, patient_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(treatments::table.filter(treatments::patient_id.eq(patient_id))).execute(conn)?)
}

/// The ids of the patient's treatments (any clinic's view: for erasure, which is scoped already).
pub fn ids_of_patient(conn: &mut DbConnection, patient_id: &str) -> Result<Vec<String>, AppError> {
    Ok(treatments::table.filter(treatments::patient_id.eq(patient_id)).select(treatments::id).load(conn)?)
}

/// Marks each of the patient's treatments not yet ended by a discharge as ended at `at`. Expects to
/// run inside the discharge's write transaction.
pub fn end_care(conn: &mut DbConnection, patient_id: &str, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(
        treatments::table.filter(treatments::patient_id.eq(patient_id)).filter(treatments::discharged_at.is_null()),
    )
    .set(treatments::discharged_at.eq(at))
    .execute(conn)?;
    Ok(())
}
