//! Treatments, timelines, reminders, acknowledgements, today, screening.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::json;

use crate::fixtures::{TreatmentBody, screen, screening_all_no, today_in, treatment};
use crate::support::spawn;

#[actix_web::test]
async fn a_clinician_records_a_treatment_planned_with_the_current_protocol() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&admin, "Europe/London").await;
    screen(&app, &clinician, &patient.id).await;
    let answer = app
        .post(
            &format!("/v1/patients/{}/treatments", patient.id),
            &clinician.token,
            json!({ "procedure": "rf_microneedling", "treated_on": "2026-11-20", "setting": "at_home", "areas": ["face", "neck", "face"], "needle_depth_mm": 0.25, "notes": "left cheek scarring" }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let t = &answer.body;
    assert_eq!(t["patient_id"], patient.id.as_str());
    assert_eq!(t["clinic_id"], admin.clinic_id.as_str());
    assert_eq!(t["procedure"], "rf_microneedling");
    assert_eq!(t["treated_on"], "2026-11-20");
    assert_eq!(t["setting"], "at_home");
    assert_eq!(t["areas"], json!(["face", "neck"]));
    assert_eq!(t["needle_depth_mm"], 0.25);
    assert_eq!(t["notes"], "left cheek scarring");
    assert_eq!(t["protocol"], json!({ "id": "standard", "version": 2 }));

    let id = t["id"].as_str().unwrap();
    for who in [&clinician, &patient] {
        let one = app.get(&format!("/v1/treatments/{id}"), &who.token).await;
        assert_eq!(one.body, answer.body);
        let listed = app.get(&format!("/v1/patients/{}/treatments", patient.id), &who.token).await;
        assert_eq!(listed.body["items"], json!([answer.body]));
    }
}

#[actix_web::test]
async fn bad_treatments_name_every_field() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/London").await;
    let path = format!("/v1/patients/{}/treatments", patient.id);
    let bad = app
        .post(
            &path,
            &admin.token,
            json!({ "procedure": "laser", "treated_on": "2026-02-30", "setting": "spa", "areas": [], "needle_depth_mm": 3.5, "notes": "x".repeat(2001) }),
        )
        .await;
    assert_eq!(bad.assert_problem(422), ["procedure", "treated_on", "setting", "areas", "needle_depth_mm", "notes"]);
    let missing = app.post(&path, &admin.token, json!({})).await;
    assert_eq!(missing.assert_problem(422), ["procedure", "treated_on", "setting", "areas", "needle_depth_mm"]);
    let unknown_area = app
        .post(&path, &admin.token, json!({ "procedure": "microneedling", "treated_on": "2026-11-20", "setting": "in_office", "areas": ["face", "elbow"], "needle_depth_mm": 0.05 }))
        .await;
    assert_eq!(unknown_area.assert_problem(422), ["areas", "needle_depth_mm"]);
    app.post(&path, &admin.token, json!({ "areas": "face" })).await.assert_problem(400);
    app.post(&path, &patient.token, json!({})).await.assert_problem(403);
}

#[actix_web::test]
async fn treatments_stay_inside_their_clinic_and_patient() {
    let app = spawn().await;
    let north = app.clinic("North").await;
    let south = app.clinic("South").await;
    let patient = app.patient(&north, "Europe/London").await;
    let neighbour = app.patient(&north, "Europe/London").await;
    let t = treatment(&app, &north, &patient.id, today_in("Europe/London")).await;
    let id = t["id"].as_str().unwrap();
    for intruder in [&south, &neighbour] {
        for path in [
            format!("/v1/treatments/{id}"),
            format!("/v1/treatments/{id}/timeline"),
            format!("/v1/treatments/{id}/reminders"),
            format!("/v1/treatments/{id}/calendar.ics"),
            format!("/v1/patients/{}/treatments", patient.id),
        ] {
            app.get(&path, &intruder.token).await.assert_problem(404);
        }
    }
    let body = TreatmentBody::default().treated_on("2026-11-20").build();
    app.post(&format!("/v1/patients/{}/treatments", patient.id), &south.token, body).await.assert_problem(404);
}

#[actix_web::test]
async fn the_timeline_shows_todays_phase_in_the_patients_zone() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    // UTC+14: often already tomorrow compared with UTC.
    let patient = app.patient(&admin, "Pacific/Kiritimati").await;
    let today = today_in("Pacific/Kiritimati");
    let t = treatment(&app, &admin, &patient.id, today - Duration::days(4)).await;
    let id = t["id"].as_str().unwrap();
    let timeline = app.get(&format!("/v1/treatments/{id}/timeline"), &patient.token).await;
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    let body = &timeline.body;
    assert_eq!(body["timezone"], "Pacific/Kiritimati");
    assert_eq!(body["on"], today.to_string());
    assert_eq!(body["day_number"], 5);
    assert_eq!(body["current_phase"], "days_3_7");
    let statuses: Vec<_> = body["phases"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["completed", "current", "upcoming", "upcoming"]);
    let phase = &body["phases"][1];
    assert_eq!(phase["key"], "days_3_7");
    assert_eq!((phase["day_from"].as_i64(), phase["day_to"].as_i64()), (Some(3), Some(7)));
    assert_eq!(phase["starts_on"], (today - Duration::days(2)).to_string());
    assert!(!phase["expect"].as_array().unwrap().is_empty() && !phase["care"].as_array().unwrap().is_empty());

    let before = app.get(&format!("/v1/treatments/{id}/timeline?on={}", today - Duration::days(5)), &admin.token).await;
    assert_eq!(before.body["day_number"], 0);
    assert!(before.body["current_phase"].is_null());
    let after = app.get(&format!("/v1/treatments/{id}/timeline?on={}", today + Duration::days(86)), &admin.token).await;
    assert_eq!(after.body["day_number"], 91);
    assert!(after.body["current_phase"].is_null());
    let bad = app.get(&format!("/v1/treatments/{id}/timeline?on=tomorrow"), &admin.token).await;
    assert_eq!(bad.assert_problem(422), ["on"]);
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// The day New York skips 02:00-03:00 next year (the second Sunday of March): always ahead of the
/// clock, so a reminder time set now applies to it.
fn new_york_spring_forward_next_year() -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(Utc::now().year() + 1, 3, Weekday::Sun, 2).unwrap()
}

#[actix_web::test]
async fn reminders_are_due_at_the_patients_local_time_with_stable_ids() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "America/New_York").await;
    let path = format!("/v1/patients/{}", patient.id);
    app.patch(&path, &patient.token, json!({ "reminder_time": "02:30" })).await;
    // The skin and Fitzpatrick types are the clinician's to set.
    app.patch(&path, &admin.token, json!({ "skin_type": "dry", "fitzpatrick": 5 })).await;
    // Day 1 is the day New York skips 02:00-03:00; treated at midnight, so no reminder of day 1
    // waits for the treatment.
    let day_1 = new_york_spring_forward_next_year();
    let (day_0, day_2) = (day_1 - Duration::days(1), day_1 + Duration::days(1));
    let body = TreatmentBody::default().treated_on(day_1).treatment_time("00:00").build();
    crate::fixtures::screen(&app, &admin, &patient.id).await;
    let t = app.post(&format!("/v1/patients/{}/treatments", patient.id), &admin.token, body).await;
    assert_eq!(t.status, 201, "{}", t.text);
    let id = t.body["id"].as_str().unwrap();
    let range = format!("/v1/treatments/{id}/reminders?from={day_0}&to={day_2}");
    let answer = app.get(&range, &patient.token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let items = answer.body["items"].as_array().unwrap();
    let day1: Vec<_> = items.iter().filter(|r| r["local_date"] == day_1.to_string()).collect();
    let kinds: Vec<_> = day1.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "sunscreen",
            "no_makeup",
            "no_workout",
            "avoid_heat",
            "no_actives",
            "gentle_care",
            "cool_compress",
            "hydration",
            "pigment_watch"
        ]
    );
    assert!(items.iter().all(|r| r["local_date"] != day_0.to_string()), "nothing before day 1");
    // 02:30 does not exist on day 1: due one hour later, 03:30 EDT = 07:30 UTC.
    assert_eq!(day1[0]["due_at"], format!("{day_1}T07:30:00Z"));
    assert_eq!(day1[0]["local_time"], "02:30");
    assert_eq!(day1[0]["day_number"], 1);
    assert!(day1[0]["acknowledged_at"].is_null());
    assert!(!day1[0]["title"].as_str().unwrap().is_empty() && !day1[0]["body"].as_str().unwrap().is_empty());
    // Day 2: 02:30 EDT = 06:30 UTC.
    let day2 = items.iter().find(|r| r["local_date"] == day_2.to_string()).unwrap();
    assert_eq!(day2["due_at"], format!("{day_2}T06:30:00Z"));

    let again = app.get(&range, &admin.token).await;
    assert_eq!(again.body, answer.body, "same ids, same everything, for staff too");
}

#[actix_web::test]
async fn reminder_ranges_are_checked() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Asia/Kathmandu").await;
    let today = today_in("Asia/Kathmandu");
    let t = treatment(&app, &admin, &patient.id, today).await;
    let base = format!("/v1/treatments/{}/reminders", t["id"].as_str().unwrap());

    let default = app.get(&base, &patient.token).await;
    let dates: std::collections::BTreeSet<_> = default.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["local_date"].as_str().unwrap().to_string())
        .collect();
    let expected: std::collections::BTreeSet<_> = (0..7).map(|d| (today + Duration::days(d)).to_string()).collect();
    assert_eq!(dates, expected, "today to today + 6");

    let hundred = app.get(&format!("{base}?from={today}&to={}", today + Duration::days(99)), &patient.token).await;
    assert_eq!(hundred.status, 200);
    let too_long = app.get(&format!("{base}?from={today}&to={}", today + Duration::days(100)), &patient.token).await;
    assert_eq!(too_long.assert_problem(422), ["to"]);
    let backwards = app.get(&format!("{base}?from={today}&to={}", today - Duration::days(1)), &patient.token).await;
    assert_eq!(backwards.assert_problem(422), ["to"]);
    let garbage = app.get(&format!("{base}?from=2026-13-01&to=soon"), &patient.token).await;
    assert_eq!(garbage.assert_problem(422), ["from", "to"]);
}

#[actix_web::test]
async fn the_patient_acknowledges_reminders_once() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/London").await;
    let neighbour = app.patient(&admin, "Europe/London").await;
    let today = today_in("Europe/London");
    let t = treatment(&app, &admin, &patient.id, today - Duration::days(1)).await;
    let id = t["id"].as_str().unwrap();
    let list = app
        .get(&format!("/v1/treatments/{id}/reminders?from={today}&to={}", today + Duration::days(1)), &patient.token)
        .await;
    let items = list.body["items"].as_array().unwrap();
    let todays = items.iter().find(|r| r["local_date"] == today.to_string()).unwrap();
    let tomorrows = items.iter().find(|r| r["local_date"] != today.to_string()).unwrap();
    let ack_path = format!("/v1/reminders/{}/ack", todays["id"].as_str().unwrap());

    app.post(&ack_path, &admin.token, json!(null)).await.assert_problem(403);
    app.post(&ack_path, &neighbour.token, json!(null)).await.assert_problem(404);
    let acked = app.post(&ack_path, &patient.token, json!(null)).await;
    assert_eq!(acked.status, 200, "{}", acked.text);
    assert_eq!(acked.body["id"], todays["id"]);
    let at = acked.str("acknowledged_at");
    assert!(at.ends_with('Z'));
    let again = app.post(&ack_path, &patient.token, json!(null)).await;
    assert_eq!(again.body, acked.body, "acknowledging again changes nothing");

    let relisted = app.get(&format!("/v1/treatments/{id}/reminders?from={today}&to={today}"), &admin.token).await;
    let shown = relisted.body["items"].as_array().unwrap().iter().find(|r| r["id"] == todays["id"]).unwrap().clone();
    assert_eq!(shown["acknowledged_at"], at.as_str());

    let early = app
        .post(&format!("/v1/reminders/{}/ack", tomorrows["id"].as_str().unwrap()), &patient.token, json!(null))
        .await;
    early.assert_problem(409);
    app.post(&format!("/v1/reminders/{}/ack", uuid::Uuid::new_v4()), &patient.token, json!(null))
        .await
        .assert_problem(404);
}

#[actix_web::test]
async fn moving_zone_moves_future_reminders_and_keeps_past_ones_and_acknowledgements() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "America/Chicago").await;
    let today = today_in("America/Chicago");
    let t = treatment(&app, &admin, &patient.id, today - Duration::days(5)).await;
    let id = t["id"].as_str().unwrap();
    let range =
        format!("/v1/treatments/{id}/reminders?from={}&to={}", today - Duration::days(5), today + Duration::days(5));
    let before = app.get(&range, &patient.token).await;
    let past_sunscreen =
        before.body["items"].as_array().unwrap().iter().find(|r| r["day_number"] == 1).unwrap().clone();
    let acked = app
        .post(&format!("/v1/reminders/{}/ack", past_sunscreen["id"].as_str().unwrap()), &patient.token, json!(null))
        .await;
    assert_eq!(acked.status, 200);

    let moved = app
        .patch(
            &format!("/v1/patients/{}", patient.id),
            &patient.token,
            json!({ "timezone": "Asia/Tokyo", "reminder_time": "07:15" }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let after = app.get(&range, &patient.token).await;
    let before_items = before.body["items"].as_array().unwrap();
    let after_items = after.body["items"].as_array().unwrap();
    assert_eq!(before_items.len(), after_items.len());
    let now = Utc::now();
    let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
    for (old, new) in before_items.iter().zip(after_items) {
        assert_eq!(old["id"], new["id"], "ids survive a move");
        let old_due = instant(old["due_at"].as_str().unwrap());
        if old_due < now - Duration::minutes(1) {
            assert_eq!(new["due_at"], old["due_at"], "a past reminder stays where it was");
            assert_eq!(new["local_time"], old["local_time"]);
        } else if old_due > now + Duration::minutes(1) {
            let local_date: NaiveDate = new["local_date"].as_str().unwrap().parse().unwrap();
            let expected =
                tokyo.from_local_datetime(&local_date.and_time(NaiveTime::from_hms_opt(7, 15, 0).unwrap())).unwrap();
            assert_eq!(
                instant(new["due_at"].as_str().unwrap()),
                expected.with_timezone(&Utc),
                "a future reminder moves"
            );
            assert_eq!(new["local_time"], "07:15");
        }
    }
    let kept = after_items.iter().find(|r| r["id"] == past_sunscreen["id"]).unwrap();
    assert_eq!(kept["acknowledged_at"], acked.body["acknowledged_at"]);
    let timeline = app.get(&format!("/v1/treatments/{id}/timeline"), &patient.token).await;
    assert_eq!(timeline.body["timezone"], "Asia/Tokyo");
    assert_eq!(timeline.body["on"], today_in("Asia/Tokyo").to_string());
}

#[actix_web::test]
async fn today_lists_each_active_plan_with_its_reminders() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Pacific/Pago_Pago").await;
    let today = today_in("Pacific/Pago_Pago");
    let recent = treatment(&app, &admin, &patient.id, today - Duration::days(2)).await;
    treatment(&app, &admin, &patient.id, today - Duration::days(200)).await;
    let answer = app.get("/v1/me/today", &patient.token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["date"], today.to_string());
    let active = answer.body["treatments"].as_array().unwrap();
    assert_eq!(active.len(), 1, "the finished plan is not listed");
    assert_eq!(active[0]["treatment_id"], recent["id"]);
    assert_eq!(active[0]["day_number"], 3);
    assert_eq!(active[0]["phase"], "days_3_7");
    assert_eq!(active[0]["checked_in"], false);
    let kinds: Vec<_> =
        active[0]["reminders"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["sunscreen", "avoid_heat", "no_actives", "gentle_care", "no_picking"]);
    app.get("/v1/me/today", &admin.token).await.assert_problem(403);
}

#[actix_web::test]
async fn screening_finds_contraindications_and_cautions() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/London").await;
    let path = format!("/v1/patients/{}/screenings", patient.id);

    let clear = app.post(&path, &admin.token, json!({ "answers": screening_all_no() })).await;
    assert_eq!(clear.status, 201, "{}", clear.text);
    assert_eq!(clear.body["eligible"], true);
    assert_eq!(clear.body["contraindications"], json!([]));

    let mut answers = screening_all_no();
    answers["numbing_allergy"] = json!(true);
    let caution = app.post(&path, &admin.token, json!({ "answers": answers })).await;
    assert_eq!(caution.body["eligible"], true);
    assert_eq!(caution.body["cautions"][0]["code"], "numbing_allergy");

    answers["pregnant_or_breastfeeding"] = json!(true);
    answers["blood_thinners"] = json!(true);
    let barred = app.post(&path, &admin.token, json!({ "answers": answers })).await;
    assert_eq!(barred.body["eligible"], false);
    let codes: Vec<_> =
        barred.body["contraindications"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["blood_thinners", "pregnant_or_breastfeeding"]);
    assert!(barred.body["contraindications"][0]["message"].as_str().unwrap().len() > 10);

    let partial = app.post(&path, &admin.token, json!({ "answers": { "eczema": true, "keloids": false } })).await;
    assert_eq!(partial.assert_problem(422).len(), 13);
    assert_eq!(app.post(&path, &admin.token, json!({})).await.assert_problem(422), ["answers"]);
    app.post(&path, &admin.token, json!({ "answers": { "eczema": "yes" } })).await.assert_problem(400);
    app.post(&path, &patient.token, json!({ "answers": screening_all_no() })).await.assert_problem(403);
    let other = app.clinic("South").await;
    app.post(&path, &other.token, json!({ "answers": screening_all_no() })).await.assert_problem(404);
}

#[actix_web::test]
async fn an_edited_protocol_needs_a_new_version() {
    use aftercare::plan::Protocol;
    use aftercare::plan::protocol::STANDARD_V2;
    let app = spawn().await;
    let mut conn = app.db.pool().get().unwrap();
    let mut edited = Protocol::standard();
    edited.reminders[0].title = "Edited".into();
    let document = serde_json::to_string(&edited).unwrap();
    let refused = aftercare::models::protocols::seed(&mut conn, &edited, &document).unwrap_err();
    assert!(refused.contains("new version"), "{refused}");
    aftercare::models::protocols::seed(&mut conn, &Protocol::standard(), STANDARD_V2).unwrap();
    edited.version = 3;
    aftercare::models::protocols::seed(&mut conn, &edited, &serde_json::to_string(&edited).unwrap()).unwrap();
}
