//! Plans kept in memory between requests: answered from memory while their inputs are unchanged,
//! loaded afresh after any change, wherever it was made, and never shown beyond the caller's scope.

use chrono::Duration;
use diesel::RunQueryDsl;

use crate::fixtures::{today_in, treatment};
use crate::support::{TestApp, spawn};

fn hits(app: &TestApp) -> u64 {
    app.services.state.plans.counts().0
}

/// Runs `sql` on a connection of its own, as another replica or an operator with `psql` would.
fn change_elsewhere(app: &TestApp, sql: &str) {
    let elsewhere = aftercare::db::Database::connect(&app.services.state.settings.database_url, 1).unwrap();
    let mut conn = elsewhere.pool().get().unwrap();
    let changed = diesel::sql_query(sql).execute(&mut *conn).unwrap();
    assert_eq!(changed, 1, "{sql}");
}

#[actix_web::test]
async fn a_plan_is_answered_from_memory_until_its_inputs_change_anywhere() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/Lisbon").await;
    let today = today_in("Europe/Lisbon");
    let t = treatment(&app, &admin, &patient.id, today - Duration::days(2)).await;
    let id = t["id"].as_str().unwrap();
    let timeline = format!("/v1/treatments/{id}/timeline");

    let first = app.get(&timeline, &patient.token).await;
    assert_eq!(first.body["day_number"], 3, "{}", first.text);
    let before = hits(&app);
    let again = app.get(&timeline, &patient.token).await;
    assert_eq!(again.body, first.body);
    assert_eq!(hits(&app), before + 1, "the second read is answered from memory");
    let today_screen = app.get("/v1/me/today", &patient.token).await;
    assert_eq!(today_screen.body["treatments"][0]["day_number"], 3);
    assert_eq!(hits(&app), before + 2, "so is the today screen's plan");

    // The treatment date, corrected by something other than this server.
    change_elsewhere(
        &app,
        &format!("UPDATE treatments SET treated_on = '{}' WHERE id = '{id}'", today - Duration::days(9)),
    );
    let moved = app.get(&timeline, &patient.token).await;
    assert_eq!(moved.body["day_number"], 10, "{}", moved.text);
    assert_eq!(moved.body["current_phase"], "weeks_2_4");
    assert_eq!(app.get("/v1/me/today", &patient.token).await.body["treatments"][0]["day_number"], 10);

    // The today screen keeps the patient's list of treatments too, until a treatment is added.
    app.get("/v1/me/today", &patient.token).await;
    let before = hits(&app);
    app.get("/v1/me/today", &patient.token).await;
    assert_eq!(hits(&app), before + 1, "one lookup answers the whole list");
    treatment(&app, &admin, &patient.id, today).await;
    let both = app.get("/v1/me/today", &patient.token).await;
    let days: Vec<_> = both.body["treatments"].as_array().unwrap().iter().map(|t| t["day_number"].clone()).collect();
    assert_eq!(days, [10, 1], "{}", both.text);

    // The patient's own schedule, changed elsewhere: reminders come at the new time.
    let reminders = format!("/v1/treatments/{id}/reminders");
    app.get(&reminders, &patient.token).await;
    change_elsewhere(
        &app,
        &format!("UPDATE patient_schedules SET reminder_time = '06:45:00' WHERE patient_id = '{}'", patient.id),
    );
    let items = app.get(&reminders, &patient.token).await;
    assert_eq!(items.body["items"][0]["local_time"], "06:45", "{}", items.text);
}

#[actix_web::test]
async fn a_kept_plan_is_shown_only_to_callers_the_database_would_show_it_to() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let owner = app.patient(&admin, "Asia/Kolkata").await;
    let neighbour = app.patient(&admin, "Asia/Kolkata").await;
    let elsewhere = app.clinic("South").await;
    let t = treatment(&app, &admin, &owner.id, today_in("Asia/Kolkata")).await;
    let timeline = format!("/v1/treatments/{}/timeline", t["id"].as_str().unwrap());
    assert_eq!(app.get(&timeline, &owner.token).await.status, 200);

    let before = hits(&app);
    app.get(&timeline, &neighbour.token).await.assert_problem(404);
    app.get(&timeline, &elsewhere.token).await.assert_problem(404);
    assert_eq!(hits(&app), before, "the kept plan answered neither");
    assert_eq!(app.get(&timeline, &admin.token).await.status, 200);
    assert_eq!(app.get(&timeline, &owner.token).await.status, 200);
    assert_eq!(hits(&app), before + 2, "it answers its own clinic's staff and its patient");
}
