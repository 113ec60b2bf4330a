-- Login and activation attempts, one counter per bucket: an (account, client) pair, an account,
-- a client address, an invitation (see src/models/login_throttle.rs). An attempt is reserved here,
-- in one atomic upsert, before any password is hashed, so concurrent requests and replicas cannot
-- outrun the limits. Accounts appear only as hashes of the normalised e-mail.
CREATE TABLE login_attempts (
    bucket TEXT PRIMARY KEY NOT NULL,
    attempts BIGINT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    last_at TIMESTAMP NOT NULL,
    prev_at TIMESTAMP
);
CREATE INDEX login_attempts_by_last_at ON login_attempts (last_at);

-- Replaced by login_attempts: failures were written after the hash, so a burst outran them.
DROP TABLE login_failures;
