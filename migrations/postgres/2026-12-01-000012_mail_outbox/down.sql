ALTER TABLE users DROP COLUMN credentials_version;
ALTER TABLE invites DROP COLUMN nonce;
ALTER TABLE invites DROP COLUMN purpose;
DROP TABLE clinic_settings;
DROP TABLE outbox_messages;
