//! Issue 14, item 3: administrators deactivate and reactivate staff; staff discharge patients, and a
//! new treatment re-admits them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{PhotoBody, TreatmentBody, check_in, check_in_body, screen, today_in, treatment};
use crate::support::{Answer, PASSWORD, Session, TestApp, spawn};

async fn deactivate(app: &TestApp, admin: &Session, id: &str) -> Answer {
    app.call(Method::POST, &format!("/v1/clinicians/{id}/deactivate"), Some(&admin.token), None).await
}

async fn reactivate(app: &TestApp, admin: &Session, id: &str) -> Answer {
    app.call(Method::POST, &format!("/v1/clinicians/{id}/reactivate"), Some(&admin.token), None).await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Answer {
    app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": refresh_token })).await
}

/// An administrator of the same clinic as `admin`, invited and activated.
async fn second_admin(app: &TestApp, admin: &Session) -> Session {
    let email = format!("admin2-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let invited = app
        .post("/v1/clinicians", &admin.token, json!({ "name": "Dr. Second", "email": email, "role": "admin" }))
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    let activated = app
        .post_anonymous(
            "/v1/auth/activate",
            json!({ "invite_token": invited.str("invite_token"), "password": PASSWORD }),
        )
        .await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    Session {
        id: activated.body["user"]["id"].as_str().unwrap().to_string(),
        clinic_id: admin.clinic_id.clone(),
        email,
        token: activated.str("access_token"),
        refresh_token: activated.str("refresh_token"),
    }
}

#[actix_web::test]
async fn a_deactivated_clinician_is_refused_at_once_and_logs_in_again_once_reactivated() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    // A second login, to show every login of the account is revoked, not only one.
    let other_login = app.login(&clinician.email, PASSWORD).await;
    assert_eq!(app.get("/v1/patients", &clinician.token).await.status, 200);

    let deactivated = deactivate(&app, &admin, &clinician.id).await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.text);
    assert_eq!(deactivated.body["active"], false);
    assert_eq!(deactivated.body["id"], clinician.id.as_str());

    // The access token has not expired (15 minutes), yet the very next request is refused.
    app.get("/v1/patients", &clinician.token).await.assert_problem(401);
    app.get("/v1/me", &other_login.str("access_token")).await.assert_problem(401);
    refresh(&app, &clinician.refresh_token).await.assert_problem(401);
    refresh(&app, &other_login.str("refresh_token")).await.assert_problem(401);
    app.login(&clinician.email, PASSWORD).await.assert_problem(401);

    // Repeating is harmless: the same answer.
    let again = deactivate(&app, &admin, &clinician.id).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, deactivated.body);
    let staff = app.get("/v1/clinicians", &admin.token).await;
    let listed = staff.body["items"].as_array().unwrap().iter().find(|m| m["id"] == clinician.id.as_str()).cloned();
    assert_eq!(listed.unwrap()["active"], false);

    let reactivated = reactivate(&app, &admin, &clinician.id).await;
    assert_eq!(reactivated.status, 200, "{}", reactivated.text);
    assert_eq!(reactivated.body["active"], true);
    assert_eq!(reactivate(&app, &admin, &clinician.id).await.body, reactivated.body);
    let login = app.login(&clinician.email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(app.get("/v1/patients", &login.str("access_token")).await.status, 200);
    assert_eq!(refresh(&app, &login.str("refresh_token")).await.status, 200);
    // The logins the deactivation revoked stay revoked.
    refresh(&app, &other_login.str("refresh_token")).await.assert_problem(401);
}

#[actix_web::test]
async fn deactivating_oneself_or_the_last_administrator_is_refused() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let refused = deactivate(&app, &admin, &admin.id).await;
    refused.assert_problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("your own account"), "{}", refused.text);
    assert_eq!(app.get("/v1/me", &admin.token).await.status, 200);

    // Two administrators deactivating each other at the same moment: one wins, the other is
    // refused (409: by then it would be the last active administrator, or 401: it already lost its
    // account). The clinic always keeps one.
    let mut last_admin_refusals = 0;
    let mut first = admin.clone();
    for round in 0..8 {
        let second = second_admin(&app, &first).await;
        let (a, b) = tokio::join!(deactivate(&app, &first, &second.id), deactivate(&app, &second, &first.id));
        let outcomes = [a.status.as_u16(), b.status.as_u16()];
        assert_eq!(outcomes.iter().filter(|s| **s == 200).count(), 1, "round {round}: {outcomes:?}");
        for loser in [&a, &b].into_iter().filter(|x| x.status != 200) {
            let status = loser.status.as_u16();
            assert!(status == 409 || status == 401, "round {round}: {}", loser.text);
            loser.assert_problem(status);
            if status == 409 {
                assert!(loser.body["detail"].as_str().unwrap().contains("last active administrator"));
                last_admin_refusals += 1;
            }
        }
        // The survivor carries on into the next round.
        first = if a.status == 200 { first } else { second };
        let me = app.get("/v1/me", &first.token).await;
        assert_eq!(me.status, 200, "round {round}: the survivor is still an administrator");
    }
    eprintln!("mutual deactivations: 8 rounds, {last_admin_refusals} refused as the last administrator");
    assert!(last_admin_refusals > 0, "the last-administrator rule was never reached");
}

#[actix_web::test]
async fn only_a_clinics_administrators_deactivate_its_staff() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let away = app.clinic("South").await;
    let clinician = app.clinician(&admin).await;
    let colleague = app.clinician(&admin).await;
    let patient = app.patient(&admin, "UTC").await;
    for path in ["deactivate", "reactivate"] {
        let url = format!("/v1/clinicians/{}/{path}", colleague.id);
        app.call(Method::POST, &url, Some(&clinician.token), None).await.assert_problem(403);
        app.call(Method::POST, &url, Some(&patient.token), None).await.assert_problem(403);
        app.call(Method::POST, &url, Some(&away.token), None).await.assert_problem(404);
        let patient_url = format!("/v1/clinicians/{}/{path}", patient.id);
        app.call(Method::POST, &patient_url, Some(&admin.token), None).await.assert_problem(404);
        let unknown = format!("/v1/clinicians/{}/{path}", uuid::Uuid::new_v4());
        app.call(Method::POST, &unknown, Some(&admin.token), None).await.assert_problem(404);
    }
    assert_eq!(app.get("/v1/me", &colleague.token).await.status, 200, "nothing changed");
    assert_eq!(app.get("/v1/me", &patient.token).await.status, 200, "a patient cannot be deactivated here");
}

#[actix_web::test]
async fn deactivation_spends_an_open_invitation() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let email = format!("late-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let invited = app.post("/v1/clinicians", &admin.token, crate::fixtures::clinician_invite(&email)).await;
    let member = invited.str("id");
    let answer = deactivate(&app, &admin, &member).await;
    assert_eq!((answer.body["active"].clone(), answer.body["activated"].clone()), (json!(false), json!(false)));
    let activate = json!({ "invite_token": invited.str("invite_token"), "password": PASSWORD });
    app.post_anonymous("/v1/auth/activate", activate.clone()).await.assert_problem(401);
    assert_eq!(reactivate(&app, &admin, &member).await.status, 200);
    app.post_anonymous("/v1/auth/activate", activate).await.assert_problem(401);
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

fn ids(answer: &Answer) -> BTreeSet<String> {
    answer.body["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[actix_web::test]
async fn a_discharge_stops_check_ins_and_later_reminders_keeps_history_and_a_new_treatment_readmits() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&clinician, "America/Chicago").await;
    let today = today_in("America/Chicago");
    let t = treatment(&app, &clinician, &patient.id, today - Duration::days(3)).await;
    let t = t["id"].as_str().unwrap().to_string();
    let earlier = check_in(&app, &patient, &t, check_in_body(8, false)).await;
    assert_eq!(earlier.status, 201, "{}", earlier.text);
    let earlier = earlier.str("id");
    let reminders_url =
        format!("/v1/treatments/{t}/reminders?from={}&to={}", today - Duration::days(3), today + Duration::days(20));
    let before = app.get(&reminders_url, &patient.token).await;
    let calendar_url = format!("/v1/treatments/{t}/calendar.ics");
    let calendar_before = app.get(&calendar_url, &patient.token).await.text;

    app.post(&format!("/v1/patients/{}/discharge", patient.id), &patient.token, json!({})).await.assert_problem(403);
    let url = format!("/v1/patients/{}/discharge", patient.id);
    let discharged = app.post(&url, &clinician.token, json!({ "note": "Recovery complete." })).await;
    assert_eq!(discharged.status, 200, "{}", discharged.text);
    assert_eq!(discharged.body["discharge_note"], "Recovery complete.");
    let at = instant(&discharged.body["discharged_at"]);
    let again = app.post(&url, &admin.token, json!({ "note": "Another note" })).await;
    assert_eq!(again.body, discharged.body, "a repeat keeps the first discharge");

    // History stays readable, by the patient too.
    let own = app.get(&format!("/v1/patients/{}", patient.id), &patient.token).await;
    assert_eq!(own.body["discharged_at"], discharged.body["discharged_at"]);
    assert_eq!(
        app.get(&format!("/v1/treatments/{t}"), &patient.token).await.body["discharged_at"],
        discharged.body["discharged_at"]
    );
    assert_eq!(app.get(&format!("/v1/treatments/{t}/timeline"), &patient.token).await.status, 200);
    let check_ins = app.get(&format!("/v1/treatments/{t}/check-ins"), &patient.token).await;
    assert_eq!(ids(&check_ins), BTreeSet::from([earlier.clone()]));
    assert_eq!(app.get(&format!("/v1/treatments/{t}/photos"), &patient.token).await.status, 200);

    // Nothing new is reported.
    let refused = check_in(&app, &patient, &t, check_in_body(2, false)).await;
    refused.assert_problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("discharged"), "{}", refused.text);
    let photo =
        app.post(&format!("/v1/check-ins/{earlier}/photos"), &patient.token, PhotoBody::default().build()).await;
    photo.assert_problem(409);

    // Reminders due after the discharge are gone from the list, today and the calendar; earlier
    // ones stay.
    let after = app.get(&reminders_url, &patient.token).await;
    let all = before.body["items"].as_array().unwrap();
    let (kept, dropped): (Vec<&Value>, Vec<&Value>) = all.iter().partition(|r| instant(&r["due_at"]) <= at);
    assert!(!kept.is_empty() && !dropped.is_empty());
    let kept_ids: BTreeSet<String> = kept.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids(&after), kept_ids);
    let today_screen = app.get("/v1/me/today", &patient.token).await;
    for entry in today_screen.body["treatments"].as_array().unwrap() {
        for reminder in entry["reminders"].as_array().unwrap() {
            assert!(instant(&reminder["due_at"]) <= at, "today shows a reminder due after the discharge");
        }
    }
    let calendar_after = app.get(&calendar_url, &patient.token).await.text;
    assert!(calendar_after.matches("BEGIN:VEVENT").count() < calendar_before.matches("BEGIN:VEVENT").count());
    for reminder in &dropped {
        assert!(!calendar_after.contains(reminder["id"].as_str().unwrap()), "the calendar keeps a dropped reminder");
    }
    let later = dropped[0]["id"].as_str().unwrap();
    app.call(Method::POST, &format!("/v1/reminders/{later}/ack"), Some(&patient.token), None).await.assert_problem(404);
    let past = kept[0]["id"].as_str().unwrap();
    let acked = app.call(Method::POST, &format!("/v1/reminders/{past}/ack"), Some(&patient.token), None).await;
    assert_eq!(acked.status, 200, "a reminder due before the discharge is still the patient's: {}", acked.text);

    // The unreviewed check-in stays in the queue: no urgent one may be missed.
    let queue = app.get("/v1/review-queue", &clinician.token).await;
    assert!(ids(&queue).contains(&earlier), "{}", queue.text);

    // Listed, with the field, and by status.
    let listed = |query: &'static str| {
        let (app, token) = (&app, clinician.token.clone());
        async move { ids(&app.get(&format!("/v1/patients{query}"), &token).await) }
    };
    assert!(listed("").await.contains(&patient.id));
    assert!(listed("?status=discharged").await.contains(&patient.id));
    assert!(!listed("?status=active").await.contains(&patient.id));
    assert_eq!(app.get("/v1/patients?status=gone", &clinician.token).await.assert_problem(422), ["status"]);

    // A new treatment re-admits: its reminders flow; the earlier treatment's stay ended.
    let second = treatment(&app, &clinician, &patient.id, today).await;
    assert_eq!(second["discharged_at"], Value::Null);
    let second = second["id"].as_str().unwrap().to_string();
    let profile = app.get(&format!("/v1/patients/{}", patient.id), &clinician.token).await;
    assert_eq!(
        (profile.body["discharged_at"].clone(), profile.body["discharge_note"].clone()),
        (Value::Null, Value::Null)
    );
    assert!(listed("?status=active").await.contains(&patient.id));
    let tomorrow = today + Duration::days(1);
    let next =
        app.get(&format!("/v1/treatments/{second}/reminders?from={tomorrow}&to={tomorrow}"), &patient.token).await;
    assert!(!next.body["items"].as_array().unwrap().is_empty(), "{}", next.text);
    assert_eq!(ids(&app.get(&reminders_url, &patient.token).await), kept_ids, "the earlier plan stays ended");
    let today_screen = app.get("/v1/me/today", &patient.token).await;
    let second_today = today_screen.body["treatments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["treatment_id"] == second.as_str())
        .cloned();
    assert!(!second_today.unwrap()["reminders"].as_array().unwrap().is_empty());
    let reported = check_in(&app, &patient, &second, check_in_body(3, false)).await;
    assert_eq!(reported.status, 201, "{}", reported.text);

    // Audited, under the patient.
    app.services.state.audit.flush();
    let trail = app.get(&format!("/v1/audit-events?patient_id={}&limit=100", patient.id), &admin.token).await;
    let discharges = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "POST /v1/patients/{id}/discharge" && e["outcome"] == "success")
        .count();
    assert_eq!(discharges, 2, "{}", trail.text);
}

#[actix_web::test]
async fn a_discharge_before_a_new_treatment_never_hides_that_treatments_reminders() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let url = format!("/v1/patients/{}/discharge", patient.id);
    // Discharged with no treatment at all, then treated.
    assert_eq!(app.post(&url, &admin.token, json!({})).await.status, 200);
    screen(&app, &admin, &patient.id).await;
    let body = TreatmentBody::default().treated_on(today_in("UTC") - Duration::days(1)).build();
    let t = app.post(&format!("/v1/patients/{}/treatments", patient.id), &admin.token, body).await;
    assert_eq!(t.status, 201, "{}", t.text);
    let t = t.str("id");
    let whole = app
        .get(
            &format!(
                "/v1/treatments/{t}/reminders?from={}&to={}",
                today_in("UTC") - Duration::days(1),
                today_in("UTC") + Duration::days(5)
            ),
            &patient.token,
        )
        .await;
    let days: BTreeSet<&str> =
        whole.body["items"].as_array().unwrap().iter().map(|r| r["local_date"].as_str().unwrap()).collect();
    assert_eq!(days.len(), 7, "every day of the new plan has its reminders: {}", whole.text);
    // Discharged and re-admitted again: the second discharge ends the plan at its own instant.
    let second = app.post(&url, &admin.token, json!({})).await;
    let at = instant(&second.body["discharged_at"]);
    let treatments = app.get(&format!("/v1/patients/{}/treatments", patient.id), &admin.token).await;
    assert_eq!(instant(&treatments.body["items"][0]["discharged_at"]), at);
}
