-- Who touched which patient's data, when, and how it went. Append-only: each entry carries the
-- hash of the one before, so any edit or removal breaks the chain (`aftercare audit verify`).
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    at TIMESTAMP NOT NULL,
    user_id TEXT,
    role TEXT,
    clinic_id TEXT,
    patient_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT,
    resource_id TEXT,
    outcome TEXT NOT NULL,
    status INTEGER NOT NULL,
    request_id TEXT,
    client_addr TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_by_clinic ON audit_events (clinic_id, seq);
CREATE INDEX audit_events_by_patient ON audit_events (clinic_id, patient_id, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- Failed logins, shared by every replica, for throttling. Emails are stored hashed.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    email_hash TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email_hash, at);
CREATE INDEX login_failures_by_client ON login_failures (client_addr, at);
