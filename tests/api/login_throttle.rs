//! Login and activation throttling: attempts are reserved before any password is hashed, so
//! concurrent guesses cannot outrun the limits, on one server or several sharing a database; the
//! limits are per account and client, grow per failure, and cannot be turned against the owner.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use aftercare::Services;
use aftercare::config::Settings;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{Answer, PASSWORD, TestApp, spawn, spawn_with};

/// Password checks run so far by `apps`' hashing threads.
fn checks(apps: &[&Services]) -> u64 {
    apps.iter().map(|s| s.state.passwords.verifications()).sum()
}

fn hashes(app: &TestApp) -> u64 {
    app.services.state.passwords.hashes()
}

/// What clients that have failed at one account may cost it per window.
fn open_budget(settings: &Settings) -> u64 {
    (settings.login_attempts_per_account / 2) as u64
}

/// A POST to `base` as if from `client` (as the proxy at 127.0.0.1 reports it), or from the
/// socket's own address when `client` is `None`.
async fn post_from(app: &TestApp, base: &str, client: Option<&str>, path: &str, body: Value) -> Answer {
    let mut request = app.client.post(format!("{base}{path}")).json(&body);
    if let Some(client) = client {
        request = request.header("x-forwarded-for", client);
    }
    TestApp::answer(request.send().await.expect("request reaches the server")).await
}

async fn login_from(app: &TestApp, client: Option<&str>, email: &str, password: &str) -> Answer {
    post_from(app, &app.base, client, "/v1/auth/login", json!({ "email": email, "password": password })).await
}

fn behind_a_proxy(settings: &mut Settings) {
    settings.trusted_proxies = aftercare::client_addr::parse_networks("127.0.0.1/32").unwrap();
}

/// A second server on the same database, as another replica would be.
struct Replica {
    base: String,
    services: Services,
    server: actix_web::dev::ServerHandle,
}

impl Drop for Replica {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

fn replica(app: &TestApp) -> Replica {
    let services = Services::start(app.services.state.settings.clone()).expect("the replica starts");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = aftercare::serve(services.clone(), listener).expect("the replica serves");
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Replica { base, services, server: handle }
}

fn assert_all_refused(answers: &[Answer]) {
    for answer in answers {
        assert!(matches!(answer.status.as_u16(), 401 | 429), "{} {}", answer.status, answer.text);
    }
}

#[actix_web::test]
async fn a_burst_of_concurrent_guesses_gets_at_most_the_limit_of_password_checks() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let before = checks(&[&app.services]);
    let burst = (0..300).map(|n| login_from(&app, None, &admin.email, ["wrong password!", "guess"][n % 2]));
    let answers = join_all(burst).await;
    assert_all_refused(&answers);
    let checked = checks(&[&app.services]) - before;
    println!("300 concurrent guesses at one account: {checked} password checks");
    assert!(checked <= open_budget(&app.services.state.settings), "{checked} password checks");
}

#[actix_web::test]
async fn two_servers_on_one_database_share_the_limit() {
    let app = spawn().await;
    let other = replica(&app);
    let admin = app.clinic("North").await;
    let before = checks(&[&app.services, &other.services]);
    let burst = (0..300).map(|n| {
        let base = if n % 2 == 0 { &app.base } else { &other.base };
        post_from(&app, base, None, "/v1/auth/login", json!({ "email": admin.email, "password": "wrong password!" }))
    });
    let answers = join_all(burst).await;
    assert_all_refused(&answers);
    let checked = checks(&[&app.services, &other.services]) - before;
    println!("300 concurrent guesses over two servers: {checked} password checks");
    assert!(checked <= open_budget(&app.services.state.settings), "{checked} password checks");
}

#[actix_web::test]
async fn a_correct_password_inside_a_burst_does_not_wipe_the_count() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let before = checks(&[&app.services]);
    let burst = (0..301).map(|n| login_from(&app, None, &admin.email, if n == 150 { PASSWORD } else { "wrong!" }));
    let answers = join_all(burst).await;
    assert!(answers.iter().all(|a| matches!(a.status.as_u16(), 200 | 401 | 429)));
    // The guesses go on; whatever the correct password did, the count holds them.
    for _ in 0..50 {
        let answer = login_from(&app, None, &admin.email, "still guessing").await;
        assert!(matches!(answer.status.as_u16(), 401 | 429), "{}", answer.text);
    }
    let checked = checks(&[&app.services]) - before;
    assert!(checked <= open_budget(&app.services.state.settings) + 1, "{checked} password checks");
}

#[actix_web::test]
async fn an_unknown_email_is_throttled_exactly_like_an_account() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let mut refusals = Vec::new();
    for email in [admin.email.as_str(), "ghost@nowhere.test"] {
        for _ in 0..app.services.state.settings.login_failures_per_account {
            app.login(email, "wrong password!").await.assert_problem(401);
        }
        let refused = app.login(email, "wrong password!").await;
        refused.assert_problem(429);
        refusals.push((
            refused.body["type"].clone(),
            refused.body["title"].clone(),
            refused.header("retry-after").to_string(),
        ));
    }
    assert_eq!(refusals[0], refusals[1]);
    // Another account from the same address is not throttled by these.
    let other = app.clinic("South").await;
    assert_eq!(app.login(&other.email, PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn unknown_emails_cost_the_same_time_as_wrong_passwords() {
    let app = spawn_with(|s| {
        s.login_failures_per_account = 1000;
        s.login_failures_per_client = 1000;
        s.login_attempts_per_account = 1000;
    })
    .await;
    let admin = app.clinic("North").await;
    // The work, counted: each costs exactly one password verification.
    let verifications = || app.services.state.passwords.verifications();
    let before = verifications();
    app.login(&admin.email, "wrong password!").await.assert_problem(401);
    assert_eq!(verifications() - before, 1, "a wrong password is verified once");
    app.login("ghost@nowhere.test", "wrong password!").await.assert_problem(401);
    assert_eq!(verifications() - before, 2, "an unknown email is verified once, against the decoy");
    // The time, measured: the fastest of each, interleaved, is what the work costs. Other tests
    // share the two cores, so a run can be slowed throughout; noise only ever makes the ratio fail,
    // so a real difference fails every round and one round within bounds is enough.
    let fastest = |samples: &[f64]| samples.iter().copied().fold(f64::INFINITY, f64::min);
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
        for _ in 0..9 {
            let started = Instant::now();
            app.login(&admin.email, "wrong password!").await.assert_problem(401);
            wrong.push(started.elapsed().as_secs_f64());
            let started = Instant::now();
            app.login("ghost@nowhere.test", "wrong password!").await.assert_problem(401);
            unknown.push(started.elapsed().as_secs_f64());
        }
        let (wrong, unknown) = (fastest(&wrong), fastest(&unknown));
        if (0.5..2.0).contains(&(unknown / wrong)) {
            return;
        }
        rounds.push(format!("unknown {unknown:.4}s vs wrong password {wrong:.4}s"));
    }
    panic!("every round differed: {rounds:?}");
}

#[actix_web::test]
async fn guesses_from_elsewhere_do_not_lock_out_the_owner() {
    let app = spawn_with(behind_a_proxy).await;
    let admin = app.clinic("North").await;
    let attackers = ["203.0.113.66", "203.0.113.67", "203.0.113.68", "203.0.113.69"];
    let before = checks(&[&app.services]);
    let burst = (0..300).map(|n| login_from(&app, Some(attackers[n % 4]), &admin.email, "wrong password!"));
    assert_all_refused(&join_all(burst).await);
    let checked = checks(&[&app.services]) - before;
    assert!(checked <= open_budget(&app.services.state.settings) + 4, "{checked} password checks");
    // The owner, from an address that has not failed at the account, gets in; an attacker's
    // address does not, even with the right password.
    assert_eq!(login_from(&app, Some("198.51.100.7"), &admin.email, PASSWORD).await.status, 200);
    login_from(&app, Some(attackers[0]), &admin.email, PASSWORD).await.assert_problem(429);
    // While the account is under attack, an address gets one try: a typo is not retried at once.
    login_from(&app, Some("198.51.100.8"), &admin.email, "typo").await.assert_problem(401);
    login_from(&app, Some("198.51.100.8"), &admin.email, PASSWORD).await.assert_problem(429);
}

#[actix_web::test]
async fn backoff_grows_per_failure_instead_of_a_hard_lock() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    for _ in 0..app.services.state.settings.login_failures_per_account {
        app.login(&admin.email, "wrong password!").await.assert_problem(401);
    }
    for wait in [1u64, 2, 4] {
        let refused = app.login(&admin.email, PASSWORD).await;
        refused.assert_problem(429);
        let retry: u64 = refused.header("retry-after").parse().unwrap();
        assert_eq!(retry, wait, "the wait doubles per failure");
        actix_web::rt::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
        app.login(&admin.email, "wrong password!").await.assert_problem(401);
    }
    let refused = app.login(&admin.email, PASSWORD).await;
    assert_eq!(refused.header("retry-after"), "8", "{}", refused.text);
}

#[actix_web::test]
async fn distributed_guessing_is_bounded_by_the_account_budget() {
    let app = spawn_with(behind_a_proxy).await;
    let admin = app.clinic("North").await;
    let before = checks(&[&app.services]);
    let clients: Vec<String> = (0..300).map(|n| format!("198.18.{}.{}", n / 200, n % 200 + 1)).collect();
    let burst = clients.iter().map(|client| login_from(&app, Some(client), &admin.email, "wrong password!"));
    let answers = join_all(burst).await;
    assert_all_refused(&answers);
    let checked = checks(&[&app.services]) - before;
    println!("300 concurrent guesses at one account from 300 addresses: {checked} password checks");
    let budget = app.services.state.settings.login_attempts_per_account as u64;
    assert!(checked <= budget, "{checked} password checks, budget {budget}");
    // The price of that bound: once the whole budget is spent, the owner waits for the window too.
    login_from(&app, Some("192.0.2.200"), &admin.email, PASSWORD).await.assert_problem(429);
}

#[actix_web::test]
async fn the_per_client_bound_keys_on_the_real_client_address() {
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.login_failures_per_client = 8;
    })
    .await;
    let admin = app.clinic("North").await;
    // Spraying many accounts from one address meets the per-address bound ...
    for n in 0..8 {
        login_from(&app, Some("203.0.113.66"), &format!("spray{n}@nowhere.test"), "guess").await.assert_problem(401);
    }
    login_from(&app, Some("203.0.113.66"), "spray-more@nowhere.test", "guess").await.assert_problem(429);
    login_from(&app, Some("203.0.113.66"), &admin.email, PASSWORD).await.assert_problem(429);
    // ... and nobody else behind the same proxy.
    assert_eq!(login_from(&app, Some("198.51.100.7"), &admin.email, PASSWORD).await.status, 200);
    // An IPv6 client's /64 is one client: rotating the interface id does not escape the bound.
    for n in 0..8 {
        let client = format!("2001:db8:0:1::{:x}", n + 1);
        login_from(&app, Some(&client), &format!("v6-{n}@nowhere.test"), "guess").await.assert_problem(401);
    }
    login_from(&app, Some("2001:db8:0:1::ff"), "v6-more@nowhere.test", "guess").await.assert_problem(429);
    assert_eq!(login_from(&app, Some("2001:db8:0:2::1"), &admin.email, PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn without_trusted_proxies_a_forwarded_header_changes_nothing() {
    let app = spawn_with(|s| s.login_failures_per_client = 8).await;
    let admin = app.clinic("North").await;
    for n in 0..8 {
        let (client, email) = (format!("198.18.0.{n}"), format!("spray{n}@nowhere.test"));
        login_from(&app, Some(&client), &email, "guess").await.assert_problem(401);
    }
    login_from(&app, Some("198.18.1.1"), "spray-more@nowhere.test", "guess").await.assert_problem(429);
    login_from(&app, Some("198.51.100.7"), &admin.email, PASSWORD).await.assert_problem(429);
}

async fn activate_from(app: &TestApp, client: Option<&str>, token: &str) -> Answer {
    let body = json!({ "invite_token": token, "password": PASSWORD });
    post_from(app, &app.base, client, "/v1/auth/activate", body).await
}

async fn invite(app: &TestApp, admin: &crate::support::Session) -> String {
    let email = format!("clinician-{}@clinic.test", uuid::Uuid::new_v4().simple());
    let invited = app
        .post("/v1/clinicians", &admin.token, json!({ "name": "Dr. Test", "email": email, "role": "clinician" }))
        .await;
    invited.str("invite_token")
}

#[actix_web::test]
async fn bogus_activations_hash_nothing_and_a_login_during_them_stays_fast() {
    let app = spawn_with(|s| s.login_failures_per_client = 10_000).await;
    let admin = app.clinic("North").await;
    let mut alone = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(app.login(&admin.email, PASSWORD).await.status, 200);
        alone = alone.min(started.elapsed().as_secs_f64());
    }
    let before = hashes(&app);
    let tokens: Vec<String> = (0..400).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
    let flood = join_all(tokens.iter().map(|token| activate_from(&app, None, token)));
    let login = async {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let answer = app.login(&admin.email, PASSWORD).await;
        (answer, started.elapsed().as_secs_f64())
    };
    let (answers, (login, during)) = futures_util::join!(flood, login);
    for answer in &answers {
        answer.assert_problem(401);
    }
    assert_eq!(login.status, 200, "{}", login.text);
    println!("a login alone: {alone:.3}s; during 400 bogus activations: {during:.3}s");
    assert_eq!(hashes(&app) - before, 0, "a bogus invitation costs no password hash");
    assert!(during < 2.0, "a login during the flood took {during:.3}s (alone {alone:.3}s)");
}

#[actix_web::test]
async fn activation_attempts_are_throttled_per_client_and_per_invitation() {
    let app = spawn_with(|s| {
        behind_a_proxy(s);
        s.login_failures_per_client = 8;
    })
    .await;
    let admin = app.clinic("North").await;
    // A hundred bogus tokens at once from one address: at most the bound are even looked up.
    let bogus: Vec<String> = (0..100).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
    let answers = join_all(bogus.iter().map(|token| activate_from(&app, Some("203.0.113.66"), token))).await;
    let looked_up = answers.iter().filter(|a| a.status == 401).count();
    assert!(answers.iter().all(|a| matches!(a.status.as_u16(), 401 | 429)));
    assert!(looked_up <= 8, "{looked_up} bogus activations answered 401");
    let token = invite(&app, &admin).await;
    activate_from(&app, Some("203.0.113.66"), &token).await.assert_problem(429);
    // One real invitation sent many times at once: hashed a bounded number of times, spent once.
    let before = hashes(&app);
    let answers = join_all((0..50).map(|_| activate_from(&app, Some("198.51.100.7"), &token))).await;
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    assert!(answers.iter().all(|a| matches!(a.status.as_u16(), 200 | 401 | 429)));
    let hashed = hashes(&app) - before;
    assert!(hashed <= 3, "{hashed} hashes for one invitation");
}
