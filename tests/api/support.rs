//! The test harness: each test gets its own fresh database (a temporary SQLite file, or a new
//! PostgreSQL database when `TEST_DATABASE_URL` is set) and its own server on a real socket.

use std::net::TcpListener;
use std::time::Duration;

use aftercare::config::Settings;
use aftercare::db::Database;
use aftercare::{Services, commands, serve};
use diesel::prelude::*;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

use crate::fixtures::{clinician_invite, new_patient};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "a long enough password";

enum Store {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// A replica's: the first server's store owns the database.
    Shared,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Store::Postgres { admin_url, name } = self
            && let Ok(mut conn) = diesel::PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
        }
        if let Store::Postgres { admin_url, name } = self {
            let url = format!("{}/{name}", admin_url.rsplit_once('/').map_or("", |(base, _)| base));
            let _ = std::fs::remove_file(audit_checkpoint_path(&url));
        }
    }
}

/// A fresh, empty database URL for one test.
fn fresh_database() -> (String, Store) {
    match std::env::var("TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()) {
        Some(admin_url) => {
            let name = format!("aftercare_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL must be reachable");
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create test database");
            let (base, _) = admin_url.rsplit_once('/').expect("TEST_DATABASE_URL ends in /DBNAME");
            (format!("{base}/{name}"), Store::Postgres { admin_url, name })
        }
        None => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("aftercare.db");
            (format!("sqlite://{}", path.display()), Store::Sqlite(dir))
        }
    }
}

pub fn is_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|s| !s.is_empty())
}

/// Where a test's audit checkpoints go: beside its SQLite file (the default), or for PostgreSQL a
/// file of its own under target/tmp (the default, the working directory, would be shared).
pub fn audit_checkpoint_path(database_url: &str) -> std::path::PathBuf {
    match database_url.strip_prefix("sqlite://") {
        Some(file) => std::path::Path::new(file).with_file_name("aftercare-audit-checkpoints.jsonl"),
        None => {
            let name = database_url.rsplit('/').next().unwrap_or("aftercare");
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-audit-checkpoints.jsonl"))
        }
    }
}

pub fn settings_for(database_url: &str) -> Settings {
    let mut settings = Settings::from_lookup(|key| match key {
        "JWT_SECRET" => Some(JWT_SECRET.to_string()),
        "BIND_ADDR" => Some("127.0.0.1:0".to_string()),
        "DATABASE_POOL_SIZE" => Some("4".to_string()),
        _ => None,
    })
    .expect("test settings are valid");
    settings.database_url = database_url.to_string();
    if !database_url.starts_with("sqlite://") {
        settings.audit_checkpoint_path = Some(audit_checkpoint_path(database_url));
    }
    // Without an SMTP server, each test's mail goes to a folder of its own.
    settings.mail.folder = audit_checkpoint_path(database_url).with_extension("mail");
    settings.mail.poll_interval = Duration::from_millis(100);
    settings.mail.first_retry = Duration::from_secs(1);
    // Each test's photos go to a directory of its own (or a bucket prefix, see `photo_store_url`).
    settings.photos.store_url = photo_store_url(database_url);
    settings
}

/// A test's own photo store: a directory beside its database, or with TEST_PHOTO_STORE_URL (an
/// `s3://bucket` of a real S3-compatible server) a prefix of its own in that bucket.
pub fn photo_store_url(database_url: &str) -> String {
    match std::env::var("TEST_PHOTO_STORE_URL").ok().filter(|s| !s.is_empty()) {
        Some(bucket) => format!("{}/{}", bucket.trim_end_matches('/'), uuid::Uuid::new_v4().simple()),
        None => audit_checkpoint_path(database_url).with_extension("photos").display().to_string(),
    }
}

/// A bare, empty database for storage-level tests.
pub struct TestDatabase {
    pub url: String,
    _store: Store,
}

pub fn empty_database() -> TestDatabase {
    let (url, store) = fresh_database();
    TestDatabase { url, _store: store }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Database,
    pub services: Services,
    server: actix_web::dev::ServerHandle,
    _store: Store,
}

/// One answer, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts a problem+json error with this status; returns the fields named invalid, if any.
    pub fn assert_problem(&self, status: u16) -> Vec<String> {
        assert_eq!(self.status.as_u16(), status, "unexpected status, body: {}", self.text);
        assert_eq!(self.header("content-type"), "application/problem+json", "body: {}", self.text);
        for field in ["type", "title", "detail"] {
            assert!(self.body[field].is_string(), "problem lacks `{field}`: {}", self.text);
        }
        assert_eq!(self.body["status"], status);
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_else(|| panic!("no string `{field}` in {}", self.text)).to_string()
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, store) = fresh_database();
    let mut settings = settings_for(&url);
    adjust(&mut settings);
    TestApp::serving(settings, store)
}

impl TestApp {
    /// A server with these settings on a real socket, holding `store` for as long as it lives.
    fn serving(settings: Settings, store: Store) -> TestApp {
        let services = Services::start(settings).expect("services start");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = serve(services.clone(), listener).expect("server starts");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestApp {
            base,
            client: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
            db: services.state.db.clone(),
            services,
            server: handle,
            _store: store,
        }
    }

    /// A second server on this test's database, as another replica would be: its own pools, its
    /// own workers (the e-mail delivery worker among them), the same data.
    pub async fn replica(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.services.state.settings.clone();
        adjust(&mut settings);
        TestApp::serving(settings, Store::Shared)
    }
}

/// A logged-in user of a test.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub clinic_id: String,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        self.call_with_headers(method, path, token, body, &[]).await
    }

    /// `call` with extra request headers (`If-None-Match`, `Idempotency-Key`, ...).
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::answer(request.send().await.expect("request reaches the server")).await
    }

    pub async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    /// A PUT of raw bytes (a photo's content).
    pub async fn upload(&self, path: &str, token: &str, bytes: Vec<u8>) -> Answer {
        let request = self.client.put(format!("{}{}", self.base, path)).bearer_auth(token);
        let request = request.header("Content-Type", "application/octet-stream").body(bytes);
        Self::answer(request.send().await.expect("request reaches the server")).await
    }

    /// A GET of raw bytes: status, headers and the bytes.
    pub async fn download(&self, path: &str, token: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self.client.get(format!("{}{}", self.base, path)).bearer_auth(token).send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// Files in this server's photo store under `prefix` (`photos`, `staging`...), for a local
    /// store; for another, the objects the store lists.
    pub async fn stored_objects(&self, prefix: &str) -> Vec<String> {
        let store = self.services.state.photos.objects(prefix).await;
        store.expect("the photo store lists")
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn post_anonymous(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, None, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post_anonymous("/v1/auth/login", json!({ "email": email, "password": password })).await
    }

    fn session_from(answer: &Answer, email: &str) -> Session {
        assert_eq!(answer.status, StatusCode::OK, "login failed: {}", answer.text);
        Session {
            id: answer.body["user"]["id"].as_str().unwrap().to_string(),
            clinic_id: answer.body["user"]["clinic_id"].as_str().unwrap().to_string(),
            email: email.to_string(),
            token: answer.str("access_token"),
            refresh_token: answer.str("refresh_token"),
        }
    }

    /// A new clinic (through the real bootstrap command) and its logged-in administrator.
    pub async fn clinic(&self, name: &str) -> Session {
        let email = format!("admin-{}@clinic.test", uuid::Uuid::new_v4().simple());
        let db = self.db.clone();
        let (name, email_for_db) = (name.to_string(), email.clone());
        actix_web::web::block(move || commands::create_clinic(&db, &name, &email_for_db, PASSWORD))
            .await
            .unwrap()
            .expect("clinic created");
        let answer = self.login(&email, PASSWORD).await;
        Self::session_from(&answer, &email)
    }

    async fn activate(&self, invite_token: &str, email: &str) -> Session {
        let answer = self
            .post_anonymous("/v1/auth/activate", json!({ "invite_token": invite_token, "password": PASSWORD }))
            .await;
        Self::session_from(&answer, email)
    }

    /// A clinician invited by `admin` who has activated the account.
    pub async fn clinician(&self, admin: &Session) -> Session {
        let email = format!("clinician-{}@clinic.test", uuid::Uuid::new_v4().simple());
        let invited = self.post("/v1/clinicians", &admin.token, clinician_invite(&email)).await;
        assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.text);
        self.activate(&invited.str("invite_token"), &email).await
    }

    /// A patient added by `staff` who has activated the account.
    pub async fn patient(&self, staff: &Session, timezone: &str) -> Session {
        let email = format!("patient-{}@mail.test", uuid::Uuid::new_v4().simple());
        let created = self.post("/v1/patients", &staff.token, new_patient(&email, timezone)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        self.activate(&created.str("invite_token"), &email).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; its completion need not be awaited.
        drop(self.server.stop(false));
    }
}

/// (METHOD, /path/{param}) of every route of the API the server really has, read from actix-web's
/// own route table (not a hand-kept list). The console's pages (`/console`) are not API
/// operations: `served_console_routes` lists them.
pub async fn served_routes(app: &TestApp) -> std::collections::BTreeSet<(String, String)> {
    all_served_routes(app).await.into_iter().filter(|(_, path)| !path.starts_with("/console")).collect()
}

/// The console's routes, from the same route table.
pub async fn served_console_routes(app: &TestApp) -> std::collections::BTreeSet<(String, String)> {
    all_served_routes(app).await.into_iter().filter(|(_, path)| path.starts_with("/console")).collect()
}

async fn all_served_routes(app: &TestApp) -> std::collections::BTreeSet<(String, String)> {
    use actix_web::introspection::IntrospectionTree;
    use actix_web::{test, web};
    let probe = "/__introspection_probe";
    let service = test::init_service(
        aftercare::build_app(app.services.clone())
            .route(probe, web::get().to(|tree: web::Data<IntrospectionTree>| async move { tree.report_as_json() })),
    )
    .await;
    let report: Value = test::call_and_read_body_json(&service, test::TestRequest::get().uri(probe).to_request()).await;
    let mut served = std::collections::BTreeSet::new();
    for item in report.as_array().unwrap() {
        let path = item["full_path"].as_str().unwrap();
        if path == probe {
            continue;
        }
        for method in item["methods"].as_array().unwrap() {
            served.insert((method.as_str().unwrap().to_string(), path.to_string()));
        }
    }
    served
}
