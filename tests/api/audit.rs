//! The audit trail.

use std::process::Command;

use diesel::prelude::*;
use serde_json::json;

use crate::support::{TestApp, spawn};

fn flush(app: &TestApp) {
    app.services.state.audit.flush();
}

#[actix_web::test]
async fn reads_writes_denials_and_logins_are_audited_for_the_clinics_admins() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&clinician, "Europe/Paris").await;
    let neighbour = app.patient(&clinician, "Europe/Paris").await;
    app.get(&format!("/v1/patients/{}", patient.id), &clinician.token).await;
    app.get(&format!("/v1/patients/{}", patient.id), &neighbour.token).await.assert_problem(404);
    app.login(&clinician.email, "not the password").await.assert_problem(401);
    flush(&app);

    let all = app.get("/v1/audit-events?limit=100", &admin.token).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let events = all.body["items"].as_array().unwrap();
    let find = |action: &str, user: &str, outcome: &str| {
        events.iter().find(|e| e["action"] == action && e["user_id"] == user && e["outcome"] == outcome).cloned()
    };
    let created = events
        .iter()
        .find(|e| e["action"] == "POST /v1/patients" && e["resource_id"] == patient.id.as_str())
        .expect("patient creation");
    assert_eq!(created["user_id"], clinician.id.as_str());
    assert_eq!(created["patient_id"], patient.id.as_str());
    assert_eq!(created["resource_type"], "patient");
    assert_eq!(created["role"], "clinician");
    assert_eq!(created["status"], 201);
    let read = find("GET /v1/patients/{id}", &clinician.id, "success").expect("a read");
    assert_eq!(read["patient_id"], patient.id.as_str());
    assert_eq!(read["request_id"].as_str().unwrap().len(), 36);
    assert_eq!(read["client_addr"], "127.0.0.1");
    let denied = find("GET /v1/patients/{id}", &neighbour.id, "denied").expect("a denied read");
    assert_eq!(denied["status"], 404);
    assert_eq!(denied["resource_id"], patient.id.as_str());
    assert!(find("POST /v1/auth/login", &clinician.id, "denied").is_some(), "a failed login");
    assert!(find("POST /v1/auth/activate", "", "success").is_none());
    assert!(find("POST /v1/clinicians", &admin.id, "success").is_some(), "a staff change");

    let about_patient = app.get(&format!("/v1/audit-events?patient_id={}&limit=100", patient.id), &admin.token).await;
    let items = about_patient.body["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|e| e["patient_id"] == patient.id.as_str()));
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first");
    let future = app.get("/v1/audit-events?since=2999-01-01T00:00:00Z", &admin.token).await;
    assert_eq!(future.body["items"], json!([]));
    let bad = app.get("/v1/audit-events?since=yesterday&patient_id=nope", &admin.token).await;
    assert_eq!(bad.assert_problem(422), ["patient_id", "since"]);
    app.get("/v1/audit-events", &clinician.token).await.assert_problem(403);
    let other = app.clinic("South").await;
    flush(&app);
    let theirs = app.get("/v1/audit-events?limit=100", &other.token).await;
    assert!(theirs.body["items"].as_array().unwrap().iter().all(|e| e["clinic_id"] == other.clinic_id.as_str()));
    app.call(reqwest::Method::DELETE, "/v1/audit-events", Some(&admin.token), None).await.assert_problem(405);
}

#[actix_web::test]
async fn the_chain_is_append_only_and_tampering_is_detected() {
    use aftercare::db::schema::audit_events;
    let app = spawn().await;
    let admin = app.clinic("North").await;
    for _ in 0..3 {
        app.get("/v1/me", &admin.token).await;
    }
    flush(&app);
    let url = app.services.state.settings.database_url.clone();
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_aftercare"))
            .args(["audit", "verify"])
            .env("DATABASE_URL", &url)
            .env("JWT_SECRET", crate::support::JWT_SECRET)
            .env("AUDIT_CHECKPOINT_PATH", crate::support::audit_checkpoint_path(&url))
            .output()
            .unwrap()
    };
    let clean = verify();
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    let report: serde_json::Value = serde_json::from_slice(&clean.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert!(report["checked"].as_i64().unwrap() >= 4);

    let mut conn = app.db.pool().get().unwrap();
    let refused = diesel::update(audit_events::table.filter(audit_events::seq.eq(2)))
        .set(audit_events::outcome.eq("success"))
        .execute(&mut *conn);
    assert!(refused.is_err(), "the database refuses edits");
    assert!(diesel::delete(audit_events::table).execute(&mut *conn).is_err(), "and removals");

    // Someone with the database's own privileges drops the guard and edits an entry.
    let drop_guard = match &mut *conn {
        aftercare::db::DbConnection::Sqlite(_) => "DROP TRIGGER audit_events_no_update",
        aftercare::db::DbConnection::Postgres(_) => "DROP TRIGGER audit_events_no_change ON audit_events",
    };
    diesel::sql_query(drop_guard).execute(&mut *conn).unwrap();
    diesel::update(audit_events::table.filter(audit_events::seq.eq(2)))
        .set(audit_events::status.eq(299))
        .execute(&mut *conn)
        .unwrap();
    let tampered = verify();
    assert!(!tampered.status.success());
    let report: serde_json::Value = serde_json::from_slice(&tampered.stdout).unwrap();
    assert_eq!(report["broken_at"], 2);
}

#[test]
fn a_batch_longer_than_one_insert_statement_keeps_its_order_and_chain() {
    use aftercare::models::audit::{NewEvent, append, key::AuditKey, verify};
    let store = crate::support::empty_database();
    let db = aftercare::db::Database::connect(&store.url, 1).unwrap();
    db.migrate().unwrap();
    let mut conn = db.pool().get().unwrap();
    let event = |n: usize| NewEvent {
        id: aftercare::models::new_id(),
        at: aftercare::clock::now(),
        user_id: None,
        role: None,
        clinic_id: None,
        patient_id: None,
        action: format!("test {n}"),
        resource_type: None,
        resource_id: None,
        outcome: "success".into(),
        status: 200,
        request_id: Some(format!("r{n}")),
        client_addr: None,
    };
    let key = AuditKey::new(crate::support::JWT_SECRET.as_bytes());
    append(&mut conn, &key, (0..600).map(event).collect()).unwrap();
    append(&mut conn, &key, vec![event(600)]).unwrap();
    let report = verify(&mut conn, &key, std::path::Path::new("/nonexistent/checkpoints.jsonl")).unwrap();
    assert_eq!((report.checked, report.ok), (601, true));
    use aftercare::db::schema::audit_events;
    let actions: Vec<String> =
        audit_events::table.order(audit_events::seq.asc()).select(audit_events::action).load(&mut *conn).unwrap();
    assert_eq!(actions, (0..=600).map(|n| format!("test {n}")).collect::<Vec<_>>());
}

/// The address an event records is the one login throttling keys on: the TCP peer, unless the
/// peer is a trusted proxy, whose `X-Forwarded-For` then names the client.
#[actix_web::test]
async fn events_record_the_client_address_that_trusted_proxies_vouch_for() {
    for (trusted, expected) in [(None, "127.0.0.1"), (Some("127.0.0.1/32"), "203.0.113.9")] {
        let app = crate::support::spawn_with(|s| {
            s.trusted_proxies = trusted.map(|t| aftercare::client_addr::parse_networks(t).unwrap()).unwrap_or_default();
        })
        .await;
        let admin = app.clinic("North").await;
        let forwarded = app
            .client
            .get(format!("{}/v1/me", app.base))
            .bearer_auth(&admin.token)
            .header("x-forwarded-for", "198.51.100.7, 203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(forwarded.status(), 200);
        flush(&app);
        let events = app.get("/v1/audit-events?limit=100", &admin.token).await;
        let me = events.body["items"].as_array().unwrap().iter().find(|e| e["action"] == "GET /v1/me").cloned();
        assert_eq!(me.expect("the read of /v1/me")["client_addr"], expected, "trusted proxies: {trusted:?}");
    }
}
