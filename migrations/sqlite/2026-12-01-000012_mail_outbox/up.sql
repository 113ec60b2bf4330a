-- E-mail goes out through an outbox: a message is a row written in the same transaction as the
-- change that causes it, and the delivery worker of any replica claims, sends and records it.
CREATE TABLE outbox_messages (
    id TEXT PRIMARY KEY NOT NULL,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    kind TEXT NOT NULL,
    -- The account the message is for, so that erasing it finds its messages.
    recipient_user_id TEXT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- What the body is composed from when it is sent (never a token: see `mail::Letter::body`).
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claim TEXT,
    claimed_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_messages_due ON outbox_messages (state, next_attempt_at);
CREATE INDEX outbox_messages_by_clinic ON outbox_messages (clinic_id, created_at, id);

-- A clinic's own settings: who is alerted by e-mail of an urgent check-in.
CREATE TABLE clinic_settings (
    clinic_id TEXT PRIMARY KEY NOT NULL REFERENCES clinics (id),
    urgent_alerts_enabled BOOLEAN NOT NULL DEFAULT 1,
    -- A JSON array of staff ids; empty: every active clinician of the clinic.
    urgent_alert_recipients TEXT NOT NULL DEFAULT '[]',
    updated_at TIMESTAMP NOT NULL
);

-- One-time tokens that set a password: invitations, and now password resets. A token handed out by
-- e-mail is derived from `nonce` under the server's secret, so the mail can be composed at sending
-- time while the database holds only the token's hash.
ALTER TABLE invites ADD COLUMN purpose TEXT NOT NULL DEFAULT 'invitation' CHECK (purpose IN ('invitation', 'password_reset'));
ALTER TABLE invites ADD COLUMN nonce TEXT;

-- Counts the account's password changes and resets; an access token carries the count it was
-- issued under and is refused once the count has moved on.
ALTER TABLE users ADD COLUMN credentials_version BIGINT NOT NULL DEFAULT 0;
