ALTER TABLE treatments DROP COLUMN discharged_at;
ALTER TABLE patients DROP COLUMN discharge_note;
ALTER TABLE patients DROP COLUMN discharged_at;
