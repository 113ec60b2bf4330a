//! Accounts: clinic staff and patients share one table; the role says which.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{Admin, Caller};
use crate::db::DbConnection;
use crate::db::schema::{plan_inputs_version, users};
use crate::domain::Role;
use crate::error::AppError;
use crate::pagination::{Cursor, Order, Page, PageRequest};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub clinic_id: String,
    pub role: Role,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    /// Moves on with each password change or reset; access tokens carry the one they were issued
    /// under (`cv`), and older ones are refused.
    pub credentials_version: i64,
}

impl User {
    /// An account is activated once its owner has set a password.
    pub fn activated(&self) -> bool {
        self.password_hash.is_some()
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub clinic_id: &'a str,
    pub role: Role,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, new: NewUser<'_>) -> Result<User, AppError> {
    let id = super::new_id();
    let now = crate::clock::now();
    let inserted = diesel::insert_into(users::table)
        .values((&new, users::id.eq(&id), users::active.eq(true), users::created_at.eq(now)))
        .execute(conn);
    match inserted {
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Err(AppError::Conflict("this clinic already has an account with this email".into()))
        }
        other => other.map_err(AppError::from),
    }?;
    find(conn, &id)?.ok_or(AppError::NotFound)
}

fn find(conn: &mut DbConnection, id: &str) -> Result<Option<User>, AppError> {
    Ok(users::table.find(id).select(User::as_select()).first(conn).optional()?)
}

/// An account of `clinic_id` with one of `roles`, active or not.
pub fn find_in_clinic(
    conn: &mut DbConnection,
    clinic_id: &str,
    roles: &[Role],
    id: &str,
) -> Result<Option<User>, AppError> {
    Ok(find(conn, id)?.filter(|u| u.clinic_id == clinic_id && roles.contains(&u.role)))
}

/// The account behind a token, if it still exists and is active.
pub fn find_active(conn: &mut DbConnection, id: &str) -> Result<Option<User>, AppError> {
    Ok(find(conn, id)?.filter(|user| user.active))
}

/// `find_active`, together with the version of the plans' inputs read in the same statement (see
/// `models::plan_cache`): every request checks its account, so the version costs no extra query.
pub fn find_active_with_plan_inputs(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<(User, Option<i64>)>, AppError> {
    let found: Option<(User, Option<i64>)> = crate::db::natively!(conn, |c| {
        let version = plan_inputs_version::table.select(plan_inputs_version::version).single_value();
        users::table.find(id).select((User::as_select(), version)).first(c).optional()
    })?;
    Ok(found.filter(|(user, _)| user.active))
}

/// The account a login names. An address may have an account at several clinics (each with its own
/// password): `clinic_id` picks one; without it, the oldest activated account. Always one account, so
/// a login costs one password check whatever other clinics hold.
pub fn find_for_login(conn: &mut DbConnection, email: &str, clinic_id: Option<&str>) -> Result<Option<User>, AppError> {
    let mut query = users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .order((users::password_hash.is_null().asc(), users::created_at.asc(), users::id.asc()))
        .into_boxed();
    if let Some(clinic_id) = clinic_id {
        query = query.filter(users::clinic_id.eq(clinic_id));
    }
    Ok(query.first(conn).optional()?)
}

pub fn set_password(conn: &mut DbConnection, id: &str, hash: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(id)).set(users::password_hash.eq(hash)).execute(conn)?;
    Ok(())
}

/// Sets the password and moves the credentials version on, only if the version is still `seen`
/// (no reset, change or deactivation came in between); returns whether it did.
pub fn change_password_if_unchanged(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    seen: i64,
) -> Result<bool, AppError> {
    let changed = diesel::update(users::table.find(id).filter(users::credentials_version.eq(seen)))
        .set((users::password_hash.eq(hash), users::credentials_version.eq(users::credentials_version + 1)))
        .execute(conn)?;
    Ok(changed == 1)
}

/// The caller's own clinic's staff (admins and clinicians), oldest first.
pub fn list_staff(conn: &mut DbConnection, caller: &Admin, page: &PageRequest) -> Result<Page<User>, AppError> {
    let mut query = users::table
        .filter(caller.scope().clinic_rows(users::clinic_id))
        .filter(users::role.eq_any([Role::Admin, Role::Clinician]))
        .select(User::as_select())
        .order((users::created_at.asc(), users::id.asc()))
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Ascending, users::created_at, users::id));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |u| Cursor::new(None, u.created_at, &u.id)))
}

/// The caller's own account.
pub fn me(conn: &mut DbConnection, caller: &Caller) -> Result<User, AppError> {
    find_active(conn, &caller.user_id)?.ok_or(AppError::NotFound)
}

/// The clinic's active administrators and clinicians who have set a password, oldest first.
pub fn active_staff(conn: &mut DbConnection, clinic_id: &str) -> Result<Vec<User>, AppError> {
    Ok(users::table
        .filter(users::clinic_id.eq(clinic_id))
        .filter(users::role.eq_any([Role::Admin, Role::Clinician]))
        .filter(users::active.eq(true))
        .filter(users::password_hash.is_not_null())
        .select(User::as_select())
        .order((users::created_at.asc(), users::id.asc()))
        .load(conn)?)
}

/// Takes the account's row for the rest of this transaction if it is still active, and says
/// whether it is. A transaction that adds to an account (a reset's token and e-mail) takes it first,
/// as erasure and deactivation do by writing the row: whichever comes second waits for the first to
/// commit and then sees what it did, so nothing is added to an account being erased.
pub fn hold_if_active(conn: &mut DbConnection, id: &str) -> Result<bool, AppError> {
    let held = diesel::update(users::table.find(id).filter(users::active.eq(true)))
        .set(users::credentials_version.eq(users::credentials_version))
        .execute(conn)?;
    Ok(held == 1)
}

/// Refuses, from the next request on, every access token issued to the account so far (a password
/// change or reset): they carry the credentials version this moves past.
pub fn end_access_tokens(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set(users::credentials_version.eq(users::credentials_version + 1))
        .execute(conn)?;
    Ok(())
}

/// One of the caller's own clinic's staff accounts (an administrator or clinician). A patient's
/// id, or another clinic's, is not found.
pub fn find_staff(conn: &mut DbConnection, caller: &Admin, id: &str) -> Result<User, AppError> {
    Ok(users::table
        .filter(caller.scope().clinic_rows(users::clinic_id))
        .filter(users::role.eq_any([Role::Admin, Role::Clinician]))
        .filter(users::id.eq(id.to_string()))
        .select(User::as_select())
        .first(conn)?)
}

/// Turns an account on or off. Its tokens are checked against `active` on every request.
pub fn set_active(conn: &mut DbConnection, id: &str, active: bool) -> Result<(), AppError> {
    diesel::update(users::table.find(id).filter(users::active.ne(active)))
        .set(users::active.eq(active))
        .execute(conn)?;
    Ok(())
}

/// What an erased patient's account becomes: no name, no address, no password, inactive. The row
/// stays so that the ids in the audit trail and the erasure request still name an account.
pub const ERASED_NAME: &str = "Erased patient";

/// Erasure: replaces the account's name and e-mail address (with a random one, unique in the
/// clinic and undeliverable), removes its password and deactivates it.
pub fn tombstone(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    let email = format!("erased-{}@erased.invalid", uuid::Uuid::new_v4().simple());
    diesel::update(users::table.find(id))
        .set((
            users::name.eq(ERASED_NAME),
            users::email.eq(email),
            users::password_hash.eq(None::<String>),
            users::active.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}

/// An account by id, whatever its state (for erasure, after its scope was checked).
pub fn find_any(conn: &mut DbConnection, id: &str) -> Result<Option<User>, AppError> {
    find(conn, id)
}

/// Holds the caller's clinic's staff changes back until this transaction ends: a write to the
/// clinic's row, which PostgreSQL locks until commit (SQLite runs one write at a time anyway).
/// Two administrators deactivating each other at once are then judged one after the other.
pub fn lock_staff_changes(conn: &mut DbConnection, caller: &Admin) -> Result<(), AppError> {
    use crate::db::schema::clinics;
    diesel::update(clinics::table.find(caller.clinic_id.clone())).set(clinics::name.eq(clinics::name)).execute(conn)?;
    Ok(())
}

/// How many active administrators the caller's clinic has besides `except`.
pub fn other_active_admins(conn: &mut DbConnection, caller: &Admin, except: &str) -> Result<i64, AppError> {
    Ok(users::table
        .filter(caller.scope().clinic_rows(users::clinic_id))
        .filter(users::role.eq(Role::Admin))
        .filter(users::active.eq(true))
        .filter(users::id.ne(except.to_string()))
        .count()
        .get_result(conn)?)
}
