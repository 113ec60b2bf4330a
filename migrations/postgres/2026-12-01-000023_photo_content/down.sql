DROP INDEX photos_by_original_key;
DROP INDEX photos_by_object_key;
ALTER TABLE photos DROP COLUMN verified_at;
ALTER TABLE photos DROP COLUMN metadata_removed;
ALTER TABLE photos DROP COLUMN original_key;
ALTER TABLE photos DROP COLUMN object_key;
ALTER TABLE photos DROP COLUMN state;
