//! `openapi.yaml` is exactly what the code generates, what the server serves, and lists exactly the
//! routes the server has.

use std::collections::BTreeSet;

use actix_web::introspection::IntrospectionTree;
use actix_web::{test, web};
use aftercare::routes::{ApiSpec, openapi};

use crate::support::spawn;

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).expect("openapi.yaml is committed")
}

#[::core::prelude::v1::test]
fn the_committed_document_is_what_the_code_generates() {
    let generated = ApiSpec::new(&openapi()).yaml;
    if generated != committed() {
        if std::env::var("UPDATE_OPENAPI").is_ok() {
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"), &generated).unwrap();
        }
        panic!("openapi.yaml is stale: run `cargo run -- openapi > openapi.yaml` (or UPDATE_OPENAPI=1 cargo test)");
    }
    assert!(generated.starts_with("openapi: 3.1.0"), "OpenAPI 3.1");
}

#[actix_web::test]
async fn the_server_serves_the_committed_bytes() {
    let app = spawn().await;
    let answer = app.call(reqwest::Method::GET, "/openapi.yaml", None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "application/yaml");
    assert_eq!(answer.text, committed());
}

/// (METHOD, /path/{param}) of every route in the document.
fn documented_routes() -> BTreeSet<(String, String)> {
    let api = serde_json::to_value(openapi()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in api["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[actix_web::test]
async fn every_route_of_the_server_is_documented_and_nothing_else() {
    let app = spawn().await;
    let probe = "/__introspection_probe";
    let service = test::init_service(
        aftercare::build_app(app.services.clone())
            .route(probe, web::get().to(|tree: web::Data<IntrospectionTree>| async move { tree.report_as_json() })),
    )
    .await;
    let report: serde_json::Value =
        test::call_and_read_body_json(&service, test::TestRequest::get().uri(probe).to_request()).await;
    let mut served = BTreeSet::new();
    for item in report.as_array().unwrap() {
        let path = item["full_path"].as_str().unwrap();
        if path == probe {
            continue;
        }
        for method in item["methods"].as_array().unwrap() {
            served.insert((method.as_str().unwrap().to_string(), path.to_string()));
        }
    }
    assert!(!served.is_empty(), "the route table was read: {report}");
    assert_eq!(served, documented_routes());
}
