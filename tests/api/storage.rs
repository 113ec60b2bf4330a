//! Storage: migrations run up, down and up again; both backends end with the same tables and
//! columns; SQLite connections have their durability settings.

use std::collections::BTreeSet;

use aftercare::db::{Database, DbConnection, revert_all_migrations, run_migrations};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::support::{empty_database, is_postgres};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(conn: &mut DbConnection) -> BTreeSet<(String, String)> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'"
        }
        DbConnection::Postgres(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations'"
        }
    };
    diesel::sql_query(sql).load::<Column>(conn).unwrap().into_iter().map(|c| (c.table_name, c.column_name)).collect()
}

fn open(url: &str) -> Database {
    Database::connect(url, 2).unwrap()
}

#[test]
fn migrations_run_up_down_and_up_again() {
    let store = empty_database();
    let db = open(&store.url);
    let mut conn = db.pool().get().unwrap();
    let applied = run_migrations(&mut conn).unwrap();
    assert!(!applied.is_empty());
    let after_first = columns(&mut conn);
    assert!(after_first.contains(&("patients".into(), "timezone".into())));
    revert_all_migrations(&mut conn).unwrap();
    assert!(columns(&mut conn).is_empty(), "down removes every table");
    assert_eq!(run_migrations(&mut conn).unwrap(), applied);
    assert_eq!(columns(&mut conn), after_first);
    assert!(run_migrations(&mut conn).unwrap().is_empty(), "nothing left to apply");
}

#[test]
fn both_backends_end_with_the_same_tables_and_columns() {
    if !is_postgres() {
        eprintln!("skipped: set TEST_DATABASE_URL to compare SQLite with PostgreSQL");
        return;
    }
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite = open(&format!("sqlite://{}", sqlite_dir.path().join("a.db").display()));
    let postgres_store = empty_database();
    let postgres = open(&postgres_store.url);
    let mut sqlite_conn = sqlite.pool().get().unwrap();
    let mut postgres_conn = postgres.pool().get().unwrap();
    run_migrations(&mut sqlite_conn).unwrap();
    run_migrations(&mut postgres_conn).unwrap();
    assert_eq!(columns(&mut sqlite_conn), columns(&mut postgres_conn));
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

#[test]
fn sqlite_connections_are_durable_and_enforce_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&format!("sqlite://{}", dir.path().join("a.db").display()));
    let mut conn = db.pool().get().unwrap();
    let mode = diesel::sql_query("PRAGMA journal_mode").get_result::<Setting>(&mut *conn).unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let number = |conn: &mut DbConnection, sql: &str| diesel::sql_query(sql).get_result::<Number>(conn).unwrap().value;
    assert_eq!(number(&mut conn, "SELECT synchronous AS value FROM pragma_synchronous"), 2, "FULL");
    assert_eq!(number(&mut conn, "SELECT foreign_keys AS value FROM pragma_foreign_keys"), 1);
    assert!(number(&mut conn, "SELECT timeout AS value FROM pragma_busy_timeout") >= 5000);
}

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Adds 20,000 check-ins of one patient, one in ten unreviewed, and refreshes the statistics.
fn seed_check_ins(conn: &mut DbConnection, t: &str, p: &str, c: &str) {
    let columns = "id, treatment_id, patient_id, clinic_id, local_date, day_number, phase, redness, swelling, \
        pain, itching, peeling, bleeding, pus, fever, hives, darkening, adherence, notes, level, level_rank, \
        reasons, protocol_id, protocol_version, created_at, reviewed_at";
    let level = "CASE i % 3 WHEN 0 THEN 'urgent' WHEN 1 THEN 'watch' ELSE 'ok' END";
    let (seed, analyze) = match conn {
        DbConnection::Sqlite(_) => (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
                 INSERT INTO check_ins ({columns}) SELECT 'bulk-' || i, '{t}', '{p}', '{c}', '2026-11-20', 5, \
                 'days_3_7', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, '{{}}', NULL, {level}, i % 3, '[]', 'standard', 1, \
                 datetime('2026-01-01', '+' || i || ' seconds'), \
                 CASE WHEN i % 10 = 0 THEN NULL ELSE '2026-11-25 00:00:00' END FROM n"
            ),
            "ANALYZE",
        ),
        DbConnection::Postgres(_) => (
            format!(
                "INSERT INTO check_ins ({columns}) SELECT 'bulk-' || i, '{t}', '{p}', '{c}', DATE '2026-11-20', 5, \
                 'days_3_7', 1, 1, 1, 0, 0, false, false, false, false, false, '{{}}', NULL, {level}, i % 3, '[]', \
                 'standard', 1, TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', \
                 CASE WHEN i % 10 = 0 THEN NULL ELSE TIMESTAMP '2026-11-25' END FROM generate_series(1, 20000) AS i"
            ),
            "ANALYZE check_ins",
        ),
    };
    diesel::sql_query(seed).execute(conn).unwrap();
    diesel::sql_query(analyze).execute(conn).unwrap();
}

/// The lines of the engine's plan for `query`.
fn query_plan(conn: &mut DbConnection, query: &str) -> Vec<String> {
    let lines = match conn {
        DbConnection::Sqlite(_) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
            .load::<SqlitePlanRow>(conn)
            .unwrap()
            .into_iter()
            .map(|row| PlanLine { line: row.detail })
            .collect(),
        DbConnection::Postgres(_) => {
            diesel::sql_query(
                "CREATE OR REPLACE FUNCTION explain_lines(q text) RETURNS SETOF text AS $$ \
                 BEGIN RETURN QUERY EXECUTE 'EXPLAIN ' || q; END $$ LANGUAGE plpgsql",
            )
            .execute(conn)
            .unwrap();
            diesel::sql_query("SELECT explain_lines AS line FROM explain_lines($1)")
                .bind::<Text, _>(query)
                .load::<PlanLine>(conn)
                .unwrap()
        }
    };
    lines.into_iter().map(|l| l.line).collect()
}

/// The review queue's query plan, with enough check-ins that the planner has a real choice:
/// 20,000 check-ins of which one in ten is unreviewed.
#[actix_web::test]
async fn the_review_queue_is_served_by_its_index() {
    let app = crate::support::spawn().await;
    let (admin, patient, treatment_id) = crate::fixtures::patient_on_day(&app, 3).await;
    let mut conn = app.db.pool().get().unwrap();
    let c = &admin.clinic_id;
    seed_check_ins(&mut conn, &treatment_id, &patient.id, c);
    // The same shape as models::check_ins::review_queue.
    let queue = format!(
        "SELECT check_ins.id, users.name FROM check_ins INNER JOIN users ON users.id = check_ins.patient_id \
         WHERE check_ins.clinic_id = '{c}' AND check_ins.reviewed_at IS NULL \
         ORDER BY check_ins.level_rank, check_ins.created_at, check_ins.id LIMIT 51"
    );
    let plan = query_plan(&mut conn, &queue);
    eprintln!("review queue plan:\n{}", plan.join("\n"));
    assert!(plan.iter().any(|l| l.contains("check_ins_review_queue")), "{plan:?}");
    assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE") || l.contains("Sort")), "no sort step: {plan:?}");
}
