//! Passwords after activation: changing one's own, and resetting a forgotten one by e-mail.

use std::net::IpAddr;

use crate::auth::Caller;
use crate::db::DbConnection;
use crate::domain::credentials::{PasswordChange, PasswordReset, ResetRequest};
use crate::error::AppError;
use crate::mail::Letter;
use crate::models::invites::{self, Purpose};
use crate::models::login_throttle;
use crate::models::outbox::{self, NewMessage};
use crate::models::reset_requests::{self, ResetRequested};
use crate::models::sessions;
use crate::models::users::{self, User};
use crate::state::{AppState, SharedState};
use crate::use_cases::accounts::{self, IssuedTokens};

/// Changes the caller's password. The current one must be given (a stolen access token alone cannot
/// take the account over); wrong guesses are throttled like logins. Every login of the account ends,
/// this one included, and the answer is a fresh pair for this device; a notice goes by e-mail.
pub async fn change(state: &SharedState, caller: Caller, change: PasswordChange) -> Result<IssuedTokens, AppError> {
    let PasswordChange { current, new } = change;
    let limits = state.settings.login_limits();
    let bucket = login_throttle::password_change_bucket(&caller.user_id);
    let (user_id, attempt) = (caller.user_id.clone(), bucket.clone());
    let user = state
        .db
        .write(move |conn| {
            let now = crate::clock::now();
            if let Some(retry_after_secs) =
                login_throttle::reserve(conn, &attempt, now, limits.window, limits.free_per_pair)?
            {
                return Err(AppError::TooManyRequests { retry_after_secs });
            }
            users::find_active(conn, &user_id)?.ok_or(AppError::Unauthorized)
        })
        .await?;
    if !state.passwords.verify(current, user.password_hash.clone()).await? {
        return Err(AppError::invalid("current_password", "is not the account's password"));
    }
    let hash = state.passwords.hash(new).await?;
    let ttl = state.settings.refresh_token_ttl;
    let refresh_token = state
        .db
        .write(move |conn| {
            // The current password was checked against the account as read before hashing: if a
            // reset, another change or a deactivation landed since, that check no longer holds.
            if !users::change_password_if_unchanged(conn, &user.id, &hash, user.credentials_version)? {
                return Err(AppError::Unauthorized);
            }
            sessions::revoke_all(conn, &user.id)?;
            tell_of_change(conn, &user)?;
            login_throttle::succeeded(conn, &[&bucket])?;
            let user = users::find_active(conn, &user.id)?.ok_or(AppError::Unauthorized)?;
            Ok((sessions::start(conn, &user.id, ttl)?, user))
        })
        .await?;
    let (refresh_token, user) = refresh_token;
    Ok(accounts::issue_tokens(state, user, refresh_token))
}

/// Writes the e-mail that tells an account its password was changed.
pub(crate) fn tell_of_change(conn: &mut DbConnection, user: &User) -> Result<(), AppError> {
    let language = crate::models::patients::preferred_language_of(conn, &user.id)?;
    outbox::enqueue(
        conn,
        NewMessage {
            clinic_id: &user.clinic_id,
            recipient_user_id: &user.id,
            recipient: &user.email,
            letter: Letter::PasswordChanged { name: user.name.clone(), language },
        },
    )?;
    Ok(())
}

/// "I forgot my password." The request is written down and answered at once, the same for every
/// address: the client's rate is counted and one row inserted, nothing more, so neither the answer
/// nor its timing says whether the address has an account. The delivery worker answers it
/// (`answer_reset_request`). A client asking too often is told to wait, which says nothing about
/// any account.
pub async fn request_reset(state: &SharedState, request: ResetRequest, client: Option<IpAddr>) -> Result<(), AppError> {
    let ResetRequest { email, clinic_id } = request;
    let limits = state.settings.login_limits();
    let client_bucket = login_throttle::reset_client_bucket(client);
    state
        .db
        .write(move |conn| {
            let now = crate::clock::now();
            if let Some(retry_after_secs) =
                login_throttle::reserve(conn, &client_bucket, now, limits.window, limits.per_client)?
            {
                return Err(AppError::TooManyRequests { retry_after_secs });
            }
            reset_requests::record(conn, &email, clinic_id.as_deref())
        })
        .await
}

/// Answers a reset request the worker took: when the address names an active account, a reset link
/// goes to it by e-mail (at most `PASSWORD_RESETS_PER_ACCOUNT` per window; more requests send
/// nothing more). Run it in the transaction that took the request.
pub(crate) fn answer_reset_request(
    conn: &mut DbConnection,
    state: &AppState,
    request: ResetRequested,
) -> Result<(), AppError> {
    let Some(user) = users::find_for_login(conn, &request.email, request.clinic_id.as_deref())?.filter(|u| u.active)
    else {
        return Ok(());
    };
    if !users::hold_if_active(conn, &user.id)? {
        return Ok(()); // erased or deactivated while this request waited
    }
    let (window, per_account) = (state.settings.login_limits().window, state.settings.password_resets_per_account);
    let account_bucket = login_throttle::reset_bucket(&user.id);
    if login_throttle::reserve(conn, &account_bucket, crate::clock::now(), window, per_account)?.is_some() {
        tracing::info!(user = %user.id, "password reset not sent: too many for this account");
        return Ok(());
    }
    let issued =
        invites::issue(conn, &state.tokens, &user.id, Purpose::PasswordReset, state.settings.password_reset_ttl)?;
    let language = crate::models::patients::preferred_language_of(conn, &user.id)?;
    outbox::enqueue(
        conn,
        NewMessage {
            clinic_id: &user.clinic_id,
            recipient_user_id: &user.id,
            recipient: &user.email,
            letter: Letter::PasswordReset { name: user.name.clone(), nonce: issued.nonce, language },
        },
    )?;
    Ok(())
}

/// Sets a new password with the token from a reset e-mail, and logs in.
pub async fn reset(
    state: &SharedState,
    reset: PasswordReset,
    client: Option<IpAddr>,
) -> Result<IssuedTokens, AppError> {
    let PasswordReset { token, password } = reset;
    accounts::set_password_by_token(state, Purpose::PasswordReset, token, password, client).await
}
