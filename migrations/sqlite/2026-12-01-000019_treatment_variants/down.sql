ALTER TABLE treatments DROP COLUMN fitzpatrick;
ALTER TABLE treatments DROP COLUMN skin_type;
