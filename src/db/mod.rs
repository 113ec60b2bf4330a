//! Storage: one connection type over SQLite and PostgreSQL, a bounded pool, migrations, and the
//! ways handlers reach the database: `Database::run` (any work, on the blocking pool),
//! `Database::read` (short reads) and `Database::write` (write transactions).

mod group_commit;
mod migrations;
mod readers;
pub mod schema;
mod transaction;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, PoolError, R2D2Connection};

use crate::error::{AppError, StartupError};
use group_commit::GroupCommitter;
pub use migrations::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, revert_all_migrations, run_migrations};
use readers::Readers;
pub use transaction::write_transaction;
use transaction::{Lent, Writer};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the connection's own backend type (`SqliteConnection` or
/// `PgConnection`). For hot queries: on the multi-backend connection diesel finds a prepared
/// statement by serialising the query to SQL on every execution; on a backend's own connection it
/// finds it by the query's type.
macro_rules! natively {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgres($c) => $body,
        }
    };
}
pub(crate) use natively;

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

/// How work reaches the database, which depends on the engine.
#[derive(Clone)]
enum Engine {
    /// One writer at a time: writes share commits through the committer thread, other write
    /// transactions queue on `writer`, and short reads run on each worker thread's own connection.
    Sqlite { committer: GroupCommitter, readers: Readers, writer: Writer },
    /// Transactions commit in parallel: all work goes through the pool.
    Postgres,
}

impl Engine {
    fn open(target: &Target) -> Result<Engine, StartupError> {
        let Target::Sqlite(path) = target else { return Ok(Engine::Postgres) };
        diesel::SqliteConnection::establish(path)
            .and_then(|mut conn| {
                conn.batch_execute(SQLITE_WAL).map_err(diesel::ConnectionError::CouldntSetupConfiguration)
            })
            .map_err(|e| StartupError::Database(format!("{path}: {e}")))?;
        let writer = Writer::default();
        let manager = Manager { target: target.clone() };
        let committer = GroupCommitter::start(writer.clone(), move || manager.connect().map_err(|e| e.to_string()));
        Ok(Engine::Sqlite { committer, readers: Readers::new(target.clone()), writer })
    }

    fn writer(&self) -> Option<&Writer> {
        match self {
            Engine::Sqlite { writer, .. } => Some(writer),
            Engine::Postgres => None,
        }
    }
}

/// The handle every request uses to reach the database.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    engine: Engine,
}

/// A connection from the pool. While it is held, its database's writer is lent to this thread
/// (see `transaction`).
pub struct HeldConnection {
    pooled: r2d2::PooledConnection<Manager>,
    _writer: Option<Lent>,
}

impl HeldConnection {
    fn take(pool: &Pool, writer: Option<&Writer>) -> Result<HeldConnection, PoolError> {
        Ok(HeldConnection { pooled: pool.get()?, _writer: writer.map(Writer::lend) })
    }
}

impl Deref for HeldConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.pooled
    }
}

impl DerefMut for HeldConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.pooled
    }
}

impl Database {
    pub fn connect(url: &str, pool_size: u32) -> Result<Database, StartupError> {
        let target = Target::parse(url);
        let engine = Engine::open(&target)?;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager { target })?;
        Ok(Database { pool, engine })
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A connection for work on this thread outside a request: start-up, commands, the audit
    /// writer. Request handlers use `run`, `read` and `write`.
    pub fn connection(&self) -> Result<HeldConnection, PoolError> {
        HeldConnection::take(&self.pool, self.engine.writer())
    }

    /// Runs blocking database work on the blocking thread pool, inside the caller's tracing span
    /// (so its log lines carry the request id).
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let writer = self.engine.writer().cloned();
        let span = tracing::Span::current();
        web::block(move || {
            let _entered = span.enter();
            let mut conn = HeldConnection::take(&pool, writer.as_ref())?;
            work(&mut conn)
        })
        .await?
    }

    /// SQLite only: (commits, writes) the group committer has made so far.
    pub fn group_commits(&self) -> Option<(u64, u64)> {
        match &self.engine {
            Engine::Sqlite { committer, .. } => Some(committer.committed()),
            Engine::Postgres => None,
        }
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
        match &self.engine {
            Engine::Sqlite { readers, .. } => readers.with_connection(work),
            Engine::Postgres => self.run(work).await,
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
        match &self.engine {
            Engine::Sqlite { committer, .. } => committer.write(work).await,
            Engine::Postgres => self.run(move |conn| write_transaction(conn, work)).await,
        }
    }

    /// Applies every pending migration; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StartupError> {
        let mut conn = self.connection()?;
        run_migrations(&mut conn).map_err(StartupError::Database)
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
        assert_eq!(Target::parse("postgresql://h/db"), Target::Postgres("postgresql://h/db".into()));
    }
}
