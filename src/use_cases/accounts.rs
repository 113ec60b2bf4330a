//! Logging in, refreshing and ending a login, activating an invitation, and the caller's own
//! account. Every way in ends with the same tokens issued.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;

use crate::auth::Caller;
use crate::db::DbConnection;
use crate::domain::Role;
use crate::domain::credentials::{Activation, LoginAttempt, PresentedToken};
use crate::error::AppError;
use crate::models::invites::{self, Purpose};
use crate::models::login_throttle::{self, LoginBuckets};
use crate::models::patients::{self, PatientRecord};
use crate::models::sessions::{self, RefreshRules, Rotation};
use crate::models::users::{self, User};
use crate::state::{AppState, SharedState};

/// What a login hands out: a short-lived access token and a single-use refresh token.
pub struct IssuedTokens {
    pub user: User,
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

pub(crate) fn issue_tokens(state: &AppState, user: User, refresh_token: String) -> IssuedTokens {
    IssuedTokens {
        access_token: state.tokens.issue(&user, Utc::now()),
        refresh_token,
        expires_in: state.tokens.access_ttl.as_secs(),
        user,
    }
}

/// Exchanges an email and password for tokens. Any wrong email or password is the same 401.
/// `note_actor` is told the account as soon as it is found, whatever the outcome, so the audit
/// log can name who tried.
pub async fn log_in(
    state: &SharedState,
    attempt: LoginAttempt,
    client: Option<IpAddr>,
    note_actor: impl FnOnce(Caller),
) -> Result<IssuedTokens, AppError> {
    let ttl = state.settings.refresh_token_ttl;
    let (user, refresh_token) =
        log_in_with(state, attempt, client, note_actor, move |conn, user| sessions::start(conn, &user.id, ttl)).await?;
    Ok(issue_tokens(state, user, refresh_token))
}

/// The login of `log_in`, with the throttling and the password check, ending in `start` (run in
/// the write that records the success) instead of a refresh token: the console starts its browser
/// session this way (`console::session`).
pub async fn log_in_with<T: Send + 'static>(
    state: &SharedState,
    attempt: LoginAttempt,
    client: Option<IpAddr>,
    note_actor: impl FnOnce(Caller),
    start: impl FnOnce(&mut DbConnection, &User) -> Result<T, AppError> + Send + 'static,
) -> Result<(User, T), AppError> {
    let LoginAttempt { email, password, clinic_id } = attempt;
    let buckets = Arc::new(LoginBuckets::new(&email, client));

    // The same steps whether or not the account exists, so neither the answer nor its timing tells.
    // The attempt is reserved before the password is checked: a burst cannot outrun the count.
    let (user, retry_after) = reserve_login(state, buckets.clone(), email, clinic_id).await?;
    if let Some(user) = &user {
        note_actor(Caller {
            user_id: user.id.clone(),
            role: user.role,
            clinic_id: user.clinic_id.clone(),
            plan_inputs_version: None,
        });
    }
    if let Some(retry_after_secs) = retry_after {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let stored = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.clone());
    let matches = state.passwords.verify(password, stored).await?;
    // A failure stays counted as reserved; a success takes back its own attempt, nothing more.
    let Some(user) = user.filter(|_| matches) else { return Err(AppError::Unauthorized) };
    let started = user.clone();
    let session = state
        .db
        .write(move |conn| {
            login_throttle::login_succeeded(conn, &buckets)?;
            start(conn, &started)
        })
        .await?;
    Ok((user, session))
}

/// Reserves a login attempt (or learns how long to wait) and finds the account, in one write.
async fn reserve_login(
    state: &AppState,
    buckets: Arc<LoginBuckets>,
    email: String,
    clinic_id: Option<String>,
) -> Result<(Option<User>, Option<u64>), AppError> {
    let limits = state.settings.login_limits();
    state
        .db
        .write(move |conn| {
            let now = crate::clock::now();
            let retry_after = login_throttle::reserve_login(conn, &buckets, now, &limits)?;
            if rand::random::<u8>() == 0 {
                login_throttle::expire(conn, now, limits.window)?;
            }
            Ok((users::find_for_login(conn, &email, clinic_id.as_deref())?, retry_after))
        })
        .await
}

/// Spends a refresh token for new tokens. A spent token presented again revokes its whole login,
/// unless it is a retry within `REFRESH_RETRY_GRACE_SECONDS` (see `models::sessions`).
pub async fn refresh(state: &SharedState, presented: PresentedToken) -> Result<IssuedTokens, AppError> {
    let PresentedToken(presented) = presented;
    let rules = RefreshRules {
        successor: state.tokens.successor_of(&presented),
        ttl: state.settings.refresh_token_ttl,
        grace: state.settings.refresh_retry_grace,
    };
    // Every refusal is `Ok(None)` inside the write and becomes the 401 only after it: revoking
    // the login of a replayed token must commit, not roll back with an error.
    let rotated = state
        .db
        .write(move |conn| match sessions::rotate(conn, &presented, rules)? {
            Rotation::Rotated { user_id, refresh_token } => {
                Ok(users::find_active(conn, &user_id)?.map(|user| (user, refresh_token)))
            }
            Rotation::Refused => Ok(None),
            Rotation::ReuseDetected => {
                tracing::warn!("a spent refresh token was presented again; its login is revoked");
                Ok(None)
            }
        })
        .await?;
    let (user, refresh_token) = rotated.ok_or(AppError::Unauthorized)?;
    Ok(issue_tokens(state, user, refresh_token))
}

/// Ends the login the refresh token belongs to: it and every token descended from it are revoked.
/// A token that is not the caller's is ignored.
pub async fn log_out(state: &SharedState, caller: Caller, presented: PresentedToken) -> Result<(), AppError> {
    let PresentedToken(presented) = presented;
    state.db.write(move |conn| sessions::end(conn, &caller.user_id, &presented)).await
}

/// Sets the password of an invited account and logs it in. The invitation is spent.
pub async fn activate(
    state: &SharedState,
    activation: Activation,
    client: Option<IpAddr>,
) -> Result<IssuedTokens, AppError> {
    let Activation { invite_token, password } = activation;
    set_password_by_token(state, Purpose::Invitation, invite_token, password, client).await
}

/// Spends a one-time token of `purpose` (an invitation, a password reset), sets the password of its
/// account, and logs it in. Every other login of the account ends, and its older access tokens stop
/// working: whoever knew the old password is out.
pub(crate) async fn set_password_by_token(
    state: &SharedState,
    purpose: Purpose,
    token: String,
    password: String,
    client: Option<IpAddr>,
) -> Result<IssuedTokens, AppError> {
    let client = login_throttle::activation_bucket(client);

    // Cheap before expensive: the attempt is counted and the token looked up before the password
    // is hashed, so a bogus token costs one small write and no hash.
    usable_token(state, client.clone(), purpose, token.clone()).await?;
    let hash = state.passwords.hash(password).await?;
    let ttl = state.settings.refresh_token_ttl;
    let (user, refresh_token) = state
        .db
        .write(move |conn| {
            let user_id = invites::redeem(conn, &token, purpose)?;
            users::set_password(conn, &user_id, &hash)?;
            sessions::revoke_all(conn, &user_id)?;
            users::end_access_tokens(conn, &user_id)?;
            let user = users::find_active(conn, &user_id)?.ok_or(AppError::Unauthorized)?;
            if purpose == Purpose::PasswordReset {
                super::passwords::tell_of_change(conn, &user)?;
            }
            let refresh_token = sessions::start(conn, &user_id, ttl)?;
            login_throttle::succeeded(conn, &[&client])?;
            Ok((user, refresh_token))
        })
        .await?;
    Ok(issue_tokens(state, user, refresh_token))
}

/// Counts an attempt for the client (kept when the token is bogus), then checks the token, then
/// counts an attempt for the token (a few may hash at once, not a burst).
async fn usable_token(state: &AppState, client: String, purpose: Purpose, token: String) -> Result<(), AppError> {
    let (window, per_client) = (state.settings.login_limits().window, state.settings.login_failures_per_client);
    state
        .db
        .write(move |conn| {
            let now = crate::clock::now();
            if let Some(retry_after_secs) = login_throttle::reserve(conn, &client, now, window, per_client)? {
                return Ok(Err(AppError::TooManyRequests { retry_after_secs }));
            }
            if invites::find_usable(conn, &token, purpose)?.is_none() {
                return Ok(Err(AppError::Unauthorized));
            }
            let bucket = login_throttle::invite_bucket(&token);
            match login_throttle::reserve(conn, &bucket, now, window, login_throttle::ATTEMPTS_PER_INVITE)? {
                Some(retry_after_secs) => Ok(Err(AppError::TooManyRequests { retry_after_secs })),
                None => Ok(Ok(())),
            }
        })
        .await?
}

/// The caller's account, with the patient profile when the caller is a patient.
pub struct OwnAccount {
    pub user: User,
    pub patient: Option<PatientRecord>,
}

pub async fn own_account(state: &SharedState, caller: Caller) -> Result<OwnAccount, AppError> {
    state
        .db
        .run(move |conn| {
            let user = users::me(conn, &caller)?;
            let patient = match caller.role {
                Role::Patient => Some(patients::get(conn, &caller, &caller.user_id)?),
                _ => None,
            };
            Ok(OwnAccount { user, patient })
        })
        .await
}
