//! Every kind of bad access token answers 401 problem+json.

use aftercare::auth::tokens::{Claims, TokenKeys};
use aftercare::domain::Role;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use diesel::prelude::*;
use std::time::Duration;

use crate::support::{JWT_SECRET, spawn};

type Mutation = fn(&mut Claims);

fn claims_for(id: &str, clinic: &str) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        iss: "aftercare".into(),
        aud: "aftercare-api".into(),
        sub: id.into(),
        exp: now + 600,
        iat: now,
        nbf: now,
        typ: "access".into(),
        role: Role::Admin,
        clinic: clinic.into(),
        cv: 0,
    }
}

#[actix_web::test]
async fn forged_expired_and_misaddressed_tokens_are_refused() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let keys = TokenKeys::new(JWT_SECRET.as_bytes(), Duration::from_secs(900));
    let good = claims_for(&admin.id, &admin.clinic_id);
    assert_eq!(app.get("/v1/me", &keys.sign(&good)).await.status, 200, "the control token works");

    let wrong_key = TokenKeys::new(b"another-secret-another-secret-0123", Duration::from_secs(900)).sign(&good);
    let mut cases = vec![("wrong key", wrong_key)];
    let mutations: Vec<(&str, Mutation)> = vec![
        ("expired", |c| c.exp = Utc::now().timestamp() - 120),
        ("not yet valid", |c| c.nbf = Utc::now().timestamp() + 3600),
        ("issued in the future", |c| c.iat = Utc::now().timestamp() + 3600),
        ("wrong issuer", |c| c.iss = "someone-else".into()),
        ("wrong audience", |c| c.aud = "another-api".into()),
        ("refresh type", |c| c.typ = "refresh".into()),
        ("wrong role", |c| c.role = Role::Clinician),
        ("wrong clinic", |c| c.clinic = uuid::Uuid::new_v4().to_string()),
        ("unknown user", |c| c.sub = uuid::Uuid::new_v4().to_string()),
    ];
    for (name, mutate) in mutations {
        let mut claims = good.clone();
        mutate(&mut claims);
        cases.push((name, keys.sign(&claims)));
    }
    let valid = keys.sign(&good);
    let payload = valid.split('.').nth(1).unwrap();
    cases.push(("alg none", format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#))));
    let mut tampered_claims = good.clone();
    tampered_claims.role = Role::Admin;
    tampered_claims.clinic = "another".into();
    let tampered_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered_claims).unwrap());
    let parts: Vec<&str> = valid.split('.').collect();
    cases.push(("tampered payload", format!("{}.{tampered_payload}.{}", parts[0], parts[2])));
    cases.push(("a refresh token", admin.refresh_token.clone()));
    cases.push(("garbage", "not-a-token".into()));

    for (name, token) in cases {
        let answer = app.get("/v1/me", &token).await;
        assert_eq!(answer.status, 401, "{name}: {}", answer.text);
        answer.assert_problem(401);
        assert_eq!(answer.header("www-authenticate"), "Bearer", "{name}");
    }
    app.call(reqwest::Method::GET, "/v1/me", None, None).await.assert_problem(401);
}

#[actix_web::test]
async fn a_deactivated_account_loses_access_at_once() {
    use aftercare::db::schema::users;
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let id = admin.id.clone();
    app.db
        .run(move |conn| {
            diesel::update(users::table.find(&id)).set(users::active.eq(false)).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    app.get("/v1/me", &admin.token).await.assert_problem(401);
    app.login(&admin.email, crate::support::PASSWORD).await.assert_problem(401);
}
