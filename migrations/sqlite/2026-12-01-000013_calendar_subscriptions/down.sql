ALTER TABLE idempotency_keys DROP COLUMN calendar_subscription_id;
DROP TABLE calendar_subscriptions;
