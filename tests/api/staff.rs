use serde_json::json;

use crate::support::spawn;

#[actix_web::test]
async fn an_admin_invites_and_lists_staff() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let created = app
        .post(
            "/v1/clinicians",
            &admin.token,
            json!({ "name": "  Dr. Okafor ", "email": "Okafor@Clinic.test", "role": "admin" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["name"], "Dr. Okafor");
    assert_eq!(created.body["email"], "okafor@clinic.test");
    assert_eq!(created.body["role"], "admin");
    assert_eq!(created.body["clinic_id"], admin.clinic_id.as_str());
    assert_eq!(created.body["activated"], false);
    assert!(created.str("invite_token").len() >= 32);

    let listed = app.get("/v1/clinicians", &admin.token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let emails: Vec<_> =
        listed.body["items"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [admin.email.as_str(), "okafor@clinic.test"]);
    assert!(listed.body["items"][0].get("invite_token").is_none(), "invites are shown once");
    assert!(listed.body["next_cursor"].is_null());
}

#[actix_web::test]
async fn only_admins_manage_staff() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&admin, "Europe/London").await;
    let body = json!({ "name": "X", "email": "x@clinic.test", "role": "clinician" });
    for who in [&clinician, &patient] {
        app.post("/v1/clinicians", &who.token, body.clone()).await.assert_problem(403);
        app.get("/v1/clinicians", &who.token).await.assert_problem(403);
    }
}

#[actix_web::test]
async fn staff_lists_stay_inside_the_clinic() {
    let app = spawn().await;
    let north = app.clinic("North Clinic").await;
    let south = app.clinic("South Clinic").await;
    app.clinician(&south).await;
    let listed = app.get("/v1/clinicians", &north.token).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn invalid_and_duplicate_invitations_are_refused() {
    let app = spawn().await;
    let admin = app.clinic("North Clinic").await;
    let invalid = app
        .post("/v1/clinicians", &admin.token, json!({ "name": "", "email": "not-an-email", "role": "patient" }))
        .await;
    assert_eq!(invalid.assert_problem(422), ["name", "email", "role"]);
    let missing = app.post("/v1/clinicians", &admin.token, json!({})).await;
    assert_eq!(missing.assert_problem(422), ["name", "email", "role"]);

    let body = json!({ "name": "Dr. A", "email": "dup@clinic.test", "role": "clinician" });
    assert_eq!(app.post("/v1/clinicians", &admin.token, body.clone()).await.status, 201);
    app.post("/v1/clinicians", &admin.token, body).await.assert_problem(409);
    // Unique within the clinic only: another clinic may invite the same person (see memberships.rs).
    let other = app.clinic("South Clinic").await;
    let elsewhere = app
        .post(
            "/v1/clinicians",
            &other.token,
            json!({ "name": "Dr. B", "email": "dup@clinic.test", "role": "clinician" }),
        )
        .await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);
}
