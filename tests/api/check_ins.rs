//! Check-ins, their assessment, the review queue, adherence and photos.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::fixtures::{
    PhotoBody, check_in, check_in_body, patient_on_day, symptoms, today_in, treatment, verified_photo,
};
use crate::support::{Answer, Session, TestApp, spawn, spawn_with};

fn date_of(days_from_today: i64) -> String {
    (today_in("Europe/Berlin") + Duration::days(days_from_today)).to_string()
}

#[actix_web::test]
async fn a_check_in_is_judged_against_its_day_of_recovery() {
    let app = spawn().await;
    let (_, patient, t) = patient_on_day(&app, 4).await; // today is day 5
    let day1 = check_in(&app, &patient, &t, json!({ "local_date": date_of(-4), "symptoms": symptoms(9, true) })).await;
    assert_eq!(day1.status, 201, "{}", day1.text);
    assert_eq!(day1.body["day_number"], 1);
    assert_eq!(day1.body["phase"], "days_1_2");
    assert_eq!(
        day1.body["assessment"],
        json!({ "level": "ok", "reasons": [] }),
        "redness and pinpoint bleeding are expected on day 1"
    );
    assert_eq!(day1.body["protocol"], json!({ "id": "standard", "version": 2 }));
    assert_eq!(day1.body["patient_id"], patient.id.as_str());
    assert!(day1.body["reviewed_at"].is_null());

    let today = check_in(&app, &patient, &t, json!({ "symptoms": symptoms(9, false), "notes": "very red" })).await;
    assert_eq!(today.body["local_date"], date_of(0), "defaults to today in the patient's zone");
    assert_eq!(today.body["day_number"], 5);
    assert_eq!(today.body["phase"], "days_3_7");
    assert_eq!(today.body["assessment"]["level"], "watch");
    assert_eq!(today.body["assessment"]["reasons"][0]["code"], "redness_severe_after_day_2");
    assert!(today.body["assessment"]["reasons"][0]["message"].as_str().unwrap().len() > 20);
    assert_eq!(today.body["notes"], "very red");
    assert_eq!(today.body["symptoms"]["redness"], 9);

    let bleeding =
        check_in(&app, &patient, &t, json!({ "local_date": date_of(-3), "symptoms": symptoms(2, true) })).await;
    assert_eq!(bleeding.body["assessment"]["level"], "urgent");
    assert_eq!(bleeding.body["assessment"]["reasons"][0]["code"], "bleeding_after_day_1");
    assert!(bleeding.body["assessment"]["reasons"][0]["message"].as_str().unwrap().contains("Contact your clinic now"));
}

#[actix_web::test]
async fn bad_check_ins_name_every_field() {
    let app = spawn().await;
    let (admin, patient, t) = patient_on_day(&app, 2).await;
    let mut wild = symptoms(11, false);
    wild["pain"] = json!(-1);
    wild.as_object_mut().unwrap().remove("fever");
    let bad = check_in(
        &app,
        &patient,
        &t,
        json!({ "local_date": "2026-02-31", "symptoms": wild, "notes": "x".repeat(2001) }),
    )
    .await;
    // The symptoms are invalid, so the check-in is refused; the 422 names the invalid secondary
    // fields too, so that the app corrects everything at once.
    assert_eq!(bad.assert_problem(422), ["local_date", "symptoms.redness", "symptoms.pain", "symptoms.fever", "notes"]);
    assert_eq!(check_in(&app, &patient, &t, json!({})).await.assert_problem(422), ["symptoms"]);
    // With valid symptoms, a date or an adherence answer that does not fit the plan is ignored and
    // named in `ignored` (issue 15: nothing secondary may cost a report); today is used instead.
    let ignored = |answer: &Answer| -> Vec<String> {
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body["ignored"].as_array().unwrap().iter().map(|i| i["field"].as_str().unwrap().to_string()).collect()
    };
    let early =
        check_in(&app, &patient, &t, json!({ "local_date": date_of(-3), "symptoms": symptoms(0, false) })).await;
    assert_eq!(ignored(&early), ["local_date"]);
    assert_eq!(early.body["local_date"], date_of(0));
    let late = check_in(&app, &patient, &t, json!({ "local_date": date_of(2), "symptoms": symptoms(0, false) })).await;
    assert_eq!(ignored(&late), ["local_date"]);
    assert_eq!(late.body["local_date"], date_of(0));
    let tomorrow =
        check_in(&app, &patient, &t, json!({ "local_date": date_of(1), "symptoms": symptoms(0, false) })).await;
    assert_eq!(ignored(&tomorrow), Vec::<String>::new(), "tomorrow is allowed");
    let unknown = check_in(
        &app,
        &patient,
        &t,
        json!({ "symptoms": symptoms(0, false), "adherence": { "no_makeup": true, "flossing": true, "sunscreen": true } }),
    )
    .await;
    assert_eq!(ignored(&unknown), ["adherence.flossing", "adherence.no_makeup"], "day 3 has neither");
    assert_eq!(unknown.body["adherence"], json!({ "sunscreen": true }), "the valid answer is kept");
    let stored = app.get(&format!("/v1/check-ins/{}", unknown.str("id")), &admin.token).await;
    assert_eq!(stored.body["ignored"], unknown.body["ignored"], "what was ignored stays with the check-in");
    let wrong_type = check_in(&app, &patient, &t, json!({ "symptoms": { "redness": "high" } })).await;
    wrong_type.assert_problem(400);
    assert!(wrong_type.text.contains("symptoms.redness"), "{}", wrong_type.text);
    app.post(&format!("/v1/treatments/{t}/check-ins"), &admin.token, check_in_body(0, false)).await.assert_problem(403);
    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    check_in(&app, &neighbour, &t, check_in_body(0, false)).await.assert_problem(404);
}

#[actix_web::test]
async fn adherence_answers_acknowledge_reminders_and_add_up() {
    let app = spawn().await;
    let (admin, patient, t) = patient_on_day(&app, 1).await; // day 2
    let answer = check_in(&app, &patient, &t, json!({ "symptoms": symptoms(3, false), "adherence": { "sunscreen": true, "avoid_heat": false, "cool_compress": true } })).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["adherence"], json!({ "avoid_heat": false, "cool_compress": true, "sunscreen": true }));
    let today =
        app.get(&format!("/v1/treatments/{t}/reminders?from={}&to={}", date_of(0), date_of(0)), &patient.token).await;
    let acked: Vec<_> = today.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["acknowledged_at"].is_null())
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(acked, ["sunscreen", "cool_compress"]);

    let summary = app.get(&format!("/v1/treatments/{t}/adherence"), &admin.token).await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    // Days 1 and 2 of a normal-skinned, Fitzpatrick II patient: 7 reminders on day 1, 5 on day 2,
    // and on day 2 also no makeup and no workout, whose 24 hours from the 10:00 treatment (the
    // clinic's default time) are still running at the 09:00 reminder time. The "you may now"
    // milestones of day 2 are not counted.
    assert_eq!(summary.body["due"], 14);
    assert_eq!(summary.body["acknowledged"], 2);
    let sunscreen =
        summary.body["by_kind"].as_array().unwrap().iter().find(|k| k["kind"] == "sunscreen").unwrap().clone();
    assert_eq!(sunscreen, json!({ "kind": "sunscreen", "due": 2, "acknowledged": 1, "share": 0.5 }));
    let today_view = app.get("/v1/me/today", &patient.token).await;
    assert_eq!(today_view.body["treatments"][0]["checked_in"], true);
}

/// A clinic whose patient has sent, in this order, an ok, an urgent (bleeding), a watch (redness)
/// and another urgent (pus and fever) check-in on day 5; returns (admin, clinician, patient,
/// treatment id, [ok, urgent_1, watch, urgent_2]).
async fn queue_of_four(app: &TestApp) -> (Session, Session, Session, String, [Value; 4]) {
    let (admin, patient, t) = patient_on_day(app, 4).await;
    let clinician = app.clinician(&admin).await;
    let post = |body: Value| check_in(app, &patient, &t, body);
    let ok = post(check_in_body(1, false)).await.body;
    let urgent_1 = post(check_in_body(1, true)).await.body;
    let watch = post(check_in_body(8, false)).await.body;
    let urgent_2 = post(json!({ "symptoms": { "redness": 0, "swelling": 0, "pain": 0, "itching": 0, "peeling": 0, "bleeding": false, "pus": true, "fever": true, "hives": false, "darkening": false } })).await.body;
    (admin, clinician, patient, t, [ok, urgent_1, watch, urgent_2])
}

fn review_path(check_in: &Value) -> String {
    format!("/v1/check-ins/{}/review", check_in["id"].as_str().unwrap())
}

#[actix_web::test]
async fn the_queue_puts_urgent_first_and_pages_correctly_while_check_ins_arrive() {
    let app = spawn().await;
    let (_, clinician, patient, t, [ok, urgent_1, watch, urgent_2]) = queue_of_four(&app).await;

    let first = app.get("/v1/review-queue?limit=1", &clinician.token).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["counts"], json!({ "urgent": 2, "watch": 1, "ok": 1 }));
    let item = &first.body["items"][0];
    assert_eq!(item["id"], urgent_1["id"]);
    assert_eq!(item["patient_name"], "Pat Test");
    assert_eq!(item["day_number"], 5);
    assert_eq!(item["phase"], "days_3_7");
    assert_eq!(item["assessment"]["level"], "urgent");

    // A new urgent check-in arrives while the clinician pages.
    let urgent_3 = check_in(&app, &patient, &t, check_in_body(0, true)).await.body;
    let mut seen = vec![item["id"].clone()];
    let mut cursor = first.body["next_cursor"].as_str().map(String::from);
    while let Some(c) = cursor {
        let page = app.get(&format!("/v1/review-queue?limit=1&cursor={c}"), &clinician.token).await;
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|i| i["id"].clone()));
        cursor = page.body["next_cursor"].as_str().map(String::from);
    }
    assert_eq!(seen, [&urgent_1["id"], &urgent_2["id"], &urgent_3["id"], &watch["id"], &ok["id"]].map(|v| v.clone()));
}

#[actix_web::test]
async fn a_reviewed_check_in_leaves_the_queue_and_is_reviewed_once() {
    let app = spawn().await;
    let (admin, clinician, _, _, [_, urgent_1, _, urgent_2]) = queue_of_four(&app).await;
    let reviewed = app.post(&review_path(&urgent_1), &clinician.token, json!({ "note": "Called the patient." })).await;
    assert_eq!(reviewed.status, 200, "{}", reviewed.text);
    assert_eq!(reviewed.body["reviewed_by"], clinician.id.as_str());
    assert_eq!(reviewed.body["review_note"], "Called the patient.");
    assert!(reviewed.body["reviewed_at"].as_str().unwrap().ends_with('Z'));
    app.post(&review_path(&urgent_1), &admin.token, json!({})).await.assert_problem(409);
    let after = app.get("/v1/review-queue", &clinician.token).await;
    assert_eq!(after.body["counts"]["urgent"], 1);
    assert_eq!(after.body["items"][0]["id"], urgent_2["id"]);
}

#[actix_web::test]
async fn only_the_clinics_staff_see_its_queue_and_review_its_check_ins() {
    let app = spawn().await;
    let (_, _, patient, _, [ok, ..]) = queue_of_four(&app).await;
    app.get("/v1/review-queue", &patient.token).await.assert_problem(403);
    app.post(&review_path(&ok), &patient.token, json!({})).await.assert_problem(403);
    let other = app.clinic("South").await;
    assert_eq!(app.get("/v1/review-queue", &other.token).await.body["items"], json!([]));
    app.post(&review_path(&ok), &other.token, json!({})).await.assert_problem(404);
}

#[actix_web::test]
async fn a_review_note_is_at_most_2000_characters() {
    let app = spawn().await;
    let (admin, _, _, _, [ok, ..]) = queue_of_four(&app).await;
    let long = app.post(&review_path(&ok), &admin.token, json!({ "note": "x".repeat(2001) })).await;
    assert_eq!(long.assert_problem(422), ["note"]);
}

#[actix_web::test]
async fn check_ins_are_listed_newest_first_and_stay_private() {
    let app = spawn().await;
    let (admin, patient, t) = patient_on_day(&app, 3).await;
    let a = check_in(&app, &patient, &t, check_in_body(1, false)).await.body;
    let b = check_in(&app, &patient, &t, check_in_body(2, false)).await.body;
    let listed = app.get(&format!("/v1/treatments/{t}/check-ins"), &admin.token).await;
    let ids: Vec<_> = listed.body["items"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, [b["id"].clone(), a["id"].clone()]);
    let one = app.get(&format!("/v1/check-ins/{}", a["id"].as_str().unwrap()), &patient.token).await;
    assert_eq!(one.body, a);
    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    let other = app.clinic("South").await;
    for intruder in [&neighbour, &other] {
        app.get(&format!("/v1/check-ins/{}", a["id"].as_str().unwrap()), &intruder.token).await.assert_problem(404);
        app.get(&format!("/v1/treatments/{t}/check-ins"), &intruder.token).await.assert_problem(404);
    }
}

/// A patient's check-in on day 4; returns (admin, patient, treatment id, its photos' path).
async fn check_in_for_photos(app: &TestApp) -> (Session, Session, String, String) {
    let (admin, patient, t) = patient_on_day(app, 3).await;
    let c = check_in(app, &patient, &t, check_in_body(1, false)).await.body;
    let path = format!("/v1/check-ins/{}/photos", c["id"].as_str().unwrap());
    (admin, patient, t, path)
}

/// An instant `minutes` from now, as a phone would send it.
fn minutes_from_now(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339()
}

#[actix_web::test]
async fn photo_metadata_is_validated() {
    let app = spawn().await;
    let (admin, patient, t, path) = check_in_for_photos(&app).await;
    let stored = app.post(&path, &patient.token, PhotoBody::default().build()).await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    assert_eq!(stored.body["content_type"], "image/jpeg");
    assert_eq!(stored.body["treatment_id"], t.as_str());
    let slightly_ahead = PhotoBody::default().captured_at(&minutes_from_now(4)).build();
    assert_eq!(
        app.post(&path, &patient.token, slightly_ahead).await.status,
        201,
        "a phone clock a little fast is fine"
    );

    let bad = app
        .post(&path, &patient.token, json!({ "content_type": "image/gif", "byte_size": 26_214_401, "sha256": "A".repeat(64), "width": 0, "height": 20_001, "captured_at": minutes_from_now(10), "body_site": "elbow", "view": "back" }))
        .await;
    assert_eq!(
        bad.assert_problem(422),
        ["content_type", "byte_size", "sha256", "width", "height", "captured_at", "body_site", "view"]
    );
    let missing = app.post(&path, &patient.token, json!({})).await;
    assert_eq!(missing.assert_problem(422).len(), 8);
    let not_instant = app.post(&path, &patient.token, PhotoBody::default().captured_at("yesterday").build()).await;
    assert_eq!(not_instant.assert_problem(422), ["captured_at"]);
    app.post(&path, &admin.token, PhotoBody::default().build()).await.assert_problem(403);
}

#[actix_web::test]
async fn photos_are_listed_in_capture_order_and_filtered_by_site_and_view() {
    let app = spawn().await;
    let (admin, patient, t, path) = check_in_for_photos(&app).await;
    let post = async |minutes: i64, site: &'static str, view: &'static str| {
        let body = PhotoBody::default().captured_at(&minutes_from_now(minutes)).of(site, view);
        verified_photo(&app, &patient, &path, body).await["id"].clone()
    };
    let later = post(-10, "left_cheek", "front").await;
    let earlier = post(-60, "left_cheek", "close_up").await;
    let slightly_ahead = post(4, "chin", "front").await;

    let all = app.get(&format!("/v1/treatments/{t}/photos"), &admin.token).await;
    let ids: Vec<_> = all.body["items"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
    assert_eq!(ids, [earlier, later, slightly_ahead]);
    let cheek_front =
        app.get(&format!("/v1/treatments/{t}/photos?body_site=left_cheek&view=front"), &patient.token).await;
    assert_eq!(cheek_front.body["items"].as_array().unwrap().len(), 1);
    let bad_filter = app.get(&format!("/v1/treatments/{t}/photos?body_site=knee&view=sideways"), &patient.token).await;
    assert_eq!(bad_filter.assert_problem(422), ["body_site", "view"]);
}

#[actix_web::test]
async fn photos_stay_private_and_their_owner_or_staff_delete_them() {
    let app = spawn().await;
    let (admin, patient, _, path) = check_in_for_photos(&app).await;
    let first = verified_photo(&app, &patient, &path, PhotoBody::default()).await;
    let second = app.post(&path, &patient.token, PhotoBody::default().build()).await.body;

    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    let photo_path = format!("/v1/photos/{}", first["id"].as_str().unwrap());
    app.get(&photo_path, &neighbour.token).await.assert_problem(404);
    app.call(reqwest::Method::DELETE, &photo_path, Some(&neighbour.token), None).await.assert_problem(404);
    app.post(&path, &neighbour.token, PhotoBody::default().build()).await.assert_problem(404);
    assert_eq!(app.get(&photo_path, &patient.token).await.body, first);
    let deleted = app.call(reqwest::Method::DELETE, &photo_path, Some(&admin.token), None).await;
    assert_eq!(deleted.status, 204);
    app.get(&photo_path, &patient.token).await.assert_problem(404);
    let own = format!("/v1/photos/{}", second["id"].as_str().unwrap());
    assert_eq!(app.call(reqwest::Method::DELETE, &own, Some(&patient.token), None).await.status, 204);
}

fn check_in_rows(app: &TestApp) -> i64 {
    use aftercare::db::schema::check_ins;
    let mut conn = app.db.pool().get().unwrap();
    check_ins::table.count().get_result(&mut *conn).unwrap()
}

async fn post_with_key(app: &TestApp, patient: &Session, t: &str, key: &str, body: &Value) -> Answer {
    let response = app
        .client
        .post(format!("{}/v1/treatments/{t}/check-ins", app.base))
        .bearer_auth(&patient.token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    TestApp::answer(response).await
}

#[actix_web::test]
async fn a_retried_check_in_is_created_once() {
    let app = spawn().await;
    let (admin, patient, t) = patient_on_day(&app, 3).await;
    let body = check_in_body(2, false);
    let first = post_with_key(&app, &patient, &t, "phone-retry-1", &body).await;
    assert_eq!(first.status, 201);
    for _ in 0..9 {
        let retry = post_with_key(&app, &patient, &t, "phone-retry-1", &body).await;
        assert_eq!(retry.status, 201);
        assert_eq!(retry.text, first.text, "the first answer, byte for byte");
        assert_eq!(retry.header("idempotency-replayed"), "true");
    }
    assert_eq!(check_in_rows(&app), 1);

    let different = post_with_key(&app, &patient, &t, "phone-retry-1", &check_in_body(3, false)).await;
    assert_eq!(different.assert_problem(422), ["Idempotency-Key"]);
    let too_long = post_with_key(&app, &patient, &t, &"k".repeat(256), &body).await;
    assert_eq!(too_long.assert_problem(422), ["Idempotency-Key"]);
    // Keys belong to their caller: another patient's same key is independent.
    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    let other_t = treatment(&app, &admin, &neighbour.id, today_in("Europe/Berlin")).await;
    let theirs = post_with_key(&app, &neighbour, other_t["id"].as_str().unwrap(), "phone-retry-1", &body).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert_ne!(theirs.body["id"], first.body["id"]);
    assert_eq!(check_in_rows(&app), 2);
    // An error answer is kept too: the same invalid request gets the same 422.
    let invalid = check_in_body(42, false);
    let a = post_with_key(&app, &patient, &t, "bad-1", &invalid).await;
    let b = post_with_key(&app, &patient, &t, "bad-1", &invalid).await;
    a.assert_problem(422);
    assert_eq!(a.text, b.text);
}

#[actix_web::test]
async fn fifty_simultaneous_retries_create_one_check_in_and_share_one_answer() {
    let app = spawn_with(|s| s.idempotency_wait_ms = 30_000).await;
    let (_, patient, t) = patient_on_day(&app, 3).await;
    let body = json!({ "symptoms": symptoms(5, false), "notes": "sent from a train" });
    let requests = (0..50).map(|_| post_with_key(&app, &patient, &t, "storm-1", &body));
    let answers = futures_util::future::join_all(requests).await;
    assert_eq!(check_in_rows(&app), 1);
    for answer in &answers {
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(answer.text, answers[0].text);
    }
}

#[actix_web::test]
async fn a_retry_while_the_first_is_still_running_gets_409() {
    use aftercare::db::schema::idempotency_keys as keys;
    let app = spawn_with(|s| s.idempotency_wait_ms = 200).await;
    let (_, patient, t) = patient_on_day(&app, 3).await;
    let body = check_in_body(5, false);
    // Simulate a first request that has claimed the key and is still running.
    let first = post_with_key(&app, &patient, &t, "slow-1", &body).await;
    assert_eq!(first.status, 201);
    {
        let mut conn = app.db.pool().get().unwrap();
        diesel::update(keys::table.filter(keys::idempotency_key.eq("slow-1")))
            .set((keys::status.eq(None::<i32>), keys::created_at.eq(aftercare::clock::now())))
            .execute(&mut *conn)
            .unwrap();
    }
    post_with_key(&app, &patient, &t, "slow-1", &body).await.assert_problem(409);
}
