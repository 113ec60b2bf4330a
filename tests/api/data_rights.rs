//! A patient's own data: the export, checked field by field against what the API serves on each
//! route; erasure requests filed, declined and approved; and after an erasure, a walk over every
//! table of the database (read from the database itself, so a table added later is walked too)
//! that finds the patient nowhere but in the audit trail and the erasure request, whose chain
//! `aftercare audit verify` still finds intact.

use std::process::Command;

use chrono::Duration;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

use aftercare::db::DbConnection;

use crate::fixtures::{PhotoBody, TreatmentBody, check_in, check_in_body, new_patient, screening_all_no, today_in};
use crate::support::{Answer, JWT_SECRET, PASSWORD, Session, TestApp, audit_checkpoint_path, spawn};

const ZONE: &str = "America/Chicago";

/// A patient three days after treatment with everything a record can hold: a screening, a changed
/// schedule, two check-ins (one urgent and reviewed, one not), two photos, an acknowledged
/// reminder, and a clinician who read the record.
struct Record {
    admin: Session,
    clinician: Session,
    patient: Session,
    name: String,
    treatment_id: String,
    urgent_check_in: String,
    acked_reminder: Value,
}

async fn keyed(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Answer {
    app.call_with_headers(Method::POST, path, Some(token), Some(body), &[("Idempotency-Key", key)]).await
}

async fn full_record(app: &TestApp) -> Record {
    let admin = app.clinic("Riverside").await;
    let clinician = app.clinician(&admin).await;
    // Created with Idempotency-Key, so the clinician's stored answers name the patient too.
    let email = format!("zelda-{}@mail.test", uuid::Uuid::new_v4().simple());
    let name = format!("Zelda Quux {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut body = new_patient(&email, ZONE);
    body["name"] = json!(name);
    let created = keyed(app, "/v1/patients", &clinician.token, "create-zelda", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let activated = app
        .post_anonymous(
            "/v1/auth/activate",
            json!({ "invite_token": created.str("invite_token"), "password": PASSWORD }),
        )
        .await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    let patient = Session {
        id: created.str("id"),
        clinic_id: admin.clinic_id.clone(),
        email: email.clone(),
        token: activated.str("access_token"),
        refresh_token: activated.str("refresh_token"),
    };
    // A failed login leaves throttling counters keyed on the address's hash.
    assert_eq!(app.login(&email, "not the password at all").await.status, 401);
    let pid = patient.id.clone();
    let screened = keyed(
        app,
        &format!("/v1/patients/{pid}/screenings"),
        &clinician.token,
        "screen",
        json!({ "answers": screening_all_no() }),
    )
    .await;
    assert_eq!(screened.status, 201, "{}", screened.text);
    let patched = app.patch(&format!("/v1/patients/{pid}"), &patient.token, json!({ "reminder_time": "08:15" })).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let body = TreatmentBody::default().treated_on(today_in(ZONE) - Duration::days(2)).notes("left cheek").build();
    let t = keyed(app, &format!("/v1/patients/{pid}/treatments"), &clinician.token, "treat", body).await;
    assert_eq!(t.status, 201, "{}", t.text);
    let treatment_id = t.str("id");
    let urgent = keyed(
        app,
        &format!("/v1/treatments/{treatment_id}/check-ins"),
        &patient.token,
        "check-in-1",
        json!({ "symptoms": crate::fixtures::symptoms(6, true), "notes": "it bled this morning" }),
    )
    .await;
    assert_eq!(urgent.status, 201, "{}", urgent.text);
    let urgent_check_in = urgent.str("id");
    let calm = check_in(app, &patient, &treatment_id, check_in_body(2, false)).await;
    assert_eq!(calm.status, 201, "{}", calm.text);
    for (site, view) in [("left_cheek", "left"), ("chin", "front")] {
        let photos = format!("/v1/check-ins/{urgent_check_in}/photos");
        crate::fixtures::verified_photo(app, &patient, &photos, PhotoBody::default().of(site, view)).await;
    }
    let reminders = app.get(&format!("/v1/treatments/{treatment_id}/reminders"), &patient.token).await;
    let reminder = reminders.body["items"][0]["id"].as_str().unwrap().to_string();
    let acked = app.post(&format!("/v1/reminders/{reminder}/ack"), &patient.token, Value::Null).await;
    assert_eq!(acked.status, 200, "{}", acked.text);
    let reviewed = keyed(
        app,
        &format!("/v1/check-ins/{urgent_check_in}/review"),
        &clinician.token,
        "review",
        json!({ "note": "Called Zelda; bleeding has stopped." }),
    )
    .await;
    assert_eq!(reviewed.status, 200, "{}", reviewed.text);
    assert_eq!(app.get(&format!("/v1/patients/{pid}"), &clinician.token).await.status, 200);
    Record { admin, clinician, patient, name, treatment_id, urgent_check_in, acked_reminder: acked.body }
}

#[actix_web::test]
async fn the_export_holds_everything_as_the_api_serves_it() {
    let app = spawn().await;
    let r = full_record(&app).await;
    let (p, t) = (&r.patient, r.treatment_id.as_str());
    app.services.state.audit.flush();

    let export = app.get("/v1/me/export", &p.token).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.header("content-type"), "application/json");
    assert_eq!(export.header("cache-control"), "no-store");
    let disposition = export.header("content-disposition");
    assert!(disposition.starts_with("attachment; filename=\"aftercare-export-"), "{disposition}");
    assert!(disposition.contains(&p.id) && disposition.ends_with(".json\""), "{disposition}");
    let doc = &export.body;
    assert_eq!(doc["format"], "aftercare-export/1");
    assert!(doc["generated_at"].as_str().unwrap().ends_with('Z'));

    // The account and profile, as GET /v1/me shows them.
    let me = app.get("/v1/me", &p.token).await.body;
    for field in ["id", "role", "clinic_id", "email", "name"] {
        assert_eq!(doc["account"][field], me[field], "account.{field}");
    }
    assert_eq!(doc["account"]["name"], r.name.as_str());
    assert_eq!(doc["account"]["active"], true);
    assert_eq!(doc["account"]["activated"], true);
    assert_eq!(doc["patient"], me["patient"]);
    assert_eq!(doc["patient"]["reminder_time"], "08:15");
    // Both schedules: the first, and the change of reminder time.
    let schedules = doc["schedules"].as_array().unwrap();
    assert_eq!(schedules.len(), 2, "{schedules:?}");
    assert_eq!(schedules[0]["reminder_time"], "09:00");
    assert_eq!(schedules[1]["reminder_time"], "08:15");
    assert!(schedules.iter().all(|s| s["timezone"] == ZONE));

    let screenings = doc["screenings"].as_array().unwrap();
    assert_eq!(screenings.len(), 1);
    assert_eq!(screenings[0]["eligible"], true);
    assert_eq!(screenings[0]["answers"], screening_all_no());
    assert_eq!(screenings[0]["contraindications"], json!([]));
    assert_eq!(screenings[0]["screened_by_id"], r.clinician.id.as_str());

    let treatments = doc["treatments"].as_array().unwrap();
    assert_eq!(treatments.len(), 1);
    let exported = &treatments[0];
    assert_eq!(exported["treatment"], app.get(&format!("/v1/treatments/{t}"), &p.token).await.body);
    assert_eq!(exported["timeline"], app.get(&format!("/v1/treatments/{t}/timeline"), &p.token).await.body);
    // Every reminder of the plan, each as listReminders serves it.
    let treated_on = exported["treatment"]["treated_on"].as_str().unwrap().to_string();
    let served =
        app.get(&format!("/v1/treatments/{t}/reminders?from={treated_on}&to={}", today_in(ZONE)), &p.token).await;
    let reminders = exported["reminders"].as_array().unwrap();
    for reminder in served.body["items"].as_array().unwrap() {
        assert!(reminders.contains(reminder), "reminder {reminder} missing from the export");
    }
    let last_day = reminders.iter().map(|r| r["day_number"].as_i64().unwrap()).max().unwrap();
    assert_eq!(last_day, 90, "the whole plan");
    let acked = reminders.iter().find(|x| x["id"] == r.acked_reminder["id"]).unwrap();
    assert_eq!(acked, &r.acked_reminder);
    assert_eq!(
        exported["acknowledgements"],
        json!([{
            "reminder_id": r.acked_reminder["id"],
            "local_date": r.acked_reminder["local_date"],
            "kind": r.acked_reminder["kind"],
            "acknowledged_at": r.acked_reminder["acknowledged_at"],
        }])
    );
    let check_ins = app.get(&format!("/v1/treatments/{t}/check-ins"), &p.token).await.body;
    assert_eq!(exported["check_ins"], check_ins["items"]);
    let reviewed = exported["check_ins"].as_array().unwrap().iter().find(|c| c["id"] == r.urgent_check_in.as_str());
    let reviewed = reviewed.unwrap();
    assert_eq!(reviewed["assessment"]["level"], "urgent");
    assert_eq!(reviewed["reviewed_by"], r.clinician.id.as_str());
    assert_eq!(reviewed["review_note"], "Called Zelda; bleeding has stopped.");
    assert_eq!(reviewed["notes"], "it bled this morning");
    let photos = app.get(&format!("/v1/treatments/{t}/photos"), &p.token).await.body;
    assert_eq!(exported["photos"], photos["items"]);
    assert_eq!(exported["photos"].as_array().unwrap().len(), 2);
    assert_eq!(doc["erasure_requests"], json!([]));

    // The accesses: the clinician reading the record, with who, when, what and the outcome.
    let accesses = doc["accesses"].as_array().unwrap();
    let read = accesses
        .iter()
        .find(|a| a["action"] == "GET /v1/patients/{id}" && a["user_id"] == r.clinician.id.as_str())
        .unwrap_or_else(|| panic!("the clinician's read is not listed: {accesses:?}"));
    assert_eq!(read["role"], "clinician");
    assert_eq!(read["outcome"], "success");
    assert_eq!(read["status"], 200);
    assert!(read["at"].as_str().unwrap().ends_with('Z'));
    let review = accesses.iter().find(|a| a["action"] == "POST /v1/check-ins/{id}/review").unwrap();
    assert_eq!(review["resource_type"], "check-in");
    assert!(accesses.iter().any(|a| a["action"] == "POST /v1/treatments/{id}/check-ins" && a["role"] == "patient"));
    let seqs: Vec<i64> = accesses.iter().map(|a| a["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first");
    // Nobody else's: the admin's own sign-in and the other reads name no patient.
    assert!(accesses.iter().all(|a| a["user_id"] != r.admin.id.as_str()));

    // Staff have no export of their own here.
    app.get("/v1/me/export", &r.clinician.token).await.assert_problem(403);
    app.get("/v1/me/export", &r.admin.token).await.assert_problem(403);
}

#[actix_web::test]
async fn an_erasure_request_is_filed_once_declined_with_a_reason_and_decided_once() {
    let app = spawn().await;
    let r = full_record(&app).await;
    let (p, admin) = (&r.patient, &r.admin);
    let path = "/v1/me/erasure-requests";
    let filed = keyed(&app, path, &p.token, "erase-me", json!({ "reason": "Moving abroad" })).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    let id = filed.str("id");
    assert_eq!(filed.header("location"), format!("/v1/erasure-requests/{id}"));
    assert_eq!(filed.body["status"], "open");
    assert_eq!(filed.body["patient_id"], p.id.as_str());
    assert_eq!(filed.body["reason"], "Moving abroad");
    let replayed = keyed(&app, path, &p.token, "erase-me", json!({ "reason": "Moving abroad" })).await;
    assert_eq!(replayed.header("idempotency-replayed"), "true");
    assert_eq!(replayed.body, filed.body);
    app.post(path, &p.token, json!({})).await.assert_problem(409);
    app.post(path, &admin.token, json!({})).await.assert_problem(403);
    app.post(path, &r.clinician.token, json!({})).await.assert_problem(403);

    let own = app.get(&format!("/v1/erasure-requests/{id}"), &p.token).await;
    assert_eq!(own.body, filed.body);
    app.get(&format!("/v1/erasure-requests/{id}"), &r.clinician.token).await.assert_problem(403);
    let listed = app.get("/v1/erasure-requests", &admin.token).await;
    assert_eq!(listed.body["items"], json!([filed.body]));
    app.get("/v1/erasure-requests", &r.clinician.token).await.assert_problem(403);
    app.get("/v1/erasure-requests", &p.token).await.assert_problem(403);

    let decision = format!("/v1/erasure-requests/{id}/decision");
    let decline = json!({ "decision": "decline", "reason": "Records under an open complaint must be kept." });
    app.post(&decision, &r.clinician.token, decline.clone()).await.assert_problem(403);
    app.post(&decision, &p.token, decline.clone()).await.assert_problem(403);
    let away = app.clinic("Elsewhere").await;
    app.post(&decision, &away.token, decline.clone()).await.assert_problem(404);
    app.get(&format!("/v1/erasure-requests/{id}"), &away.token).await.assert_problem(404);
    let fields =
        app.post(&decision, &admin.token, json!({ "decision": "maybe", "reason": "  " })).await.assert_problem(422);
    assert_eq!(fields, ["decision", "reason"]);
    let fields = app.post(&decision, &admin.token, json!({ "decision": "approve" })).await.assert_problem(422);
    assert_eq!(fields, ["reason"]);

    let declined = app.post(&decision, &admin.token, decline.clone()).await;
    assert_eq!(declined.status, 200, "{}", declined.text);
    assert_eq!(declined.body["status"], "declined");
    assert_eq!(declined.body["decided_by_id"], admin.id.as_str());
    assert_eq!(declined.body["decision_reason"], "Records under an open complaint must be kept.");
    assert_eq!(declined.body["reason"], "Moving abroad");
    assert!(declined.body["decided_at"].as_str().unwrap().ends_with('Z'));
    let approve = json!({ "decision": "approve", "reason": "changed our mind" });
    app.post(&decision, &admin.token, approve).await.assert_problem(409);
    // Nothing was erased, and the patient sees the decision.
    assert_eq!(app.get("/v1/me", &p.token).await.status, 200);
    assert_eq!(app.get(&format!("/v1/erasure-requests/{id}"), &p.token).await.body, declined.body);
    let exported = app.get("/v1/me/export", &p.token).await;
    assert_eq!(exported.body["erasure_requests"], json!([declined.body]));

    // A new request may follow a declined one.
    let again = app.post(path, &p.token, json!({})).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body["reason"], Value::Null);
}

#[derive(QueryableByName)]
struct TableColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every (table, column) of the database, read from the database's own catalogue.
fn every_column(conn: &mut DbConnection) -> Vec<(String, String)> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        DbConnection::Postgres(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = 'public'"
        }
    };
    let rows = diesel::sql_query(sql).load::<TableColumn>(conn).unwrap();
    rows.into_iter().map(|c| (c.table_name, c.column_name)).collect()
}

fn count(conn: &mut DbConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

/// Runs the real `aftercare audit verify` as an operator would.
fn audit_verify(app: &TestApp) -> Value {
    let url = &app.services.state.settings.database_url;
    let out = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("AUDIT_CHECKPOINT_PATH", audit_checkpoint_path(url))
        .env_remove("AUDIT_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "audit verify failed: {}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[actix_web::test]
async fn an_approved_erasure_leaves_the_patient_in_no_table_but_the_audit_trail_and_the_request() {
    let app = spawn().await;
    let r = full_record(&app).await;
    let p = &r.patient;
    // The queue before: the calm check-in is still unreviewed (the urgent one was reviewed).
    let queue = app.get("/v1/review-queue", &r.clinician.token).await.body;
    let ok_before = queue["counts"]["ok"].as_i64().unwrap() + queue["counts"]["watch"].as_i64().unwrap();
    assert_eq!(ok_before, 1, "{queue}");
    // Another patient of the clinic, whose data must survive untouched.
    let other = app.patient(&r.clinician, ZONE).await;
    let other_t = crate::fixtures::treatment(&app, &r.clinician, &other.id, today_in(ZONE)).await;
    let other_check_in = check_in(&app, &other, other_t["id"].as_str().unwrap(), check_in_body(1, false)).await;
    assert_eq!(other_check_in.status, 201);

    // A calendar subscription and a password reset (a token and a message) of the patient's own.
    let feed =
        app.post(&format!("/v1/treatments/{}/calendar-subscription", r.treatment_id), &p.token, Value::Null).await;
    assert_eq!(feed.status, 201, "{}", feed.text);
    let reset = app.post_anonymous("/v1/auth/password-reset", json!({ "email": p.email })).await;
    assert_eq!(reset.status, 202);

    let filed = keyed(&app, "/v1/me/erasure-requests", &p.token, "erase", json!({ "reason": "I am Zelda" })).await;
    let id = filed.str("id");
    // The decision without a key: a keyed one would keep a copy of this answer (the request record).
    let approved = app
        .post(
            &format!("/v1/erasure-requests/{id}/decision"),
            &r.admin.token,
            json!({ "decision": "approve", "reason": "Identity confirmed at the desk." }),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["patient_id"], p.id.as_str());
    assert_eq!(approved.body["reason"], Value::Null, "the patient's own words are not kept");
    assert_eq!(approved.body["decision_reason"], "Identity confirmed at the desk.");

    // The account is gone for every purpose.
    app.get("/v1/me", &p.token).await.assert_problem(401);
    let refreshed = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": p.refresh_token })).await;
    assert_eq!(refreshed.status, 401);
    app.get(&format!("/v1/patients/{}", p.id), &r.clinician.token).await.assert_problem(404);
    app.get(&format!("/v1/treatments/{}", r.treatment_id), &r.clinician.token).await.assert_problem(404);
    app.get(&format!("/v1/check-ins/{}", r.urgent_check_in), &r.clinician.token).await.assert_problem(404);
    let patients = app.get("/v1/patients", &r.clinician.token).await.body;
    assert_eq!(patients["items"].as_array().unwrap().len(), 1, "only the other patient is listed");
    // The queue counters lost the erased patient's unreviewed check-in, and only it.
    let queue = app.get("/v1/review-queue", &r.clinician.token).await.body;
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{queue}");
    let counted: i64 = ["urgent", "watch", "ok"].iter().map(|l| queue["counts"][l].as_i64().unwrap()).sum();
    assert_eq!(counted, 1, "the counters match the queue: {queue}");
    // The administrator still sees the decision; the other patient is untouched.
    assert_eq!(app.get(&format!("/v1/erasure-requests/{id}"), &r.admin.token).await.body, approved.body);
    assert_eq!(app.get(&format!("/v1/patients/{}", other.id), &r.clinician.token).await.status, 200);
    app.post(
        &format!("/v1/erasure-requests/{id}/decision"),
        &r.admin.token,
        json!({ "decision": "approve", "reason": "twice" }),
    )
    .await
    .assert_problem(409);

    // The walk: every column of every table, but the audit trail and the erasure requests.
    app.services.state.audit.flush();
    let email_hash = hex::encode(sha2::Sha256::digest(p.email.as_bytes()));
    let needles = [p.id.as_str(), r.name.as_str(), p.email.as_str(), email_hash.as_str()];
    let mut conn = app.db.pool().get().unwrap();
    let columns = every_column(&mut conn);
    let tables: std::collections::BTreeSet<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
    assert!(tables.contains("erasure_requests") && tables.contains("users") && tables.len() >= 18, "{tables:?}");
    let mut found = Vec::new();
    for (table, column) in &columns {
        if matches!(table.as_str(), "audit_events" | "erasure_requests" | "__diesel_schema_migrations") {
            continue;
        }
        for needle in needles {
            let mut sql = format!(
                "SELECT COUNT(*) AS n FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE '%{}%'",
                needle.replace('\'', "''")
            );
            // The tombstone keeps the account's id (the audit trail names it); checked below.
            if table == "users" && column == "id" {
                sql.push_str(&format!(" AND NOT (id = '{}')", p.id));
            }
            let n = count(&mut conn, &sql);
            if n > 0 {
                found.push(format!("{table}.{column} holds {needle} in {n} row(s)"));
            }
        }
    }
    assert!(found.is_empty(), "the erased patient is still in:\n{}", found.join("\n"));
    let tombstone = format!(
        "SELECT COUNT(*) AS n FROM users WHERE id = '{}' AND name = 'Erased patient' AND email LIKE 'erased-%@erased.invalid' \
         AND password_hash IS NULL AND active = {}",
        p.id,
        if crate::support::is_postgres() { "false" } else { "0" }
    );
    assert_eq!(count(&mut conn, &tombstone), 1, "the account is a tombstone");
    // The other patient kept everything.
    let kept = format!("SELECT COUNT(*) AS n FROM check_ins WHERE patient_id = '{}'", other.id);
    assert_eq!(count(&mut conn, &kept), 1);
    // The audit trail still holds the erased patient's opaque id and is intact.
    let trail = format!("SELECT COUNT(*) AS n FROM audit_events WHERE patient_id = '{}'", p.id);
    assert!(count(&mut conn, &trail) > 10);
    drop(conn);
    // (A login attempt at the old address, from now on, counts in throttling buckets of its own,
    // forgotten after the window like any other; it finds no account.)
    assert_eq!(app.login(&p.email, PASSWORD).await.status, 401);
    app.services.state.audit.flush();
    let report = audit_verify(&app);
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["checked"].as_i64().unwrap() > 20, "{report}");
}
