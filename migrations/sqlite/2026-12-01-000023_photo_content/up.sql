-- A photo's bytes, in the object store. `state` is 'pending' until the uploaded bytes matched the
-- declared size, checksum and type, then 'verified' (only verified photos are listed, or shown to
-- staff). `object_key` is random (nothing about the patient) and fixed per photo, so a retried
-- upload replaces the one object; `original_key` holds the bytes as uploaded, metadata included,
-- only when PHOTO_KEEP_ORIGINAL asks for it. `metadata_removed` says whether EXIF/XMP/text was
-- stripped from what is served (JPEG, PNG), or the bytes are served as uploaded (HEIC, WebP).
-- Rows from before this migration never had bytes: they start 'pending'.
ALTER TABLE photos ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE photos ADD COLUMN object_key TEXT;
ALTER TABLE photos ADD COLUMN original_key TEXT;
ALTER TABLE photos ADD COLUMN metadata_removed BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE photos ADD COLUMN verified_at TIMESTAMP;
CREATE INDEX photos_by_object_key ON photos (object_key);
CREATE INDEX photos_by_original_key ON photos (original_key);
