//! Requests at the edges: every spelling of an audited path against the audit table, clients that
//! send slowly or not at all, and floods of unauthenticated noise against storage, logs and metrics.
//! Requests are written by hand on raw sockets where a client library would tidy them up.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use rand::Rng;
use serde_json::json;
use sha2::Digest;

use crate::support::{PASSWORD, TestApp, spawn, spawn_with};

/// One answer read off a raw socket.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }
}

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

fn parse(bytes: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Raw { status, head: head.to_string(), body: body.to_string() }
}

/// Sends `method target` with `Connection: close` and reads the whole answer.
fn exchange(app: &TestApp, method: &str, target: &str, token: Option<&str>, body: Option<&str>) -> Raw {
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut stream = TcpStream::connect(address(app)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse(&answer)
}

fn encode(c: char, upper: bool) -> String {
    let mut buf = [0u8; 4];
    c.encode_utf8(&mut buf).bytes().map(|b| if upper { format!("%{b:02X}") } else { format!("%{b:02x}") }).collect()
}

/// Every way we know to spell `path`: each character percent-encoded in turn (both hex cases),
/// all of it encoded, `//`, `/./`, `/../` and their encoded forms at each slash, a trailing slash,
/// and upper and mixed case.
fn spellings(path: &str) -> BTreeSet<String> {
    let chars: Vec<char> = path.chars().collect();
    let spliced = |i: usize, with: &str| format!("{}{with}{}", &path[..i], &path[i + 1..]);
    let mut out = BTreeSet::from([path.to_string()]);
    for (i, &c) in chars.iter().enumerate() {
        out.insert(spliced(i, &encode(c, true)));
        out.insert(spliced(i, &encode(c, false)));
    }
    let segments: Vec<&str> = path.split('/').collect();
    let all_but_slashes =
        |upper: bool| segments.iter().map(|s| s.chars().map(|c| encode(c, upper)).collect()).collect::<Vec<String>>();
    out.insert(all_but_slashes(true).join("/"));
    out.insert(all_but_slashes(false).join("/"));
    out.insert(format!("/{}", path[1..].chars().map(|c| encode(c, true)).collect::<String>()));
    for (i, _) in path.match_indices('/') {
        for insert in ["/", "/.", "/%2e", "/%2E", "/x/..", "/x/%2e%2e", "/x/%2E%2E"] {
            out.insert(format!("{}{insert}{}", &path[..i], &path[i..]));
        }
    }
    // `/../` back into the path: /v1/../v1/patients/{id}, /v1/patients/../patients/{id}, ...
    for k in 1..segments.len() {
        let (before, after) = segments.split_at(k + 1);
        out.insert(format!("{}/../{}/{}", before.join("/"), segments[k], after.join("/")).replace("//", "/"));
    }
    for tail in ["/", "/.", "/./", "//", "%2F", "%2f", "/%2e", "?"] {
        out.insert(format!("{path}{tail}"));
    }
    out.insert(path.to_uppercase());
    out.insert(chars.iter().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { *c }).collect());
    for k in 1..segments.len() {
        let mut upper: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
        upper[k] = upper[k].to_uppercase();
        out.insert(upper.join("/"));
    }
    out
}

/// Whether actix's router reaches the route of `canonical` on `spelling`: it percent-decodes
/// every byte but `/`, `%` and `+`, and ids are UUIDs, read whatever their case.
fn routes_to(spelling: &str, canonical: &str) -> bool {
    let spelling = spelling.split(['?', '#']).next().unwrap_or("");
    let bytes = spelling.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let pair = bytes.get(i + 1..i + 3).and_then(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok());
        match pair {
            Some(b) if bytes[i] == b'%' && !matches!(b, b'/' | b'%' | b'+') => {
                decoded.push(b);
                i += 3;
            }
            _ => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    let decoded = String::from_utf8_lossy(&decoded);
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (decoded.split('/').collect(), canonical.split('/').collect());
    ours.len() == theirs.len()
        && ours
            .iter()
            .zip(&theirs)
            .all(|(a, b)| a == b || (uuid::Uuid::parse_str(b).is_ok() && a.eq_ignore_ascii_case(b)))
}

/// (request id, action) of every audit event, after the queue is written.
fn audited(app: &TestApp) -> Vec<(Option<String>, String)> {
    use aftercare::db::schema::audit_events;
    app.services.state.audit.flush();
    let mut conn = app.db.pool().get().unwrap();
    audit_events::table.select((audit_events::request_id, audit_events::action)).load(&mut *conn).unwrap()
}

struct Probe {
    method: &'static str,
    canonical: String,
    action: &'static str,
    token: Option<String>,
    body: Option<String>,
    /// Text that must not appear in an answer that did not go through the audited route.
    secret: String,
}

/// Sends every spelling of the probe's path; checks each against the audit table: either the
/// router did not reach the route (no patient data in the answer, nothing audited) or exactly
/// one event with the route's pattern was written.
async fn check_every_spelling(app: &TestApp, probe: &Probe) -> usize {
    let before = audited(app).len();
    let mut sent = Vec::new();
    for spelling in spellings(&probe.canonical) {
        let answer = exchange(app, probe.method, &spelling, probe.token.as_deref(), probe.body.as_deref());
        sent.push((spelling, answer));
    }
    let events = audited(app);
    assert!(events.len() >= before);
    let mut routed = 0;
    for (spelling, answer) in &sent {
        let request_id = answer.header("x-request-id");
        let rows: Vec<&String> =
            events.iter().filter(|(id, _)| id.is_some() && *id == request_id).map(|(_, action)| action).collect();
        let context = format!("{} {spelling} -> {} {}", probe.method, answer.status, answer.body);
        if routes_to(spelling, &probe.canonical) {
            routed += 1;
            assert!(request_id.is_some(), "{context}");
            assert_eq!(rows, [probe.action], "exactly one event with the route's pattern: {context}");
        } else {
            assert!(rows.is_empty() || rows == [probe.action], "{context}: {rows:?}");
            if rows.is_empty() {
                assert!(!answer.body.contains(&probe.secret), "unaudited answer with data: {context}");
                assert!(matches!(answer.status, 400 | 404 | 405), "{context}");
            }
        }
    }
    assert!(routed > 2, "the family has spellings the router reaches");
    sent.len()
}

#[actix_web::test]
async fn every_spelling_of_an_audited_path_is_audited_or_not_routed() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let clinician = app.clinician(&admin).await;
    let patient = app.patient(&clinician, "Europe/Paris").await;
    let other_admin = app.clinic("South").await;
    let outsider = app.clinician(&other_admin).await;
    let item = format!("/v1/patients/{}", patient.id);
    let login = |password: &str| Some(json!({ "email": clinician.email, "password": password }).to_string());
    let probes = [
        Probe {
            method: "GET",
            canonical: item.clone(),
            action: "GET /v1/patients/{id}",
            token: Some(clinician.token.clone()),
            body: None,
            secret: patient.email.clone(),
        },
        Probe {
            method: "PATCH",
            canonical: item.clone(),
            action: "PATCH /v1/patients/{id}",
            token: Some(clinician.token.clone()),
            body: Some(json!({ "timezone": "Europe/Berlin" }).to_string()),
            secret: patient.email.clone(),
        },
        Probe {
            method: "GET",
            canonical: item.clone(),
            action: "GET /v1/patients/{id}",
            token: Some(outsider.token.clone()),
            body: None,
            secret: patient.email.clone(),
        },
        Probe {
            method: "POST",
            canonical: "/v1/auth/login".into(),
            action: "POST /v1/auth/login",
            token: None,
            body: login(PASSWORD),
            secret: "access_token".into(),
        },
        Probe {
            method: "POST",
            canonical: "/v1/auth/login".into(),
            action: "POST /v1/auth/login",
            token: None,
            body: login("not the password"),
            secret: "access_token".into(),
        },
    ];
    let mut total = 0;
    for probe in &probes {
        total += check_every_spelling(&app, probe).await;
    }
    assert!(total > 300, "{total} spellings");
}

// ---- Slow clients -------------------------------------------------------------------------

/// Opens a connection and sends `start` of a request, then leaves it there.
fn open_slow(app: &TestApp, start: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address(app)).expect("connect");
    stream.write_all(start.as_bytes()).expect("send");
    stream
}

/// Waits for the server to answer and close `stream`; the answer and how long it took.
fn until_closed(mut stream: TcpStream, patience: Duration) -> (Raw, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(patience)).unwrap();
    let mut answer = Vec::new();
    let closed = stream.read_to_end(&mut answer).is_ok();
    assert!(closed, "still open after {patience:?}, answer so far: {}", String::from_utf8_lossy(&answer));
    (parse(&answer), started.elapsed())
}

/// Lets the test's runtime start the server (accepting begins once it has run) before a test
/// blocks its thread on raw sockets.
async fn started(app: &TestApp) {
    assert_eq!(app.call(reqwest::Method::GET, "/health/live", None, None).await.status, 200);
}

fn post_head(path: &str, extra: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{extra}\r\n")
}

#[actix_web::test]
async fn a_body_that_stalls_is_answered_408_and_closed_within_the_body_timeout() {
    let app = spawn_with(|s| s.request_body_timeout = Duration::from_secs(1)).await;
    let admin = app.clinic("North").await;
    let bearer = format!("Authorization: Bearer {}\r\n", admin.token);
    let cases = [
        ("login, announced and never sent", post_head("/v1/auth/login", "Content-Length: 60000\r\n") + "{\"email\":"),
        (
            "login, chunked and stalled",
            post_head("/v1/auth/login", "Transfer-Encoding: chunked\r\n") + "5\r\n{\"ema\r\n",
        ),
        (
            "a write behind an Idempotency-Key",
            post_head("/v1/patients", &format!("{bearer}Idempotency-Key: k1\r\nContent-Length: 60000\r\n")) + "{",
        ),
        ("a write with a token", post_head("/v1/clinicians", &format!("{bearer}Content-Length: 500\r\n"))),
    ];
    let waiting: Vec<_> = cases
        .iter()
        .map(|(name, start)| (name.to_string(), open_slow(&app, start)))
        .map(|(name, stream)| std::thread::spawn(move || (name, until_closed(stream, Duration::from_secs(15)))))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|waiting| waiting.join().expect("each closed in time"))
        .collect();
    // One that drips a byte every 200 ms: each read is quick, the whole never arrives in time.
    let mut drip = open_slow(&app, &post_head("/v1/auth/login", "Content-Length: 1000\r\n"));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) && drip.write_all(b" ").is_ok() {
        std::thread::sleep(Duration::from_millis(200));
    }
    let dripped = until_closed(drip, Duration::from_secs(15));
    for (name, (answer, took)) in waiting.into_iter().chain([("drip".into(), dripped)]) {
        assert_eq!(answer.status, 408, "{name}: {answer:?}");
        assert_eq!(answer.header("content-type").as_deref(), Some("application/problem+json"), "{name}");
        assert!(answer.body.contains("\"status\":408"), "{name}: {}", answer.body);
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
    }
    // A handler that reads no body answers, and the unread body does not keep the connection.
    for framing in ["Content-Length: 60000\r\n\r\n", "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"ema\r\n"] {
        let unread = open_slow(&app, &format!("GET /health/live HTTP/1.1\r\nHost: localhost\r\n{framing}"));
        let (answer, took) = until_closed(unread, Duration::from_secs(15));
        assert_eq!(answer.status, 200);
        assert!(took < Duration::from_secs(5), "{framing}: {took:?}");
    }
    // The server still answers as before.
    assert_eq!(exchange(&app, "GET", "/v1/me", Some(&admin.token), None).status, 200);
}

#[actix_web::test]
async fn a_head_that_stalls_is_closed_within_the_head_timeout() {
    let app = spawn_with(|s| s.request_head_timeout = Duration::from_secs(1)).await;
    started(&app).await;
    let starts = ["", "POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Le", "GET /health/li"];
    let waiting: Vec<_> = starts
        .iter()
        .map(|start| open_slow(&app, start))
        .map(|stream| std::thread::spawn(move || until_closed(stream, Duration::from_secs(15))))
        .collect();
    let mut drip = open_slow(&app, "GET /health/live HTTP/1.1\r\n");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) && drip.write_all(b"X").is_ok() {
        std::thread::sleep(Duration::from_millis(200));
    }
    let dripped = until_closed(drip, Duration::from_secs(15));
    for (answer, took) in waiting.into_iter().map(|t| t.join().unwrap()).chain([dripped]) {
        assert!(matches!(answer.status, 0 | 408), "{answer:?}");
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }
}

fn open_connections(metrics: &str) -> i64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("aftercare_http_connections_open "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connection gauge in {metrics}"))
}

async fn metrics_text(app: &TestApp) -> String {
    app.call(reqwest::Method::GET, "/metrics", None, None).await.text
}

#[actix_web::test]
async fn hundreds_of_slow_clients_do_not_stop_the_server_answering() {
    // Timeouts long enough that all 300 are still held when counted, on a busy machine too.
    let app = spawn_with(|s| {
        s.request_head_timeout = Duration::from_secs(5);
        s.request_body_timeout = Duration::from_secs(5);
    })
    .await;
    started(&app).await;
    let slow: Vec<TcpStream> = (0..300)
        .map(|n| match n % 3 {
            0 => open_slow(&app, &post_head("/v1/auth/login", "Content-Length: 60000\r\n")),
            1 => open_slow(&app, "GET /health/live HTTP/1.1\r\nHost: loc"),
            _ => open_slow(&app, ""),
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let live = app.call(reqwest::Method::GET, "/health/live", None, None).await;
    assert_eq!(live.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let held = open_connections(&metrics_text(&app).await);
    assert!(held >= 300, "{held} connections counted open");
    // They are let go within the timeouts.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut left = held;
    while left > 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        left = open_connections(&metrics_text(&app).await);
    }
    assert!(left <= 5, "{left} connections still open");
    drop(slow);
}

#[actix_web::test]
async fn past_its_connection_budget_the_server_holds_no_more_and_recovers() {
    let app = spawn_with(|s| {
        s.request_head_timeout = Duration::from_secs(2);
        s.max_connections = 40;
    })
    .await;
    started(&app).await;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let budget = aftercare::limits::connection_budget(40, workers, 4).total as i64;
    let _slow: Vec<TcpStream> = (0..120).map(|_| open_slow(&app, "GET /health/li")).collect();
    // This request waits for a free place, so it sees the server at its budget.
    let started = Instant::now();
    let held = open_connections(&metrics_text(&app).await);
    assert!(held <= budget + workers as i64, "{held} open, budget {budget}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let live = app.call(reqwest::Method::GET, "/health/live", None, None).await;
    assert_eq!(live.status, 200);
}

// ---- Floods of unauthenticated noise ------------------------------------------------------

/// Column data of an audit event: text lengths, 8 bytes a number or time, 4 the status.
const MAX_AUDIT_ROW_BYTES: usize = 520;

fn row_bytes(e: &aftercare::models::audit::StoredEvent) -> usize {
    let text = [&e.user_id, &e.role, &e.clinic_id, &e.patient_id, &e.resource_type, &e.resource_id, &e.request_id]
        .iter()
        .map(|v| v.as_ref().map_or(0, String::len))
        .sum::<usize>();
    let always = [&e.id, &e.action, &e.outcome, &e.prev_hash, &e.hash].iter().map(|v| v.len()).sum::<usize>();
    text + always + e.client_addr.as_ref().map_or(0, String::len) + 8 * 2 + 4
}

fn stored_events(app: &TestApp) -> Vec<aftercare::models::audit::StoredEvent> {
    use aftercare::db::schema::audit_events;
    use aftercare::models::audit::StoredEvent;
    app.services.state.audit.flush();
    let mut conn = app.db.pool().get().unwrap();
    audit_events::table.select(StoredEvent::as_select()).load(&mut *conn).unwrap()
}

fn random_text(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| char::from(rng.gen_range(b'a'..=b'z'))).collect()
}

#[actix_web::test]
async fn unauthenticated_noise_writes_small_rows_for_routes_and_nothing_for_the_rest() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let huge = "A".repeat(60_000);
    let encoded: String = random_text(6_000).chars().map(|c| encode(c, true)).collect();
    let routed = [
        ("GET", format!("/v1/patients/{huge}"), None),
        ("PATCH", format!("/v1/patients/{encoded}"), None),
        ("DELETE", format!("/v1/photos/{huge}"), None),
        ("POST", format!("/v1/check-ins/{huge}/review"), None),
        ("GET", format!("/v1/treatments/{huge}/timeline"), None),
        ("GET", format!("/v1/patients/{huge}"), Some(admin.token.as_str())),
        ("PUT", format!("/v1/patients/{huge}"), None),
        ("GET", "/v1/patients/01234567-89ab-cdef-0123-456789abcdef".to_string(), None),
    ];
    let unrouted = [
        ("GET", format!("/v1/nothing/{huge}")),
        ("GET", format!("/{huge}")),
        ("GET", format!("/%76%32/patients/{huge}")),
        ("POST", format!("/v1/patients/{huge}/extra")),
        (&*random_text(60_000).to_uppercase(), format!("/v1/patients/{huge}")),
        ("CONNECT", "/v1/me".to_string()),
    ];
    let before = stored_events(&app).len();
    let mut expect_one = Vec::new();
    for (method, path, token) in &routed {
        let answer = exchange(&app, method, path, *token, None);
        assert!(matches!(answer.status, 401 | 404 | 405), "{method} {}: {}", answer.status, answer.body);
        expect_one.push(answer.header("x-request-id").expect("a request id"));
    }
    let mut expect_none = Vec::new();
    for (method, path) in &unrouted {
        let answer = exchange(&app, method, path, None, None);
        assert!(matches!(answer.status, 404 | 501), "{}: {}", answer.status, answer.body);
        expect_none.push(answer.header("x-request-id").expect("a request id"));
    }
    let events = stored_events(&app);
    let new = &events[before..];
    assert_eq!(new.len(), routed.len(), "one event for each request that matched a /v1 route, none else");
    for id in &expect_one {
        assert_eq!(new.iter().filter(|e| e.request_id.as_ref() == Some(id)).count(), 1);
    }
    assert!(new.iter().all(|e| !expect_none.contains(e.request_id.as_ref().unwrap())));
    let largest = new.iter().map(row_bytes).max().unwrap();
    assert!(largest <= MAX_AUDIT_ROW_BYTES, "a row of {largest} bytes: {:?}", new.iter().max_by_key(|e| row_bytes(e)));
    let huge_id = format!("sha256:{}", hex::encode(sha2::Sha256::digest(huge.as_bytes())));
    assert!(new.iter().any(|e| e.resource_id.as_deref() == Some(huge_id.as_str())), "ids that name nothing are hashed");
    let unknown = new.iter().find(|e| e.request_id.as_ref() == Some(&expect_one[7])).unwrap();
    assert_eq!(unknown.resource_id.as_deref(), Some("01234567-89ab-cdef-0123-456789abcdef"));
    assert_eq!((unknown.action.as_str(), unknown.status), ("GET /v1/patients/{id}", 401));
    eprintln!("largest audit row from noise: {largest} bytes");
}

#[actix_web::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let app = spawn().await;
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    let send = |method: &str, path: &str| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client.request(method, format!("{}{path}", app.base)).send()
    };
    // Every kind of answer the flood will get, once, so its series exist before counting.
    TestApp::answer(send("MADEUP", "/v1/patients").await.unwrap()).await.assert_problem(501);
    send("GET", "/nothing-here").await.unwrap();
    send("POST", "/nothing-here").await.unwrap();
    // Standard methods a route does not serve are routed as before: 405 with Allow.
    for known in ["TRACE", "QUERY", "PUT"] {
        let answer = TestApp::answer(send(known, "/v1/patients").await.unwrap()).await;
        answer.assert_problem(405);
        assert_eq!(answer.header("allow"), "GET, POST");
    }
    metrics_text(&app).await;
    let before = metrics_text(&app).await;
    let mut rng = rand::thread_rng();
    for _ in 0..500 {
        let method = random_text(rng.gen_range(1..3_000));
        let answer = TestApp::answer(send(&method, "/v1/patients").await.unwrap()).await;
        answer.assert_problem(501);
        let path = format!("/{}", random_text(rng.gen_range(1..3_000)));
        let method = if rng.gen_bool(0.5) { "GET" } else { "POST" };
        assert_eq!(send(method, &path).await.unwrap().status(), 404);
    }
    let after = metrics_text(&app).await;
    assert_eq!(series(&after), series(&before), "series before and after the flood:\n{before}\n--\n{after}");
    assert!(after.len() < before.len() + 1_000, "{} -> {} bytes", before.len(), after.len());
    eprintln!("metrics: {} -> {} bytes, {} series", before.len(), after.len(), series(&after));
}

/// Everything the server logs at INFO and above, as the default `RUST_LOG=info` would print it.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn a_flood_of_refused_requests_writes_a_bounded_amount_of_log() {
    use actix_web::test::{TestRequest, call_service, init_service};
    let app = spawn().await;
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    // The app runs on this thread, so a subscriber for this thread sees every line it logs.
    let _guard = tracing::subscriber::set_default(subscriber);
    let service = init_service(aftercare::build_app(app.services.clone())).await;
    let huge = "x".repeat(20_000);
    let started = Instant::now();
    for n in 0..2_000 {
        let uri = match n % 4 {
            0 => format!("/v1/patients/{huge}"),
            1 => format!("/nothing/{huge}"),
            2 => "/v1/me".to_string(),
            _ => "/v1/audit-events".to_string(),
        };
        let res = call_service(&service, TestRequest::get().uri(&uri).to_request()).await;
        assert!(res.status().is_client_error());
    }
    let seconds = started.elapsed().as_secs() as usize + 1;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines = log.lines().count();
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    // The budget's one-second windows are not aligned with this test's start (other tests use the
    // same process-wide budget), so an interval of `seconds` can touch one window more.
    let bound = 10 * (seconds + 1) + 2;
    assert!(lines <= bound, "{lines} lines in {seconds} s:\n{}", &log[..log.len().min(3_000)]);
    assert!(longest < 1_000, "a line of {longest} bytes");
    eprintln!("2000 refusals in {seconds} s: {lines} lines, {} bytes, longest line {longest} bytes", log.len());
}
