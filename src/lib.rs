//! Aftercare: a recovery-tracking API for patients after microneedling.
//!
//! `main.rs` parses the command line; this crate builds the application that it serves, so tests
//! exercise exactly what production runs. Follow `build_app` to find every route and middleware.

pub mod audit;
pub mod auth;
pub mod authenticate;
pub mod calendar;
pub mod client_addr;
pub mod clock;
pub mod commands;
pub mod config;
pub mod console;
pub mod db;
pub mod domain;
pub mod error;
pub mod http_cache;
pub mod idempotency;
pub mod language;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod models;
pub mod pagination;
pub mod photo_store;
pub mod plan;
pub mod routes;
pub mod scope;
pub mod state;
pub mod telemetry;
mod text_column;
pub mod use_cases;
pub mod validate;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpRequest, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

use crate::auth::password::Passwords;
use crate::auth::tokens::{TokenKeys, random_token};
use crate::config::Settings;
use crate::db::Database;
use crate::error::{AppError, StartupError};
use crate::metrics::Metrics;
use crate::models::plan_cache::{PLAN_CACHE_CAPACITY, PlanCache};
use crate::models::protocols::ProtocolLibrary;
use crate::routes::ApiSpec;
use crate::state::AppState;

/// Applies pending migrations and stores every shipped protocol version; returns the newest, which
/// new treatments are planned with.
pub fn prepare_database(db: &Database) -> Result<plan::Protocol, StartupError> {
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied database migrations");
    }
    let mut conn = db.connection()?;
    let mut newest = None;
    for document in plan::protocol::STANDARD_VERSIONS {
        let protocol = plan::Protocol::parse(document).map_err(StartupError::Config)?;
        models::protocols::seed(&mut conn, &protocol, document).map_err(StartupError::Database)?;
        newest = Some(protocol);
    }
    newest.ok_or_else(|| StartupError::Config("no standard protocol is shipped".into()))
}

/// Everything the application shares across workers, built once per process.
#[derive(Clone)]
pub struct Services {
    pub state: web::Data<AppState>,
    pub spec: web::Data<ApiSpec>,
    pub metrics: web::Data<Metrics>,
}

impl Services {
    /// Connects to the database, applies pending migrations, and prepares keys and hashing.
    pub fn start(settings: Settings) -> Result<Services, StartupError> {
        let db = Database::connect(&settings.database_url, settings.db_pool_size)?;
        let protocol = prepare_database(&db)?;
        let db_for_audit = db.clone();
        let audit_key = models::audit::key::AuditKey::for_server(&settings)?;
        let checkpoints = models::audit::checkpoint::Checkpointer::new(audit_key, &settings);
        let secret = match &settings.jwt_secret {
            Some(secret) => secret.clone(),
            None => {
                tracing::warn!(
                    "JWT_SECRET is not set: using an ephemeral secret. Tokens will not survive a \
                     restart and replicas will not accept each other's tokens. Set JWT_SECRET \
                     (at least 32 bytes) in production."
                );
                random_token().into_bytes()
            }
        };
        let passwords =
            Passwords::new(settings.max_concurrent_hashes).map_err(|e| StartupError::Config(e.to_string()))?;
        let photos = photo_store::PhotoStore::open(&settings.photos.store_url)?;
        tracing::info!(store = %photos.describe(), "photo store");
        let state = AppState {
            photos,
            db,
            tokens: TokenKeys::new(&secret, settings.access_token_ttl),
            passwords,
            protocols: ProtocolLibrary::new(protocol),
            plans: PlanCache::new(PLAN_CACHE_CAPACITY),
            audit: audit::AuditLog::start(db_for_audit, checkpoints, settings.trusted_proxies.clone()),
            settings,
        };
        Ok(Services {
            state: web::Data::new(state),
            spec: web::Data::new(ApiSpec::new(&routes::openapi())),
            metrics: web::Data::new(Metrics::new()),
        })
    }
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::Overflow { limit } | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            AppError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => {
            AppError::UnsupportedMediaType("send a JSON body with Content-Type: application/json".into())
        }
        JsonPayloadError::Deserialize(e) => AppError::BadRequest(format!("malformed JSON: {e}")),
        other => AppError::BadRequest(format!("could not read the request body: {other}")),
    }
    .into()
}

/// The application: routes, extractor settings, middleware. Used by `serve` and by the tests.
pub fn build_app(
    services: Services,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let body_limit = services.state.settings.json_body_limit;
    let cors = middleware::cors(&services.state.settings.cors_allowed_origins);
    let audit_log = web::Data::new(services.state.audit.clone());
    let (app, _) = App::new().into_utoipa_app().configure(routes::configure).split_for_parts();
    app.app_data(services.state)
        .app_data(audit_log)
        .app_data(services.spec)
        .app_data(services.metrics)
        .app_data(web::JsonConfig::default().limit(body_limit).error_handler(json_error))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| AppError::BadRequest(format!("malformed query string: {err}")).into()),
        )
        .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
        .configure(console::configure)
        .default_service(web::to(routes::fallback))
        .wrap(ErrorHandlers::new().default_handler(middleware::problem_for_bare_errors))
        .wrap(from_fn(limits::body_deadline))
        .wrap(from_fn(audit::middleware))
        .wrap(from_fn(middleware::known_methods))
        .wrap(middleware::security_headers())
        .wrap(cors)
        .wrap(from_fn(middleware::observe))
        .wrap(TracingLogger::<telemetry::RequestSpan>::new())
}

/// A server on `listener`. It drains requests in flight on SIGTERM or SIGINT.
pub fn serve(services: Services, listener: TcpListener) -> std::io::Result<Server> {
    let settings = services.state.settings.clone();
    // Blocking work is database calls, bounded by the pool (password hashes have threads of their
    // own); more threads than that only wait, and every extra thread costs memory.
    let blocking_threads = settings.db_pool_size as usize;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let budget = limits::connection_budget(settings.max_connections, workers, blocking_threads);
    tracing::info!(
        workers = budget.workers,
        max_connections = budget.total,
        max_connections_per_worker = budget.per_worker,
        open_files_limit = ?budget.open_files_limit,
        request_head_timeout_s = settings.request_head_timeout.as_secs(),
        request_body_timeout_s = settings.request_body_timeout.as_secs(),
        keep_alive_s = settings.keep_alive.as_secs(),
        "connection limits"
    );
    mail::worker::start(services.state.clone()).map_err(std::io::Error::other)?;
    photo_store::sweeper::start(services.state.clone());
    photo_store::renditions::start(services.state.clone());
    let metrics = services.metrics.clone();
    let server = HttpServer::new(move || build_app(services.clone()))
        .workers(budget.workers)
        .max_connections(budget.per_worker)
        .client_request_timeout(settings.request_head_timeout)
        .keep_alive(limits::keep_alive(settings.keep_alive))
        .on_connect(move |_, extensions| {
            extensions.insert(metrics.connection_opened());
        })
        .worker_max_blocking_threads(blocking_threads)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
    Ok(server)
}
