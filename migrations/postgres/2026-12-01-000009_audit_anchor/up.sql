-- Entries from now on are keyed: their hash is an HMAC under the audit key, which the database
-- does not hold. Entries already here keep their unkeyed hash (chain_version 0) and verify as before.
ALTER TABLE audit_events ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 0;

-- Row triggers do not fire on TRUNCATE: refuse it with a statement trigger.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
