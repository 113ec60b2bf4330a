//! Log in, refresh, log out, activate an invitation.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit;
use crate::auth::Caller;
use crate::client_addr::client_ip;
use crate::domain::Role;
use crate::domain::credentials::{
    Activation, LoginAttempt, PasswordChange, PasswordReset, PresentedToken, ResetRequest, parse_line,
    parse_new_password, parse_secret,
};
use crate::error::AppError;
use crate::state::AppState;
use crate::use_cases::accounts::{self, IssuedTokens};
use crate::use_cases::passwords;
use crate::validate::{Checks, checked};

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "ana.souza@clinic.example", "password": "correct horse battery staple"}))]
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
#[schema(example = json!({"refresh_token": "q3Jx7aP0c9vQm2LrT8sWbN4eK1uYdZ6hG5fXo0iAjEk"}))]
pub struct RefreshRequest {
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$")]
    pub refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "invite_token": "Vb8nR2kLq5wT0yHc3mXz7pJd9sFa1gUe4oIiQ6rNtYw",
    "password": "four sunny lemons on the sill"
}))]
pub struct ActivateRequest {
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$")]
    pub invite_token: Option<String>,
    /// At least 12 characters.
    #[schema(value_type = String, required = true, format = Password, min_length = 12, max_length = 512, pattern = r"^[^\u0000]*$")]
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "current_password": "four sunny lemons on the sill",
    "new_password": "seven quiet herons by the weir"
}))]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, required = true, min_length = 1, format = Password, pattern = r"^[^\u0000]+$")]
    pub current_password: Option<String>,
    /// At least 12 characters.
    #[schema(value_type = String, required = true, format = Password, min_length = 12, max_length = 512, pattern = r"^[^\u0000]*$")]
    pub new_password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "maria.lopez@example.com"}))]
pub struct PasswordResetRequest {
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$", example = "maria.lopez@example.com")]
    pub email: Option<String>,
    /// For an address with accounts at several clinics: which one. Without it, the oldest
    /// activated account of this address (as at login).
    #[schema(value_type = Option<String>, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$", example = "0b7f4c1e-3c1a-4d8e-9f10-2a6b5c4d3e2f")]
    pub clinic_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "token": "Vb8nR2kLq5wT0yHc3mXz7pJd9sFa1gUe4oIiQ6rNtYw",
    "password": "seven quiet herons by the weir"
}))]
pub struct ResetPasswordRequest {
    /// The token of the reset link (after `#token=`).
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$")]
    pub token: Option<String>,
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

impl From<IssuedTokens> for TokenPair {
    fn from(issued: IssuedTokens) -> TokenPair {
        let IssuedTokens { user, access_token, refresh_token, expires_in } = issued;
        TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer".into(),
            expires_in,
            user: TokenUser { id: user.id, role: user.role, clinic_id: user.clinic_id },
        }
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

impl TryFrom<ChangePasswordRequest> for PasswordChange {
    type Error = AppError;

    fn try_from(body: ChangePasswordRequest) -> Result<PasswordChange, AppError> {
        let mut checks = Checks::new();
        let current = checks.required("current_password", body.current_password, parse_secret);
        let new = checks.required("new_password", body.new_password, parse_new_password);
        checks.finish()?;
        Ok(PasswordChange { current: checked(current)?, new: checked(new)? })
    }
}

impl TryFrom<PasswordResetRequest> for ResetRequest {
    type Error = AppError;

    fn try_from(body: PasswordResetRequest) -> Result<ResetRequest, AppError> {
        let mut checks = Checks::new();
        let email = checks.required("email", body.email, parse_line);
        let clinic_id = checks.optional("clinic_id", body.clinic_id, parse_line);
        checks.finish()?;
        Ok(ResetRequest { email: checked(email)?.trim().to_lowercase(), clinic_id })
    }
}

impl TryFrom<ResetPasswordRequest> for PasswordReset {
    type Error = AppError;

    fn try_from(body: ResetPasswordRequest) -> Result<PasswordReset, AppError> {
        let mut checks = Checks::new();
        let token = checks.required("token", body.token, parse_line);
        let password = checks.required("password", body.password, parse_new_password);
        checks.finish()?;
        Ok(PasswordReset { token: checked(token)?, password: checked(password)? })
    }
}

/// Exchanges an email and password for a token pair. Any wrong email or password answers the same 401.
///
/// Open to anyone: no access token is needed. An unknown address, a wrong password, an account not
/// yet activated or deactivated, and a `clinic_id` where the address has no account all answer the
/// same 401. Failed attempts are counted per account and client address together, per account and
/// per client address; past a limit the answer is 429 with `Retry-After` (seconds to wait), even
/// for the right password. An address with accounts at several clinics picks one with `clinic_id`.
#[utoipa::path(
    operation_id = "logIn",
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
    let attempt = LoginAttempt::try_from(body.into_inner())?;
    let client = client_ip(&req, &state.settings.trusted_proxies);
    let issued = accounts::log_in(&state, attempt, client, |actor| audit::note_actor(&req, actor)).await?;
    Ok(web::Json(issued.into()))
}

/// Spends a refresh token for a new pair. A spent token presented again revokes its whole login.
///
/// Open to anyone holding a refresh token: no access token is needed. Keep the new pair; the
/// presented refresh token is spent. A refresh whose answer was lost may be retried with the same
/// token within the server's grace window (30 s by default) while the new refresh token is unused:
/// the retry gets that same refresh token again. An unknown, expired or revoked token, or one of a
/// deactivated account, answers 401: log in again. A spent token presented later, or after its
/// successor was used, also revokes every refresh token of the same login.
#[utoipa::path(
    operation_id = "refreshTokens",
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
    let presented = PresentedToken::try_from(body.into_inner())?;
    let issued = accounts::refresh(&state, presented).await?;
    Ok(web::Json(issued.into()))
}

/// Ends the login the refresh token belongs to: it and every token descended from it are revoked.
///
/// Any logged-in user, with their access token in `Authorization`, for a refresh token of their own
/// login. The answer is 204 whether or not the refresh token was still valid; one that belongs to
/// another account is ignored. Access tokens already issued stay valid until they expire (15
/// minutes by default), so the app should also forget its access token.
#[utoipa::path(
    operation_id = "logOut",
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
    let presented = PresentedToken::try_from(body.into_inner())?;
    accounts::log_out(&state, caller, presented).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the password of an invited account and logs it in. The invitation is spent.
///
/// Open to anyone holding an invitation token (from creating a patient or inviting staff): no
/// access token is needed. An unknown, expired or already used invitation answers 401; a password
/// shorter than 12 or longer than 512 characters, 422. Attempts are throttled per client address
/// and per invitation: the answer is then 429 with `Retry-After`, the seconds to wait.
#[utoipa::path(
    operation_id = "activateAccount",
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
    let activation = Activation::try_from(body.into_inner())?;
    let client = client_ip(&req, &state.settings.trusted_proxies);
    let issued = accounts::activate(&state, activation, client).await?;
    Ok(web::Json(issued.into()))
}

/// Changes the caller's password; every login of the account ends and this device gets a new pair.
///
/// Any logged-in user, with their access token in `Authorization` and their current password in
/// the body. A wrong `current_password` answers 422 naming it; wrong guesses are throttled per
/// account (429 with `Retry-After`). On success every refresh token of the account is revoked and
/// access tokens issued before the change stop working, so other devices must log in again; the
/// answer is a fresh pair for this one, and the account's address is told by e-mail. A new
/// password shorter than 12 or longer than 512 characters answers 422.
#[utoipa::path(
    operation_id = "changePassword",
    tag = "auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; a new pair for this device", body = TokenPair),
        (status = 429, response = crate::routes::problems::TooManyRequests),
    )
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ChangePasswordRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let change = PasswordChange::try_from(body.into_inner())?;
    let issued = passwords::change(&state, caller, change).await?;
    Ok(web::Json(issued.into()))
}

/// Asks for a password reset link by e-mail. The answer is the same whether or not the address has an account.
///
/// Open to anyone: no access token is needed. When the address names an active account, an e-mail
/// with a single-use link (valid one hour by default) goes to it; requesting again withdraws the
/// earlier link, and past a few requests per account in the window no further message is sent.
/// The answer is 202 either way, so it tells nobody whether an address is registered. A client
/// asking too often gets 429 with `Retry-After`.
#[utoipa::path(
    operation_id = "requestPasswordReset",
    tag = "auth",
    security(()),
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a reset link is on its way"),
        (status = 429, response = crate::routes::problems::TooManyRequests),
    )
)]
#[post("/auth/password-reset")]
pub async fn request_password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<PasswordResetRequest>,
) -> Result<HttpResponse, AppError> {
    let request = ResetRequest::try_from(body.into_inner())?;
    let client = client_ip(&req, &state.settings.trusted_proxies);
    passwords::request_reset(&state, request, client).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Sets a new password with the token of a reset e-mail, and logs in.
///
/// Open to anyone holding a reset token: no access token is needed. The token is spent; every other
/// login of the account ends and its older access tokens stop working; the address is told by
/// e-mail. An unknown, expired or already used token answers 401; a password shorter than 12 or
/// longer than 512 characters, 422. Attempts are throttled per client address and per token (429
/// with `Retry-After`).
#[utoipa::path(
    operation_id = "resetPassword",
    tag = "auth",
    security(()),
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password set and logged in", body = TokenPair),
        (status = 401, response = crate::routes::problems::Unauthorized),
        (status = 429, response = crate::routes::problems::TooManyRequests),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn reset_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ResetPasswordRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let reset = PasswordReset::try_from(body.into_inner())?;
    let client = client_ip(&req, &state.settings.trusted_proxies);
    let issued = passwords::reset(&state, reset, client).await?;
    Ok(web::Json(issued.into()))
}
