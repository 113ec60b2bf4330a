//! Issue 15, item 1: a check-in never loses a safety-relevant report. Every sign that makes a
//! check-in urgent on some day under the protocol new treatments use, sent with each kind of
//! invalid secondary field, is stored (201), judged urgent, put at the top of the clinic's review
//! queue, and the answer names the field it ignored.

use aftercare::plan::Level;
use aftercare::plan::protocol::{AssessmentRule, Protocol, STANDARD_V2};
use aftercare::plan::questions::SignKind;
use chrono::Duration;
use serde_json::{Value, json};

use crate::fixtures::{check_in, symptoms, today_in, treatment};
use crate::support::{Answer, TestApp, spawn};

const ZONE: &str = "Europe/Berlin";

/// The urgent rules of the protocol new treatments are planned with, each with the day (within
/// its window and the plan) it is tested on.
fn urgent_rules() -> Vec<(AssessmentRule, i64)> {
    let protocol = Protocol::parse(STANDARD_V2).unwrap();
    assert_eq!(Protocol::standard().version, protocol.version, "new treatments use standard v2");
    let rules: Vec<(AssessmentRule, i64)> = protocol
        .assessment
        .rules
        .iter()
        .filter(|r| r.level == Level::Urgent)
        .map(|r| (r.clone(), r.from_day.unwrap_or(1).max(1)))
        .collect();
    assert!(rules.len() >= 4, "bleeding, pus, fever and hives at least: {rules:?}");
    rules
}

/// Symptoms that show exactly this rule's sign (a score at its threshold, or a yes), nothing else.
fn showing(rule: &AssessmentRule) -> Value {
    let mut body = json!({ "redness": 0, "swelling": 0, "pain": 0, "itching": 0, "peeling": 0,
                           "bleeding": false, "pus": false, "fever": false, "hives": false, "darkening": false });
    let protocol = Protocol::standard();
    let kind = protocol.sign(&rule.sign).expect("rules name signs").kind;
    body[&rule.sign] = if kind == SignKind::Score { json!(rule.at_least.unwrap()) } else { json!(true) };
    body
}

/// Each kind of invalid secondary field: a name, the body's fields to set, and the field that
/// `ignored` must name.
fn invalid_secondaries(treated_on: chrono::NaiveDate) -> Vec<(&'static str, Value, &'static str)> {
    let today = today_in(ZONE);
    vec![
        ("local_date of the wrong type", json!({ "local_date": 20261201 }), "local_date"),
        ("local_date as an object", json!({ "local_date": { "y": 2026 } }), "local_date"),
        ("local_date malformed", json!({ "local_date": "2026-02-31" }), "local_date"),
        ("local_date not a date", json!({ "local_date": "yesterday" }), "local_date"),
        ("local_date out of range", json!({ "local_date": "1899-12-31" }), "local_date"),
        (
            "local_date before the treatment",
            json!({ "local_date": (treated_on - Duration::days(1)).to_string() }),
            "local_date",
        ),
        ("local_date after tomorrow", json!({ "local_date": (today + Duration::days(2)).to_string() }), "local_date"),
        ("notes of the wrong type", json!({ "notes": ["pus", "fever"] }), "notes"),
        ("notes as a number", json!({ "notes": 42 }), "notes"),
        ("notes with NUL", json!({ "notes": "it hurts\u{0}a lot" }), "notes"),
        ("notes with ESC", json!({ "notes": "it hurts\u{1b}[2J" }), "notes"),
        ("notes with C1 control", json!({ "notes": "it hurts\u{85}" }), "notes"),
        ("notes too long", json!({ "notes": "x".repeat(2001) }), "notes"),
        ("adherence of the wrong type", json!({ "adherence": ["sunscreen"] }), "adherence"),
        ("adherence as text", json!({ "adherence": "sunscreen" }), "adherence"),
        ("adherence key unknown", json!({ "adherence": { "flossing": true } }), "adherence.flossing"),
        ("adherence value a string", json!({ "adherence": { "sunscreen": "yes" } }), "adherence.sunscreen"),
        ("adherence value a number", json!({ "adherence": { "sunscreen": 1 } }), "adherence.sunscreen"),
        ("adherence value null", json!({ "adherence": { "sunscreen": null } }), "adherence.sunscreen"),
        ("unknown extra field", json!({ "mood": "grumpy" }), "mood"),
        ("unknown extra object", json!({ "device": { "os": "ios" } }), "device"),
    ]
}

fn ignored_fields(answer: &Answer) -> Vec<String> {
    answer.body["ignored"].as_array().unwrap().iter().map(|i| i["field"].as_str().unwrap().to_string()).collect()
}

#[actix_web::test]
async fn every_urgent_sign_with_any_one_invalid_secondary_field_reaches_the_top_of_the_queue() {
    let app = spawn().await;
    let mut failures = Vec::new();
    let mut sent = 0;
    for (rule, day) in urgent_rules() {
        let admin = app.clinic(&format!("Clinic {}", rule.code)).await;
        let patient = app.patient(&admin, ZONE).await;
        let treated_on = today_in(ZONE) - Duration::days(day - 1);
        let t = treatment(&app, &admin, &patient.id, treated_on).await["id"].as_str().unwrap().to_string();
        // Something already waits in the queue: an ok and a watch (severe pain) check-in.
        let mut calm = symptoms(0, false);
        check_in(&app, &patient, &t, json!({ "symptoms": calm })).await;
        calm["pain"] = json!(7);
        let watch = check_in(&app, &patient, &t, json!({ "symptoms": calm })).await;
        assert_eq!(watch.body["assessment"]["level"], "watch", "{}", watch.text);

        for (what, fields, named) in invalid_secondaries(treated_on) {
            let mut body = json!({ "symptoms": showing(&rule) });
            for (k, v) in fields.as_object().unwrap() {
                body[k] = v.clone();
            }
            let answer = check_in(&app, &patient, &t, body).await;
            sent += 1;
            let case = format!("{} on day {day} with {what}", rule.code);
            if answer.status != 201 {
                failures.push(format!("{case}: {} {}", answer.status, answer.text));
                continue;
            }
            if answer.body["assessment"]["level"] != "urgent" || answer.body["day_number"] != day {
                failures.push(format!("{case}: not urgent on day {day}: {}", answer.text));
            }
            if !answer.body["assessment"]["reasons"].as_array().unwrap().iter().any(|r| r["code"] == rule.code.as_str())
            {
                failures.push(format!("{case}: reason {} missing: {}", rule.code, answer.text));
            }
            if ignored_fields(&answer) != [named] {
                failures.push(format!("{case}: ignored {:?}, expected [{named}]", ignored_fields(&answer)));
            }
            let queue = app.get("/v1/review-queue?limit=1", &admin.token).await;
            let top = &queue.body["items"][0];
            if top["id"] != answer.body["id"]
                || top["assessment"]["level"] != "urgent"
                || top["ignored"] != answer.body["ignored"]
            {
                failures.push(format!("{case}: not at the top of the queue: {}", queue.text));
            }
            // Reviewed, so that the next one must reach the top on its own.
            let path = format!("/v1/check-ins/{}/review", answer.str("id"));
            let reviewed = app.post(&path, &admin.token, json!({})).await;
            assert_eq!(reviewed.status, 200, "{}", reviewed.text);
        }
        let queue = app.get("/v1/review-queue", &admin.token).await;
        assert_eq!(queue.body["counts"], json!({ "urgent": 0, "watch": 1, "ok": 1 }), "{}", rule.code);
    }
    assert!(failures.is_empty(), "{} of {sent} check-ins went wrong:\n{}", failures.len(), failures.join("\n"));
}

#[actix_web::test]
async fn valid_secondary_values_are_kept_beside_the_ignored_ones() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, ZONE).await;
    let treated_on = today_in(ZONE) - Duration::days(1);
    let t = treatment(&app, &admin, &patient.id, treated_on).await["id"].as_str().unwrap().to_string();
    let mut signs = symptoms(0, false);
    signs["pus"] = json!(true);
    signs["tingling"] = json!(true);
    let body = json!({
        "local_date": treated_on.to_string(),
        "symptoms": signs,
        "adherence": { "sunscreen": true, "cool_compress": "yes", "flossing": false },
        "notes": "Yellow crust on the chin.",
        "mood": 3,
    });
    let answer = check_in(&app, &patient, &t, body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["local_date"], treated_on.to_string(), "a valid date is kept");
    assert_eq!(answer.body["notes"], "Yellow crust on the chin.");
    assert_eq!(answer.body["adherence"], json!({ "sunscreen": true }), "the valid answer is kept");
    assert_eq!(answer.body["assessment"]["level"], "urgent");
    // Fields the request itself shows invalid first, then those that do not fit the plan or the
    // protocol's questions (known once the treatment is loaded).
    assert_eq!(ignored_fields(&answer), ["adherence.cool_compress", "mood", "adherence.flossing", "symptoms.tingling"]);
    for entry in answer.body["ignored"].as_array().unwrap() {
        assert!(!entry["message"].as_str().unwrap().contains("yes"), "messages never echo the value: {entry}");
    }
    // Acknowledged: the sunscreen reminder of that day, and nothing else.
    let reminders =
        app.get(&format!("/v1/treatments/{t}/reminders?from={treated_on}&to={treated_on}"), &patient.token).await;
    let acknowledged: Vec<&str> = reminders.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["acknowledged_at"].is_null())
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(acknowledged, ["sunscreen"]);
    // Stored with the check-in: the clinician reading it later sees what was left out.
    let stored = app.get(&format!("/v1/check-ins/{}", answer.str("id")), &admin.token).await;
    assert_eq!(stored.body["ignored"], answer.body["ignored"]);
    // A check-in with nothing wrong ignores nothing.
    let clean = check_in(&app, &patient, &t, json!({ "symptoms": symptoms(1, false) })).await;
    assert_eq!(clean.body["ignored"], json!([]));
}

#[actix_web::test]
async fn invalid_symptoms_still_refuse_the_check_in() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, ZONE).await;
    let t = treatment(&app, &admin, &patient.id, today_in(ZONE)).await["id"].as_str().unwrap().to_string();
    let mut signs = symptoms(11, false);
    signs["pus"] = json!(true);
    let refused = check_in(&app, &patient, &t, json!({ "symptoms": signs, "notes": 5, "mood": 1 })).await;
    assert_eq!(refused.assert_problem(422), ["symptoms.redness", "notes", "mood"], "every invalid field named");
    let missing = check_in(&app, &patient, &t, json!({ "notes": "pus on my chin" })).await;
    assert_eq!(missing.assert_problem(422), ["symptoms"]);
    // An answer of the wrong JSON type is malformed input (400, naming the sign), as anywhere else.
    let mut typed = symptoms(1, false);
    typed["pus"] = json!("yes");
    let typed = check_in(&app, &patient, &t, json!({ "symptoms": typed })).await;
    typed.assert_problem(400);
    assert!(typed.text.contains("symptoms.pus"), "{}", typed.text);
    let not_an_object = check_in(&app, &patient, &t, json!({ "symptoms": ["pus"] })).await;
    not_an_object.assert_problem(400);
    let not_object = check_in(&app, &patient, &t, json!(["pus"])).await;
    not_object.assert_problem(400);
    let list = app.get(&format!("/v1/treatments/{t}/check-ins"), &admin.token).await;
    assert_eq!(list.body["items"], json!([]), "nothing stored");
}

#[actix_web::test]
async fn a_replayed_check_in_carries_what_the_first_ignored() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, ZONE).await;
    let t = treatment(&app, &admin, &patient.id, today_in(ZONE)).await["id"].as_str().unwrap().to_string();
    let mut signs = symptoms(0, false);
    signs["fever"] = json!(true);
    let body = json!({ "symptoms": signs, "notes": "feverish\u{0}", "adherence": { "flossing": true } });
    let send = || async {
        let response = app
            .client
            .post(format!("{}/v1/treatments/{t}/check-ins", app.base))
            .bearer_auth(&patient.token)
            .header("Idempotency-Key", "lost-answer-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        TestApp::answer(response).await
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(ignored_fields(&first), ["notes", "adherence.flossing"], "read first, then fitted to the plan");
    let retry = send().await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("Idempotency-Replayed"), "true");
    assert_eq!(retry.text, first.text, "the first answer, ignored fields included");
    let list = app.get(&format!("/v1/treatments/{t}/check-ins"), &admin.token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "one check-in");
    assert_eq!(list.body["items"][0]["ignored"], first.body["ignored"]);
}
