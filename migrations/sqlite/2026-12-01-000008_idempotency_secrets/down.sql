ALTER TABLE idempotency_keys DROP COLUMN invite_user_id;
