CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    email_hash TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email_hash, at);
CREATE INDEX login_failures_by_client ON login_failures (client_addr, at);
DROP TABLE login_attempts;
