ALTER TABLE clinic_settings DROP COLUMN default_treatment_time;
ALTER TABLE treatments DROP COLUMN treated_at;
ALTER TABLE treatments DROP COLUMN treatment_time;
