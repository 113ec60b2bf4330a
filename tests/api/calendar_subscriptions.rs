//! Calendar subscriptions: a feed URL that calendar apps poll without a header, rotated and
//! revoked by the patient or the clinic, whose secret is stored only as a hash.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::Method;

use crate::fixtures::{today_in, treatment};
use crate::support::{Answer, Session, TestApp, spawn};

async fn subscribe(app: &TestApp, who: &Session, treatment_id: &str, key: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let path = format!("/v1/treatments/{treatment_id}/calendar-subscription");
    app.call_with_headers(Method::POST, &path, Some(&who.token), None, &headers).await
}

/// The feed at a URL the server handed out, fetched with no Authorization header.
async fn poll(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> Answer {
    let path = url.strip_prefix(&app.base).unwrap_or_else(|| panic!("{url} is not on {}", app.base));
    app.call_with_headers(Method::GET, path, None, None, headers).await
}

/// Optional text columns of an audit event.
type Texts = (Option<String>, Option<String>, Option<String>);

fn secret_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().trim_end_matches(".ics").to_string()
}

/// Everything stored in the tables a secret could leak into, as text.
fn stored_text(app: &TestApp) -> String {
    use aftercare::db::schema::{audit_events as a, calendar_subscriptions as s, idempotency_keys as k};
    let mut conn = app.db.pool().get().unwrap();
    let c = &mut *conn;
    let subs: Vec<(String, String, String, String, String, String)> = s::table
        .select((s::treatment_id, s::id, s::token_hash, s::clinic_id, s::patient_id, s::created_by))
        .load(c)
        .unwrap();
    let keys: Vec<(String, Option<String>, Option<String>)> =
        k::table.select((k::idempotency_key, k::body, k::location)).load(c).unwrap();
    let audit: Vec<(String, Texts)> =
        a::table.select((a::action, (a::resource_id, a::patient_id, a::client_addr))).load(c).unwrap();
    format!("{subs:?}\n{keys:?}\n{audit:?}")
}

fn hashes(app: &TestApp) -> Vec<String> {
    use aftercare::db::schema::calendar_subscriptions as s;
    let mut conn = app.db.pool().get().unwrap();
    s::table.select(s::token_hash).load(&mut *conn).unwrap()
}

#[actix_web::test]
async fn a_feed_is_polled_without_a_header_rotated_and_revoked() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&clinician, "Europe/Madrid").await;
    let t = treatment(&app, &clinician, &patient.id, today_in("Europe/Madrid") - Duration::days(3)).await;
    let t = t["id"].as_str().unwrap().to_string();
    let state_path = format!("/v1/treatments/{t}/calendar-subscription");

    app.get(&state_path, &patient.token).await.assert_problem(404);

    // The patient subscribes; the URL is absolute and polled with no header.
    let created = subscribe(&app, &patient, &t, None).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), state_path);
    assert_eq!(created.body["created_by"], patient.id.as_str());
    let first = created.str("feed_url");
    assert!(first.starts_with(&format!("{}/v1/calendar-feeds/", app.base)) && first.ends_with(".ics"), "{first}");
    let secret = secret_of(&first);
    assert!(secret.len() >= 43, "a long secret: {secret}");
    let feed = poll(&app, &first, &[]).await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    assert!(feed.header("content-type").starts_with("text/calendar"));
    assert!(feed.header("cache-control").starts_with("private"), "{}", feed.header("cache-control"));
    let authenticated = app.get(&format!("/v1/treatments/{t}/calendar.ics"), &patient.token).await;
    assert!(feed.text == authenticated.text, "the same feed as the authenticated one");
    let etag = feed.header("etag").to_string();
    let again = poll(&app, &first, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);

    // Its state can be read by the clinic, never its URL.
    let state = app.get(&state_path, &clinician.token).await;
    assert_eq!(state.status, 200, "{}", state.text);
    assert_eq!(state.body["created_by"], patient.id.as_str());
    assert!(!state.text.contains(&secret) && state.body.get("feed_url").is_none());

    // Stored only as a hash.
    assert_eq!(hashes(&app), [aftercare::auth::tokens::token_hash(&secret)]);

    // The clinician rotates: the old URL is gone at once, the new one works.
    let rotated = subscribe(&app, &clinician, &t, None).await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let second = rotated.str("feed_url");
    assert_ne!(second, first);
    poll(&app, &first, &[]).await.assert_problem(404);
    assert_eq!(poll(&app, &second, &[]).await.status, 200);
    assert_eq!(hashes(&app).len(), 1, "one subscription per treatment");

    // Another patient, another clinic: 404 on every management operation, the feed untouched.
    let away = app.clinic("South").await;
    let other_patient = app.patient(&clinician, "Europe/Madrid").await;
    for intruder in [&other_patient, &away] {
        subscribe(&app, intruder, &t, None).await.assert_problem(404);
        app.get(&state_path, &intruder.token).await.assert_problem(404);
        app.call(Method::DELETE, &state_path, Some(&intruder.token), None).await.assert_problem(404);
    }
    assert_eq!(poll(&app, &second, &[]).await.status, 200);

    // Revoked: 404 problem+json; revoking again is harmless.
    let revoked = app.call(Method::DELETE, &state_path, Some(&patient.token), None).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    poll(&app, &second, &[]).await.assert_problem(404);
    assert_eq!(app.call(Method::DELETE, &state_path, Some(&admin.token), None).await.status, 204);
    app.get(&state_path, &patient.token).await.assert_problem(404);
    assert!(hashes(&app).is_empty());

    // Not a feed: made-up and malformed secrets.
    for path in [
        "/v1/calendar-feeds/nope.ics",
        "/v1/calendar-feeds/%00.ics",
        &format!("/v1/calendar-feeds/{}.ics", "a".repeat(43)),
    ] {
        app.call(Method::GET, path, None, None).await.assert_problem(404);
    }

    // The polls are audited, naming the patient and treatment but no caller, and no secret
    // reached the trail, the idempotency store or the subscriptions table.
    app.services.state.audit.flush();
    {
        use aftercare::db::schema::audit_events as a;
        let mut conn = app.db.pool().get().unwrap();
        let polls: Vec<(Texts, String)> = a::table
            .filter(a::action.eq("GET /v1/calendar-feeds/{secret}.ics"))
            .filter(a::outcome.eq("success"))
            .select(((a::user_id, a::patient_id, a::resource_id), a::resource_type.assume_not_null()))
            .load(&mut *conn)
            .unwrap();
        assert!(polls.len() >= 3, "{polls:?}");
        for ((user, patient_id, resource), kind) in polls {
            assert_eq!(
                (user, patient_id.as_deref(), resource.as_deref(), kind.as_str()),
                (None, Some(patient.id.as_str()), Some(t.as_str()), "treatment")
            );
        }
    }
    let stored = stored_text(&app);
    for s in [secret_of(&first), secret_of(&second)] {
        assert!(!stored.contains(&s), "a feed secret is stored");
    }
}

#[actix_web::test]
async fn a_replay_after_a_lost_answer_hands_out_a_working_url_and_stores_none() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "America/New_York").await;
    let t = treatment(&app, &admin, &patient.id, today_in("America/New_York")).await;
    let t = t["id"].as_str().unwrap().to_string();

    let first = subscribe(&app, &patient, &t, Some("subscribe-1")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let lost = first.str("feed_url");
    let replay = subscribe(&app, &patient, &t, Some("subscribe-1")).await;
    assert_eq!(replay.status, 201, "{}", replay.text);
    assert_eq!(replay.header("idempotency-replayed"), "true");
    assert_eq!(replay.body["treatment_id"], first.body["treatment_id"]);
    let fresh = replay.str("feed_url");
    assert_ne!(fresh, lost, "a new secret for the lost answer's");
    poll(&app, &lost, &[]).await.assert_problem(404);
    assert_eq!(poll(&app, &fresh, &[]).await.status, 200);
    // A second replay can do the same again.
    let fresher = subscribe(&app, &patient, &t, Some("subscribe-1")).await.str("feed_url");
    poll(&app, &fresh, &[]).await.assert_problem(404);
    assert_eq!(poll(&app, &fresher, &[]).await.status, 200);
    let stored = stored_text(&app);
    for url in [&lost, &fresh, &fresher] {
        assert!(!stored.contains(&secret_of(url)), "a feed secret is stored");
    }

    // Once another request rotated the subscription, no replay may undo that.
    let current = subscribe(&app, &admin, &t, None).await.str("feed_url");
    let late = subscribe(&app, &patient, &t, Some("subscribe-1")).await;
    late.assert_problem(409);
    assert!(late.body.get("feed_url").is_none());
    assert_eq!(poll(&app, &current, &[]).await.status, 200, "the later rotation stands");
}

#[actix_web::test]
async fn the_feed_url_follows_the_public_base_url_when_one_is_set() {
    let app = crate::support::spawn_with(|s| s.public_base_url = Some("https://care.example.com".into())).await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let t = treatment(&app, &admin, &patient.id, today_in("UTC")).await;
    let url = subscribe(&app, &admin, t["id"].as_str().unwrap(), None).await.str("feed_url");
    assert!(url.starts_with("https://care.example.com/v1/calendar-feeds/"), "{url}");
    let path = url.trim_start_matches("https://care.example.com");
    assert_eq!(app.call(Method::GET, path, None, None).await.status, 200);
}
