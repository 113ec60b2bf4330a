//! `openapi.yaml` is exactly what the code generates, what the server serves, and lists exactly the
//! routes the server has.

use std::collections::BTreeSet;

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

/// Every `$ref` of the document names a component it defines (a type used only as a parameter's
/// `value_type` is not collected by itself, and the generators refuse the operation).
#[::core::prelude::v1::test]
fn every_reference_resolves() {
    fn refs(value: &serde_json::Value, found: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    found.insert(target.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let api = serde_json::to_value(openapi()).unwrap();
    let mut found = BTreeSet::new();
    refs(&api, &mut found);
    let dangling: Vec<&String> = found
        .iter()
        .filter(|target| {
            let pointer = target.strip_prefix('#').unwrap_or("not local");
            api.pointer(&pointer.replace("~1", "/")).is_none()
        })
        .collect();
    assert!(!found.is_empty());
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
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
    let served = crate::support::served_routes(&app).await;
    assert!(!served.is_empty(), "the route table was read");
    assert_eq!(served, documented_routes());
}
