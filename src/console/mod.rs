//! The clinician console: server-rendered HTML pages (askama templates compiled into the binary)
//! at `/console/`, with one small static script for progressive enhancement (polling the review
//! queue with ETags, keyboard shortcuts). Every page works without the script.
//!
//! Handlers here are thin like the API's: they read the session (`session::ConsoleSession`), parse
//! the form, call the same use cases the API calls, and render. Sessions are cookies, never
//! tokens in the page (see `session.rs`). Every POST form carries the session's CSRF token.

mod admin;
pub mod chart;
mod pages;
mod photos;
pub mod session;
mod views;

use actix_web::http::{StatusCode, header};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;

use crate::error::AppError;

/// The console's Content-Security-Policy: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; \
                       frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Registers the console's routes (outside the OpenAPI document: they serve HTML to browsers).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CSP))
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::REFERRER_POLICY, "same-origin")),
            )
            .route("/static/console.js", web::get().to(pages::script))
            .route("/static/console.css", web::get().to(pages::stylesheet))
            .route("/login", web::get().to(pages::login_form))
            .route("/login", web::post().to(pages::log_in))
            .route("/logout", web::post().to(pages::log_out))
            .route("/logout-everywhere", web::post().to(pages::log_out_everywhere))
            .route("/", web::get().to(pages::queue))
            .route("/queue/items", web::get().to(pages::queue_items))
            .route("/check-ins/{id}/review", web::post().to(pages::review))
            .route("/patients", web::get().to(pages::patients))
            .route("/patients", web::post().to(pages::add_patient))
            .route("/patients/{id}", web::get().to(pages::patient))
            .route("/patients/{id}", web::post().to(pages::edit_patient))
            .route("/patients/{id}/discharge", web::post().to(pages::discharge))
            .route("/patients/{id}/screenings", web::post().to(pages::screen))
            .route("/patients/{id}/treatments", web::post().to(pages::record_treatment))
            .route("/photos/{id}", web::get().to(photos::content))
            .route("/patients/{id}/invitation", web::post().to(pages::reinvite_patient))
            .route("/staff", web::get().to(admin::staff))
            .route("/staff", web::post().to(admin::invite_staff))
            .route("/staff/{id}/deactivate", web::post().to(admin::deactivate_staff))
            .route("/staff/{id}/reactivate", web::post().to(admin::reactivate_staff))
            .route("/staff/{id}/invitation", web::post().to(admin::reinvite_staff))
            .route("/settings", web::get().to(admin::settings))
            .route("/settings", web::post().to(admin::save_settings))
            .route("/audit", web::get().to(admin::audit_trail)),
    )
    .service(web::resource("/console").route(web::get().to(pages::to_console)));
}

/// What a console request can end in, as a page (never problem+json: a browser shows it).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: to the login page.
    #[error("log in")]
    LoggedOut,
    /// A form without this session's CSRF token.
    #[error("the form was not sent from this session")]
    Csrf,
    #[error(transparent)]
    App(#[from] AppError),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: String,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::LoggedOut => StatusCode::SEE_OTHER,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let ConsoleError::LoggedOut = self {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/login")).finish();
        }
        let detail = match self {
            ConsoleError::App(AppError::Internal(cause)) => {
                tracing::error!(cause = %cause, "internal error");
                "Something went wrong on our side. Try again in a moment.".to_string()
            }
            ConsoleError::App(AppError::Validation(errors)) => {
                errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
            }
            ConsoleError::App(AppError::NotFound) => "There is nothing here, or it is not yours to see.".into(),
            ConsoleError::Csrf => {
                "This form expired or did not come from this console. Reload the page and try again.".into()
            }
            other => other.to_string(),
        };
        let page = ErrorPage { status: status.as_u16(), title: status.canonical_reason().unwrap_or("Error"), detail };
        let mut res = HttpResponse::build(status);
        res.content_type("text/html; charset=utf-8");
        if let ConsoleError::App(AppError::TooManyRequests { retry_after_secs }) = self {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        res.body(page.render().unwrap_or_else(|_| "error".into()))
    }
}

/// Renders a page as the answer.
pub fn html(page: impl Template) -> Result<HttpResponse, ConsoleError> {
    let body = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

/// After a form: back to a page (303, so a reload does not post again).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_string())).finish()
}
