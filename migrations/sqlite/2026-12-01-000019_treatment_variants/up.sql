-- The skin type and Fitzpatrick type a treatment's plan is computed from: the patient's values when
-- the treatment was recorded (or when a clinician last asked for a re-plan), so a later change to
-- the patient's profile does not re-plan days already past. Treatments recorded before this
-- migration take the patient's values as they stand now. The defaults only satisfy SQLite's rule
-- for a new NOT NULL column: every row is set below, and the server always writes both.
ALTER TABLE treatments ADD COLUMN skin_type TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE treatments ADD COLUMN fitzpatrick INTEGER NOT NULL DEFAULT 1 CHECK (fitzpatrick BETWEEN 1 AND 6);
UPDATE treatments SET
    skin_type = (SELECT patients.skin_type FROM patients WHERE patients.id = treatments.patient_id),
    fitzpatrick = (SELECT patients.fitzpatrick FROM patients WHERE patients.id = treatments.patient_id)
WHERE EXISTS (SELECT 1 FROM patients WHERE patients.id = treatments.patient_id);
