-- Entries from now on are keyed: their hash is an HMAC under the audit key, which the database
-- does not hold. Entries already here keep their unkeyed hash (chain_version 0) and verify as before.
ALTER TABLE audit_events ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 0;

-- Appends only at the end. `INSERT OR REPLACE` deletes the row it replaces without firing a DELETE
-- trigger (unless recursive_triggers is on), so refuse any insert that is not the next position or
-- that reuses an id: a BEFORE INSERT trigger runs before the conflict is resolved.
CREATE TRIGGER audit_events_append_at_end BEFORE INSERT ON audit_events
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events)
  OR EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
