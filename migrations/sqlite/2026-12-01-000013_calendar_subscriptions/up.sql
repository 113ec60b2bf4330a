-- A treatment's calendar subscription: the feed a calendar app polls without a token, named by a
-- long random secret of which only the SHA-256 is kept. One per treatment; rotating replaces the
-- row (a new id and hash), revoking deletes it.
CREATE TABLE calendar_subscriptions (
    treatment_id TEXT PRIMARY KEY NOT NULL REFERENCES treatments (id),
    id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX calendar_subscriptions_by_patient ON calendar_subscriptions (patient_id);

-- A stored answer that handed out a feed URL keeps, instead of the URL, the subscription it named,
-- so that a replay can rotate that subscription and hand out a working URL.
ALTER TABLE idempotency_keys ADD COLUMN calendar_subscription_id TEXT;
