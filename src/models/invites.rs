//! Invitations: a one-time token that lets a new account set its password.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::tokens::{random_token, token_hash};
use crate::clock;
use crate::db::DbConnection;
use crate::db::schema::invites;
use crate::error::AppError;

/// Creates an invitation for `user_id`; returns the token to hand to its owner (stored hashed).
pub fn create(conn: &mut DbConnection, user_id: &str, ttl: Duration) -> Result<String, AppError> {
    let token = random_token();
    let now = clock::now();
    let ttl = chrono::Duration::from_std(ttl).map_err(AppError::internal)?;
    diesel::insert_into(invites::table)
        .values((
            invites::token_hash.eq(token_hash(&token)),
            invites::user_id.eq(user_id),
            invites::expires_at.eq(now + ttl),
            invites::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The account an invitation is for, if the token is one, unspent and unexpired. One lookup by
/// the token's hash: check it before anything expensive (a password hash) is done for a request.
pub fn find_usable(conn: &mut DbConnection, token: &str) -> Result<Option<String>, AppError> {
    let found: Option<(String, NaiveDateTime)> = invites::table
        .find(token_hash(token))
        .filter(invites::used_at.is_null())
        .select((invites::user_id, invites::expires_at))
        .first(conn)
        .optional()?;
    Ok(found.filter(|(_, expires_at)| *expires_at > clock::now()).map(|(user_id, _)| user_id))
}

/// Spends an invitation; returns its user id. Unknown, spent and expired tokens are all 401.
pub fn redeem(conn: &mut DbConnection, token: &str) -> Result<String, AppError> {
    let user_id = find_usable(conn, token)?.ok_or(AppError::Unauthorized)?;
    // Conditional on still being unused, so two concurrent activations cannot both succeed.
    let spent = diesel::update(invites::table.find(token_hash(token)).filter(invites::used_at.is_null()))
        .set(invites::used_at.eq(clock::now()))
        .execute(conn)?;
    if spent == 1 { Ok(user_id) } else { Err(AppError::Unauthorized) }
}

/// Replaces the account's open invitation with a new token of the same expiry; returns it. The
/// old token stops working. `None` when no invitation is open (the account was activated).
/// Expects to run inside a write transaction (the caller's): the old token and the new one change
/// together.
pub fn reissue(conn: &mut DbConnection, user_id: &str) -> Result<Option<String>, AppError> {
    let open = invites::table.filter(invites::user_id.eq(user_id)).filter(invites::used_at.is_null());
    let expiries: Vec<NaiveDateTime> = open.select(invites::expires_at).load(conn)?;
    let Some(expires_at) = expiries.into_iter().max() else { return Ok(None) };
    diesel::delete(open).execute(conn)?;
    let token = random_token();
    diesel::insert_into(invites::table)
        .values((
            invites::token_hash.eq(token_hash(&token)),
            invites::user_id.eq(user_id),
            invites::expires_at.eq(expires_at),
            invites::created_at.eq(clock::now()),
        ))
        .execute(conn)?;
    Ok(Some(token))
}

/// Spends every open invitation of the account (a deactivation): none of them works afterwards.
pub fn spend_all(conn: &mut DbConnection, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::update(invites::table.filter(invites::user_id.eq(user_id)).filter(invites::used_at.is_null()))
        .set(invites::used_at.eq(clock::now()))
        .execute(conn)?)
}
