//! SQLite connections owned by the threads that read through them, one per thread and database.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::SimpleConnection;
use diesel::r2d2::ManageConnection;

use super::{DbConnection, Manager, Target};
use crate::error::AppError;

/// A reader refuses writes, so a read that writes by mistake fails instead of writing outside the
/// committer. In WAL mode a reader waits only in rare cases (another process holding the database
/// exclusively); it runs on an HTTP worker, which must not stall for the pool's 10 s, so it gives up
/// after 250 ms and the request is answered 503.
const READER_PRAGMAS: &str = "PRAGMA query_only = ON; PRAGMA busy_timeout = 250;";

static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's reader of each database it has read, by `Readers::database`.
    static CONNECTIONS: RefCell<HashMap<u64, DbConnection>> = RefCell::new(HashMap::new());
}

#[derive(Clone)]
pub struct Readers {
    /// Tells this database's connections apart from other databases' (tests run many servers
    /// in one process).
    database: u64,
    manager: Manager,
}

impl Readers {
    pub fn new(target: Target) -> Readers {
        Readers { database: NEXT_DATABASE.fetch_add(1, Ordering::Relaxed), manager: Manager { target } }
    }

    /// Runs `work` on this thread's reader, opening it first if needed. A reader that errs is
    /// closed, so the next read starts from a fresh connection.
    pub fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = match CONNECTIONS.with_borrow_mut(|open| open.remove(&self.database)) {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = work(&mut conn);
        if !matches!(result, Err(AppError::Internal(_)) | Err(AppError::Unavailable(_))) {
            CONNECTIONS.with_borrow_mut(|open| open.insert(self.database, conn));
        }
        result
    }

    fn open(&self) -> Result<DbConnection, AppError> {
        let mut conn = self.manager.connect().map_err(AppError::internal)?;
        conn.batch_execute(READER_PRAGMAS)?;
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;

    /// A database in `dir` with an empty table `t`, set up by a connection of its own (returned)
    /// after `setup`, and readers of it.
    fn database_with_table(dir: &tempfile::TempDir, setup: &str) -> (DbConnection, Readers) {
        let target = Target::Sqlite(dir.path().join("t.db").display().to_string());
        let mut conn = Manager { target: target.clone() }.connect().unwrap();
        conn.batch_execute(&format!("{setup} CREATE TABLE t (n INTEGER);")).unwrap();
        (conn, Readers::new(target))
    }

    fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
        Ok(diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM t").get_result(conn)?)
    }

    #[test]
    fn a_reader_sees_every_commit_at_once_and_refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, readers) = database_with_table(&dir, "PRAGMA journal_mode = WAL;");

        assert_eq!(readers.with_connection(count).unwrap(), 0);
        writer.batch_execute("INSERT INTO t VALUES (1);").unwrap();
        assert_eq!(readers.with_connection(count).unwrap(), 1, "the kept connection reads the latest commit");
        let wrote = readers.with_connection(|conn| Ok(diesel::sql_query("INSERT INTO t VALUES (2)").execute(conn)?));
        assert!(wrote.is_err());
        assert_eq!(readers.with_connection(count).unwrap(), 1);
    }

    #[test]
    fn a_reader_gives_up_quickly_on_a_database_held_exclusively() {
        // In WAL mode that takes another process in exclusive locking mode; a rollback-journal
        // database held by `BEGIN EXCLUSIVE` makes a reader wait the same way.
        let dir = tempfile::tempdir().unwrap();
        let (mut holder, readers) = database_with_table(&dir, "");
        assert_eq!(readers.with_connection(count).unwrap(), 0);
        holder.batch_execute("BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);").unwrap();

        let started = std::time::Instant::now();
        let read = readers.with_connection(count);
        assert!(matches!(read, Err(AppError::Unavailable(_))), "{read:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "waited {:?}", started.elapsed());
        holder.batch_execute("COMMIT;").unwrap();
        assert_eq!(readers.with_connection(count).unwrap(), 1, "a fresh reader after the failure");
    }
}
