//! The framework's own errors answer problem+json too.

use reqwest::Method;
use serde_json::json;

use crate::support::{spawn, spawn_with};

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = spawn().await;
    app.call(Method::GET, "/v1/nothing-here", None, None).await.assert_problem(404);
    let wrong = app.call(Method::DELETE, "/v1/patients", None, None).await;
    wrong.assert_problem(405);
    assert_eq!(wrong.header("allow"), "GET, POST");
    let on_item = app.call(Method::PUT, &format!("/v1/patients/{}", uuid::Uuid::new_v4()), None, None).await;
    on_item.assert_problem(405);
    assert_eq!(on_item.header("allow"), "GET, PATCH");
}

#[actix_web::test]
async fn malformed_json_is_400_and_a_body_that_is_not_json_is_415() {
    let app = spawn().await;
    let malformed = app
        .client
        .post(format!("{}/v1/auth/login", app.base))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    crate::support::TestApp::answer(malformed).await.assert_problem(400);
    let not_json = app
        .client
        .post(format!("{}/v1/auth/login", app.base))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    crate::support::TestApp::answer(not_json).await.assert_problem(415);
}

#[actix_web::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_with(|s| s.json_body_limit = 1024).await;
    let big = json!({ "email": "a".repeat(2048), "password": "x" });
    app.post_anonymous("/v1/auth/login", big).await.assert_problem(413);
}

#[actix_web::test]
async fn a_malformed_query_string_is_400() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    app.get("/v1/patients?limit=1&limit=2", &admin.token).await.assert_problem(400);
}
