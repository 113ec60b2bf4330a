//! Photo metadata. The image bytes live in the app's storage; the server keeps what identifies them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{Caller, Patient};
use crate::db::schema::photos;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{BodySite, PhotoState, PhotoType, PhotoView, RenditionState, Role};
use crate::error::AppError;
use crate::models::{check_ins, treatments};
use crate::pagination::{Cursor, Order, Page, PageRequest};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = photos)]
pub struct PhotoRecord {
    pub id: String,
    pub check_in_id: String,
    pub treatment_id: String,
    pub patient_id: String,
    pub content_type: PhotoType,
    pub byte_size: i64,
    pub sha256: String,
    pub width: i32,
    pub height: i32,
    pub captured_at: NaiveDateTime,
    pub body_site: BodySite,
    pub view: PhotoView,
    pub created_at: NaiveDateTime,
    pub state: PhotoState,
    pub object_key: Option<String>,
    pub original_key: Option<String>,
    pub metadata_removed: bool,
    pub verified_at: Option<NaiveDateTime>,
    pub renditions: RenditionState,
    pub thumbnail_key: Option<String>,
    pub display_key: Option<String>,
    pub orientation: Option<i32>,
    pub pixel_width: Option<i32>,
    pub pixel_height: Option<i32>,
}

impl PhotoRecord {
    /// The keys of every object the photo has: its bytes, the original, the renditions.
    pub fn keys(self) -> Vec<String> {
        [self.object_key, self.original_key, self.thumbnail_key, self.display_key].into_iter().flatten().collect()
    }
}

/// The photos `caller` may see: verified ones, and for a patient also their own still pending
/// (so that the app can find and upload them).
fn visible_to(caller: &Caller) -> photos::BoxedQuery<'static, MultiBackend> {
    let query = photos::table.into_boxed().filter(caller.scope().rows(photos::clinic_id, photos::patient_id));
    match caller.role {
        Role::Patient => query,
        Role::Admin | Role::Clinician => query.filter(photos::state.eq(PhotoState::Verified)),
    }
}

#[derive(Insertable)]
#[diesel(table_name = photos)]
pub struct NewPhoto {
    pub content_type: PhotoType,
    pub byte_size: i64,
    pub sha256: String,
    pub width: i32,
    pub height: i32,
    pub captured_at: NaiveDateTime,
    pub body_site: BodySite,
    pub view: PhotoView,
}

/// Attaches a photo to one of the calling patient's own check-ins.
pub fn create(
    conn: &mut DbConnection,
    caller: &Patient,
    check_in_id: &str,
    new: NewPhoto,
) -> Result<PhotoRecord, AppError> {
    let check_in = check_ins::get(conn, caller, check_in_id)?;
    let id = super::new_id();
    diesel::insert_into(photos::table)
        .values((
            &new,
            photos::id.eq(&id),
            photos::check_in_id.eq(&check_in.id),
            photos::treatment_id.eq(&check_in.treatment_id),
            photos::patient_id.eq(&check_in.patient_id),
            photos::clinic_id.eq(&check_in.clinic_id),
            photos::created_at.eq(crate::clock::now()),
            // The key its bytes will have, fixed now: every upload of the photo goes there.
            photos::object_key.eq(crate::photo_store::new_key(crate::photo_store::OBJECTS)),
        ))
        .execute(conn)?;
    get(conn, caller, &id)
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<PhotoRecord, AppError> {
    Ok(visible_to(caller).filter(photos::id.eq(id.to_string())).select(PhotoRecord::as_select()).first(conn)?)
}

pub struct PhotoFilter {
    pub body_site: Option<BodySite>,
    pub view: Option<PhotoView>,
    /// Pending photos too (for a patient's export of their own data); lists show verified ones.
    pub pending_too: bool,
}

/// A treatment's photos in capture order. 404 when the treatment is not the caller's to see.
pub fn list_for_treatment(
    conn: &mut DbConnection,
    caller: &Caller,
    treatment_id: &str,
    filter: &PhotoFilter,
    page: &PageRequest,
) -> Result<Page<PhotoRecord>, AppError> {
    let treatment = treatments::get(conn, caller, treatment_id)?;
    let mut query = visible_to(caller)
        .filter(photos::treatment_id.eq(treatment.id))
        .select(PhotoRecord::as_select())
        .order((photos::captured_at.asc(), photos::id.asc()))
        .limit(page.fetch());
    if !filter.pending_too {
        query = query.filter(photos::state.eq(PhotoState::Verified));
    }
    if let Some(site) = filter.body_site {
        query = query.filter(photos::body_site.eq(site));
    }
    if let Some(view) = filter.view {
        query = query.filter(photos::view.eq(view));
    }
    if let Some(after) = &page.after {
        query = query.filter(after.rows_after(Order::Ascending, photos::captured_at, photos::id));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |p| Cursor::new(None, p.captured_at, &p.id)))
}

/// Deletes a photo's record; returns the keys of its objects, for the caller to delete once the
/// transaction has committed.
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<Vec<String>, AppError> {
    let photo = get(conn, caller, id)?;
    diesel::delete(photos::table.find(&photo.id)).execute(conn)?;
    Ok(photo.keys())
}

/// The keys of every object of a patient's photos (for erasure, before `erase_patient`).
pub fn keys_of_patient(conn: &mut DbConnection, patient_id: &str) -> Result<Vec<String>, AppError> {
    let rows: Vec<PhotoRecord> =
        photos::table.filter(photos::patient_id.eq(patient_id)).select(PhotoRecord::as_select()).load(conn)?;
    Ok(rows.into_iter().flat_map(PhotoRecord::keys).collect())
}

/// Erasure: deletes every photo record of the patient. Run inside the erasure's write transaction.
pub fn erase_patient(conn: &mut DbConnection, patient_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(photos::table.filter(photos::patient_id.eq(patient_id))).execute(conn)?)
}

/// Photos of a check-in, and of a patient, whatever their state (for the limits).
pub fn counts(conn: &mut DbConnection, check_in_id: &str, patient_id: &str) -> Result<(i64, i64), AppError> {
    let of_check_in = photos::table.filter(photos::check_in_id.eq(check_in_id)).count().get_result(conn)?;
    let of_patient = photos::table.filter(photos::patient_id.eq(patient_id)).count().get_result(conn)?;
    Ok((of_check_in, of_patient))
}

/// The patient's own photo, with its object keys assigned (once: later uploads reuse them, so
/// that a photo only ever has one object). `original` asks for a key for the bytes as uploaded.
pub fn assign_keys(
    conn: &mut DbConnection,
    caller: &Patient,
    id: &str,
    original: bool,
) -> Result<PhotoRecord, AppError> {
    let photo = get(conn, caller, id)?;
    let object_key =
        photo.object_key.clone().unwrap_or_else(|| crate::photo_store::new_key(crate::photo_store::OBJECTS));
    let original_key = match (&photo.original_key, original) {
        (Some(key), _) => Some(key.clone()),
        (None, true) => Some(crate::photo_store::new_key(crate::photo_store::ORIGINALS)),
        (None, false) => None,
    };
    if photo.object_key.as_ref() != Some(&object_key) || photo.original_key != original_key {
        diesel::update(photos::table.find(&photo.id))
            .set((photos::object_key.eq(&object_key), photos::original_key.eq(&original_key)))
            .execute(conn)?;
    }
    Ok(PhotoRecord { object_key: Some(object_key), original_key, ..photo })
}

/// Records that the photo's bytes are verified and in place. `NotFound` when the photo was
/// deleted while they arrived.
pub fn mark_verified(
    conn: &mut DbConnection,
    caller: &Patient,
    id: &str,
    metadata_removed: bool,
) -> Result<PhotoRecord, AppError> {
    let photo = get(conn, caller, id)?;
    diesel::update(photos::table.find(&photo.id))
        .set((
            photos::state.eq(PhotoState::Verified),
            photos::metadata_removed.eq(metadata_removed),
            photos::verified_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    get(conn, caller, id)
}

/// For the sweeper: which of `keys` a photo names (its bytes, original or renditions), and that
/// photo's state.
pub fn states_of_keys(
    conn: &mut DbConnection,
    keys: &[String],
) -> Result<std::collections::HashMap<String, PhotoState>, AppError> {
    let rows: Vec<PhotoRecord> = photos::table
        .filter(
            photos::object_key
                .eq_any(keys)
                .or(photos::original_key.eq_any(keys))
                .or(photos::thumbnail_key.eq_any(keys))
                .or(photos::display_key.eq_any(keys)),
        )
        .select(PhotoRecord::as_select())
        .load(conn)?;
    let mut known = std::collections::HashMap::new();
    for photo in rows {
        let state = photo.state;
        for key in photo.keys() {
            known.insert(key, state);
        }
    }
    Ok(known)
}

/// For the comparison: the treatment (404 when not the caller's), its patient's time zone, and its
/// verified photos (of one body site and view, when given), in capture order. At most `PHOTOS_PER_PATIENT`.
pub fn for_comparison(
    conn: &mut DbConnection,
    caller: &Caller,
    treatment_id: &str,
    body_site: Option<BodySite>,
    view: Option<PhotoView>,
) -> Result<(treatments::TreatmentRecord, chrono_tz::Tz, Vec<PhotoRecord>), AppError> {
    let treatment = treatments::get(conn, caller, treatment_id)?;
    let patient = crate::models::patients::get(conn, caller, &treatment.patient_id)?;
    let mut query = visible_to(caller)
        .filter(photos::treatment_id.eq(treatment.id.clone()))
        .filter(photos::state.eq(PhotoState::Verified))
        .select(PhotoRecord::as_select())
        .order((photos::captured_at.asc(), photos::id.asc()));
    if let Some(site) = body_site {
        query = query.filter(photos::body_site.eq(site));
    }
    if let Some(view) = view {
        query = query.filter(photos::view.eq(view));
    }
    let rows = query.load(conn)?;
    Ok((treatment, patient.timezone, rows))
}
