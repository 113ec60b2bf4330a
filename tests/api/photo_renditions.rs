//! A photo's thumbnail and display size: made off the request path by the rendition worker from
//! real JPEG and PNG pictures, upright by the upload's EXIF orientation, without metadata, scoped
//! like the photo, gone with it; HEIC labelled; a declared size that disagrees with the bytes'
//! refused; a claim abandoned mid-way taken over, and one replica doing each photo.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{PhotoBody, erase, renditions_made};
use crate::support::{Session, TestApp, spawn_with};
use aftercare::photo_store::renditions::render_waiting;

/// A patient's check-in; returns (admin, patient, the check-in's photos path).
async fn setting(app: &TestApp) -> (Session, Session, String) {
    let (admin, patient, _, path) = crate::photo_content::setting(app).await;
    (admin, patient, path)
}

/// A real picture (a gradient, so that it compresses like a photo and not like a flat colour).
fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let seed = rand::random::<u8>();
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x / 8) as u8 ^ seed, (y / 8) as u8, ((x + y) / 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(pixels).write_to(&mut out, format).unwrap();
    out.into_inner()
}

const GPS: &[u8] = b"GPS 48.8584N";

/// Big-endian EXIF: IFD0 with Orientation = `orientation` and a GPS IFD, as phones write them.
fn exif(orientation: u8) -> Vec<u8> {
    let mut tiff: Vec<u8> = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    // IFD0 at 8: two entries (Orientation, SHORT; GPSInfo, LONG -> 38), no next IFD.
    tiff.extend([0, 2, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]);
    tiff.extend([0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38, 0, 0, 0, 0]);
    // GPS IFD at 38: GPSLatitudeRef "N"; then a marker a test can look for.
    tiff.extend([0, 1, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
    tiff.extend(GPS);
    tiff
}

/// A real JPEG with an EXIF segment (GPS position, `orientation`) after SOI.
fn jpeg_with_exif(width: u32, height: u32, orientation: u8) -> Vec<u8> {
    let encoded = picture(width, height, image::ImageFormat::Jpeg);
    let exif = exif(orientation);
    let mut out = encoded[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((exif.len() + 2) as u16).to_be_bytes());
    out.extend(exif);
    out.extend(&encoded[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Creates the photo (declaring `width` x `height`) and uploads `bytes`; returns the photo id and
/// the upload's answer.
async fn upload(
    app: &TestApp,
    patient: &Session,
    path: &str,
    content_type: &str,
    bytes: &[u8],
    size: Option<(u32, u32)>,
) -> (String, crate::support::Answer) {
    let mut body = PhotoBody::default().for_bytes(content_type, bytes);
    if let Some((width, height)) = size {
        (body["width"], body["height"]) = (json!(width), json!(height));
    }
    let created = app.post(path, &patient.token, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.str("id");
    let uploaded = app.upload(&format!("/v1/photos/{id}/content"), &patient.token, bytes.to_vec()).await;
    (id, uploaded)
}

/// Downloads one size: 200, `image/jpeg`, private; returns the decoded picture and the bytes.
async fn rendition(app: &TestApp, token: &str, id: &str, size: &str) -> (image::DynamicImage, Vec<u8>) {
    let (status, headers, bytes) = app.download(&format!("/v1/photos/{id}/content?size={size}"), token).await;
    assert_eq!(status, 200, "{size}: {}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["cache-control"], "private, no-store");
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("a JPEG");
    (decoded, bytes)
}

fn problem_type(bytes: &[u8]) -> String {
    let body: Value = serde_json::from_slice(bytes).expect("problem+json");
    body["type"].as_str().unwrap_or_default().to_string()
}

/// A server whose worker does not look by itself (tests make the renditions with `render_waiting`).
async fn quiet() -> TestApp {
    spawn_with(|s| s.photos.rendition_poll = Duration::from_secs(3600)).await
}

#[actix_web::test]
async fn a_jpeg_gets_a_thumbnail_and_a_display_size_without_metadata_made_in_the_background() {
    // The worker as configured, not helped: the renditions come without anyone asking.
    let app = spawn_with(|s| s.photos.rendition_poll = Duration::from_millis(100)).await;
    let (admin, patient, path) = setting(&app).await;
    let clinician = app.clinician(&admin).await;
    let bytes = jpeg_with_exif(2000, 1500, 1);
    assert!(contains(&bytes, GPS));
    let (id, uploaded) = upload(&app, &patient, &path, "image/jpeg", &bytes, None).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    let mut photo = uploaded.body;
    for _ in 0..300 {
        if photo["renditions"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        photo = app.get(&format!("/v1/photos/{id}"), &clinician.token).await.body;
    }
    assert_eq!(photo["renditions"], "ready", "{photo}");
    assert_eq!((photo["pixel_width"].as_i64(), photo["pixel_height"].as_i64()), (Some(2000), Some(1500)));

    let (display, display_bytes) = rendition(&app, &clinician.token, &id, "display").await;
    assert_eq!((display.width(), display.height()), (1600, 1200));
    let (thumbnail, thumbnail_bytes) = rendition(&app, &clinician.token, &id, "thumbnail").await;
    assert_eq!((thumbnail.width(), thumbnail.height()), (320, 240));
    for served in [&display_bytes, &thumbnail_bytes] {
        assert!(!contains(served, GPS) && !contains(served, b"Exif"), "no EXIF in a rendition");
    }
    // The patient sees them too; the original is unchanged by them.
    assert_eq!(rendition(&app, &patient.token, &id, "thumbnail").await.1, thumbnail_bytes);
    let (status, headers, original) =
        app.download(&format!("/v1/photos/{id}/content?size=original"), &admin.token).await;
    assert_eq!((status.as_u16(), headers["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    assert_eq!(app.download(&format!("/v1/photos/{id}/content"), &admin.token).await.2, original);
    assert_eq!(image::load_from_memory(&original).unwrap().width(), 2000);
    // Two objects under random keys that say nothing about the patient or the photo.
    let objects = app.stored_objects("renditions").await;
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert!(objects.iter().all(|k| !k.contains(&patient.id) && !k.contains(&id)));
    // An unknown size is refused; the downloads are audited like any other.
    let (status, _, _) = app.download(&format!("/v1/photos/{id}/content?size=huge"), &admin.token).await;
    assert_eq!(status, 422);
    let audited = crate::fixtures::audited_downloads(&app, &admin, 5).await;
    assert!(audited >= 5, "every download is audited, renditions included ({audited})");
}

#[actix_web::test]
async fn a_turned_jpeg_and_a_png_come_out_upright_and_in_size() {
    let app = quiet().await;
    let (admin, patient, path) = setting(&app).await;
    // Stored landscape, EXIF orientation 6 (the phone was held upright): declared either way.
    let turned = jpeg_with_exif(2000, 1500, 6);
    let (as_stored, answer) = upload(&app, &patient, &path, "image/jpeg", &turned, Some((2000, 1500))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let (as_seen, answer) = upload(&app, &patient, &path, "image/jpeg", &turned, Some((1500, 2000))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let png = picture(2000, 1500, image::ImageFormat::Png);
    let (png_id, answer) = upload(&app, &patient, &path, "image/png", &png, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // Not made yet: a clear 409, not a stand-in.
    let (status, _, body) = app.download(&format!("/v1/photos/{png_id}/content?size=display"), &admin.token).await;
    assert_eq!(status, 409);
    assert!(problem_type(&body).ends_with("rendition-pending"), "{}", String::from_utf8_lossy(&body));

    renditions_made(&app).await;
    for id in [&as_stored, &as_seen] {
        let photo = app.get(&format!("/v1/photos/{id}"), &admin.token).await.body;
        assert_eq!((photo["renditions"].as_str(), photo["pixel_width"].as_i64()), (Some("ready"), Some(1500)));
        let (display, bytes) = rendition(&app, &admin.token, id, "display").await;
        assert_eq!((display.width(), display.height()), (1200, 1600), "upright");
        assert!(!contains(&bytes, GPS));
        let (thumbnail, _) = rendition(&app, &admin.token, id, "thumbnail").await;
        assert_eq!((thumbnail.width(), thumbnail.height()), (240, 320));
    }
    let (display, _) = rendition(&app, &admin.token, &png_id, "display").await;
    assert_eq!((display.width(), display.height()), (1600, 1200));
    assert_eq!(rendition(&app, &admin.token, &png_id, "thumbnail").await.0.width(), 320);
    assert_eq!(app.stored_objects("renditions").await.len(), 6);
}

#[actix_web::test]
async fn heic_is_served_as_uploaded_and_labelled_without_renditions() {
    let app = quiet().await;
    let (admin, patient, path) = setting(&app).await;
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend((0..4000).map(|i| (i % 251) as u8));
    let (id, uploaded) = upload(&app, &patient, &path, "image/heic", &heic, None).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    assert_eq!(uploaded.body["renditions"], "unavailable");
    assert_eq!(uploaded.body["pixel_width"], Value::Null);
    renditions_made(&app).await;
    for size in ["display", "thumbnail"] {
        let (status, _, body) = app.download(&format!("/v1/photos/{id}/content?size={size}"), &admin.token).await;
        assert_eq!(status, 409);
        assert!(problem_type(&body).ends_with("rendition-unavailable"), "{}", String::from_utf8_lossy(&body));
    }
    let (status, headers, served) = app.download(&format!("/v1/photos/{id}/content"), &admin.token).await;
    assert_eq!((status.as_u16(), headers["content-type"].to_str().unwrap()), (200, "image/heic"));
    assert_eq!(served, heic);
    assert_eq!(app.stored_objects("renditions").await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_size_other_than_declared_is_refused_and_leaves_nothing() {
    let app = quiet().await;
    let (admin, patient, path) = setting(&app).await;
    // Landscape bytes without an orientation that turns them, declared portrait; then a PNG
    // declared at another size.
    let refusals = [
        ("image/jpeg", jpeg_with_exif(2000, 1500, 1), (1500, 2000)),
        ("image/png", picture(640, 480, image::ImageFormat::Png), (640, 481)),
    ];
    for (content_type, bytes, declared) in refusals {
        let (id, refused) = upload(&app, &patient, &path, content_type, &bytes, Some(declared)).await;
        assert_eq!(refused.assert_problem(422), ["width"], "{content_type}");
        assert_eq!(app.get(&format!("/v1/photos/{id}"), &patient.token).await.body["state"], "pending");
        app.get(&format!("/v1/photos/{id}"), &admin.token).await.assert_problem(404);
    }
    renditions_made(&app).await;
    for prefix in ["photos", "staging", "renditions"] {
        assert_eq!(app.stored_objects(prefix).await, Vec::<String>::new(), "{prefix}");
    }
}

#[actix_web::test]
async fn every_size_stays_with_its_clinic_and_patient() {
    let app = quiet().await;
    let (admin, patient, path) = setting(&app).await;
    let (id, uploaded) = upload(&app, &patient, &path, "image/jpeg", &jpeg_with_exif(800, 600, 1), None).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    renditions_made(&app).await;
    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    let other_admin = app.clinic("Elsewhere").await;
    let other_clinician = app.clinician(&other_admin).await;
    for size in ["", "?size=original", "?size=display", "?size=thumbnail"] {
        let content = format!("/v1/photos/{id}/content{size}");
        for intruder in [&neighbour, &other_admin, &other_clinician] {
            let (status, _, body) = app.download(&content, &intruder.token).await;
            assert_eq!(status, 404, "{size}");
            assert!(!contains(&body, id.as_bytes()));
        }
        assert_eq!(app.download(&content, &admin.token).await.0, 200, "{size}");
    }
}

#[actix_web::test]
async fn deleting_a_photo_or_erasing_its_patient_takes_its_renditions() {
    let app = quiet().await;
    let (admin, patient, path) = setting(&app).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (id, uploaded) = upload(&app, &patient, &path, "image/jpeg", &jpeg_with_exif(640, 480, 1), None).await;
        assert_eq!(uploaded.status, 200, "{}", uploaded.text);
        ids.push(id);
    }
    renditions_made(&app).await;
    assert_eq!(app.stored_objects("renditions").await.len(), 4);
    let deleted = app.call(Method::DELETE, &format!("/v1/photos/{}", ids[0]), Some(&patient.token), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.stored_objects("renditions").await.len(), 2);

    erase(&app, &admin, &patient).await;
    assert_eq!(app.stored_objects("renditions").await, Vec::<String>::new());
    assert_eq!(app.stored_objects("photos").await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_claim_abandoned_mid_way_is_taken_over_and_the_sweeper_keeps_live_renditions() {
    use aftercare::models::photo_renditions;
    let app = spawn_with(|s| {
        s.photos.rendition_poll = Duration::from_secs(3600);
        s.photos.sweep_grace = Duration::from_secs(1);
    })
    .await;
    let (admin, patient, path) = setting(&app).await;
    let (id, uploaded) = upload(&app, &patient, &path, "image/jpeg", &jpeg_with_exif(640, 480, 1), None).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    // A replica claimed the photo ten minutes ago, wrote one rendition and died.
    let long_ago = aftercare::clock::now() - chrono::Duration::minutes(10);
    let (photo, earlier) = (id.clone(), long_ago - chrono::Duration::minutes(10));
    let dead = app.db.write(move |conn| photo_renditions::claim(conn, &photo, long_ago, earlier)).await.unwrap();
    let dead = dead.expect("claimed");
    let store = &app.services.state.photos;
    store.put(&dead.thumbnail_key, b"half made".to_vec()).await.unwrap();
    // A live claim is not taken twice.
    let (photo, now) = (id.clone(), aftercare::clock::now());
    let again = app.db.write(move |conn| photo_renditions::claim(conn, &photo, now, long_ago)).await.unwrap();
    assert!(again.is_none(), "a claim within its lease holds");

    assert_eq!(render_waiting(&app.services.state).await.unwrap(), 1, "the lapsed claim is taken over");
    let photo = app.get(&format!("/v1/photos/{id}"), &admin.token).await.body;
    assert_eq!(photo["renditions"], "ready");
    assert_eq!(rendition(&app, &admin.token, &id, "thumbnail").await.0.width(), 320);
    assert_eq!(app.stored_objects("renditions").await.len(), 3, "the dead claim's object is an orphan");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    aftercare::photo_store::sweeper::sweep(&app.services.state).await.unwrap();
    let left = app.stored_objects("renditions").await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&dead.thumbnail_key));
    assert_eq!(rendition(&app, &admin.token, &id, "display").await.0.width(), 640);
}

#[actix_web::test]
async fn two_replicas_make_each_photos_renditions_once() {
    let app = quiet().await;
    let other = app.replica(|s| s.photos.rendition_poll = Duration::from_secs(3600)).await;
    let (_, patient, path) = setting(&app).await;
    for _ in 0..4 {
        let (_, uploaded) = upload(&app, &patient, &path, "image/jpeg", &jpeg_with_exif(640, 480, 1), None).await;
        assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    }
    let (a, b) =
        futures_util::future::join(render_waiting(&app.services.state), render_waiting(&other.services.state)).await;
    assert_eq!(a.unwrap() + b.unwrap(), 4, "each photo claimed by exactly one replica");
    assert_eq!(app.stored_objects("renditions").await.len(), 8);
}
