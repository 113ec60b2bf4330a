CREATE TABLE check_ins (
    id TEXT PRIMARY KEY NOT NULL,
    treatment_id TEXT NOT NULL REFERENCES treatments (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    local_date DATE NOT NULL,
    day_number INTEGER NOT NULL,
    phase TEXT,
    redness INTEGER NOT NULL,
    swelling INTEGER NOT NULL,
    pain INTEGER NOT NULL,
    itching INTEGER NOT NULL,
    peeling INTEGER NOT NULL,
    bleeding BOOLEAN NOT NULL,
    pus BOOLEAN NOT NULL,
    fever BOOLEAN NOT NULL,
    hives BOOLEAN NOT NULL,
    darkening BOOLEAN NOT NULL,
    adherence TEXT NOT NULL,
    notes TEXT,
    level TEXT NOT NULL CHECK (level IN ('ok', 'watch', 'urgent')),
    -- 0 urgent, 1 watch, 2 ok: the review queue's first sort key.
    level_rank INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    protocol_id TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    reviewed_at TIMESTAMP,
    reviewed_by TEXT REFERENCES users (id),
    review_note TEXT
);
CREATE INDEX check_ins_by_treatment ON check_ins (treatment_id, created_at, id);
CREATE INDEX check_ins_by_treatment_date ON check_ins (treatment_id, local_date);
-- The review queue: a clinic's unreviewed check-ins, most serious first, oldest first within a level.
CREATE INDEX check_ins_review_queue ON check_ins (clinic_id, level_rank, created_at, id) WHERE reviewed_at IS NULL;

CREATE TABLE photos (
    id TEXT PRIMARY KEY NOT NULL,
    check_in_id TEXT NOT NULL REFERENCES check_ins (id),
    treatment_id TEXT NOT NULL REFERENCES treatments (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    content_type TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    captured_at TIMESTAMP NOT NULL,
    body_site TEXT NOT NULL,
    view TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX photos_by_treatment ON photos (treatment_id, captured_at, id);
CREATE INDEX photos_by_check_in ON photos (check_in_id);

-- Offline retries: one row per (caller, Idempotency-Key). status is NULL while the first request runs.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
