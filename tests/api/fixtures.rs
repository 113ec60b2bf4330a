//! What many tests need and none is about: valid request bodies (built with only the fields a test
//! cares about spelt out) and small situations made of them, such as a patient some days into
//! recovery. Logged-in sessions come from `support` (`TestApp::clinic`, `clinician`, `patient`).

use chrono::{Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::support::{Answer, Session, TestApp};

/// Today's date where the clock reads `zone` (an IANA name).
pub fn today_in(zone: &str) -> NaiveDate {
    Utc::now().with_timezone(&zone.parse::<Tz>().unwrap()).date_naive()
}

/// A zone where it is now between 10:00 and 22:00, so today's 09:00 reminder is already past and
/// midnight is hours away: for tests whose expectations depend on which of today's reminders are
/// still ahead. The zones' offsets are never more than 8 hours apart, so one of them always fits.
pub fn zone_in_daytime() -> &'static str {
    const ZONES: [&str; 5] =
        ["Pacific/Honolulu", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Pacific/Auckland"];
    let now = Utc::now();
    ZONES
        .into_iter()
        .find(|zone| (10..22).contains(&now.with_timezone(&zone.parse::<Tz>().unwrap()).hour()))
        .expect("one of the zones is in daytime")
}

/// A clinic's invitation of a clinician, as `POST /v1/clinicians` takes it.
pub fn clinician_invite(email: &str) -> Value {
    json!({ "name": "Dr. Test", "email": email, "role": "clinician" })
}

/// A patient as staff add one with `POST /v1/patients`: normal skin, Fitzpatrick II.
pub fn new_patient(email: &str, timezone: &str) -> Value {
    json!({ "name": "Pat Test", "email": email, "timezone": timezone, "skin_type": "normal", "fitzpatrick": 2 })
}

/// A valid treatment body: microneedling of the face, in office, 1 mm deep, done today (UTC).
pub struct TreatmentBody {
    treated_on: String,
    needle_depth_mm: f64,
    notes: Option<String>,
    treatment_time: Option<String>,
    screening_override: Option<String>,
}

impl Default for TreatmentBody {
    fn default() -> TreatmentBody {
        TreatmentBody {
            treated_on: today_in("UTC").to_string(),
            needle_depth_mm: 1.0,
            notes: None,
            treatment_time: None,
            screening_override: None,
        }
    }
}

impl TreatmentBody {
    /// Any text, so tests can send dates the server must refuse.
    pub fn treated_on(mut self, date: impl ToString) -> TreatmentBody {
        self.treated_on = date.to_string();
        self
    }

    pub fn needle_depth_mm(mut self, depth: f64) -> TreatmentBody {
        self.needle_depth_mm = depth;
        self
    }

    pub fn notes(mut self, notes: &str) -> TreatmentBody {
        self.notes = Some(notes.to_string());
        self
    }

    /// The local time of day of the treatment (`HH:MM`); without it, the clinic's default.
    pub fn treatment_time(mut self, time: &str) -> TreatmentBody {
        self.treatment_time = Some(time.to_string());
        self
    }

    /// A clinician's override of the screening gate, with this reason.
    pub fn screening_override(mut self, reason: &str) -> TreatmentBody {
        self.screening_override = Some(reason.to_string());
        self
    }

    pub fn build(self) -> Value {
        let mut body = json!({ "procedure": "microneedling", "treated_on": self.treated_on, "setting": "in_office",
                               "areas": ["face"], "needle_depth_mm": self.needle_depth_mm });
        if let Some(notes) = self.notes {
            body["notes"] = json!(notes);
        }
        if let Some(time) = self.treatment_time {
            body["treatment_time"] = json!(time);
        }
        if let Some(reason) = self.screening_override {
            body["screening_override"] = json!({ "reason": reason });
        }
        body
    }
}

/// Screens `patient_id` with every answer no (eligible, no caution), as the screening gate asks
/// before a treatment; returns the screening.
pub async fn screen(app: &TestApp, staff: &Session, patient_id: &str) -> Value {
    let body = json!({ "answers": screening_all_no() });
    let screened = app.post(&format!("/v1/patients/{patient_id}/screenings"), &staff.token, body).await;
    assert_eq!(screened.status, 201, "{}", screened.text);
    screened.body
}

/// Screens `patient_id` (the gate) and records a treatment done on `treated_on`; returns the
/// created treatment.
pub async fn treatment(app: &TestApp, staff: &Session, patient_id: &str, treated_on: NaiveDate) -> Value {
    screen(app, staff, patient_id).await;
    let body = TreatmentBody::default().treated_on(treated_on).needle_depth_mm(1.5).build();
    let created = app.post(&format!("/v1/patients/{patient_id}/treatments"), &staff.token, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body
}

/// A patient with a treatment that started `days_ago` days ago; returns (staff, patient, treatment id).
pub async fn patient_on_day(app: &TestApp, days_ago: i64) -> (Session, Session, String) {
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Europe/Berlin").await;
    let t = treatment(app, &admin, &patient.id, today_in("Europe/Berlin") - Duration::days(days_ago)).await;
    (admin, patient, t["id"].as_str().unwrap().to_string())
}

/// A check-in's symptoms: the given redness and bleeding, mild swelling and pain, nothing else.
pub fn symptoms(redness: i64, bleeding: bool) -> Value {
    json!({ "redness": redness, "swelling": 1, "pain": 1, "itching": 0, "peeling": 0,
            "bleeding": bleeding, "pus": false, "fever": false, "hives": false, "darkening": false })
}

/// A check-in of today with only its symptoms.
pub fn check_in_body(redness: i64, bleeding: bool) -> Value {
    json!({ "symptoms": symptoms(redness, bleeding) })
}

pub async fn check_in(app: &TestApp, patient: &Session, treatment_id: &str, body: Value) -> Answer {
    app.post(&format!("/v1/treatments/{treatment_id}/check-ins"), &patient.token, body).await
}

/// A valid photo's metadata: a JPEG of the chin from the front, taken a minute ago.
pub struct PhotoBody {
    captured_at: String,
    body_site: &'static str,
    view: &'static str,
}

impl Default for PhotoBody {
    fn default() -> PhotoBody {
        PhotoBody { captured_at: (Utc::now() - Duration::minutes(1)).to_rfc3339(), body_site: "chin", view: "front" }
    }
}

impl PhotoBody {
    /// Any text, so tests can send instants the server must refuse.
    pub fn captured_at(mut self, at: &str) -> PhotoBody {
        self.captured_at = at.to_string();
        self
    }

    pub fn of(mut self, body_site: &'static str, view: &'static str) -> PhotoBody {
        (self.body_site, self.view) = (body_site, view);
        self
    }

    pub fn build(self) -> Value {
        json!({ "content_type": "image/jpeg", "byte_size": 2_000_000, "sha256": "a".repeat(64), "width": 3024,
                "height": 4032, "captured_at": self.captured_at, "body_site": self.body_site, "view": self.view })
    }

    /// The metadata of these bytes (their size, SHA-256, `content_type`, and their width and
    /// height when they are an image `image` reads).
    pub fn for_bytes(self, content_type: &str, bytes: &[u8]) -> Value {
        use sha2::Digest;
        let mut body = self.build();
        body["content_type"] = json!(content_type);
        body["byte_size"] = json!(bytes.len());
        body["sha256"] = json!(hex::encode(sha2::Sha256::digest(bytes)));
        let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format();
        if let Ok((width, height)) = reader.map_err(image::ImageError::IoError).and_then(|r| r.into_dimensions()) {
            (body["width"], body["height"]) = (json!(width), json!(height));
        }
        body
    }
}

/// A small JPEG of one colour (so that each test photo has bytes of its own), `with_gps`: carrying
/// an EXIF segment with a GPS position, as phones write them.
pub fn jpeg(with_gps: bool) -> Vec<u8> {
    let colour = image::Rgb([rand::random::<u8>(), rand::random::<u8>(), rand::random::<u8>()]);
    let picture = image::RgbImage::from_pixel(48, 32, colour);
    let mut encoded = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 80).encode_image(&picture).unwrap();
    if !with_gps {
        return encoded;
    }
    let mut out = encoded[..2].to_vec();
    let exif = exif_with_gps();
    out.extend([0xFF, 0xE1]);
    out.extend(((exif.len() + 2) as u16).to_be_bytes());
    out.extend(exif);
    out.extend(&encoded[2..]);
    out
}

/// The marker a test looks for in served bytes: part of the EXIF below.
pub const GPS_MARKER: &[u8] = b"Exif\0\0MM";

/// An EXIF block (big-endian TIFF) whose IFD0 points to a GPS IFD with a latitude of 48.8584 N.
fn exif_with_gps() -> Vec<u8> {
    let mut t: Vec<u8> = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    // IFD0 at 8: one entry, GPSInfo (0x8825, LONG) -> 26.
    t.extend([0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    // GPS IFD at 26: GPSLatitudeRef "N", GPSLatitude 3 RATIONAL at 56.
    t.extend([0, 2, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 56, 0, 0, 0, 0]);
    for (n, d) in [(48u32, 1u32), (51, 1), (3024, 100)] {
        t.extend(n.to_be_bytes());
        t.extend(d.to_be_bytes());
    }
    t
}

/// A photo of `path` (a check-in's photos) with real bytes, uploaded: verified. Returns the photo.
pub async fn verified_photo(app: &TestApp, patient: &Session, path: &str, body: PhotoBody) -> Value {
    let bytes = jpeg(false);
    let created = app.post(path, &patient.token, body.for_bytes("image/jpeg", &bytes)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let uploaded = app.upload(&format!("/v1/photos/{}/content", created.str("id")), &patient.token, bytes).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text);
    renditions_made(app).await;
    app.get(&format!("/v1/photos/{}", created.str("id")), &patient.token).await.body
}

/// Waits until no verified photo waits for its renditions (making them here rather than waiting
/// for the worker's next look), so that a photo's record no longer changes by itself.
pub async fn renditions_made(app: &TestApp) {
    use aftercare::db::schema::photos;
    use diesel::prelude::*;
    for _ in 0..200 {
        aftercare::photo_store::renditions::render_waiting(&app.services.state).await.expect("renditions made");
        let mut conn = app.db.pool().get().unwrap();
        let waiting: i64 = photos::table
            .filter(photos::state.eq("verified"))
            .filter(photos::renditions.eq("pending"))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        if waiting == 0 {
            return;
        }
        drop(conn);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("a photo's renditions were never made");
}

/// Screening answers with no contraindication and no caution.
pub fn screening_all_no() -> Value {
    json!({
        "active_acne": false, "eczema": false, "psoriasis": false, "other_inflammatory": false,
        "bleeding_disorder": false, "blood_thinners": false, "keloids": false,
        "immunocompromised": false, "pregnant_or_breastfeeding": false, "numbing_allergy": false,
        "isotretinoin": false, "skin_infection": false, "sunburn": false, "metal_allergy": false, "cold_sores": false
    })
}

/// The patient asks for erasure and `admin` approves it: the patient's data is gone.
pub async fn erase(app: &TestApp, admin: &Session, patient: &Session) {
    let request = app.post("/v1/me/erasure-requests", &patient.token, json!({ "reason": "please" })).await;
    assert_eq!(request.status, 201, "{}", request.text);
    let decided = app
        .post(
            &format!("/v1/erasure-requests/{}/decision", request.str("id")),
            &admin.token,
            json!({ "decision": "approve", "reason": "verified identity" }),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.text);
}

/// How many successful photo downloads `admin`'s audit trail shows, waiting (the trail is written
/// a moment later) until there are at least `expected`.
pub async fn audited_downloads(app: &TestApp, admin: &Session, expected: usize) -> usize {
    let mut downloads = 0;
    for _ in 0..50 {
        let trail = app.get("/v1/audit-events?limit=100", &admin.token).await;
        let items = trail.body["items"].as_array().cloned().unwrap_or_default();
        downloads = items.iter().filter(|e| e["action"] == "GET /v1/photos/{id}/content" && e["status"] == 200).count();
        if downloads >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    downloads
}
