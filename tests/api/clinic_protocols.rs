//! Clinic-authored protocols: an administrator drafts a version from a whole document (checked as
//! the shipped ones are), publishes it once, and the clinic's new screenings and treatments use it
//! while older treatments keep theirs. Other clinics can neither read nor publish it.

use serde_json::{Value, json};

use crate::fixtures::{TreatmentBody, screen, today_in, treatment};
use crate::support::{Answer, Session, TestApp, spawn};

/// The standard v2 document as the API serves it.
pub async fn standard_document(app: &TestApp, staff: &Session) -> Value {
    let got = app.get("/v1/protocols/standard/versions/2", &staff.token).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.body["document"].clone()
}

/// The standard v2 document with the sunscreen reminder reworded: a clinic's own version.
pub async fn clinic_document(app: &TestApp, staff: &Session) -> Value {
    let mut document = standard_document(app, staff).await;
    document["title"] = json!("Northside aftercare");
    let reminders = document["reminders"].as_array_mut().unwrap();
    let sunscreen = reminders.iter_mut().find(|r| r["kind"] == "sunscreen").unwrap();
    sunscreen["title"] = json!("Northside: SPF 50 every morning");
    document
}

async fn draft(app: &TestApp, admin: &Session, document: Value) -> Answer {
    app.post("/v1/protocols", &admin.token, json!({ "document": document })).await
}

/// Drafts and publishes the clinic's version; returns (id, version).
pub async fn published(app: &TestApp, admin: &Session) -> (String, i64) {
    let document = clinic_document(app, admin).await;
    let drafted = draft(app, admin, document).await;
    assert_eq!(drafted.status, 201, "{}", drafted.text);
    let (id, version) = (drafted.str("id"), drafted.body["version"].as_i64().unwrap());
    let done = app.post(&format!("/v1/protocols/{id}/versions/{version}/publish"), &admin.token, Value::Null).await;
    assert_eq!(done.status, 200, "{}", done.text);
    (id, version)
}

fn sunscreen_titles(reminders: &Answer) -> Vec<String> {
    let items = reminders.body["items"].as_array().unwrap();
    items.iter().filter(|r| r["kind"] == "sunscreen").map(|r| r["title"].as_str().unwrap().to_string()).collect()
}

#[actix_web::test]
async fn a_published_clinic_version_plans_new_treatments_while_old_ones_keep_theirs() {
    let app = spawn().await;
    let admin = app.clinic("Northside").await;
    let patient = app.patient(&admin, "Europe/Madrid").await;
    let today = today_in("Europe/Madrid");
    let old = treatment(&app, &admin, &patient.id, today).await;
    assert_eq!(old["protocol"], json!({ "id": "standard", "version": 2 }));
    let old_id = old["id"].as_str().unwrap();

    // A draft is used by nothing.
    let drafted = draft(&app, &admin, clinic_document(&app, &admin).await).await;
    assert_eq!(drafted.status, 201, "{}", drafted.text);
    let id = drafted.str("id");
    assert_eq!(id, format!("clinic-{}", admin.clinic_id));
    assert_eq!(drafted.body["version"], 1);
    assert_eq!(drafted.body["status"], "draft");
    assert_eq!(drafted.body["current"], false);
    assert_eq!(drafted.body["document"]["id"], json!(id));
    assert_eq!(drafted.header("location"), format!("/v1/protocols/{id}/versions/1"));
    let questions = app.get("/v1/screening-questions", &admin.token).await;
    assert_eq!(questions.body["protocol"], json!({ "id": "standard", "version": 2 }));

    let done = app.post(&format!("/v1/protocols/{id}/versions/1/publish"), &admin.token, Value::Null).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "published");
    assert_eq!(done.body["current"], true);
    assert!(done.body["published_at"].is_string());
    let questions = app.get("/v1/screening-questions", &admin.token).await;
    assert_eq!(questions.body["protocol"], json!({ "id": id, "version": 1 }));

    // The screening made under the standard protocol no longer clears a treatment.
    let body = TreatmentBody::default().treated_on(today).build();
    let refused = app.post(&format!("/v1/patients/{}/treatments", patient.id), &admin.token, body.clone()).await;
    refused.assert_problem(409);
    assert!(refused.body["type"].as_str().unwrap().ends_with("screening-outdated"), "{}", refused.text);
    let screened = screen(&app, &admin, &patient.id).await;
    assert!(screened["id"].is_string());
    let new = app.post(&format!("/v1/patients/{}/treatments", patient.id), &admin.token, body).await;
    assert_eq!(new.status, 201, "{}", new.text);
    assert_eq!(new.body["protocol"], json!({ "id": id, "version": 1 }));
    let new_id = new.str("id");

    let range = format!("from={today}&to={today}");
    let old_reminders = app.get(&format!("/v1/treatments/{old_id}/reminders?{range}"), &patient.token).await;
    let new_reminders = app.get(&format!("/v1/treatments/{new_id}/reminders?{range}"), &patient.token).await;
    assert_eq!(sunscreen_titles(&old_reminders), ["Put on sunscreen"], "{}", old_reminders.text);
    assert_eq!(sunscreen_titles(&new_reminders), ["Northside: SPF 50 every morning"], "{}", new_reminders.text);
    let old_again = app.get(&format!("/v1/treatments/{old_id}"), &admin.token).await;
    assert_eq!(old_again.body["protocol"], json!({ "id": "standard", "version": 2 }));

    // The patient reads the version their new treatment uses; the catalogue shows it.
    let read = app.get(&format!("/v1/protocols/{id}/versions/1"), &patient.token).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let catalogue = app.get("/v1/protocols", &patient.token).await;
    let listed: Vec<(String, i64)> = catalogue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v["version"].as_i64().unwrap()))
        .collect();
    assert_eq!(listed, [("standard".to_string(), 1), ("standard".to_string(), 2), (id.clone(), 1)]);
}

#[actix_web::test]
async fn a_published_version_is_immutable_and_publishing_twice_is_409() {
    let app = spawn().await;
    let admin = app.clinic("Northside").await;
    let (id, version) = published(&app, &admin).await;
    let again = app.post(&format!("/v1/protocols/{id}/versions/{version}/publish"), &admin.token, Value::Null).await;
    again.assert_problem(409);
    let standard = app.post("/v1/protocols/standard/versions/2/publish", &admin.token, Value::Null).await;
    standard.assert_problem(409);
    // A change is a new version; the newest published one is current.
    let mut document = clinic_document(&app, &admin).await;
    document["title"] = json!("Northside aftercare, second edition");
    let second = draft(&app, &admin, document).await;
    assert_eq!(second.body["version"], 2, "{}", second.text);
    let catalogue = app.get("/v1/protocols", &admin.token).await;
    let current: Vec<&Value> =
        catalogue.body["items"].as_array().unwrap().iter().filter(|v| v["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!((current[0]["id"].as_str().unwrap(), current[0]["version"].as_i64().unwrap()), (id.as_str(), 1));
    // No operation edits a version.
    for method in [reqwest::Method::PUT, reqwest::Method::PATCH, reqwest::Method::DELETE] {
        let answer =
            app.call(method.clone(), &format!("/v1/protocols/{id}/versions/1"), Some(&admin.token), None).await;
        assert!(answer.status == 405 || answer.status == 404, "{method}: {}", answer.status);
    }
}

#[actix_web::test]
async fn a_document_that_fails_the_checks_is_422_naming_what_is_wrong() {
    let app = spawn().await;
    let admin = app.clinic("Northside").await;
    let base = standard_document(&app, &admin).await;
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 9] = [
        (
            "NUL in a text",
            |d| d["phases"][0]["care"][1] = json!("rest\u{0}"),
            "document.phases[0].care[1] holds a control",
        ),
        ("a line break in a key", |d| d["reminders"][0]["ti\ntle"] = json!("x"), "document.reminders[0]: a key"),
        ("a gap between phases", |d| d["phases"][1]["day_from"] = json!(4), "phase days_3_7 must start on day 3"),
        ("phases ending early", |d| d["plan_days"] = json!(120), "phases must end on day 120"),
        (
            "a window outside the plan",
            |d| d["reminders"][0]["day_to"] = json!(91),
            "reminder sunscreen has a window outside the plan",
        ),
        ("an unknown sign", |d| d["assessment"]["rules"][0]["sign"] = json!("glowing"), "`glowing` is not a sign"),
        ("a reminder without a body", |d| d["reminders"][1]["body"] = json!("  "), "needs a kind, a title and a body"),
        ("an unknown question", |d| d["screening"]["cautions"][0]["answer"] = json!("likes_cats"), "likes_cats"),
        ("an unknown field", |d| d["colour"] = json!("blue"), "unknown field `colour`"),
    ];
    for (case, edit, expected) in cases {
        let mut document = base.clone();
        edit(&mut document);
        let refused = draft(&app, &admin, document).await;
        assert_eq!(refused.assert_problem(422), ["document"], "{case}");
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{case}: {message}");
    }
    let missing = app.post("/v1/protocols", &admin.token, json!({})).await;
    assert_eq!(missing.assert_problem(422), ["document"]);
    let catalogue = app.get("/v1/protocols", &admin.token).await;
    assert_eq!(catalogue.body["items"].as_array().unwrap().len(), 2, "nothing was stored");
}

#[actix_web::test]
async fn only_the_clinics_admin_drafts_and_publishes_and_other_clinics_cannot_see_it() {
    let app = spawn().await;
    let admin = app.clinic("Northside").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&admin, "Europe/Madrid").await;
    let document = clinic_document(&app, &admin).await;
    draft(&app, &clinician, document.clone()).await.assert_problem(403);
    draft(&app, &patient, document.clone()).await.assert_problem(403);
    let drafted = draft(&app, &admin, document).await;
    let id = drafted.str("id");
    let path = format!("/v1/protocols/{id}/versions/1");
    // The clinic's staff read the draft; the patient (no treatment uses it) does not.
    assert_eq!(app.get(&path, &clinician.token).await.status, 200);
    app.get(&path, &patient.token).await.assert_problem(404);
    app.post(&format!("{path}/publish"), &clinician.token, Value::Null).await.assert_problem(403);

    let away = app.clinic("Away").await;
    let away_clinician = app.clinician(&away).await;
    app.get(&path, &away.token).await.assert_problem(404);
    app.get(&path, &away_clinician.token).await.assert_problem(404);
    app.post(&format!("{path}/publish"), &away.token, Value::Null).await.assert_problem(404);
    let catalogue = app.get("/v1/protocols", &away.token).await;
    assert!(!catalogue.text.contains(&id), "{}", catalogue.text);
    for odd in
        ["/v1/protocols/standard/versions/0", "/v1/protocols/standard/versions/x", "/v1/protocols/clinic-x/versions/1"]
    {
        app.get(odd, &admin.token).await.assert_problem(404);
    }
    // Still a draft: the other clinic's attempt changed nothing.
    let still = app.get(&path, &admin.token).await;
    assert_eq!(still.body["status"], "draft");
    // The away clinic's own new treatments keep the standard protocol.
    let away_patient = app.patient(&away, "Europe/Madrid").await;
    let t = treatment(&app, &away, &away_patient.id, today_in("Europe/Madrid")).await;
    assert_eq!(t["protocol"], json!({ "id": "standard", "version": 2 }));
}
