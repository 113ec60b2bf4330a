//! Write transactions, and SQLite's one writer at a time.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::DbConnection;

/// SQLite has one writer at a time. This process's writers to one database queue on its
/// `Writer`, which hands the write lock over in order at once, where SQLite's busy handler would
/// have them sleep and poll.
#[derive(Clone, Default)]
pub struct Writer(Arc<Mutex<()>>);

thread_local! {
    /// The writer of the database this thread is working for. `write_transaction` is given only a
    /// connection, which cannot say which database it belongs to, so the database lends its
    /// writer to the thread while the thread holds one of its connections.
    static LENT: RefCell<Option<Writer>> = const { RefCell::new(None) };
}

impl Writer {
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lends this writer to the current thread until the returned guard is dropped.
    pub fn lend(&self) -> Lent {
        Lent { previous: LENT.replace(Some(self.clone())), _this_thread: PhantomData }
    }
}

/// Takes the lent writer back (restoring whatever was lent before) when dropped.
pub struct Lent {
    previous: Option<Writer>,
    /// Not `Send`: the loan is to the thread that made it.
    _this_thread: PhantomData<*const ()>,
}

impl Drop for Lent {
    fn drop(&mut self) {
        LENT.set(self.previous.take());
    }
}

pub(super) fn sqlite_of(conn: &mut DbConnection) -> Option<&mut diesel::SqliteConnection> {
    match conn {
        DbConnection::Sqlite(c) => Some(c),
        DbConnection::Postgres(_) => None,
    }
}

/// Runs `work` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so writers queue on the
/// busy timeout up front instead of failing with "database is locked" when a read upgrades; and
/// on the database's `Writer`, when one is lent to this thread.
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
    let writer = LENT.with_borrow(Clone::clone);
    let _queued = writer.as_ref().map(Writer::lock);
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
