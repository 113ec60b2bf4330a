//! Patient profiles. Staff see their own clinic's patients; a patient sees only itself.

use chrono::{NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};
use std::str::FromStr;

use crate::auth::{Caller, Staff};
use crate::db::schema::{patient_schedules, patients, users};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{EmailAddress, PatientStatus, PersonName, Role, SkinType};
use crate::error::AppError;
use crate::language::Language;
use crate::models::users::{self as accounts, User};
use crate::pagination::{Cursor, Order, Page, PageRequest};
use crate::plan::{Schedule, ScheduleHistory};
use crate::text_column::text_column;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = patients)]
pub struct PatientRecord {
    pub id: String,
    pub clinic_id: String,
    #[diesel(select_expression = users::name)]
    pub name: String,
    #[diesel(select_expression = users::email)]
    pub email: String,
    #[diesel(deserialize_as = StoredTimeZone)]
    pub timezone: chrono_tz::Tz,
    pub skin_type: SkinType,
    pub fitzpatrick: i32,
    pub reminder_time: NaiveTime,
    pub created_at: NaiveDateTime,
    /// Set while the patient is discharged (see `discharge`); cleared by a new treatment.
    pub discharged_at: Option<NaiveDateTime>,
    pub discharge_note: Option<String>,
    /// The language the patient prefers for their texts, if they said (`crate::language`).
    pub preferred_language: Option<Language>,
    /// Whether the patient has set a password (accepted the invitation), as `User::activated`.
    #[diesel(select_expression = users::password_hash.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::password_hash>)]
    pub activated: bool,
}

/// A time zone as stored: its IANA name.
#[derive(Debug, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct StoredTimeZone(chrono_tz::Tz);

text_column!(StoredTimeZone);

impl StoredTimeZone {
    fn as_str(&self) -> &'static str {
        self.0.name()
    }
}

impl FromStr for StoredTimeZone {
    type Err = String;
    fn from_str(name: &str) -> Result<StoredTimeZone, String> {
        name.parse().map(StoredTimeZone).map_err(|_| format!("`{name}` is not a time zone"))
    }
}

impl From<chrono_tz::Tz> for StoredTimeZone {
    fn from(timezone: chrono_tz::Tz) -> StoredTimeZone {
        StoredTimeZone(timezone)
    }
}

impl From<StoredTimeZone> for chrono_tz::Tz {
    fn from(stored: StoredTimeZone) -> chrono_tz::Tz {
        stored.0
    }
}

/// The patients `caller` may see (a patient's row is their own when its id is theirs).
fn visible_to(caller: &Caller) -> patients::BoxedQuery<'static, MultiBackend> {
    patients::table.into_boxed().filter(caller.scope().rows(patients::clinic_id, patients::id))
}

#[derive(Insertable)]
#[diesel(table_name = patients)]
pub struct NewPatient {
    /// The account's, in `users`.
    #[diesel(skip_insertion)]
    pub name: PersonName,
    #[diesel(skip_insertion)]
    pub email: EmailAddress,
    #[diesel(serialize_as = StoredTimeZone)]
    pub timezone: chrono_tz::Tz,
    pub skin_type: SkinType,
    pub fitzpatrick: i32,
    pub reminder_time: NaiveTime,
    pub preferred_language: Option<Language>,
}

/// Creates the patient's account and profile in the caller's clinic; returns the profile and the
/// account. Expects to run inside a write transaction (the caller's, which also invites the new
/// account), so that a failure leaves nothing behind.
pub fn create(conn: &mut DbConnection, caller: &Staff, new: NewPatient) -> Result<(PatientRecord, User), AppError> {
    let account = accounts::insert(
        conn,
        accounts::NewUser {
            clinic_id: &caller.clinic_id,
            role: Role::Patient,
            email: new.email.as_str(),
            name: new.name.as_str(),
            password_hash: None,
        },
    )?;
    let (timezone, reminder_time) = (new.timezone, new.reminder_time);
    diesel::insert_into(patients::table)
        .values((
            new,
            patients::id.eq(&account.id),
            patients::clinic_id.eq(&caller.clinic_id),
            patients::created_at.eq(account.created_at),
        ))
        .execute(conn)?;
    record_schedule(conn, &account.id, account.created_at, timezone, reminder_time)?;
    Ok((get(conn, caller, &account.id)?, account))
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<PatientRecord, AppError> {
    Ok(visible_to(caller)
        .filter(patients::id.eq(id.to_string()))
        .inner_join(users::table)
        .select(PatientRecord::as_select())
        .first(conn)?)
}

/// The calling patient's preferred language; `None` for staff (their requests choose alone).
pub fn preferred_language(conn: &mut DbConnection, caller: &Caller) -> Result<Option<Language>, AppError> {
    if caller.role != Role::Patient {
        return Ok(None);
    }
    Ok(visible_to(caller)
        .filter(patients::id.eq(caller.user_id.clone()))
        .select(patients::preferred_language)
        .first::<Option<Language>>(conn)
        .optional()?
        .flatten())
}

/// The preferred language of the patient with this account id, if the account is a patient's
/// and they set one (for what is written to them without a request: e-mails). Unscoped: the
/// caller has the account in hand.
pub fn preferred_language_of(conn: &mut DbConnection, user_id: &str) -> Result<Option<Language>, AppError> {
    Ok(patients::table
        .find(user_id)
        .select(patients::preferred_language)
        .first::<Option<Language>>(conn)
        .optional()?
        .flatten())
}

pub fn list(
    conn: &mut DbConnection,
    caller: &Staff,
    status: Option<PatientStatus>,
    page: &PageRequest,
) -> Result<Page<PatientRecord>, AppError> {
    let mut query = visible_to(caller)
        .inner_join(users::table)
        .select(PatientRecord::as_select())
        .order((patients::created_at.asc(), patients::id.asc()))
        .limit(page.fetch());
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Ascending, patients::created_at, patients::id));
    }
    query = match status {
        Some(PatientStatus::Active) => query.filter(patients::discharged_at.is_null()),
        Some(PatientStatus::Discharged) => query.filter(patients::discharged_at.is_not_null()),
        None => query,
    };
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |p| Cursor::new(None, p.created_at, &p.id)))
}

/// Discharges a patient of the caller's clinic: the patient keeps their account and everything
/// recorded, reports no new check-ins, and the reminders of every treatment in their care stop at
/// this instant. Discharging again changes nothing (the first instant and note stay). Expects to
/// run inside a write transaction (the caller's).
pub fn discharge(
    conn: &mut DbConnection,
    caller: &Staff,
    id: &str,
    note: Option<String>,
) -> Result<PatientRecord, AppError> {
    let current = get(conn, caller, id)?;
    if current.discharged_at.is_some() {
        return Ok(current);
    }
    let now = crate::clock::now();
    diesel::update(patients::table.find(&current.id).filter(patients::discharged_at.is_null()))
        .set((patients::discharged_at.eq(now), patients::discharge_note.eq(note)))
        .execute(conn)?;
    crate::models::treatments::end_care(conn, &current.id, now)?;
    get(conn, caller, id)
}

/// Re-admits a discharged patient (a new treatment does): the discharge and its note are cleared.
/// The caller has already loaded the patient under its scope.
pub fn readmit(conn: &mut DbConnection, patient_id: &str) -> Result<(), AppError> {
    diesel::update(patients::table.find(patient_id))
        .set((patients::discharged_at.eq(None::<NaiveDateTime>), patients::discharge_note.eq(None::<String>)))
        .execute(conn)?;
    Ok(())
}

#[derive(Default)]
pub struct PatientChanges {
    pub name: Option<PersonName>,
    pub timezone: Option<chrono_tz::Tz>,
    pub skin_type: Option<SkinType>,
    pub fitzpatrick: Option<i32>,
    pub reminder_time: Option<NaiveTime>,
    pub preferred_language: Option<Language>,
}

/// Applies `changes` to a patient the caller may see; a new time zone or reminder time is recorded
/// as a schedule from now. Expects to run inside a write transaction (the caller's).
pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    changes: PatientChanges,
) -> Result<PatientRecord, AppError> {
    let current = get(conn, caller, id)?;
    if let Some(name) = &changes.name {
        diesel::update(users::table.find(&current.id)).set(users::name.eq(name.as_str())).execute(conn)?;
    }
    let timezone = changes.timezone.unwrap_or(current.timezone);
    let reminder_time = changes.reminder_time.unwrap_or(current.reminder_time);
    if (timezone, reminder_time) != (current.timezone, current.reminder_time) {
        record_schedule(conn, &current.id, crate::clock::now(), timezone, reminder_time)?;
    }
    diesel::update(patients::table.find(&current.id))
        .set((
            patients::timezone.eq(timezone.name()),
            patients::skin_type.eq(changes.skin_type.unwrap_or(current.skin_type)),
            patients::fitzpatrick.eq(changes.fitzpatrick.unwrap_or(current.fitzpatrick)),
            patients::reminder_time.eq(reminder_time),
            patients::preferred_language.eq(changes.preferred_language.or(current.preferred_language)),
        ))
        .execute(conn)?;
    get(conn, caller, id)
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

/// Every schedule the patient has had, for planning reminders. Takes the patient as loaded through
/// `get`, so only a patient the caller may see.
pub fn schedule_history(conn: &mut DbConnection, patient: &PatientRecord) -> Result<ScheduleHistory, AppError> {
    let rows: Vec<(NaiveDateTime, StoredTimeZone, NaiveTime)> = patient_schedules::table
        .filter(patient_schedules::patient_id.eq(&patient.id))
        .select((patient_schedules::effective_at, patient_schedules::timezone, patient_schedules::reminder_time))
        .order(patient_schedules::effective_at.asc())
        .load(conn)?;
    let mut schedules = rows
        .into_iter()
        .map(|(at, timezone, reminder_time)| (at.and_utc(), Schedule { timezone: timezone.into(), reminder_time }));
    let (_, first) = schedules.next().ok_or_else(|| AppError::internal("patient without a schedule"))?;
    Ok(ScheduleHistory { first, changes: schedules.collect() })
}

/// The patient's schedules as recorded: (effective from, time zone, reminder time), oldest first.
pub fn schedules(
    conn: &mut DbConnection,
    patient: &PatientRecord,
) -> Result<Vec<(NaiveDateTime, chrono_tz::Tz, NaiveTime)>, AppError> {
    let rows: Vec<(NaiveDateTime, StoredTimeZone, NaiveTime)> = patient_schedules::table
        .filter(patient_schedules::patient_id.eq(&patient.id))
        .select((patient_schedules::effective_at, patient_schedules::timezone, patient_schedules::reminder_time))
        .order(patient_schedules::effective_at.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(|(at, zone, time)| (at, zone.into(), time)).collect())
}

/// Erasure: deletes the patient's profile and schedules (everything that refers to the profile
/// goes first). The account in `users` is tombstoned separately (`users::tombstone`).
pub fn erase(conn: &mut DbConnection, patient_id: &str) -> Result<(), AppError> {
    diesel::delete(patient_schedules::table.filter(patient_schedules::patient_id.eq(patient_id))).execute(conn)?;
    diesel::delete(patients::table.find(patient_id)).execute(conn)?;
    Ok(())
}
