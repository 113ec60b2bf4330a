//! The audit chain against someone with write access to the database: rows rewritten with a
//! recomputed chain, rows removed (TRUNCATE, or DELETE once the guards are dropped), the checkpoint
//! file edited. `aftercare audit verify` must say so, with exit code 1.

use std::process::Command;

use aftercare::db::DbConnection;
use aftercare::db::schema::audit_events;
use aftercare::models::audit::{GENESIS, NewEvent, StoredEvent, chain_hash};
use diesel::prelude::*;
use serde_json::Value;

use crate::support::{JWT_SECRET, TestApp, audit_checkpoint_path, is_postgres, spawn};

/// Runs the real `aftercare audit verify` the way an operator would: same database, same key
/// material (JWT_SECRET), same checkpoint file. Returns (exit code 0?, the JSON report).
fn verify(app: &TestApp) -> (bool, Value) {
    let url = &app.services.state.settings.database_url;
    let out = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("AUDIT_CHECKPOINT_PATH", audit_checkpoint_path(url))
        .env_remove("AUDIT_KEY")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "verify crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

fn assert_broken(app: &TestApp, what: &str) -> Value {
    let (ok, report) = verify(app);
    assert!(!ok, "{what}: verify must fail, reported {report}");
    assert_eq!(report["ok"], false, "{what}: {report}");
    report
}

/// A trail of a few events, all written and anchored by a checkpoint (the flush writes one).
async fn trail() -> TestApp {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    for _ in 0..4 {
        app.get("/v1/me", &admin.token).await;
    }
    app.services.state.audit.flush();
    let (ok, report) = verify(&app);
    assert!(ok, "a clean trail verifies: {report}");
    app
}

fn conn(app: &TestApp) -> diesel::r2d2::PooledConnection<aftercare::db::Manager> {
    app.db.pool().get().unwrap()
}

fn exec(conn: &mut DbConnection, sql: &str) -> QueryResult<usize> {
    diesel::sql_query(sql).execute(conn)
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// What an attacker with the database owner's privileges (or the SQLite file) does first.
fn drop_every_guard(conn: &mut DbConnection) {
    let (list, drop): (&str, fn(&str) -> String) = match conn {
        DbConnection::Sqlite(_) => (
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'",
            |name| format!("DROP TRIGGER {name}"),
        ),
        DbConnection::Postgres(_) => (
            "SELECT tgname::text AS name FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal",
            |name| format!("DROP TRIGGER {name} ON audit_events"),
        ),
    };
    let names: Vec<Name> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(list).load(c).unwrap(),
        DbConnection::Postgres(c) => diesel::sql_query(list).load(c).unwrap(),
    };
    assert!(!names.is_empty(), "the table has guards to drop");
    for name in names {
        exec(conn, &drop(&name.name)).unwrap();
    }
}

fn rows(conn: &mut DbConnection) -> Vec<StoredEvent> {
    audit_events::table.select(StoredEvent::as_select()).order(audit_events::seq.asc()).load(conn).unwrap()
}

fn fields(row: &StoredEvent) -> NewEvent {
    NewEvent {
        id: row.id.clone(),
        at: row.at,
        user_id: row.user_id.clone(),
        role: row.role.clone(),
        clinic_id: row.clinic_id.clone(),
        patient_id: row.patient_id.clone(),
        action: row.action.clone(),
        resource_type: row.resource_type.clone(),
        resource_id: row.resource_id.clone(),
        outcome: row.outcome.clone(),
        status: row.status,
        request_id: row.request_id.clone(),
        client_addr: row.client_addr.clone(),
    }
}

/// How the attacker writes a row back.
#[derive(Clone, Copy, Debug)]
enum Rewrite {
    /// SQLite `INSERT OR REPLACE`, PostgreSQL `INSERT .. ON CONFLICT DO UPDATE`.
    Replace,
    Update,
}

fn rewrite_sql(how: Rewrite, postgres: bool, seq: i64, status: i32, prev: &str, hash: &str) -> String {
    const COLUMNS: &str = "seq, id, at, user_id, role, clinic_id, patient_id, action, resource_type, \
                           resource_id, outcome, status, request_id, client_addr, prev_hash, hash";
    let select = format!(
        "SELECT seq, id, at, user_id, role, clinic_id, patient_id, action, resource_type, resource_id, \
         outcome, {status}, request_id, client_addr, '{prev}', '{hash}' FROM audit_events WHERE seq = {seq}"
    );
    match (how, postgres) {
        (Rewrite::Update, _) => {
            format!("UPDATE audit_events SET status = {status}, prev_hash = '{prev}', hash = '{hash}' WHERE seq = {seq}")
        }
        (Rewrite::Replace, false) => format!("INSERT OR REPLACE INTO audit_events ({COLUMNS}) {select}"),
        (Rewrite::Replace, true) => format!(
            "INSERT INTO audit_events ({COLUMNS}) {select} ON CONFLICT (seq) DO UPDATE SET \
             status = EXCLUDED.status, prev_hash = EXCLUDED.prev_hash, hash = EXCLUDED.hash"
        ),
    }
}

/// Changes the status of row `from` and recomputes the unkeyed chain from there to the end, as
/// anyone who has read the source can. Returns the statements, in order.
fn recomputed_chain(conn: &mut DbConnection, how: Rewrite, from: i64, hash: impl Fn(&str, i64, &NewEvent) -> String) -> Vec<String> {
    let postgres = matches!(conn, DbConnection::Postgres(_));
    let rows = rows(conn);
    let mut prev = if from == 1 { GENESIS.to_string() } else { rows[(from - 2) as usize].hash.clone() };
    let mut statements = Vec::new();
    for row in rows.iter().filter(|r| r.seq >= from) {
        let mut event = fields(row);
        if row.seq == from {
            event.status = 299;
        }
        let next = hash(&prev, row.seq, &event);
        statements.push(rewrite_sql(how, postgres, row.seq, event.status, &prev, &next));
        prev = next;
    }
    statements
}

#[actix_web::test]
async fn truncate_is_refused() {
    if !is_postgres() {
        return; // SQLite has no TRUNCATE; its `DELETE FROM` is refused by the row trigger.
    }
    let app = trail().await;
    let mut conn = conn(&app);
    for sql in ["TRUNCATE audit_events", "TRUNCATE ONLY audit_events", "TRUNCATE TABLE audit_events CASCADE"] {
        assert!(exec(&mut conn, sql).is_err(), "{sql} must be refused");
    }
    assert!(exec(&mut conn, "DELETE FROM audit_events").is_err());
    drop(conn);
    let (ok, report) = verify(&app);
    assert!(ok, "{report}");
}

#[actix_web::test]
async fn removing_every_row_after_a_checkpoint_fails_verify() {
    for how in ["TRUNCATE audit_events", "DELETE FROM audit_events"] {
        if how.starts_with("TRUNCATE") && !is_postgres() {
            continue;
        }
        let app = trail().await;
        let mut conn = conn(&app);
        // TRUNCATE is the attack that needs no privilege beyond the table's; if it is refused,
        // the attacker drops the guards and goes on.
        if exec(&mut conn, how).is_err() {
            drop_every_guard(&mut conn);
            exec(&mut conn, how).unwrap();
        }
        assert_eq!(rows(&mut conn).len(), 0);
        drop(conn);
        let report = assert_broken(&app, how);
        assert!(report["problem"].is_string(), "{report}");
    }
}

#[actix_web::test]
async fn rows_rewritten_with_a_recomputed_unkeyed_chain_fail_verify() {
    for how in [Rewrite::Replace, Rewrite::Update] {
        // From the first row: the whole table becomes a consistent unkeyed chain. From the second:
        // an unkeyed row follows a keyed one.
        for from in [1, 2] {
            let app = trail().await;
            let mut conn = conn(&app);
            let statements = recomputed_chain(&mut conn, how, from, chain_hash);
            // With the guards in place, neither way of rewriting a row gets through.
            assert!(exec(&mut conn, &statements[0]).is_err(), "{how:?} refused: {}", statements[0]);
            drop_every_guard(&mut conn);
            for sql in &statements {
                assert_eq!(exec(&mut conn, sql).unwrap(), 1, "{sql}");
            }
            assert_eq!(rows(&mut conn).iter().find(|r| r.seq == from).unwrap().status, 299);
            drop(conn);
            assert_broken(&app, &format!("{how:?} from row {from}"));
        }
    }
}
