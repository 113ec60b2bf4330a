//! Failed logins, counted per account and per client address over a sliding window. Stored in the
//! database so every replica throttles alike.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::tokens::token_hash;
use crate::db::DbConnection;
use crate::db::schema::login_failures;
use crate::error::AppError;

pub struct Limits {
    pub window: Duration,
    pub per_account: i64,
    pub per_client: i64,
}

/// If the account or the client has failed too often within the window: seconds until it may try again.
pub fn retry_after(
    conn: &mut DbConnection,
    email: &str,
    client: &str,
    now: NaiveDateTime,
    limits: &Limits,
) -> Result<Option<u64>, AppError> {
    let since = now - limits.window;
    let by_account: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::email_hash.eq(token_hash(email)))
        .filter(login_failures::at.gt(since))
        .select(login_failures::at)
        .order(login_failures::at.desc())
        .limit(limits.per_account)
        .load(conn)?;
    let by_client: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::client_addr.eq(client))
        .filter(login_failures::at.gt(since))
        .select(login_failures::at)
        .order(login_failures::at.desc())
        .limit(limits.per_client)
        .load(conn)?;
    // Blocked until the oldest of the last `limit` failures leaves the window.
    let blocked_until = |recent: &[NaiveDateTime], limit: i64| {
        (recent.len() as i64 >= limit).then(|| recent.last().map(|oldest| *oldest + limits.window)).flatten()
    };
    let until = [blocked_until(&by_account, limits.per_account), blocked_until(&by_client, limits.per_client)]
        .into_iter()
        .flatten()
        .max();
    Ok(until.map(|until| (until - now).num_seconds().max(1) as u64))
}

pub fn record_failure(conn: &mut DbConnection, email: &str, client: &str, now: NaiveDateTime) -> Result<(), AppError> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(super::new_id()),
            login_failures::email_hash.eq(token_hash(email)),
            login_failures::client_addr.eq(client),
            login_failures::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A successful login clears the account's failures.
pub fn clear(conn: &mut DbConnection, email: &str) -> Result<(), AppError> {
    diesel::delete(login_failures::table.filter(login_failures::email_hash.eq(token_hash(email)))).execute(conn)?;
    Ok(())
}

/// Forgets failures older than the window.
pub fn expire(conn: &mut DbConnection, now: NaiveDateTime, window: Duration) -> Result<usize, AppError> {
    Ok(diesel::delete(login_failures::table.filter(login_failures::at.lt(now - window))).execute(conn)?)
}
