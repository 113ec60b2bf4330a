//! Cross-cutting HTTP behaviour: metrics, the request id header, security headers, refusing unknown
//! methods, and turning any bare framework error into problem+json.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, Next};
use actix_web::{HttpMessage, HttpRequest, web};
use tracing_actix_web::RequestId;

use crate::error::{PROBLEM_JSON, problem_response};
use crate::metrics::{KNOWN_METHODS, Metrics, method_label};

/// Records every answer's method, route pattern (not the raw path, which would carry ids),
/// status and latency; adds `X-Request-Id`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = route_pattern(res.request());
        metrics.observe(res.request().method(), &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    }
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// Refuses, before routing, a method the API does not know (501 problem+json): a method token a
/// client makes up never reaches the router, the audit trail, or a metric's label.
pub async fn known_methods(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if method_label(req.method()) != "other" {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let detail = format!("this server implements only {}", KNOWN_METHODS.join(", "));
    let refusal = problem_response(StatusCode::NOT_IMPLEMENTED, "not-implemented", detail, None);
    Ok(req.into_response(refusal).map_into_right_body())
}

struct RoutePattern(String);

/// The pattern of the route that answered (`/v1/treatments/{id}/timeline`), or `unmatched`.
///
/// The router's own choice when it chose a resource. Otherwise (the 405/404 fallback, or an
/// answer given before routing) the route the path names as the router reads it: percent-decoded,
/// so that `/%76%31/...` and `/v1/...` are one route, never judged by the raw spelling. The answer
/// is always a pattern of the route table or `unmatched`, so it is safe as a label.
/// Worked out once per request: the framework walks its whole route table each time it is asked.
pub fn route_pattern(req: &HttpRequest) -> String {
    if let Some(RoutePattern(known)) = req.extensions().get::<RoutePattern>() {
        return known.clone();
    }
    let pattern = req
        .match_pattern()
        .or_else(|| req.resource_map().match_pattern(req.match_info().as_str()))
        .unwrap_or_else(|| "unmatched".into());
    req.extensions_mut().insert(RoutePattern(pattern.clone()));
    pattern
}

/// Headers every answer of a JSON API holding health data should carry.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Cross-origin access for the configured browser origins only; none by default.
pub fn cors(allowed_origins: &[String]) -> actix_web::middleware::Condition<actix_cors::Cors> {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
            header::IF_NONE_MATCH,
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotency-replayed"),
            header::RETRY_AFTER,
            header::ETAG,
            header::LOCATION,
            header::CONTENT_DISPOSITION,
        ])
        .max_age(3600);
    for origin in allowed_origins {
        cors = cors.allowed_origin(origin);
    }
    actix_web::middleware::Condition::new(!allowed_origins.is_empty(), cors)
}

/// Rewrites error answers that the framework produced without a problem body (a 405 from a
/// resource, a payload error, ...) into problem+json. Ours already are and pass through.
pub fn problem_for_bare_errors<B: MessageBody>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    // The console's error pages are HTML for a browser, and stay so.
    let is_page = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_problem || is_page {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, original) = res.into_parts();
    let mut replacement = problem_response(
        status,
        &format!("http-{}", status.as_u16()),
        status.canonical_reason().unwrap_or("error").to_lowercase(),
        None,
    );
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = original.headers().get(&name) {
            replacement.headers_mut().insert(name, value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, replacement).map_into_right_body()))
}
