//! Refresh tokens. Each login starts a family; every refresh spends the presented token and issues
//! its successor in the same family. A spent token presented again means it was stolen or replayed:
//! the whole family is revoked, unless it is the retry of a refresh whose answer was lost: presented
//! again within the grace window, while its successor is still unused (RFC 9700 §4.14.2; Okta's
//! "grace period", Auth0's "reuse interval"), it gets that same successor again.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::tokens::{random_token, token_hash};
use crate::clock;
use crate::db::DbConnection;
use crate::db::schema::refresh_tokens;
use crate::error::AppError;

/// The outcome of presenting a refresh token.
pub enum Rotation {
    /// The token was live: here are its user and its successor.
    Rotated { user_id: String, refresh_token: String },
    /// Unknown, expired or revoked.
    Refused,
    /// Already spent: the family has just been revoked.
    ReuseDetected,
}

fn insert(
    conn: &mut DbConnection,
    token: String,
    user_id: &str,
    family_id: &str,
    ttl: Duration,
) -> Result<String, AppError> {
    let now = clock::now();
    let ttl = chrono::Duration::from_std(ttl).map_err(AppError::internal)?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(super::new_id()),
            refresh_tokens::token_hash.eq(token_hash(&token)),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::expires_at.eq(now + ttl),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Starts a new family (a login or an activation); returns its first refresh token.
pub fn start(conn: &mut DbConnection, user_id: &str, ttl: Duration) -> Result<String, AppError> {
    insert(conn, random_token(), user_id, &super::new_id(), ttl)
}

type TokenState = (String, String, String, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>);

fn lookup(conn: &mut DbConnection, presented: &str) -> Result<Option<TokenState>, AppError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash(presented)))
        .select((
            refresh_tokens::id,
            refresh_tokens::user_id,
            refresh_tokens::family_id,
            refresh_tokens::expires_at,
            refresh_tokens::spent_at,
            refresh_tokens::revoked_at,
        ))
        .first(conn)
        .optional()?)
}

/// How a refresh is told from a replay.
pub struct RefreshRules {
    /// The token that spending the presented one issues (`TokenKeys::successor_of`).
    pub successor: String,
    pub ttl: Duration,
    /// How long after a token was spent presenting it again counts as a retry.
    pub grace: Duration,
}

/// Spends `presented` and issues its successor. Run it in a write transaction.
pub fn rotate(conn: &mut DbConnection, presented: &str, rules: RefreshRules) -> Result<Rotation, AppError> {
    let now = clock::now();
    let Some((id, user_id, family_id, expires_at, spent_at, revoked_at)) = lookup(conn, presented)? else {
        return Ok(Rotation::Refused);
    };
    if revoked_at.is_some() || expires_at <= now {
        return Ok(Rotation::Refused);
    }
    if let Some(spent_at) = spent_at {
        return retry_or_reuse(conn, spent_at, &user_id, &family_id, &rules);
    }
    // Conditional, so of two concurrent refreshes with one token only one spends it; the other is
    // then a retry (or, after the grace window, reuse).
    let spent = diesel::update(
        refresh_tokens::table
            .find(&id)
            .filter(refresh_tokens::spent_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(now))
    .execute(conn)?;
    if spent != 1 {
        return retry_or_reuse(conn, now, &user_id, &family_id, &rules);
    }
    let refresh_token = insert(conn, rules.successor, &user_id, &family_id, rules.ttl)?;
    Ok(Rotation::Rotated { user_id, refresh_token })
}

/// A spent token presented again: within the grace window, while the successor it was spent for is
/// still live and unused, the same successor (the client never got it); otherwise the family dies.
fn retry_or_reuse(
    conn: &mut DbConnection,
    spent_at: NaiveDateTime,
    user_id: &str,
    family_id: &str,
    rules: &RefreshRules,
) -> Result<Rotation, AppError> {
    let grace = chrono::Duration::from_std(rules.grace).map_err(AppError::internal)?;
    let now = clock::now();
    if now - spent_at < grace
        && let Some((_, owner, family, expires_at, None, None)) = lookup(conn, &rules.successor)?
        && family == family_id
        && owner == user_id
        && expires_at > now
    {
        return Ok(Rotation::Rotated { user_id: owner, refresh_token: rules.successor.clone() });
    }
    revoke_family(conn, family_id)?;
    Ok(Rotation::ReuseDetected)
}

fn revoke_family(conn: &mut DbConnection, family_id: &str) -> Result<(), AppError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(clock::now()))
    .execute(conn)?;
    Ok(())
}

/// Logout: revokes the family of `presented` if it belongs to `user_id`; anything else is ignored.
pub fn end(conn: &mut DbConnection, user_id: &str, presented: &str) -> Result<(), AppError> {
    if let Some((_, owner, family_id, ..)) = lookup(conn, presented)?
        && owner == user_id
    {
        revoke_family(conn, &family_id)?;
    }
    Ok(())
}

/// Revokes every login of `user_id` (a password change or reset, a deactivation). Its refresh
/// tokens stop working at once; its access tokens are refused by `authenticate` as soon as the
/// account change that caused this is committed.
pub fn revoke_all(conn: &mut DbConnection, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::update(
        refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id)).filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(clock::now()))
    .execute(conn)?)
}

/// Erasure: deletes every refresh token of the account (not only revokes: the rows name it).
pub fn erase_user(conn: &mut DbConnection, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id))).execute(conn)?)
}
