//! The renditions' side of a photo's record: what the upload measured, and the rendition worker's
//! claims and outcomes (see `photo_store::renditions`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::photos;
use crate::domain::{PhotoState, PhotoType, RenditionState};
use crate::error::AppError;
use crate::photo_store::probe::Facts;

/// What a verified upload's header said: its EXIF orientation and its size as displayed. A type
/// that is not decoded here is `unavailable` at once. Run in the transaction that verifies it.
pub fn record_upload(conn: &mut DbConnection, id: &str, kind: PhotoType, facts: Option<Facts>) -> Result<(), AppError> {
    let decodable = matches!(kind, PhotoType::Jpeg | PhotoType::Png);
    let (orientation, width, height) = match facts {
        Some(f) => (Some(f.orientation as i32), Some(f.displayed().0 as i32), Some(f.displayed().1 as i32)),
        None => (None, None, None),
    };
    let target = photos::table.find(id);
    match decodable {
        true => diesel::update(target)
            .set((photos::orientation.eq(orientation), photos::pixel_width.eq(width), photos::pixel_height.eq(height)))
            .execute(conn)?,
        false => diesel::update(target).set(photos::renditions.eq(RenditionState::Unavailable)).execute(conn)?,
    };
    Ok(())
}

/// Verified photos waiting for their renditions, unclaimed or claimed before `stale_before` (by
/// a replica that died or gave up mid-way).
pub fn waiting(conn: &mut DbConnection, stale_before: NaiveDateTime, limit: i64) -> Result<Vec<String>, AppError> {
    Ok(photos::table
        .filter(photos::state.eq(PhotoState::Verified))
        .filter(photos::renditions.eq(RenditionState::Pending))
        .filter(photos::renditions_claimed_at.is_null().or(photos::renditions_claimed_at.lt(stale_before)))
        .order(photos::verified_at.asc())
        .select(photos::id)
        .limit(limit)
        .load(conn)?)
}

/// A photo the worker claimed: what it needs to make the renditions, and where they go.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub object_key: String,
    pub content_type: PhotoType,
    pub orientation: Option<i32>,
    pub thumbnail_key: String,
    pub display_key: String,
}

/// Claims a waiting photo for this replica: one conditional update, which only one replica wins.
/// The claim gives the renditions fresh keys, committed before anything is written under them
/// (the keys of an abandoned claim become orphans the sweeper removes). `None`: another replica
/// has it, or it is gone or done.
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> Result<Option<Claimed>, AppError> {
    let thumbnail_key = crate::photo_store::new_key(crate::photo_store::renditions::PREFIX);
    let display_key = crate::photo_store::new_key(crate::photo_store::renditions::PREFIX);
    let claimed = diesel::update(
        photos::table
            .find(id)
            .filter(photos::state.eq(PhotoState::Verified))
            .filter(photos::renditions.eq(RenditionState::Pending))
            .filter(photos::object_key.is_not_null())
            .filter(photos::renditions_claimed_at.is_null().or(photos::renditions_claimed_at.lt(stale_before))),
    )
    .set((
        photos::renditions_claimed_at.eq(now),
        photos::thumbnail_key.eq(&thumbnail_key),
        photos::display_key.eq(&display_key),
    ))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    let (object_key, content_type, orientation): (Option<String>, PhotoType, Option<i32>) =
        photos::table.find(id).select((photos::object_key, photos::content_type, photos::orientation)).first(conn)?;
    Ok(Some(Claimed {
        id: id.to_string(),
        object_key: object_key.ok_or(AppError::NotFound)?,
        content_type,
        orientation,
        thumbnail_key,
        display_key,
    }))
}

/// How a claim ended.
pub enum Outcome {
    /// Both renditions are in the store; the picture's size as displayed.
    Ready { width: u32, height: u32 },
    /// The bytes did not decode (or exceed the decoder's limits): there will be none.
    Unavailable,
}

/// Records the outcome of `claim`; `false` when the claim was taken over or the photo is gone
/// (its rendition objects are then the caller's to remove).
pub fn finish(conn: &mut DbConnection, claim: &Claimed, outcome: Outcome) -> Result<bool, AppError> {
    let target = photos::table
        .find(&claim.id)
        .filter(photos::renditions.eq(RenditionState::Pending))
        .filter(photos::thumbnail_key.eq(&claim.thumbnail_key));
    let updated = match outcome {
        Outcome::Ready { width, height } => diesel::update(target)
            .set((
                photos::renditions.eq(RenditionState::Ready),
                photos::pixel_width.eq(width as i32),
                photos::pixel_height.eq(height as i32),
            ))
            .execute(conn)?,
        Outcome::Unavailable => diesel::update(target)
            .set((
                photos::renditions.eq(RenditionState::Unavailable),
                photos::thumbnail_key.eq(None::<String>),
                photos::display_key.eq(None::<String>),
            ))
            .execute(conn)?,
    };
    Ok(updated == 1)
}
