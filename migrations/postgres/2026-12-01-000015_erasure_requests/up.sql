-- A patient's request to have their data erased, and the clinic administrator's decision on it.
-- Once approved and carried out, the row keeps the decision, the administrator's reason and the
-- erased account's id (an opaque id, as in the audit trail); the patient's own reason is cleared.
CREATE TABLE erasure_requests (
    id TEXT PRIMARY KEY NOT NULL,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    patient_id TEXT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'approved', 'declined')),
    reason TEXT,
    requested_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by TEXT REFERENCES users (id),
    decision_reason TEXT
);
-- One open request per patient at a time.
CREATE UNIQUE INDEX erasure_requests_one_open ON erasure_requests (patient_id) WHERE status = 'open';
CREATE INDEX erasure_requests_by_clinic ON erasure_requests (clinic_id, requested_at, id);
