//! The command line, run as the real binary against the test's database.

use std::io::Write;
use std::process::{Command, Stdio};

use aftercare::commands;

use crate::support::{PASSWORD, spawn};

fn aftercare(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aftercare"));
    command.env("DATABASE_URL", database_url).env("LOG_FORMAT", "json").env_remove("JWT_SECRET");
    command
}

fn database_url(app: &crate::support::TestApp) -> String {
    app.services.state.settings.database_url.clone()
}

#[actix_web::test]
async fn clinic_create_prints_ids_and_the_admin_can_log_in() {
    let app = spawn().await;
    let output = aftercare(&database_url(&app))
        .args(["clinic", "create", "--name", "Lakeside Skin", "--admin-email", "Boss@Lakeside.test"])
        .env("AFTERCARE_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let login = app.login("boss@lakeside.test", PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["user"]["id"], printed["admin_id"]);
    assert_eq!(login.body["user"]["clinic_id"], printed["clinic_id"]);
}

#[actix_web::test]
async fn clinic_create_reads_the_password_from_stdin_and_refuses_weak_ones() {
    let app = spawn().await;
    let mut child = aftercare(&database_url(&app))
        .args([
            "clinic",
            "create",
            "--name",
            "Stdin Clinic",
            "--admin-email",
            "stdin@clinic.test",
            "--admin-password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(app.login("stdin@clinic.test", PASSWORD).await.status, 200);

    let weak = aftercare(&database_url(&app))
        .args(["clinic", "create", "--name", "Weak", "--admin-email", "weak@clinic.test"])
        .env("AFTERCARE_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));

    let duplicate = aftercare(&database_url(&app))
        .args(["clinic", "create", "--name", "Again", "--admin-email", "stdin@clinic.test"])
        .env("AFTERCARE_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    // The same person may administer a second clinic: an address is unique within a clinic only.
    assert!(duplicate.status.success(), "{}", String::from_utf8_lossy(&duplicate.stderr));
    let second: serde_json::Value = serde_json::from_slice(&duplicate.stdout).unwrap();
    let login = app
        .post_anonymous(
            "/v1/auth/login",
            serde_json::json!({ "email": "stdin@clinic.test", "password": PASSWORD, "clinic_id": second["clinic_id"] }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["user"]["id"], second["admin_id"]);
}

#[actix_web::test]
async fn the_demo_prints_logins_that_work() {
    let app = spawn().await;
    let db = app.db.clone();
    let seeded = actix_web::web::block(move || commands::seed_demo(&db)).await.unwrap().unwrap();
    let logins = seeded["logins"].as_array().unwrap();
    let roles: Vec<_> = logins.iter().map(|l| l["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["admin", "clinician", "patient"]);
    let mut tokens = Vec::new();
    for login in logins {
        let answer = app.login(login["email"].as_str().unwrap(), login["password"].as_str().unwrap()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.body["user"]["clinic_id"], seeded["clinic_id"]);
        tokens.push(answer.str("access_token"));
    }
    // The clinician's queue shows check-ins of every level, the urgent one first.
    let queue = app.get("/v1/review-queue", &tokens[1]).await;
    assert_eq!(queue.body["counts"], serde_json::json!({ "urgent": 1, "watch": 2, "ok": 2 }), "{}", queue.text);
    assert_eq!(queue.body["items"][0]["assessment"]["level"], "urgent");
    // The patient's plan is on day 5, with photo records (pending: the demo has no bytes for them).
    let today = app.get("/v1/me/today", &tokens[2]).await;
    assert_eq!(today.body["treatments"][0]["day_number"], 5);
    assert_eq!(today.body["treatments"][0]["checked_in"], true);
    let treatment_id = today.body["treatments"][0]["treatment_id"].as_str().unwrap().to_string();
    let photos = app.get(&format!("/v1/treatments/{treatment_id}/photos"), &tokens[1]).await;
    assert_eq!(photos.body["items"].as_array().unwrap().len(), 0);
    let export = app.get("/v1/me/export", &tokens[2]).await;
    assert_eq!(export.body["treatments"][0]["photos"].as_array().unwrap().len(), 5, "{}", export.text);
}

#[test]
fn openapi_prints_the_document() {
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare")).arg("openapi").output().unwrap();
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(String::from_utf8(output.stdout).unwrap() == committed, "aftercare openapi differs from openapi.yaml");
}
