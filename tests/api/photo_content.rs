//! Photos' bytes: the upload (streamed, verified against the record, stripped of metadata), the
//! download (scoped like the metadata, never cached), retries, refusals that leave nothing
//! behind, deletion and erasure taking the bytes along, the sweeper, and the limits.

use reqwest::Method;
use serde_json::json;

use crate::fixtures::{GPS_MARKER, PhotoBody, check_in_body, erase, jpeg, patient_on_day, verified_photo};
use crate::support::{Session, TestApp, spawn, spawn_with};

/// A patient's check-in; returns (admin, patient, treatment id, the check-in's photos path).
pub(crate) async fn setting(app: &TestApp) -> (Session, Session, String, String) {
    let (admin, patient, t) = patient_on_day(app, 2).await;
    let c = app.post(&format!("/v1/treatments/{t}/check-ins"), &patient.token, check_in_body(1, false)).await;
    assert_eq!(c.status, 201, "{}", c.text);
    (admin, patient, t, format!("/v1/check-ins/{}/photos", c.str("id")))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[actix_web::test]
async fn a_jpeg_with_gps_comes_back_to_the_clinician_without_it() {
    let app = spawn().await;
    let (admin, patient, t, path) = setting(&app).await;
    let bytes = jpeg(true);
    assert!(contains(&bytes, GPS_MARKER));
    let created = app.post(&path, &patient.token, PhotoBody::default().for_bytes("image/jpeg", &bytes)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["state"], "pending");
    let id = created.str("id");
    // Pending: its patient sees it, nobody lists it, staff do not see it, it has no bytes.
    assert_eq!(app.get(&format!("/v1/photos/{id}"), &patient.token).await.body["state"], "pending");
    app.get(&format!("/v1/photos/{id}"), &admin.token).await.assert_problem(404);
    assert_eq!(app.get(&format!("/v1/treatments/{t}/photos"), &patient.token).await.body["items"], json!([]));
    assert_eq!(app.download(&format!("/v1/photos/{id}/content"), &patient.token).await.0, 404);

    let content = format!("/v1/photos/{id}/content");
    app.upload(&content, &admin.token, bytes.clone()).await.assert_problem(403);
    let uploaded = app.upload(&content, &patient.token, bytes.clone()).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    assert_eq!(uploaded.body["state"], "verified");
    assert_eq!(uploaded.body["metadata_removed"], true);
    assert_eq!(uploaded.body["sha256"], created.body["sha256"], "the record describes the upload");
    let listed = app.get(&format!("/v1/treatments/{t}/photos"), &admin.token).await;
    assert_eq!(listed.body["items"][0]["id"], id.as_str());

    let clinician = app.clinician(&admin).await;
    let (status, headers, served) = app.download(&content, &clinician.token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["cache-control"], "private, no-store");
    assert!(!contains(&served, GPS_MARKER) && !contains(&served, b"Exif"), "EXIF is gone");
    assert!(served.len() < bytes.len());
    let picture = image::load_from_memory(&served).expect("still a JPEG");
    assert_eq!((picture.width(), picture.height()), (48, 32));
    assert_eq!(app.download(&content, &patient.token).await.2, served);
    // One object, under a key that says nothing about the patient; staging is empty.
    let objects = app.stored_objects("photos").await;
    assert_eq!(objects.len(), 1);
    assert!(!objects[0].contains(&patient.id) && !objects[0].contains(&id));
    assert_eq!(app.stored_objects("staging").await, Vec::<String>::new());
    // The downloads are in the audit trail (written a moment later).
    let downloads = crate::fixtures::audited_downloads(&app, &admin, 2).await;
    assert!(downloads >= 2, "the clinician's and the patient's downloads are audited");
}

#[actix_web::test]
async fn a_retried_upload_keeps_one_object() {
    let app = spawn().await;
    let (_, patient, _, path) = setting(&app).await;
    let bytes = jpeg(false);
    let id = app.post(&path, &patient.token, PhotoBody::default().for_bytes("image/jpeg", &bytes)).await.str("id");
    let content = format!("/v1/photos/{id}/content");
    for _ in 0..3 {
        let again = app.upload(&content, &patient.token, bytes.clone()).await;
        assert_eq!(again.status, 200, "{}", again.text);
    }
    assert_eq!(app.stored_objects("photos").await.len(), 1);
    assert_eq!(app.stored_objects("staging").await, Vec::<String>::new());
}

/// A JPEG of `padding` kept 64 KiB segments after an EXIF segment with GPS, and those bytes as they
/// must be served (without the EXIF).
fn large_jpeg(padding: usize) -> (Vec<u8>, Vec<u8>) {
    let small = jpeg(false);
    let mut served = small[..2].to_vec();
    for n in 0..padding {
        served.extend([0xFF, 0xE0, 0xFF, 0xFF]);
        served.extend(std::iter::repeat_n(n as u8, 0xFFFF - 2));
    }
    served.extend(&small[2..]);
    let with_gps = jpeg(true);
    let exif = &with_gps[2..4 + u16::from_be_bytes([with_gps[4], with_gps[5]]) as usize];
    assert_eq!(exif[..2], [0xFF, 0xE1]);
    let uploaded = [&served[..2], exif, &served[2..]].concat();
    (uploaded, served)
}

#[actix_web::test]
async fn a_photo_larger_than_a_part_goes_in_parts_and_keeps_its_original_when_asked() {
    let app = spawn_with(|s| s.photos.keep_original = true).await;
    let (admin, patient, _, path) = setting(&app).await;
    // Past one part in either store (1 MiB local, 5 MiB S3): a multipart upload.
    let (bytes, expected) = large_jpeg(260);
    assert!(bytes.len() > 16 * 1024 * 1024 && contains(&bytes[..4096], GPS_MARKER));
    let body = PhotoBody::default().for_bytes("image/jpeg", &bytes);
    let refused = app.post(&path, &patient.token, body.clone()).await.str("id");
    let mut altered = bytes.clone();
    let last = altered.len() - 10;
    altered[last] ^= 0x55;
    let answer = app.upload(&format!("/v1/photos/{refused}/content"), &patient.token, altered).await;
    assert_eq!(answer.assert_problem(422), ["sha256"]);
    for prefix in ["photos", "originals"] {
        assert_eq!(app.stored_objects(prefix).await, Vec::<String>::new(), "{prefix} after a refused upload");
    }

    let id = app.post(&path, &patient.token, body).await.str("id");
    let content = format!("/v1/photos/{id}/content");
    let uploaded = app.upload(&content, &patient.token, bytes.clone()).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    let (status, _, served) = app.download(&content, &admin.token).await;
    assert_eq!(status, 200);
    assert!(served == expected, "served without its EXIF, every other byte as uploaded");
    let originals = app.stored_objects("originals").await;
    assert_eq!(originals.len(), 1);
    let (size, stream) = app.services.state.photos.read(&originals[0]).await.unwrap();
    let chunks: Vec<_> = futures_util::TryStreamExt::try_collect(stream).await.unwrap();
    let kept = chunks.concat();
    assert_eq!(size as usize, bytes.len());
    assert!(kept == bytes, "the original is kept as uploaded");
}

#[actix_web::test]
async fn truncated_altered_mistyped_and_oversized_uploads_are_refused_and_leave_nothing() {
    let app = spawn().await;
    let (admin, patient, _, path) = setting(&app).await;
    let bytes = jpeg(true);
    let id = app.post(&path, &patient.token, PhotoBody::default().for_bytes("image/jpeg", &bytes)).await.str("id");
    let content = format!("/v1/photos/{id}/content");

    let truncated = app.upload(&content, &patient.token, bytes[..bytes.len() - 100].to_vec()).await;
    assert_eq!(truncated.assert_problem(422), ["byte_size"]);
    let mut altered = bytes.clone();
    let last = altered.len() - 10;
    altered[last] ^= 0x55;
    assert_eq!(app.upload(&content, &patient.token, altered).await.assert_problem(422), ["sha256"]);
    let mut gif = b"GIF89a".to_vec();
    gif.resize(bytes.len(), 0);
    app.upload(&content, &patient.token, gif).await.assert_problem(415);
    let mut longer = bytes.clone();
    longer.extend([0; 64]);
    app.upload(&content, &patient.token, longer).await.assert_problem(422);
    // A body longer than declared, without a length up front, is cut off at the declared size.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(bytes.clone()), Ok(vec![0; 4096])];
    let streamed = app
        .client
        .put(format!("{}{content}", app.base))
        .bearer_auth(&patient.token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(TestApp::answer(streamed).await.assert_problem(413).len(), 0);
    // A PNG declared as a JPEG.
    let png = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(4, 4).write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let other = app.post(&path, &patient.token, PhotoBody::default().for_bytes("image/jpeg", &png)).await.str("id");
    let refused = app.upload(&format!("/v1/photos/{other}/content"), &patient.token, png).await;
    assert_eq!(refused.assert_problem(422), ["content_type"]);

    assert_eq!(app.get(&format!("/v1/photos/{id}"), &patient.token).await.body["state"], "pending");
    app.get(&format!("/v1/photos/{id}"), &admin.token).await.assert_problem(404);
    assert_eq!(app.stored_objects("photos").await, Vec::<String>::new());
    assert_eq!(app.stored_objects("staging").await, Vec::<String>::new());
    // A photo larger than PHOTO_MAX_BYTES is refused at creation.
    let big = app.post(&path, &patient.token, PhotoBody::default().build().tap_size(21 * 1024 * 1024)).await;
    assert_eq!(big.assert_problem(422), ["byte_size"]);
}

trait TapSize {
    fn tap_size(self, size: i64) -> serde_json::Value;
}

impl TapSize for serde_json::Value {
    fn tap_size(mut self, size: i64) -> serde_json::Value {
        self["byte_size"] = json!(size);
        self
    }
}

#[actix_web::test]
async fn png_text_chunks_are_removed() {
    let app = spawn().await;
    let (admin, patient, _, path) = setting(&app).await;
    let mut png = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 10]))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    // A tEXt chunk after IHDR (8 + 25 bytes): the CRC is not checked by the filter.
    let text = b"Author\0Jane Doe";
    let mut chunk = (text.len() as u32).to_be_bytes().to_vec();
    chunk.extend(b"tEXt");
    chunk.extend(text);
    chunk.extend([0, 0, 0, 0]);
    png.splice(33..33, chunk);
    let id = app.post(&path, &patient.token, PhotoBody::default().for_bytes("image/png", &png)).await.str("id");
    let uploaded = app.upload(&format!("/v1/photos/{id}/content"), &patient.token, png).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    let (status, headers, served) = app.download(&format!("/v1/photos/{id}/content"), &admin.token).await;
    assert_eq!(
        (status.as_u16(), &headers["content-type"]),
        (200, &"image/png".parse::<reqwest::header::HeaderValue>().unwrap())
    );
    assert!(!contains(&served, b"Jane Doe"));
}

#[actix_web::test]
async fn the_bytes_stay_with_their_clinic_and_patient() {
    let app = spawn().await;
    let (admin, patient, _, path) = setting(&app).await;
    let photo = verified_photo(&app, &patient, &path, PhotoBody::default()).await;
    let content = format!("/v1/photos/{}/content", photo["id"].as_str().unwrap());
    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    let other_admin = app.clinic("Elsewhere").await;
    for intruder in [&neighbour, &other_admin] {
        assert_eq!(app.download(&content, &intruder.token).await.0, 404);
    }
    app.upload(&content, &neighbour.token, jpeg(false)).await.assert_problem(404);
    assert_eq!(app.download(&content, &admin.token).await.0, 200);
}

#[actix_web::test]
async fn deleting_a_photo_or_erasing_its_patient_takes_its_bytes() {
    let app = spawn().await;
    let (admin, patient, _, path) = setting(&app).await;
    let first = verified_photo(&app, &patient, &path, PhotoBody::default()).await;
    verified_photo(&app, &patient, &path, PhotoBody::default()).await;
    assert_eq!(app.stored_objects("photos").await.len(), 2);
    let deleted = app
        .call(Method::DELETE, &format!("/v1/photos/{}", first["id"].as_str().unwrap()), Some(&patient.token), None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.stored_objects("photos").await.len(), 1);

    erase(&app, &admin, &patient).await;
    assert_eq!(app.stored_objects("photos").await, Vec::<String>::new());
}

#[actix_web::test]
async fn the_sweeper_removes_orphans_and_old_staging_but_keeps_verified_bytes() {
    let app = spawn_with(|s| s.photos.sweep_grace = std::time::Duration::from_secs(1)).await;
    let (_, patient, _, path) = setting(&app).await;
    let kept = verified_photo(&app, &patient, &path, PhotoBody::default()).await;
    let store = &app.services.state.photos;
    store.put("photos/00000000000000000000000000000000", b"orphan".to_vec()).await.unwrap();
    store.put("staging/11111111111111111111111111111111", b"left over".to_vec()).await.unwrap();
    // Unfinished uploads in a local store, which the store itself does not list.
    let local_dir = app.services.state.settings.photos.store_url.strip_prefix('/').map(|d| format!("/{d}"));
    // Every prefix the store writes under (a rendition's put leaves one too when its server dies).
    let prefixes = ["staging", "photos", "originals", "renditions"];
    if let Some(dir) = &local_dir {
        for prefix in prefixes {
            std::fs::create_dir_all(format!("{dir}/{prefix}")).unwrap();
            std::fs::write(format!("{dir}/{prefix}/33333333333333333333333333333333#1"), b"part").unwrap();
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    aftercare::photo_store::sweeper::sweep(&app.services.state).await.unwrap();
    assert_eq!(app.stored_objects("photos").await.len(), 1);
    assert_eq!(app.stored_objects("staging").await, Vec::<String>::new());
    if let Some(dir) = &local_dir {
        for prefix in prefixes {
            let part = format!("{dir}/{prefix}/33333333333333333333333333333333#1");
            assert!(!std::path::Path::new(&part).exists(), "{part} was left");
        }
    }
    let content = format!("/v1/photos/{}/content", kept["id"].as_str().unwrap());
    assert_eq!(app.download(&content, &patient.token).await.0, 200);
}

#[actix_web::test]
async fn photos_per_check_in_and_per_patient_are_limited() {
    let app = spawn_with(|s| {
        s.photos.per_check_in = 2;
        s.photos.per_patient = 3;
    })
    .await;
    let (_, patient, t, path) = setting(&app).await;
    for _ in 0..2 {
        assert_eq!(app.post(&path, &patient.token, PhotoBody::default().build()).await.status, 201);
    }
    let third = app.post(&path, &patient.token, PhotoBody::default().build()).await;
    third.assert_problem(409);
    assert!(third.body["type"].as_str().unwrap().ends_with("photo-limit"), "{}", third.text);
    let yesterday = app.post(&format!("/v1/treatments/{t}/check-ins"), &patient.token, check_in_body(0, false)).await;
    assert_eq!(yesterday.status, 201, "{}", yesterday.text);
    let other = format!("/v1/check-ins/{}/photos", yesterday.str("id"));
    assert_eq!(app.post(&other, &patient.token, PhotoBody::default().build()).await.status, 201);
    let over = app.post(&other, &patient.token, PhotoBody::default().build()).await;
    over.assert_problem(409);
    assert!(over.body["type"].as_str().unwrap().ends_with("photo-quota"), "{}", over.text);
}

#[actix_web::test]
async fn uploads_per_patient_are_rate_limited() {
    let app = spawn_with(|s| s.photos.uploads_per_window = 2).await;
    let (_, patient, _, path) = setting(&app).await;
    let bytes = jpeg(false);
    let id = app.post(&path, &patient.token, PhotoBody::default().for_bytes("image/jpeg", &bytes)).await.str("id");
    let content = format!("/v1/photos/{id}/content");
    app.upload(&content, &patient.token, b"not even an image".to_vec()).await.assert_problem(422);
    assert_eq!(app.upload(&content, &patient.token, bytes.clone()).await.status, 200);
    let third = app.upload(&content, &patient.token, bytes).await;
    third.assert_problem(429);
    assert!(third.header("retry-after").parse::<u64>().unwrap() >= 1);
}

#[actix_web::test]
async fn the_comparison_lines_up_one_site_by_day_of_recovery() {
    let app = spawn().await;
    let (admin, patient, t, path) = setting(&app).await;
    let zone: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let treated_on = crate::fixtures::today_in("Europe/Berlin") - chrono::Duration::days(2);
    let now = chrono::Utc::now();
    let shots = [
        (now - chrono::Duration::days(2), "left_cheek", "front"),
        (now - chrono::Duration::minutes(2), "left_cheek", "front"),
        (now - chrono::Duration::minutes(1), "left_cheek", "left_45"),
        (now - chrono::Duration::minutes(1), "chin", "front"),
    ];
    for (at, site, view) in shots {
        let body = PhotoBody::default().captured_at(&at.to_rfc3339()).of(site, view);
        verified_photo(&app, &patient, &path, body).await;
    }
    // A pending photo is not compared.
    app.post(&path, &patient.token, PhotoBody::default().of("left_cheek", "front").build()).await;
    let day = |at: chrono::DateTime<chrono::Utc>| (at.with_timezone(&zone).date_naive() - treated_on).num_days() + 1;

    let all = app.get(&format!("/v1/treatments/{t}/photo-comparison?body_site=left_cheek"), &admin.token).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let days = all.body["days"].as_array().unwrap();
    let numbers: Vec<i64> = days.iter().map(|d| d["day_number"].as_i64().unwrap()).collect();
    let mut expected = vec![day(shots[0].0), day(shots[1].0)];
    expected.dedup();
    assert_eq!(numbers, expected);
    let counted: usize = days.iter().map(|d| d["photos"].as_array().unwrap().len()).sum();
    assert_eq!(counted, 3);
    let front =
        app.get(&format!("/v1/treatments/{t}/photo-comparison?body_site=left_cheek&view=front"), &patient.token).await;
    let counted: usize =
        front.body["days"].as_array().unwrap().iter().map(|d| d["photos"].as_array().unwrap().len()).sum();
    assert_eq!(counted, 2);
    let bad = app.get(&format!("/v1/treatments/{t}/photo-comparison?body_site=knee&view=sideways"), &admin.token).await;
    assert_eq!(bad.assert_problem(422), ["body_site", "view"]);
    let every_site = app.get(&format!("/v1/treatments/{t}/photo-comparison"), &admin.token).await;
    let counted: usize =
        every_site.body["days"].as_array().unwrap().iter().map(|d| d["photos"].as_array().unwrap().len()).sum();
    assert_eq!(counted, 4);
    let neighbour = app.patient(&admin, "Europe/Berlin").await;
    app.get(&format!("/v1/treatments/{t}/photo-comparison?body_site=chin"), &neighbour.token).await.assert_problem(404);
}
