//! The document is exact for generators: operation ids they can name methods after, security they
//! can read per operation, and real answers that carry only the headers, fields and formats the
//! document declares. A whole session of real calls is checked against it, answer by answer.

use std::collections::BTreeSet;

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{
    PhotoBody, TreatmentBody, check_in_body, clinician_invite, new_patient, screening_all_no, today_in,
};
use crate::support::{Answer, TestApp, spawn};

/// Headers a client may act on. Every one the server sends must be declared on that answer.
const API_HEADERS: &[&str] = &[
    "x-request-id",
    "idempotency-replayed",
    "etag",
    "location",
    "retry-after",
    "www-authenticate",
    "content-disposition",
];

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    all
}

#[::core::prelude::v1::test]
fn operation_ids_are_unique_and_lower_camel_case() {
    let doc = aftercare::routes::openapi();
    let mut seen = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(seen.insert(id.to_string()), "{method} {path}: operationId {id} is used twice");
        let camel =
            id.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && id.chars().all(|c| c.is_ascii_alphanumeric());
        assert!(camel, "{method} {path}: operationId {id} is not lowerCamelCase");
    }
}

#[::core::prelude::v1::test]
fn every_operation_is_described() {
    let doc = aftercare::routes::openapi();
    for (method, path, operation) in operations(&doc) {
        let description = operation["description"].as_str().unwrap_or("");
        assert!(description.len() >= 40, "{method} {path} needs a description (what, who may call, which errors)");
    }
}

#[::core::prelude::v1::test]
fn every_operation_says_itself_whether_it_needs_a_token() {
    let doc = aftercare::routes::openapi();
    let mut public = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        match &operation["security"] {
            s if s == &json!([]) => drop(public.insert(format!("{method} {path}"))),
            s if s == &json!([{ "bearer": [] }]) => {}
            other => panic!("{method} {path}: security must be [] or [{{bearer: []}}], is {other}"),
        }
    }
    let expected: BTreeSet<String> = [
        "GET /health/live",
        "GET /health/ready",
        "GET /metrics",
        "GET /openapi.yaml",
        "GET /v1/calendar-feeds/{secret}.ics",
        "GET /v1/time-zones",
        "POST /v1/auth/activate",
        "POST /v1/auth/login",
        "POST /v1/auth/password-reset",
        "POST /v1/auth/password-reset/confirm",
        "POST /v1/auth/refresh",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(public, expected);
}

#[::core::prelude::v1::test]
fn every_write_outside_auth_declares_idempotency_key_as_a_plain_string() {
    let doc = aftercare::routes::openapi();
    for (method, path, operation) in operations(&doc) {
        if method != "POST" || path.starts_with("/v1/auth/") {
            continue;
        }
        let params = operation["parameters"].as_array().cloned().unwrap_or_default();
        let key = params.iter().find(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
        let key = key.unwrap_or_else(|| panic!("{method} {path} honours Idempotency-Key but does not declare it"));
        assert_eq!(key["schema"]["type"], "string", "{method} {path}");
        assert_eq!(key["required"], false, "{method} {path}");
    }
}

/// `#/components/<kind>/<name>` from a `$ref`, or the value itself.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let mut target = doc;
            for part in reference.trim_start_matches("#/").split('/') {
                target = &target[part];
            }
            resolve(doc, target)
        }
        None => value,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn format_holds(format: &str, text: &str) -> bool {
    match format {
        "uuid" => uuid::Uuid::parse_str(text).is_ok() && text.len() == 36,
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "email" => text.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')),
        _ => true,
    }
}

/// Where `value` breaks `schema`: types, required fields, fields not declared, enums, formats.
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    violations_of(doc, schema, value, at, found, true);
}

/// The properties `schema` declares, its `allOf` parts' included.
fn declared_properties<'a>(doc: &'a Value, schema: &'a Value) -> BTreeSet<&'a str> {
    let schema = resolve(doc, schema);
    let mut names: BTreeSet<&str> =
        schema["properties"].as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(declared_properties(doc, part));
    }
    names
}

/// `whole`: `schema` describes the whole value (not one `allOf` part), so a field it does not
/// declare is an error.
fn violations_of(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>, whole: bool) {
    let schema = resolve(doc, schema);
    for combinator in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[combinator].as_array() {
            let fits = branches.iter().any(|branch| {
                let mut inner = Vec::new();
                violations(doc, branch, value, at, &mut inner);
                inner.is_empty()
            });
            if !fits {
                found.push(format!("{at}: fits no branch of {combinator}: {value}"));
            }
            return;
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        violations_of(doc, part, value, at, found, false);
    }
    let actual = type_name(value);
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_fits =
        allowed.is_empty() || allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
    if !type_fits {
        found.push(format!("{at}: is {actual}, the document says {allowed:?}"));
        return;
    }
    if let Some(values) = schema["enum"].as_array().filter(|values| !value.is_null() && !values.contains(value)) {
        found.push(format!("{at}: {value} is not one of {values:?}"));
    }
    match value {
        Value::String(text) => {
            if let Some(format) = schema["format"].as_str().filter(|f| !format_holds(f, text)) {
                found.push(format!("{at}: {text:?} is not a {format}"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                violations(doc, &schema["items"], item, &format!("{at}[{i}]"), found);
            }
        }
        Value::Object(fields) => {
            let properties = schema["properties"].as_object();
            let known = declared_properties(doc, schema);
            for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !fields.contains_key(required) {
                    found.push(format!("{at}.{required}: required, missing"));
                }
            }
            for (name, field) in fields {
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => violations(doc, property, field, &format!("{at}.{name}"), found),
                    None if whole && !known.contains(name.as_str()) && schema["additionalProperties"].is_null() => {
                        found.push(format!("{at}.{name}: not in the document"))
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
}

/// Checks one real answer against the document's answer for that operation and status.
fn check(doc: &Value, method: &str, template: &str, answer: &Answer) -> Vec<String> {
    let what = format!("{method} {template} → {}", answer.status.as_u16());
    let operation = &doc["paths"][template][method.to_lowercase()];
    assert!(operation.is_object(), "{what}: no such operation in the document");
    let declared = resolve(doc, &operation["responses"][answer.status.as_str()]);
    if !declared.is_object() {
        return vec![format!("{what}: status not declared")];
    }
    let declared_headers: BTreeSet<String> =
        declared["headers"].as_object().into_iter().flatten().map(|(name, _)| name.to_lowercase()).collect();
    let mut found = Vec::new();
    for header in API_HEADERS.iter().filter(|h| answer.headers.contains_key(**h)) {
        if !declared_headers.contains(*header) {
            found.push(format!("{what}: sends {header}, not declared"));
        }
    }
    for header in ["x-request-id", "etag", "location"].iter().filter(|h| declared_headers.contains(**h)) {
        if !answer.headers.contains_key(*header) {
            found.push(format!("{what}: declares {header}, does not send it"));
        }
    }
    let media = answer.header("content-type").split(';').next().unwrap_or("").to_string();
    if media.ends_with("json") {
        match declared["content"].get(&media) {
            Some(content) => violations(doc, &content["schema"], &answer.body, &what, &mut found),
            None => found.push(format!("{what}: answers {media}, not declared")),
        }
    }
    found
}

/// A session of real calls covering every operation, each with its document path.
struct Recorder<'a> {
    app: &'a TestApp,
    doc: Value,
    found: Vec<String>,
    covered: BTreeSet<String>,
}

impl Recorder<'_> {
    async fn call(
        &mut self,
        method: Method,
        template: &str,
        ids: &[&str],
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(method, template, ids, token, body, &[]).await
    }

    async fn call_with(
        &mut self,
        method: Method,
        template: &str,
        ids: &[&str],
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        // A query string, if any, is sent but not part of the document's path.
        let (template, query) = template.split_once('?').map_or((template, None), |(t, q)| (t, Some(q)));
        let mut path = template.to_string();
        for id in ids {
            // The next `{...}` of the template: an `{id}`, or the feed's `{secret}`.
            if let Some(start) = path.find('{') {
                let end = start + path[start..].find('}').unwrap();
                path.replace_range(start..=end, id);
            }
        }
        if let Some(query) = query {
            path = format!("{path}?{query}");
        }
        let answer = self.app.call_with_headers(method.clone(), &path, token, body, headers).await;
        self.found.extend(check(&self.doc, method.as_str(), template, &answer));
        self.covered.insert(format!("{method} {template}"));
        answer
    }

    /// A PUT of raw bytes to a template with one id.
    async fn upload(&mut self, template: &str, id: &str, token: &str, bytes: Vec<u8>) -> Answer {
        let answer = self.app.upload(&template.replace("{id}", id), token, bytes).await;
        self.found.extend(check(&self.doc, "PUT", template, &answer));
        self.covered.insert(format!("PUT {template}"));
        answer
    }
}

#[actix_web::test]
async fn real_answers_carry_the_declared_headers_fields_and_formats() {
    let app = spawn().await;
    let mut r = Recorder { app: &app, doc: aftercare::routes::openapi(), found: Vec::new(), covered: BTreeSet::new() };
    let admin = app.clinic("Contract clinic").await;
    use Method as M;
    let email = format!("c-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let invited = r.call(M::POST, "/v1/clinicians", &[], Some(&admin.token), Some(clinician_invite(&email))).await;
    let activate = json!({ "invite_token": invited.str("invite_token"), "password": "a long enough password" });
    let clinician = r.call(M::POST, "/v1/auth/activate", &[], None, Some(activate)).await.str("access_token");
    let c = clinician.as_str();
    let email = format!("p-{}@mail.test", uuid::Uuid::new_v4().simple());
    let created = r.call(M::POST, "/v1/patients", &[], Some(c), Some(new_patient(&email, "Asia/Kolkata"))).await;
    let patient_id = created.body["patient"]["id"].as_str().or(created.body["id"].as_str()).unwrap().to_string();
    let activate = json!({ "invite_token": created.str("invite_token"), "password": "a long enough password" });
    let session = r.call(M::POST, "/v1/auth/activate", &[], None, Some(activate)).await;
    let p = session.str("access_token");
    let p = p.as_str();
    let pid = patient_id.as_str();
    r.call(M::POST, "/v1/patients/{id}/screenings", &[pid], Some(c), Some(json!({ "answers": screening_all_no() })))
        .await;
    let treated_on = today_in("Asia/Kolkata") - Duration::days(2);
    let t = r
        .call(
            M::POST,
            "/v1/patients/{id}/treatments",
            &[pid],
            Some(c),
            Some(TreatmentBody::default().treated_on(treated_on).build()),
        )
        .await
        .str("id");
    let t = t.as_str();
    let key = [("Idempotency-Key", "contract-check-in-1")];
    let first =
        r.call_with(M::POST, "/v1/treatments/{id}/check-ins", &[t], Some(p), Some(check_in_body(4, false)), &key).await;
    let replayed =
        r.call_with(M::POST, "/v1/treatments/{id}/check-ins", &[t], Some(p), Some(check_in_body(4, false)), &key).await;
    assert_eq!(replayed.header("idempotency-replayed"), "true");
    let ci = first.str("id");
    let ci = ci.as_str();
    let bytes = crate::fixtures::jpeg(true);
    let photo = r
        .call(
            M::POST,
            "/v1/check-ins/{id}/photos",
            &[ci],
            Some(p),
            Some(PhotoBody::default().for_bytes("image/jpeg", &bytes)),
        )
        .await
        .str("id");
    r.upload("/v1/photos/{id}/content", &photo, p, b"GIF89a, not a photo".to_vec()).await; // 415
    r.upload("/v1/photos/{id}/content", &photo, p, bytes).await;
    r.call(M::GET, "/v1/photos/{id}/content", &[&photo], Some(c), None).await;
    r.call(M::GET, "/v1/treatments/{id}/photo-comparison?body_site=chin", &[t], Some(c), None).await;
    let reminders = r.call(M::GET, "/v1/treatments/{id}/reminders", &[t], Some(p), None).await;
    r.call(M::GET, "/v1/treatments/{id}/notifications", &[t], Some(p), None).await;
    let reminder = reminders.body["items"][0]["id"].as_str().unwrap().to_string();
    r.call(M::POST, "/v1/reminders/{id}/ack", &[&reminder], Some(p), None).await;
    let key = [("Idempotency-Key", "contract-calendar-1")];
    let subscribed = r.call_with(M::POST, "/v1/treatments/{id}/calendar-subscription", &[t], Some(p), None, &key).await;
    let replayed = r.call_with(M::POST, "/v1/treatments/{id}/calendar-subscription", &[t], Some(p), None, &key).await;
    assert_eq!(replayed.header("idempotency-replayed"), "true");
    r.call(M::GET, "/v1/treatments/{id}/calendar-subscription", &[t], Some(c), None).await;
    let secret = replayed.str("feed_url").rsplit('/').next().unwrap().trim_end_matches(".ics").to_string();
    assert_ne!(subscribed.str("feed_url"), replayed.str("feed_url"));
    let feed = r.call(M::GET, "/v1/calendar-feeds/{secret}.ics", &[&secret], None, None).await;
    let etag = feed.header("etag").to_string();
    r.call_with(M::GET, "/v1/calendar-feeds/{secret}.ics", &[&secret], None, None, &[("If-None-Match", &etag)]).await; // 304
    r.call(M::DELETE, "/v1/treatments/{id}/calendar-subscription", &[t], Some(c), None).await;
    r.call(M::GET, "/v1/calendar-feeds/{secret}.ics", &[&secret], None, None).await; // 404
    for template in ["/v1/me", "/v1/me/today", "/v1/time-zones"] {
        r.call(M::GET, template, &[], Some(p), None).await;
    }
    for template in [
        "/v1/treatments/{id}",
        "/v1/treatments/{id}/timeline",
        "/v1/treatments/{id}/check-in-questions",
        "/v1/treatments/{id}/calendar.ics",
        "/v1/treatments/{id}/adherence",
        "/v1/treatments/{id}/check-ins",
        "/v1/treatments/{id}/photos",
    ] {
        r.call(M::GET, template, &[t], Some(p), None).await;
    }
    r.call(M::GET, "/v1/check-ins/{id}", &[ci], Some(c), None).await;
    r.call(M::GET, "/v1/photos/{id}", &[&photo], Some(c), None).await;
    r.call(M::GET, "/v1/patients/{id}", &[pid], Some(c), None).await;
    r.call(M::GET, "/v1/patients/{id}/treatments", &[pid], Some(c), None).await;
    r.call(M::PATCH, "/v1/patients/{id}", &[pid], Some(c), Some(json!({ "reminder_time": "08:30" }))).await;
    // The skin type is the clinician's: the patient's change is refused (403), staff's is taken,
    // and a re-plan brings it to the treatment (then again the patient's 403).
    r.call(M::PATCH, "/v1/patients/{id}", &[pid], Some(p), Some(json!({ "skin_type": "dry" }))).await;
    r.call(M::PATCH, "/v1/patients/{id}", &[pid], Some(c), Some(json!({ "skin_type": "dry", "fitzpatrick": 4 }))).await;
    r.call(M::POST, "/v1/treatments/{id}/replan", &[t], Some(c), None).await;
    r.call(M::POST, "/v1/treatments/{id}/replan", &[t], Some(p), None).await; // 403
    for template in ["/v1/patients", "/v1/review-queue", "/v1/clinicians"] {
        r.call(M::GET, template, &[], Some(c), None).await;
    }
    r.call(M::POST, "/v1/check-ins/{id}/review", &[ci], Some(c), Some(json!({ "note": "fine" }))).await;
    r.call(M::POST, "/v1/check-ins/{id}/review", &[ci], Some(c), Some(json!({ "note": "again" }))).await; // 409
    r.call(M::DELETE, "/v1/photos/{id}", &[&photo], Some(p), None).await;
    // Offboarding: a discharge (and its 409 for a check-in), a new treatment re-admits; a staff
    // member deactivated and reactivated, and the administrator's own deactivation refused (409).
    let discharge = json!({ "note": "recovered" });
    r.call(M::POST, "/v1/patients/{id}/discharge", &[pid], Some(c), Some(discharge)).await;
    r.call(M::POST, "/v1/treatments/{id}/check-ins", &[t], Some(p), Some(check_in_body(1, false))).await; // 409
    r.call(M::GET, "/v1/patients", &[], Some(c), None).await;
    r.call(M::POST, "/v1/patients/{id}/treatments", &[pid], Some(c), Some(TreatmentBody::default().build())).await;
    let leaver = format!("l-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let staff_id = app.post("/v1/clinicians", &admin.token, clinician_invite(&leaver)).await.str("id");
    r.call(M::POST, "/v1/clinicians/{id}/deactivate", &[&staff_id], Some(&admin.token), None).await;
    r.call(M::GET, "/v1/clinicians", &[], Some(&admin.token), None).await;
    r.call(M::POST, "/v1/clinicians/{id}/reactivate", &[&staff_id], Some(&admin.token), None).await;
    r.call(M::POST, "/v1/clinicians/{id}/deactivate", &[&admin.id], Some(&admin.token), None).await; // 409
    r.call(M::GET, "/v1/audit-events", &[], Some(&admin.token), None).await;
    r.call(M::GET, "/v1/me/export", &[], Some(p), None).await;
    r.call(M::GET, "/v1/me/export", &[], Some(c), None).await; // 403
    let filed = r.call(M::POST, "/v1/me/erasure-requests", &[], Some(p), Some(json!({ "reason": "moving" }))).await;
    r.call(M::POST, "/v1/me/erasure-requests", &[], Some(p), Some(json!({}))).await; // 409
    let erasure = filed.str("id");
    r.call(M::GET, "/v1/erasure-requests/{id}", &[&erasure], Some(p), None).await;
    r.call(M::GET, "/v1/erasure-requests", &[], Some(&admin.token), None).await;
    let decline = json!({ "decision": "decline", "reason": "kept for now" });
    r.call(M::POST, "/v1/erasure-requests/{id}/decision", &[&erasure], Some(&admin.token), Some(decline.clone())).await;
    r.call(M::POST, "/v1/erasure-requests/{id}/decision", &[&erasure], Some(&admin.token), Some(decline)).await; // 409
    r.call(M::GET, "/v1/me", &[], None, None).await; // 401
    r.call(M::GET, "/v1/patients/{id}", &[&uuid::Uuid::new_v4().to_string()], Some(c), None).await; // 404
    r.call(M::PATCH, "/v1/patients/{id}", &[pid], Some(c), Some(json!({ "timezone": "Mars/Olympus" }))).await; // 422
    let login = json!({ "email": email, "password": "a long enough password" });
    let pair = r.call(M::POST, "/v1/auth/login", &[], None, Some(login)).await;
    let refresh = json!({ "refresh_token": pair.str("refresh_token") });
    let pair = r.call(M::POST, "/v1/auth/refresh", &[], None, Some(refresh)).await;
    let refresh = json!({ "refresh_token": pair.str("refresh_token") });
    r.call(M::POST, "/v1/auth/logout", &[], Some(&pair.str("access_token")), Some(refresh)).await;
    for template in ["/health/live", "/health/ready", "/metrics", "/openapi.yaml"] {
        r.call(M::GET, template, &[], None, None).await;
    }
    // E-mail: re-invitations (202, and 409 for an activated account), the outbox, the alert
    // settings, a password reset asked for and a bogus token refused, a password change.
    let late = format!("late-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let late = app.post("/v1/clinicians", &admin.token, clinician_invite(&late)).await.str("id");
    r.call(M::POST, "/v1/clinicians/{id}/invitation", &[&late], Some(&admin.token), None).await;
    let unactivated = format!("u-{}@mail.test", uuid::Uuid::new_v4().simple());
    let unactivated = app.post("/v1/patients", c, new_patient(&unactivated, "Asia/Kolkata")).await.str("id");
    r.call(M::POST, "/v1/patients/{id}/invitation", &[&unactivated], Some(c), None).await;
    r.call(M::POST, "/v1/patients/{id}/invitation", &[pid], Some(c), None).await; // 409
    r.call(M::GET, "/v1/outbox", &[], Some(&admin.token), None).await;
    r.call(M::GET, "/v1/clinic/settings", &[], Some(&admin.token), None).await;
    r.call(M::GET, "/v1/screening-questions", &[], Some(c), None).await;
    // Protocols: the catalogue, a version, a clinic's draft (and a 422), published (then 409).
    r.call(M::GET, "/v1/protocols", &[], Some(p), None).await;
    let standard = r.call(M::GET, "/v1/protocols/{id}/versions/{version}", &["standard", "2"], Some(c), None).await;
    let own = json!({ "document": standard.body["document"] });
    let drafted = r.call(M::POST, "/v1/protocols", &[], Some(&admin.token), Some(own)).await;
    r.call(M::POST, "/v1/protocols", &[], Some(&admin.token), Some(json!({ "document": {} }))).await; // 422
    let (own_id, own_version) = (drafted.str("id"), drafted.body["version"].to_string());
    let publish = "/v1/protocols/{id}/versions/{version}/publish";
    r.call(M::POST, publish, &[&own_id, &own_version], Some(&admin.token), None).await;
    r.call(M::POST, publish, &[&own_id, &own_version], Some(&admin.token), None).await; // 409
    r.call(M::GET, "/v1/protocols", &[], Some(c), None).await;
    let alerts = json!({ "urgent_alerts": { "enabled": true, "recipients": [admin.id] } });
    r.call(M::PUT, "/v1/clinic/settings", &[], Some(&admin.token), Some(alerts)).await;
    r.call(M::POST, "/v1/auth/password-reset", &[], None, Some(json!({ "email": admin.email }))).await; // 202
    let bogus = json!({ "token": "not-a-reset-token", "password": "a long enough password" });
    r.call(M::POST, "/v1/auth/password-reset/confirm", &[], None, Some(bogus)).await; // 401
    let change = json!({ "current_password": "a long enough password", "new_password": "another long password" });
    r.call(M::POST, "/v1/auth/password", &[], Some(c), Some(change)).await;
    let all: BTreeSet<String> = operations(&r.doc).into_iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    let missed: Vec<_> = all.difference(&r.covered).collect();
    assert!(missed.is_empty(), "operations this session never called: {missed:?}");
    assert!(r.found.is_empty(), "answers that differ from the document:\n{}", r.found.join("\n"));
}

#[::core::prelude::v1::test]
fn the_checker_sees_a_wrong_format_a_missing_field_and_an_undeclared_one() {
    let doc = aftercare::routes::openapi();
    let schema = json!({ "$ref": "#/components/schemas/Treatment" });
    let mut found = Vec::new();
    violations(&doc, &schema, &json!({ "id": "not-a-uuid", "surprise": 1 }), "t", &mut found);
    assert!(found.iter().any(|f| f.contains("t.id") && f.contains("uuid")), "{found:?}");
    assert!(found.iter().any(|f| f.contains("t.treated_on: required")), "{found:?}");
    assert!(found.iter().any(|f| f.contains("t.surprise: not in the document")), "{found:?}");
}
