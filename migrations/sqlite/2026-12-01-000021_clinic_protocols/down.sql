DROP INDEX protocols_by_clinic;
DELETE FROM protocols WHERE clinic_id IS NOT NULL;
ALTER TABLE protocols DROP COLUMN published_at;
ALTER TABLE protocols DROP COLUMN status;
ALTER TABLE protocols DROP COLUMN clinic_id;
