//! HTTP revalidation of the app's repeated reads: a strong `ETag` on every read the document says
//! can be revalidated, `If-None-Match` answered 304 with no body while the answer is unchanged, a new
//! tag as soon as anyone changes what the answer is made of, and `no-store` everywhere else.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{PhotoBody, check_in, check_in_body, today_in, treatment};
use crate::support::{Answer, Session, TestApp, spawn};

async fn get_with_tag(app: &TestApp, path: &str, token: Option<&str>, tag: &str) -> Answer {
    app.call_with_headers(Method::GET, path, token, None, &[("if-none-match", tag)]).await
}

/// The paths of every operation the document marks revalidatable (it takes `If-None-Match`),
/// with the ids of one patient's data filled in.
fn revalidatable_paths(ids: &[(&str, &str)]) -> Vec<String> {
    let doc = aftercare::routes::openapi();
    let mut paths = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let takes_tag = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "If-None-Match" && p["in"] == "header");
        if takes_tag {
            let resource = path.trim_start_matches("/v1/").split('/').next().unwrap();
            let id = ids.iter().find(|(r, _)| *r == resource).map(|(_, id)| *id).unwrap_or("");
            paths.push(path.replace("{id}", id).replace("{secret}", id));
        }
    }
    paths
}

struct World {
    clinician: Session,
    patient: Session,
    treatment_id: String,
    check_in_id: String,
    /// The secret of the treatment's calendar feed.
    feed_secret: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.clinic("Revalidation clinic").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&clinician, "Europe/Lisbon").await;
    let t = treatment(app, &clinician, &patient.id, today_in("Europe/Lisbon") - Duration::days(3)).await;
    let treatment_id = t["id"].as_str().unwrap().to_string();
    let c = check_in(app, &patient, &treatment_id, check_in_body(3, false)).await;
    let check_in_id = c.str("id");
    app.post(&format!("/v1/check-ins/{check_in_id}/photos"), &patient.token, PhotoBody::default().build()).await;
    let feed =
        app.post(&format!("/v1/treatments/{treatment_id}/calendar-subscription"), &patient.token, Value::Null).await;
    let feed_secret = feed.str("feed_url").rsplit('/').next().unwrap().trim_end_matches(".ics").to_string();
    World { clinician, patient, treatment_id, check_in_id, feed_secret }
}

#[actix_web::test]
async fn every_revalidatable_read_answers_304_to_its_own_tag_and_200_to_another() {
    let app = spawn().await;
    let w = world(&app).await;
    let ids = [
        ("patients", w.patient.id.as_str()),
        ("treatments", &w.treatment_id),
        ("check-ins", &w.check_in_id),
        ("calendar-feeds", &w.feed_secret),
    ];
    let paths = revalidatable_paths(&ids);
    assert!(paths.len() >= 7, "the document marks the app's reads revalidatable: {paths:?}");
    for path in paths {
        let first = app.get(&path, &w.patient.token).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text);
        let tag = first.header("etag").to_string();
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2, "{path}: a strong tag, got {tag:?}");
        assert_eq!(first.header("cache-control"), "private, no-cache", "{path}");

        let again = get_with_tag(&app, &path, Some(&w.patient.token), &tag).await;
        assert_eq!(again.status, 304, "{path}: the same answer is not sent twice");
        assert!(again.text.is_empty(), "{path}: a 304 has no body");
        assert_eq!(again.header("etag"), tag, "{path}");
        assert_eq!(again.header("cache-control"), "private, no-cache", "{path}");
        assert_eq!(again.header("x-request-id").len(), 36, "{path}");

        for matching in [format!("W/{tag}"), format!("\"stale\", {tag}"), "*".to_string()] {
            let answer = get_with_tag(&app, &path, Some(&w.patient.token), &matching).await;
            assert_eq!(answer.status, 304, "{path}: If-None-Match: {matching}");
        }
        let other = get_with_tag(&app, &path, Some(&w.patient.token), "\"some-other-tag\"").await;
        assert_eq!(other.status, 200, "{path}");
        assert_eq!(other.text, first.text, "{path}");
    }
}

#[actix_web::test]
async fn a_clinicians_change_gives_the_patients_reads_a_new_tag() {
    let app = spawn().await;
    let w = world(&app).await;
    let t = &w.treatment_id;
    let reads = [
        format!("/v1/treatments/{t}/reminders"),
        format!("/v1/treatments/{t}/notifications"),
        format!("/v1/treatments/{t}/calendar.ics"),
        format!("/v1/patients/{}", w.patient.id),
    ];
    let mut tags = Vec::new();
    for path in &reads {
        tags.push(app.get(path, &w.patient.token).await.header("etag").to_string());
    }
    // The clinician moves the patient's reminder time: every reminder still ahead (those already due
    // keep the time they were announced with) is due at another time.
    let changed = app
        .patch(&format!("/v1/patients/{}", w.patient.id), &w.clinician.token, json!({ "reminder_time": "07:15" }))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    for (path, old) in reads.iter().zip(&tags) {
        let answer = get_with_tag(&app, path, Some(&w.patient.token), old).await;
        assert_eq!(answer.status, 200, "{path}: the answer changed, so the old tag must not match");
        assert_ne!(answer.header("etag"), old, "{path}");
    }
}

#[actix_web::test]
async fn a_patients_own_acknowledgement_changes_the_tag_of_todays_reminders() {
    let app = spawn().await;
    let w = world(&app).await;
    let today = app.get("/v1/me/today", &w.patient.token).await;
    let tag = today.header("etag").to_string();
    let reminder = today.body["treatments"][0]["reminders"][0]["id"].as_str().unwrap().to_string();
    let acknowledged =
        app.call(Method::POST, &format!("/v1/reminders/{reminder}/ack"), Some(&w.patient.token), None).await;
    assert_eq!(acknowledged.status, 200, "{}", acknowledged.text);
    assert_eq!(get_with_tag(&app, "/v1/me/today", Some(&w.patient.token), &tag).await.status, 200);
}

#[actix_web::test]
async fn other_answers_are_not_stored() {
    let app = spawn().await;
    let w = world(&app).await;
    let t = &w.treatment_id;
    let answers = [
        app.get(&format!("/v1/treatments/{t}/check-ins"), &w.patient.token).await,
        app.get("/v1/review-queue", &w.clinician.token).await,
        app.call(Method::GET, &format!("/v1/treatments/{t}/timeline"), None, None).await,
        app.post(&format!("/v1/treatments/{t}/check-ins"), &w.patient.token, check_in_body(1, false)).await,
    ];
    for answer in answers {
        assert_eq!(answer.header("cache-control"), "no-store", "{} {}", answer.status, answer.text);
        assert_eq!(answer.header("etag"), "", "{}", answer.text);
    }
}
