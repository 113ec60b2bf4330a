//! The time of treatment (protocol v2): recorded or the clinic's default, the 24-hour rules as
//! windows in time from it (crossing midnight and DST changes), no reminder before it, and the
//! "you may now" milestones on the timeline and as reminders; v1 plans unchanged.

use aftercare::db::schema::treatments;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::TreatmentBody;
use crate::support::{Session, TestApp, spawn};

async fn record(app: &TestApp, staff: &Session, patient: &Session, on: &str, time: Option<&str>) -> Value {
    let mut body = TreatmentBody::default().treated_on(on);
    if let Some(time) = time {
        body = body.treatment_time(time);
    }
    crate::fixtures::screen(app, staff, &patient.id).await;
    let created = app.post(&format!("/v1/patients/{}/treatments", patient.id), &staff.token, body.build()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body
}

async fn reminders(app: &TestApp, who: &Session, t: &Value, from: &str, to: &str) -> Vec<Value> {
    let id = t["id"].as_str().unwrap();
    let answer = app.get(&format!("/v1/treatments/{id}/reminders?from={from}&to={to}"), &who.token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"].as_array().unwrap().clone()
}

/// (local date, due_at, window_ends_at) of one kind.
fn of_kind(items: &[Value], kind: &str) -> Vec<(String, String, Value)> {
    items
        .iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| (r.str("local_date"), r.str("due_at"), r["window_ends_at"].clone()))
        .collect()
}

trait Str {
    fn str(&self, field: &str) -> String;
}

impl Str for Value {
    fn str(&self, field: &str) -> String {
        self[field].as_str().unwrap_or_else(|| panic!("no `{field}` in {self}")).to_string()
    }
}

/// Day 90 of a plan that starts on `day_1`.
fn last_of_plan(day_1: &str) -> String {
    (day_1.parse::<chrono::NaiveDate>().unwrap() + chrono::Duration::days(89)).to_string()
}

async fn put_settings(app: &TestApp, admin: &Session, body: Value) -> crate::support::Answer {
    app.call(Method::PUT, "/v1/clinic/settings", Some(&admin.token), Some(body)).await
}

#[actix_web::test]
async fn a_treatment_records_its_time_or_the_clinic_s_default() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/Madrid").await;
    // Given: 15:00 in Madrid in summer is 13:00 UTC.
    let t = record(&app, &admin, &patient, "2026-07-01", Some("15:00")).await;
    assert_eq!((t.str("treatment_time"), t.str("treated_at")), ("15:00".into(), "2026-07-01T13:00:00Z".into()));
    let read = app.get(&format!("/v1/treatments/{}", t.str("id")), &patient.token).await;
    assert_eq!(read.body, t);
    // Not given: the clinic's default, 10:00 until it is set.
    let t = record(&app, &admin, &patient, "2026-12-01", None).await;
    assert_eq!((t.str("treatment_time"), t.str("treated_at")), ("10:00".into(), "2026-12-01T09:00:00Z".into()));

    let alerts = json!({ "enabled": true, "recipients": [] });
    let saved =
        put_settings(&app, &admin, json!({ "urgent_alerts": alerts, "treatments": { "default_time": "08:30" } })).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["treatments"], json!({ "default_time": "08:30" }));
    // A body without `treatments` keeps the stored value; one without alerts' changes keeps them.
    let kept = put_settings(&app, &admin, json!({ "urgent_alerts": { "enabled": false, "recipients": [] } })).await;
    assert_eq!(
        kept.body,
        json!({ "urgent_alerts": { "enabled": false, "recipients": [] }, "treatments": { "default_time": "08:30" },
                "screening": { "valid_days": 30 } })
    );
    let again =
        put_settings(&app, &admin, json!({ "urgent_alerts": alerts, "treatments": { "default_time": "08:30" } })).await;
    assert_eq!(again.body["urgent_alerts"], alerts, "and the alerts stay when the treatment settings change");
    assert_eq!(app.get("/v1/clinic/settings", &admin.token).await.body["treatments"]["default_time"], "08:30");
    let t = record(&app, &admin, &patient, "2026-12-02", None).await;
    assert_eq!((t.str("treatment_time"), t.str("treated_at")), ("08:30".into(), "2026-12-02T07:30:00Z".into()));
    // Another clinic keeps its own default.
    let south = app.clinic("South").await;
    let theirs = app.patient(&south, "Europe/Madrid").await;
    assert_eq!(record(&app, &south, &theirs, "2026-12-02", None).await.str("treatment_time"), "10:00");

    // Refused: a time that is not HH:MM, a settings object without its time.
    for bad in ["3pm", "24:00", "9:00", ""] {
        let refused =
            put_settings(&app, &admin, json!({ "urgent_alerts": alerts, "treatments": { "default_time": bad } })).await;
        assert_eq!(refused.assert_problem(422), ["treatments.default_time"], "{bad}");
        let body = TreatmentBody::default().treatment_time(bad).build();
        let refused = app.post(&format!("/v1/patients/{}/treatments", patient.id), &admin.token, body).await;
        assert_eq!(refused.assert_problem(422), ["treatment_time"], "{bad}");
    }
    let refused = put_settings(&app, &admin, json!({ "urgent_alerts": alerts, "treatments": {} })).await;
    assert_eq!(refused.assert_problem(422), ["treatments.default_time"]);
    let clinician = app.clinician(&admin).await;
    let refused =
        put_settings(&app, &clinician, json!({ "urgent_alerts": alerts, "treatments": { "default_time": "09:00" } }))
            .await;
    refused.assert_problem(403);
    assert_eq!(app.get("/v1/clinic/settings", &admin.token).await.body["treatments"]["default_time"], "08:30");
}

/// Madrid leaves summer time on Sunday 25 October 2026: 24 hours after Saturday 15:00 (13:00 UTC)
/// is Sunday 14:00. New York starts it on Sunday 8 March 2026: 24 hours after Saturday 15:00
/// (20:00 UTC) is Sunday 16:00. Reminders at 09:00: day 1's move to the treatment, day 2's
/// no-makeup reminder is due inside the window, the milestone when it closes.
#[actix_web::test]
async fn an_afternoon_treatment_s_24_hours_cross_midnight_and_a_dst_change() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let cases = [
        (
            "Europe/Madrid",
            "2026-10-24",
            "2026-10-25",
            "2026-10-24T13:00:00Z",
            "2026-10-25T08:00:00Z",
            "2026-10-25T13:00:00Z",
        ),
        (
            "America/New_York",
            "2026-03-07",
            "2026-03-08",
            "2026-03-07T20:00:00Z",
            "2026-03-08T13:00:00Z",
            "2026-03-08T20:00:00Z",
        ),
    ];
    for (zone, day_1, day_2, treated_at, day_2_at_9, closes) in cases {
        let patient = app.patient(&admin, zone).await;
        let t = record(&app, &admin, &patient, day_1, Some("15:00")).await;
        assert_eq!(t.str("treated_at"), treated_at);
        let items = reminders(&app, &patient, &t, day_1, &last_of_plan(day_1)).await;
        assert!(items.iter().all(|r| r.str("due_at").as_str() >= treated_at), "{zone}: nothing before the treatment");
        let first_day: Vec<_> = items.iter().filter(|r| r["local_date"] == day_1).collect();
        assert!(first_day.iter().all(|r| r.str("due_at") == treated_at && r["local_time"] == "15:00"), "{zone}");
        for kind in ["no_makeup", "no_workout"] {
            assert_eq!(
                of_kind(&items, kind),
                [
                    (day_1.to_string(), treated_at.to_string(), json!(closes)),
                    (day_2.to_string(), day_2_at_9.to_string(), json!(closes))
                ],
                "{zone} {kind}"
            );
        }
        for kind in ["may_resume_makeup", "may_resume_exercise"] {
            assert_eq!(of_kind(&items, kind), [(day_2.to_string(), closes.to_string(), Value::Null)], "{zone} {kind}");
        }
        let milestone = items.iter().find(|r| r["kind"] == "may_resume_makeup").unwrap();
        assert_eq!(milestone["milestone"], true);
        let local = if zone == "Europe/Madrid" { "14:00" } else { "16:00" };
        assert_eq!(milestone["local_time"], local, "{zone}: 24 real hours, not the same clock time");
        assert!(
            items
                .iter()
                .filter(|r| r["kind"] == "sunscreen")
                .all(|r| r["milestone"] == false && r["window_ends_at"].is_null())
        );
    }
}

/// A morning treatment's 24 hours end before the next day's reminder time: no no-makeup reminder
/// on day 2; a late-evening one reaches day 2 whatever the reminder time.
#[actix_web::test]
async fn the_window_reaches_day_2_only_when_it_is_still_open() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Asia/Tokyo").await;
    let morning = record(&app, &admin, &patient, "2026-05-10", Some("08:00")).await;
    let items = reminders(&app, &patient, &morning, "2026-05-10", "2026-05-12").await;
    assert_eq!(
        of_kind(&items, "no_makeup"),
        [("2026-05-10".to_string(), "2026-05-10T00:00:00Z".to_string(), json!("2026-05-10T23:00:00Z"))]
    );
    assert_eq!(
        of_kind(&items, "may_resume_makeup"),
        [("2026-05-11".to_string(), "2026-05-11T00:00:00Z".to_string(), Value::Null)]
    );
    let evening = record(&app, &admin, &patient, "2026-06-10", Some("23:30")).await;
    let items = reminders(&app, &patient, &evening, "2026-06-10", "2026-06-12").await;
    let days: Vec<_> = of_kind(&items, "no_makeup").into_iter().map(|(d, ..)| d).collect();
    assert_eq!(days, ["2026-06-10", "2026-06-11"]);
    assert_eq!(of_kind(&items, "may_resume_makeup")[0].1, "2026-06-11T14:30:00Z");
}

#[actix_web::test]
async fn milestones_are_on_the_timeline_of_v2_plans_and_not_of_v1() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "UTC").await;
    let t = record(&app, &admin, &patient, "2026-01-01", Some("16:00")).await;
    let id = t.str("id");
    let timeline = app.get(&format!("/v1/treatments/{id}/timeline?on=2026-01-08"), &patient.token).await;
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    let milestones: Vec<_> = timeline.body["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m.str("kind"),
                m["day_number"].as_i64().unwrap(),
                m.str("local_date"),
                m.str("at"),
                m["reached"].as_bool().unwrap(),
            )
        })
        .collect();
    let row = |kind: &str, day, date: &str, at: &str, reached| {
        (kind.to_string(), day, date.to_string(), at.to_string(), reached)
    };
    assert_eq!(
        milestones,
        [
            row("may_resume_makeup", 2, "2026-01-02", "2026-01-02T16:00:00Z", true),
            row("may_resume_exercise", 2, "2026-01-02", "2026-01-02T16:00:00Z", true),
            row("may_resume_pools_and_saunas", 8, "2026-01-08", "2026-01-08T09:00:00Z", true),
            row("may_resume_actives", 8, "2026-01-08", "2026-01-08T09:00:00Z", true),
            row("may_book_next_session", 22, "2026-01-22", "2026-01-22T09:00:00Z", false),
        ]
    );
    assert!(
        timeline.body["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| !m.str("title").is_empty() && !m.str("body").is_empty())
    );
    // The same milestones as reminders of their days.
    let items = reminders(&app, &patient, &t, "2026-01-01", "2026-03-31").await;
    let as_reminders: Vec<_> = items
        .iter()
        .filter(|r| r["milestone"] == true)
        .map(|r| (r.str("kind"), r["day_number"].as_i64().unwrap()))
        .collect();
    assert_eq!(as_reminders.len(), 5);
    assert!(milestones.iter().zip(&as_reminders).all(|(m, r)| (m.0.as_str(), m.1) == (r.0.as_str(), r.1)));
    // Adherence leaves them out: they ask nothing.
    let adherence = app.get(&format!("/v1/treatments/{id}/adherence"), &admin.token).await;
    assert!(adherence.body["by_kind"].as_array().unwrap().iter().all(|k| !k.str("kind").starts_with("may_")));

    // A treatment planned with v1 (recorded before v2 and before times were): no milestones, no
    // windows, every reminder at the reminder time, as before.
    let old = record(&app, &admin, &patient, "2026-02-01", None).await;
    let old_id = old.str("id");
    {
        let mut conn = app.db.pool().get().unwrap();
        diesel::update(treatments::table.find(&old_id))
            .set((
                treatments::protocol_version.eq(1),
                treatments::treatment_time.eq(None::<chrono::NaiveTime>),
                treatments::treated_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    let read = app.get(&format!("/v1/treatments/{old_id}"), &admin.token).await;
    assert_eq!(read.body["protocol"]["version"], 1);
    assert!(read.body["treatment_time"].is_null() && read.body["treated_at"].is_null());
    let timeline = app.get(&format!("/v1/treatments/{old_id}/timeline?on=2026-03-01"), &patient.token).await;
    assert_eq!(timeline.body["milestones"], json!([]));
    let items = reminders(&app, &patient, &old, "2026-02-01", "2026-04-30").await;
    assert!(
        items.iter().all(|r| r["milestone"] == false && r["window_ends_at"].is_null() && r["local_time"] == "09:00")
    );
    let makeup: Vec<_> = of_kind(&items, "no_makeup").into_iter().map(|(d, ..)| d).collect();
    assert_eq!(makeup, ["2026-02-01"]);
    assert_eq!(items.iter().filter(|r| r["local_date"] == "2026-02-01").count(), 7);
}
