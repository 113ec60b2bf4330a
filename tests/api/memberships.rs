//! One person, several clinics: an address is unique within a clinic, never across clinics, so no
//! clinic learns from an answer whether another clinic knows an address, and none can squat one.

use serde_json::{Value, json};

use crate::fixtures::{clinician_invite, new_patient};
use crate::support::{PASSWORD, Session, TestApp, spawn};

async fn add_patient(app: &TestApp, staff: &Session, email: &str) -> crate::support::Answer {
    app.post("/v1/patients", &staff.token, new_patient(email, "Europe/Madrid")).await
}

async fn invite_staff(app: &TestApp, admin: &Session, email: &str) -> crate::support::Answer {
    app.post("/v1/clinicians", &admin.token, clinician_invite(email)).await
}

/// An answer with what differs between any two creations (ids, tokens, times) taken out.
fn shape(answer: &crate::support::Answer) -> (u16, Value) {
    let mut body = answer.body.clone();
    if let Some(fields) = body.as_object_mut() {
        for volatile in ["id", "invite_token", "invite_expires_at", "created_at", "clinic_id", "email"] {
            fields.remove(volatile);
        }
    }
    (answer.status.as_u16(), body)
}

#[actix_web::test]
async fn what_one_clinic_is_told_never_depends_on_another_clinics_accounts() {
    let app = spawn().await;
    let north = app.clinic("North").await;
    let north_clinician = app.clinician(&north).await;
    let north_patient = app.patient(&north_clinician, "Europe/Madrid").await;
    let south = app.clinic("South").await;

    // Every kind of address North may hold, and one nobody holds, created at South as a patient
    // and invited at South as staff: the same answers.
    let known_elsewhere = [&north.email, &north_clinician.email, &north_patient.email];
    let fresh_patient = shape(&add_patient(&app, &south, "nobody-yet@mail.test").await);
    let fresh_staff = shape(&invite_staff(&app, &south, "nobody-yet-staff@mail.test").await);
    assert_eq!(fresh_patient.0, 201);
    assert_eq!(fresh_staff.0, 201);
    for email in known_elsewhere {
        assert_eq!(shape(&add_patient(&app, &south, email).await), fresh_patient, "patient {email}");
        let staff_email = format!("staff.{email}");
        assert_eq!(shape(&invite_staff(&app, &south, &staff_email).await), fresh_staff, "staff {staff_email}");
    }
    // An address already in one's own clinic is one's own data: 409, whatever other clinics hold.
    add_patient(&app, &south, &north_patient.email).await.assert_problem(409);
    invite_staff(&app, &south, &north_patient.email).await.assert_problem(409);
    // North's accounts are untouched by South's: each logs in as before.
    for session in [&north, &north_clinician, &north_patient] {
        let login = app.login(&session.email, PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.text);
        assert_eq!(login.body["user"]["clinic_id"], north.clinic_id.as_str());
    }
}

#[actix_web::test]
async fn a_person_with_accounts_at_two_clinics_logs_in_to_either() {
    let app = spawn().await;
    let north = app.clinic("North").await;
    let south = app.clinic("South").await;
    let email = "maya@mail.test";
    let mut accounts = Vec::new();
    for (admin, password) in [(&north, "north password 1"), (&south, "south password 1")] {
        let created = add_patient(&app, admin, email).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let activated = app
            .post_anonymous(
                "/v1/auth/activate",
                json!({ "invite_token": created.str("invite_token"), "password": password }),
            )
            .await;
        assert_eq!(activated.status, 200, "{}", activated.text);
        accounts.push((admin.clinic_id.clone(), created.str("id"), password));
    }
    let login = |clinic_id: Option<&str>, password: &str| {
        let mut body = json!({ "email": email, "password": password });
        if let Some(clinic_id) = clinic_id {
            body["clinic_id"] = json!(clinic_id);
        }
        app.post_anonymous("/v1/auth/login", body)
    };
    for (clinic_id, patient_id, password) in &accounts {
        let answer = login(Some(clinic_id), password).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.body["user"]["id"], patient_id.as_str());
        assert_eq!(answer.body["user"]["clinic_id"], clinic_id.as_str());
    }
    // Each clinic's account has its own password.
    login(Some(&accounts[0].0), accounts[1].2).await.assert_problem(401);
    login(Some(&accounts[1].0), accounts[0].2).await.assert_problem(401);
    // Without a clinic: the oldest account.
    let oldest = login(None, accounts[0].2).await;
    assert_eq!(oldest.body["user"]["clinic_id"], accounts[0].0.as_str(), "{}", oldest.text);
    login(None, accounts[1].2).await.assert_problem(401);
    // A clinic that does not exist, or is not a clinic id at all: the same 401 as a wrong password.
    login(Some("00000000-0000-0000-0000-000000000000"), accounts[0].2).await.assert_problem(401);
    login(Some("not an id"), accounts[0].2).await.assert_problem(401);
}
