-- Stored answers keep no secrets. An answer that handed out an invitation token is stored without
-- it, and names here the account whose invitation a replay issues afresh (rotating its hash, so the
-- token of the lost answer stops working).
ALTER TABLE idempotency_keys ADD COLUMN invite_user_id TEXT;
-- Answers stored before this carried plain invitation tokens: forget them.
DELETE FROM idempotency_keys WHERE body LIKE '%"invite_token"%';
