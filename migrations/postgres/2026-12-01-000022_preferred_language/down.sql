ALTER TABLE patients DROP COLUMN preferred_language;
