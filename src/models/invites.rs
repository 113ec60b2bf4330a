//! Invitations: a one-time token that lets a new account set its password.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::tokens::{random_token, token_hash};
use crate::clock;
use crate::db::schema::invites;
use crate::db::{DbConnection, write_transaction};
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

/// Spends an invitation; returns its user id. Unknown, spent and expired tokens are all 401.
pub fn redeem(conn: &mut DbConnection, token: &str) -> Result<String, AppError> {
    let hash = token_hash(token);
    let now = clock::now();
    let found: Option<(String, NaiveDateTime)> = invites::table
        .find(&hash)
        .filter(invites::used_at.is_null())
        .select((invites::user_id, invites::expires_at))
        .first(conn)
        .optional()?;
    let Some((user_id, _)) = found.filter(|(_, expires_at)| *expires_at > now) else {
        return Err(AppError::Unauthorized);
    };
    // Conditional on still being unused, so two concurrent activations cannot both succeed.
    let spent = diesel::update(invites::table.find(&hash).filter(invites::used_at.is_null()))
        .set(invites::used_at.eq(now))
        .execute(conn)?;
    if spent == 1 { Ok(user_id) } else { Err(AppError::Unauthorized) }
}

/// Replaces the account's open invitation with a new token of the same expiry; returns it. The
/// old token stops working. `None` when no invitation is open (the account was activated).
pub fn reissue(conn: &mut DbConnection, user_id: &str) -> Result<Option<String>, AppError> {
    write_transaction(conn, |conn| {
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
    })
}
