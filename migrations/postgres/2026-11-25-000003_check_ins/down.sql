DROP TABLE idempotency_keys;
DROP TABLE photos;
DROP TABLE check_ins;
