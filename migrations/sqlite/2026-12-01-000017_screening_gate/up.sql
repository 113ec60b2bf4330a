-- The screening gate (protocol v2). A treatment is recorded either cleared by an eligible, fresh
-- screening made under the protocol it is planned with (screening_id), or on a clinician's override
-- (who, when, why). Treatments recorded before the gate have neither.
ALTER TABLE treatments ADD COLUMN screening_id TEXT;
ALTER TABLE treatments ADD COLUMN screening_override_by TEXT;
ALTER TABLE treatments ADD COLUMN screening_override_at TIMESTAMP;
ALTER TABLE treatments ADD COLUMN screening_override_reason TEXT;
-- How many days a screening clears treatment for; NULL: the default (30).
ALTER TABLE clinic_settings ADD COLUMN screening_valid_days INTEGER;
