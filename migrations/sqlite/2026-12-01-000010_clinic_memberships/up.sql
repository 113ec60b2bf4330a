-- An e-mail address is unique within a clinic, not across the deployment: a person may be a patient
-- (or staff member) of several clinics, and no clinic's answer may depend on another clinic's
-- accounts. SQLite cannot drop an inline UNIQUE constraint, so the table is rebuilt (SQLite's
-- documented procedure: with foreign keys off, new table, copy, drop, rename; the rows keep their ids,
-- so every reference to them still holds).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_by_clinic (
    id TEXT PRIMARY KEY NOT NULL,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'patient')),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (clinic_id, email)
);
INSERT INTO users_by_clinic (id, clinic_id, role, email, name, password_hash, active, created_at)
    SELECT id, clinic_id, role, email, name, password_hash, active, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_by_clinic RENAME TO users;
CREATE INDEX users_by_clinic_role ON users (clinic_id, role, created_at, id);
CREATE INDEX users_by_email ON users (email, created_at);
CREATE TRIGGER users_insert_moves_plan_inputs AFTER INSERT ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_moves_plan_inputs AFTER UPDATE ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_moves_plan_inputs AFTER DELETE ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1;
COMMIT;
PRAGMA foreign_keys = ON;
