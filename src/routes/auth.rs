//! Log in, refresh, log out, activate an invitation.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit;
use crate::auth::Caller;
use crate::db::write_transaction;
use crate::domain::{Role, parse_line, parse_new_password, parse_secret};
use crate::error::AppError;
use crate::models::sessions::{self, Rotation};
use crate::models::users::{self, User};
use crate::models::{invites, login_throttle};
use crate::state::AppState;
use crate::validate::{Checks, checked};

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$", example = "ana@clinic.example")]
    pub email: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, format = Password, pattern = r"^[^\u0000]+$")]
    pub password: Option<String>,
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

/// An email or token is one line without control characters; a password is a secret kept as
/// typed, only NUL refused. Either way such input is a 422, never a lookup.
fn required_text(field: &str, value: Option<String>, checks: &mut Checks) -> Option<String> {
    let parse = if field == "password" { parse_secret } else { parse_line };
    checks.required(field, value, parse)
}

/// Exchanges an email and password for a token pair. Any wrong email or password answers the same 401.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 400, response = crate::routes::problems::BadRequest),
        (status = 401, response = crate::routes::problems::Unauthorized),
        (status = 422, response = crate::routes::problems::Invalid),
        (status = 429, response = crate::routes::problems::TooManyRequests),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let body = body.into_inner();
    let mut checks = Checks::new();
    let email = required_text("email", body.email, &mut checks);
    let password = required_text("password", body.password, &mut checks);
    checks.finish()?;
    let (email, password) = (checked(email)?.trim().to_lowercase(), checked(password)?);
    let client = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into());

    // The same steps whether or not the account exists, so neither the answer nor its timing tells.
    let limits = state.settings.login_limits();
    let (lookup_email, lookup_client) = (email.clone(), client.clone());
    let (user, retry_after) = state
        .db
        .run(move |conn| {
            let now = crate::clock::now();
            let retry_after = login_throttle::retry_after(conn, &lookup_email, &lookup_client, now, &limits)?;
            Ok((users::find_by_email(conn, &lookup_email)?, retry_after))
        })
        .await?;
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
    let ttl = state.settings.refresh_token_ttl;
    let window = state.settings.login_limits().window;
    let outcome = state
        .db
        .run(move |conn| {
            let now = crate::clock::now();
            match user.filter(|_| matches) {
                Some(user) => {
                    login_throttle::clear(conn, &email)?;
                    let refresh_token = sessions::start(conn, &user.id, ttl)?;
                    Ok(Some((user, refresh_token)))
                }
                None => {
                    login_throttle::record_failure(conn, &email, &client, now)?;
                    if rand::random::<u8>() == 0 {
                        login_throttle::expire(conn, now, window)?;
                    }
                    Ok(None)
                }
            }
        })
        .await?;
    let (user, refresh_token) = outcome.ok_or(AppError::Unauthorized)?;
    Ok(web::Json(token_pair(&state, &user, refresh_token)))
}

/// Spends a refresh token for a new pair. A spent token presented again revokes its whole login.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the presented refresh token is spent", body = TokenPair),
        (status = 400, response = crate::routes::problems::BadRequest),
        (status = 401, response = crate::routes::problems::Unauthorized),
        (status = 422, response = crate::routes::problems::Invalid),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let mut checks = Checks::new();
    let presented = required_text("refresh_token", body.into_inner().refresh_token, &mut checks);
    checks.finish()?;
    let presented = checked(presented)?;
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
        (status = 400, response = crate::routes::problems::BadRequest),
        (status = 401, response = crate::routes::problems::Unauthorized),
        (status = 422, response = crate::routes::problems::Invalid),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let mut checks = Checks::new();
    let presented = required_text("refresh_token", body.into_inner().refresh_token, &mut checks);
    checks.finish()?;
    let presented = checked(presented)?;
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
        (status = 400, response = crate::routes::problems::BadRequest),
        (status = 401, response = crate::routes::problems::Unauthorized),
        (status = 422, response = crate::routes::problems::Invalid),
    )
)]
#[post("/auth/activate")]
pub async fn activate(
    state: web::Data<AppState>,
    body: web::Json<ActivateRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let body = body.into_inner();
    let mut checks = Checks::new();
    let invite = required_text("invite_token", body.invite_token, &mut checks);
    let password = checks.required("password", body.password, parse_new_password);
    checks.finish()?;
    let (invite, password) = (checked(invite)?, checked(password)?);

    let hash = state.passwords.hash(password).await?;
    let ttl = state.settings.refresh_token_ttl;
    let (user, refresh_token) = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let user_id = invites::redeem(conn, &invite)?;
                users::set_password(conn, &user_id, &hash)?;
                let user = users::find_active(conn, &user_id)?.ok_or(AppError::Unauthorized)?;
                let refresh_token = sessions::start(conn, &user_id, ttl)?;
                Ok((user, refresh_token))
            })
        })
        .await?;
    Ok(web::Json(token_pair(&state, &user, refresh_token)))
}
