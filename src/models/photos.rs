//! Photo metadata. The image bytes live in the app's storage; the server keeps what identifies them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{Caller, Patient};
use crate::db::schema::photos;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{BodySite, PhotoType, PhotoView};
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
}

/// The photos `caller` may see.
fn visible_to(caller: &Caller) -> photos::BoxedQuery<'static, MultiBackend> {
    photos::table.into_boxed().filter(caller.scope().rows(photos::clinic_id, photos::patient_id))
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

/// Deletes a photo's metadata: the patient's own, or any of the clinic's for staff.
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<(), AppError> {
    let photo = get(conn, caller, id)?;
    diesel::delete(photos::table.find(&photo.id)).execute(conn)?;
    Ok(())
}

/// Erasure: deletes every photo record of the patient. Run inside the erasure's write transaction.
pub fn erase_patient(conn: &mut DbConnection, patient_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(photos::table.filter(photos::patient_id.eq(patient_id))).execute(conn)?)
}
