//! Issue 11, class 6: the idempotency store must not get around other protections. A replay
//! re-authenticates the caller, auth endpoints are never replayed (however their path is spelt),
//! invitation tokens never rest in stored answers, and every error of the layer is problem+json.

use std::io::{Read, Write};
use std::time::Duration;

use aftercare::auth::tokens::{Claims, TokenKeys};
use aftercare::db::schema::{idempotency_keys, users};
use chrono::Utc;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{TreatmentBody, check_in_body, clinician_invite, symptoms, today_in, treatment};
use crate::support::{Answer, JWT_SECRET, PASSWORD, Session, TestApp, spawn, spawn_with};

async fn post_keyed(app: &TestApp, path: &str, token: Option<&str>, key: &str, body: &Value) -> Answer {
    app.call_with_headers(Method::POST, path, token, Some(body.clone()), &[("Idempotency-Key", key)]).await
}

fn assert_not_replayed(answer: &Answer, case: &str) {
    assert_eq!(answer.header("idempotency-replayed"), "", "{case}: a stored answer was replayed: {}", answer.text);
}

/// Every body the idempotency store keeps, as one string to search.
fn stored_bodies(app: &TestApp) -> String {
    let mut conn = app.db.pool().get().unwrap();
    let bodies: Vec<Option<String>> = idempotency_keys::table.select(idempotency_keys::body).load(&mut *conn).unwrap();
    bodies.into_iter().flatten().collect::<Vec<_>>().join("\n")
}

fn expired_token_for(session: &Session, role: aftercare::domain::Role) -> String {
    let now = Utc::now().timestamp();
    let claims = Claims {
        iss: "aftercare".into(),
        aud: "aftercare-api".into(),
        sub: session.id.clone(),
        exp: now - 120,
        iat: now - 1000,
        nbf: now - 1000,
        typ: "access".into(),
        role,
        clinic: session.clinic_id.clone(),
        cv: 0,
    };
    TokenKeys::new(JWT_SECRET.as_bytes(), Duration::from_secs(900)).sign(&claims)
}

#[actix_web::test]
async fn a_replay_re_authenticates_the_caller_as_it_is_now() {
    use aftercare::domain::Role;
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let other_clinic = app.clinic("South").await;
    let patient = app.patient(&admin, "UTC").await;
    let t = treatment(&app, &admin, &patient.id, today_in("UTC")).await;
    let check_in_path = format!("/v1/treatments/{}/check-ins", t["id"].as_str().unwrap());
    let treatments_path = format!("/v1/patients/{}/treatments", patient.id);
    let db_change = |change: &'static str, id: String| {
        let mut conn = app.db.pool().get().unwrap();
        let row = users::table.find(id);
        match change {
            "deactivated" => diesel::update(row).set(users::active.eq(false)).execute(&mut *conn),
            "role changed" => diesel::update(row).set(users::role.eq("admin")).execute(&mut *conn),
            "clinic changed" => {
                diesel::update(row).set(users::clinic_id.eq(other_clinic.clinic_id.clone())).execute(&mut *conn)
            }
            _ => Ok(0),
        }
        .unwrap();
    };
    // The patient's own check-in, then one clinician per kind of change to the account.
    let first = post_keyed(&app, &check_in_path, Some(&patient.token), "p-1", &check_in_body(1, false)).await;
    assert_eq!(first.status, 201, "{}", first.text);
    db_change("deactivated", patient.id.clone());
    let again = post_keyed(&app, &check_in_path, Some(&patient.token), "p-1", &check_in_body(1, false)).await;
    assert_not_replayed(&again, "deactivated patient");
    again.assert_problem(401);

    for change in ["deactivated", "role changed", "clinic changed", "expired token"] {
        let clinician = app.clinician(&admin).await;
        let first =
            post_keyed(&app, &treatments_path, Some(&clinician.token), "c-1", &TreatmentBody::default().build()).await;
        assert_eq!(first.status, 201, "{change}: {}", first.text);
        db_change(change, clinician.id.clone());
        let token = match change {
            "expired token" => expired_token_for(&clinician, Role::Clinician),
            _ => clinician.token.clone(),
        };
        let again = post_keyed(&app, &treatments_path, Some(&token), "c-1", &TreatmentBody::default().build()).await;
        assert_not_replayed(&again, change);
        again.assert_problem(401);
    }
}

/// Ways to write `/v1/auth/{name}` that a client might send; some route, some do not.
fn spellings(name: &str) -> Vec<String> {
    let (head, tail) = name.split_at(1);
    let (init, last) = name.split_at(name.len() - 1);
    vec![
        format!("/v1/auth/{name}"),
        format!("/%76%31/auth/{name}"),
        format!("/v%31/auth/{name}"),
        format!("/v1/%61uth/{name}"),
        format!("/v1/auth/%{:02x}{tail}", head.as_bytes()[0]),
        format!("/v1/auth/{init}%{:02X}", last.as_bytes()[0]),
        format!("/v1/auth/{name}?retry=1"),
        format!("//v1/auth/{name}"),
        format!("/v1//auth/{name}"),
        format!("/v1/auth/{name}/"),
    ]
}

#[actix_web::test]
async fn refresh_with_an_idempotency_key_is_never_replayed_under_any_spelling() {
    // No retry grace: the second refresh is then plainly reuse, which a stored answer would hide.
    let app = spawn_with(|s| s.refresh_retry_grace = std::time::Duration::ZERO).await;
    let admin = app.clinic("North").await;
    let mut routed = 0;
    for (i, path) in spellings("refresh").into_iter().enumerate() {
        let login = app.login(&admin.email, PASSWORD).await;
        let (access, refresh) = (login.str("access_token"), login.str("refresh_token"));
        let key = format!("refresh-{i}");
        let body = json!({ "refresh_token": refresh });
        let first = post_keyed(&app, &path, Some(&access), &key, &body).await;
        let second = post_keyed(&app, &path, Some(&access), &key, &body).await;
        assert_not_replayed(&second, &path);
        if first.status == 200 {
            routed += 1;
            // The spent token presented again is reuse: refused, and its whole login revoked.
            second.assert_problem(401);
            let descendant = json!({ "refresh_token": first.str("refresh_token") });
            app.post_anonymous("/v1/auth/refresh", descendant).await.assert_problem(401);
        }
    }
    assert!(routed >= 5, "the percent-encoded spellings reach the refresh handler");
}

#[actix_web::test]
async fn login_logout_and_activate_are_never_replayed_under_any_spelling() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    for (i, path) in spellings("login").into_iter().enumerate() {
        let body = json!({ "email": admin.email, "password": PASSWORD });
        let key = format!("login-{i}");
        let first = post_keyed(&app, &path, Some(&admin.token), &key, &body).await;
        let second = post_keyed(&app, &path, Some(&admin.token), &key, &body).await;
        assert_not_replayed(&second, &path);
        if first.status == 200 {
            assert_ne!(first.str("refresh_token"), second.str("refresh_token"), "{path}: a new login each time");
        }
    }
    for (i, path) in spellings("logout").into_iter().enumerate() {
        let login = app.login(&admin.email, PASSWORD).await;
        let body = json!({ "refresh_token": login.str("refresh_token") });
        let key = format!("logout-{i}");
        post_keyed(&app, &path, Some(&login.str("access_token")), &key, &body).await;
        let second = post_keyed(&app, &path, Some(&login.str("access_token")), &key, &body).await;
        assert_not_replayed(&second, &path);
    }
    for (i, path) in spellings("activate").into_iter().enumerate() {
        let email = format!("staff-{i}@clinic.test");
        let invited = app.post("/v1/clinicians", &admin.token, clinician_invite(&email)).await;
        let body = json!({ "invite_token": invited.str("invite_token"), "password": PASSWORD });
        let key = format!("activate-{i}");
        let first = post_keyed(&app, &path, Some(&admin.token), &key, &body).await;
        let second = post_keyed(&app, &path, Some(&admin.token), &key, &body).await;
        assert_not_replayed(&second, &path);
        if first.status == 200 {
            second.assert_problem(401);
        }
    }
}

fn without_invite(body: &Value) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove("invite_token");
    body
}

#[actix_web::test]
async fn invitation_tokens_are_never_stored_and_a_replay_hands_out_the_mailed_one() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let cases = [
        (
            "/v1/patients",
            json!({ "name": "Pat", "email": "pat@mail.test", "timezone": "UTC", "skin_type": "dry", "fitzpatrick": 3 }),
        ),
        ("/v1/clinicians", clinician_invite("who@clinic.test")),
    ];
    for (path, body) in cases {
        let key = format!("invite{}", path.replace('/', "-"));
        let first = post_keyed(&app, path, Some(&admin.token), &key, &body).await;
        assert_eq!(first.status, 201, "{}", first.text);
        let lost = first.str("invite_token");
        assert!(!stored_bodies(&app).contains(&lost), "{path}: the plain invitation token is stored");

        let replay = post_keyed(&app, path, Some(&admin.token), &key, &body).await;
        assert_eq!(replay.status, 201, "{}", replay.text);
        assert_eq!(replay.header("idempotency-replayed"), "true");
        assert_eq!(without_invite(&replay.body), without_invite(&first.body), "{path}: the same account");
        // The replay shows the token the invitation e-mail carries (derived again from its nonce,
        // never stored), so the mailed link keeps working whichever answer the client kept.
        let again = replay.str("invite_token");
        assert_eq!(again, lost, "{path}: the replay shows the mailed token again");
        assert!(!stored_bodies(&app).contains(&again), "{path}: the token is stored");

        let activate = |token: String| {
            app.post_anonymous("/v1/auth/activate", json!({ "invite_token": token, "password": PASSWORD }))
        };
        assert_eq!(activate(again).await.status, 200, "{path}: the replayed token activates the account");
        activate(lost).await.assert_problem(401);
        // Once the account is active, no replay can hand out a way to set its password again.
        let late = post_keyed(&app, path, Some(&admin.token), &key, &body).await;
        late.assert_problem(409);
        assert!(late.body.get("invite_token").is_none());
    }
}

/// Sends a POST with a chunked body of `size` bytes (no Content-Length) over a raw socket.
fn chunked_post(app: &TestApp, path: &str, token: &str, size: usize) -> (u16, String, String) {
    let address = app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: chunked-1\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let body = format!("{{\"notes\":\"{}\"}}", "n".repeat(size));
    for chunk in body.as_bytes().chunks(16 * 1024) {
        if stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
            || stream.write_all(chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let content_type = answer
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    (status, content_type, answer)
}

#[actix_web::test]
async fn every_error_of_the_idempotency_layer_is_problem_json() {
    use aftercare::db::schema::idempotency_keys as keys;
    let app = spawn_with(|s| s.idempotency_wait_ms = 100).await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let t = treatment(&app, &admin, &patient.id, today_in("UTC")).await;
    let path = format!("/v1/treatments/{}/check-ins", t["id"].as_str().unwrap());
    let limit = app.services.state.settings.json_body_limit;
    let token = Some(patient.token.as_str());

    // Too large, just over the JSON limit and well over any default limit, with a length or chunked.
    for size in [limit + 1, 300 * 1024, 2 * 1024 * 1024] {
        let body = json!({ "symptoms": symptoms(1, false), "notes": "n".repeat(size) });
        post_keyed(&app, &path, token, &format!("big-{size}"), &body).await.assert_problem(413);
        let (status, content_type, raw) = chunked_post(&app, &path, &patient.token, size);
        assert_eq!((status, content_type.as_str()), (413, "application/problem+json"), "{raw}");
    }
    // A malformed key.
    for key in ["k".repeat(256), "with space".into(), "\t".into()] {
        let body = check_in_body(1, false);
        assert_eq!(post_keyed(&app, &path, token, &key, &body).await.assert_problem(422), ["Idempotency-Key"]);
    }
    // No caller, or one that may no longer act.
    post_keyed(&app, &path, None, "anon-1", &json!({})).await.assert_problem(401);
    post_keyed(&app, &path, Some("not-a-token"), "anon-2", &json!({})).await.assert_problem(401);
    // The same key for another request.
    let body = check_in_body(1, false);
    assert_eq!(post_keyed(&app, &path, token, "k-1", &body).await.status, 201);
    let other = check_in_body(2, false);
    assert_eq!(post_keyed(&app, &path, token, "k-1", &other).await.assert_problem(422), ["Idempotency-Key"]);
    // Still running.
    {
        let mut conn = app.db.pool().get().unwrap();
        diesel::update(keys::table.filter(keys::idempotency_key.eq("k-1")))
            .set((keys::status.eq(None::<i32>), keys::created_at.eq(aftercare::clock::now())))
            .execute(&mut *conn)
            .unwrap();
    }
    post_keyed(&app, &path, token, "k-1", &body).await.assert_problem(409);
}

#[actix_web::test]
async fn every_post_route_but_the_auth_ones_honours_the_key() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let routes = crate::support::served_routes(&app).await;
    let posts: Vec<&String> = routes.iter().filter(|(m, _)| m == "POST").map(|(_, p)| p).collect();
    assert!(posts.len() >= 10, "{posts:?}");
    for (i, route) in posts.into_iter().enumerate() {
        let path = route.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let key = format!("route-{i}");
        post_keyed(&app, &path, Some(&admin.token), &key, &json!({})).await;
        let again = post_keyed(&app, &path, Some(&admin.token), &key, &json!({})).await;
        if route.starts_with("/v1/auth/") {
            assert_not_replayed(&again, route);
        } else {
            assert_eq!(again.header("idempotency-replayed"), "true", "{route} does not honour Idempotency-Key");
        }
    }
}
