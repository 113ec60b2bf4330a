-- An e-mail address is unique within a clinic, not across the deployment: a person may be a patient
-- (or staff member) of several clinics, and no clinic's answer may depend on another clinic's
-- accounts.
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_clinic_email_key UNIQUE (clinic_id, email);
CREATE INDEX users_by_email ON users (email, created_at);
