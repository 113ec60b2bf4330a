//! Prometheus metrics: request counts and latency by route and status, and the pool's state.
//!
//! Every label takes its value from a fixed set, so no request can add a series: the method is one
//! of `KNOWN_METHODS` or `other`, the route a pattern of the route table or `unmatched`, the status
//! one the server answers with.

use std::sync::atomic::{AtomicI64, Ordering};

use actix_web::http::Method;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    group_commit: IntCounterVec,
    plan_cache: IntCounterVec,
    connections: prometheus::IntGauge,
    /// Connections open now; counted by the server's connection hook.
    open_connections: std::sync::Arc<AtomicI64>,
}

/// The methods the server knows: RFC 9110's (less CONNECT, which is for proxies), PATCH and QUERY.
/// Any other is refused before routing (501); a known one the route does not serve gets 405.
pub const KNOWN_METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"];

/// A method as a label: its name when it is one of `KNOWN_METHODS`, else `other`.
pub fn method_label(method: &Method) -> &'static str {
    KNOWN_METHODS.iter().find(|known| **known == method.as_str()).copied().unwrap_or("other")
}

/// Held by each open connection; counts it out when the connection closes.
pub struct ConnectionCount(std::sync::Arc<AtomicI64>);

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("aftercare".into()), None).expect("valid prefix");
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(Opts::new("http_requests_total", "HTTP requests answered"), labels)
            .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            labels,
        )
        .expect("valid metric");
        let pool = IntGaugeVec::new(Opts::new("db_pool_connections", "Database pool connections by state"), &["state"])
            .expect("valid metric");
        let group_commit = IntCounterVec::new(
            Opts::new("sqlite_group_commit_total", "SQLite commits, and the writes they carried, since start"),
            &["count"],
        )
        .expect("valid metric");
        let plan_cache = IntCounterVec::new(
            Opts::new("plan_cache_lookups_total", "Plans asked of the in-memory plan cache, by whether it had them"),
            &["result"],
        )
        .expect("valid metric");
        let connections =
            prometheus::IntGauge::new("http_connections_open", "Client connections open now").expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool.clone()),
            Box::new(group_commit.clone()),
            Box::new(plan_cache.clone()),
            Box::new(connections.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        let open_connections = Default::default();
        Metrics { registry, requests, latency, pool, group_commit, plan_cache, connections, open_connections }
    }

    /// Counts a connection in; it is counted out when the returned value is dropped.
    pub fn connection_opened(&self) -> ConnectionCount {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        ConnectionCount(self.open_connections.clone())
    }

    /// `route` must be a pattern of the route table or `unmatched` (see `middleware::route_pattern`).
    pub fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method_label(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition format, with the pool's and the plan cache's state as of now.
    pub fn render(&self, db: &crate::db::Database, plans: &crate::models::plan_cache::PlanCache) -> String {
        let pool = db.pool();
        let state = pool.state();
        let idle = i64::from(state.idle_connections);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool.with_label_values(&["in_use"]).set(i64::from(state.connections) - idle);
        self.pool.with_label_values(&["max"]).set(i64::from(pool.max_size()));
        // The committer and the cache keep the running totals; bring the counters up to them.
        if let Some((commits, writes)) = db.group_commits() {
            catch_up(&self.group_commit, &[("commits", commits), ("writes", writes)]);
        }
        self.connections.set(self.open_connections.load(Ordering::Relaxed));
        let (hits, misses) = plans.counts();
        catch_up(&self.plan_cache, &[("hit", hits), ("miss", misses)]);
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding into memory cannot fail");
        String::from_utf8(out).unwrap_or_default()
    }
}

fn catch_up(counters: &IntCounterVec, totals: &[(&str, u64)]) {
    for (label, total) in totals {
        let counter = counters.with_label_values(&[label]);
        counter.inc_by(total.saturating_sub(counter.get()));
    }
}
