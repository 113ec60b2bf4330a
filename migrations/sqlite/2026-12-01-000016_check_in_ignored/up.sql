-- What the server ignored of a check-in as the patient sent it (secondary fields that were invalid:
-- adherence answers, notes, the date, unknown fields), as a JSON array of {field, message}. The
-- symptoms are never ignored: a check-in whose symptoms are invalid is refused whole. The
-- messages name fields only, never the values sent. Earlier check-ins ignored nothing.
ALTER TABLE check_ins ADD COLUMN ignored TEXT NOT NULL DEFAULT '[]';
