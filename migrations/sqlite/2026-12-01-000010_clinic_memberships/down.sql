-- Back to one account per e-mail across the deployment; fails if an address has accounts at
-- several clinics.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_unique_email (
    id TEXT PRIMARY KEY NOT NULL,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'patient')),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO users_unique_email (id, clinic_id, role, email, name, password_hash, active, created_at)
    SELECT id, clinic_id, role, email, name, password_hash, active, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_unique_email RENAME TO users;
CREATE INDEX users_by_clinic_role ON users (clinic_id, role, created_at, id);
CREATE TRIGGER users_insert_moves_plan_inputs AFTER INSERT ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_moves_plan_inputs AFTER UPDATE ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_moves_plan_inputs AFTER DELETE ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
COMMIT;
PRAGMA foreign_keys = ON;
