//! Photos in the console: a verified photo's bytes for the logged-in staff member (the API's
//! `photos::content`, so the same scoping: another clinic's photo is a 404), and a treatment's
//! photos lined up by body site and day of recovery for the patient page.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::{Stream, StreamExt};

use super::session::ConsoleSession;
use super::views::{PhotoCell, PhotoDay, PhotoSite};
use super::{ConsoleError, pages::as_staff};
use crate::audit::{Subject, note_subject};
use crate::auth::Caller;
use crate::domain::{BodySite, PhotoSize, PhotoView};
use crate::error::AppError;
use crate::models::photos::PhotoRecord;
use crate::routes::path_id;
use crate::state::{AppState, SharedState};
use crate::use_cases::photos;

/// Width in CSS pixels of a photo on the patient page (the browser scales the image down).
const SHOWN_WIDTH: i32 = 240;

/// The rendition the console shows: the thumbnail (320 px on its longer side, for a 240 px wide
/// cell), or while it is being made, or for a type not decoded here (HEIC, WebP), the photo as
/// stored (stripped of its metadata). Answers the bytes' content type with them.
async fn shown_rendition(
    state: &SharedState,
    caller: Caller,
    id: String,
) -> Result<(&'static str, PhotoRecord, u64, impl Stream<Item = Result<Bytes, object_store::Error>> + use<>), AppError>
{
    let shown = match photos::content(state, caller.clone(), id.clone(), PhotoSize::Thumbnail).await {
        Err(AppError::Precondition { .. }) => {
            (PhotoSize::Original, photos::content(state, caller, id, PhotoSize::Original).await?)
        }
        other => (PhotoSize::Thumbnail, other?),
    };
    let (size, (photo, length, stream)) = shown;
    Ok((size.content_type(photo.content_type).as_str(), photo, length, stream))
}

/// `GET /console/photos/{id}`: the photo's bytes, never cached, audited with its patient.
pub async fn content(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ConsoleSession,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    as_staff(&session)?;
    let id = path_id(&id)?;
    let (content_type, photo, size, stream) = shown_rendition(&state, session.caller.clone(), id).await?;
    note_subject(
        &req,
        Subject {
            patient_id: Some(photo.patient_id.clone()),
            resource_type: Some("photo"),
            resource_id: Some(photo.id),
        },
    );
    let stream = stream.map(|chunk| chunk.map_err(std::io::Error::other));
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .no_chunking(size)
        .streaming(stream))
}

/// The address of a photo's image in the console.
fn image_url(id: &str) -> String {
    format!("/console/photos/{id}")
}

fn words(raw: &str) -> String {
    raw.replace("_45", " 45°").replace('_', " ")
}

/// A treatment's verified photos, one row per body site (in the API's order of sites), each row
/// the days of recovery that have photos of it, in order.
pub async fn by_site(state: &SharedState, caller: Caller, treatment_id: String) -> Result<Vec<PhotoSite>, AppError> {
    let comparison = photos::compare(state, caller, treatment_id, None, None).await?;
    let mut sites: Vec<(BodySite, Vec<PhotoDay>)> = Vec::new();
    for (day, date, photos) in comparison.days {
        for photo in photos {
            let at = match sites.iter().position(|(site, _)| *site == photo.body_site) {
                Some(at) => at,
                None => {
                    sites.push((photo.body_site, Vec::new()));
                    sites.len() - 1
                }
            };
            let days = &mut sites[at].1;
            if days.last().is_none_or(|d| d.day != day) {
                days.push(PhotoDay { day, date: date.to_string(), photos: Vec::new() });
            }
            days.last_mut().expect("pushed above").photos.push(cell(day, &photo));
        }
    }
    sites.sort_by_key(|(site, _)| BodySite::ALL.iter().position(|s| s == site));
    Ok(sites
        .into_iter()
        .map(|(site, days)| PhotoSite { key: site.as_str(), title: capitalised(&words(site.as_str())), days })
        .collect())
}

fn cell(day: i64, photo: &PhotoRecord) -> PhotoCell {
    let height = (i64::from(SHOWN_WIDTH) * i64::from(photo.height) / i64::from(photo.width.max(1))).max(1);
    PhotoCell {
        src: image_url(&photo.id),
        alt: format!("Day {day}, {}, {}", words(photo.body_site.as_str()), view_words(photo.view)),
        width: SHOWN_WIDTH,
        height: height as i32,
    }
}

fn view_words(view: PhotoView) -> String {
    words(view.as_str())
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_and_views_read_as_words() {
        assert_eq!(capitalised(&words("left_cheek")), "Left cheek");
        assert_eq!(view_words(PhotoView::Left45), "left 45°");
        assert_eq!(view_words(PhotoView::CloseUp), "close up");
    }
}
