CREATE TABLE clinics (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'patient')),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX users_by_clinic_role ON users (clinic_id, role, created_at, id);

CREATE TABLE patients (
    id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    timezone TEXT NOT NULL,
    skin_type TEXT NOT NULL,
    fitzpatrick INTEGER NOT NULL CHECK (fitzpatrick BETWEEN 1 AND 6),
    reminder_time TIME NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX patients_by_clinic ON patients (clinic_id, created_at, id);

CREATE TABLE invites (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX invites_by_user ON invites (user_id);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id),
    family_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    spent_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
