-- Protocols a clinic's administrator writes: `clinic_id` is the owner (NULL for the standard
-- protocols shipped with the product), `status` is 'draft' until published, then 'published'
-- (and never changes again). New treatments of a clinic use its newest published version.
ALTER TABLE protocols ADD COLUMN clinic_id TEXT REFERENCES clinics(id);
ALTER TABLE protocols ADD COLUMN status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('draft', 'published'));
ALTER TABLE protocols ADD COLUMN published_at TIMESTAMP;
CREATE INDEX protocols_by_clinic ON protocols (clinic_id, status, version);
