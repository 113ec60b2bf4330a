//! Login and activation throttling, in the database so every replica counts alike.
//!
//! An attempt is *reserved* before any password is hashed: one upsert per counter
//! (`INSERT … ON CONFLICT DO UPDATE SET attempts = attempts + 1 … RETURNING`), all in one
//! transaction. The database serialises upserts of the same row, so however many requests arrive
//! at once, on however many servers, each sees the count the ones before it left; a refused
//! attempt is rolled back and leaves no trace. A reserved attempt counts as a failure until the
//! password turns out right; a success then takes back its own attempt and clears nothing else,
//! so a correct password inside an attacker's burst does not reset the attacker's count.
//!
//! A login is counted three times:
//! - **pair** (account, client): `free_per_pair` attempts, then each further one waits twice as
//!   long as the one before (1 s, 2 s, 4 s … at most the window) after the previous attempt. The
//!   pair is forgotten after a window without attempts.
//! - **account**: `per_account` attempts per fixed window from all clients together. Clients that
//!   have already tried the account share the first half; the second half is kept for clients with
//!   no recent attempt at it, so the owner at their usual address still gets in while guesses come
//!   from elsewhere, and distributed guessing is still bounded.
//! - **client** address: `per_client` attempts per fixed window, over every account.
//!
//! Accounts are keyed on the SHA-256 of the normalised e-mail, whether or not an account has it.

use std::net::IpAddr;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::auth::tokens::token_hash;
use crate::config::LoginLimits;
use crate::db::DbConnection;
use crate::db::schema::login_attempts;
use crate::error::AppError;

/// Activation attempts one invitation may have per window (a double submit, a retry).
pub const ATTEMPTS_PER_INVITE: i64 = 3;

/// A client address as counted: an IPv4 address, or an IPv6 address's /64 (one subscriber's
/// network: the interface half is the client's to choose).
pub fn client_key(client: Option<IpAddr>) -> String {
    match client {
        Some(IpAddr::V6(v6)) => ipnet::Ipv6Net::new(v6, 64).map(|net| net.trunc().to_string()).unwrap_or_default(),
        Some(v4) => v4.to_string(),
        None => "unknown".into(),
    }
}

/// The counters a login attempt is reserved in.
pub struct LoginBuckets {
    pair: String,
    account: String,
    client: String,
}

impl LoginBuckets {
    pub fn new(email: &str, client: Option<IpAddr>) -> LoginBuckets {
        let (account, client) = (token_hash(email), client_key(client));
        LoginBuckets {
            pair: format!("pair:{account}:{client}"),
            account: format!("account:{account}"),
            client: format!("client:{client}"),
        }
    }

    fn all(&self) -> [&str; 3] {
        [&self.pair, &self.account, &self.client]
    }
}

pub fn activation_bucket(client: Option<IpAddr>) -> String {
    format!("activate:{}", client_key(client))
}

/// Wrong current passwords given to change an account's password.
pub fn password_change_bucket(user_id: &str) -> String {
    format!("password-change:{user_id}")
}

/// Reset messages sent to one account.
pub fn reset_bucket(user_id: &str) -> String {
    format!("reset:{user_id}")
}

/// Reset requests from one client address, whatever the addresses asked for.
pub fn reset_client_bucket(client: Option<IpAddr>) -> String {
    format!("reset-client:{}", client_key(client))
}

pub fn invite_bucket(token: &str) -> String {
    format!("invite:{}", token_hash(token))
}

/// Reserves a login attempt, or answers how many seconds the client must wait (and reserves
/// nothing). Call it inside a write transaction.
pub fn reserve_login(
    conn: &mut DbConnection,
    buckets: &LoginBuckets,
    now: NaiveDateTime,
    limits: &LoginLimits,
) -> Result<Option<u64>, AppError> {
    refused_as_wait(conn.transaction(|conn| {
        let pair = bump(conn, &buckets.pair, now, limits.window, Window::Sliding)?;
        let account = bump(conn, &buckets.account, now, limits.window, Window::Fixed)?;
        let client = bump(conn, &buckets.client, now, limits.window, Window::Fixed)?;
        let new_to_account = pair.before() == 0;
        let account_limit = if new_to_account { limits.per_account } else { limits.per_account / 2 };
        let waits = [
            pair.backoff_until(limits.free_per_pair, limits.window),
            account.window_end_if(account_limit, limits.window),
            client.window_end_if(limits.per_client, limits.window),
        ];
        refuse_until(waits.into_iter().flatten().max(), now)
    }))
}

/// Reserves one attempt in a plain fixed-window counter of `limit` per window, or answers how many
/// seconds to wait (and reserves nothing). Call it inside a write transaction.
pub fn reserve(
    conn: &mut DbConnection,
    bucket: &str,
    now: NaiveDateTime,
    window: Duration,
    limit: i64,
) -> Result<Option<u64>, AppError> {
    refused_as_wait(conn.transaction(|conn| {
        let counted = bump(conn, bucket, now, window, Window::Fixed)?;
        refuse_until(counted.window_end_if(limit, window), now)
    }))
}

/// A success takes back the attempt it reserved in each of `buckets`.
pub fn succeeded(conn: &mut DbConnection, buckets: &[&str]) -> Result<(), AppError> {
    diesel::update(
        login_attempts::table.filter(login_attempts::bucket.eq_any(buckets)).filter(login_attempts::attempts.gt(0)),
    )
    .set(login_attempts::attempts.eq(login_attempts::attempts - 1))
    .execute(conn)?;
    Ok(())
}

pub fn login_succeeded(conn: &mut DbConnection, buckets: &LoginBuckets) -> Result<(), AppError> {
    succeeded(conn, &buckets.all())
}

/// Forgets counters with no attempt for a whole window (they would start afresh anyway).
pub fn expire(conn: &mut DbConnection, now: NaiveDateTime, window: Duration) -> Result<usize, AppError> {
    Ok(diesel::delete(login_attempts::table.filter(login_attempts::last_at.le(now - window))).execute(conn)?)
}

/// Refuses the attempt when `until` is still to come.
fn refuse_until(until: Option<NaiveDateTime>, now: NaiveDateTime) -> Result<(), AppError> {
    match until.filter(|until| *until > now) {
        Some(until) => Err(AppError::TooManyRequests { retry_after_secs: seconds_until(until, now) }),
        None => Ok(()),
    }
}

fn refused_as_wait(reserved: Result<(), AppError>) -> Result<Option<u64>, AppError> {
    match reserved {
        Ok(()) => Ok(None),
        Err(AppError::TooManyRequests { retry_after_secs }) => Ok(Some(retry_after_secs)),
        Err(other) => Err(other),
    }
}

/// Whole seconds, rounded up, at least one.
fn seconds_until(until: NaiveDateTime, now: NaiveDateTime) -> u64 {
    let millis = (until - now).num_milliseconds().max(1) as u64;
    millis.div_ceil(1000)
}

/// The wait after `failures` attempts of which `free` cost none: 1 s, 2 s, 4 s … at most `cap`.
fn backoff(failures: i64, free: i64, cap: Duration) -> Option<Duration> {
    let beyond = failures - free;
    (beyond >= 0).then(|| Duration::seconds(1i64 << beyond.min(40)).min(cap))
}

#[derive(Clone, Copy)]
enum Window {
    /// Forgotten a window after the last attempt.
    Sliding,
    /// Starts afresh a window after it began.
    Fixed,
}

/// A counter just after this attempt was added.
#[derive(QueryableByName, Debug)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = Timestamp)]
    window_start: NaiveDateTime,
    /// The previous attempt in this window, if any.
    #[diesel(sql_type = Nullable<Timestamp>)]
    prev_at: Option<NaiveDateTime>,
}

impl Counted {
    fn before(&self) -> i64 {
        self.attempts - 1
    }

    /// The end of the window, when the attempts before this one already reached `limit`.
    fn window_end_if(&self, limit: i64, window: Duration) -> Option<NaiveDateTime> {
        (self.before() >= limit).then_some(self.window_start + window)
    }

    /// When this attempt may be made, if that is later than the previous attempt allows.
    fn backoff_until(&self, free: i64, cap: Duration) -> Option<NaiveDateTime> {
        let wait = backoff(self.before(), free, cap)?;
        self.prev_at.map(|prev| prev + wait)
    }
}

/// Adds one attempt to `bucket` (starting it afresh when its window has passed) and returns it.
fn bump(
    conn: &mut DbConnection,
    bucket: &str,
    now: NaiveDateTime,
    window: Duration,
    kind: Window,
) -> Result<Counted, AppError> {
    let stale = match kind {
        Window::Sliding => "login_attempts.last_at <= $3",
        Window::Fixed => "login_attempts.window_start <= $3",
    };
    let sql = format!(
        "INSERT INTO login_attempts (bucket, attempts, window_start, last_at, prev_at) VALUES ($1, 1, $2, $2, NULL) \
         ON CONFLICT (bucket) DO UPDATE SET \
         attempts = CASE WHEN {stale} THEN 1 ELSE login_attempts.attempts + 1 END, \
         window_start = CASE WHEN {stale} THEN $2 ELSE login_attempts.window_start END, \
         prev_at = CASE WHEN {stale} THEN NULL ELSE login_attempts.last_at END, \
         last_at = $2 \
         RETURNING attempts, window_start, prev_at"
    );
    macro_rules! upsert {
        ($sql:expr, $c:expr) => {
            diesel::sql_query($sql)
                .bind::<Text, _>(bucket)
                .bind::<Timestamp, _>(now)
                .bind::<Timestamp, _>(now - window)
                .get_result::<Counted>($c)
        };
    }
    Ok(match conn {
        // SQLite numbers its parameters `?1`, PostgreSQL `$1`.
        DbConnection::Sqlite(c) => upsert!(sql.replace('$', "?"), c)?,
        DbConnection::Postgres(c) => upsert!(sql, c)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap().naive_utc()
    }

    #[test]
    fn waits_double_after_the_free_attempts_up_to_the_window() {
        let cap = Duration::minutes(15);
        let waits: Vec<_> = (0..8).map(|n| backoff(n, 5, cap).map(|d| d.num_seconds())).collect();
        assert_eq!(waits, [None, None, None, None, None, Some(1), Some(2), Some(4)]);
        assert_eq!(backoff(25, 5, cap), Some(cap));
        assert_eq!(backoff(i64::MAX, 5, cap), Some(cap));
    }

    #[test]
    fn counters_refuse_until_their_window_or_backoff_ends() {
        let counted = Counted { attempts: 7, window_start: at(0), prev_at: Some(at(100)) };
        assert_eq!(counted.window_end_if(6, Duration::seconds(900)), Some(at(900)));
        assert_eq!(counted.window_end_if(7, Duration::seconds(900)), None);
        assert_eq!(counted.backoff_until(5, Duration::seconds(900)), Some(at(102)), "the 7th waits 2 s");
        let first = Counted { attempts: 1, window_start: at(0), prev_at: None };
        assert_eq!(first.backoff_until(0, Duration::seconds(900)), None);
        assert_eq!(seconds_until(at(102), at(100)), 2);
        assert_eq!(seconds_until(at(100) + Duration::milliseconds(1), at(100)), 1);
        assert_eq!(seconds_until(at(90), at(100)), 1, "never zero");
        assert!(refuse_until(Some(at(100)), at(100)).is_ok(), "a wait that has ended refuses nothing");
        assert!(matches!(refuse_until(Some(at(102)), at(100)), Err(AppError::TooManyRequests { retry_after_secs: 2 })));
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let v6 = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(client_key(v6("2001:db8:0:1::1")), client_key(v6("2001:db8:0:1:ffff::9")));
        assert_ne!(client_key(v6("2001:db8:0:1::1")), client_key(v6("2001:db8:0:2::1")));
        assert_eq!(client_key(v6("203.0.113.9")), "203.0.113.9");
        assert_eq!(client_key(None), "unknown");
    }
}

#[cfg(test)]
mod storage_tests {
    use super::*;
    use crate::db::Database;

    fn attempts(conn: &mut DbConnection, bucket: &str) -> i64 {
        login_attempts::table.find(bucket).select(login_attempts::attempts).first(conn).unwrap()
    }

    #[actix_web::test]
    async fn a_refused_reservation_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!("sqlite://{}", dir.path().join("t.db").display()), 2).unwrap();
        db.migrate().unwrap();
        let window = Duration::minutes(15);
        for expected in [None, None, Some(900)] {
            let got = db.write(move |conn| reserve(conn, "b", crate::clock::now(), window, 2)).await.unwrap();
            assert_eq!(got, expected);
        }
        let mut conn = db.pool().get().unwrap();
        assert_eq!(attempts(&mut conn, "b"), 2);
    }
}

/// Erasure: forgets the login counters keyed on this e-mail address (`account:` and every
/// `pair:` of it). They hold only its SHA-256, but that identifies the address to anyone who has it.
pub fn forget_account(conn: &mut DbConnection, email: &str, user_id: &str) -> Result<usize, AppError> {
    let account = token_hash(email);
    Ok(diesel::delete(
        login_attempts::table.filter(
            login_attempts::bucket
                .eq(format!("account:{account}"))
                .or(login_attempts::bucket.like(format!("pair:{account}:%")))
                .or(login_attempts::bucket.eq(password_change_bucket(user_id)))
                .or(login_attempts::bucket.eq(reset_bucket(user_id))),
        ),
    )
    .execute(conn)?)
}
