//! Refresh tokens. Each login starts a family; every refresh spends the presented token and issues
//! its successor in the same family. A spent token presented again means it was stolen or replayed:
//! the whole family is revoked.

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

fn insert(conn: &mut DbConnection, user_id: &str, family_id: &str, ttl: Duration) -> Result<String, AppError> {
    let token = random_token();
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
    insert(conn, user_id, &super::new_id(), ttl)
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

/// Spends `presented` and issues its successor. Run it in a write transaction.
pub fn rotate(conn: &mut DbConnection, presented: &str, ttl: Duration) -> Result<Rotation, AppError> {
    let now = clock::now();
    let Some((id, user_id, family_id, expires_at, spent_at, revoked_at)) = lookup(conn, presented)? else {
        return Ok(Rotation::Refused);
    };
    if revoked_at.is_some() || expires_at <= now {
        return Ok(Rotation::Refused);
    }
    if spent_at.is_some() {
        revoke_family(conn, &family_id)?;
        return Ok(Rotation::ReuseDetected);
    }
    // Conditional, so of two concurrent refreshes with one token only one wins; the other is reuse.
    let spent = diesel::update(
        refresh_tokens::table
            .find(&id)
            .filter(refresh_tokens::spent_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(now))
    .execute(conn)?;
    if spent != 1 {
        revoke_family(conn, &family_id)?;
        return Ok(Rotation::ReuseDetected);
    }
    let refresh_token = insert(conn, &user_id, &family_id, ttl)?;
    Ok(Rotation::Rotated { user_id, refresh_token })
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
