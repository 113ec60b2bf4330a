use serde_json::json;

use crate::fixtures::clinician_invite;
use crate::support::{PASSWORD, spawn, spawn_with};

#[actix_web::test]
async fn login_answers_a_token_pair_and_me_describes_the_caller() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let answer = app.login(&admin.email.to_uppercase(), PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 900);
    assert_eq!(answer.body["user"]["role"], "admin");
    assert_eq!(answer.body["user"]["clinic_id"], admin.clinic_id.as_str());

    let me = app.get("/v1/me", &answer.str("access_token")).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["id"], admin.id.as_str());
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["email"], admin.email.as_str());
    assert!(me.body.get("patient").is_none(), "staff have no patient profile");
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let wrong_password = app.login(&admin.email, "not the right password").await;
    let unknown_email = app.login("nobody@nowhere.test", PASSWORD).await;
    wrong_password.assert_problem(401);
    unknown_email.assert_problem(401);
    assert_eq!(wrong_password.text, unknown_email.text);
}

#[actix_web::test]
async fn login_names_every_missing_field_and_rejects_bad_json() {
    let app = spawn().await;
    let missing = app.post_anonymous("/v1/auth/login", json!({})).await;
    assert_eq!(missing.assert_problem(422), ["email", "password"]);
    let wrong_type = app.post_anonymous("/v1/auth/login", json!({ "email": 5, "password": "x" })).await;
    wrong_type.assert_problem(400);
}

async fn refresh(app: &crate::support::TestApp, token: &str) -> crate::support::Answer {
    app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": token })).await
}

#[actix_web::test]
async fn a_replay_after_the_grace_window_revokes_the_whole_login() {
    let app = spawn_with(|s| s.refresh_retry_grace = std::time::Duration::from_secs(1)).await;
    let admin = app.clinic("North Clinic").await;

    let first = refresh(&app, &admin.refresh_token).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second_token = first.str("refresh_token");
    assert_ne!(second_token, admin.refresh_token);
    assert_eq!(app.get("/v1/me", &first.str("access_token")).await.status, 200);

    // The spent token comes back later (stolen): refused, and its descendants die with it.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1300)).await;
    refresh(&app, &admin.refresh_token).await.assert_problem(401);
    refresh(&app, &second_token).await.assert_problem(401);

    // Another login is a different family and still works.
    let other = app.login(&admin.email, PASSWORD).await;
    assert_eq!(refresh(&app, &other.str("refresh_token")).await.status, 200);
}

#[actix_web::test]
async fn a_refresh_retried_after_its_answer_was_lost_gets_the_same_new_token() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let lost = refresh(&app, &admin.refresh_token).await;
    assert_eq!(lost.status, 200, "{}", lost.text);
    // The phone never saw `lost` and sends the same token again.
    let retried = refresh(&app, &admin.refresh_token).await;
    assert_eq!(retried.status, 200, "a retry is not a theft: {}", retried.text);
    assert_eq!(retried.str("refresh_token"), lost.str("refresh_token"));
    assert_eq!(app.get("/v1/me", &retried.str("access_token")).await.status, 200);
    // The login lives on through the token both answers carried.
    let next = refresh(&app, &retried.str("refresh_token")).await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(refresh(&app, &next.str("refresh_token")).await.status, 200);
}

#[actix_web::test]
async fn a_burst_of_retries_all_get_the_one_successor() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let answers = futures_util::future::join_all((0..6).map(|_| refresh(&app, &admin.refresh_token))).await;
    let tokens: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{}", a.text);
            a.str("refresh_token")
        })
        .collect();
    assert_eq!(tokens.len(), 1, "one successor for one spent token");
    assert_eq!(refresh(&app, tokens.first().unwrap()).await.status, 200);
}

#[actix_web::test]
async fn a_spent_token_replayed_after_its_successor_was_used_revokes_even_inside_the_window() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let second = refresh(&app, &admin.refresh_token).await.str("refresh_token");
    let third = refresh(&app, &second).await.str("refresh_token");
    // The client moved on; the first token coming back now is someone else's copy.
    refresh(&app, &admin.refresh_token).await.assert_problem(401);
    refresh(&app, &third).await.assert_problem(401);
    // So is the second one, presented again after its successor was issued and the family revoked.
    refresh(&app, &second).await.assert_problem(401);
}

#[actix_web::test]
async fn unknown_refresh_tokens_are_refused() {
    let app = spawn().await;
    app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": "made-up" })).await.assert_problem(401);
    let missing = app.post_anonymous("/v1/auth/refresh", json!({})).await;
    assert_eq!(missing.assert_problem(422), ["refresh_token"]);
}

#[actix_web::test]
async fn logout_ends_the_login() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let out = app.post("/v1/auth/logout", &admin.token, json!({ "refresh_token": admin.refresh_token })).await;
    assert_eq!(out.status, 204, "{}", out.text);
    app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": admin.refresh_token })).await.assert_problem(401);
    // Logging out needs an access token.
    app.post_anonymous("/v1/auth/logout", json!({ "refresh_token": "x" })).await.assert_problem(401);
}

#[actix_web::test]
async fn logout_cannot_end_someone_elses_login() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let other = app.clinic("South Clinic").await;
    let out = app.post("/v1/auth/logout", &other.token, json!({ "refresh_token": admin.refresh_token })).await;
    assert_eq!(out.status, 204);
    let still = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": admin.refresh_token })).await;
    assert_eq!(still.status, 200, "{}", still.text);
}

#[actix_web::test]
async fn an_invitation_activates_once() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let invited = app.post("/v1/clinicians", &admin.token, clinician_invite("reyes@clinic.test")).await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    let invite = invited.str("invite_token");

    // Before activation the account cannot log in.
    app.login("reyes@clinic.test", PASSWORD).await.assert_problem(401);

    let short = app.post_anonymous("/v1/auth/activate", json!({ "invite_token": invite, "password": "short" })).await;
    assert_eq!(short.assert_problem(422), ["password"]);

    let activated =
        app.post_anonymous("/v1/auth/activate", json!({ "invite_token": invite, "password": PASSWORD })).await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    assert_eq!(activated.body["user"]["role"], "clinician");
    assert_eq!(app.login("reyes@clinic.test", PASSWORD).await.status, 200);

    let again = app.post_anonymous("/v1/auth/activate", json!({ "invite_token": invite, "password": PASSWORD })).await;
    again.assert_problem(401);
    app.post_anonymous("/v1/auth/activate", json!({ "invite_token": "forged", "password": PASSWORD }))
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn a_patient_sees_its_profile_in_me() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let patient = app.patient(&admin, "Asia/Kathmandu").await;
    let me = app.get("/v1/me", &patient.token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["role"], "patient");
    assert_eq!(me.body["patient"]["id"], patient.id.as_str());
    assert_eq!(me.body["patient"]["timezone"], "Asia/Kathmandu");
    assert_eq!(me.body["patient"]["reminder_time"], "09:00");
}
