//! Photos: attaching their metadata to a check-in, receiving and serving their bytes, finding and
//! deleting them.

use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};

use crate::auth::{Caller, Patient};
use crate::domain::{PhotoSize, PhotoState, RenditionState};
use crate::error::AppError;
use crate::models::photos::{self, NewPhoto, PhotoFilter, PhotoRecord};
use crate::models::{check_ins, patients, photo_renditions};
use crate::pagination::{Page, PageRequest};
use crate::photo_store::{Expected, Keys, probe};
use crate::state::SharedState;
use crate::use_cases::check_ins::refuse_if_discharged;

/// Attaches a photo to one of the calling patient's own check-ins, within the limits: its size
/// (`PHOTO_MAX_BYTES`, 422), photos per check-in and per patient (409).
pub async fn attach(
    state: &SharedState,
    caller: Patient,
    check_in_id: String,
    new: NewPhoto,
) -> Result<PhotoRecord, AppError> {
    let limits = state.settings.photos.clone();
    if new.byte_size > limits.max_bytes {
        return Err(AppError::invalid("byte_size", format!("must be at most {} bytes", limits.max_bytes)));
    }
    state
        .db
        .write(move |conn| {
            // The check-in first: another patient's is 404 whatever the caller's own state.
            check_ins::get(conn, &caller, &check_in_id)?;
            refuse_if_discharged(&patients::get(conn, &caller, &caller.user_id)?)?;
            let (of_check_in, of_patient) = photos::counts(conn, &check_in_id, &caller.user_id)?;
            if of_check_in >= limits.per_check_in {
                return Err(AppError::Precondition {
                    code: "photo-limit",
                    detail: format!("a check-in holds at most {} photos", limits.per_check_in),
                });
            }
            if of_patient >= limits.per_patient {
                return Err(AppError::Precondition {
                    code: "photo-quota",
                    detail: format!("a patient keeps at most {} photos; delete some first", limits.per_patient),
                });
            }
            photos::create(conn, &caller, &check_in_id, new)
        })
        .await
}

/// Receives the bytes of one of the calling patient's own photos (see `photo_store`), at most
/// `PHOTO_UPLOADS_PER_WINDOW` uploads per `LOGIN_WINDOW_SECONDS` (429): they must
/// match the record's size, SHA-256 and type. Only then are they moved to the photo's one key and
/// the photo verified, in one transaction; a retry replaces the bytes of an earlier upload.
pub async fn upload_content<S, E>(
    state: &SharedState,
    caller: Patient,
    id: String,
    declared_length: Option<u64>,
    body: S,
) -> Result<PhotoRecord, AppError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let settings = &state.settings;
    state.photos.admit_upload(&caller.user_id, settings.photos.uploads_per_window, settings.login_window)?;
    let keep_original = settings.photos.keep_original;
    let (patient, photo_id) = (caller.clone(), id.clone());
    let photo = state
        .db
        .run(move |conn| {
            let photo = photos::get(conn, &patient, &photo_id)?;
            refuse_if_discharged(&patients::get(conn, &patient, &patient.user_id)?)?;
            Ok(photo)
        })
        .await?;
    // Keys are fixed when the photo is created; a photo from before, or a first original, gets
    // them here, committed before anything is written under them.
    let photo = match photo.object_key.is_none() || (keep_original && photo.original_key.is_none()) {
        true => {
            let (patient, photo_id) = (caller.clone(), photo.id.clone());
            state.db.write(move |conn| photos::assign_keys(conn, &patient, &photo_id, keep_original)).await?
        }
        false => photo,
    };
    if let Some(length) = declared_length.filter(|&n| n != photo.byte_size as u64) {
        return Err(AppError::invalid(
            "byte_size",
            format!("the body is {length} bytes long, the photo declares {}", photo.byte_size),
        ));
    }
    let expected =
        Expected { content_type: photo.content_type, byte_size: photo.byte_size, sha256: photo.sha256.clone() };
    let keys = Keys {
        object: photo.object_key.clone().expect("assigned above"),
        original: photo.original_key.clone().filter(|_| keep_original),
    };
    // The image's header, read as the bytes pass, for its pixel size (checked before the bytes
    // are committed under their key) and orientation.
    let head = std::cell::RefCell::new(Vec::new());
    let body = body.inspect(|chunk| {
        if let Ok(chunk) = chunk {
            probe::keep_head(&mut head.borrow_mut(), chunk)
        }
    });
    let declared_size = || match probe::facts(photo.content_type, &head.borrow()) {
        Some(found) if !found.matches(photo.width as u32, photo.height as u32) => Err(AppError::invalid(
            "width",
            format!(
                "the image is {} x {} pixels, the photo declares {} x {}",
                found.width, found.height, photo.width, photo.height
            ),
        )),
        _ => Ok(()),
    };
    let metadata_removed = state.photos.receive(&expected, body, &keys, declared_size).await?;
    let (facts, kind) = (probe::facts(photo.content_type, &head.borrow()), photo.content_type);
    let verified = state
        .db
        .write(move |conn| {
            let verified = photos::mark_verified(conn, &caller, &id, metadata_removed)?;
            photo_renditions::record_upload(conn, &verified.id, kind, facts)?;
            photos::get(conn, &caller, &id)
        })
        .await;
    if let Err(AppError::NotFound) = verified {
        // Deleted while its bytes arrived: they go too.
        for key in [Some(keys.object), keys.original].into_iter().flatten() {
            state.photos.remove(&key).await;
        }
    }
    verified
}

/// A verified photo's bytes, as stored (`Original`), or one of its renditions: its record (for
/// the type) and the stream. A rendition not made yet, or never to be made, is a 409.
pub async fn content(
    state: &SharedState,
    caller: Caller,
    id: String,
    size: PhotoSize,
) -> Result<(PhotoRecord, u64, impl Stream<Item = Result<Bytes, object_store::Error>> + use<>), AppError> {
    let photo = state.db.run(move |conn| photos::get(conn, &caller, &id)).await?;
    let key = match (&photo.state, &photo.object_key) {
        (PhotoState::Verified, Some(key)) => key.clone(),
        _ => return Err(AppError::NotFound),
    };
    let key = match (size, photo.renditions) {
        (PhotoSize::Original, _) => key,
        (PhotoSize::Thumbnail | PhotoSize::Display, RenditionState::Pending) => {
            return Err(AppError::Precondition {
                code: "rendition-pending",
                detail: format!("the photo's {size} size is being made; try again in a few seconds"),
            });
        }
        (PhotoSize::Thumbnail | PhotoSize::Display, RenditionState::Unavailable) => {
            return Err(AppError::Precondition {
                code: "rendition-unavailable",
                detail: format!(
                    "no {size} size is made of this photo ({} is not decoded here, or its bytes did not decode); \
                     fetch size=original",
                    photo.content_type
                ),
            });
        }
        (PhotoSize::Thumbnail, RenditionState::Ready) => photo.thumbnail_key.clone().ok_or(AppError::NotFound)?,
        (PhotoSize::Display, RenditionState::Ready) => photo.display_key.clone().ok_or(AppError::NotFound)?,
    };
    let (size, stream) = state.photos.read(&key).await?;
    Ok((photo, size, stream))
}

/// One body site's photos of a treatment, by day of recovery (day 1 is the day of treatment,
/// days counted on the patient's local calendar), so that day 2 and day 9 sit side by side.
pub struct Comparison {
    pub treatment_id: String,
    pub days: Vec<(i64, chrono::NaiveDate, Vec<PhotoRecord>)>,
}

pub async fn compare(
    state: &SharedState,
    caller: Caller,
    treatment_id: String,
    body_site: Option<crate::domain::BodySite>,
    view: Option<crate::domain::PhotoView>,
) -> Result<Comparison, AppError> {
    let (treatment, zone, rows) =
        state.db.run(move |conn| photos::for_comparison(conn, &caller, &treatment_id, body_site, view)).await?;
    let mut days: Vec<(i64, chrono::NaiveDate, Vec<PhotoRecord>)> = Vec::new();
    for photo in rows {
        let local = photo.captured_at.and_utc().with_timezone(&zone).date_naive();
        let day_number = (local - treatment.treated_on).num_days() + 1;
        match days.last_mut() {
            Some((day, _, photos)) if *day == day_number => photos.push(photo),
            _ => days.push((day_number, local, vec![photo])),
        }
    }
    Ok(Comparison { treatment_id: treatment.id, days })
}

/// A treatment's photos in capture order, of one body site and view when the filter says so.
pub async fn list_for_treatment(
    state: &SharedState,
    caller: Caller,
    treatment_id: String,
    filter: PhotoFilter,
    page: PageRequest,
) -> Result<Page<PhotoRecord>, AppError> {
    state.db.run(move |conn| photos::list_for_treatment(conn, &caller, &treatment_id, &filter, &page)).await
}

pub async fn get(state: &SharedState, caller: Caller, id: String) -> Result<PhotoRecord, AppError> {
    state.db.run(move |conn| photos::get(conn, &caller, &id)).await
}

/// Deletes a photo: the patient's own, or any of the clinic's for its staff. Its bytes go once
/// the deletion has committed (the sweeper removes what fails to go).
pub async fn remove(state: &SharedState, caller: Caller, id: String) -> Result<(), AppError> {
    let keys = state.db.write(move |conn| photos::delete(conn, &caller, &id)).await?;
    for key in keys {
        state.photos.remove(&key).await;
    }
    Ok(())
}
