ALTER TABLE check_ins DROP COLUMN ignored;
