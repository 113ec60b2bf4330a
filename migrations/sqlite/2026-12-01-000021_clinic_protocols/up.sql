-- Protocols a clinic's administrator writes: `clinic_id` is the owner (NULL for the standard
-- protocols shipped with the product), `status` is 'draft' until published, then 'published'
-- (and never changes again). New treatments of a clinic use its newest published version.
-- (No CHECK or REFERENCES here: SQLite could not drop the columns again in down.sql; the server
-- writes only these two statuses and only existing clinics.)
ALTER TABLE protocols ADD COLUMN clinic_id TEXT;
ALTER TABLE protocols ADD COLUMN status TEXT NOT NULL DEFAULT 'published';
ALTER TABLE protocols ADD COLUMN published_at TIMESTAMP;
CREATE INDEX protocols_by_clinic ON protocols (clinic_id, status, version);
