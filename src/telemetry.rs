//! Structured logs. Every line logged while serving a request carries its `request_id`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: &LogFormat) {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Longest part of a request's path a log line carries.
const MAX_LOGGED_PATH: usize = 160;

/// A path cut to `MAX_LOGGED_PATH` bytes (at a character boundary), marked when cut, and without
/// a calendar feed's secret (`calendar::loggable_path`).
fn bounded_path(path: &str) -> String {
    let path = crate::calendar::loggable_path(path);
    if path.len() <= MAX_LOGGED_PATH {
        return path.to_string();
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...({} bytes)", &path[..end], path.len())
}

/// The span every request's log lines sit in. Lighter than tracing-actix-web's default, which
/// walks the route table with regexes and parses the connection info on every request even when
/// nothing is logged; the route is recorded at the end instead, from the pattern metrics and audit
/// have already worked out. Every field is bounded: the method is a known one or `other`, the path
/// is cut.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(|id| id.to_string()).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = crate::metrics::method_label(request.method()),
            http.target = %bounded_path(request.path()),
            http.route = tracing::field::Empty,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        if let Ok(response) = outcome {
            let route = crate::middleware::route_pattern(response.request());
            span.record("http.route", route.as_str());
            log_answer(response, &route);
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// At most `per_second` lines a second; the first line let through after some were held back
/// says how many.
pub struct LineBudget {
    per_second: u32,
    window: Mutex<Window>,
}

struct Window {
    started: Option<Instant>,
    used: u32,
    suppressed: u64,
}

impl LineBudget {
    pub const fn new(per_second: u32) -> LineBudget {
        LineBudget { per_second, window: Mutex::new(Window { started: None, used: 0, suppressed: 0 }) }
    }

    /// `Some(lines held back since the last one written)` when this line may be written.
    pub fn admit(&self) -> Option<u64> {
        let now = Instant::now();
        let mut window = self.window.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if window.started.is_none_or(|started| now.duration_since(started) >= Duration::from_secs(1)) {
            window.started = Some(now);
            window.used = 0;
        }
        if window.used < self.per_second {
            window.used += 1;
            Some(std::mem::take(&mut window.suppressed))
        } else {
            window.suppressed += 1;
            None
        }
    }
}

/// Refusals (4xx, and 501 for a made-up method) are the client's business, not the server's: logged at INFO, 10 lines a second
/// at most, so a flood of bad requests costs a bounded amount of log.
static REFUSALS: LineBudget = LineBudget::new(10);
static SERVER_ERRORS: LineBudget = LineBudget::new(50);

/// One bounded line for an error answer, outside the request's span (whose fields may hold the
/// error's own text); successes are not logged.
fn log_answer<B>(response: &ServiceResponse<B>, route: &str) {
    let status = response.status();
    let request = response.request();
    let method = crate::metrics::method_label(request.method());
    let request_id = request.extensions().get::<RequestId>().map(|id| id.to_string()).unwrap_or_default();
    let path = bounded_path(request.path());
    let status = status.as_u16();
    // 501 answers a method the client made up: a refusal too, not a failure of the server.
    if (400..500).contains(&status) || status == 501 {
        if let Some(suppressed) = REFUSALS.admit() {
            tracing::info!(parent: None, %request_id, method, route, path, status, suppressed, "request refused");
        }
    } else if status >= 500
        && let Some(suppressed) = SERVER_ERRORS.admit()
    {
        tracing::error!(parent: None, %request_id, method, route, path, status, suppressed, "request failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_lets_through_its_lines_a_second_and_counts_the_rest() {
        let budget = LineBudget::new(3);
        let admitted: Vec<Option<u64>> = (0..10).map(|_| budget.admit()).collect();
        assert_eq!(&admitted[..3], [Some(0), Some(0), Some(0)]);
        assert!(admitted[3..].iter().all(Option::is_none));
        std::thread::sleep(Duration::from_millis(1010));
        assert_eq!(budget.admit(), Some(7), "the next line says how many were held back");
        assert_eq!(budget.admit(), Some(0));
    }

    #[test]
    fn long_paths_are_cut_for_logs() {
        assert_eq!(bounded_path("/v1/me"), "/v1/me");
        let cut = bounded_path(&format!("/v1/{}", "é".repeat(40_000)));
        assert!(cut.len() < MAX_LOGGED_PATH + 24 && cut.ends_with("(80004 bytes)"), "{cut}");
    }
}
