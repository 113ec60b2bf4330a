//! Procedure variants (PRP, radiofrequency, home roller, scalp) selected by the treatment, and the
//! skin and Fitzpatrick types: set by staff only, frozen on each treatment, re-planned on request.

use chrono::{Duration, NaiveDate};
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};

use crate::fixtures::today_in;
use crate::support::{Session, TestApp, is_postgres, spawn};

async fn treatment(
    app: &TestApp,
    staff: &Session,
    patient_id: &str,
    procedure: &str,
    setting: &str,
    areas: Value,
) -> Value {
    let body = json!({ "procedure": procedure, "treated_on": today_in("UTC").to_string(), "setting": setting,
                       "areas": areas, "needle_depth_mm": 0.5 });
    crate::fixtures::screen(app, staff, patient_id).await;
    let created = app.post(&format!("/v1/patients/{patient_id}/treatments"), &staff.token, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body
}

/// The reminder kinds of each of the first `days` days of the plan, by day number.
async fn kinds_by_day(app: &TestApp, token: &str, t: &Value, days: i64) -> Vec<Vec<String>> {
    let (id, from) = (t["id"].as_str().unwrap(), t["treated_on"].as_str().unwrap());
    let from: NaiveDate = from.parse().unwrap();
    let to = from + Duration::days(days - 1);
    let answer = app.get(&format!("/v1/treatments/{id}/reminders?from={from}&to={to}"), token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let items = answer.body["items"].as_array().unwrap();
    (1..=days)
        .map(|day| {
            items.iter().filter(|r| r["day_number"] == day).map(|r| r["kind"].as_str().unwrap().to_string()).collect()
        })
        .collect()
}

async fn timeline(app: &TestApp, token: &str, t: &Value) -> Value {
    let id = t["id"].as_str().unwrap();
    let answer = app.get(&format!("/v1/treatments/{id}/timeline"), token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

fn variant_keys(timeline: &Value) -> Vec<&str> {
    timeline["variants"].as_array().unwrap().iter().map(|v| v["key"].as_str().unwrap()).collect()
}

fn texts<'a>(timeline: &'a Value, phase: usize, list: &str) -> Vec<&'a str> {
    timeline["phases"][phase][list].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect()
}

fn has(day: &[String], kind: &str) -> bool {
    day.iter().any(|k| k == kind)
}

#[actix_web::test]
async fn each_variant_adds_replaces_or_drops_its_reminders_and_texts() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let pid = patient.id.as_str();

    let standard = treatment(&app, &admin, pid, "microneedling", "in_office", json!(["face", "neck"])).await;
    let base = kinds_by_day(&app, &patient.token, &standard, 15).await;
    let base_timeline = timeline(&app, &patient.token, &standard).await;
    assert!(variant_keys(&base_timeline).is_empty());
    assert!(has(&base[1], "cool_compress") && !has(&base[2], "cool_compress"));
    assert!(has(&base[6], "avoid_heat") && !has(&base[7], "avoid_heat"));

    // PRP: no washing on day 1; the compress runs to day 3; more swelling in the texts of days 1-2.
    let prp = treatment(&app, &admin, pid, "microneedling_prp", "in_office", json!(["face"])).await;
    let days = kinds_by_day(&app, &patient.token, &prp, 15).await;
    assert!(has(&days[0], "prp_no_wash") && !has(&days[1], "prp_no_wash"));
    assert!(has(&days[2], "cool_compress") && !has(&days[3], "cool_compress"));
    let t = timeline(&app, &patient.token, &prp).await;
    assert_eq!(variant_keys(&t), ["prp"]);
    assert_eq!(texts(&t, 0, "expect").len(), texts(&base_timeline, 0, "expect").len() + 1);
    assert!(texts(&t, 0, "expect").last().unwrap().contains("PRP"));

    // Radiofrequency: heat care on days 1-3, heat avoided through day 14.
    let rf = treatment(&app, &admin, pid, "rf_microneedling", "in_office", json!(["face"])).await;
    let days = kinds_by_day(&app, &patient.token, &rf, 15).await;
    assert!(has(&days[2], "rf_heat_care") && !has(&days[3], "rf_heat_care"));
    assert!(has(&days[13], "avoid_heat") && !has(&days[14], "avoid_heat"));
    let t = timeline(&app, &patient.token, &rf).await;
    assert_eq!(variant_keys(&t), ["rf"]);
    assert!(texts(&t, 1, "expect").last().unwrap().contains("grid"));

    // Home roller: roller hygiene on day 1, an infection watch to day 3, no cool compress.
    let home = treatment(&app, &admin, pid, "microneedling", "at_home", json!(["face"])).await;
    let days = kinds_by_day(&app, &patient.token, &home, 15).await;
    assert!(has(&days[0], "roller_hygiene") && !has(&days[1], "roller_hygiene"));
    assert!(has(&days[2], "infection_watch") && !has(&days[3], "infection_watch"));
    assert!(days.iter().all(|day| !has(day, "cool_compress")));
    let t = timeline(&app, &patient.token, &home).await;
    assert_eq!(variant_keys(&t), ["at_home"]);
    assert!(!texts(&t, 0, "expect").iter().any(|text| text.contains("puffiness")), "the swelling text is dropped");

    // Scalp, with the face: no hair washing for the 24 hours after the treatment (10:00 by the
    // clinic's default, so day 2's 09:00 reminder still falls inside them), gentle scalp care on
    // days 2-7.
    let scalp = treatment(&app, &admin, pid, "microneedling", "in_office", json!(["face", "scalp"])).await;
    let days = kinds_by_day(&app, &patient.token, &scalp, 15).await;
    assert!(has(&days[0], "scalp_no_wash") && has(&days[1], "scalp_no_wash") && !has(&days[2], "scalp_no_wash"));
    assert!(has(&days[1], "scalp_care") && has(&days[6], "scalp_care") && !has(&days[7], "scalp_care"));
    assert_eq!(variant_keys(&timeline(&app, &patient.token, &scalp).await), ["scalp"]);

    // PRP on the scalp: the combination's single no-washing reminder, the PRP compress, scalp care.
    let both = treatment(&app, &admin, pid, "microneedling_prp", "in_office", json!(["scalp"])).await;
    let days = kinds_by_day(&app, &patient.token, &both, 15).await;
    assert!(has(&days[0], "scalp_no_wash") && !days.iter().any(|day| has(day, "prp_no_wash")));
    assert!(has(&days[2], "cool_compress") && has(&days[2], "scalp_care"));
    assert_eq!(variant_keys(&timeline(&app, &admin.token, &both).await), ["prp", "scalp", "prp_scalp"]);
    let id = both["id"].as_str().unwrap();
    let day1 = app
        .get(
            &format!("/v1/treatments/{id}/reminders?from={0}&to={0}", both["treated_on"].as_str().unwrap()),
            &patient.token,
        )
        .await;
    let no_wash = day1.body["items"].as_array().unwrap().iter().find(|r| r["kind"] == "scalp_no_wash").unwrap().clone();
    assert!(no_wash["body"].as_str().unwrap().contains("PRP"), "{no_wash}");
    // The calendar follows the variant plan too.
    let calendar = app.get(&format!("/v1/treatments/{id}/calendar.ics"), &patient.token).await;
    assert!(calendar.text.contains("scalp"), "the calendar names the scalp reminders");

    // Unchanged days are the standard plan's.
    assert_eq!(kinds_by_day(&app, &patient.token, &both, 15).await[14], base[14]);
}

#[actix_web::test]
async fn a_version_1_treatment_keeps_the_plan_without_variants() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let t = treatment(&app, &admin, &patient.id, "microneedling_prp", "in_office", json!(["scalp"])).await;
    let id = t["id"].as_str().unwrap().to_string();
    // A treatment recorded under version 1 (before v2 shipped), as the database holds it.
    let mut conn = app.db.pool().get().unwrap();
    conn.batch_execute(&format!("UPDATE treatments SET protocol_version = 1 WHERE id = '{id}'")).unwrap();
    drop(conn);
    let answer = app.get(&format!("/v1/treatments/{id}"), &patient.token).await;
    assert_eq!(answer.body["protocol"], json!({ "id": "standard", "version": 1 }));
    let days = kinds_by_day(&app, &patient.token, &t, 8).await;
    let first_week = ["sunscreen", "avoid_heat", "no_actives", "gentle_care"];
    let day1 = ["sunscreen", "no_makeup", "no_workout", "avoid_heat", "no_actives", "gentle_care", "cool_compress"];
    assert_eq!(days[0], day1);
    assert_eq!(days[1], [&first_week[..], &["cool_compress"]].concat());
    assert_eq!(days[2], [&first_week[..], &["no_picking"]].concat());
    assert_eq!(days[7], ["sunscreen"]);
    let t = timeline(&app, &patient.token, &t).await;
    assert!(variant_keys(&t).is_empty());
    assert_eq!(texts(&t, 0, "expect").len(), 4, "version 1's texts");
}

#[actix_web::test]
async fn only_staff_change_the_skin_and_fitzpatrick_types() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let path = format!("/v1/patients/{}", patient.id);
    for body in [
        json!({ "skin_type": "dry" }),
        json!({ "fitzpatrick": 5 }),
        json!({ "fitzpatrick": 0 }),
        json!({ "reminder_time": "07:15", "skin_type": "oily", "fitzpatrick": 3 }),
    ] {
        let refused = app.patch(&path, &patient.token, body.clone()).await;
        assert_eq!(refused.status, 403, "{body}: {}", refused.text);
        assert_eq!(refused.header("content-type"), "application/problem+json");
        assert_eq!(refused.body["type"], "urn:aftercare:problem:forbidden");
        let detail = refused.body["detail"].as_str().unwrap();
        for field in ["skin_type", "fitzpatrick"] {
            assert_eq!(detail.contains(field), body.get(field).is_some(), "{detail}");
        }
        assert!(detail.contains("clinician"), "{detail}");
    }
    // Nothing of a refused body was applied.
    let unchanged = app.get(&path, &patient.token).await;
    assert_eq!(
        (&unchanged.body["skin_type"], &unchanged.body["fitzpatrick"], &unchanged.body["reminder_time"]),
        (&json!("normal"), &json!(2), &json!("09:00"))
    );
    // Other fields, and explicit nulls, are still the patient's to change.
    let allowed =
        app.patch(&path, &patient.token, json!({ "reminder_time": "07:15", "skin_type": null, "name": "Pat T" })).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    assert_eq!(allowed.body["reminder_time"], "07:15");
    let by_staff = app.patch(&path, &admin.token, json!({ "skin_type": "dry", "fitzpatrick": 5 })).await;
    assert_eq!(by_staff.status, 200, "{}", by_staff.text);
    assert_eq!((&by_staff.body["skin_type"], &by_staff.body["fitzpatrick"]), (&json!("dry"), &json!(5)));
}

#[actix_web::test]
async fn a_treatment_keeps_its_values_until_a_clinician_replans_it() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&admin, "UTC").await;
    let first = treatment(&app, &admin, &patient.id, "microneedling", "in_office", json!(["face"])).await;
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!((&first["skin_type"], &first["fitzpatrick"]), (&json!("normal"), &json!(2)));
    // Read (and so cache) the plan before the change.
    let before = kinds_by_day(&app, &patient.token, &first, 28).await;
    assert!(before.iter().flatten().all(|k| k != "hydration" && k != "pigment_watch"));

    let path = format!("/v1/patients/{}", patient.id);
    let changed = app.patch(&path, &clinician.token, json!({ "skin_type": "dry", "fitzpatrick": 5 })).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    // The existing treatment keeps its plan: same values, same reminders.
    let kept = app.get(&format!("/v1/treatments/{id}"), &patient.token).await;
    assert_eq!((&kept.body["skin_type"], &kept.body["fitzpatrick"]), (&json!("normal"), &json!(2)));
    assert_eq!(kinds_by_day(&app, &patient.token, &first, 28).await, before);
    // A later treatment takes the new values.
    let later = treatment(&app, &admin, &patient.id, "microneedling", "in_office", json!(["face"])).await;
    assert_eq!((&later["skin_type"], &later["fitzpatrick"]), (&json!("dry"), &json!(5)));
    let later_days = kinds_by_day(&app, &patient.token, &later, 28).await;
    assert!(has(&later_days[0], "hydration") && has(&later_days[27], "pigment_watch"));

    // A re-plan: staff only; another clinic's staff see no such treatment.
    let replan = format!("/v1/treatments/{id}/replan");
    app.post(&replan, &patient.token, json!({})).await.assert_problem(403);
    let south = app.clinic("South").await;
    app.post(&replan, &south.token, json!({})).await.assert_problem(404);
    let replanned = app.post(&replan, &clinician.token, json!({})).await;
    assert_eq!(replanned.status, 200, "{}", replanned.text);
    assert_eq!((&replanned.body["skin_type"], &replanned.body["fitzpatrick"]), (&json!("dry"), &json!(5)));
    let after = kinds_by_day(&app, &patient.token, &first, 28).await;
    assert!(has(&after[0], "hydration") && has(&after[27], "pigment_watch"), "the cached plan was not served");
    let again = app.post(&replan, &admin.token, json!({})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, replanned.body, "a repeat changes nothing");

    // Audited, under the patient, with who asked.
    app.services.state.audit.flush();
    let trail = app.get(&format!("/v1/audit-events?patient_id={}&limit=100", patient.id), &admin.token).await;
    let replans: Vec<&Value> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "POST /v1/treatments/{id}/replan" && e["outcome"] == "success")
        .collect();
    assert_eq!(replans.len(), 2, "{}", trail.text);
    assert!(replans.iter().any(|e| e["user_id"] == clinician.id.as_str() && e["resource_id"] == id.as_str()));
}

#[actix_web::test]
async fn the_migration_freezes_the_patients_values_on_existing_treatments() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let t = treatment(&app, &admin, &patient.id, "microneedling", "in_office", json!(["face"])).await;
    let id = t["id"].as_str().unwrap().to_string();
    let backend = if is_postgres() { "postgres" } else { "sqlite" };
    let dir = format!("{}/migrations/{backend}/2026-12-01-000019_treatment_variants", env!("CARGO_MANIFEST_DIR"));
    let (down, up) = (
        std::fs::read_to_string(format!("{dir}/down.sql")).unwrap(),
        std::fs::read_to_string(format!("{dir}/up.sql")).unwrap(),
    );
    // A treatment from before the migration, whose patient's assessment changed since.
    let mut conn = app.db.pool().get().unwrap();
    conn.batch_execute(&down).unwrap();
    conn.batch_execute(&format!(
        "UPDATE patients SET skin_type = 'sensitive', fitzpatrick = 6 WHERE id = '{}'",
        patient.id
    ))
    .unwrap();
    conn.batch_execute(&up).unwrap();
    drop(conn);
    let migrated = app.get(&format!("/v1/treatments/{id}"), &admin.token).await;
    assert_eq!((&migrated.body["skin_type"], &migrated.body["fitzpatrick"]), (&json!("sensitive"), &json!(6)));
    let days = kinds_by_day(&app, &patient.token, &t, 1).await;
    assert!(has(&days[0], "soothe") && has(&days[0], "pigment_watch"), "{days:?}");
}
