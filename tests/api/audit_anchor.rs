//! The audit chain against someone with write access to the database: rows rewritten with a
//! recomputed chain, rows removed (TRUNCATE, or DELETE once the guards are dropped), the checkpoint
//! file edited. `aftercare audit verify` must say so, with exit code 1.

use std::process::Command;
use std::time::{Duration, Instant};

use aftercare::db::DbConnection;
use aftercare::db::schema::audit_events;
use aftercare::models::audit::checkpoint::{Checkpoint, Head};
use aftercare::models::audit::key::AuditKey;
use aftercare::models::audit::{
    GENESIS, NewEvent, StoredEvent, append, chain_hash, keyed_hash, verify as verify_chain,
};
use diesel::prelude::*;
use serde_json::Value;

use crate::support::{JWT_SECRET, TestApp, audit_checkpoint_path, is_postgres, spawn, spawn_with};

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
        DbConnection::Sqlite(_) => {
            ("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'", |name| {
                format!("DROP TRIGGER {name}")
            })
        }
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
            format!(
                "UPDATE audit_events SET status = {status}, prev_hash = '{prev}', hash = '{hash}' WHERE seq = {seq}"
            )
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
fn recomputed_chain(
    conn: &mut DbConnection,
    how: Rewrite,
    from: i64,
    hash: impl Fn(&str, i64, &NewEvent) -> String,
) -> Vec<String> {
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

#[actix_web::test]
async fn rows_rewritten_under_another_key_fail_verify() {
    let wrong = AuditKey::new(b"an attacker's key of 32 bytes or more");
    for from in [1, 2] {
        let app = trail().await;
        let mut conn = conn(&app);
        drop_every_guard(&mut conn);
        for sql in
            recomputed_chain(&mut conn, Rewrite::Update, from, |prev, seq, event| keyed_hash(&wrong, prev, seq, event))
        {
            exec(&mut conn, &sql).unwrap();
        }
        drop(conn);
        let report = assert_broken(&app, &format!("rewritten under another key from row {from}"));
        assert_eq!(report["broken_at"], from, "{report}");
    }
}

#[actix_web::test]
async fn a_clean_trail_verifies_and_says_what_its_checkpoints_cover() {
    let app = trail().await;
    let (_, report) = verify(&app);
    let checked = report["checked"].as_i64().unwrap();
    assert!(checked >= 5, "{report}");
    assert_eq!((report["keyed"].as_i64(), report["unkeyed"].as_i64()), (Some(checked), Some(0)), "{report}");
    assert!(report["checkpoints"].as_i64().unwrap() >= 1, "{report}");
    assert_eq!((report["covered"].as_i64(), report["after_last_checkpoint"].as_i64()), (Some(checked), Some(0)));
    assert_eq!(report["problem"], Value::Null);

    // Three more, appended without a checkpoint: they verify, reported as not yet covered...
    let key = AuditKey::for_verify(&app.services.state.settings).unwrap();
    append(&mut conn(&app), &key, (0..3).map(|n| event(&format!("late {n}"))).collect()).unwrap();
    let (ok, report) = verify(&app);
    assert!(ok, "{report}");
    assert_eq!((report["checked"].as_i64(), report["after_last_checkpoint"].as_i64()), (Some(checked + 3), Some(3)));
    // ...and, as the README says, they are the part that can go without a trace.
    let mut conn = conn(&app);
    drop_every_guard(&mut conn);
    exec(&mut conn, &format!("DELETE FROM audit_events WHERE seq > {checked}")).unwrap();
    drop(conn);
    let (ok, report) = verify(&app);
    assert!(ok && report["after_last_checkpoint"] == 0, "{report}");
}

fn event(action: &str) -> NewEvent {
    NewEvent {
        id: aftercare::models::new_id(),
        at: aftercare::clock::now(),
        user_id: None,
        role: None,
        clinic_id: None,
        patient_id: None,
        action: action.to_string(),
        resource_type: None,
        resource_id: None,
        outcome: "success".into(),
        status: 200,
        request_id: None,
        client_addr: None,
    }
}

#[actix_web::test]
async fn a_tampered_checkpoint_file_fails_verify() {
    let app = trail().await;
    let path = audit_checkpoint_path(&app.services.state.settings.database_url);
    let original = std::fs::read_to_string(&path).unwrap();
    let last: Value = serde_json::from_str(original.lines().last().unwrap()).unwrap();
    let edited = |field: &str, value: Value| {
        let mut line = last.clone();
        line[field] = value;
        line.to_string()
    };
    let seq = last["seq"].as_i64().unwrap();
    let head = Head { seq: seq + 5, hash: "ab".repeat(32) };
    let foreign = serde_json::to_string(&Checkpoint::signed(&AuditKey::new(&[7; 32]), &head)).unwrap();
    let forged_with_our_format = edited("mac", Value::String("00".repeat(32)));
    let tampered = [
        ("hash changed", edited("hash", Value::String("cd".repeat(32)))),
        ("position moved", edited("seq", (seq - 1).into())),
        ("count raised", edited("count", (seq + 1).into())),
        ("MAC forged", forged_with_our_format),
        ("signed with another key", foreign),
        ("not JSON", "{\"seq\": ".to_string()),
    ];
    for (what, line) in tampered {
        std::fs::write(&path, format!("{original}{line}\n")).unwrap();
        let report = assert_broken(&app, what);
        assert!(report["problem"].as_str().unwrap().contains("line"), "{what}: {report}");
    }
    // A line cut short by a crash (no newline yet) is not a checkpoint, and not a failure.
    std::fs::write(&path, format!("{original}{{\"v\":1,\"seq\"")).unwrap();
    let (ok, report) = verify(&app);
    assert!(ok, "{report}");
}

/// Waits until verify says every entry is covered by a checkpoint; the time that took.
fn until_covered(app: &TestApp, at_least: i64) -> Duration {
    let started = Instant::now();
    loop {
        let (ok, report) = verify(app);
        assert!(ok, "{report}");
        if report["checked"].as_i64() >= Some(at_least) && report["after_last_checkpoint"] == 0 {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no checkpoint covers the newest events: {report}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[actix_web::test]
async fn checkpoints_are_signed_every_n_events_and_every_t_seconds() {
    // By count: no flush, and a period far away.
    let app = spawn_with(|s| {
        s.audit_checkpoint_events = 3;
        s.audit_checkpoint_interval = Duration::from_secs(3600);
    })
    .await;
    for n in 0..7 {
        app.services.state.audit.record(event(&format!("counted {n}")));
    }
    until_covered(&app, 7);

    // By time: a count never reached, a period of a second.
    let app = spawn_with(|s| {
        s.audit_checkpoint_events = 1_000_000;
        s.audit_checkpoint_interval = Duration::from_secs(1);
    })
    .await;
    app.services.state.audit.record(event("alone"));
    std::thread::sleep(Duration::from_millis(300));
    let (_, report) = verify(&app);
    assert_eq!((report["checked"].as_i64(), report["checkpoints"].as_i64()), (Some(1), Some(0)), "{report}");
    until_covered(&app, 1);
}

#[actix_web::test]
async fn replicas_writing_one_chain_share_one_checkpoint_file() {
    let app = spawn().await;
    let replica = aftercare::Services::start(app.services.state.settings.clone()).unwrap();
    for round in 0..3 {
        for (name, log) in [("a", &app.services.state.audit), ("b", &replica.state.audit)] {
            for n in 0..4 {
                log.record(event(&format!("{name} {round} {n}")));
            }
        }
        replica.state.audit.flush();
        app.services.state.audit.flush();
    }
    let (ok, report) = verify(&app);
    assert!(ok, "{report}");
    assert_eq!(report["checked"], 24);
    assert!(report["checkpoints"].as_i64().unwrap() >= 6, "{report}");
    assert_eq!(report["after_last_checkpoint"], 0, "{report}");
}

#[test]
fn legacy_unkeyed_entries_followed_by_keyed_ones_verify() {
    use aftercare::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
    use diesel_migrations::MigrationHarness;
    let store = crate::support::empty_database();
    let db = aftercare::db::Database::connect(&store.url, 1).unwrap();
    db.migrate().unwrap();
    let mut conn = db.pool().get().unwrap();
    // The database as it was before this change: undo the migrations down to the keyed chain's.
    let anchor = |conn: &mut DbConnection| {
        let applied = match conn {
            DbConnection::Sqlite(c) => c.applied_migrations().unwrap(),
            DbConnection::Postgres(c) => c.applied_migrations().unwrap(),
        };
        applied.iter().any(|v| v.to_string() == "20261201000009")
    };
    while anchor(&mut conn) {
        match &mut *conn {
            DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS).map(|_| ()),
            DbConnection::Postgres(c) => c.revert_last_migration(POSTGRES_MIGRATIONS).map(|_| ()),
        }
        .unwrap();
    }
    // Three entries as the old code wrote them: unkeyed, with no chain version.
    let mut prev = GENESIS.to_string();
    for seq in 1..=3 {
        let event = event(&format!("legacy {seq}"));
        let hash = chain_hash(&prev, seq, &event);
        exec(
            &mut conn,
            &format!(
                "INSERT INTO audit_events (seq, id, at, action, outcome, status, prev_hash, hash) \
                 VALUES ({seq}, '{}', '{}', '{}', 'success', 200, '{prev}', '{hash}')",
                event.id,
                event.at.format("%Y-%m-%d %H:%M:%S%.6f"),
                event.action
            ),
        )
        .unwrap();
        prev = hash;
    }
    aftercare::db::run_migrations(&mut conn).unwrap();
    let key = AuditKey::new(JWT_SECRET.as_bytes());
    append(&mut conn, &key, (0..4).map(|n| event(&format!("keyed {n}"))).collect()).unwrap();
    let nowhere = std::path::Path::new("/nonexistent/checkpoints.jsonl");
    let report = verify_chain(&mut conn, &key, nowhere).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!((report.checked, report.unkeyed, report.keyed), (7, 3, 4));
    // Another key fails at the first keyed entry; the unkeyed ones before it are fine.
    let report = verify_chain(&mut conn, &AuditKey::new(&[1; 32]), nowhere).unwrap();
    assert_eq!((report.ok, report.broken_at), (false, Some(4)));
}
