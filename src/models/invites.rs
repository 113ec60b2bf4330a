//! One-time tokens that let an account set its password: invitations (a new account) and password
//! resets (a forgotten one). Each is stored as a hash; each purpose redeems only its own tokens.
//!
//! A token is derived from a random nonce under the server's secret (`TokenKeys::mailed_token`):
//! the e-mail that carries it is composed from the nonce when it is sent, so neither the outbox nor
//! this table ever holds a usable token.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::tokens::{TokenKeys, random_token, token_hash};
use crate::clock;
use crate::db::DbConnection;
use crate::db::schema::invites;
use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

/// A token just issued: the token itself (shown or mailed once) and the nonce it derives from.
pub struct Issued {
    pub token: String,
    pub nonce: String,
    pub expires_at: NaiveDateTime,
}

/// Issues a token of `purpose` for `user_id`, withdrawing the account's open ones of that purpose
/// (an older invitation or reset link stops working). Run it inside the caller's write transaction.
pub fn issue(
    conn: &mut DbConnection,
    keys: &TokenKeys,
    user_id: &str,
    purpose: Purpose,
    ttl: Duration,
) -> Result<Issued, AppError> {
    let now = clock::now();
    let expires_at = now + chrono::Duration::from_std(ttl).map_err(AppError::internal)?;
    withdraw(conn, user_id, purpose)?;
    let nonce = super::new_id();
    let token = keys.mailed_token(&nonce);
    diesel::insert_into(invites::table)
        .values((
            invites::token_hash.eq(token_hash(&token)),
            invites::user_id.eq(user_id),
            invites::expires_at.eq(expires_at),
            invites::created_at.eq(now),
            invites::purpose.eq(purpose.as_str()),
            invites::nonce.eq(&nonce),
        ))
        .execute(conn)?;
    Ok(Issued { token, nonce, expires_at })
}

/// Withdraws the account's open tokens of `purpose`.
fn withdraw(conn: &mut DbConnection, user_id: &str, purpose: Purpose) -> Result<usize, AppError> {
    Ok(diesel::delete(
        invites::table
            .filter(invites::user_id.eq(user_id))
            .filter(invites::purpose.eq(purpose.as_str()))
            .filter(invites::used_at.is_null()),
    )
    .execute(conn)?)
}

/// The account a token of `purpose` is for, if it is one, unspent and unexpired. One lookup by the
/// token's hash: check it before anything expensive (a password hash) is done for a request.
pub fn find_usable(conn: &mut DbConnection, token: &str, purpose: Purpose) -> Result<Option<String>, AppError> {
    let found: Option<(String, NaiveDateTime)> = invites::table
        .find(token_hash(token))
        .filter(invites::used_at.is_null())
        .filter(invites::purpose.eq(purpose.as_str()))
        .select((invites::user_id, invites::expires_at))
        .first(conn)
        .optional()?;
    Ok(found.filter(|(_, expires_at)| *expires_at > clock::now()).map(|(user_id, _)| user_id))
}

/// Spends a token; returns its user id. Unknown, spent and expired tokens are all 401. Every other
/// open token of the account (an invitation beside a reset) is spent too: the password is set.
pub fn redeem(conn: &mut DbConnection, token: &str, purpose: Purpose) -> Result<String, AppError> {
    let user_id = find_usable(conn, token, purpose)?.ok_or(AppError::Unauthorized)?;
    // Conditional on still being unused, so two concurrent redemptions cannot both succeed.
    let spent = diesel::update(invites::table.find(token_hash(token)).filter(invites::used_at.is_null()))
        .set(invites::used_at.eq(clock::now()))
        .execute(conn)?;
    if spent != 1 {
        return Err(AppError::Unauthorized);
    }
    withdraw_all(conn, &user_id)?;
    Ok(user_id)
}

/// Withdraws every open token of the account (its password is set, or it is being deactivated).
pub fn withdraw_all(conn: &mut DbConnection, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(invites::table.filter(invites::user_id.eq(user_id)).filter(invites::used_at.is_null()))
        .execute(conn)?)
}

/// The account's open invitation token again, for the replay of the request that created it: the
/// same token the invitation e-mail carries, derived again from its nonce. An invitation from before
/// tokens were derived is replaced by a new token of the same expiry. `None` when no invitation is
/// open (the account was activated). Run it inside the caller's write transaction.
pub fn current_invitation(
    conn: &mut DbConnection,
    keys: &TokenKeys,
    user_id: &str,
) -> Result<Option<String>, AppError> {
    let open: Vec<(Option<String>, NaiveDateTime)> = invites::table
        .filter(invites::user_id.eq(user_id))
        .filter(invites::purpose.eq(Purpose::Invitation.as_str()))
        .filter(invites::used_at.is_null())
        .select((invites::nonce, invites::expires_at))
        .load(conn)?;
    if let Some(nonce) = open.iter().find_map(|(nonce, _)| nonce.clone()) {
        return Ok(Some(keys.mailed_token(&nonce)));
    }
    let Some(expires_at) = open.into_iter().map(|(_, expires_at)| expires_at).max() else { return Ok(None) };
    withdraw(conn, user_id, Purpose::Invitation)?;
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

/// Erasure: deletes every invitation of the account, used or not.
pub fn erase_user(conn: &mut DbConnection, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(invites::table.filter(invites::user_id.eq(user_id))).execute(conn)?)
}
