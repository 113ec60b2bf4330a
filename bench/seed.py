"""Bulk seeding for benchmarks: patients, treatments and check-ins in the demo clinic, written with
set-based SQL so a million rows take seconds. Every patient shares the demo patient's password hash."""

import sqlite3
import subprocess

LEVELS = "CASE {i} % 10 WHEN 0 THEN 'urgent' WHEN 1 THEN 'watch' WHEN 2 THEN 'watch' ELSE 'ok' END"
RANKS = "CASE {i} % 10 WHEN 0 THEN 0 WHEN 1 THEN 1 WHEN 2 THEN 1 ELSE 2 END"


def statements(clinic, patients, check_ins, postgres):
    """SQL that adds `patients` patients with one treatment each and `check_ins` check-ins spread over
    them (one in ten unreviewed)."""
    if postgres:
        series = lambda n, v: f"generate_series(1, {n}) AS {v}"  # noqa: E731
        pid = "'00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0')"
        tid = "'00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0')"
        ctid = "'00000000-0000-7000-a000-' || lpad(to_hex(c), 12, '0')"
        ct_tid = f"'00000000-0000-7000-9000-' || lpad(to_hex(1 + c % {patients}), 12, '0')"
        ct_pid = f"'00000000-0000-7000-8000-' || lpad(to_hex(1 + c % {patients}), 12, '0')"
        ts = "TIMESTAMP '2026-01-01' + ({x}) * INTERVAL '1 second'"
        false, true = "false", "true"
        today = "CURRENT_DATE"
        days_ago = "CURRENT_DATE - 4"
    else:
        series = lambda n, v: f"(WITH RECURSIVE s({v}) AS (SELECT 1 UNION ALL SELECT {v} + 1 FROM s WHERE {v} < {n}) SELECT {v} FROM s)"  # noqa: E731
        pid = "'00000000-0000-7000-8000-' || printf('%012x', i)"
        tid = "'00000000-0000-7000-9000-' || printf('%012x', i)"
        ctid = "'00000000-0000-7000-a000-' || printf('%012x', c)"
        ct_tid = f"'00000000-0000-7000-9000-' || printf('%012x', 1 + c % {patients})"
        ct_pid = f"'00000000-0000-7000-8000-' || printf('%012x', 1 + c % {patients})"
        ts = "datetime('2026-01-01', '+' || ({x}) || ' seconds')"
        false, true = "0", "1"
        today = "date('now')"
        days_ago = "date('now', '-4 days')"
    hash_of_demo_patient = f"(SELECT password_hash FROM users WHERE clinic_id = '{clinic}' AND role = 'patient' LIMIT 1)"
    return [
        f"INSERT INTO users (id, clinic_id, role, email, name, password_hash, active, created_at) "
        f"SELECT {pid}, '{clinic}', 'patient', 'bench-' || i || '@bench.test', 'Bench Patient ' || i, "
        f"{hash_of_demo_patient}, {true}, {ts.format(x='i')} FROM {series(patients, 'i')}",
        f"INSERT INTO patients (id, clinic_id, timezone, skin_type, fitzpatrick, reminder_time, created_at) "
        f"SELECT {pid}, '{clinic}', 'America/Chicago', 'normal', 3, '09:00:00', {ts.format(x='i')} FROM {series(patients, 'i')}",
        f"INSERT INTO patient_schedules (patient_id, effective_at, timezone, reminder_time) "
        f"SELECT {pid}, {ts.format(x='i')}, 'America/Chicago', '09:00:00' FROM {series(patients, 'i')}",
        f"INSERT INTO treatments (id, patient_id, clinic_id, procedure, treated_on, setting, areas, needle_depth_mm, notes, "
        f"protocol_id, protocol_version, created_at) SELECT {tid}, {pid}, '{clinic}', 'microneedling', {days_ago}, "
        f"'in_office', 'face', 1.0, NULL, 'standard', 1, {ts.format(x='i')} FROM {series(patients, 'i')}",
        f"INSERT INTO check_ins (id, treatment_id, patient_id, clinic_id, local_date, day_number, phase, redness, swelling, "
        f"pain, itching, peeling, bleeding, pus, fever, hives, darkening, adherence, notes, level, level_rank, reasons, "
        f"protocol_id, protocol_version, created_at, reviewed_at, reviewed_by, review_note) "
        f"SELECT {ctid}, {ct_tid}, {ct_pid}, '{clinic}', {today}, 5, 'days_3_7', 2, 1, 1, 0, 1, {false}, {false}, {false}, "
        f"{false}, {false}, '{{}}', NULL, {LEVELS.format(i='c')}, {RANKS.format(i='c')}, '[]', 'standard', 1, "
        f"{ts.format(x='c')}, CASE WHEN c % 10 = 0 THEN NULL ELSE {ts.format(x='c + 60')} END, NULL, NULL "
        f"FROM {series(check_ins, 'c')}",
        f"UPDATE review_queue_counts SET unreviewed = (SELECT COUNT(*) FROM check_ins "
        f"WHERE check_ins.clinic_id = review_queue_counts.clinic_id AND check_ins.level_rank = review_queue_counts.level_rank "
        f"AND check_ins.reviewed_at IS NULL) WHERE clinic_id = '{clinic}'",
    ]


def seed(database_url, clinic, patients, check_ins):
    postgres = database_url.startswith("postgres")
    sql = statements(clinic, patients, check_ins, postgres)
    if postgres:
        # Settle the fresh rows before measuring: otherwise autovacuum's pass over a million new
        # rows and the next checkpoint land in the middle of the runs as latency outliers.
        script = ";\n".join(sql) + ";\nVACUUM (ANALYZE);\nCHECKPOINT;\n"
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", database_url], input=script, text=True, check=True)
    else:
        path = database_url.removeprefix("sqlite://")
        conn = sqlite3.connect(path, timeout=60)
        conn.execute("PRAGMA busy_timeout = 60000")
        with conn:
            for statement in sql:
                conn.execute(statement)
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
