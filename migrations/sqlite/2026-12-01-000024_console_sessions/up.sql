-- Browser sessions of the clinician console. The cookie holds a random token; only its SHA-256 is
-- stored. `csrf_token` is the session's synchronizer token, sent in every console form.
-- `credentials_version` is the account's at login: a password change, a reset, a deactivation or
-- "log out everywhere" moves the account's and ends the session.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    credentials_version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
