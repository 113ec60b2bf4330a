//! The clinician console over real HTTP: sessions (cookies, CSRF, idle timeout, log out
//! everywhere), the pages' headers, the review queue (order, ETag polling, review in one step),
//! the patient page, audit, and isolation of every console route that names an id.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::{Method, StatusCode, redirect};
use serde_json::json;

use crate::fixtures::{PhotoBody, check_in, check_in_body, today_in, treatment, verified_photo};
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
/// watch (redness 7 on day 3 or later is more than expected) and urgent (bleeding); the ok one has
/// a verified photo of the left cheek from the front.
struct Clinic {
    admin: Session,
    clinician: Session,
    patient: Session,
    treatment: String,
    check_ins: Vec<String>,
    photo: String,
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
    let photos = format!("/v1/check-ins/{}/photos", check_ins[0]);
    let photo = verified_photo(app, &patient, &photos, PhotoBody::default().of("left_cheek", "front")).await;
    let photo = photo["id"].as_str().unwrap().to_string();
    Clinic { admin, clinician, patient, treatment: t, check_ins, photo }
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
        "/console/settings".to_string(),
        "/console/audit".to_string(),
        "/console/audit?kind=patient&from=2020-01-01".to_string(),
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
}

#[actix_web::test]
async fn the_patient_page_lines_up_photos_by_site_and_day_served_through_the_console() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    // A second photo of the same site, taken two days earlier (day 2 of recovery).
    let photos = format!("/v1/check-ins/{}/photos", c.check_ins[1]);
    let earlier = (chrono::Utc::now() - Duration::days(2)).to_rfc3339();
    let body = PhotoBody::default().captured_at(&earlier).of("left_cheek", "front");
    let day_two = verified_photo(&app, &c.patient, &photos, body).await["id"].as_str().unwrap().to_string();
    let chin = PhotoBody::default().of("chin", "left_45");
    let chin = verified_photo(&app, &c.patient, &photos, chin).await["id"].as_str().unwrap().to_string();

    let mut browser = Browser::logged_in(&app, &c.clinician).await;
    let page = browser.get(&format!("/console/patients/{}", c.patient.id)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let cheek = page.text.find(r#"id="photos-left_cheek""#).expect("a row for the left cheek");
    let chin_row = page.text.find(r#"id="photos-chin""#).expect("a row for the chin");
    let [two, four] = [&day_two, &c.photo].map(|id| page.text.find(&format!(r#"src="/console/photos/{id}""#)).unwrap());
    assert!(cheek < two && two < four && four < chin_row, "day 2 then day 4, in the cheek's row");
    assert!(page.text.contains(r#"alt="Day 2, left cheek, front""#), "{}", page.text);
    assert!(page.text.contains(r#"alt="Day 4, left cheek, front""#));
    assert!(page.text.contains(&format!(r#"src="/console/photos/{chin}" alt="Day 4, chin, left 45°""#)));
    assert!(page.text.contains("Day 2 <span"), "the day's label");
    // Scaled to 240 wide, in the proportions of the photo's record.
    let record = app.get(&format!("/v1/photos/{}", c.photo), &c.clinician.token).await.body;
    let height = 240 * record["height"].as_i64().unwrap() / record["width"].as_i64().unwrap();
    assert!(page.text.contains(&format!(r#"width="240" height="{height}""#)), "scaled, with the photo's proportions");

    // The bytes: the API's thumbnail, never cached, and the download is audited.
    assert_eq!(record["renditions"], "ready");
    let (_, _, api) = app.download(&format!("/v1/photos/{}/content?size=thumbnail", c.photo), &c.clinician.token).await;
    let shown = browser.client.get(format!("{}/console/photos/{}", app.base, c.photo));
    let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let shown = shown.header("cookie", cookie).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "image/jpeg");
    assert_eq!(shown.headers()["cache-control"], "private, no-store");
    assert!(shown.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    assert_eq!(shown.bytes().await.unwrap().to_vec(), api);
    app.services.state.audit.flush();
    let events = app.get(&format!("/v1/audit-events?patient_id={}", c.patient.id), &c.admin.token).await;
    let items = events.body["items"].as_array().unwrap();
    let seen = items.iter().find(|e| e["action"] == "GET /console/photos/{id}").expect("the photo view is audited");
    assert_eq!(seen["user_id"], json!(c.clinician.id));
    assert_eq!(seen["resource_type"], "photo");
    assert_eq!(seen["resource_id"], json!(c.photo));

    // Logged out: to the login page, no bytes. A pending photo, or none, is a 404 page.
    assert_logged_out(&Browser::new(&app).get(&format!("/console/photos/{}", c.photo)).await);
    let pending = app.post(&photos, &c.patient.token, PhotoBody::default().build()).await;
    let pending = browser.get(&format!("/console/photos/{}", pending.str("id"))).await;
    assert_eq!(pending.status, 404);
    assert_eq!(browser.get("/console/photos/not-an-id").await.status, 404);
}

#[actix_web::test]
async fn a_patient_without_photos_says_so() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/Madrid").await;
    treatment(&app, &admin, &patient.id, today_in("Europe/Madrid")).await;
    let mut browser = Browser::logged_in(&app, &admin).await;
    let page = browser.get(&format!("/console/patients/{}", patient.id)).await;
    assert!(page.text.contains("No photos of this treatment yet."), "{}", page.text);
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
    let secrets = [
        home.patient.id.clone(),
        home.patient.email.clone(),
        home.check_ins[0].clone(),
        home.treatment.clone(),
        home.photo.clone(),
    ];
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
            ("POST", "/console/patients/{id}/invitation") => (home.patient.id.clone(), vec![]),
            ("GET", "/console/photos/{id}") => (home.photo.clone(), vec![]),
            ("POST", "/console/staff/{id}/deactivate") => (home.clinician.id.clone(), vec![]),
            ("POST", "/console/staff/{id}/reactivate") => (home.clinician.id.clone(), vec![]),
            ("POST", "/console/staff/{id}/invitation") => (home.clinician.id.clone(), vec![]),
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
            // 403: a clinician may not change staff at all.
            assert!(status == 404 || status == 403, "{who}: {method} {path} answered {status}");
            for secret in &secrets {
                assert!(!page.text.contains(secret.as_str()), "{who}: {method} {path} leaked {secret}");
            }
            calls += 1;
        }
    }
    assert!(calls >= 22, "{calls}");
    let check_in = app.get(&format!("/v1/check-ins/{}", home.check_ins[1]), &home.clinician.token).await;
    assert!(check_in.body["reviewed_at"].is_null());
    let patient = app.get(&format!("/v1/patients/{}", home.patient.id), &home.clinician.token).await;
    assert!(patient.body["discharged_at"].is_null());
    assert_ne!(patient.body["name"], "Intruder was here");
    let treatments = app.get(&format!("/v1/patients/{}/treatments", home.patient.id), &home.clinician.token).await;
    assert_eq!(treatments.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/v1/me", &home.clinician.token).await.status, 200);
    // The photo's bytes stayed home (a GET of its image was a 404 page, not the image).
    let (status, _, _) = app.download(&format!("/v1/photos/{}/content", home.photo), &home.clinician.token).await;
    assert_eq!(status, 200);
    // And the other clinic's settings are its own: saving them names none of home's staff.
    let mut away_admin = Browser::logged_in(&app, &away.admin).await;
    let csrf = away_admin.get("/console/settings").await.csrf();
    let foreign = away_admin
        .post(
            "/console/settings",
            &[
                ("csrf", &csrf),
                ("alerts", "on"),
                ("recipients", &home.clinician.id),
                ("default_time", "10:00"),
                ("valid_days", "30"),
            ],
        )
        .await;
    assert_eq!(foreign.status, 422, "{}", foreign.text);
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

/// The audit events of `action` so far.
async fn events_of(app: &TestApp, admin: &Session, action: &str) -> Vec<serde_json::Value> {
    app.services.state.audit.flush();
    let all = app.get("/v1/audit-events?limit=100", &admin.token).await;
    all.body["items"].as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect()
}

#[actix_web::test]
async fn an_unchanged_poll_of_the_queue_writes_no_audit_event() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut browser = Browser::logged_in(&app, &c.clinician).await;
    let background = ("x-console-background", "1");
    let first = browser.send(Method::GET, "/console/queue/items", None, &[background]).await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").to_string();
    for _ in 0..3 {
        let same =
            browser.send(Method::GET, "/console/queue/items", None, &[background, ("if-none-match", &etag)]).await;
        assert_eq!(same.status, 304);
    }
    let polls = events_of(&app, &c.admin, "GET /console/queue/items").await;
    assert_eq!(polls.len(), 1, "the read that disclosed the items, not the revalidations: {polls:?}");
    // A change is disclosed again, and so audited again.
    check_in(&app, &c.patient, &c.treatment, check_in_body(2, false)).await;
    let changed =
        browser.send(Method::GET, "/console/queue/items", None, &[background, ("if-none-match", &etag)]).await;
    assert_eq!(changed.status, 200);
    assert_eq!(events_of(&app, &c.admin, "GET /console/queue/items").await.len(), 2);
}

#[actix_web::test]
async fn admins_reactivate_and_reinvite_staff_and_staff_reinvite_a_patient() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut admin = Browser::logged_in(&app, &c.admin).await;
    let csrf = admin.get("/console/staff").await.csrf();

    // Invited from the console, never activated: a new invitation replaces the first.
    let email = format!("late-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let invited = admin
        .post("/console/staff", &[("csrf", &csrf), ("name", "Lena Late"), ("email", &email), ("role", "clinician")])
        .await;
    assert_eq!(invited.status, 303, "{}", invited.text);
    let staff = admin.get(invited.header("location")).await;
    assert!(staff.text.contains("Invitation sent."));
    assert!(staff.text.contains("Send Lena Late a new invitation"), "{}", staff.text);
    let members = app.get("/v1/clinicians", &c.admin.token).await;
    let late = members.body["items"].as_array().unwrap().iter().find(|m| m["email"] == json!(email)).unwrap().clone();
    let late = late["id"].as_str().unwrap().to_string();
    let letters = |text: &str| text.matches(email.as_str()).count();
    let before = letters(&app.get("/v1/outbox?limit=100", &c.admin.token).await.text);
    let again = admin.post(&format!("/console/staff/{late}/invitation"), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, 303, "{}", again.text);
    assert_eq!(again.header("location"), "/console/staff?done=reinvited");
    assert!(letters(&app.get("/v1/outbox?limit=100", &c.admin.token).await.text) > before, "a second letter");
    // An activated clinician needs no invitation: 409, as a page.
    let refused = admin.post(&format!("/console/staff/{}/invitation", c.clinician.id), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 409);
    assert!(refused.header("content-type").starts_with("text/html"));

    // Deactivate, then reactivate: the clinician logs in again.
    let done = admin.post(&format!("/console/staff/{}/deactivate", c.clinician.id), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303);
    let staff = admin.get("/console/staff").await;
    let reactivate = format!(r#"action="/console/staff/{}/reactivate""#, c.clinician.id);
    assert!(staff.text.contains(&reactivate), "{}", staff.text);
    let back = admin.post(&format!("/console/staff/{}/reactivate", c.clinician.id), &[("csrf", &csrf)]).await;
    assert_eq!(back.status, 303, "{}", back.text);
    assert!(admin.get("/console/staff?done=reactivated").await.text.contains("Reactivated"));
    Browser::logged_in(&app, &c.clinician).await;
    // Without the token nothing changes.
    let forged = admin.post(&format!("/console/staff/{}/deactivate", c.clinician.id), &[("csrf", "x")]).await;
    assert_eq!(forged.status, 403);

    // A clinician may not.
    let mut clinician = Browser::logged_in(&app, &c.clinician).await;
    let their = clinician.get("/console/").await.csrf();
    let denied = clinician.post(&format!("/console/staff/{late}/invitation"), &[("csrf", &their)]).await;
    assert_eq!(denied.status, 403);

    // A patient who lost the invitation: a new one from the patient page (staff, not only admins).
    let email = format!("lost-{}@mail.test", uuid::Uuid::new_v4().simple());
    let added = clinician
        .post(
            "/console/patients",
            &[
                ("csrf", &their),
                ("name", "Lou Lost"),
                ("email", &email),
                ("timezone", "Europe/Madrid"),
                ("skin_type", "normal"),
                ("fitzpatrick", "3"),
            ],
        )
        .await;
    let location = added.header("location").to_string();
    assert!(clinician.get(&location).await.text.contains("Send a new invitation to"), "offered while not accepted");
    let before = letters_to(&app, &c.admin, &email).await;
    let sent = clinician.post(&format!("{location}/invitation"), &[("csrf", &their)]).await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    assert!(clinician.get(sent.header("location")).await.text.contains("A new invitation is on its way"));
    assert_eq!(letters_to(&app, &c.admin, &email).await, before + 1);
    // An activated patient resets a password instead: no form, and the request is a 409.
    let page = clinician.get(&format!("/console/patients/{}", c.patient.id)).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("Send a new invitation"), "not offered once the patient set a password");
    let refused = clinician.post(&format!("/console/patients/{}/invitation", c.patient.id), &[("csrf", &their)]).await;
    assert_eq!(refused.status, 409);

    let reinvites = events_of(&app, &c.admin, "POST /console/staff/{id}/invitation").await;
    assert!(reinvites.iter().any(|e| e["resource_id"] == json!(late) && e["status"] == 303), "{reinvites:?}");
    let patients = events_of(&app, &c.admin, "POST /console/patients/{id}/invitation").await;
    assert!(patients.iter().any(|e| e["patient_id"].is_string() && e["status"] == 303), "{patients:?}");
}

async fn letters_to(app: &TestApp, admin: &Session, email: &str) -> usize {
    app.get("/v1/outbox?limit=100", &admin.token).await.text.matches(email).count()
}

#[actix_web::test]
async fn admins_change_the_clinics_settings_as_the_api_does() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut admin = Browser::logged_in(&app, &c.admin).await;
    let page = admin.get("/console/settings").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(r#"name="alerts" value="on" checked"#), "alerts are on by default");
    assert!(page.text.contains(&c.clinician.email), "the clinician may be chosen");
    let csrf = page.csrf();
    let saved = admin
        .post(
            "/console/settings",
            &[("csrf", &csrf), ("recipients", &c.clinician.id), ("default_time", "09:15"), ("valid_days", "14")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let api = app.get("/v1/clinic/settings", &c.admin.token).await;
    assert_eq!(api.body["urgent_alerts"], json!({ "enabled": false, "recipients": [c.clinician.id] }));
    assert_eq!(api.body["treatments"]["default_time"], "09:15");
    assert_eq!(api.body["screening"]["valid_days"], 14);
    let page = admin.get(saved.header("location")).await;
    assert!(page.text.contains("Settings saved."));
    assert!(page.text.contains(&format!(r#"value="{}" checked"#, c.clinician.id)));

    // The API's validation, as a page; nothing saved.
    let bad = admin
        .post("/console/settings", &[("csrf", &csrf), ("alerts", "on"), ("default_time", "25:00"), ("valid_days", "0")])
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("treatments.default_time") && bad.text.contains("screening.valid_days"), "{}", bad.text);
    assert_eq!(app.get("/v1/clinic/settings", &c.admin.token).await.body["screening"]["valid_days"], 14);
    assert_eq!(admin.post("/console/settings", &[("csrf", "forged"), ("alerts", "on")]).await.status, 403);

    let mut clinician = Browser::logged_in(&app, &c.clinician).await;
    assert_eq!(clinician.get("/console/settings").await.status, 403);
    let their = clinician.get("/console/").await.csrf();
    let denied =
        clinician.post("/console/settings", &[("csrf", &their), ("alerts", "on"), ("default_time", "10:00")]).await;
    assert_eq!(denied.status, 403);
    assert_eq!(events_of(&app, &c.admin, "POST /console/settings").await.len(), 4, "every attempt is audited");
}

#[actix_web::test]
async fn the_audit_page_filters_by_actor_kind_action_and_dates_and_pages() {
    let app = spawn().await;
    let c = clinic(&app, "North").await;
    let mut clinician = Browser::logged_in(&app, &c.clinician).await;
    for _ in 0..3 {
        clinician.get(&format!("/console/patients/{}", c.patient.id)).await;
    }
    app.services.state.audit.flush();
    let mut admin = Browser::logged_in(&app, &c.admin).await;
    let page =
        admin.get(&format!("/console/audit?actor={}&action=GET+/console/patients/%7Bid%7D", c.clinician.id)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.text.matches("<td><code>GET /console/patients/{id}</code>").count(), 3, "{}", page.text);
    assert!(!page.text.contains("<td><code>POST /console/login</code>"));
    assert!(page.text.contains(&format!(r#"<option value="{}" selected>"#, c.clinician.id)));

    let by_kind = admin.get("/console/audit?kind=photo").await;
    assert!(by_kind.text.contains("<td><code>PUT /v1/photos/{id}/content</code>"), "{}", by_kind.text);
    assert!(!by_kind.text.contains("<td><code>GET /console/patients/{id}</code>"));

    let today = chrono::Utc::now().date_naive();
    let past = admin.get(&format!("/console/audit?to={}", today - Duration::days(1))).await;
    assert!(past.text.contains("No event matches."), "{}", past.text);
    let now = admin.get(&format!("/console/audit?from={today}&to={today}")).await;
    assert!(now.text.contains("<td><code>POST /console/login</code>"));

    for bad in ["from=yesterday", "kind=secrets", "actor=nobody"] {
        assert_eq!(admin.get(&format!("/console/audit?{bad}")).await.status, 422, "{bad}");
    }

    // 50 a page; the next page keeps the filters, an action's spaces, slashes and braces too (the
    // list of patients, seen before, is another action of the same member).
    assert_eq!(clinician.get("/console/patients").await.status, 200);
    for _ in 0..60 {
        clinician.get(&format!("/console/patients/{}", c.patient.id)).await;
    }
    app.services.state.audit.flush();
    let action = "GET%20%2Fconsole%2Fpatients%2F%7Bid%7D";
    let first = admin.get(&format!("/console/audit?actor={}&action={action}", c.clinician.id)).await;
    assert_eq!(first.text.matches("<tr><td>").count(), 50);
    let at = first.text.find("/console/audit?actor=").expect("a link to older events");
    let next = first.text[at..first.text[at..].find('"').unwrap() + at].replace("&#38;", "&");
    assert!(next.contains("&before="), "{next}");
    let second = admin.get(&next).await;
    assert!(second.text.matches("<tr><td>").count() > 10, "{}", second.text);
    let kept = second.text.matches("<td><code>GET /console/patients/{id}</code>").count();
    assert_eq!(kept, second.text.matches("<tr><td>").count(), "only the action asked for: {}", second.text);
    assert!(!second.text.contains("<td><code>POST /console/settings</code>"));
    assert!(second.text.contains(&format!(r#"<option value="{}" selected>"#, c.clinician.id)));
}
