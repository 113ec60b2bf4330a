//! Operations: liveness, readiness, metrics and the OpenAPI document.

use actix_web::{HttpResponse, get, web};

use crate::db;
use crate::metrics::Metrics;
use crate::routes::ApiSpec;
use crate::state::AppState;

/// 200 while the process runs.
///
/// For liveness probes: answers `ok` without touching the database. Open to anyone; no token.
#[utoipa::path(
    operation_id = "getLiveness",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process is running", body = String, content_type = "text/plain"))
)]
#[get("/health/live")]
pub async fn health_live() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// 200 when the database answers, else 503.
///
/// For readiness probes and load balancers: sends the database one trivial query. Open to anyone;
/// no token. A 503 means this instance cannot serve requests now; try again shortly or elsewhere.
#[utoipa::path(
    operation_id = "getReadiness",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = String, content_type = "text/plain"),
        (status = 503, response = crate::routes::problems::Unavailable),
    )
)]
#[get("/health/ready")]
pub async fn health_ready(state: web::Data<AppState>) -> Result<HttpResponse, crate::error::AppError> {
    state.db.run(db::ping).await.map_err(|e| crate::error::AppError::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("ready"))
}

/// Prometheus text format: request counts and latencies by route and status, pool state, plan cache
/// lookups.
///
/// For a Prometheus scraper. Served without a token, so keep this path off the public network at
/// the proxy if the numbers should stay private. Labels name routes as templates, never ids.
#[utoipa::path(
    operation_id = "getMetrics",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(metrics.render(&state.db, &state.plans))
}

/// This document, byte for byte the committed `openapi.yaml`.
///
/// The OpenAPI 3.1 description of exactly the routes this server has, as YAML. Open to anyone; no
/// token. Generate clients from it or check which version of the API a server runs.
#[utoipa::path(
    operation_id = "getOpenApiDocument",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The OpenAPI document", body = String, content_type = "application/yaml"))
)]
#[get("/openapi.yaml")]
pub async fn openapi_yaml(spec: web::Data<ApiSpec>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/yaml").body(spec.yaml.clone())
}
