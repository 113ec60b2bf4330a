//! Patient profiles. Staff see their own clinic's patients; a patient sees only itself.

use std::time::Duration;

use chrono::{NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::schema::{patient_schedules, patients, users};
use crate::db::{DbConnection, MultiBackend, write_transaction};
use crate::domain::{Role, SkinType};
use crate::error::AppError;
use crate::models::{invites, users as accounts};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::plan::{Personal, Schedule, ScheduleHistory};

#[derive(Debug, Clone, PartialEq)]
pub struct PatientRecord {
    pub id: String,
    pub clinic_id: String,
    pub name: String,
    pub email: String,
    pub timezone: chrono_tz::Tz,
    pub skin_type: SkinType,
    pub fitzpatrick: i32,
    pub reminder_time: NaiveTime,
    pub created_at: NaiveDateTime,
}

type PatientRow = (String, String, String, String, String, String, i32, NaiveTime, NaiveDateTime);

const COLUMNS: (
    patients::id,
    patients::clinic_id,
    users::name,
    users::email,
    patients::timezone,
    patients::skin_type,
    patients::fitzpatrick,
    patients::reminder_time,
    patients::created_at,
) = (
    patients::id,
    patients::clinic_id,
    users::name,
    users::email,
    patients::timezone,
    patients::skin_type,
    patients::fitzpatrick,
    patients::reminder_time,
    patients::created_at,
);

fn from_row(row: PatientRow) -> Result<PatientRecord, AppError> {
    let (id, clinic_id, name, email, timezone, skin_type, fitzpatrick, reminder_time, created_at) = row;
    Ok(PatientRecord {
        id,
        clinic_id,
        name,
        email,
        timezone: timezone.parse().map_err(AppError::internal)?,
        skin_type: skin_type.parse().map_err(AppError::internal)?,
        fitzpatrick,
        reminder_time,
        created_at,
    })
}

type Visible = patients::BoxedQuery<'static, MultiBackend>;

/// The patients `caller` may see: the clinic's for staff, only itself for a patient.
fn visible_to(caller: &Caller) -> Visible {
    let query = patients::table.into_boxed();
    match caller.role {
        Role::Admin | Role::Clinician => query.filter(patients::clinic_id.eq(caller.clinic_id.clone())),
        Role::Patient => query.filter(patients::id.eq(caller.user_id.clone())),
    }
}

pub struct NewPatient {
    pub name: String,
    pub email: String,
    pub timezone: chrono_tz::Tz,
    pub skin_type: SkinType,
    pub fitzpatrick: i32,
    pub reminder_time: NaiveTime,
}

/// Creates the patient's account and profile in the caller's clinic; returns it with an invitation.
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    new: NewPatient,
    invite_ttl: Duration,
) -> Result<(PatientRecord, String), AppError> {
    caller.require_staff()?;
    write_transaction(conn, |conn| {
        let account = accounts::insert(
            conn,
            accounts::NewUser {
                clinic_id: &caller.clinic_id,
                role: Role::Patient,
                email: &new.email,
                name: &new.name,
                password_hash: None,
            },
        )?;
        diesel::insert_into(patients::table)
            .values((
                patients::id.eq(&account.id),
                patients::clinic_id.eq(&caller.clinic_id),
                patients::timezone.eq(new.timezone.name()),
                patients::skin_type.eq(new.skin_type.as_str()),
                patients::fitzpatrick.eq(new.fitzpatrick),
                patients::reminder_time.eq(new.reminder_time),
                patients::created_at.eq(account.created_at),
            ))
            .execute(conn)?;
        record_schedule(conn, &account.id, account.created_at, new.timezone, new.reminder_time)?;
        let invite = invites::create(conn, &account.id, invite_ttl)?;
        Ok((get(conn, caller, &account.id)?, invite))
    })
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<PatientRecord, AppError> {
    let row: PatientRow = visible_to(caller)
        .filter(patients::id.eq(id.to_string()))
        .inner_join(users::table)
        .select(COLUMNS)
        .first(conn)?;
    from_row(row)
}

pub fn list(conn: &mut DbConnection, caller: &Caller, page: &PageRequest) -> Result<Page<PatientRecord>, AppError> {
    caller.require_staff()?;
    let mut query = visible_to(caller)
        .inner_join(users::table)
        .select(COLUMNS)
        .order((patients::created_at.asc(), patients::id.asc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        let at = after.instant();
        query = query
            .filter(patients::created_at.gt(at).or(patients::created_at.eq(at).and(patients::id.gt(after.id.clone()))));
    }
    let rows = query.load::<PatientRow>(conn)?.into_iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, |p| Cursor::new(None, p.created_at, &p.id)))
}

#[derive(Default)]
pub struct PatientChanges {
    pub name: Option<String>,
    pub timezone: Option<chrono_tz::Tz>,
    pub skin_type: Option<SkinType>,
    pub fitzpatrick: Option<i32>,
    pub reminder_time: Option<NaiveTime>,
}

pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    changes: PatientChanges,
) -> Result<PatientRecord, AppError> {
    write_transaction(conn, |conn| {
        let current = get(conn, caller, id)?;
        if let Some(name) = &changes.name {
            diesel::update(users::table.find(&current.id)).set(users::name.eq(name)).execute(conn)?;
        }
        let timezone = changes.timezone.unwrap_or(current.timezone);
        let reminder_time = changes.reminder_time.unwrap_or(current.reminder_time);
        if (timezone, reminder_time) != (current.timezone, current.reminder_time) {
            record_schedule(conn, &current.id, crate::clock::now(), timezone, reminder_time)?;
        }
        diesel::update(patients::table.find(&current.id))
            .set((
                patients::timezone.eq(timezone.name()),
                patients::skin_type.eq(changes.skin_type.unwrap_or(current.skin_type).as_str()),
                patients::fitzpatrick.eq(changes.fitzpatrick.unwrap_or(current.fitzpatrick)),
                patients::reminder_time.eq(reminder_time),
            ))
            .execute(conn)?;
        get(conn, caller, id)
    })
}

fn record_schedule(
    conn: &mut DbConnection,
    patient_id: &str,
    effective_at: NaiveDateTime,
    timezone: chrono_tz::Tz,
    reminder_time: NaiveTime,
) -> Result<(), AppError> {
    diesel::insert_into(patient_schedules::table)
        .values((
            patient_schedules::patient_id.eq(patient_id),
            patient_schedules::effective_at.eq(effective_at),
            patient_schedules::timezone.eq(timezone.name()),
            patient_schedules::reminder_time.eq(reminder_time),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every schedule the patient has had, for planning reminders. Call only for a patient the caller
/// may see (one already loaded through `get`).
pub fn schedule_history(conn: &mut DbConnection, patient_id: &str) -> Result<ScheduleHistory, AppError> {
    let rows: Vec<(NaiveDateTime, String, NaiveTime)> = patient_schedules::table
        .filter(patient_schedules::patient_id.eq(patient_id))
        .select((patient_schedules::effective_at, patient_schedules::timezone, patient_schedules::reminder_time))
        .order(patient_schedules::effective_at.asc())
        .load(conn)?;
    let mut schedules = rows.into_iter().map(|(at, timezone, reminder_time)| {
        let timezone = timezone.parse().map_err(AppError::internal)?;
        Ok::<_, AppError>((at.and_utc(), Schedule { timezone, reminder_time }))
    });
    let (_, first) = schedules.next().ok_or_else(|| AppError::internal("patient without a schedule"))??;
    Ok(ScheduleHistory { first, changes: schedules.collect::<Result<_, _>>()? })
}

impl PatientRecord {
    pub fn personal(&self) -> Personal {
        Personal { skin_type: self.skin_type, fitzpatrick: self.fitzpatrick }
    }
}
