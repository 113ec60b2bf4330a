//! Password reset requests waiting for the delivery worker (see `use_cases::passwords`). A request
//! is taken by deleting it: of two replicas, exactly one deletes the row, and that one answers it
//! in the same transaction.

use diesel::prelude::*;

use crate::clock;
use crate::db::DbConnection;
use crate::db::schema::password_reset_requests as requests;
use crate::error::AppError;

pub struct ResetRequested {
    pub email: String,
    pub clinic_id: Option<String>,
}

pub fn record(conn: &mut DbConnection, email: &str, clinic_id: Option<&str>) -> Result<(), AppError> {
    diesel::insert_into(requests::table)
        .values((
            requests::id.eq(super::new_id()),
            requests::email.eq(email),
            requests::clinic_id.eq(clinic_id),
            requests::created_at.eq(clock::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The oldest waiting requests' ids.
pub fn waiting(conn: &mut DbConnection, limit: i64) -> Result<Vec<String>, AppError> {
    Ok(requests::table
        .order((requests::created_at.asc(), requests::id.asc()))
        .select(requests::id)
        .limit(limit)
        .load(conn)?)
}

/// Takes one request: `None` when another worker took it first. Run it in the write transaction
/// that answers it.
pub fn take(conn: &mut DbConnection, id: &str) -> Result<Option<ResetRequested>, AppError> {
    let found: Option<(String, Option<String>)> =
        requests::table.find(id).select((requests::email, requests::clinic_id)).first(conn).optional()?;
    let Some((email, clinic_id)) = found else { return Ok(None) };
    let taken = diesel::delete(requests::table.find(id)).execute(conn)?;
    Ok((taken == 1).then_some(ResetRequested { email, clinic_id }))
}

/// Erasure: requests naming the address go with it.
pub fn forget_email(conn: &mut DbConnection, email: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(requests::table.filter(requests::email.eq(email))).execute(conn)?)
}
