//! Issue 15, item 3: the questions a check-in asks are protocol data. The API serves the questions of
//! a treatment's day, a check-in answers them under their keys, the answers are stored as given
//! and judged by the protocol version of the treatment; check-ins of older versions stay readable
//! and keep their judgement.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde_json::{Value, json};

use aftercare::db::schema::{check_ins, treatments};

use crate::clinic_protocols::standard_document;
use crate::fixtures::{check_in, symptoms, today_in, treatment};
use crate::support::{Session, TestApp, spawn};

const ZONE: &str = "America/New_York";

async fn questions(app: &TestApp, who: &Session, treatment_id: &str, on: NaiveDate) -> Vec<Value> {
    let got = app.get(&format!("/v1/treatments/{treatment_id}/check-in-questions?on={on}"), &who.token).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.body["questions"].as_array().unwrap().clone()
}

fn signs(questions: &[Value]) -> Vec<String> {
    questions.iter().map(|q| q["sign"].as_str().unwrap().to_string()).collect()
}

/// The treatment's day `day` (1 = the treatment date).
fn day(treated_on: NaiveDate, day: i64) -> NaiveDate {
    treated_on + Duration::days(day - 1)
}

#[actix_web::test]
async fn the_questions_of_a_day_come_from_the_treatments_protocol() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, ZONE).await;
    let treated_on = today_in(ZONE) - Duration::days(40);
    let t = treatment(&app, &admin, &patient.id, treated_on).await["id"].as_str().unwrap().to_string();

    let first = questions(&app, &patient, &t, treated_on).await;
    let core = ["redness", "swelling", "pain", "itching", "peeling", "bleeding", "pus", "fever", "hives", "darkening"];
    assert_eq!(signs(&first)[..10], core);
    for sign in ["cold_sore_tingling", "cold_sore_blisters", "bleeding_not_stopping", "spreading_warmth", "rash"] {
        assert!(signs(&first).contains(&sign.to_string()), "{sign} is asked on day 1");
    }
    assert!(!signs(&first).contains(&"lumps".to_string()) && !signs(&first).contains(&"redness_worsening".to_string()));
    let redness = &first[0];
    assert_eq!(redness["kind"], "score");
    assert_eq!((redness["minimum"].clone(), redness["maximum"].clone()), (json!(0), json!(10)));
    assert_eq!(redness["required"], true);
    let blisters = first.iter().find(|q| q["sign"] == "cold_sore_blisters").unwrap();
    assert_eq!(blisters["kind"], "yes_no");
    assert_eq!(blisters["required"], false);
    assert!(blisters.get("minimum").is_none());
    assert!(blisters["question"].as_str().unwrap().ends_with('?'));

    // The windows: bleeding that will not stop on day 1 only, cold sores in days 1-7, worsening
    // redness after day 3, lumps from week 2.
    let asked = |questions: &[Value], sign: &str| signs(questions).contains(&sign.to_string());
    let day2 = questions(&app, &patient, &t, day(treated_on, 2)).await;
    assert!(!asked(&day2, "bleeding_not_stopping") && asked(&day2, "cold_sore_blisters"));
    let day4 = questions(&app, &patient, &t, day(treated_on, 4)).await;
    assert!(asked(&day4, "redness_worsening"));
    let day8 = questions(&app, &patient, &t, day(treated_on, 8)).await;
    assert!(!asked(&day8, "cold_sore_blisters") && !asked(&day8, "cold_sore_tingling") && asked(&day8, "lumps"));

    // The staff of the clinic read them too; the answer names the day and the protocol.
    let staff =
        app.get(&format!("/v1/treatments/{t}/check-in-questions?on={}", day(treated_on, 8)), &admin.token).await;
    assert_eq!(staff.body["day_number"], 8);
    assert_eq!(staff.body["protocol"], json!({ "id": "standard", "version": 2 }));
    assert_eq!(staff.body["questions"], json!(day8));
    // Today by default, in the patient's zone.
    let today = app.get(&format!("/v1/treatments/{t}/check-in-questions"), &patient.token).await;
    assert_eq!(today.body["local_date"], today_in(ZONE).to_string());
    assert_eq!(today.body["day_number"], 41);

    // In Spanish: the same signs, kinds and order, other words; the answer says its language.
    let path = format!("/v1/treatments/{t}/check-in-questions?on={treated_on}");
    let spanish = app
        .call_with_headers(reqwest::Method::GET, &path, Some(&patient.token), None, &[("accept-language", "es-ES")])
        .await;
    assert_eq!(spanish.header("content-language"), "es");
    let in_spanish = spanish.body["questions"].as_array().unwrap();
    assert_eq!(signs(in_spanish), signs(&first));
    for (es, en) in in_spanish.iter().zip(&first) {
        assert_eq!((&es["kind"], &es["required"]), (&en["kind"], &en["required"]));
        assert_ne!(es["question"], en["question"], "{} is translated", en["sign"]);
    }

    // Bad dates are named; other clinics and other patients see nothing.
    let early = app
        .get(&format!("/v1/treatments/{t}/check-in-questions?on={}", treated_on.pred_opt().unwrap()), &patient.token)
        .await;
    assert_eq!(early.assert_problem(422), ["on"]);
    let malformed = app.get(&format!("/v1/treatments/{t}/check-in-questions?on=tomorrow"), &patient.token).await;
    assert_eq!(malformed.assert_problem(422), ["on"]);
    let other_clinic = app.clinic("South").await;
    app.get(&format!("/v1/treatments/{t}/check-in-questions"), &other_clinic.token).await.assert_problem(404);
    let other_patient = app.patient(&admin, ZONE).await;
    app.get(&format!("/v1/treatments/{t}/check-in-questions"), &other_patient.token).await.assert_problem(404);
}

#[actix_web::test]
async fn answers_to_the_new_signs_are_stored_as_given_and_judged() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, ZONE).await;
    let treated_on = today_in(ZONE) - Duration::days(1);
    let t = treatment(&app, &admin, &patient.id, treated_on).await["id"].as_str().unwrap().to_string();

    // Day 2: blisters in the first week are urgent, with the reason of that sign.
    let mut answers = symptoms(2, false);
    answers["cold_sore_blisters"] = json!(true);
    answers["rash"] = json!(false);
    let sent = check_in(&app, &patient, &t, json!({ "symptoms": answers })).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(sent.body["day_number"], 2);
    assert_eq!(sent.body["assessment"]["level"], "urgent");
    assert_eq!(sent.body["assessment"]["reasons"][0]["code"], "possible_cold_sore_blisters");
    assert_eq!(sent.body["symptoms"]["cold_sore_blisters"], true);
    assert_eq!(sent.body["symptoms"]["rash"], false);
    assert_eq!(sent.body["symptoms"]["redness"], 2);
    // The optional questions of day 2 left unanswered are named (not the day-1-only one).
    let unanswered: Vec<&str> =
        sent.body["unanswered"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert_eq!(unanswered, ["spreading_warmth", "lip_or_eye_swelling", "breathing_trouble", "cold_sore_tingling"]);
    let stored = app.get(&format!("/v1/check-ins/{}", sent.str("id")), &admin.token).await;
    assert_eq!(stored.body["symptoms"], sent.body["symptoms"]);
    assert_eq!(stored.body["unanswered"], sent.body["unanswered"]);
    let queue = app.get("/v1/review-queue?limit=1", &admin.token).await;
    assert_eq!(queue.body["items"][0]["id"], sent.body["id"]);

    // An answer of the wrong kind to a new sign refuses the check-in like a core one (the wrong
    // JSON type: 400), naming it.
    let mut wrong = symptoms(2, false);
    wrong["lip_or_eye_swelling"] = json!(3);
    let refused = check_in(&app, &patient, &t, json!({ "symptoms": wrong })).await;
    refused.assert_problem(400);
    assert!(refused.text.contains("symptoms.lip_or_eye_swelling"), "{}", refused.text);
    // A sign the protocol does not ask is ignored, the check-in kept.
    let mut unknown = symptoms(2, false);
    unknown["sneezing"] = json!(true);
    let kept = check_in(&app, &patient, &t, json!({ "symptoms": unknown })).await;
    assert_eq!(kept.status, 201);
    assert_eq!(kept.body["ignored"][0]["field"], "symptoms.sneezing");
    assert!(kept.body["symptoms"].get("sneezing").is_none());
}

#[actix_web::test]
async fn check_ins_of_older_versions_stay_readable_and_keep_their_judgement() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, ZONE).await;
    let treated_on = today_in(ZONE) - Duration::days(2);
    let t = treatment(&app, &admin, &patient.id, treated_on).await["id"].as_str().unwrap().to_string();
    {
        let mut conn = app.db.pool().get().unwrap();
        diesel::update(treatments::table.find(&t)).set(treatments::protocol_version.eq(1)).execute(&mut *conn).unwrap();
    }
    // v1 asks the ten core signs only; a v2 sign sent anyway is ignored, not judged.
    let asked = questions(&app, &patient, &t, treated_on).await;
    assert_eq!(signs(&asked).len(), 10);
    let mut answers = symptoms(1, false);
    answers["cold_sore_blisters"] = json!(true);
    let sent = check_in(&app, &patient, &t, json!({ "symptoms": answers })).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(sent.body["protocol"], json!({ "id": "standard", "version": 1 }));
    assert_eq!(sent.body["assessment"]["level"], "ok");
    assert_eq!(sent.body["ignored"][0]["field"], "symptoms.cold_sore_blisters");
    assert_eq!(sent.body["unanswered"], json!([]));

    // A check-in stored before answers were a column of their own reads from the core columns.
    let fever = check_in(
        &app,
        &patient,
        &t,
        json!({ "symptoms": { "redness": 3, "swelling": 1, "pain": 2, "itching": 0,
        "peeling": 4, "bleeding": false, "pus": false, "fever": true, "hives": false, "darkening": false } }),
    )
    .await;
    let id = fever.str("id");
    {
        let mut conn = app.db.pool().get().unwrap();
        diesel::update(check_ins::table.find(&id))
            .set(check_ins::answers.eq(None::<String>))
            .execute(&mut *conn)
            .unwrap();
    }
    let read = app.get(&format!("/v1/check-ins/{id}"), &admin.token).await;
    assert_eq!(read.body["symptoms"], fever.body["symptoms"]);
    assert_eq!(read.body["assessment"], fever.body["assessment"]);
    assert_eq!(read.body["assessment"]["level"], "urgent");
}

#[actix_web::test]
async fn a_clinic_adds_a_sign_without_a_release() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, ZONE).await;
    let mut document = standard_document(&app, &admin).await;
    document["title"] = json!("North aftercare with a sign of our own");
    document["assessment"]["signs"].as_array_mut().unwrap().push(json!({
        "key": "eye_irritation", "kind": "score", "question": "How irritated are your eyes? (0 = not at all, 10 = very)",
        "from_day": 1, "to_day": 14
    }));
    document["assessment"]["rules"].as_array_mut().unwrap().push(json!({
        "sign": "eye_irritation", "at_least": 6, "level": "watch", "code": "eye_irritation",
        "message": "Irritated eyes after a facial treatment are worth a look. The clinic will review your check-in."
    }));
    // The document speaks Spanish too, so the new texts need their Spanish.
    document["translations"]["es"]["sign.eye_irritation.question"] =
        json!("¿Cuánto le molestan los ojos? (0 = nada, 10 = mucho)");
    document["translations"]["es"]["rule.eye_irritation.message"] =
        json!("Conviene revisar los ojos irritados tras un tratamiento facial. La clínica revisará su registro.");
    // A rule must name a sign the document asks, with the right kind of threshold.
    let mut broken = document.clone();
    broken["assessment"]["rules"].as_array_mut().unwrap().last_mut().unwrap()["sign"] = json!("eye_strain");
    let refused = app.post("/v1/protocols", &admin.token, json!({ "document": broken })).await;
    refused.assert_problem(422);
    assert!(refused.text.contains("eye_strain"), "{}", refused.text);
    // A core sign cannot be dropped: older apps and the API's schema rely on it.
    let mut dropped = document.clone();
    dropped["assessment"]["signs"].as_array_mut().unwrap().retain(|s| s["key"] != "fever");
    let refused = app.post("/v1/protocols", &admin.token, json!({ "document": dropped })).await;
    refused.assert_problem(422);
    assert!(refused.text.contains("fever"), "{}", refused.text);

    // The clinical floor: an urgent sign of the standard protocol cannot be dropped or made less.
    let mut laxer = document.clone();
    for rule in laxer["assessment"]["rules"].as_array_mut().unwrap() {
        if rule["sign"] == "cold_sore_blisters" {
            rule["level"] = json!("watch");
        }
    }
    let refused = app.post("/v1/protocols", &admin.token, json!({ "document": laxer })).await;
    assert_eq!(refused.assert_problem(422), ["document"]);
    assert!(
        refused.text.contains("cold_sore_blisters must be asked and made urgent on days 1 to 7"),
        "{}",
        refused.text
    );

    let drafted = app.post("/v1/protocols", &admin.token, json!({ "document": document })).await;
    assert_eq!(drafted.status, 201, "{}", drafted.text);
    let (id, version) = (drafted.str("id"), drafted.body["version"].as_i64().unwrap());
    let done = app.post(&format!("/v1/protocols/{id}/versions/{version}/publish"), &admin.token, Value::Null).await;
    assert_eq!(done.status, 200, "{}", done.text);

    // New treatments ask it and judge it (`treatment` screens under the clinic's version first).
    let treated_on = today_in(ZONE);
    let t = treatment(&app, &admin, &patient.id, treated_on).await;
    assert_eq!(t["protocol"]["id"], json!(id));
    let t = t["id"].as_str().unwrap();
    let asked = questions(&app, &patient, t, treated_on).await;
    assert!(signs(&asked).contains(&"eye_irritation".to_string()));
    let mut answers = symptoms(1, false);
    answers["eye_irritation"] = json!(7);
    let sent = check_in(&app, &patient, t, json!({ "symptoms": answers })).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(sent.body["assessment"]["level"], "watch");
    assert_eq!(sent.body["assessment"]["reasons"][0]["code"], "eye_irritation");
    assert_eq!(sent.body["symptoms"]["eye_irritation"], 7);
}
