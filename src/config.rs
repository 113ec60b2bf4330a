//! Typed settings read once from the environment (and a `.env` file, if present).

use std::time::Duration;

use crate::error::StartupError;

pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How logins are throttled (see `models::login_throttle`).
pub struct LoginLimits {
    pub window: chrono::Duration,
    /// Attempts one client may make at one account before the waits begin.
    pub free_per_pair: i64,
    /// Attempts per account per window, from all clients; half only for clients new to it.
    pub per_account: i64,
    /// Attempts per client address per window, over all accounts (and, apart, all activations).
    pub per_client: i64,
}

/// How e-mail leaves the server (see `mail`).
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtps://user:password@host` (lettre's URL form); `None`: every message
    /// is written to `folder` instead, and the log says where.
    pub smtp_url: Option<String>,
    /// The `From` of every message.
    pub from: String,
    pub folder: std::path::PathBuf,
    /// Where the links in messages point: the address patients and staff reach this service at.
    pub public_base_url: String,
    /// How often each replica's delivery worker looks for due messages.
    pub poll_interval: Duration,
    /// Attempts before a message is given up as failed.
    pub max_attempts: i32,
    /// The wait after a first failed attempt; it doubles with each further one, up to an hour.
    pub first_retry: Duration,
}

/// Where photos' bytes go and what an upload may be (see `photo_store`).
#[derive(Clone, Debug)]
pub struct PhotoSettings {
    /// `s3://bucket[/prefix]` (credentials, region, endpoint from `AWS_*`), `memory://`, or a
    /// directory (`file:///srv/photos` or a path; the default is `photos` in the working directory).
    pub store_url: String,
    /// Keep the bytes as uploaded, metadata included, beside the stripped copy that is served.
    pub keep_original: bool,
    /// The largest photo accepted (declared at creation and checked on upload).
    pub max_bytes: i64,
    /// Photos one check-in may hold, and one patient over all their check-ins.
    pub per_check_in: i64,
    pub per_patient: i64,
    /// Uploads one patient may start per `login_window`, refused or not.
    pub uploads_per_window: i64,
    /// Time one upload's body has to arrive (instead of `REQUEST_BODY_TIMEOUT_SECONDS`).
    pub upload_timeout: Duration,
    /// How often each replica's sweeper looks for orphaned objects, and how old a staging object
    /// or the bytes of a photo never verified must be before they go.
    pub sweep_interval: Duration,
    pub sweep_grace: Duration,
    /// How often each replica's rendition worker looks for verified photos without renditions.
    pub rendition_poll: Duration,
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind_addr: String,
    /// `None` means: development mode, generate an ephemeral secret at start-up.
    pub jwt_secret: Option<Vec<u8>>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A spent refresh token presented again within this long is a retry, not a theft.
    pub refresh_retry_grace: Duration,
    pub invite_ttl: Duration,
    pub db_pool_size: u32,
    pub max_concurrent_hashes: usize,
    pub log_format: LogFormat,
    pub shutdown_timeout: Duration,
    pub json_body_limit: usize,
    /// How long a retry waits for the first request with its Idempotency-Key before answering 409.
    pub idempotency_wait_ms: u64,
    /// Failed logins one client may make at one account before each further one waits twice as
    /// long (see `models::login_throttle`), and per client address, within `login_window`.
    pub login_failures_per_account: i64,
    pub login_failures_per_client: i64,
    pub login_window: Duration,
    /// Password checks one account may cost within `login_window`, from every client together.
    pub login_attempts_per_account: i64,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` is believed (see `client_addr`).
    pub trusted_proxies: Vec<crate::client_addr::IpNet>,
    /// Browser origins allowed to call the API (CORS); empty: no cross-origin access.
    pub cors_allowed_origins: Vec<String>,
    /// Keys the audit chain (at least 32 bytes). `None`: derived from `jwt_secret`, else a key file.
    pub audit_key: Option<Vec<u8>>,
    /// Where audit checkpoints are appended. `None`: beside the SQLite database, or the working
    /// directory for PostgreSQL.
    pub audit_checkpoint_path: Option<std::path::PathBuf>,
    /// A checkpoint at most this long after the first event it covers, or after this many events.
    pub audit_checkpoint_interval: Duration,
    pub audit_checkpoint_events: u64,
    /// Time a client has to send a request's head, and then its body (see `limits`).
    pub request_head_timeout: Duration,
    pub request_body_timeout: Duration,
    /// How long an idle kept-alive connection stays open.
    pub keep_alive: Duration,
    /// Client connections open at once, over all workers; capped by the open-files limit.
    pub max_connections: usize,
    pub mail: MailSettings,
    /// How long a password reset link works.
    pub password_reset_ttl: Duration,
    /// Reset messages one account may be sent per `login_window` (more requests get the same
    /// answer and no message).
    pub password_resets_per_account: i64,
    /// v1 compatibility: the answer to a create that invites someone carries the invitation token
    /// (deprecated). `false`: the token only goes by e-mail and the field is empty.
    pub invite_tokens_in_answers: bool,
    /// Where clients reach the service (`https://care.example.com`), for the absolute URLs it hands
    /// out (calendar feeds). `None`: the request's own `Host`, and the scheme and host a trusted
    /// proxy forwarded.
    pub public_base_url: Option<String>,
    /// Whether the console's cookies are `Secure` (`CONSOLE_SECURE_COOKIES`). `None`: yes, except
    /// for requests to localhost or 127.0.0.1 over plain HTTP.
    pub console_secure_cookies: Option<bool>,
    pub photos: PhotoSettings,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind_addr", &self.bind_addr)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("access_token_ttl", &self.access_token_ttl)
            .field("db_pool_size", &self.db_pool_size)
            .finish_non_exhaustive()
    }
}

/// Hides a password in a connection URL so it can be logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Settings {
    pub fn login_limits(&self) -> LoginLimits {
        LoginLimits {
            window: chrono::Duration::from_std(self.login_window).unwrap_or(chrono::Duration::minutes(15)),
            free_per_pair: self.login_failures_per_account,
            per_account: self.login_attempts_per_account,
            per_client: self.login_failures_per_client,
        }
    }

    /// Reads settings from the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, StartupError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Every setting, read and checked in one place. Longer than 60 lines on purpose: it is one flat
    /// list, one setting a line, and a reader looking for a variable finds it here and nowhere else.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, StartupError> {
        let jwt_secret = match get("JWT_SECRET").filter(|s| !s.is_empty()) {
            Some(secret) if secret.len() < MIN_JWT_SECRET_BYTES => {
                return Err(StartupError::Config(format!(
                    "JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long (it is {})",
                    secret.len()
                )));
            }
            Some(secret) => Some(secret.into_bytes()),
            None => None,
        };
        let audit_key = match get("AUDIT_KEY").filter(|s| !s.is_empty()) {
            Some(key) if key.len() < MIN_JWT_SECRET_BYTES => {
                return Err(StartupError::Config(format!(
                    "AUDIT_KEY must be at least {MIN_JWT_SECRET_BYTES} bytes long (it is {})",
                    key.len()
                )));
            }
            key => key.map(String::into_bytes),
        };
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("") | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(StartupError::Config(format!("LOG_FORMAT must be `text` or `json`, not `{other}`")));
            }
        };
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let cors_allowed_origins: Vec<String> = get("CORS_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if let Some(bad) =
            cors_allowed_origins.iter().find(|o| !(o.starts_with("https://") || o.starts_with("http://")))
        {
            return Err(StartupError::Config(format!(
                "CORS_ALLOWED_ORIGINS entries must be origins such as https://app.example.com, not `{bad}`"
            )));
        }
        let public_base_url = get("PUBLIC_BASE_URL").map(|u| u.trim().trim_end_matches('/').to_string());
        let public_base_url = public_base_url.filter(|u| !u.is_empty());
        if let Some(bad) = public_base_url.as_ref().filter(|u| {
            let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
            rest.is_none_or(|host| host.is_empty() || host.contains(['?', '#', ' ']))
        }) {
            return Err(StartupError::Config(format!(
                "PUBLIC_BASE_URL must be a URL such as https://care.example.com, not `{bad}`"
            )));
        }
        let bind_addr = get("BIND_ADDR").filter(|s| !s.is_empty()).unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let mail = MailSettings {
            smtp_url: get("SMTP_URL").filter(|s| !s.is_empty()),
            from: get("MAIL_FROM")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Aftercare <aftercare@localhost>".into()),
            folder: get("MAIL_FOLDER").filter(|s| !s.is_empty()).unwrap_or_else(|| "mail".into()).into(),
            public_base_url: public_base_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", bind_addr.replace("0.0.0.0", "localhost"))),
            poll_interval: Duration::from_millis(at_most(&get, "MAIL_POLL_MS", 1000, 60_000)?),
            max_attempts: number(&get, "MAIL_MAX_ATTEMPTS", 8)? as i32,
            first_retry: Duration::from_secs(at_most(&get, "MAIL_RETRY_SECONDS", 30, 3600)?),
        };
        if let Err(e) = mail.from.parse::<lettre::message::Mailbox>() {
            return Err(StartupError::Config(format!("MAIL_FROM is not an e-mail address ({e}): `{}`", mail.from)));
        }
        let invite_tokens_in_answers = match get("INVITE_TOKENS_IN_ANSWERS").as_deref() {
            None | Some("") | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(StartupError::Config(format!(
                    "INVITE_TOKENS_IN_ANSWERS must be `true` or `false`, not `{other}`"
                )));
            }
        };
        let console_secure_cookies = match get("CONSOLE_SECURE_COOKIES").as_deref() {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(StartupError::Config(format!(
                    "CONSOLE_SECURE_COOKIES must be `true` or `false`, not `{other}`"
                )));
            }
        };
        let photos = PhotoSettings {
            store_url: get("PHOTO_STORE_URL").filter(|s| !s.is_empty()).unwrap_or_else(|| "photos".into()),
            keep_original: match get("PHOTO_KEEP_ORIGINAL").as_deref() {
                None | Some("") | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(StartupError::Config(format!(
                        "PHOTO_KEEP_ORIGINAL must be `true` or `false`, not `{other}`"
                    )));
                }
            },
            max_bytes: at_most(&get, "PHOTO_MAX_BYTES", 20 * 1024 * 1024, crate::domain::photo::MAX_BYTES as u64)?
                as i64,
            per_check_in: number(&get, "PHOTOS_PER_CHECK_IN", 10)? as i64,
            per_patient: number(&get, "PHOTOS_PER_PATIENT", 500)? as i64,
            uploads_per_window: number(&get, "PHOTO_UPLOADS_PER_WINDOW", 60)? as i64,
            upload_timeout: Duration::from_secs(at_most(&get, "PHOTO_UPLOAD_TIMEOUT_SECONDS", 300, 3600)?),
            sweep_interval: Duration::from_secs(number(&get, "PHOTO_SWEEP_SECONDS", 600)?),
            sweep_grace: Duration::from_secs(number(&get, "PHOTO_SWEEP_GRACE_SECONDS", 3600)?),
            rendition_poll: Duration::from_millis(at_most(&get, "PHOTO_RENDITION_POLL_MS", 1000, 60_000)?),
        };
        let trusted_proxies = crate::client_addr::parse_networks(&get("TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|e| StartupError::Config(format!("TRUSTED_PROXIES: {e}")))?;
        Ok(Settings {
            database_url: get("DATABASE_URL")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "sqlite://aftercare.db".to_string()),
            bind_addr,
            jwt_secret,
            access_token_ttl: Duration::from_secs(number(&get, "ACCESS_TOKEN_TTL_SECONDS", 900)?),
            refresh_token_ttl: Duration::from_secs(number(&get, "REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)?),
            refresh_retry_grace: Duration::from_secs(number(&get, "REFRESH_RETRY_GRACE_SECONDS", 30)?),
            invite_ttl: Duration::from_secs(at_most(&get, "INVITE_TTL_SECONDS", 7 * 24 * 3600, 90 * 24 * 3600)?),
            // Twice the cores: more connections working at once than the machine can run only
            // queue inside the database, where a preempted lock holder stalls everyone.
            db_pool_size: number(&get, "DATABASE_POOL_SIZE", 2 * cpus as u64)? as u32,
            // Half the cores: a burst of logins never takes the cores answering other requests.
            max_concurrent_hashes: number(&get, "MAX_CONCURRENT_HASHES", (cpus as u64 / 2).max(1))? as usize,
            log_format,
            shutdown_timeout: Duration::from_secs(number(&get, "SHUTDOWN_TIMEOUT_SECONDS", 30)?),
            json_body_limit: number(&get, "MAX_BODY_BYTES", 64 * 1024)? as usize,
            idempotency_wait_ms: number(&get, "IDEMPOTENCY_WAIT_MS", 2000)?,
            login_failures_per_account: number(&get, "LOGIN_FAILURES_PER_ACCOUNT", 5)? as i64,
            login_failures_per_client: number(&get, "LOGIN_FAILURES_PER_CLIENT", 50)? as i64,
            login_window: Duration::from_secs(number(&get, "LOGIN_WINDOW_SECONDS", 15 * 60)?),
            login_attempts_per_account: number(&get, "LOGIN_ATTEMPTS_PER_ACCOUNT", 20)? as i64,
            trusted_proxies,
            cors_allowed_origins,
            audit_key,
            audit_checkpoint_path: get("AUDIT_CHECKPOINT_PATH").filter(|s| !s.is_empty()).map(Into::into),
            audit_checkpoint_interval: Duration::from_secs(number(&get, "AUDIT_CHECKPOINT_SECONDS", 60)?),
            audit_checkpoint_events: number(&get, "AUDIT_CHECKPOINT_EVENTS", 10_000)?,
            request_head_timeout: Duration::from_secs(number(&get, "REQUEST_HEAD_TIMEOUT_SECONDS", 5)?),
            request_body_timeout: Duration::from_secs(number(&get, "REQUEST_BODY_TIMEOUT_SECONDS", 10)?),
            keep_alive: Duration::from_secs(number(&get, "KEEP_ALIVE_SECONDS", 5)?),
            max_connections: number(&get, "MAX_CONNECTIONS", 4096)? as usize,
            mail,
            password_reset_ttl: Duration::from_secs(at_most(&get, "PASSWORD_RESET_TTL_SECONDS", 3600, 7 * 24 * 3600)?),
            password_resets_per_account: number(&get, "PASSWORD_RESETS_PER_ACCOUNT", 3)? as i64,
            invite_tokens_in_answers,
            public_base_url,
            console_secure_cookies,
            photos,
        })
    }
}

/// `number`, no larger than `max` (a one-time token valid for years, or a wait of days, is a mistake).
fn at_most(get: &impl Fn(&str) -> Option<String>, key: &str, default: u64, max: u64) -> Result<u64, StartupError> {
    match number(get, key, default)? {
        value if value <= max => Ok(value),
        value => Err(StartupError::Config(format!("{key} must be at most {max}, not {value}"))),
    }
}

fn number(get: &impl Fn(&str) -> Option<String>, key: &str, default: u64) -> Result<u64, StartupError> {
    match get(key).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u64>() {
            Ok(value) if value > 0 => Ok(value),
            _ => Err(StartupError::Config(format!("{key} must be a positive whole number, not `{raw}`"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, StartupError> {
        Settings::from_lookup(|key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_serve_sqlite_on_loopback() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database_url, "sqlite://aftercare.db");
        assert_eq!(s.bind_addr, "127.0.0.1:8080");
        assert!(s.jwt_secret.is_none());
        assert_eq!(s.access_token_ttl, Duration::from_secs(900));
    }

    #[test]
    fn short_jwt_secret_is_refused() {
        let err = settings(&[("JWT_SECRET", "too-short")]).err().unwrap();
        assert!(err.to_string().contains("at least 32 bytes"));
    }

    #[test]
    fn short_audit_key_is_refused() {
        let err = settings(&[("AUDIT_KEY", "too-short")]).err().unwrap();
        assert!(err.to_string().contains("AUDIT_KEY must be at least 32 bytes"));
        assert!(settings(&[]).unwrap().audit_key.is_none());
    }

    #[test]
    fn mail_settings_are_checked_at_start() {
        assert!(settings(&[("MAIL_FROM", "not an address")]).err().unwrap().to_string().contains("MAIL_FROM"));
        assert!(settings(&[("MAIL_FROM", "Clinic <care@clinic.example>")]).is_ok());
        assert!(settings(&[("PASSWORD_RESET_TTL_SECONDS", "99999999999")]).is_err());
        assert!(settings(&[("MAIL_RETRY_SECONDS", "86400")]).is_err());
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert!(settings(&[("DATABASE_POOL_SIZE", "many")]).is_err());
        assert!(settings(&[("ACCESS_TOKEN_TTL_SECONDS", "0")]).is_err());
    }

    #[test]
    fn trusted_proxies_are_cidrs() {
        assert!(settings(&[]).unwrap().trusted_proxies.is_empty());
        assert_eq!(settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, ::1")]).unwrap().trusted_proxies.len(), 2);
        assert!(
            settings(&[("TRUSTED_PROXIES", "proxy.internal")]).err().unwrap().to_string().contains("TRUSTED_PROXIES")
        );
    }

    #[test]
    fn the_public_base_url_is_a_url_without_a_trailing_slash() {
        assert!(settings(&[]).unwrap().public_base_url.is_none());
        let s = settings(&[("PUBLIC_BASE_URL", "https://care.example.com/")]).unwrap();
        assert_eq!(s.public_base_url.as_deref(), Some("https://care.example.com"));
        for bad in ["care.example.com", "ftp://x", "https://", "https://a b"] {
            assert!(settings(&[("PUBLIC_BASE_URL", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_redacted_for_logs() {
        assert_eq!(redact_url("postgres://app:secret@db:5432/aftercare"), "postgres://app:***@db:5432/aftercare");
        assert_eq!(redact_url("sqlite://aftercare.db"), "sqlite://aftercare.db");
    }
}
