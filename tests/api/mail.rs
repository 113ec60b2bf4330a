//! E-mail through a real SMTP server (aiosmtpd): invitations, password resets and changes, urgent
//! alerts, the outbox an administrator sees, retries, and exactly one message per recipient when
//! two replicas deliver from the same outbox.

use std::collections::BTreeSet;

use chrono::Duration;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{clinician_invite, new_patient, symptoms, today_in, treatment};
use crate::smtp_sink::{SmtpSink, token_in};
use crate::support::{PASSWORD, Session, TestApp, spawn_with};

const NEW_PASSWORD: &str = "seven quiet herons by the weir";

async fn app_with_smtp(adjust: impl FnOnce(&mut aftercare::config::Settings)) -> Option<(TestApp, SmtpSink)> {
    let sink = SmtpSink::start()?;
    let url = sink.url.clone();
    let app = spawn_with(move |s| {
        s.mail.smtp_url = Some(url);
        adjust(s);
    })
    .await;
    Some((app, sink))
}

fn urgent_check_in() -> Value {
    let mut signs = symptoms(2, false);
    signs["pus"] = json!(true);
    signs["fever"] = json!(true);
    json!({ "symptoms": signs })
}

/// A patient whose invitation came by e-mail only (the token never in the answer).
async fn patient_invited_by_mail(app: &TestApp, sink: &SmtpSink, staff: &Session) -> (String, String) {
    let email = format!("patient-{}@mail.test", uuid::Uuid::new_v4().simple());
    let created = app.post("/v1/patients", &staff.token, new_patient(&email, "Europe/Madrid")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let mail = sink.wait_for(&email, 1).await;
    (created.str("id"), token_in(&mail[0], "#invite_token="))
}

#[actix_web::test]
async fn an_invitation_goes_by_mail_and_its_link_activates_the_account_the_clinician_never_sees_the_token() {
    let Some((app, sink)) = app_with_smtp(|s| s.invite_tokens_in_answers = false).await else { return };
    let admin = app.clinic("Mailed Clinic").await;
    let email = format!("patient-{}@mail.test", uuid::Uuid::new_v4().simple());
    let created = app.post("/v1/patients", &admin.token, new_patient(&email, "Europe/Madrid")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["invite_token"], "", "the token is not shown to staff");

    let mail = sink.wait_for(&email, 1).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["subject"], "Mailed Clinic invites you to Aftercare");
    assert!(mail[0]["body"].as_str().unwrap().contains("http://127.0.0.1:0/activate#invite_token="));
    let token = token_in(&mail[0], "#invite_token=");
    let activated =
        app.post_anonymous("/v1/auth/activate", json!({ "invite_token": token, "password": PASSWORD })).await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
    assert!(!stored_text(&app).contains(&token), "the token is stored nowhere in clear");

    // A create retried with its Idempotency-Key is replayed (nothing secret in the stored answer),
    // and sends no second invitation.
    let again = format!("patient-{}@mail.test", uuid::Uuid::new_v4().simple());
    let keyed = || {
        app.call_with_headers(
            reqwest::Method::POST,
            "/v1/patients",
            Some(&admin.token),
            Some(new_patient(&again, "Europe/Madrid")),
            &[("Idempotency-Key", "hidden-token-create")],
        )
    };
    let (first, replay) = (keyed().await, keyed().await);
    assert_eq!((first.status, replay.status), (StatusCode::CREATED, StatusCode::CREATED), "{}", replay.text);
    assert_eq!(replay.header("idempotency-replayed"), "true");
    assert_eq!((first.str("id"), replay.body["invite_token"].clone()), (replay.str("id"), json!("")));
    sink.wait_for(&again, 1).await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.to(&again).len(), 1, "a replay sends no second invitation");

    // A staff invitation too.
    let staff_email = format!("clinician-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let invited = app.post("/v1/clinicians", &admin.token, clinician_invite(&staff_email)).await;
    assert_eq!(invited.body["invite_token"], "");
    let token = token_in(&sink.wait_for(&staff_email, 1).await[0], "#invite_token=");
    let activated =
        app.post_anonymous("/v1/auth/activate", json!({ "invite_token": token, "password": PASSWORD })).await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
}

/// Every text column of the tables a token could have been written to.
fn stored_text(app: &TestApp) -> String {
    use aftercare::db::schema::{idempotency_keys, invites, outbox_messages};
    let mut conn = app.db.pool().get().unwrap();
    let payloads: Vec<String> = outbox_messages::table.select(outbox_messages::payload).load(&mut *conn).unwrap();
    let hashes: Vec<String> = invites::table.select(invites::token_hash).load(&mut *conn).unwrap();
    let bodies: Vec<Option<String>> = idempotency_keys::table.select(idempotency_keys::body).load(&mut *conn).unwrap();
    format!("{payloads:?}{hashes:?}{bodies:?}")
}

#[actix_web::test]
async fn with_v1_answers_the_shown_token_is_the_mailed_one_and_a_replay_shows_it_again() {
    let Some((app, sink)) = app_with_smtp(|_| {}).await else { return };
    let admin = app.clinic("Compatible Clinic").await;
    let email = format!("patient-{}@mail.test", uuid::Uuid::new_v4().simple());
    let key = [("Idempotency-Key", "enrol-once")];
    let send = || {
        app.call_with_headers(
            reqwest::Method::POST,
            "/v1/patients",
            Some(&admin.token),
            Some(new_patient(&email, "Europe/Madrid")),
            &key,
        )
    };
    let first = send().await;
    let replay = send().await;
    assert_eq!(replay.header("idempotency-replayed"), "true");
    let mailed = token_in(&sink.wait_for(&email, 1).await[0], "#invite_token=");
    assert_eq!(first.str("invite_token"), mailed);
    assert_eq!(replay.str("invite_token"), mailed, "a replay shows the same, still working token");
    actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.to(&email).len(), 1, "a replay sends no second invitation");
    let activated =
        app.post_anonymous("/v1/auth/activate", json!({ "invite_token": mailed, "password": PASSWORD })).await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
}

#[actix_web::test]
async fn staff_reinvite_a_patient_who_lost_the_invitation_and_the_old_link_stops_working() {
    let Some((app, sink)) = app_with_smtp(|_| {}).await else { return };
    let admin = app.clinic("Second Chance").await;
    let clinician = app.clinician(&admin).await;
    let (patient_id, first_token) = patient_invited_by_mail(&app, &sink, &clinician).await;
    let email: String = {
        use aftercare::db::schema::users;
        let mut conn = app.db.pool().get().unwrap();
        users::table.find(&patient_id).select(users::email).first(&mut *conn).unwrap()
    };

    let again = app.post(&format!("/v1/patients/{patient_id}/invitation"), &clinician.token, Value::Null).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    assert_eq!(again.body["sent_to"], email.as_str());
    assert!(again.body.get("invite_token").is_none());
    let mail = sink.wait_for(&email, 2).await;
    let second_token = token_in(&mail[1], "#invite_token=");
    assert_ne!(first_token, second_token);

    let stale =
        app.post_anonymous("/v1/auth/activate", json!({ "invite_token": first_token, "password": PASSWORD })).await;
    stale.assert_problem(401);
    let fresh =
        app.post_anonymous("/v1/auth/activate", json!({ "invite_token": second_token, "password": PASSWORD })).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);
    let patient_token = fresh.str("access_token");

    // Activated: nothing to re-send. Patients may not; another clinic cannot see the patient.
    app.post(&format!("/v1/patients/{patient_id}/invitation"), &clinician.token, Value::Null).await.assert_problem(409);
    app.post(&format!("/v1/patients/{patient_id}/invitation"), &patient_token, Value::Null).await.assert_problem(403);
    let other = app.clinic("Elsewhere").await;
    app.post(&format!("/v1/patients/{patient_id}/invitation"), &other.token, Value::Null).await.assert_problem(404);

    // Staff: administrators only.
    let staff_email = format!("clinician-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let invited = app.post("/v1/clinicians", &admin.token, clinician_invite(&staff_email)).await;
    let staff_id = invited.str("id");
    let path = format!("/v1/clinicians/{staff_id}/invitation");
    app.post(&path, &clinician.token, Value::Null).await.assert_problem(403);
    app.post(&path, &other.token, Value::Null).await.assert_problem(404);
    assert_eq!(app.post(&path, &admin.token, Value::Null).await.status, StatusCode::ACCEPTED);
    sink.wait_for(&staff_email, 2).await;
}

#[actix_web::test]
async fn a_reset_goes_from_request_to_new_password_through_the_real_smtp_server() {
    let Some((app, sink)) = app_with_smtp(|_| {}).await else { return };
    let admin = app.clinic("Reset Clinic").await;
    let patient = app.patient(&admin, "Europe/Madrid").await;
    let other_device = app.login(&patient.email, PASSWORD).await;
    let other_refresh = other_device.str("refresh_token");

    let asked = app.post_anonymous("/v1/auth/password-reset", json!({ "email": patient.email.to_uppercase() })).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
    let mail = sink.wait_for(&patient.email, 2).await; // the invitation, then the reset
    let reset = mail.last().unwrap();
    assert_eq!(reset["subject"], "Choose a new Aftercare password");
    let token = token_in(reset, "#token=");

    let done = app
        .post_anonymous("/v1/auth/password-reset/confirm", json!({ "token": token, "password": NEW_PASSWORD }))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["user"]["id"], patient.id.as_str());

    // The new password works, the old one does not; every earlier login is over.
    assert_eq!(app.login(&patient.email, NEW_PASSWORD).await.status, StatusCode::OK);
    app.login(&patient.email, PASSWORD).await.assert_problem(401);
    app.get("/v1/me", &patient.token).await.assert_problem(401);
    app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": other_refresh })).await.assert_problem(401);
    assert_eq!(app.get("/v1/me", &done.str("access_token")).await.status, StatusCode::OK);
    // The link works once; the owner is told of the change.
    let again = app
        .post_anonymous("/v1/auth/password-reset/confirm", json!({ "token": token, "password": NEW_PASSWORD }))
        .await;
    again.assert_problem(401);
    let notice = sink.wait_for(&patient.email, 3).await;
    assert_eq!(notice[2]["subject"], "Your Aftercare password was changed");
    // A reset token cannot activate, nor an invitation token reset.
    app.post_anonymous("/v1/auth/activate", json!({ "invite_token": token, "password": NEW_PASSWORD }))
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn a_reset_request_answers_the_same_for_any_address_and_sends_at_most_a_few_per_account() {
    let Some((app, sink)) = app_with_smtp(|s| s.password_resets_per_account = 2).await else { return };
    let admin = app.clinic("Quiet Clinic").await;
    let before = outbox_count(&app);
    let unknown = app.post_anonymous("/v1/auth/password-reset", json!({ "email": "nobody@nowhere.test" })).await;
    let known = app.post_anonymous("/v1/auth/password-reset", json!({ "email": admin.email })).await;
    assert_eq!((unknown.status, known.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(
        (unknown.text.as_str(), unknown.header("content-type")),
        (known.text.as_str(), known.header("content-type"))
    );
    for _ in 0..3 {
        assert_eq!(
            app.post_anonymous("/v1/auth/password-reset", json!({ "email": admin.email })).await.status,
            StatusCode::ACCEPTED
        );
    }
    let mail = sink.wait_for(&admin.email, 2).await;
    for _ in 0..100 {
        if reset_requests_waiting(&app) == 0 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(reset_requests_waiting(&app), 0, "every request was answered");
    assert_eq!(outbox_count(&app) - before, 2, "an unknown address writes nothing; an account gets at most 2");
    actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.to(&admin.email).len(), 2);
    // Only the newest link works.
    let (older, newer) = (token_in(&mail[0], "#token="), token_in(&mail[1], "#token="));
    app.post_anonymous("/v1/auth/password-reset/confirm", json!({ "token": older, "password": NEW_PASSWORD }))
        .await
        .assert_problem(401);
    let ok = app
        .post_anonymous("/v1/auth/password-reset/confirm", json!({ "token": newer, "password": NEW_PASSWORD }))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
}

#[actix_web::test]
async fn a_client_asking_for_resets_too_often_waits_whatever_the_address() {
    let app = spawn_with(|s| s.login_failures_per_client = 3).await;
    for i in 0..3 {
        let asked = app.post_anonymous("/v1/auth/password-reset", json!({ "email": format!("n{i}@x.test") })).await;
        assert_eq!(asked.status, StatusCode::ACCEPTED);
    }
    let refused = app.post_anonymous("/v1/auth/password-reset", json!({ "email": "n9@x.test" })).await;
    refused.assert_problem(429);
    assert!(refused.header("retry-after").parse::<u64>().unwrap() > 0);
}

fn reset_requests_waiting(app: &TestApp) -> i64 {
    use aftercare::db::schema::password_reset_requests;
    let mut conn = app.db.pool().get().unwrap();
    password_reset_requests::table.count().get_result(&mut *conn).unwrap()
}

fn outbox_count(app: &TestApp) -> i64 {
    use aftercare::db::schema::outbox_messages;
    let mut conn = app.db.pool().get().unwrap();
    outbox_messages::table.count().get_result(&mut *conn).unwrap()
}

#[actix_web::test]
async fn a_password_change_needs_the_current_one_and_ends_every_other_login() {
    let Some((app, sink)) = app_with_smtp(|_| {}).await else { return };
    let admin = app.clinic("Change Clinic").await;
    let clinician = app.clinician(&admin).await;
    let laptop = app.login(&clinician.email, PASSWORD).await;

    let wrong = app
        .post(
            "/v1/auth/password",
            &clinician.token,
            json!({ "current_password": "not it at all", "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(wrong.assert_problem(422), ["current_password"]);
    let short = app
        .post("/v1/auth/password", &clinician.token, json!({ "current_password": PASSWORD, "new_password": "short" }))
        .await;
    assert_eq!(short.assert_problem(422), ["new_password"]);

    let changed = app
        .post(
            "/v1/auth/password",
            &clinician.token,
            json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    app.get("/v1/me", &clinician.token).await.assert_problem(401);
    app.get("/v1/me", &laptop.str("access_token")).await.assert_problem(401);
    app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": laptop.str("refresh_token") }))
        .await
        .assert_problem(401);
    app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": clinician.refresh_token }))
        .await
        .assert_problem(401);
    assert_eq!(app.get("/v1/me", &changed.str("access_token")).await.status, StatusCode::OK);
    let refreshed =
        app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": changed.str("refresh_token") })).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    assert_eq!(app.login(&clinician.email, NEW_PASSWORD).await.status, StatusCode::OK);
    let mail = sink.wait_for(&clinician.email, 2).await;
    assert_eq!(mail[1]["subject"], "Your Aftercare password was changed");
}

#[actix_web::test]
async fn wrong_current_passwords_are_throttled() {
    let app = spawn_with(|s| s.login_failures_per_account = 2).await;
    let admin = app.clinic("Guarded").await;
    let guess = json!({ "current_password": "a guess at it", "new_password": NEW_PASSWORD });
    for _ in 0..2 {
        app.post("/v1/auth/password", &admin.token, guess.clone()).await.assert_problem(422);
    }
    app.post("/v1/auth/password", &admin.token, guess).await.assert_problem(429);
}

/// The clinic's two clinicians, an admin, and a patient on day 2, all activated.
async fn clinic_with_two_clinicians(app: &TestApp) -> (Session, [Session; 2], Session, String) {
    let admin = app.clinic("Alerted Clinic").await;
    let clinicians = [app.clinician(&admin).await, app.clinician(&admin).await];
    let patient = app.patient(&admin, "Europe/Madrid").await;
    let t = treatment(app, &admin, &patient.id, today_in("Europe/Madrid") - Duration::days(2)).await;
    (admin, clinicians, patient, t["id"].as_str().unwrap().to_string())
}

#[actix_web::test]
async fn an_urgent_check_in_alerts_each_clinician_exactly_once_with_two_replicas_delivering() {
    let Some((app, sink)) = app_with_smtp(|_| {}).await else { return };
    let replica = app.replica(|_| {}).await;
    let (admin, clinicians, patient, t) = clinic_with_two_clinicians(&app).await;

    // Several urgent check-ins, through both replicas, and a calm one that alerts nobody.
    let mut urgent_ids = Vec::new();
    for server in [&app, &replica, &app] {
        let answer = server.post(&format!("/v1/treatments/{t}/check-ins"), &patient.token, urgent_check_in()).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        assert_eq!(answer.body["assessment"]["level"], "urgent");
        urgent_ids.push(answer.str("id"));
    }
    let calm = json!({ "symptoms": symptoms(3, false) });
    assert_eq!(
        app.post(&format!("/v1/treatments/{t}/check-ins"), &patient.token, calm).await.body["assessment"]["level"],
        "ok"
    );

    for clinician in &clinicians {
        sink.wait_for(&clinician.email, 4).await; // the invitation and three alerts
        // Let both workers look again: a second copy would come now.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(800)).await;
        let alerts: Vec<Value> = sink
            .to(&clinician.email)
            .into_iter()
            .filter(|m| m["subject"] == "A check-in needs urgent review")
            .collect();
        assert_eq!(alerts.len(), 3, "one alert per urgent check-in, not more: {alerts:?}");
        // Two replicas deliver in no set order: compare as sets.
        let linked: BTreeSet<&str> = alerts
            .iter()
            .map(|alert| {
                let body = alert["body"].as_str().unwrap();
                for health_detail in ["pus", "fever", "redness", &patient.email] {
                    assert!(!body.to_lowercase().contains(health_detail), "the alert names {health_detail}: {body}");
                }
                urgent_ids.iter().find(|id| body.contains(&format!("/console/check-ins/{id}"))).unwrap().as_str()
            })
            .collect();
        assert_eq!(linked, urgent_ids.iter().map(String::as_str).collect(), "each urgent check-in alerted once");
        let ids: BTreeSet<&str> = alerts.iter().map(|a| a["message_id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 3, "every alert is a message of its own");
    }
    let admin_alerts =
        sink.to(&admin.email).into_iter().filter(|m| m["subject"] == "A check-in needs urgent review").count();
    assert_eq!(admin_alerts, 0, "by default clinicians are alerted, not administrators");

    // The admin sees every one of them sent, once.
    let outbox = app.get("/v1/outbox?state=sent&limit=100", &admin.token).await;
    let urgent: Vec<&Value> =
        outbox.body["items"].as_array().unwrap().iter().filter(|m| m["kind"] == "urgent_check_in").collect();
    assert_eq!(urgent.len(), 6);
    assert!(urgent.iter().all(|m| m["attempts"] == 1 && m["sent_at"].is_string() && m["last_error"].is_null()));
}

#[actix_web::test]
async fn a_clinic_chooses_who_is_alerted_or_turns_alerts_off() {
    let Some((app, sink)) = app_with_smtp(|_| {}).await else { return };
    let (admin, [first, second], patient, t) = clinic_with_two_clinicians(&app).await;
    let defaults = app.get("/v1/clinic/settings", &admin.token).await;
    assert_eq!(
        defaults.body,
        json!({ "urgent_alerts": { "enabled": true, "recipients": [] }, "treatments": { "default_time": "10:00" }, "screening": { "valid_days": 30 } })
    );
    app.get("/v1/clinic/settings", &first.token).await.assert_problem(403);

    let only_admin = json!({ "urgent_alerts": { "enabled": true, "recipients": [admin.id] } });
    let saved =
        app.call(reqwest::Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(only_admin.clone())).await;
    assert_eq!(saved.body["urgent_alerts"], only_admin["urgent_alerts"], "{}", saved.text);
    app.post(&format!("/v1/treatments/{t}/check-ins"), &patient.token, urgent_check_in()).await;
    sink.wait_for(&admin.email, 1).await;

    let off = json!({ "urgent_alerts": { "enabled": false, "recipients": [] } });
    app.call(reqwest::Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(off)).await;
    app.post(&format!("/v1/treatments/{t}/check-ins"), &patient.token, urgent_check_in()).await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(800)).await;
    let alerted =
        |who: &Session| sink.to(&who.email).iter().filter(|m| m["subject"] == "A check-in needs urgent review").count();
    assert_eq!((alerted(&admin), alerted(&first), alerted(&second)), (1, 0, 0));

    // Recipients must be the clinic's active staff: not another clinic's admin, not a patient,
    // not something that is no id at all.
    let other = app.clinic("Other").await;
    for stranger in [other.id.as_str(), patient.id.as_str(), "nope"] {
        let body = json!({ "urgent_alerts": { "enabled": true, "recipients": [first.id, stranger] } });
        let refused = app.call(reqwest::Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(body)).await;
        assert_eq!(refused.assert_problem(422), ["urgent_alerts.recipients[1]"], "{stranger}");
    }

    // The chosen recipient leaves: an urgent check-in still reaches the default recipients.
    let only_first = json!({ "urgent_alerts": { "enabled": true, "recipients": [first.id] } });
    app.call(reqwest::Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(only_first)).await;
    let left = app.post(&format!("/v1/clinicians/{}/deactivate", first.id), &admin.token, Value::Null).await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.text);
    app.post(&format!("/v1/treatments/{t}/check-ins"), &patient.token, urgent_check_in()).await;
    sink.wait_for(&second.email, 2).await; // the invitation, then the alert
    assert_eq!((alerted(&first), alerted(&second)), (0, 1));
}

#[actix_web::test]
async fn refused_and_flaky_deliveries_show_in_the_outbox_and_a_transient_failure_is_retried() {
    let Some((app, sink)) = app_with_smtp(|_| {}).await else { return };
    let admin = app.clinic("Bumpy Clinic").await;
    let flaky = format!("flaky-{}@mail.test", uuid::Uuid::new_v4().simple());
    let refused = format!("refuse-{}@mail.test", uuid::Uuid::new_v4().simple());
    for email in [&flaky, &refused] {
        assert_eq!(
            app.post("/v1/patients", &admin.token, new_patient(email, "Europe/Madrid")).await.status,
            StatusCode::CREATED
        );
    }
    sink.wait_for(&flaky, 1).await; // refused once (451), sent on the retry a second later
    // Both settled: the refused one failed, the flaky one recorded as sent after its retry.
    let mut states = Value::Null;
    for _ in 0..100 {
        states = app.get("/v1/outbox?limit=10", &admin.token).await.body;
        let state_of = |to: &str| {
            states["items"].as_array().unwrap().iter().find(|m| m["recipient"] == to).map(|m| m["state"].clone())
        };
        if state_of(&refused) == Some(json!("failed")) && state_of(&flaky) == Some(json!("sent")) {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let item = |to: &str| states["items"].as_array().unwrap().iter().find(|m| m["recipient"] == to).unwrap().clone();
    let (flaky, refused) = (item(&flaky), item(&refused));
    assert_eq!((flaky["state"].as_str(), flaky["attempts"].as_i64()), (Some("sent"), Some(2)), "{flaky}");
    assert_eq!((refused["state"].as_str(), refused["attempts"].as_i64()), (Some("failed"), Some(1)), "{refused}");
    assert!(refused["last_error"].as_str().unwrap().contains("550"), "{refused}");
    assert!(refused["next_attempt_at"].is_null());

    // Administrators only, and only their clinic's; the state filter is checked.
    let clinician = app.clinician(&admin).await;
    app.get("/v1/outbox", &clinician.token).await.assert_problem(403);
    let other = app.clinic("Other Clinic").await;
    let theirs = app.get("/v1/outbox", &other.token).await;
    assert!(!theirs.text.contains(&admin.clinic_id) && !theirs.text.contains("flaky-"), "{}", theirs.text);
    assert_eq!(app.get("/v1/outbox?state=lost", &admin.token).await.assert_problem(422), ["state"]);
}

#[actix_web::test]
async fn without_smtp_each_message_is_written_to_the_mail_folder() {
    let app = spawn_with(|_| {}).await;
    let folder = app.services.state.settings.mail.folder.clone();
    let admin = app.clinic("Folder Clinic").await;
    let email = format!("patient-{}@mail.test", uuid::Uuid::new_v4().simple());
    app.post("/v1/patients", &admin.token, new_patient(&email, "Europe/Madrid")).await;
    let mut found = None;
    for _ in 0..100 {
        found = std::fs::read_dir(&folder).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .find(|text| text.contains(&email))
        });
        if found.is_some() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let message = found.expect("the invitation is written to the mail folder");
    assert!(message.contains("Subject: Folder Clinic invites you to Aftercare"), "{message}");
    assert!(message.contains("#invite_token="), "{message}");
    let _ = std::fs::remove_dir_all(folder);
}

#[::core::prelude::v1::test]
fn urgent_alerts_are_due_before_every_other_message() {
    use aftercare::mail::Letter;
    use aftercare::models::outbox::{self, NewMessage};
    let store = crate::support::empty_database();
    let db = aftercare::db::Database::connect(&store.url, 2).unwrap();
    aftercare::prepare_database(&db).unwrap();
    let created = aftercare::commands::create_clinic(&db, "Busy Clinic", "admin@busy.test", PASSWORD).unwrap();
    let (clinic, admin) = (created["clinic_id"].as_str().unwrap(), created["admin_id"].as_str().unwrap());
    let mut conn = db.connection().unwrap();
    let message =
        |letter| NewMessage { clinic_id: clinic, recipient_user_id: admin, recipient: "admin@busy.test", letter };
    for i in 0..30 {
        let invitation =
            Letter::Invitation { name: format!("P{i}"), clinic: "Busy".into(), nonce: format!("n{i}"), language: None };
        outbox::enqueue(&mut conn, message(invitation)).unwrap();
    }
    let alert = outbox::enqueue(&mut conn, message(Letter::UrgentCheckIn { check_in_id: "c1".into() })).unwrap();
    let due = outbox::due(&mut conn, aftercare::clock::now() + chrono::Duration::seconds(1), 20).unwrap();
    assert_eq!(due.len(), 20);
    assert_eq!(due[0], alert, "the alert written last is sent first");
}
