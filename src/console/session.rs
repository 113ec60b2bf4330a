//! The console's browser sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure
//! outside localhost), its SHA-256 in `console_sessions`, a synchronizer CSRF token per session,
//! an idle timeout and an absolute lifetime. Logging in goes through the API's own login
//! (`use_cases::accounts::log_in_with`: the same throttling and password check); "log out
//! everywhere" also revokes the account's refresh tokens and access tokens.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::auth::tokens::{random_token, token_hash};
use crate::db::DbConnection;
use crate::db::schema::console_sessions;
use crate::domain::Role;
use crate::domain::credentials::LoginAttempt;
use crate::error::AppError;
use crate::models::{sessions, users};
use crate::state::{AppState, SharedState};

use super::ConsoleError;

/// The session cookie.
pub const COOKIE: &str = "aftercare_console";
/// The login form's own CSRF token (double submit: there is no session yet to tie it to).
pub const LOGIN_COOKIE: &str = "aftercare_console_login";
/// A session unused this long is over.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after login however busy it is.
pub const MAX_LIFETIME: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often (each write is a transaction).
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// Requests the page's script makes on its own (polling) carry this header: they do not count as
/// activity, so a console left open still times out.
pub const BACKGROUND_HEADER: &str = "x-console-background";

/// A logged-in staff member of the console.
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    pub id: String,
    pub caller: Caller,
    pub name: String,
    pub csrf_token: String,
}

impl ConsoleSession {
    pub fn is_admin(&self) -> bool {
        self.caller.role == Role::Admin
    }

    /// Refuses a form whose CSRF token is not this session's (403).
    pub fn check_csrf(&self, presented: &str) -> Result<(), ConsoleError> {
        if constant_time_eq(presented.as_bytes(), self.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = console_sessions)]
struct SessionRow {
    id: String,
    user_id: String,
    csrf_token: String,
    credentials_version: i64,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

// Queries (run inside the writes and reads below).

fn insert(conn: &mut DbConnection, user: &users::User) -> Result<String, AppError> {
    let token = random_token();
    let now = crate::clock::now();
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::id.eq(crate::models::new_id()),
            console_sessions::token_hash.eq(token_hash(&token)),
            console_sessions::user_id.eq(&user.id),
            console_sessions::csrf_token.eq(random_token()),
            console_sessions::credentials_version.eq(user.credentials_version),
            console_sessions::created_at.eq(now),
            console_sessions::last_seen_at.eq(now),
            console_sessions::expires_at.eq(now + MAX_LIFETIME),
        ))
        .execute(conn)?;
    Ok(token)
}

fn find(conn: &mut DbConnection, token: &str) -> Result<Option<SessionRow>, AppError> {
    Ok(console_sessions::table
        .filter(console_sessions::token_hash.eq(token_hash(token)))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

fn delete_by_token(conn: &mut DbConnection, token: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(console_sessions::table.filter(console_sessions::token_hash.eq(token_hash(token))))
        .execute(conn)?)
}

fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(console_sessions::table.filter(console_sessions::user_id.eq(user_id))).execute(conn)?)
}

fn touch(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(console_sessions::table.find(id)).set(console_sessions::last_seen_at.eq(now)).execute(conn)?;
    Ok(())
}

// What the console does with them.

/// Logs a staff member in: the API's login (throttled, same 401 for any wrong e-mail or
/// password), then a console session instead of a refresh token. A patient account gets 403.
pub async fn log_in(
    state: &SharedState,
    attempt: LoginAttempt,
    client: Option<std::net::IpAddr>,
    note_actor: impl FnOnce(Caller),
) -> Result<String, AppError> {
    let (_, token) = crate::use_cases::accounts::log_in_with(state, attempt, client, note_actor, |conn, user| {
        if !user.role.is_staff() {
            return Err(AppError::Forbidden);
        }
        insert(conn, user)
    })
    .await?;
    Ok(token)
}

/// The session a cookie names, if it is live: not idle too long, not past its lifetime, its
/// account active with the same credentials. A dead session's row is removed.
pub async fn authenticate(state: &SharedState, token: String, activity: bool) -> Result<ConsoleSession, AppError> {
    let found = state
        .db
        .read(move |conn| {
            let Some(row) = find(conn, &token)? else { return Ok(None) };
            let account = users::find_active_with_plan_inputs(conn, &row.user_id)?;
            Ok(Some((row, account)))
        })
        .await?;
    let Some((row, account)) = found else { return Err(AppError::Unauthorized) };
    let now = crate::clock::now();
    let live = match &account {
        Some((user, _)) => {
            user.role.is_staff()
                && user.credentials_version == row.credentials_version
                && row.last_seen_at + IDLE_TIMEOUT > now
                && row.expires_at > now
        }
        None => false,
    };
    let id = row.id.clone();
    let Some((user, plan_inputs_version)) = account.filter(|_| live) else {
        state
            .db
            .write(move |conn| {
                diesel::delete(console_sessions::table.find(&id)).execute(conn)?;
                Ok(())
            })
            .await?;
        return Err(AppError::Unauthorized);
    };
    if activity && row.last_seen_at + TOUCH_EVERY <= now {
        state.db.write(move |conn| touch(conn, &id, now)).await?;
    }
    Ok(ConsoleSession {
        id: row.id,
        caller: Caller { user_id: user.id, role: user.role, clinic_id: user.clinic_id, plan_inputs_version },
        name: user.name,
        csrf_token: row.csrf_token,
    })
}

/// Ends this session.
pub async fn log_out(state: &SharedState, token: String) -> Result<(), AppError> {
    state.db.write(move |conn| delete_by_token(conn, &token).map(drop)).await
}

/// Ends every console session of the account, revokes its refresh tokens, and makes its access
/// tokens invalid: every device is logged out.
pub async fn log_out_everywhere(state: &SharedState, caller: Caller) -> Result<(), AppError> {
    state
        .db
        .write(move |conn| {
            delete_for_user(conn, &caller.user_id)?;
            sessions::revoke_all(conn, &caller.user_id)?;
            users::end_access_tokens(conn, &caller.user_id)
        })
        .await
}

/// Whether cookies must be `Secure`: everywhere but plain-HTTP localhost (development and the
/// tests), unless `CONSOLE_SECURE_COOKIES` says otherwise.
pub fn secure_cookies(req: &HttpRequest, state: &AppState) -> bool {
    if let Some(forced) = state.settings.console_secure_cookies {
        return forced;
    }
    // The request's own Host (never X-Forwarded-Host, which any client may send).
    let host =
        req.uri().host().or_else(|| req.headers().get(actix_web::http::header::HOST)?.to_str().ok()).unwrap_or("");
    let name =
        host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h);
    !matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// A cookie as the console sets them: HttpOnly, SameSite=Strict, path /console, Secure unless local.
pub fn cookie(req: &HttpRequest, state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure_cookies(req, state))
        .finish()
}

/// The cookie that removes `name`.
pub fn removal(req: &HttpRequest, state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut gone = cookie(req, state, name, String::new());
    gone.set_max_age(time::Duration::ZERO);
    gone
}

impl FromRequest for ConsoleSession {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<ConsoleSession, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(found) = req.extensions().get::<ConsoleSession>().cloned() {
            return Box::pin(async move { Ok(found) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_string()).filter(|t| !t.is_empty());
        let activity = !req.headers().contains_key(BACKGROUND_HEADER);
        let request = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ConsoleError::App(AppError::internal("application state is missing")))?;
            let token = token.ok_or(ConsoleError::LoggedOut)?;
            let session = authenticate(&state, token, activity).await.map_err(|e| match e {
                AppError::Unauthorized => ConsoleError::LoggedOut,
                other => ConsoleError::App(other),
            })?;
            // The audit trail reads who acted from here.
            request.extensions_mut().insert(session.caller.clone());
            request.extensions_mut().insert(session.clone());
            Ok(session)
        })
    }
}
