-- The language a patient prefers for the texts of their plan, reminders and e-mails ('en' or
-- 'es'); NULL when they never said (English, unless a request asks otherwise).
ALTER TABLE patients ADD COLUMN preferred_language TEXT;
