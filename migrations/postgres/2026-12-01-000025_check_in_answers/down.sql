ALTER TABLE check_ins DROP COLUMN unanswered;
ALTER TABLE check_ins DROP COLUMN answers;
