-- "I forgot my password" is written here and answered at once, whatever the address; the delivery
-- worker then looks the address up and, for an account, issues the reset and writes its e-mail. The
-- request does the same work for every address, so its timing tells nobody which ones exist.
CREATE TABLE password_reset_requests (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    clinic_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX password_reset_requests_by_age ON password_reset_requests (created_at, id);
