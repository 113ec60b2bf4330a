ALTER TABLE clinic_settings DROP COLUMN screening_valid_days;
ALTER TABLE treatments DROP COLUMN screening_override_reason;
ALTER TABLE treatments DROP COLUMN screening_override_at;
ALTER TABLE treatments DROP COLUMN screening_override_by;
ALTER TABLE treatments DROP COLUMN screening_id;
