//! SQLite group commit: write transactions that arrive together share one commit.
//!
//! SQLite commits one transaction at a time, and with `synchronous = FULL` every commit waits for
//! the disk. So requests hand their writes to one committer thread. It takes every write waiting
//! in its queue, runs each in its own savepoint inside one `BEGIN IMMEDIATE` transaction (a write
//! that fails rolls back alone), commits once, and only then answers each request: nothing is
//! acknowledged before it is on disk. No write waits for company; a batch is whatever queued up
//! while the previous commit was going to disk.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use tokio::sync::oneshot;

use super::DbConnection;
use super::transaction::{Writer, sqlite_of};
use crate::error::AppError;

/// At most this many writes share a commit, so one batch cannot hold the write lock for long.
const MAX_BATCH: usize = 128;

/// Answers one request once the fate of its batch is known.
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One request's write: runs it in the open transaction and returns how to answer the request.
type Job = Box<dyn FnOnce(&mut DbConnection) -> Reply + Send>;

#[derive(Clone)]
pub struct GroupCommitter {
    queue: mpsc::Sender<Job>,
    committed: Arc<Committed>,
}

/// What has been committed so far: writes per commit is how much grouping saves.
#[derive(Default)]
pub struct Committed {
    pub commits: AtomicU64,
    pub writes: AtomicU64,
}

impl GroupCommitter {
    /// Starts the committer thread; it opens its connection with `connect` when the first write
    /// arrives (after migrations), and again after a failure. Each batch queues on `writer` with
    /// the database's other writers. It stops when every handle is gone.
    pub fn start(
        writer: Writer,
        connect: impl Fn() -> Result<DbConnection, String> + Send + 'static,
    ) -> GroupCommitter {
        let (queue, incoming) = mpsc::channel();
        let committed = Arc::new(Committed::default());
        let counts = committed.clone();
        std::thread::Builder::new()
            .name("sqlite-committer".into())
            .spawn(move || commit_batches(&writer, connect, incoming, &counts))
            .expect("the committer thread starts");
        GroupCommitter { queue, committed }
    }

    /// (commits, writes) so far.
    pub fn committed(&self) -> (u64, u64) {
        (self.committed.commits.load(Ordering::Relaxed), self.committed.writes.load(Ordering::Relaxed))
    }

    /// Runs `work` in a write transaction and returns its result once that transaction is
    /// committed. An `Err` from `work` rolls back only `work`'s own changes.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |conn| {
            let outcome = {
                let _entered = span.enter();
                // Inside the batch's transaction this is a savepoint.
                conn.transaction(work)
            };
            Box::new(move |committed: Result<(), String>| {
                let _ = answer.send(committed.map_err(AppError::internal).and(outcome));
            })
        });
        self.queue.send(job).map_err(|_| AppError::internal("the committer thread has stopped"))?;
        answered.await.map_err(|_| AppError::internal("the write was abandoned: its batch failed"))?
    }
}

fn commit_batches(
    writer: &Writer,
    connect: impl Fn() -> Result<DbConnection, String>,
    incoming: mpsc::Receiver<Job>,
    committed: &Committed,
) {
    let mut connection: Option<DbConnection> = None;
    while let Ok(first) = incoming.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if connection.is_none() {
            match connect() {
                Ok(conn) => connection = Some(conn),
                Err(err) => {
                    // Dropping the jobs answers their requests with an error.
                    tracing::error!(error = %err, writes = jobs.len(), "the committer cannot open the database");
                    continue;
                }
            }
        }
        let conn = connection.as_mut().expect("opened above");
        if let Err(err) = run_batch(writer, conn, jobs, committed) {
            // The connection's transaction state is unknown: start over with a new one.
            tracing::error!(error = %err, "a write batch failed; reopening the committer's connection");
            connection = None;
        }
    }
}

/// One transaction for all of `jobs`. An `Err` means the connection should not be reused.
fn run_batch(writer: &Writer, conn: &mut DbConnection, jobs: Vec<Job>, committed: &Committed) -> Result<(), String> {
    let Some(sqlite) = sqlite_of(conn) else { return Err("group commit is for SQLite only".into()) };
    let _queued = writer.lock();
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE").map_err(|e| e.to_string())?;
    let mut replies = Vec::with_capacity(jobs.len());
    for job in jobs {
        match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(reply) => replies.push(reply),
            // A panic left its savepoint open; the batch cannot be trusted. Dropping the replies
            // answers every request of it with an error, and dropping the connection rolls back.
            Err(_) => return Err("a write panicked".into()),
        }
    }
    let sqlite = sqlite_of(conn).expect("a connection does not change its backend");
    let outcome = AnsiTransactionManager::commit_transaction(sqlite).map_err(|e| e.to_string());
    if outcome.is_ok() {
        committed.commits.fetch_add(1, Ordering::Relaxed);
        committed.writes.fetch_add(replies.len() as u64, Ordering::Relaxed);
    }
    for reply in replies {
        reply(outcome.clone());
    }
    // After a failed commit the connection is dropped, which rolls back whatever is left open.
    outcome
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::r2d2::ManageConnection;

    use super::*;
    use crate::db::{Manager, Target};

    fn numbers(conn: &mut DbConnection) -> Vec<i64> {
        diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT n FROM t ORDER BY n").load(conn).unwrap()
    }

    #[actix_web::test]
    async fn writes_that_wait_together_share_one_commit_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let manager = Manager { target: Target::Sqlite(dir.path().join("t.db").display().to_string()) };
        let mut check = manager.connect().unwrap();
        check.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER PRIMARY KEY);").unwrap();
        let opener = manager.clone();
        let writer = Writer::default();
        let committer = GroupCommitter::start(writer.clone(), move || opener.connect().map_err(|e| e.to_string()));

        // While another thread holds the write lock, the committer waits with the first write and
        // the other nine queue up behind it.
        let (locked, release) = (mpsc::channel(), mpsc::channel::<()>());
        let holder = std::thread::spawn(move || {
            let _queued = writer.lock();
            locked.0.send(()).unwrap();
            release.1.recv().unwrap();
        });
        locked.1.recv().unwrap();
        let writes: Vec<_> = (0..10_i64)
            .map(|n| {
                let committer = committer.clone();
                actix_web::rt::spawn(async move {
                    committer
                        .write(move |conn| {
                            // Write 7 collides with write 0; write 3 writes, then changes its mind.
                            let value = if n == 7 { 0 } else { n };
                            diesel::sql_query(format!("INSERT INTO t (n) VALUES ({value})")).execute(conn)?;
                            if n == 3 { Err(AppError::Conflict("changed its mind".into())) } else { Ok(n) }
                        })
                        .await
                })
            })
            .collect();
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        assert!(numbers(&mut check).is_empty(), "nothing is visible before its commit");
        release.0.send(()).unwrap();
        holder.join().unwrap();

        let mut answers = Vec::new();
        for write in writes {
            answers.push(write.await.unwrap());
        }
        for (n, answer) in answers.iter().enumerate() {
            match n {
                3 | 7 => assert!(answer.is_err(), "write {n}: {answer:?}"),
                _ => assert_eq!(answer.as_ref().ok(), Some(&(n as i64))),
            }
        }
        assert_eq!(numbers(&mut check), [0, 1, 2, 4, 5, 6, 8, 9], "a failed write rolls back alone");
        let (commits, writes) = committer.committed();
        assert_eq!(writes, 10);
        assert!(commits <= 2, "ten queued writes took {commits} commits");
    }
}
