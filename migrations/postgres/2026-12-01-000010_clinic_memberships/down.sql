DROP INDEX users_by_email;
ALTER TABLE users DROP CONSTRAINT users_clinic_email_key;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
