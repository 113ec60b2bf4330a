//! Texts in English and Spanish: `Accept-Language`, else a patient's preferred language, else
//! English choose the texts of plans, reminders, check-in reasons and protocol documents; stable
//! keys and dates never change with the language, and `Content-Language` says which one an answer
//! is in (English when the protocol has no translation). Problem+json errors stay English.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::clinic_protocols::standard_document;
use crate::fixtures::{check_in, check_in_body, today_in, treatment};
use crate::support::{Answer, Session, TestApp, spawn};

async fn get_in(app: &TestApp, path: &str, token: &str, language: &str) -> Answer {
    app.call_with_headers(Method::GET, path, Some(token), None, &[("accept-language", language)]).await
}

/// A patient three days into a standard v2 treatment; (admin, patient, treatment id).
async fn world(app: &TestApp) -> (Session, Session, String) {
    let admin = app.clinic("Norte").await;
    let patient = app.patient(&admin, "Europe/Madrid").await;
    let t = treatment(app, &admin, &patient.id, today_in("Europe/Madrid") - Duration::days(2)).await;
    (admin, patient, t["id"].as_str().unwrap().to_string())
}

fn strings(value: &Value, field: &str) -> Vec<String> {
    value.as_array().unwrap().iter().map(|item| item[field].to_string()).collect()
}

#[actix_web::test]
async fn the_same_plan_in_english_and_spanish_has_the_same_keys_and_dates_and_other_texts() {
    let app = spawn().await;
    let (_, patient, id) = world(&app).await;
    for path in [
        format!("/v1/treatments/{id}/timeline"),
        format!("/v1/treatments/{id}/reminders"),
        format!("/v1/treatments/{id}/notifications"),
    ] {
        let en = app.get(&path, &patient.token).await;
        let es = get_in(&app, &path, &patient.token, "es-ES,en;q=0.5").await;
        assert_eq!((en.status.as_u16(), es.status.as_u16()), (200, 200), "{path}: {}", es.text);
        assert_eq!((en.header("content-language"), es.header("content-language")), ("en", "es"), "{path}");
        assert!(es.header("vary").contains("Accept-Language"), "{path}");
        assert_ne!(en.header("etag"), es.header("etag"), "{path}: a tag per language");
        assert_ne!(en.text, es.text, "{path}");
        // The same answer with every text blanked: keys, kinds, ids, dates, instants are equal.
        fn blank(value: &mut Value) {
            match value {
                Value::Object(fields) => {
                    for (name, field) in fields.iter_mut() {
                        if ["title", "body", "expect", "care"].contains(&name.as_str()) {
                            *field = Value::Null;
                        } else {
                            blank(field);
                        }
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(blank),
                _ => {}
            }
        }
        let (mut en_body, mut es_body) = (en.body.clone(), es.body.clone());
        blank(&mut en_body);
        blank(&mut es_body);
        assert_eq!(en_body, es_body, "{path}");
    }
    let timeline = get_in(&app, &format!("/v1/treatments/{id}/timeline"), &patient.token, "es").await;
    let phases = &timeline.body["phases"];
    assert_eq!(strings(phases, "key"), ["\"days_1_2\"", "\"days_3_7\"", "\"weeks_2_4\"", "\"months_2_3\""]);
    assert_eq!(phases[0]["title"], "Días 1-2: calmar la piel");
    let reminders = get_in(&app, &format!("/v1/treatments/{id}/reminders"), &patient.token, "es").await;
    let sunscreen = reminders.body["items"].as_array().unwrap().iter().find(|r| r["kind"] == "sunscreen").unwrap();
    assert_eq!(sunscreen["title"], "Póngase protector solar");

    // Revalidation per language: the Spanish tag is 304 in Spanish, not in English.
    let path = format!("/v1/treatments/{id}/timeline");
    let tag = timeline.header("etag").to_string();
    let headers = [("accept-language", "es"), ("if-none-match", tag.as_str())];
    let again = app.call_with_headers(Method::GET, &path, Some(&patient.token), None, &headers).await;
    assert_eq!(again.status, 304);
    assert_eq!(again.header("vary"), "Accept-Language");
    let english =
        app.call_with_headers(Method::GET, &path, Some(&patient.token), None, &[("if-none-match", &tag)]).await;
    assert_eq!(english.status, 200);

    // Unsupported, wildcard and malformed headers are ignored: English.
    for value in ["fr-FR", "*", ";q=es,,", "es;q=0"] {
        let got = get_in(&app, &path, &patient.token, value).await;
        assert_eq!((got.status.as_u16(), got.header("content-language")), (200, "en"), "{value}");
    }
    // Errors stay English.
    let bad = get_in(&app, &format!("{path}?on=mañana"), &patient.token, "es").await;
    bad.assert_problem(422);
    assert_eq!(bad.header("content-language"), "");
}

#[actix_web::test]
async fn a_patients_preferred_language_is_used_without_the_header_and_the_header_beats_it() {
    let app = spawn().await;
    let (admin, patient, id) = world(&app).await;
    let me = format!("/v1/patients/{}", patient.id);
    assert_eq!(app.get(&me, &patient.token).await.body["preferred_language"], Value::Null);
    let refused = app.patch(&me, &patient.token, json!({ "preferred_language": "fr" })).await;
    assert_eq!(refused.assert_problem(422), ["preferred_language"]);
    let set = app.patch(&me, &patient.token, json!({ "preferred_language": "es" })).await;
    assert_eq!(set.body["preferred_language"], "es", "{}", set.text);

    let today = app.get("/v1/me/today", &patient.token).await;
    assert_eq!(today.header("content-language"), "es", "{}", today.text);
    let titles = strings(&today.body["treatments"][0]["reminders"], "title");
    assert!(titles.contains(&"\"Póngase protector solar\"".to_string()), "{titles:?}");
    let timeline = app.get(&format!("/v1/treatments/{id}/timeline"), &patient.token).await;
    assert_eq!(timeline.header("content-language"), "es");
    // The header beats the preference.
    let english = get_in(&app, "/v1/me/today", &patient.token, "en-US").await;
    assert_eq!(english.header("content-language"), "en");
    assert!(strings(&english.body["treatments"][0]["reminders"], "title").contains(&"\"Put on sunscreen\"".into()));
    // Staff choose by their own request: the patient's preference is not theirs.
    let staff = app.get(&format!("/v1/treatments/{id}/timeline"), &admin.token).await;
    assert_eq!(staff.header("content-language"), "en");
    let staff_es = get_in(&app, &format!("/v1/treatments/{id}/timeline"), &admin.token, "es").await;
    assert_eq!(staff_es.header("content-language"), "es");
    // Staff set it too, and at enrolment.
    let back = app.patch(&me, &admin.token, json!({ "preferred_language": "en" })).await;
    assert_eq!(back.body["preferred_language"], "en");
    assert_eq!(app.get("/v1/me/today", &patient.token).await.header("content-language"), "en");
    let email = format!("paciente-{}@mail.test", uuid::Uuid::new_v4().simple());
    let mut body = crate::fixtures::new_patient(&email, "America/Mexico_City");
    body["preferred_language"] = json!("es");
    let created = app.post("/v1/patients", &admin.token, body).await;
    assert_eq!(created.body["preferred_language"], "es", "{}", created.text);

    // The calendar feed goes to the patient: their language.
    app.patch(&me, &patient.token, json!({ "preferred_language": "es" })).await;
    let calendar = app.get(&format!("/v1/treatments/{id}/calendar.ics"), &patient.token).await;
    assert_eq!(calendar.header("content-language"), "es");
    assert!(calendar.text.contains("Póngase protector solar"), "{}", calendar.text);
}

#[actix_web::test]
async fn check_in_reasons_are_stored_in_english_and_read_in_the_readers_language() {
    let app = spawn().await;
    let (admin, patient, id) = world(&app).await;
    app.patch(&format!("/v1/patients/{}", patient.id), &patient.token, json!({ "preferred_language": "es" })).await;
    let created = check_in(&app, &patient, &id, check_in_body(2, true)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("content-language"), "es");
    let reason = &created.body["assessment"]["reasons"][0];
    assert_eq!(reason["code"], "bleeding_after_day_1");
    assert_eq!(reason["message"], "No se espera sangrado después del primer día. Contacte ahora con su clínica.");
    let path = format!("/v1/check-ins/{}", created.str("id"));
    let staff = app.get(&path, &admin.token).await;
    assert_eq!(staff.header("content-language"), "en");
    assert_eq!(
        staff.body["assessment"]["reasons"][0]["message"],
        "Bleeding after the first day is not expected. Contact your clinic now."
    );
    let listed = app.get(&format!("/v1/treatments/{id}/check-ins"), &patient.token).await;
    assert_eq!(listed.header("content-language"), "es");
    assert_eq!(listed.body["items"][0]["assessment"], created.body["assessment"]);
    let mut blanked = staff.body.clone();
    blanked["assessment"]["reasons"][0]["message"] = reason["message"].clone();
    assert_eq!(blanked, app.get(&path, &patient.token).await.body, "only the message changes");
}

#[actix_web::test]
async fn protocol_documents_and_screening_questions_come_in_the_asked_language() {
    let app = spawn().await;
    let admin = app.clinic("Norte").await;
    let path = "/v1/protocols/standard/versions/2";
    let en = app.get(path, &admin.token).await;
    assert_eq!(en.header("content-language"), "en");
    assert!(en.body["document"]["translations"]["es"].is_object(), "the English document is the whole one");
    let es = get_in(&app, path, &admin.token, "es").await;
    assert_eq!(es.header("content-language"), "es");
    let document = &es.body["document"];
    assert_eq!(document["title"], "Cuidados estándar tras la micropunción, v2");
    assert!(document.get("translations").is_none());
    assert_eq!(strings(&document["reminders"], "kind"), strings(&en.body["document"]["reminders"], "kind"));
    assert_eq!(strings(&document["variants"], "key"), strings(&en.body["document"]["variants"], "key"));
    let v1 = get_in(&app, "/v1/protocols/standard/versions/1", &admin.token, "es").await;
    assert_eq!(v1.body["document"]["title"], "Cuidados estándar tras la micropunción");

    let questions = get_in(&app, "/v1/screening-questions", &admin.token, "es-419").await;
    assert_eq!(questions.header("content-language"), "es");
    let first = &questions.body["questions"][0];
    assert_eq!((first["key"].as_str(), first["code"].as_str()), (Some("active_acne"), Some("active_acne")));
    assert!(first["question"].as_str().unwrap().starts_with("¿"), "{first}");
}

#[actix_web::test]
async fn a_clinic_document_with_a_broken_translation_is_422_naming_the_address() {
    let app = spawn().await;
    let admin = app.clinic("Norte").await;
    let standard = standard_document(&app, &admin).await;
    type Edit = fn(&mut serde_json::Map<String, Value>);
    let cases: [(Edit, &str); 4] = [
        (|t| drop(t.remove("phase.days_3_7.care.1")), "lacks the text `phase.days_3_7.care.1`"),
        (|t| drop(t.insert("reminder.glow.title".into(), json!("Brillo"))), "names `reminder.glow.title`"),
        (|t| drop(t.insert("screening.eczema.question".into(), json!(""))), "`screening.eczema.question` is empty"),
        (|t| t.clear(), "lacks the text `title`"),
    ];
    for (edit, expected) in cases {
        let mut document = standard.clone();
        edit(document["translations"]["es"].as_object_mut().unwrap());
        let refused = app.post("/v1/protocols", &admin.token, json!({ "document": document })).await;
        assert_eq!(refused.assert_problem(422), ["document"], "{expected}");
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let mut french = standard.clone();
    french["translations"]["fr"] = standard["translations"]["es"].clone();
    let refused = app.post("/v1/protocols", &admin.token, json!({ "document": french })).await;
    assert_eq!(refused.assert_problem(422), ["document"]);
}

#[actix_web::test]
async fn a_clinic_protocol_in_english_only_answers_a_spanish_speaker_in_english() {
    let app = spawn().await;
    let admin = app.clinic("Norte").await;
    let mut document = standard_document(&app, &admin).await;
    document.as_object_mut().unwrap().remove("translations");
    document["title"] = json!("Northside aftercare");
    let drafted = app.post("/v1/protocols", &admin.token, json!({ "document": document })).await;
    assert_eq!(drafted.status, 201, "{}", drafted.text);
    let (pid, version) = (drafted.str("id"), drafted.body["version"].as_i64().unwrap());
    let done = app.post(&format!("/v1/protocols/{pid}/versions/{version}/publish"), &admin.token, Value::Null).await;
    assert_eq!(done.status, 200, "{}", done.text);

    let patient = app.patient(&admin, "Europe/Madrid").await;
    app.patch(&format!("/v1/patients/{}", patient.id), &patient.token, json!({ "preferred_language": "es" })).await;
    let t = treatment(&app, &admin, &patient.id, today_in("Europe/Madrid")).await;
    assert_eq!(t["protocol"]["id"], pid);
    let id = t["id"].as_str().unwrap();
    for path in [format!("/v1/treatments/{id}/timeline"), format!("/v1/treatments/{id}/reminders")] {
        let got = get_in(&app, &path, &patient.token, "es").await;
        assert_eq!((got.status.as_u16(), got.header("content-language")), (200, "en"), "{path}: {}", got.text);
    }
    let today = app.get("/v1/me/today", &patient.token).await;
    assert_eq!(today.header("content-language"), "en");
    assert!(today.text.contains("Put on sunscreen"));
    let document = get_in(&app, &format!("/v1/protocols/{pid}/versions/{version}"), &patient.token, "es").await;
    assert_eq!((document.status.as_u16(), document.header("content-language")), (200, "en"));
    assert_eq!(document.body["document"]["title"], "Northside aftercare");
}

/// A database that stored standard v1 before it had translations keeps working: at start-up the
/// stored row takes the shipped translations (they change no plan), while an edited English text
/// is still refused.
#[actix_web::test]
async fn a_stored_v1_without_translations_takes_the_shipped_ones() {
    use aftercare::db::schema::protocols;
    use aftercare::plan::Protocol;
    use aftercare::plan::protocol::STANDARD_V1;
    use diesel::prelude::*;
    let app = spawn().await;
    let mut conn = app.db.pool().get().unwrap();
    let mut old: Value = serde_json::from_str(STANDARD_V1).unwrap();
    old.as_object_mut().unwrap().remove("translations");
    let row = protocols::table.find(("standard", 1));
    diesel::update(row).set(protocols::document.eq(old.to_string())).execute(&mut conn).unwrap();

    let shipped = Protocol::parse(STANDARD_V1).unwrap();
    aftercare::models::protocols::seed(&mut conn, &shipped, STANDARD_V1).unwrap();
    let stored: String = row.select(protocols::document).first(&mut conn).unwrap();
    assert_eq!(Protocol::parse(&stored).unwrap(), shipped);

    let mut edited = shipped.clone();
    edited.phases[0].title = "Days 1-2".into();
    edited.translations.clear();
    let document = serde_json::to_string(&edited).unwrap();
    let refused = aftercare::models::protocols::seed(&mut conn, &edited, &document).unwrap_err();
    assert!(refused.contains("new version"), "{refused}");
}

/// E-mails to a patient are in their preferred language; staff's stay English.
#[actix_web::test]
async fn e_mails_to_a_patient_are_in_their_preferred_language() {
    use aftercare::db::schema::outbox_messages;
    use aftercare::mail::Letter;
    use diesel::prelude::*;
    let app = spawn().await;
    let admin = app.clinic("Norte").await;
    let email = format!("paciente-{}@mail.test", uuid::Uuid::new_v4().simple());
    let mut body = crate::fixtures::new_patient(&email, "Europe/Madrid");
    body["preferred_language"] = json!("es");
    let created = app.post("/v1/patients", &admin.token, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let mut conn = app.db.pool().get().unwrap();
    let sent: Vec<(String, String)> = outbox_messages::table
        .filter(outbox_messages::recipient.eq(&email))
        .order(outbox_messages::created_at.asc())
        .select((outbox_messages::subject, outbox_messages::payload))
        .load(&mut *conn)
        .unwrap();
    let subjects: Vec<&str> = sent.iter().map(|(subject, _)| subject.as_str()).collect();
    assert_eq!(subjects, ["Norte le invita a Aftercare"]);
    let keys = &app.services.state.tokens;
    let invitation: Letter = serde_json::from_str(&sent[0].1).unwrap();
    let text = invitation.body(keys, "https://app.example");
    assert!(text.starts_with("Hola, ") && text.contains("#invite_token="), "{text}");
    let clinician = app.clinician(&admin).await;
    let staff_mail: String = outbox_messages::table
        .filter(outbox_messages::recipient.eq(&clinician.email))
        .select(outbox_messages::subject)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(staff_mail, "Norte invites you to Aftercare");
    // A letter stored before languages were reads as English.
    let old: Letter = serde_json::from_str(r#"{"kind":"password_changed","name":"Ana"}"#).unwrap();
    assert_eq!(old.subject(), "Your Aftercare password was changed");
}

/// Acknowledging a reminder answers with the reminder in the patient's language too: the same id
/// and date whatever the language, only its texts chosen.
#[actix_web::test]
async fn an_acknowledged_reminder_comes_back_in_the_patients_language() {
    let app = spawn().await;
    let (_, patient, id) = world(&app).await;
    let today = app.get(&format!("/v1/treatments/{id}/reminders"), &patient.token).await;
    let first = &today.body["items"][0];
    let path = format!("/v1/reminders/{}/ack", first["id"].as_str().unwrap());
    let es = app.call_with_headers(Method::POST, &path, Some(&patient.token), None, &[("accept-language", "es")]).await;
    assert_eq!(es.status, 200, "{}", es.text);
    assert_eq!(es.header("content-language"), "es");
    assert_eq!(
        (&es.body["id"], &es.body["kind"], &es.body["local_date"]),
        (&first["id"], &first["kind"], &first["local_date"])
    );
    assert_ne!(es.body["title"], first["title"], "the title is in Spanish");
    let en = app.call_with_headers(Method::POST, &path, Some(&patient.token), None, &[("accept-language", "en")]).await;
    assert_eq!((en.header("content-language"), &en.body["title"]), ("en", &first["title"]));
    assert_eq!(en.body["acknowledged_at"], es.body["acknowledged_at"], "acknowledged once");
}
