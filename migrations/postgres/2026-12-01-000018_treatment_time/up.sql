-- The time of day of a treatment: the local time as recorded (the clinic's default when none was
-- given) and the UTC instant it named in the patient's zone then. Rules that hold "for 24 hours
-- after treatment" run from that instant, and no reminder is due before it. Null for treatments
-- recorded before times were: their plans stay by local days alone.
ALTER TABLE treatments ADD COLUMN treatment_time TIME;
ALTER TABLE treatments ADD COLUMN treated_at TIMESTAMP;
-- The clinic's default time of treatment, for treatments recorded without one.
ALTER TABLE clinic_settings ADD COLUMN default_treatment_time TIME NOT NULL DEFAULT '10:00:00';
