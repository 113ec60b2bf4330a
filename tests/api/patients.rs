use serde_json::json;

use crate::support::spawn;

fn new_patient(email: &str) -> serde_json::Value {
    json!({ "name": "Maya Chen", "email": email, "timezone": "America/Chicago", "skin_type": "dry", "fitzpatrick": 5 })
}

#[actix_web::test]
async fn a_clinician_adds_a_patient_who_activates_and_reads_their_profile() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let clinician = app.clinician(&admin).await;
    let created = app.post("/v1/patients", &clinician.token, new_patient("maya@mail.test")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    for (field, value) in [
        ("name", json!("Maya Chen")),
        ("email", json!("maya@mail.test")),
        ("timezone", json!("America/Chicago")),
        ("skin_type", json!("dry")),
        ("fitzpatrick", json!(5)),
        ("reminder_time", json!("09:00")),
        ("clinic_id", json!(admin.clinic_id)),
    ] {
        assert_eq!(created.body[field], value, "{field}");
    }
    assert!(created.str("created_at").ends_with('Z'));
    let id = created.str("id");

    let activated = app
        .post_anonymous(
            "/v1/auth/activate",
            json!({ "invite_token": created.str("invite_token"), "password": crate::support::PASSWORD }),
        )
        .await;
    assert_eq!(activated.status, 200);
    assert_eq!(activated.body["user"]["role"], "patient");
    let patient_token = activated.str("access_token");

    let own = app.get(&format!("/v1/patients/{id}"), &patient_token).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert!(own.body.get("invite_token").is_none());
    let by_staff = app.get(&format!("/v1/patients/{id}"), &clinician.token).await;
    assert_eq!(by_staff.body, own.body);
}

#[actix_web::test]
async fn every_invalid_field_is_named() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let answer = app
        .post(
            "/v1/patients",
            &admin.token,
            json!({ "name": " ", "email": "nope", "timezone": "Mars/Olympus", "skin_type": "greasy", "fitzpatrick": 7, "reminder_time": "25:00" }),
        )
        .await;
    assert_eq!(answer.assert_problem(422), ["name", "email", "timezone", "skin_type", "fitzpatrick", "reminder_time"]);
    let missing = app.post("/v1/patients", &admin.token, json!({})).await;
    assert_eq!(missing.assert_problem(422), ["name", "email", "timezone", "skin_type", "fitzpatrick"]);
    let wrong_type = app.post("/v1/patients", &admin.token, json!({ "fitzpatrick": "three" })).await;
    wrong_type.assert_problem(400);
}

#[actix_web::test]
async fn patients_cannot_create_or_list_patients() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let patient = app.patient(&admin, "Europe/London").await;
    app.post("/v1/patients", &patient.token, new_patient("x@mail.test")).await.assert_problem(403);
    app.get("/v1/patients", &patient.token).await.assert_problem(403);
}

#[actix_web::test]
async fn other_clinics_and_other_patients_get_404() {
    let app = spawn().await;
    let north = app.clinic("North Clinic").await;
    let south = app.clinic("South Clinic").await;
    let mine = app.patient(&north, "Europe/London").await;
    let neighbour = app.patient(&north, "Europe/London").await;
    let path = format!("/v1/patients/{}", mine.id);
    for intruder in [&south, &neighbour] {
        app.get(&path, &intruder.token).await.assert_problem(404);
        app.patch(&path, &intruder.token, json!({ "name": "Hacked" })).await.assert_problem(404);
    }
    // Not a UUID, or a UUID of nothing: the same 404.
    app.get("/v1/patients/not-a-uuid", &north.token).await.assert_problem(404);
    app.get(&format!("/v1/patients/{}", uuid::Uuid::new_v4()), &north.token).await.assert_problem(404);
    let unchanged = app.get(&path, &north.token).await;
    assert_eq!(unchanged.body["name"], "Pat Test");
    let listed = app.get("/v1/patients", &south.token).await;
    assert_eq!(listed.body["items"], json!([]));
}

#[actix_web::test]
async fn patient_and_clinician_edit_the_profile() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let patient = app.patient(&admin, "Europe/London").await;
    let path = format!("/v1/patients/{}", patient.id);
    let by_patient =
        app.patch(&path, &patient.token, json!({ "timezone": "Australia/Lord_Howe", "reminder_time": "07:30" })).await;
    assert_eq!(by_patient.status, 200, "{}", by_patient.text);
    assert_eq!(by_patient.body["timezone"], "Australia/Lord_Howe");
    assert_eq!(by_patient.body["reminder_time"], "07:30");
    assert_eq!(by_patient.body["skin_type"], "normal", "untouched fields stay");

    let by_staff = app
        .patch(&path, &admin.token, json!({ "skin_type": "sensitive", "fitzpatrick": 6, "name": "Pat Renamed" }))
        .await;
    assert_eq!(by_staff.status, 200);
    assert_eq!(by_staff.body["skin_type"], "sensitive");
    assert_eq!(by_staff.body["fitzpatrick"], 6);
    assert_eq!(by_staff.body["name"], "Pat Renamed");
    assert_eq!(by_staff.body["reminder_time"], "07:30");

    let bad = app
        .patch(&path, &admin.token, json!({ "timezone": "Nowhere/Land", "fitzpatrick": 0, "reminder_time": "7:30" }))
        .await;
    assert_eq!(bad.assert_problem(422), ["timezone", "fitzpatrick", "reminder_time"]);
    let bad = app.patch(&path, &patient.token, json!({ "timezone": "Nowhere/Land", "reminder_time": "7:30" })).await;
    assert_eq!(bad.assert_problem(422), ["timezone", "reminder_time"]);
    let empty = app.patch(&path, &patient.token, json!({})).await;
    assert_eq!(empty.body, by_staff.body);
}

#[actix_web::test]
async fn the_patient_list_pages_with_a_cursor() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    for n in 0..5 {
        let created = app.post("/v1/patients", &admin.token, new_patient(&format!("p{n}@mail.test"))).await;
        assert_eq!(created.status, 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/patients?limit=2&cursor={c}"),
            None => "/v1/patients?limit=2".to_string(),
        };
        let page = app.get(&path, &admin.token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|p| p["email"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, (0..5).map(|n| format!("p{n}@mail.test")).collect::<Vec<_>>());

    for bad in ["limit=0", "limit=101", "limit=ten", "cursor=garbage"] {
        let answer = app.get(&format!("/v1/patients?{bad}"), &admin.token).await;
        assert_eq!(answer.assert_problem(422).len(), 1, "{bad}");
    }
    let both = app.get("/v1/patients?limit=-3&cursor=zzz", &admin.token).await;
    assert_eq!(both.assert_problem(422), ["limit", "cursor"]);
}
