//! Tenant isolation, proven route by route: every route of the server's own route table that names
//! a resource by id is called by every kind of intruder. Each call must be refused (404, or 403
//! where the intruder's role may not act at all), must not leak the victim's data, and must change
//! nothing. A new id-bearing route fails this test until it has a fixture below, which is the
//! moment to make sure it is scoped.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{
    PhotoBody, TreatmentBody, check_in, check_in_body, screening_all_no, today_in, treatment, verified_photo,
};
use crate::support::{Session, TestApp, served_routes, spawn};

struct Victim {
    clinician: Session,
    patient: Session,
    /// The path of the treatment's calendar feed (its secret included).
    feed: String,
    ids: Vec<(&'static str, String)>,
    /// The version in `/v1/protocols/{id}/versions/{version}`: a draft of the victim's clinic.
    protocol_version: String,
}

impl Victim {
    fn id_for(&self, segment: &str) -> Option<&str> {
        self.ids.iter().find(|(s, _)| *s == segment).map(|(_, id)| id.as_str())
    }
}

async fn victim(app: &TestApp, admin: &Session) -> Victim {
    // The clinic's own protocol: version 1 published (the treatment below is planned with it),
    // version 2 a draft (which an intruder's publish would change).
    let (protocol, _) = crate::clinic_protocols::published(app, admin).await;
    let document = crate::clinic_protocols::clinic_document(app, admin).await;
    let draft = app.post("/v1/protocols", &admin.token, json!({ "document": document })).await;
    assert_eq!(draft.status, 201, "{}", draft.text);
    let clinician = app.clinician(admin).await;
    let patient = app.patient(&clinician, "Europe/Madrid").await;
    let t = treatment(app, &clinician, &patient.id, today_in("Europe/Madrid") - Duration::days(2)).await;
    let t = t["id"].as_str().unwrap().to_string();
    // The patient's assessment now differs from the one frozen on the treatment: a re-plan that
    // slipped through would show in the victim's data.
    let changed =
        app.patch(&format!("/v1/patients/{}", patient.id), &clinician.token, json!({ "skin_type": "oily" })).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let c = check_in(app, &patient, &t, check_in_body(3, false)).await.body;
    let c = c["id"].as_str().unwrap().to_string();
    // With its bytes uploaded: staff see only verified photos, and the bytes are a route too.
    let photo = verified_photo(app, &patient, &format!("/v1/check-ins/{c}/photos"), PhotoBody::default()).await;
    let reminders = app.get(&format!("/v1/treatments/{t}/reminders"), &patient.token).await.body;
    let r = reminders["items"][0]["id"].as_str().unwrap().to_string();
    let erasure = app.post("/v1/me/erasure-requests", &patient.token, json!({ "reason": "please" })).await;
    assert_eq!(erasure.status, 201, "{}", erasure.text);
    let feed = app.post(&format!("/v1/treatments/{t}/calendar-subscription"), &patient.token, Value::Null).await;
    let feed = feed.str("feed_url").trim_start_matches(app.base.as_str()).to_string();
    assert_eq!(t_protocol(app, &clinician, &t).await, json!({ "id": protocol, "version": 1 }));
    Victim {
        feed,
        protocol_version: draft.body["version"].to_string(),
        ids: vec![
            ("patients", patient.id.clone()),
            ("treatments", t),
            ("check-ins", c),
            ("photos", photo["id"].as_str().unwrap().to_string()),
            ("reminders", r),
            ("erasure-requests", erasure.str("id")),
            ("clinicians", clinician.id.clone()),
            ("protocols", protocol),
        ],
        clinician,
        patient,
    }
}

async fn t_protocol(app: &TestApp, staff: &Session, treatment_id: &str) -> Value {
    app.get(&format!("/v1/treatments/{treatment_id}"), &staff.token).await.body["protocol"].clone()
}

/// A valid body for each writing route, so that validation cannot hide a missing scope.
fn body_for(method: &str, path: &str) -> Option<Value> {
    Some(match (method, path) {
        ("GET" | "DELETE", _) => Value::Null,
        ("PATCH", "/v1/patients/{id}") => json!({ "name": "Intruder was here", "timezone": "Asia/Tokyo" }),
        ("POST", "/v1/patients/{id}/screenings") => json!({ "answers": screening_all_no() }),
        ("POST", "/v1/patients/{id}/treatments") => TreatmentBody::default().build(),
        ("POST", "/v1/treatments/{id}/check-ins") => check_in_body(2, false),
        ("POST", "/v1/check-ins/{id}/review") => json!({ "note": "looked at it" }),
        ("POST", "/v1/check-ins/{id}/photos") => PhotoBody::default().build(),
        // Bytes that would match no photo: the route must refuse the intruder before reading them.
        ("PUT", "/v1/photos/{id}/content") => json!({ "not": "an image" }),
        ("POST", "/v1/reminders/{id}/ack") => Value::Null,
        ("POST", "/v1/erasure-requests/{id}/decision") => json!({ "decision": "approve", "reason": "intruder" }),
        ("POST", "/v1/treatments/{id}/calendar-subscription") => Value::Null,
        ("POST", "/v1/clinicians/{id}/deactivate" | "/v1/clinicians/{id}/reactivate") => Value::Null,
        ("POST", "/v1/patients/{id}/invitation" | "/v1/clinicians/{id}/invitation") => Value::Null,
        ("POST", "/v1/patients/{id}/discharge") => json!({ "note": "discharged by an intruder" }),
        ("POST", "/v1/treatments/{id}/replan") => Value::Null,
        ("POST", "/v1/protocols/{id}/versions/{version}/publish") => Value::Null,
        _ => return None,
    })
}

/// Row counts of every table that holds patient or clinic data.
fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    use aftercare::db::schema::*;
    let mut conn = app.db.pool().get().unwrap();
    let c = &mut *conn;
    vec![
        ("users", users::table.count().get_result(c).unwrap()),
        ("active users", users::table.filter(users::active.eq(true)).count().get_result(c).unwrap()),
        ("discharged", patients::table.filter(patients::discharged_at.is_not_null()).count().get_result(c).unwrap()),
        ("patients", patients::table.count().get_result(c).unwrap()),
        ("patient_schedules", patient_schedules::table.count().get_result(c).unwrap()),
        ("treatments", treatments::table.count().get_result(c).unwrap()),
        ("reminder_acks", reminder_acks::table.count().get_result(c).unwrap()),
        ("screenings", screenings::table.count().get_result(c).unwrap()),
        ("check_ins", check_ins::table.count().get_result(c).unwrap()),
        ("reviewed", check_ins::table.filter(check_ins::reviewed_at.is_not_null()).count().get_result(c).unwrap()),
        ("photos", photos::table.count().get_result(c).unwrap()),
        ("invites", invites::table.count().get_result(c).unwrap()),
        ("outbox_messages", outbox_messages::table.count().get_result(c).unwrap()),
        (
            "open erasure requests",
            erasure_requests::table.filter(erasure_requests::status.eq("open")).count().get_result(c).unwrap(),
        ),
        ("calendar_subscriptions", calendar_subscriptions::table.count().get_result(c).unwrap()),
        ("protocols", protocols::table.count().get_result(c).unwrap()),
        (
            "published protocols",
            protocols::table.filter(protocols::status.eq("published")).count().get_result(c).unwrap(),
        ),
    ]
}

/// Everything the victim's own clinician can see of the victim.
async fn victim_view(app: &TestApp, v: &Victim) -> Vec<String> {
    let mut seen = Vec::new();
    for (segment, id) in &v.ids {
        if !matches!(*segment, "reminders" | "erasure-requests" | "clinicians" | "protocols") {
            seen.push(app.get(&format!("/v1/{segment}/{id}"), &v.clinician.token).await.text);
        }
    }
    let photo = v.id_for("photos").unwrap();
    for size in ["", "?size=original", "?size=display", "?size=thumbnail"] {
        let (status, _, bytes) = app.download(&format!("/v1/photos/{photo}/content{size}"), &v.clinician.token).await;
        seen.push(format!("{status} {}", hex::encode(bytes)));
    }
    let protocol = v.id_for("protocols").unwrap();
    for version in ["1", v.protocol_version.as_str()] {
        seen.push(app.get(&format!("/v1/protocols/{protocol}/versions/{version}"), &v.clinician.token).await.text);
    }
    let t = v.id_for("treatments").unwrap();
    for sub in ["reminders", "notifications", "check-ins", "photos", "timeline"] {
        seen.push(app.get(&format!("/v1/treatments/{t}/{sub}"), &v.clinician.token).await.text);
    }
    // The calendar subscription: still the same, and its feed still answers (not rotated or revoked).
    seen.push(app.get(&format!("/v1/treatments/{t}/calendar-subscription"), &v.clinician.token).await.text);
    let feed = app.call(Method::GET, &v.feed, None, None).await;
    seen.push(format!("{} {}", feed.status, feed.text));
    seen
}

#[actix_web::test]
async fn no_intruder_reaches_another_patients_data_on_any_route() {
    let app = spawn().await;
    let home = app.clinic("Home Clinic").await;
    let away = app.clinic("Away Clinic").await;
    let v = victim(&app, &home).await;
    let intruders = [
        ("another patient of the same clinic", app.patient(&home, "Europe/Madrid").await),
        ("a patient of another clinic", app.patient(&away, "Europe/Madrid").await),
        ("a clinician of another clinic", app.clinician(&away).await),
        ("an admin of another clinic", away.clone()),
    ];
    let before = (counts(&app), victim_view(&app, &v).await);

    let routes = served_routes(&app).await;
    // Lists without an id must not show the victim (checked first: the audit trail of the
    // intruder's clinic will rightly echo the ids the intruders tried below).
    for (method, path) in routes.iter().filter(|(m, p)| m == "GET" && p.starts_with("/v1/") && !p.contains('{')) {
        for (who, intruder) in &intruders {
            let answer = app.call(Method::GET, path, Some(&intruder.token), None).await;
            for (_, secret) in &v.ids {
                assert!(!answer.text.contains(secret.as_str()), "{who}: {method} {path} leaked an id");
            }
            assert!(!answer.text.contains(&v.patient.email), "{who}: {method} {path} leaked an email");
        }
    }
    let mut refused = 0;
    for (method, path) in routes.iter().filter(|(_, path)| path.contains("{id}")) {
        let segment = path.split('/').collect::<Vec<_>>().windows(2).find(|w| w[1] == "{id}").map(|w| w[0]).unwrap();
        let id =
            v.id_for(segment).unwrap_or_else(|| panic!("no fixture for {method} {path}: add one, and scope the route"));
        let body = body_for(method, path).unwrap_or_else(|| panic!("no request body for {method} {path}: add one"));
        let url = path.replace("{id}", id).replace("{version}", &v.protocol_version);
        for (who, intruder) in &intruders {
            let body = (!body.is_null()).then(|| body.clone());
            let answer =
                app.call(Method::from_bytes(method.as_bytes()).unwrap(), &url, Some(&intruder.token), body).await;
            let status = answer.status.as_u16();
            assert!(status == 404 || status == 403, "{who}: {method} {path} answered {status}: {}", answer.text);
            answer.assert_problem(status);
            for (_, secret) in &v.ids {
                assert!(!answer.text.contains(secret.as_str()), "{who}: {method} {path} leaked an id");
            }
            refused += 1;
        }
    }
    // The photo's bytes in every size getPhotoContent serves.
    let content = format!("/v1/photos/{}/content", v.id_for("photos").unwrap());
    for size in ["original", "display", "thumbnail"] {
        for (who, intruder) in &intruders {
            let (status, _, bytes) = app.download(&format!("{content}?size={size}"), &intruder.token).await;
            assert_eq!(status, 404, "{who}: size={size} answered {status}: {}", String::from_utf8_lossy(&bytes));
        }
    }
    let after = (counts(&app), victim_view(&app, &v).await);
    assert_eq!(before.0, after.0, "row counts changed");
    assert!(before.1 == after.1, "the victim's data changed");
    let id_routes = routes.iter().filter(|(_, p)| p.contains("{id}")).count();
    assert_eq!(refused, id_routes * intruders.len());
    assert!(id_routes >= 19, "expected the whole route table, found only {id_routes} id-bearing routes");
    eprintln!(
        "isolation matrix: {id_routes} id-bearing routes x {} intruders = {refused} calls, all refused",
        intruders.len()
    );
}
