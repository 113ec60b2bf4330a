//! Log in, refresh, log out, activate an invitation.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit;
use crate::auth::Caller;
use crate::client_addr::client_ip;
use crate::db::write_transaction;
use crate::domain::Role;
use crate::domain::credentials::{
    Activation, LoginAttempt, PresentedToken, parse_line, parse_new_password, parse_secret,
};
use crate::error::AppError;
use crate::models::invites;
use crate::models::login_throttle::{self, LoginBuckets};
use crate::models::sessions::{self, Rotation};
use crate::models::users::{self, User};
use crate::state::AppState;
use crate::validate::{Checks, checked};

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$", example = "ana@clinic.example")]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, format = Password, pattern = r"^[^\u0000]+$")]
    pub password: Option<String>,
    /// The clinic to log in to, for an address with accounts at several clinics (each has its own
    /// password). Without it: the oldest activated account of this address.
    #[schema(value_type = Option<String>, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$", example = "0b7f4c1e-3c1a-4d8e-9f10-2a6b5c4d3e2f")]
    pub clinic_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$")]
    pub refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ActivateRequest {
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$")]
    pub invite_token: Option<String>,
    /// At least 12 characters.
    #[schema(value_type = String, required = true, format = Password, min_length = 12, max_length = 512, pattern = r"^[^\u0000]*$")]
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenUser {
    pub id: String,
    pub role: Role,
    pub clinic_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Single use: exchange it at /v1/auth/refresh for a new pair.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: TokenUser,
}

fn token_pair(state: &AppState, user: &User, refresh_token: String) -> TokenPair {
    TokenPair {
        access_token: state.tokens.issue(&user.id, user.role, &user.clinic_id, Utc::now()),
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.access_ttl.as_secs(),
        user: TokenUser { id: user.id.clone(), role: user.role, clinic_id: user.clinic_id.clone() },
    }
}

// An email or token is one line without control characters; a password is a secret kept as
// typed, only NUL refused. Either way such input is a 422, never a lookup.

impl TryFrom<LoginRequest> for LoginAttempt {
    type Error = AppError;

    fn try_from(body: LoginRequest) -> Result<LoginAttempt, AppError> {
        let mut checks = Checks::new();
        let email = checks.required("email", body.email, parse_line);
        let password = checks.required("password", body.password, parse_secret);
        let clinic_id = checks.optional("clinic_id", body.clinic_id, parse_line);
        checks.finish()?;
        Ok(LoginAttempt { email: checked(email)?.trim().to_lowercase(), password: checked(password)?, clinic_id })
    }
}

impl TryFrom<RefreshRequest> for PresentedToken {
    type Error = AppError;

    fn try_from(body: RefreshRequest) -> Result<PresentedToken, AppError> {
        let mut checks = Checks::new();
        let presented = checks.required("refresh_token", body.refresh_token, parse_line);
        checks.finish()?;
        Ok(PresentedToken(checked(presented)?))
    }
}

impl TryFrom<ActivateRequest> for Activation {
    type Error = AppError;

    fn try_from(body: ActivateRequest) -> Result<Activation, AppError> {
        let mut checks = Checks::new();
        let invite_token = checks.required("invite_token", body.invite_token, parse_line);
        let password = checks.required("password", body.password, parse_new_password);
        checks.finish()?;
        Ok(Activation { invite_token: checked(invite_token)?, password: checked(password)? })
    }
}

/// Exchanges an email and password for a token pair. Any wrong email or password answers the same 401.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, response = crate::routes::problems::Unauthorized),
        (status = 429, response = crate::routes::problems::TooManyRequests),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let LoginAttempt { email, password, clinic_id } = LoginAttempt::try_from(body.into_inner())?;
    let buckets = Arc::new(LoginBuckets::new(&email, client_ip(&req, &state.settings.trusted_proxies)));

    // The same steps whether or not the account exists, so neither the answer nor its timing tells.
    // The attempt is reserved before the password is checked: a burst cannot outrun the count.
    let (user, retry_after) = reserve_login(&state, buckets.clone(), email, clinic_id).await?;
    if let Some(user) = &user {
        audit::note_actor(
            &req,
            Caller {
                user_id: user.id.clone(),
                role: user.role,
                clinic_id: user.clinic_id.clone(),
                plan_inputs_version: None,
            },
        );
    }
    if let Some(retry_after_secs) = retry_after {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let stored = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.clone());
    let matches = state.passwords.verify(password, stored).await?;
    // A failure stays counted as reserved; a success takes back its own attempt, nothing more.
    let Some(user) = user.filter(|_| matches) else { return Err(AppError::Unauthorized) };
    let ttl = state.settings.refresh_token_ttl;
    let user_id = user.id.clone();
    let refresh_token = state
        .db
        .write(move |conn| {
            login_throttle::login_succeeded(conn, &buckets)?;
            sessions::start(conn, &user_id, ttl)
        })
        .await?;
    Ok(web::Json(token_pair(&state, &user, refresh_token)))
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

/// Spends a refresh token for a new pair. A spent token presented again revokes its whole login.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the presented refresh token is spent", body = TokenPair),
        (status = 401, response = crate::routes::problems::Unauthorized),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let PresentedToken(presented) = PresentedToken::try_from(body.into_inner())?;
    let ttl = state.settings.refresh_token_ttl;
    let rotated = state
        .db
        .run(move |conn| {
            let rotation = write_transaction(conn, |conn| sessions::rotate(conn, &presented, ttl))?;
            match rotation {
                Rotation::Rotated { user_id, refresh_token } => {
                    Ok(users::find_active(conn, &user_id)?.map(|user| (user, refresh_token)))
                }
                Rotation::Refused => Ok(None),
                Rotation::ReuseDetected => {
                    tracing::warn!("a spent refresh token was presented again; its login is revoked");
                    Ok(None)
                }
            }
        })
        .await?;
    let (user, refresh_token) = rotated.ok_or(AppError::Unauthorized)?;
    Ok(web::Json(token_pair(&state, &user, refresh_token)))
}

/// Ends the login the refresh token belongs to: it and every token descended from it are revoked.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let PresentedToken(presented) = PresentedToken::try_from(body.into_inner())?;
    state.db.run(move |conn| write_transaction(conn, |conn| sessions::end(conn, &caller.user_id, &presented))).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the password of an invited account and logs it in. The invitation is spent.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = ActivateRequest,
    responses(
        (status = 200, description = "Activated and logged in", body = TokenPair),
        (status = 401, response = crate::routes::problems::Unauthorized),
        (status = 429, response = crate::routes::problems::TooManyRequests),
    )
)]
#[post("/auth/activate")]
pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ActivateRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let Activation { invite_token: invite, password } = Activation::try_from(body.into_inner())?;
    let client = login_throttle::activation_bucket(client_ip(&req, &state.settings.trusted_proxies));

    // Cheap before expensive: the attempt is counted and the invitation looked up before the
    // password is hashed, so a bogus token costs one small write and no hash.
    usable_invite(&state, client.clone(), invite.clone()).await?;
    let hash = state.passwords.hash(password).await?;
    let ttl = state.settings.refresh_token_ttl;
    let (user, refresh_token) = state
        .db
        .write(move |conn| {
            let user_id = invites::redeem(conn, &invite)?;
            users::set_password(conn, &user_id, &hash)?;
            let user = users::find_active(conn, &user_id)?.ok_or(AppError::Unauthorized)?;
            let refresh_token = sessions::start(conn, &user_id, ttl)?;
            login_throttle::succeeded(conn, &[&client])?;
            Ok((user, refresh_token))
        })
        .await?;
    Ok(web::Json(token_pair(&state, &user, refresh_token)))
}

/// Counts an activation attempt for the client (kept when the token is bogus), then checks the
/// token, then counts an attempt for the invitation (a few may hash at once, not a burst).
async fn usable_invite(state: &AppState, client: String, invite: String) -> Result<(), AppError> {
    let (window, per_client) = (state.settings.login_limits().window, state.settings.login_failures_per_client);
    state
        .db
        .write(move |conn| {
            let now = crate::clock::now();
            if let Some(retry_after_secs) = login_throttle::reserve(conn, &client, now, window, per_client)? {
                return Ok(Err(AppError::TooManyRequests { retry_after_secs }));
            }
            if invites::find_usable(conn, &invite)?.is_none() {
                return Ok(Err(AppError::Unauthorized));
            }
            let bucket = login_throttle::invite_bucket(&invite);
            match login_throttle::reserve(conn, &bucket, now, window, login_throttle::ATTEMPTS_PER_INVITE)? {
                Some(retry_after_secs) => Ok(Err(AppError::TooManyRequests { retry_after_secs })),
                None => Ok(Ok(())),
            }
        })
        .await?
}
