-- The skin type and Fitzpatrick type a treatment's plan is computed from: the patient's values when
-- the treatment was recorded (or when a clinician last asked for a re-plan), so a later change to
-- the patient's profile does not re-plan days already past. Treatments recorded before this
-- migration take the patient's values as they stand now.
ALTER TABLE treatments ADD COLUMN skin_type TEXT;
ALTER TABLE treatments ADD COLUMN fitzpatrick INTEGER CHECK (fitzpatrick BETWEEN 1 AND 6);
UPDATE treatments SET skin_type = patients.skin_type, fitzpatrick = patients.fitzpatrick
FROM patients WHERE patients.id = treatments.patient_id;
ALTER TABLE treatments ALTER COLUMN skin_type SET NOT NULL;
ALTER TABLE treatments ALTER COLUMN fitzpatrick SET NOT NULL;
