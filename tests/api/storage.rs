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
    diesel::sql_query(sql)
        .load::<Column>(conn)
        .unwrap()
        .into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect()
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
    assert!(
        run_migrations(&mut conn).unwrap().is_empty(),
        "nothing left to apply"
    );
}

#[test]
fn both_backends_end_with_the_same_tables_and_columns() {
    if !is_postgres() {
        eprintln!("skipped: set TEST_DATABASE_URL to compare SQLite with PostgreSQL");
        return;
    }
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite = open(&format!(
        "sqlite://{}",
        sqlite_dir.path().join("a.db").display()
    ));
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
    let mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result::<Setting>(&mut *conn)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let number = |conn: &mut DbConnection, sql: &str| {
        diesel::sql_query(sql)
            .get_result::<Number>(conn)
            .unwrap()
            .value
    };
    assert_eq!(
        number(
            &mut conn,
            "SELECT synchronous AS value FROM pragma_synchronous"
        ),
        2,
        "FULL"
    );
    assert_eq!(
        number(
            &mut conn,
            "SELECT foreign_keys AS value FROM pragma_foreign_keys"
        ),
        1
    );
    assert!(
        number(
            &mut conn,
            "SELECT timeout AS value FROM pragma_busy_timeout"
        ) >= 5000
    );
}
