//! Storage: one connection type over SQLite and PostgreSQL, a bounded pool, migrations, and the
//! ways handlers reach the database: `Database::run` (any work, on the blocking pool),
//! `Database::read` (short reads) and `Database::write` (write transactions).

mod group_commit;
mod readers;
pub mod schema;

use std::time::Duration;

use actix_web::web;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{AppError, StartupError};
use group_commit::GroupCommitter;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the connection's own backend type (`SqliteConnection` or
/// `PgConnection`). For hot queries: on the multi-backend connection diesel finds a prepared
/// statement by serialising the query to SQL on every execution; on a backend's own connection it
/// finds it by the query's type.
#[macro_export]
macro_rules! natively {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgres($c) => $body,
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is, parsed from `DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A file path (from `sqlite://PATH` or a bare path).
    Sqlite(String),
    Postgres(String),
}

impl Target {
    pub fn parse(url: &str) -> Target {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Target::Postgres(url.to_string())
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            Target::Sqlite(path.to_string())
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Settings every SQLite connection gets: FULL sync so an acknowledged write survives a power cut,
/// a busy timeout so writers queue instead of failing, foreign keys enforced.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/// WAL, so readers never block the writer. It is a property of the database file, set once before
/// the pool opens its connections (several connections switching it at once would collide).
const SQLITE_WAL: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;";

/// Opens connections of exactly the configured backend (never falls back to another).
#[derive(Clone)]
pub struct Manager {
    target: Target,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            Target::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS).map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Target::Postgres(url) => {
                diesel::PgConnection::establish(url).map(DbConnection::Postgres).map_err(r2d2::Error::ConnectionError)
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// The handle every request uses to reach the database.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
    /// SQLite only: the thread that commits writes in groups.
    committer: Option<GroupCommitter>,
    /// SQLite only: where each worker thread opens its own connection for short reads.
    readers: Option<readers::Readers>,
}

impl Database {
    pub fn connect(url: &str, pool_size: u32) -> Result<Database, StartupError> {
        let target = Target::parse(url);
        let backend = target.backend();
        if let Target::Sqlite(path) = &target {
            diesel::SqliteConnection::establish(path)
                .and_then(|mut conn| {
                    conn.batch_execute(SQLITE_WAL).map_err(diesel::ConnectionError::CouldntSetupConfiguration)
                })
                .map_err(|e| StartupError::Database(format!("{path}: {e}")))?;
        }
        let readers = matches!(target, Target::Sqlite(_)).then(|| readers::Readers::new(target.clone()));
        let committer = matches!(target, Target::Sqlite(_)).then(|| {
            let manager = Manager { target: target.clone() };
            GroupCommitter::start(move || manager.connect().map_err(|e| e.to_string()))
        });
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager { target })
            .map_err(|e| StartupError::Database(e.to_string()))?;
        Ok(Database { pool, backend, committer, readers })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs blocking database work on the blocking thread pool, inside the caller's tracing span
    /// (so its log lines carry the request id).
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }

    /// SQLite only: (commits, writes) the group committer has made so far.
    pub fn group_commits(&self) -> Option<(u64, u64)> {
        self.committer.as_ref().map(GroupCommitter::committed)
    }

    /// Runs a short read: a few lookups by key or index, no writes. On SQLite it runs right here
    /// on the calling worker thread, on that thread's own read-only connection: a lookup in the
    /// page cache costs less than handing the work to another thread and back (and in WAL mode a
    /// reader never waits for a writer). On PostgreSQL, where every query is a network round
    /// trip, it goes to the blocking pool like `run`.
    pub async fn read<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.readers {
            Some(readers) => readers.with_connection(work),
            None => self.run(work).await,
        }
    }

    /// Runs `work` in a write transaction, answering once it is committed. On SQLite, writes
    /// that arrive together share one commit (see `group_commit`); on PostgreSQL, which commits
    /// concurrent transactions in parallel, each has its own.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.committer {
            Some(committer) => committer.write(work).await,
            None => self.run(move |conn| write_transaction(conn, work)).await,
        }
    }

    /// Applies every pending migration; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StartupError> {
        let mut conn = self.pool.get().map_err(|e| StartupError::Database(e.to_string()))?;
        run_migrations(&mut conn).map_err(StartupError::Database)
    }
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that keeps replicas starting together from migrating twice.
const MIGRATION_LOCK_KEY: i64 = 0x4166_7465_7263_6172;

pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let applied = match conn {
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE_MIGRATIONS).map(|versions| versions.iter().map(|v| v.to_string()).collect())
        }
        DbConnection::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .map_err(|e| e.to_string())?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(|v| v.to_string()).collect());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .map_err(|e| e.to_string())?;
            result
        }
    };
    applied.map_err(|e| e.to_string())
}

/// Reverts every applied migration (used by the migration round-trip test).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<(), String> {
    match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| e.to_string())
}

fn sqlite_of(conn: &mut DbConnection) -> Option<&mut diesel::SqliteConnection> {
    match conn {
        DbConnection::Sqlite(c) => Some(c),
        DbConnection::Postgres(_) => None,
    }
}

static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `work` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so writers queue on the
/// busy timeout up front instead of failing with "database is locked" when a read upgrades.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let Some(sqlite) = sqlite_of(conn) else {
        return conn.transaction(work);
    };
    let depth = AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?;
    if depth.is_some() {
        // Already inside a write transaction: nest as a savepoint.
        return conn.transaction(work);
    }
    // SQLite has one writer at a time. Queueing this process's writers on a lock hands the write
    // lock over in order at once, where SQLite's busy handler would have them sleep and poll.
    let _writer = SQLITE_WRITER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = work(conn);
    let sqlite = sqlite_of(conn).expect("a connection does not change its backend");
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = AnsiTransactionManager::rollback_transaction(sqlite) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

/// `SELECT 1`: does the database answer?
pub fn ping(conn: &mut DbConnection) -> Result<(), AppError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(Target::parse("sqlite://aftercare.db"), Target::Sqlite("aftercare.db".into()));
        assert_eq!(Target::parse("/tmp/x.db"), Target::Sqlite("/tmp/x.db".into()));
        assert_eq!(Target::parse("postgres://u@h/db"), Target::Postgres("postgres://u@h/db".into()));
        assert_eq!(Target::parse("postgresql://h/db").backend(), Backend::Postgres);
    }
}
