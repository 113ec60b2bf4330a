-- A photo's renditions: a thumbnail and a display size, made off the request path by the
-- rendition worker (`photo_store::renditions`) once the photo is verified. `renditions` is
-- 'pending' until they are made, 'ready' once they are in the store, 'unavailable' when the type
-- cannot be decoded here (HEIC/HEIF, WebP) or the bytes did not decode. `thumbnail_key` and
-- `display_key` are random (nothing about the patient), committed by the claim before anything
-- is written under them; `renditions_claimed_at` is the claim's time: a claim older than the
-- worker's lease (a replica that died mid-way) is taken over. `orientation` is the EXIF
-- orientation (1-8) read from the upload before its metadata was removed, and `pixel_width` /
-- `pixel_height` the size the bytes really have, as displayed (orientation applied); all three
-- are NULL until the upload is verified and for types whose header is not read (HEIC/HEIF, WebP).
-- Rows from before this migration: verified JPEG/PNG photos are picked up by the worker, which
-- finds no orientation (their EXIF is gone) and takes them as they are stored.
ALTER TABLE photos ADD COLUMN renditions TEXT NOT NULL DEFAULT 'pending' CHECK (renditions IN ('pending', 'ready', 'unavailable'));
ALTER TABLE photos ADD COLUMN thumbnail_key TEXT;
ALTER TABLE photos ADD COLUMN display_key TEXT;
ALTER TABLE photos ADD COLUMN renditions_claimed_at TIMESTAMP;
ALTER TABLE photos ADD COLUMN orientation INTEGER CHECK (orientation BETWEEN 1 AND 8);
ALTER TABLE photos ADD COLUMN pixel_width INTEGER;
ALTER TABLE photos ADD COLUMN pixel_height INTEGER;
CREATE INDEX photos_awaiting_renditions ON photos (state, renditions);
CREATE INDEX photos_by_thumbnail_key ON photos (thumbnail_key);
CREATE INDEX photos_by_display_key ON photos (display_key);
