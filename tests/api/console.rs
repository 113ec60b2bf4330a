//! The clinician console over real HTTP: sessions (cookies, CSRF, idle timeout, log out
//! everywhere), the pages' headers, the review queue (order, ETag polling, review in one step),
//! the patient page, audit, and isolation of every console route that names an id.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::{Method, StatusCode, redirect};
use serde_json::json;

use crate::fixtures::{check_in, check_in_body, today_in, treatment};
use crate::support::{PASSWORD, Session, TestApp, served_console_routes, spawn, spawn_with};

/// A browser as the console sees it: its cookies, no redirects followed.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }

    /// The first CSRF token in the page's forms.
    fn csrf(&self) -> String {
        let at = self.text.find(r#"name="csrf" value=""#).expect("a form with a CSRF token");
        let rest = &self.text[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            client: reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap(),
            cookies: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let header = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.header("cookie", header);
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(form) = form {
            let body = form.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
            request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
        }
        let res = request.send().await.unwrap();
        let page = Page { status: res.status(), headers: res.headers().clone(), text: res.text().await.unwrap() };
        for cookie in page.set_cookies() {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !cookie.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), &[]).await
    }

    /// Logs in through the form; returns the answer to the form.
    async fn log_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, 200, "{}", form.text);
        let csrf = form.csrf();
        self.post("/console/login", &[("csrf", &csrf), ("email", email), ("password", password)]).await
    }

    async fn logged_in(app: &TestApp, who: &Session) -> Browser {
        let mut browser = Browser::new(app);
        let answer = browser.log_in(&who.email, PASSWORD).await;
        assert_eq!(answer.status, 303, "{}", answer.text);
        assert_eq!(answer.header("location"), "/console/");
        browser
    }
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_logged_out(page: &Page) {
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(page.header("location"), "/console/login");
}

/// A clinic with a clinician, a patient with a treatment 3 days ago, and three check-ins: ok,
/// watch (redness 7 on day 3 or later is more than expected) and urgent (bleeding).
struct Clinic {
    admin: Session,
    clinician: Session,
    patient: Session,
    treatment: String,
    check_ins: Vec<String>,
}

async fn clinic(app: &TestApp, name: &str) -> Clinic {
    let admin = app.clinic(name).await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&clinician, "Europe/Madrid").await;
    let t = treatment(app, &clinician, &patient.id, today_in("Europe/Madrid") - Duration::days(3)).await;
    let t = t["id"].as_str().unwrap().to_string();
    let mut check_ins = Vec::new();
    for (redness, bleeding) in [(1, false), (8, false), (1, true)] {
        let c = check_in(app, &patient, &t, check_in_body(redness, bleeding)).await;
        assert_eq!(c.status, 201, "{}", c.text);
        check_ins.push(c.body["id"].as_str().unwrap().to_string());
    }
    Clinic { admin, clinician, patient, treatment: t, check_ins }
}

#[actix_web::test]
async fn a_session_is_an_httponly_strict_cookie_and_a_patient_cannot_log_in() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;

    let mut browser = Browser::new(&app);
    assert_logged_out(&browser.get("/console/").await);
    let answer = browser.log_in(&c.clinician.email, PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    let session = answer.set_cookies().into_iter().find(|c| c.starts_with("aftercare_console=")).unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/console"), "{session}");
    // Plain HTTP to 127.0.0.1: not Secure, or the browser would never send it back.
    assert!(!session.contains("Secure"), "{session}");
    let queue = browser.get("/console/").await;
    assert_eq!(queue.status, 200);
    // The session's token is nowhere in the page (no token for scripts to read).
    let token = &browser.cookies.iter().find(|(k, _)| k == "aftercare_console").unwrap().1;
    assert!(!queue.text.contains(token.as_str()));

    // Wrong password: the form again, 401, no session.
    let mut stranger = Browser::new(&app);
    let wrong = stranger.log_in(&c.clinician.email, "not the password at all").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("Wrong e-mail or password"));
    assert!(!stranger.cookies.iter().any(|(k, _)| k == "aftercare_console"));

    // A patient's account does not open the console.
    let mut patient = Browser::new(&app);
    let refused = patient.log_in(&c.patient.email, PASSWORD).await;
    assert_eq!(refused.status, 403);
    assert!(!patient.cookies.iter().any(|(k, _)| k == "aftercare_console"));
    assert_logged_out(&patient.get("/console/").await);
}

#[actix_web::test]
async fn cookies_are_secure_outside_localhost_or_when_configured() {
    let app = spawn_with(|s| s.console_secure_cookies = Some(true)).await;
    let admin = app.clinic("North").await;
    let mut browser = Browser::new(&app);
    let answer = browser.log_in(&admin.email, PASSWORD).await;
    let session = answer.set_cookies().into_iter().find(|c| c.starts_with("aftercare_console=")).unwrap();
    assert!(session.contains("Secure"), "{session}");

    // By default a request to another host name gets a Secure cookie.
    let app = spawn().await;
    let mut browser = Browser::new(&app);
    let form = browser.send(Method::GET, "/console/login", None, &[("host", "care.example.com")]).await;
    assert!(form.set_cookies().iter().all(|c| c.contains("Secure")), "{:?}", form.set_cookies());
}

#[actix_web::test]
async fn every_page_has_a_strict_csp_and_no_inline_script_or_style() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut browser = Browser::logged_in(&app, &c.admin).await;
    for path in [
        "/console/login".to_string(),
        "/console/".to_string(),
        "/console/queue/items".to_string(),
        "/console/patients".to_string(),
        format!("/console/patients/{}", c.patient.id),
        "/console/staff".to_string(),
        "/console/audit".to_string(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        let csp = page.header("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(page.header("cache-control"), "no-store", "{path}");
        assert!(page.header("content-type").starts_with("text/html"), "{path}");
        assert!(!page.text.contains("<script>") && !page.text.contains("<style"), "{path}: inline script or style");
        assert!(!page.text.contains(" style=") && !page.text.contains(" onclick="), "{path}: inline attribute");
        for form in page.text.split("<form").skip(1) {
            let form = &form[..form.find("</form>").unwrap()];
            if form.contains(r#"method="post""#) {
                assert!(form.contains(r#"name="csrf""#), "{path}: a form without a CSRF token");
            }
        }
    }
    let script = browser.get("/console/static/console.js").await;
    assert_eq!(script.status, 200);
    assert!(script.header("content-type").starts_with("text/javascript"));
}

#[actix_web::test]
async fn a_form_without_the_sessions_csrf_token_changes_nothing() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut browser = Browser::logged_in(&app, &c.clinician).await;
    let mut other = Browser::logged_in(&app, &c.clinician).await;
    let others_token = other.get("/console/").await.csrf();
    let target = format!("/console/check-ins/{}/review", c.check_ins[0]);
    for csrf in ["", "forged", others_token.as_str()] {
        let refused = browser.post(&target, &[("csrf", csrf), ("note", "forged")]).await;
        assert_eq!(refused.status, 403, "{csrf}: {}", refused.text);
        assert!(refused.header("content-type").starts_with("text/html"));
    }
    let refused = browser.post(&target, &[("note", "no token at all")]).await;
    assert_eq!(refused.status, 403);
    let unreviewed = app.get(&format!("/v1/check-ins/{}", c.check_ins[0]), &c.clinician.token).await;
    assert!(unreviewed.body["reviewed_at"].is_null(), "{}", unreviewed.text);
    // Logging out needs it too.
    assert_eq!(browser.post("/console/logout", &[("csrf", "forged")]).await.status, 403);
    assert_eq!(browser.get("/console/").await.status, 200);
    // And the login form needs its own (bound to the cookie set with the form).
    let mut fresh = Browser::new(&app);
    let answer =
        fresh.post("/console/login", &[("csrf", "x"), ("email", &c.clinician.email), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, 403);
}

#[actix_web::test]
async fn the_queue_puts_urgent_first_polls_with_etags_and_reviews_in_one_step() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut browser = Browser::logged_in(&app, &c.clinician).await;
    let queue = browser.get("/console/").await;
    let [ok, watch, urgent] = [0, 1, 2].map(|i| queue.text.find(&format!("id=\"c-{}\"", c.check_ins[i])).unwrap());
    assert!(urgent < watch && watch < ok, "urgent, then watch, then ok");
    assert!(queue.text.contains("1 urgent") && queue.text.contains("1 watch") && queue.text.contains("1 ok"));
    // The day of recovery and what the protocol expects that day, beside each check-in.
    assert!(queue.text.contains("day 4"), "{}", queue.text);
    assert!(queue.text.contains("Expected on day 4"));

    let items = browser.send(Method::GET, "/console/queue/items", None, &[("x-console-background", "1")]).await;
    assert_eq!(items.status, 200);
    let etag = items.header("etag").to_string();
    assert!(etag.starts_with('"'));
    let same = browser.send(Method::GET, "/console/queue/items", None, &[("if-none-match", &etag)]).await;
    assert_eq!(same.status, 304);
    // A new check-in changes the items, and so their ETag.
    check_in(&app, &c.patient, &c.treatment, check_in_body(2, false)).await;
    let changed = browser.send(Method::GET, "/console/queue/items", None, &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);

    // Review with a note in one form.
    let csrf = queue.csrf();
    let done = browser
        .post(
            &format!("/console/check-ins/{}/review", c.check_ins[2]),
            &[("csrf", &csrf), ("note", "Called her: fine")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.header("location"), "/console/");
    let reviewed = app.get(&format!("/v1/check-ins/{}", c.check_ins[2]), &c.clinician.token).await;
    assert_eq!(reviewed.body["review_note"], "Called her: fine");
    assert_eq!(reviewed.body["reviewed_by"], json!(c.clinician.id));
    let queue = browser.get("/console/").await;
    assert!(!queue.text.contains(&c.check_ins[2]));
    // Reviewing again: 409, as a page.
    let again = browser.post(&format!("/console/check-ins/{}/review", c.check_ins[2]), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, 409);
    assert!(again.header("content-type").starts_with("text/html"));
}

#[actix_web::test]
async fn the_patient_page_charts_each_score_against_the_expected_band() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut browser = Browser::logged_in(&app, &c.clinician).await;
    let page = browser.get(&format!("/console/patients/{}", c.patient.id)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    for sign in ["redness", "swelling", "pain", "itching", "peeling"] {
        assert!(page.text.contains(&format!(r#"aria-labelledby="chart-{sign}-title chart-{sign}-desc""#)), "{sign}");
    }
    assert!(page.text.contains(r#"class="band""#), "the expected band");
    assert!(page.text.contains("limit limit-watch"), "the watch line");
    // Levels by shape and words: the watch check-in (redness 8) is a diamond with its title.
    assert!(page.text.contains("pt pt-watch"));
    assert!(page.text.contains("redness 8 (watch)"));
    assert!(page.text.contains("Adherence by reminder kind"));
    assert!(page.text.contains("later step"), "photos are marked as a later step");
}

#[actix_web::test]
async fn idle_sessions_end_and_log_out_everywhere_ends_every_login() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut idle = Browser::logged_in(&app, &c.clinician).await;
    {
        use aftercare::db::schema::console_sessions;
        let mut conn = app.db.pool().get().unwrap();
        let long_ago = aftercare::clock::now() - Duration::minutes(31);
        diesel::update(console_sessions::table)
            .set(console_sessions::last_seen_at.eq(long_ago))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_logged_out(&idle.get("/console/").await);

    // Polling does not keep a session alive; a page does.
    let mut busy = Browser::logged_in(&app, &c.clinician).await;
    let mut second = Browser::logged_in(&app, &c.clinician).await;
    let csrf = second.get("/console/").await.csrf();
    let out = second.post("/console/logout-everywhere", &[("csrf", &csrf)]).await;
    assert_logged_out(&out);
    assert_logged_out(&busy.get("/console/").await);
    assert_logged_out(&second.get("/console/").await);
    // The API's tokens too: the refresh token is revoked, the access token refused.
    let refreshed = app.post_anonymous("/v1/auth/refresh", json!({ "refresh_token": c.clinician.refresh_token })).await;
    assert_eq!(refreshed.status, 401);
    assert_eq!(app.get("/v1/me", &c.clinician.token).await.status, 401);

    // Plain log out ends only that session.
    let mut one = Browser::logged_in(&app, &c.admin).await;
    let mut two = Browser::logged_in(&app, &c.admin).await;
    let csrf = one.get("/console/").await.csrf();
    assert_logged_out(&one.post("/console/logout", &[("csrf", &csrf)]).await);
    assert_logged_out(&one.get("/console/").await);
    assert_eq!(two.get("/console/").await.status, 200);
}

#[actix_web::test]
async fn a_deactivated_member_of_staff_is_logged_out_and_clinicians_see_no_admin_pages() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut clinician = Browser::logged_in(&app, &c.clinician).await;
    assert_eq!(clinician.get("/console/staff").await.status, 403);
    assert_eq!(clinician.get("/console/audit").await.status, 403);
    let mut admin = Browser::logged_in(&app, &c.admin).await;
    let staff = admin.get("/console/staff").await;
    assert!(staff.text.contains(&c.clinician.email));
    let csrf = staff.csrf();
    let done = admin.post(&format!("/console/staff/{}/deactivate", c.clinician.id), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_logged_out(&clinician.get("/console/").await);
}

#[actix_web::test]
async fn adding_a_patient_sends_an_invitation_and_discharge_works() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut browser = Browser::logged_in(&app, &c.clinician).await;
    let csrf = browser.get("/console/patients").await.csrf();
    let email = format!("new-{}@mail.test", uuid::Uuid::new_v4().simple());
    let added = browser
        .post(
            "/console/patients",
            &[
                ("csrf", &csrf),
                ("name", "Nora Newpatient"),
                ("email", &email),
                ("timezone", "Europe/Madrid"),
                ("skin_type", "normal"),
                ("fitzpatrick", "2"),
                ("reminder_time", "08:30"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.text);
    let location = added.header("location").to_string();
    let page = browser.get(&location).await;
    assert!(page.text.contains("Nora Newpatient"));
    let outbox = app.get("/v1/outbox", &c.admin.token).await;
    assert!(outbox.text.contains(&email), "an invitation for {email}: {}", outbox.text);

    let invalid = browser.post("/console/patients", &[("csrf", &csrf), ("name", ""), ("email", "nope")]).await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.text.contains("email"));

    let discharged = browser.post(&format!("{location}/discharge"), &[("csrf", &csrf), ("note", "done")]).await;
    assert_eq!(discharged.status, 303);
    assert!(browser.get(&location).await.text.contains("discharged"));
}

#[actix_web::test]
async fn console_requests_are_audited_with_their_patient() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut browser = Browser::logged_in(&app, &c.clinician).await;
    browser.get(&format!("/console/patients/{}", c.patient.id)).await;
    app.services.state.audit.flush();
    let events = app.get(&format!("/v1/audit-events?patient_id={}", c.patient.id), &c.admin.token).await;
    let items = events.body["items"].as_array().unwrap();
    let seen = items.iter().find(|e| e["action"] == "GET /console/patients/{id}").expect("the page view is audited");
    assert_eq!(seen["user_id"], json!(c.clinician.id));
    assert_eq!(seen["outcome"], "success");
    let all = app.get("/v1/audit-events?limit=100", &c.admin.token).await;
    assert!(all.text.contains("POST /console/login"), "the login is audited");
}

/// Every console route that names an id, called by a clinician and an admin of another clinic:
/// 404 (a page), nothing leaked, nothing changed. Lists show nothing of the other clinic.
#[actix_web::test]
async fn another_clinic_reaches_nothing_through_the_console() {
    let app = spawn().await;
    let home = clinic(&app, "Home").await;
    let away = clinic(&app, "Away").await;
    let intruders = [
        ("a clinician of another clinic", Browser::logged_in(&app, &away.clinician).await),
        ("an admin of another clinic", Browser::logged_in(&app, &away.admin).await),
    ];
    let secrets =
        [home.patient.id.clone(), home.patient.email.clone(), home.check_ins[0].clone(), home.treatment.clone()];
    let routes = served_console_routes(&app).await;
    // The id each route names, and a form that is valid but for the id (so validation cannot hide
    // a missing scope).
    let screening: Vec<(String, String)> =
        screening_keys(&app, &home.clinician).await.into_iter().map(|k| (format!("q_{k}"), "no".into())).collect();
    let fixture = |method: &str, path: &str| -> Option<(String, Vec<(String, String)>)> {
        let form = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Some(match (method, path) {
            ("GET", "/console/patients/{id}") => (home.patient.id.clone(), vec![]),
            ("POST", "/console/patients/{id}") => (home.patient.id.clone(), form(&[("name", "Intruder was here")])),
            ("POST", "/console/patients/{id}/discharge") => (home.patient.id.clone(), form(&[("note", "intruder")])),
            ("POST", "/console/patients/{id}/screenings") => (home.patient.id.clone(), screening.clone()),
            ("POST", "/console/patients/{id}/treatments") => (home.patient.id.clone(), treatment_form()),
            ("POST", "/console/check-ins/{id}/review") => (home.check_ins[1].clone(), form(&[("note", "intruder")])),
            ("POST", "/console/staff/{id}/deactivate") => (home.clinician.id.clone(), vec![]),
            _ => return None,
        })
    };
    let mut calls = 0;
    for (who, mut intruder) in intruders {
        let csrf = intruder.get("/console/").await.csrf();
        for (method, path) in &routes {
            if method == "GET" && !path.contains('{') && !path.contains("static") {
                let page = intruder.get(path).await;
                for secret in &secrets {
                    assert!(!page.text.contains(secret.as_str()), "{who}: {path} leaked {secret}");
                }
            }
            if !path.contains("{id}") {
                continue;
            }
            let (id, form) = fixture(method, path)
                .unwrap_or_else(|| panic!("no fixture for {method} {path}: add one, and scope it"));
            let url = path.replace("{id}", &id);
            let page = match method.as_str() {
                "GET" => intruder.get(&url).await,
                _ => {
                    let mut fields: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
                    fields.extend(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    intruder.post(&url, &fields).await
                }
            };
            let status = page.status.as_u16();
            // 403: a clinician may not deactivate staff at all.
            assert!(status == 404 || status == 403, "{who}: {method} {path} answered {status}");
            for secret in &secrets {
                assert!(!page.text.contains(secret.as_str()), "{who}: {method} {path} leaked {secret}");
            }
            calls += 1;
        }
    }
    assert!(calls >= 14, "{calls}");
    let check_in = app.get(&format!("/v1/check-ins/{}", home.check_ins[1]), &home.clinician.token).await;
    assert!(check_in.body["reviewed_at"].is_null());
    let patient = app.get(&format!("/v1/patients/{}", home.patient.id), &home.clinician.token).await;
    assert!(patient.body["discharged_at"].is_null());
    assert_ne!(patient.body["name"], "Intruder was here");
    let treatments = app.get(&format!("/v1/patients/{}/treatments", home.patient.id), &home.clinician.token).await;
    assert_eq!(treatments.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/v1/me", &home.clinician.token).await.status, 200);
}

async fn screening_keys(app: &TestApp, staff: &Session) -> Vec<String> {
    let questions = app.get("/v1/screening-questions", &staff.token).await;
    questions.body["questions"].as_array().unwrap().iter().map(|q| q["key"].as_str().unwrap().to_string()).collect()
}

fn treatment_form() -> Vec<(String, String)> {
    [
        ("procedure", "microneedling"),
        ("treated_on", &today_in("Europe/Madrid").to_string()),
        ("setting", "in_office"),
        ("areas", "face"),
        ("areas", "neck"),
        ("needle_depth_mm", "0.5"),
        ("treatment_time", "15:00"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[actix_web::test]
async fn staff_edit_a_patient_record_a_screening_then_a_treatment() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&clinician, "Europe/Madrid").await;
    let mut browser = Browser::logged_in(&app, &clinician).await;
    let path = format!("/console/patients/{}", patient.id);
    let page = browser.get(&path).await;
    let csrf = page.csrf();
    let keys = screening_keys(&app, &clinician).await;
    for key in &keys {
        assert!(page.text.contains(&format!(r#"name="q_{key}""#)), "the form asks {key}");
    }

    let edited = browser
        .post(&path, &[("csrf", &csrf), ("name", "Renamed Patient"), ("fitzpatrick", "5"), ("reminder_time", "07:45")])
        .await;
    assert_eq!(edited.status, 303, "{}", edited.text);
    let record = app.get(&format!("/v1/patients/{}", patient.id), &clinician.token).await;
    assert_eq!(record.body["name"], "Renamed Patient");
    assert_eq!(record.body["fitzpatrick"], 5);

    // Without an eligible screening the gate refuses the treatment (the API's 409/422, as a page).
    let form = treatment_form();
    let mut fields: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    fields.extend(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let gated = browser.post(&format!("{path}/treatments"), &fields).await;
    assert!(gated.status.is_client_error(), "{}", gated.status);
    assert!(gated.header("content-type").starts_with("text/html"));

    // An incomplete screening is a 422 naming what is missing; a complete one is recorded.
    let incomplete = browser.post(&format!("{path}/screenings"), &[("csrf", &csrf)]).await;
    assert_eq!(incomplete.status, 422, "{}", incomplete.text);
    let answers: Vec<(String, String)> = keys.iter().map(|k| (format!("q_{k}"), "no".to_string())).collect();
    let mut fields: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    fields.extend(answers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let screened = browser.post(&format!("{path}/screenings"), &fields).await;
    assert_eq!(screened.status, 303, "{}", screened.text);
    assert!(screened.header("location").ends_with("screened=eligible"));
    assert!(browser.get(screened.header("location")).await.text.contains("Screening recorded: eligible"));

    let mut fields: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    fields.extend(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let recorded = browser.post(&format!("{path}/treatments"), &fields).await;
    assert_eq!(recorded.status, 303, "{}", recorded.text);
    let treatments = app.get(&format!("/v1/patients/{}/treatments", patient.id), &clinician.token).await;
    let items = treatments.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["areas"], json!(["face", "neck"]));
    let page = browser.get(recorded.header("location")).await;
    assert!(page.text.contains("microneedling on"), "the new treatment's page");
}
