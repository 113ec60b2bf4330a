use crate::support::spawn;
use reqwest::Method;

#[actix_web::test]
async fn health_endpoints_answer_without_credentials() {
    let app = spawn().await;
    let live = app.call(Method::GET, "/health/live", None, None).await;
    assert_eq!(live.status, 200);
    let ready = app.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, 200);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/v1/patients/{unknown}"), &admin.token).await.assert_problem(404);
    let metrics = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").starts_with("text/plain"));
    assert!(
        metrics
            .text
            .contains(r#"aftercare_http_requests_total{method="GET",route="/v1/patients/{id}",status="404"} 1"#),
        "{}",
        metrics.text
    );
    assert!(!metrics.text.contains(&unknown.to_string()), "ids never become labels");
    assert!(metrics.text.contains("aftercare_http_request_duration_seconds_bucket"));
    assert!(metrics.text.contains(r#"aftercare_db_pool_connections{state="max"} 4"#));
    // SQLite's group commit is counted; PostgreSQL commits each write on its own.
    let grouped = metrics.text.contains("# TYPE aftercare_sqlite_group_commit_total counter");
    assert_eq!(grouped, !crate::support::is_postgres(), "{}", metrics.text);
}

#[actix_web::test]
async fn every_answer_carries_a_request_id_and_security_headers() {
    let app = spawn().await;
    for path in ["/health/live", "/v1/me", "/nowhere"] {
        let answer = app.call(Method::GET, path, None, None).await;
        assert_eq!(answer.header("x-request-id").len(), 36, "{path}");
        assert_eq!(answer.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(answer.header("cache-control"), "no-store", "{path}");
        assert_eq!(answer.header("x-frame-options"), "DENY", "{path}");
    }
}

#[actix_web::test]
async fn cross_origin_access_is_off_unless_an_origin_is_allowed() {
    let closed = spawn().await;
    let answer = closed
        .client
        .get(format!("{}/health/live", closed.base))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(answer.headers().get("access-control-allow-origin").is_none());

    let open = crate::support::spawn_with(|s| s.cors_allowed_origins = vec!["https://app.example".into()]).await;
    let preflight = open
        .client
        .request(Method::OPTIONS, format!("{}/v1/me", open.base))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example");
    let other = open
        .client
        .get(format!("{}/health/live", open.base))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
