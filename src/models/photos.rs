//! Photo metadata. The image bytes live in the app's storage; the server keeps what identifies them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::schema::photos;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::{BodySite, PhotoType, PhotoView, Role};
use crate::error::AppError;
use crate::models::{check_ins, treatments};
use crate::pagination::{Cursor, Page, PageRequest};

#[derive(Debug, Clone, PartialEq)]
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

#[derive(Queryable, Selectable)]
#[diesel(table_name = photos)]
struct PhotoRow {
    id: String,
    check_in_id: String,
    treatment_id: String,
    patient_id: String,
    content_type: String,
    byte_size: i64,
    sha256: String,
    width: i32,
    height: i32,
    captured_at: NaiveDateTime,
    body_site: String,
    view: String,
    created_at: NaiveDateTime,
}

impl TryFrom<PhotoRow> for PhotoRecord {
    type Error = AppError;
    fn try_from(row: PhotoRow) -> Result<PhotoRecord, AppError> {
        Ok(PhotoRecord {
            content_type: row.content_type.parse().map_err(AppError::internal)?,
            body_site: row.body_site.parse().map_err(AppError::internal)?,
            view: row.view.parse().map_err(AppError::internal)?,
            id: row.id,
            check_in_id: row.check_in_id,
            treatment_id: row.treatment_id,
            patient_id: row.patient_id,
            byte_size: row.byte_size,
            sha256: row.sha256,
            width: row.width,
            height: row.height,
            captured_at: row.captured_at,
            created_at: row.created_at,
        })
    }
}

type Visible = photos::BoxedQuery<'static, MultiBackend>;

/// The photos `caller` may see: the clinic's for staff, only their own for a patient.
fn visible_to(caller: &Caller) -> Visible {
    let query = photos::table.into_boxed();
    match caller.role {
        Role::Admin | Role::Clinician => query.filter(photos::clinic_id.eq(caller.clinic_id.clone())),
        Role::Patient => query.filter(photos::patient_id.eq(caller.user_id.clone())),
    }
}

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
    caller: &Caller,
    check_in_id: &str,
    new: NewPhoto,
) -> Result<PhotoRecord, AppError> {
    caller.require_patient()?;
    let check_in = check_ins::get(conn, caller, check_in_id)?;
    let id = super::new_id();
    diesel::insert_into(photos::table)
        .values((
            photos::id.eq(&id),
            photos::check_in_id.eq(&check_in.id),
            photos::treatment_id.eq(&check_in.treatment_id),
            photos::patient_id.eq(&check_in.patient_id),
            photos::clinic_id.eq(&check_in.clinic_id),
            photos::content_type.eq(new.content_type.as_str()),
            photos::byte_size.eq(new.byte_size),
            photos::sha256.eq(&new.sha256),
            photos::width.eq(new.width),
            photos::height.eq(new.height),
            photos::captured_at.eq(new.captured_at),
            photos::body_site.eq(new.body_site.as_str()),
            photos::view.eq(new.view.as_str()),
            photos::created_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    get(conn, caller, &id)
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<PhotoRecord, AppError> {
    visible_to(caller).filter(photos::id.eq(id.to_string())).select(PhotoRow::as_select()).first(conn)?.try_into()
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
        .select(PhotoRow::as_select())
        .order((photos::captured_at.asc(), photos::id.asc()))
        .limit(page.fetch());
    if let Some(site) = filter.body_site {
        query = query.filter(photos::body_site.eq(site.as_str()));
    }
    if let Some(view) = filter.view {
        query = query.filter(photos::view.eq(view.as_str()));
    }
    if let Some(after) = &page.after {
        let at = after.instant();
        query = query
            .filter(photos::captured_at.gt(at).or(photos::captured_at.eq(at).and(photos::id.gt(after.id.clone()))));
    }
    let rows = query.load(conn)?.into_iter().map(PhotoRecord::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, |p| Cursor::new(None, p.captured_at, &p.id)))
}

/// Deletes a photo's metadata: the patient's own, or any of the clinic's for staff.
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<(), AppError> {
    let photo = get(conn, caller, id)?;
    diesel::delete(photos::table.find(&photo.id)).execute(conn)?;
    Ok(())
}
