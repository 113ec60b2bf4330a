-- Protocol documents, immutable per (id, version): a treatment keeps the version it was planned with.
CREATE TABLE protocols (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (id, version)
);

-- Every time zone and reminder time a patient has had, from the instant it was set.
CREATE TABLE patient_schedules (
    patient_id TEXT NOT NULL REFERENCES patients (id),
    effective_at TIMESTAMP NOT NULL,
    timezone TEXT NOT NULL,
    reminder_time TIME NOT NULL,
    PRIMARY KEY (patient_id, effective_at)
);
INSERT INTO patient_schedules (patient_id, effective_at, timezone, reminder_time)
    SELECT id, created_at, timezone, reminder_time FROM patients;

CREATE TABLE treatments (
    id TEXT PRIMARY KEY NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    procedure TEXT NOT NULL,
    treated_on DATE NOT NULL,
    setting TEXT NOT NULL,
    areas TEXT NOT NULL,
    needle_depth_mm DOUBLE PRECISION NOT NULL,
    notes TEXT,
    protocol_id TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    FOREIGN KEY (protocol_id, protocol_version) REFERENCES protocols (id, version)
);
CREATE INDEX treatments_by_patient ON treatments (patient_id, created_at, id);
CREATE INDEX treatments_by_clinic ON treatments (clinic_id, created_at, id);

-- Reminders are computed from the plan; only their acknowledgements are stored.
CREATE TABLE reminder_acks (
    reminder_id TEXT PRIMARY KEY NOT NULL,
    treatment_id TEXT NOT NULL REFERENCES treatments (id),
    local_date DATE NOT NULL,
    kind TEXT NOT NULL,
    acknowledged_at TIMESTAMP NOT NULL
);
CREATE INDEX reminder_acks_by_treatment ON reminder_acks (treatment_id, local_date);

CREATE TABLE screenings (
    id TEXT PRIMARY KEY NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    answers TEXT NOT NULL,
    eligible BOOLEAN NOT NULL,
    findings TEXT NOT NULL,
    protocol_id TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    screened_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX screenings_by_patient ON screenings (patient_id, created_at);
