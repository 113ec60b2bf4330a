//! Photo metadata attached to check-ins.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_LENGTH, LOCATION};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::Utc;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Patient};
use crate::clock::format_instant;
use crate::domain::photo::{parse_byte_size, parse_captured_at, parse_sha256, parse_side};
use crate::domain::{BodySite, PhotoSize, PhotoState, PhotoType, PhotoView, RenditionState, parse_enum};
use crate::error::AppError;
use crate::models::photos::{NewPhoto, PhotoFilter, PhotoRecord};
use crate::pagination::{Page, PageQuery};
use crate::routes::path_id;
use crate::state::AppState;
use crate::use_cases::photos;
use crate::validate::{Checks, checked};

#[derive(Serialize, ToSchema)]
pub struct Photo {
    pub id: String,
    pub check_in_id: String,
    pub treatment_id: String,
    pub patient_id: String,
    pub content_type: PhotoType,
    pub byte_size: i64,
    pub sha256: String,
    pub width: i32,
    pub height: i32,
    pub captured_at: String,
    pub body_site: BodySite,
    pub view: PhotoView,
    pub created_at: String,
    /// `pending` until bytes matching `byte_size`, `sha256` and `content_type` are uploaded with
    /// uploadPhotoContent; only its patient sees a pending photo.
    pub state: PhotoState,
    /// Whether EXIF, XMP and other metadata were removed from the bytes served (JPEG and PNG);
    /// `false` for HEIC and WebP, which are served as uploaded, and before the upload.
    pub metadata_removed: bool,
    /// Whether the thumbnail and display size can be fetched (getPhotoContent with `size`): made
    /// in the background a few seconds after the upload (`pending` until then), `unavailable` for
    /// HEIC/HEIF and WebP (served as uploaded only) and for bytes that do not decode.
    pub renditions: RenditionState,
    /// The picture's size in pixels as displayed (EXIF orientation applied), measured from its
    /// bytes; `null` before the upload, and for HEIC/HEIF and WebP.
    pub pixel_width: Option<i32>,
    /// See `pixel_width`.
    pub pixel_height: Option<i32>,
}

impl From<PhotoRecord> for Photo {
    fn from(p: PhotoRecord) -> Photo {
        Photo {
            id: p.id,
            check_in_id: p.check_in_id,
            treatment_id: p.treatment_id,
            patient_id: p.patient_id,
            content_type: p.content_type,
            byte_size: p.byte_size,
            sha256: p.sha256,
            width: p.width,
            height: p.height,
            captured_at: format_instant(p.captured_at),
            body_site: p.body_site,
            view: p.view,
            created_at: format_instant(p.created_at),
            state: p.state,
            metadata_removed: p.metadata_removed,
            renditions: p.renditions,
            pixel_width: p.pixel_width,
            pixel_height: p.pixel_height,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "content_type": "image/jpeg",
    "byte_size": 2481152,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "width": 3024,
    "height": 4032,
    "captured_at": "2026-11-30T14:05:00Z",
    "body_site": "left_cheek",
    "view": "left_45"
}))]
pub struct CreatePhoto {
    #[schema(value_type = PhotoType, required = true)]
    pub content_type: Option<String>,
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 26214400)]
    #[serde(default, deserialize_with = "crate::validate::integer")]
    pub byte_size: Option<i64>,
    /// SHA-256 of the image bytes: 64 lowercase hexadecimal characters.
    #[schema(value_type = String, required = true, pattern = "^[0-9a-f]{64}$")]
    pub sha256: Option<String>,
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 20000)]
    #[serde(default, deserialize_with = "crate::validate::integer")]
    pub width: Option<i64>,
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 20000)]
    #[serde(default, deserialize_with = "crate::validate::integer")]
    pub height: Option<i64>,
    /// RFC 3339; at most 5 minutes in the future.
    #[schema(value_type = String, format = DateTime, required = true)]
    pub captured_at: Option<String>,
    #[schema(value_type = BodySite, required = true)]
    pub body_site: Option<String>,
    #[schema(value_type = PhotoView, required = true)]
    pub view: Option<String>,
}

impl TryFrom<CreatePhoto> for NewPhoto {
    type Error = AppError;

    fn try_from(b: CreatePhoto) -> Result<NewPhoto, AppError> {
        let now = Utc::now();
        let mut checks = Checks::new();
        let content_type = checks.required("content_type", b.content_type, parse_enum::<PhotoType>);
        let byte_size = checks.required("byte_size", b.byte_size, parse_byte_size);
        let sha256 = checks.required("sha256", b.sha256, parse_sha256);
        let width = checks.required("width", b.width, parse_side);
        let height = checks.required("height", b.height, parse_side);
        let captured_at = checks.required("captured_at", b.captured_at, |v| parse_captured_at(v, now));
        let body_site = checks.required("body_site", b.body_site, parse_enum::<BodySite>);
        let view = checks.required("view", b.view, parse_enum::<PhotoView>);
        checks.finish()?;
        Ok(NewPhoto {
            content_type: checked(content_type)?,
            byte_size: checked(byte_size)?,
            sha256: checked(sha256)?,
            width: checked(width)?,
            height: checked(height)?,
            captured_at: checked(captured_at)?,
            body_site: checked(body_site)?,
            view: checked(view)?,
        })
    }
}

/// Attaches a photo's metadata to one of the patient's own check-ins.
///
/// The patient only; staff get 403, and another patient's check-in answers 404. Only the metadata
/// is stored; the photo stays `pending`, seen by its patient only, until its bytes are uploaded
/// with uploadPhotoContent. A `captured_at` more than 5 minutes in the future, or a size (at most
/// `PHOTO_MAX_BYTES`), dimension or checksum out of bounds, answers 422; a discharged patient's
/// photo, or one past the photos a check-in or a patient may hold, 409. Retrying with the same Idempotency-Key is safe: the retry
/// gets the first answer instead of a second photo.
#[utoipa::path(
    operation_id = "createPhoto",
    tag = "photos",
    params(
        ("id" = uuid::Uuid, Path, description = "Check-in id"),
        crate::routes::openapi::IdempotencyKey,
    ),
    request_body = CreatePhoto,
    responses(
        (status = 201, description = "Stored", body = Photo,
            headers(("Location" = String, description = "The path of the created resource"))),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[post("/check-ins/{id}/photos", wrap = "actix_web::middleware::from_fn(crate::idempotency::middleware)")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CreatePhoto>,
) -> Result<HttpResponse, AppError> {
    let caller = Patient::try_from(caller)?;
    let check_in_id = path_id(&id)?;
    let new = NewPhoto::try_from(body.into_inner())?;
    let created = photos::attach(&state, caller, check_in_id, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/photos/{}", created.id)))
        .json(Photo::from(created)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhotoQuery {
    #[param(value_type = Option<BodySite>)]
    pub body_site: Option<String>,
    #[param(value_type = Option<PhotoView>)]
    pub view: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^([0-2]:)?[0-9]{1,16}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}

/// A treatment's verified photos, oldest `captured_at` first, optionally of one body site and view.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// Filter by `body_site` and `view` to line up the same shot across the recovery. An unknown
/// `body_site` or `view`, a `limit` outside 1-100 or a `cursor` this server did not issue answers 422.
#[utoipa::path(
    operation_id = "listPhotos",
    tag = "photos",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), PhotoQuery),
    responses(
        (status = 200, description = "A page of photos", body = Page<Photo>),
    )
)]
#[get("/treatments/{id}/photos")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PhotoQuery>,
) -> Result<web::Json<Page<Photo>>, AppError> {
    let treatment_id = path_id(&id)?;
    let q = query.into_inner();
    let mut checks = Checks::new();
    let filter = PhotoFilter {
        body_site: checks.optional("body_site", q.body_site, parse_enum::<BodySite>),
        view: checks.optional("view", q.view, parse_enum::<PhotoView>),
        pending_too: false,
    };
    let page = PageQuery { limit: q.limit, cursor: q.cursor }.parse(&mut checks);
    checks.finish()?;
    let page = checked(page)?;
    let found = photos::list_for_treatment(&state, caller, treatment_id, filter, page).await?;
    Ok(web::Json(found.map(Photo::from)))
}

/// One photo's metadata.
///
/// Administrators and clinicians of the photo's clinic, or its patient; anyone else gets 404,
/// exactly as for an id that does not exist (or a deleted photo). Staff see verified photos only.
#[utoipa::path(
    operation_id = "getPhoto",
    tag = "photos",
    params(("id" = uuid::Uuid, Path, description = "Photo id")),
    responses(
        (status = 200, description = "The photo", body = Photo),
    )
)]
#[get("/photos/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<Photo>, AppError> {
    let id = path_id(&id)?;
    let found = photos::get(&state, caller, id).await?;
    Ok(web::Json(found.into()))
}

/// Deletes a photo's metadata: the patient's own, or any of the clinic's by its staff.
///
/// Administrators and clinicians of the photo's clinic, or its patient; anyone else gets 404. The
/// deletion is final, and takes the photo's bytes from the store; deleting the same photo again
/// answers 404.
#[utoipa::path(
    operation_id = "deletePhoto",
    tag = "photos",
    params(("id" = uuid::Uuid, Path, description = "Photo id")),
    responses(
        (status = 204, description = "Deleted"),
    )
)]
#[delete("/photos/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    photos::remove(&state, caller, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An image file's bytes, as the body of a request or an answer.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PhotoBytes(#[allow(dead_code)] Vec<u8>);

/// Uploads a photo's bytes: the patient's own, streamed, as the raw body.
///
/// The patient only (staff get 403; another patient's photo 404). The body must be exactly the
/// bytes the photo declared: its `byte_size` (a longer body stops at once with 413, a shorter or
/// different one 422), its `sha256` (422) and its `content_type`, which the bytes' own signature
/// must show (415 for anything that is not a JPEG, PNG, HEIC/HEIF or WebP image, 422 for another
/// of these). A JPEG's or PNG's header must show the declared `width` and `height` (or, when its
/// EXIF orientation turns it a quarter, the two swapped), else 422. EXIF, XMP and comments are
/// removed from JPEG and PNG before they are stored; a thumbnail and a display size are then made
/// in the background (see the photo's `renditions`). On
/// success the photo is `verified` and visible to the clinic. Retrying, after a broken
/// connection say, is safe: the photo keeps one object, replaced by the retry. A refused upload
/// leaves nothing behind. The body has `PHOTO_UPLOAD_TIMEOUT_SECONDS` to arrive (408); more than
/// `PHOTO_UPLOADS_PER_WINDOW` uploads by one patient within the login window answer 429.
#[utoipa::path(
    operation_id = "uploadPhotoContent",
    tag = "photos",
    params(("id" = uuid::Uuid, Path, description = "Photo id")),
    // One content type: the type comes from the bytes, and generators (openapi-python-client)
    // send a binary body as application/octet-stream only, failing on a list of image types.
    request_body(
        description = "The image file's bytes (JPEG, PNG, HEIC/HEIF or WebP), exactly as hashed into the \
            photo's `sha256`. The type is read from the bytes' signature, not from `Content-Type`.",
        content((PhotoBytes = "application/octet-stream"))
    ),
    responses(
        (status = 200, description = "Verified and stored", body = Photo),
        (status = 403, response = crate::routes::problems::Forbidden),
        (status = 409, response = crate::routes::problems::Conflict),
        (status = 429, response = crate::routes::problems::TooManyRequests),
    )
)]
#[put("/photos/{id}/content")]
pub async fn upload_content(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Payload,
) -> Result<web::Json<Photo>, AppError> {
    let caller = Patient::try_from(caller)?;
    let id = path_id(&id)?;
    let length = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let verified = photos::upload_content(&state, caller, id, length, body).await?;
    Ok(web::Json(verified.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// `original` (the default): the bytes as uploaded, less their metadata; `display` (longest
    /// side at most 1600 pixels) or `thumbnail` (at most 320): JPEG renditions.
    #[param(value_type = Option<PhotoSize>)]
    pub size: Option<String>,
}

/// A verified photo's bytes without their metadata, or its thumbnail or display size.
///
/// Administrators and clinicians of the photo's clinic, or its patient; anyone else gets 404, as
/// does a photo whose bytes have not been uploaded yet. With `size=original` (the default),
/// `Content-Type` is the photo's type (HEIC and WebP are served as uploaded: see
/// `metadata_removed`). `size=display` and `size=thumbnail` are JPEGs scaled down (never up) to
/// a longest side of 1600 and 320 pixels, turned upright by the upload's EXIF orientation and
/// without any metadata; they are made in the background after the upload: until the photo's
/// `renditions` is `ready`, they answer 409 `rendition-pending` (try again shortly), and for a
/// photo whose `renditions` is `unavailable` (HEIC/HEIF, WebP) 409 `rendition-unavailable` (fetch
/// the original). An unknown `size` answers 422. Never cached by shared caches
/// (`Cache-Control: private, no-store`); every download is in the audit trail.
#[utoipa::path(
    operation_id = "getPhotoContent",
    tag = "photos",
    params(("id" = uuid::Uuid, Path, description = "Photo id"), ContentQuery),
    responses(
        // One media range rather than the four types: openapi-python-client reads an image/* answer
        // only through a content type override, which would also give the upload four bodies.
        (status = 200,
            description = "The image: JPEG, PNG, HEIC or WebP, as `Content-Type` says (the photo's `content_type`)",
            content((PhotoBytes = "image/*")),
            headers(
                ("Cache-Control" = String, description = "`private, no-store`"),
                ("Content-Disposition" = String, description = "`inline`"),
            )),
        (status = 409, response = crate::routes::problems::Conflict),
    )
)]
#[get("/photos/{id}/content")]
pub async fn download_content(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ContentQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    let mut checks = Checks::new();
    let size = checks.optional("size", query.into_inner().size, parse_enum::<PhotoSize>);
    checks.finish()?;
    let size = size.unwrap_or(PhotoSize::Original);
    let (photo, length, stream) = photos::content(&state, caller, id, size).await?;
    let content_type = size.content_type(photo.content_type).as_str();
    let stream = stream.map(|chunk| chunk.map_err(std::io::Error::other));
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((CACHE_CONTROL, "private, no-store"))
        .insert_header(("Content-Disposition", "inline"))
        .no_chunking(length)
        .streaming(stream))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComparisonQuery {
    /// The body site to compare; every site when absent (then each day mixes them).
    #[param(value_type = Option<BodySite>)]
    pub body_site: Option<String>,
    /// Only photos of this view; all views when absent.
    #[param(value_type = Option<PhotoView>)]
    pub view: Option<String>,
}

/// One day of recovery in a comparison, with the photos taken that day.
#[derive(Serialize, ToSchema)]
pub struct PhotoDay {
    /// Day 1 is the day of treatment; days follow the patient's local calendar. 0 or less: before it.
    pub day_number: i64,
    #[schema(value_type = String, format = Date)]
    pub local_date: String,
    pub photos: Vec<Photo>,
}

#[derive(Serialize, ToSchema)]
pub struct PhotoComparison {
    pub treatment_id: String,
    pub body_site: Option<BodySite>,
    pub view: Option<PhotoView>,
    /// The days that have photos, in order.
    pub days: Vec<PhotoDay>,
}

/// A treatment's verified photos of one body site, by day of recovery, to compare them side by side.
///
/// Administrators and clinicians of the treatment's clinic, or its patient; anyone else gets 404.
/// Day 1 is the day of treatment, on the patient's local calendar; each day lists its photos in
/// capture order (fetch their bytes with getPhotoContent). An unknown `body_site` or `view` answers
/// 422.
#[utoipa::path(
    operation_id = "comparePhotos",
    tag = "photos",
    params(("id" = uuid::Uuid, Path, description = "Treatment id"), ComparisonQuery),
    responses(
        (status = 200, description = "The photos by day", body = PhotoComparison),
    )
)]
#[get("/treatments/{id}/photo-comparison")]
pub async fn compare(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<ComparisonQuery>,
) -> Result<web::Json<PhotoComparison>, AppError> {
    let treatment_id = path_id(&id)?;
    let q = query.into_inner();
    let mut checks = Checks::new();
    let body_site = checks.optional("body_site", q.body_site, parse_enum::<BodySite>);
    let view = checks.optional("view", q.view, parse_enum::<PhotoView>);
    checks.finish()?;
    let found = photos::compare(&state, caller, treatment_id, body_site, view).await?;
    Ok(web::Json(PhotoComparison {
        treatment_id: found.treatment_id,
        body_site,
        view,
        days: found
            .days
            .into_iter()
            .map(|(day_number, date, photos)| PhotoDay {
                day_number,
                local_date: date.to_string(),
                photos: photos.into_iter().map(Photo::from).collect(),
            })
            .collect(),
    }))
}
