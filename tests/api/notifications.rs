//! Issue 15, item 9: a day's reminders bundled for notification. Each entry of
//! `GET /v1/treatments/{id}/notifications` holds exactly the reminders of the per-reminder list
//! that fall due at its instant, so the app schedules one notification per time.

use std::collections::BTreeMap;

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{today_in, treatment, zone_in_daytime};
use crate::support::spawn;

/// The per-reminder list grouped by (local date, due instant), in the list's order within a group.
fn grouped(reminders: &Value) -> BTreeMap<(String, String), Vec<String>> {
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in reminders["items"].as_array().unwrap() {
        let key = (r["local_date"].as_str().unwrap().to_string(), r["due_at"].as_str().unwrap().to_string());
        groups.entry(key).or_default().push(r["id"].as_str().unwrap().to_string());
    }
    groups
}

#[actix_web::test]
async fn bundles_hold_exactly_the_reminders_due_at_their_instant() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    // Today's 09:00 reminder must already be past when the time moves, whatever the hour of the run.
    let zone = zone_in_daytime();
    let patient = app.patient(&admin, zone).await;
    let today = today_in(zone);
    let t = treatment(&app, &admin, &patient.id, today - Duration::days(1)).await["id"].as_str().unwrap().to_string();
    // From tomorrow on the reminders fall due at another time: bundles follow the instants.
    let moved =
        app.patch(&format!("/v1/patients/{}", patient.id), &admin.token, json!({ "reminder_time": "07:45" })).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let yesterday = today - Duration::days(1);
    let first = app.get(&format!("/v1/treatments/{t}/reminders?from={yesterday}&to={yesterday}"), &patient.token).await;
    let reminder = first.body["items"][0]["id"].as_str().unwrap().to_string();
    let acked = app.call(Method::POST, &format!("/v1/reminders/{reminder}/ack"), Some(&patient.token), None).await;
    assert_eq!(acked.status, 200, "{}", acked.text);

    let (from, to) = (yesterday, today + Duration::days(12));
    let range = format!("from={from}&to={to}");
    let reminders = app.get(&format!("/v1/treatments/{t}/reminders?{range}"), &patient.token).await;
    let bundles = app.get(&format!("/v1/treatments/{t}/notifications?{range}"), &patient.token).await;
    assert_eq!(bundles.status, 200, "{}", bundles.text);
    let by_id: BTreeMap<&str, &Value> =
        reminders.body["items"].as_array().unwrap().iter().map(|r| (r["id"].as_str().unwrap(), r)).collect();

    let items = bundles.body["items"].as_array().unwrap();
    let expected = grouped(&reminders.body);
    assert_eq!(items.len(), expected.len(), "one bundle per date and time");
    let mut total = 0;
    let mut last_due = String::new();
    let mut times = std::collections::BTreeSet::new();
    for bundle in items {
        let key = (bundle["local_date"].as_str().unwrap().to_string(), bundle["due_at"].as_str().unwrap().to_string());
        let ids: Vec<String> = bundle["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["reminder_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(Some(&ids), expected.get(&key), "bundle {key:?} holds exactly the reminders due then");
        assert_eq!(bundle["count"], ids.len(), "{key:?}");
        assert!(key.1 > last_due, "earliest first, each instant once");
        last_due = key.1.clone();
        times.insert(bundle["local_time"].as_str().unwrap().to_string());
        let mut pending = 0;
        for item in bundle["items"].as_array().unwrap() {
            let r = by_id[item["reminder_id"].as_str().unwrap()];
            assert_eq!(item["kind"], r["kind"]);
            assert_eq!(item["title"], r["title"]);
            assert_eq!(item["acknowledged_at"], r["acknowledged_at"]);
            assert_eq!(bundle["local_time"], r["local_time"]);
            assert_eq!(bundle["day_number"], r["day_number"]);
            pending += i64::from(r["acknowledged_at"].is_null());
        }
        assert_eq!(bundle["pending"], pending, "{key:?}");
        total += ids.len();
    }
    assert_eq!(total, by_id.len(), "the counts add up to the per-reminder list");
    assert!(items[0]["count"].as_i64().unwrap() > 1, "day 1 bundles several reminders: {}", items[0]);
    assert_eq!(items[0]["pending"].as_i64().unwrap(), items[0]["count"].as_i64().unwrap() - 1, "one acknowledged");
    // Both reminder times, and on day 1 the treatment's time (the clinic's default, 10:00): no
    // reminder is due before the treatment.
    assert_eq!(times, ["07:45", "09:00", "10:00"].map(String::from).into(), "every due time appears");

    // The default range is the reminders list's: today and the six days after.
    let default_reminders = app.get(&format!("/v1/treatments/{t}/reminders"), &admin.token).await;
    let default_bundles = app.get(&format!("/v1/treatments/{t}/notifications"), &admin.token).await;
    let counted: i64 =
        default_bundles.body["items"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert_eq!(counted as usize, default_reminders.body["items"].as_array().unwrap().len());
}

#[actix_web::test]
async fn bundles_are_as_private_and_as_checked_as_the_reminders() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/Berlin").await;
    let t = treatment(&app, &admin, &patient.id, today_in("Europe/Berlin")).await["id"].as_str().unwrap().to_string();
    let path = format!("/v1/treatments/{t}/notifications");
    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    app.get(&path, &neighbour.token).await.assert_problem(404);
    let away = app.clinic("South").await;
    app.get(&path, &away.token).await.assert_problem(404);
    let clinician = app.clinician(&admin).await;
    assert_eq!(app.get(&path, &clinician.token).await.status, 200);
    let backwards = app.get(&format!("{path}?from=2026-05-10&to=2026-05-09"), &patient.token).await;
    assert_eq!(backwards.assert_problem(422), ["to"]);
    let too_long = app.get(&format!("{path}?from=2026-01-01&to=2026-12-31"), &patient.token).await;
    assert_eq!(too_long.assert_problem(422), ["to"]);
    let malformed = app.get(&format!("{path}?from=soon"), &patient.token).await;
    assert_eq!(malformed.assert_problem(422), ["from"]);
    // Outside the plan: no reminders, no bundles.
    let before = app.get(&format!("{path}?from=2000-01-01&to=2000-01-31"), &patient.token).await;
    assert_eq!(before.body, json!({ "items": [] }));
}
