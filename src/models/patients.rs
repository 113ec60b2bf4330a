//! Patient profiles. Staff see their own clinic's patients; a patient sees only itself.

use std::time::Duration;

use chrono::{NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::schema::{patients, users};
use crate::db::{DbConnection, MultiBackend, write_transaction};
use crate::domain::{Role, SkinType};
use crate::error::AppError;
use crate::models::{invites, users as accounts};
use crate::pagination::{Cursor, Page, PageRequest};

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

type PatientRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    NaiveTime,
    NaiveDateTime,
);

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
    let (id, clinic_id, name, email, timezone, skin_type, fitzpatrick, reminder_time, created_at) =
        row;
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
        Role::Admin | Role::Clinician => {
            query.filter(patients::clinic_id.eq(caller.clinic_id.clone()))
        }
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

pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    page: &PageRequest,
) -> Result<Page<PatientRecord>, AppError> {
    caller.require_staff()?;
    let mut query = visible_to(caller)
        .inner_join(users::table)
        .select(COLUMNS)
        .order((patients::created_at.asc(), patients::id.asc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        let at = after.instant();
        query = query.filter(
            patients::created_at.gt(at).or(patients::created_at
                .eq(at)
                .and(patients::id.gt(after.id.clone()))),
        );
    }
    let rows = query
        .load::<PatientRow>(conn)?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, |p| {
        Cursor::new(None, p.created_at, &p.id)
    }))
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
            diesel::update(users::table.find(&current.id))
                .set(users::name.eq(name))
                .execute(conn)?;
        }
        diesel::update(patients::table.find(&current.id))
            .set((
                patients::timezone.eq(changes.timezone.unwrap_or(current.timezone).name()),
                patients::skin_type.eq(changes.skin_type.unwrap_or(current.skin_type).as_str()),
                patients::fitzpatrick.eq(changes.fitzpatrick.unwrap_or(current.fitzpatrick)),
                patients::reminder_time.eq(changes.reminder_time.unwrap_or(current.reminder_time)),
            ))
            .execute(conn)?;
        get(conn, caller, id)
    })
}
