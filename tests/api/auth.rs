use serde_json::json;

use crate::fixtures::clinician_invite;
use crate::support::{PASSWORD, spawn};

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

#[actix_web::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_whole_login() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;

    let first = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": admin.refresh_token })).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second_token = first.str("refresh_token");
    assert_ne!(second_token, admin.refresh_token);
    assert_eq!(app.get("/v1/me", &first.str("access_token")).await.status, 200);

    // The spent token comes back (stolen, or replayed): refused, and its descendants die with it.
    let replay = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": admin.refresh_token })).await;
    replay.assert_problem(401);
    let descendant = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": second_token })).await;
    descendant.assert_problem(401);

    // Another login is a different family and still works.
    let other = app.login(&admin.email, PASSWORD).await;
    let refreshed =
        app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": other.str("refresh_token") })).await;
    assert_eq!(refreshed.status, 200);
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
