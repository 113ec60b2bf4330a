//! Screening v2 (the questions the current protocol asks, served as data) and the screening gate
//! before a treatment: none, outdated, stale, ineligible, eligible, and a clinician's override.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{TreatmentBody, screen, screening_all_no, today_in};
use crate::support::{Answer, Session, TestApp, spawn};

/// The problem type of a 409 answer, after `urn:aftercare:problem:`.
fn problem_type(answer: &Answer) -> String {
    assert_eq!(answer.status, 409, "{}", answer.text);
    answer.assert_problem(409);
    answer.body["type"].as_str().unwrap().trim_start_matches("urn:aftercare:problem:").to_string()
}

async fn treat(app: &TestApp, staff: &Session, patient_id: &str, body: Value) -> Answer {
    app.post(&format!("/v1/patients/{patient_id}/treatments"), &staff.token, body).await
}

async fn screen_with(app: &TestApp, staff: &Session, patient_id: &str, yes: &[&str]) -> Answer {
    let mut answers = screening_all_no();
    for question in yes {
        answers[*question] = json!(true);
    }
    app.post(&format!("/v1/patients/{patient_id}/screenings"), &staff.token, json!({ "answers": answers })).await
}

/// Moves a screening back in time, or under another protocol version, as if it had been made then.
fn age_screening(app: &TestApp, id: &str, days: i64, protocol_version: Option<i32>) {
    use aftercare::db::schema::screenings;
    let mut conn = app.db.pool().get().unwrap();
    let at = chrono::Utc::now().naive_utc() - Duration::days(days);
    diesel::update(screenings::table.find(id)).set(screenings::created_at.eq(at)).execute(&mut *conn).unwrap();
    if let Some(version) = protocol_version {
        diesel::update(screenings::table.find(id))
            .set(screenings::protocol_version.eq(version))
            .execute(&mut *conn)
            .unwrap();
    }
}

#[actix_web::test]
async fn the_questions_are_served_and_every_one_must_be_answered() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&admin, "Europe/London").await;

    let served = app.get("/v1/screening-questions", &clinician.token).await;
    assert_eq!(served.status, 200, "{}", served.text);
    assert_eq!(served.body["protocol"], json!({ "id": "standard", "version": 2 }));
    let questions = served.body["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 15);
    let by_key = |key: &str| questions.iter().find(|q| q["key"] == key).unwrap_or_else(|| panic!("{key}")).clone();
    for (key, if_yes) in [
        ("isotretinoin", "contraindication"),
        ("skin_infection", "contraindication"),
        ("sunburn", "contraindication"),
        ("metal_allergy", "caution"),
        ("cold_sores", "caution"),
        ("eczema", "contraindication"),
        ("numbing_allergy", "caution"),
    ] {
        let q = by_key(key);
        assert_eq!(q["if_yes"], if_yes, "{key}");
        assert!(q["question"].as_str().unwrap().ends_with('?'), "{key}");
    }
    assert!(by_key("cold_sores")["message"].as_str().unwrap().contains("antiviral"));
    // Every served key is one the screening body takes: answering all of them no is a clear screening.
    let answers: serde_json::Map<String, Value> =
        questions.iter().map(|q| (q["key"].as_str().unwrap().to_string(), json!(false))).collect();
    let path = format!("/v1/patients/{}/screenings", patient.id);
    let clear = app.post(&path, &clinician.token, json!({ "answers": answers })).await;
    assert_eq!(clear.status, 201, "{}", clear.text);
    assert_eq!((clear.body["eligible"].clone(), clear.body["cautions"].clone()), (json!(true), json!([])));
    app.get("/v1/screening-questions", &patient.token).await.assert_problem(403);

    // A client built for protocol v1 sends its ten answers: the 422 names the five it lacks.
    let mut v1 = screening_all_no();
    for new in ["isotretinoin", "skin_infection", "sunburn", "metal_allergy", "cold_sores"] {
        v1.as_object_mut().unwrap().remove(new);
    }
    let refused = app.post(&path, &clinician.token, json!({ "answers": v1 })).await;
    assert_eq!(
        refused.assert_problem(422),
        [
            "answers.isotretinoin",
            "answers.skin_infection",
            "answers.sunburn",
            "answers.metal_allergy",
            "answers.cold_sores"
        ]
    );

    // The new questions: three defer treatment, two are cautions.
    for bar in ["isotretinoin", "skin_infection", "sunburn"] {
        let outcome = screen_with(&app, &clinician, &patient.id, &[bar]).await;
        assert_eq!(outcome.body["eligible"], false, "{bar}");
        assert_eq!(outcome.body["contraindications"].as_array().unwrap().len(), 1, "{bar}");
    }
    let cautions = screen_with(&app, &clinician, &patient.id, &["metal_allergy", "cold_sores"]).await;
    assert_eq!(cautions.body["eligible"], true);
    let codes: Vec<_> = cautions.body["cautions"].as_array().unwrap().iter().map(|f| f["code"].clone()).collect();
    assert_eq!(codes, [json!("metal_allergy"), json!("cold_sores")]);
    assert!(cautions.body["cautions"][1]["message"].as_str().unwrap().contains("antiviral"));
}

#[actix_web::test]
async fn a_treatment_needs_a_fresh_eligible_screening_under_the_current_protocol() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&admin, "UTC").await;
    let body = || TreatmentBody::default().treated_on(today_in("UTC") - Duration::days(1)).build();

    // Never screened.
    let none = treat(&app, &clinician, &patient.id, body()).await;
    assert_eq!(problem_type(&none), "screening-required");
    assert!(none.body["detail"].as_str().unwrap().contains("screening_override"), "{}", none.text);

    // Screened, but found not eligible.
    let barred = screen_with(&app, &clinician, &patient.id, &["sunburn"]).await;
    assert_eq!(barred.body["eligible"], false);
    let ineligible = treat(&app, &clinician, &patient.id, body()).await;
    assert_eq!(problem_type(&ineligible), "screening-ineligible");
    assert!(ineligible.body["detail"].as_str().unwrap().contains("sunburn_at_site"), "{}", ineligible.text);

    // Eligible now: the treatment names the screening that cleared it.
    let clear = screen(&app, &clinician, &patient.id).await;
    let treated = treat(&app, &clinician, &patient.id, body()).await;
    assert_eq!(treated.status, 201, "{}", treated.text);
    assert_eq!(treated.body["screening_id"], clear["id"]);
    assert_eq!(treated.body["screening_override"], Value::Null);

    // Only the latest screening counts: a newer ineligible one is not outweighed by the older one.
    screen_with(&app, &clinician, &patient.id, &["isotretinoin"]).await;
    assert_eq!(problem_type(&treat(&app, &clinician, &patient.id, body()).await), "screening-ineligible");

    // Older than the clinic's period (30 days by default): a fresh one is needed. (Another patient,
    // whose only screening is the one moved back in time, so that it stays the latest.)
    let patient = app.patient(&admin, "UTC").await;
    let clear = screen(&app, &clinician, &patient.id).await;
    age_screening(&app, clear["id"].as_str().unwrap(), 29, None);
    assert_eq!(treat(&app, &clinician, &patient.id, body()).await.status, 201);
    age_screening(&app, clear["id"].as_str().unwrap(), 31, None);
    let stale = treat(&app, &clinician, &patient.id, body()).await;
    assert_eq!(problem_type(&stale), "screening-stale");
    assert!(stale.body["detail"].as_str().unwrap().contains("30 days"), "{}", stale.text);

    // A clinic with a longer period accepts it; a body without `screening` keeps the period.
    let settings =
        json!({ "urgent_alerts": { "enabled": true, "recipients": [] }, "screening": { "valid_days": 60.0 } });
    let saved = app.call(Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(settings)).await;
    assert_eq!(saved.body["screening"], json!({ "valid_days": 60 }), "{}", saved.text);
    let alerts_only = json!({ "urgent_alerts": { "enabled": false, "recipients": [] } });
    let kept = app.call(Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(alerts_only)).await;
    assert_eq!(kept.body["screening"], json!({ "valid_days": 60 }), "{}", kept.text);
    assert_eq!(kept.body["urgent_alerts"]["enabled"], false);
    assert_eq!(app.get("/v1/clinic/settings", &admin.token).await.body["screening"]["valid_days"], 60);
    assert_eq!(treat(&app, &clinician, &patient.id, body()).await.status, 201);
    for bad in [json!(0), json!(366), json!("30"), json!(null)] {
        let settings =
            json!({ "urgent_alerts": { "enabled": true, "recipients": ["nope"] }, "screening": { "valid_days": bad } });
        let refused = app.call(Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(settings)).await;
        if bad.is_string() {
            refused.assert_problem(400);
        } else {
            assert_eq!(refused.assert_problem(422), ["urgent_alerts.recipients[0]", "screening.valid_days"]);
        }
    }
    app.call(
        Method::PUT,
        "/v1/clinic/settings",
        Some(&clinician.token),
        Some(json!({ "urgent_alerts": { "enabled": true, "recipients": [] }, "screening": { "valid_days": 5 } })),
    )
    .await
    .assert_problem(403);

    // A screening made under protocol v1 did not ask the v2 questions: it does not clear a v2 plan.
    let old = screen(&app, &clinician, &patient.id).await;
    age_screening(&app, old["id"].as_str().unwrap(), 1, Some(1));
    assert_eq!(problem_type(&treat(&app, &clinician, &patient.id, body()).await), "screening-outdated");

    // Another clinic's patient is still 404, whatever its screenings; a patient may not treat.
    let south = app.clinic("South").await;
    treat(&app, &south, &patient.id, body()).await.assert_problem(404);
    let other = app.patient(&south, "UTC").await;
    treat(&app, &other, &patient.id, body()).await.assert_problem(403);
}

#[actix_web::test]
async fn a_clinician_may_override_the_gate_with_a_reason_that_is_stored_and_audited() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&admin, "UTC").await;
    screen_with(&app, &clinician, &patient.id, &["blood_thinners"]).await;

    // An override needs a reason that says something.
    for overriding in [json!({}), json!({ "reason": "" }), json!({ "reason": " \n\t" }), json!({ "reason": null })] {
        let mut body = TreatmentBody::default().build();
        body["screening_override"] = overriding.clone();
        let refused = treat(&app, &clinician, &patient.id, body).await;
        assert_eq!(refused.assert_problem(422), ["screening_override.reason"], "{overriding}");
    }

    let reason = "Anticoagulant paused five days ago on the haematologist's advice; letter on file.";
    let body = TreatmentBody::default().screening_override(reason).build();
    let created = treat(&app, &clinician, &patient.id, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let t = created.str("id");
    let shown = &created.body["screening_override"];
    assert_eq!(shown["by_id"], clinician.id.as_str());
    assert_eq!(shown["reason"], reason);
    assert!(chrono::DateTime::parse_from_rfc3339(shown["at"].as_str().unwrap()).is_ok());
    assert_eq!(created.body["screening_id"], Value::Null);
    // Shown on the treatment to its clinic's staff and to the patient.
    for who in [&admin, &patient] {
        let read = app.get(&format!("/v1/treatments/{t}"), &who.token).await;
        assert_eq!(&read.body["screening_override"], shown, "{}", read.text);
    }

    // The trail: the override is its own kind of event, found by resource type; an ordinary
    // treatment is not among them.
    let other = app.patient(&admin, "UTC").await;
    crate::fixtures::treatment(&app, &clinician, &other.id, today_in("UTC")).await;
    app.services.state.audit.flush();
    let found = app.get("/v1/audit-events?resource_type=screening-override", &admin.token).await;
    assert_eq!(found.status, 200, "{}", found.text);
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", found.text);
    assert_eq!(items[0]["action"], "POST /v1/patients/{id}/treatments");
    assert_eq!(items[0]["resource_id"], t.as_str());
    assert_eq!(items[0]["patient_id"], patient.id.as_str());
    assert_eq!(items[0]["user_id"], clinician.id.as_str());
    assert_eq!(items[0]["status"], 201);
    let by_patient = app.get(&format!("/v1/audit-events?patient_id={}&limit=100", patient.id), &admin.token).await;
    assert!(by_patient.body["items"].as_array().unwrap().iter().any(|e| e["resource_type"] == "screening-override"));
    app.get("/v1/audit-events?resource_type=Not%20A%20Type", &admin.token).await.assert_problem(422);
    app.get("/v1/audit-events?resource_type=screening-override", &clinician.token).await.assert_problem(403);
}
