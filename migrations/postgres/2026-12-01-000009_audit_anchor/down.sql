DROP TRIGGER audit_events_no_truncate ON audit_events;
ALTER TABLE audit_events DROP COLUMN chain_version;
