DROP TRIGGER audit_events_append_at_end;
ALTER TABLE audit_events DROP COLUMN chain_version;
