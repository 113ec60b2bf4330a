-- Discharge: a patient whose care has ended. While discharged_at is set the patient may still read
-- everything but reports no new check-ins or photos. Each treatment in their care when they were
-- discharged keeps the instant in its own discharged_at: its reminders due after it are no longer
-- planned, even after a new treatment re-admits the patient (which clears the patient's column only).
ALTER TABLE patients ADD COLUMN discharged_at TIMESTAMP;
ALTER TABLE patients ADD COLUMN discharge_note TEXT;
ALTER TABLE treatments ADD COLUMN discharged_at TIMESTAMP;
