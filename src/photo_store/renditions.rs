//! The rendition worker: one per replica, started by `serve`. Every `PHOTO_RENDITION_POLL_MS` it
//! looks for verified photos whose renditions are `pending`, claims each (one replica wins: see
//! `models::photo_renditions::claim`), decodes the served bytes (JPEG, PNG) within `limits`, turns
//! them by the EXIF orientation the upload had, and writes two JPEGs under the claim's random keys:
//! a thumbnail (longest side `THUMBNAIL_SIDE`) and a display size (longest side `DISPLAY_SIDE`),
//! neither ever larger than the photo. Encoded from pixels, they carry no metadata at all. A
//! replica that dies mid-way leaves a claim that others take over after `LEASE`; what it wrote
//! becomes an orphan for the sweeper. Bytes that do not decode make the renditions `unavailable`.

use std::io::Cursor;
use std::time::Duration;

use futures_util::TryStreamExt;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use crate::domain::PhotoType;
use crate::error::AppError;
use crate::models::photo_renditions::{self, Claimed, Outcome};
use crate::state::SharedState;

pub const PREFIX: &str = "renditions";
pub const THUMBNAIL_SIDE: u32 = 320;
pub const DISPLAY_SIDE: u32 = 1600;
/// How long a claim holds before another replica may take the photo over.
pub const LEASE: Duration = Duration::from_secs(300);
/// Photos looked up at once.
const BATCH: i64 = 20;
/// Decoded pixels at most (RGBA8 of about 100 megapixels): a small file that decodes to a huge
/// picture (a decompression bomb) fails instead of taking the replica's memory.
const MAX_DECODED_BYTES: u64 = 400 * 1024 * 1024;

/// Starts the worker on the current actix system; it runs as long as the system does.
pub fn start(state: SharedState) {
    actix_web::rt::spawn(async move {
        loop {
            let shared = state.clone();
            match actix_web::rt::spawn(async move { render_waiting(&shared).await }).await {
                Ok(Ok(made)) if made as i64 >= BATCH => continue,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the rendition worker could not finish a round"),
                Err(panicked) => {
                    tracing::error!(error = %panicked, "the rendition worker failed unexpectedly; it goes on")
                }
            }
            actix_web::rt::time::sleep(state.settings.photos.rendition_poll).await;
        }
    });
}

/// One round: every waiting photo this replica manages to claim. Returns how many were claimed.
pub async fn render_waiting(state: &SharedState) -> Result<usize, AppError> {
    let stale_before = crate::clock::now() - chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::minutes(5));
    let waiting = state.db.run(move |conn| photo_renditions::waiting(conn, stale_before, BATCH)).await?;
    let mut claimed = 0;
    for id in waiting {
        let now = crate::clock::now();
        let Some(claim) = state.db.write(move |conn| photo_renditions::claim(conn, &id, now, stale_before)).await?
        else {
            continue;
        };
        claimed += 1;
        let started = std::time::Instant::now();
        let outcome = render_one(state, &claim).await?;
        let ready = matches!(outcome, Outcome::Ready { .. });
        let record = claim.clone();
        let kept = state.db.write(move |conn| photo_renditions::finish(conn, &record, outcome)).await?;
        if !kept {
            // Deleted, erased or taken over meanwhile: what this claim wrote goes.
            state.photos.remove(&claim.thumbnail_key).await;
            state.photos.remove(&claim.display_key).await;
        }
        tracing::info!(photo = %claim.id, ready, kept, ms = started.elapsed().as_millis() as u64, "photo renditions");
    }
    Ok(claimed)
}

/// Makes and stores a claimed photo's renditions. A store failure is an `Err` (the claim lapses
/// and the photo is tried again); bytes that do not decode are `Unavailable`.
async fn render_one(state: &SharedState, claim: &Claimed) -> Result<Outcome, AppError> {
    let (_, stream) = match state.photos.read(&claim.object_key).await {
        Ok(found) => found,
        // Deleted meanwhile: `finish` will find it gone.
        Err(AppError::NotFound) => return Ok(Outcome::Unavailable),
        Err(e) => return Err(e),
    };
    let bytes: Vec<u8> = stream
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("photo store: {e}")))?;
    let (kind, orientation) = (claim.content_type, claim.orientation.unwrap_or(1));
    let made = actix_web::rt::task::spawn_blocking(move || render(&bytes, kind, orientation))
        .await
        .map_err(|e| AppError::Internal(format!("rendering: {e}")))?;
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            tracing::warn!(photo = %claim.id, error = %e, "a photo did not decode: no renditions");
            return Ok(Outcome::Unavailable);
        }
    };
    state.photos.put(&claim.thumbnail_key, made.thumbnail).await?;
    state.photos.put(&claim.display_key, made.display).await?;
    Ok(Outcome::Ready { width: made.width, height: made.height })
}

/// A photo's two renditions, JPEG-encoded, and its size as displayed.
pub struct Rendered {
    pub thumbnail: Vec<u8>,
    pub display: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Decodes `bytes` within the limits, applies the EXIF `orientation` and encodes both sizes.
pub fn render(bytes: &[u8], kind: PhotoType, orientation: i32) -> Result<Rendered, String> {
    let format = match kind {
        PhotoType::Jpeg => ImageFormat::Jpeg,
        PhotoType::Png => ImageFormat::Png,
        PhotoType::Heic | PhotoType::Webp => return Err(format!("{kind} is not decoded here")),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    let side = crate::domain::photo::MAX_PIXELS_PER_SIDE as u32;
    (limits.max_image_width, limits.max_image_height, limits.max_alloc) =
        (Some(side), Some(side), Some(MAX_DECODED_BYTES));
    reader.limits(limits);
    let mut picture = reader.decode().map_err(|e| e.to_string())?;
    if let Some(turn) = u8::try_from(orientation).ok().and_then(Orientation::from_exif) {
        picture.apply_orientation(turn);
    }
    let (width, height) = (picture.width(), picture.height());
    let display = fit(&picture, DISPLAY_SIDE);
    drop(picture);
    let thumbnail = fit(&display, THUMBNAIL_SIDE);
    Ok(Rendered { thumbnail: jpeg(&thumbnail, 80)?, display: jpeg(&display, 85)?, width, height })
}

/// The picture scaled down to fit `side` (aspect ratio kept), as 8-bit RGB; never scaled up. By
/// half or more (a phone photo to the display size), area averaging on integers: fast, and no
/// floating-point copy of the picture (which would be some 80 MB for 12 megapixels); by less, a
/// triangle filter, which does not alias there.
fn fit(picture: &DynamicImage, side: u32) -> DynamicImage {
    let longest = picture.width().max(picture.height());
    let rgb = if longest >= 2 * side {
        picture.thumbnail(side, side)
    } else if longest > side {
        picture.resize(side, side, FilterType::Triangle)
    } else {
        picture.clone()
    };
    DynamicImage::ImageRgb8(rgb.into_rgb8())
}

fn jpeg(picture: &DynamicImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(picture)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let picture =
            image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(picture).write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn size(jpeg: &[u8]) -> (u32, u32) {
        let decoded = image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).unwrap();
        (decoded.width(), decoded.height())
    }

    #[test]
    fn scales_down_keeping_the_aspect_and_turns_by_the_orientation() {
        let made = render(&encoded(2000, 1500, ImageFormat::Jpeg), PhotoType::Jpeg, 1).unwrap();
        assert_eq!((size(&made.display), size(&made.thumbnail)), ((1600, 1200), (320, 240)));
        let turned = render(&encoded(2000, 1500, ImageFormat::Png), PhotoType::Png, 6).unwrap();
        assert_eq!((turned.width, turned.height), (1500, 2000));
        assert_eq!((size(&turned.display), size(&turned.thumbnail)), ((1200, 1600), (240, 320)));
    }

    /// The cost of one 12-megapixel phone photo (4032 x 3024), decode to both encodings:
    /// `cargo nextest run --lib --run-ignored only -- renditions::tests::timing --no-capture`.
    #[test]
    #[ignore]
    fn timing_of_a_12_megapixel_jpeg() {
        let bytes = encoded(4032, 3024, ImageFormat::Jpeg);
        let runs = 3;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            render(&bytes, PhotoType::Jpeg, 6).unwrap();
        }
        let ms = started.elapsed().as_millis() / runs;
        eprintln!("12 MP JPEG ({} bytes) -> thumbnail + display: {ms} ms per photo", bytes.len());
    }

    #[test]
    fn never_scales_up() {
        let made = render(&encoded(300, 200, ImageFormat::Png), PhotoType::Png, 1).unwrap();
        assert_eq!((size(&made.display), size(&made.thumbnail)), ((300, 200), (300, 200)));
    }

    #[test]
    fn refuses_what_does_not_decode_or_is_too_large() {
        assert!(render(b"\xFF\xD8\xFF\xE0 not really", PhotoType::Jpeg, 1).is_err());
        assert!(render(b"anything", PhotoType::Heic, 1).is_err());
        // A PNG whose header claims 20000 x 20000 pixels is refused, not decoded.
        let mut bomb = encoded(10, 10, ImageFormat::Png);
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(render(&bomb, PhotoType::Png, 1).is_err());
    }
}
