-- A replayed create answers with the Location header of the first answer, as well as its body.
ALTER TABLE idempotency_keys ADD COLUMN location TEXT;
