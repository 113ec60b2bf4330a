//! Typed values of the domain: once parsed, they are valid.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveTime;
use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};

use crate::text_column::text_column;

pub mod check_in;
pub mod credentials;
mod person;
pub mod photo;
pub mod screening;
pub mod treatment;

pub use person::{EmailAddress, PersonName, StaffInvitation};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_EMAIL_CHARS: usize = 254;

macro_rules! string_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        text_column!($name);

        // Written out rather than derived, so the document lists exactly the wire values.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let description = concat!($($doc),*).trim();
                let schema = utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .description((!description.is_empty()).then_some(description))
                    .build();
                utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(schema))
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What a user may do: clinic staff (`admin`, `clinician`) or a `patient`.
    Role { Admin => "admin", Clinician => "clinician", Patient => "patient" }
);

string_enum!(
    /// Where an e-mail stands: `pending` (waiting for its first attempt, or its next one after a
    /// failure), `sent` (accepted by the mail server, or written to the mail folder) or `failed`
    /// (refused for good, or out of attempts).
    DeliveryState { Pending => "pending", Sent => "sent", Failed => "failed" }
);

string_enum!(
    /// The role a staff invitation may grant.
    StaffRole { Clinician => "clinician", Admin => "admin" }
);

string_enum!(
    /// Which of the clinic's patients a list shows: `active` (not discharged) or `discharged`.
    PatientStatus { Active => "active", Discharged => "discharged" }
);

string_enum!(
    SkinType {
        Normal => "normal",
        Dry => "dry",
        Oily => "oily",
        Combination => "combination",
        Sensitive => "sensitive",
    }
);

string_enum!(
    Procedure {
        Microneedling => "microneedling",
        MicroneedlingPrp => "microneedling_prp",
        RfMicroneedling => "rf_microneedling",
    }
);

string_enum!(
    /// Where the treatment was done: by a professional, or with an at-home roller.
    Setting { InOffice => "in_office", AtHome => "at_home" }
);

string_enum!(
    Area {
        Face => "face",
        Neck => "neck",
        Chest => "chest",
        Scalp => "scalp",
        Hands => "hands",
        Abdomen => "abdomen",
        Thighs => "thighs",
        Back => "back",
        Other => "other",
    }
);

string_enum!(
    PhotoType {
        Jpeg => "image/jpeg",
        Png => "image/png",
        Heic => "image/heic",
        Webp => "image/webp",
    }
);

string_enum!(
    /// Where a photo's bytes stand: `pending` (the record exists, its bytes have not arrived or
    /// did not match), `verified` (uploaded, and the size, SHA-256 and type matched the record).
    /// Only verified photos are listed or shown to staff.
    PhotoState { Pending => "pending", Verified => "verified" }
);

string_enum!(
    /// Where a photo's thumbnail and display size stand: `pending` (not made yet: the photo is not
    /// verified, or the rendition worker has not got to it), `ready` (both can be downloaded with
    /// `size=thumbnail` or `size=display`), `unavailable` (never: HEIC/HEIF and WebP are not
    /// decoded here, or the bytes did not decode; the original is served as uploaded).
    RenditionState { Pending => "pending", Ready => "ready", Unavailable => "unavailable" }
);

string_enum!(
    /// Which of a photo's images getPhotoContent serves: `original` (the bytes as uploaded, less
    /// their metadata), `display` (longest side at most 1600 px, JPEG) or `thumbnail` (longest
    /// side at most 320 px, JPEG).
    PhotoSize { Original => "original", Display => "display", Thumbnail => "thumbnail" }
);

impl PhotoSize {
    /// The type of this size of a photo uploaded as `uploaded`: renditions are JPEG.
    pub fn content_type(self, uploaded: PhotoType) -> PhotoType {
        match self {
            PhotoSize::Original => uploaded,
            PhotoSize::Display | PhotoSize::Thumbnail => PhotoType::Jpeg,
        }
    }
}

string_enum!(
    BodySite {
        Forehead => "forehead",
        LeftCheek => "left_cheek",
        RightCheek => "right_cheek",
        Nose => "nose",
        Chin => "chin",
        FullFace => "full_face",
        Neck => "neck",
        Chest => "chest",
        Scalp => "scalp",
        Hands => "hands",
        Abdomen => "abdomen",
        Thighs => "thighs",
        Back => "back",
        Other => "other",
    }
);

string_enum!(
    PhotoView {
        Front => "front",
        Left => "left",
        Right => "right",
        Left45 => "left_45",
        Right45 => "right_45",
        Top => "top",
        CloseUp => "close_up",
    }
);

string_enum!(
    /// Where an erasure request stands: `open` until the clinic's administrator decides; `approved`
    /// (the patient's data has been erased) or `declined`.
    ErasureStatus { Open => "open", Approved => "approved", Declined => "declined" }
);

string_enum!(
    /// The administrator's decision on an erasure request.
    ErasureDecision { Approve => "approve", Decline => "decline" }
);

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Clinician)
    }
}

impl From<StaffRole> for Role {
    fn from(role: StaffRole) -> Role {
        match role {
            StaffRole::Clinician => Role::Clinician,
            StaffRole::Admin => Role::Admin,
        }
    }
}

pub fn parse_enum<T: FromStr<Err = String>>(raw: String) -> Result<T, String> {
    raw.parse()
}

/// An IANA time zone name. The document declares it a string, not an enum of today's names: the
/// time zone database gains and renames zones, and a client generated with a closed list would
/// refuse a patient whose zone it does not know. `GET /v1/time-zones` serves the list.
pub struct TimeZoneName;

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let schema = utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(64))
            .examples(["America/Chicago"])
            .description(Some(
                "An IANA time zone name, such as America/Chicago: one of the names GET /v1/time-zones lists",
            ))
            .build();
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(schema))
    }
}

/// Every time zone name the server accepts, sorted (once, on first use).
pub fn time_zone_names() -> &'static [&'static str] {
    static NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        names.sort_unstable();
        names
    });
    &NAMES
}

impl utoipa::ToSchema for TimeZoneName {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("TimeZone")
    }
}

/// Fitzpatrick skin phototype, I (1) to VI (6).
pub fn parse_fitzpatrick(raw: i64) -> Result<i32, String> {
    if (1..=6).contains(&raw) { Ok(raw as i32) } else { Err("must be an integer from 1 to 6".into()) }
}

pub fn parse_timezone(raw: String) -> Result<chrono_tz::Tz, String> {
    raw.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("`{}` is not an IANA time zone name, such as America/Chicago", truncate(&raw)))
}

/// `HH:MM`, 24-hour clock.
pub fn parse_time_of_day(raw: String) -> Result<NaiveTime, String> {
    let valid = raw.len() == 5 && raw.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(&raw, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| "must be a time of day as HH:MM (00:00 to 23:59)".into())
}

pub fn format_time_of_day(time: NaiveTime) -> String {
    use chrono::Timelike;
    format!("{:02}:{:02}", time.hour(), time.minute())
}

pub const MAX_NOTES_CHARS: usize = 2000;

/// Free text: any characters but the control characters other than tab, line feed and carriage
/// return (NUL cannot be stored by PostgreSQL; escape sequences have no place in a note).
pub fn parse_notes(raw: String) -> Result<String, String> {
    if raw.chars().count() > MAX_NOTES_CHARS {
        Err(format!("must be at most {MAX_NOTES_CHARS} characters"))
    } else if raw.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        Err("must not contain control characters other than tab and line breaks".into())
    } else {
        Ok(raw)
    }
}

/// The first and last calendar dates the API accepts anywhere: nothing of a person's recovery
/// lies outside them, and both databases store every date between.
pub const EARLIEST_DATE: chrono::NaiveDate = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
pub const LATEST_DATE: chrono::NaiveDate = chrono::NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();

/// A calendar date, `YYYY-MM-DD`, from `EARLIEST_DATE` to `LATEST_DATE`.
pub fn parse_date(raw: String) -> Result<chrono::NaiveDate, String> {
    let shaped = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
    let date = shaped
        .then(|| chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| "must be a calendar date as YYYY-MM-DD".to_string())?;
    if (EARLIEST_DATE..=LATEST_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(format!("must be a date from {EARLIEST_DATE} to {LATEST_DATE}"))
    }
}

/// An RFC 3339 instant from a client, in UTC, to the microsecond the databases keep.
pub fn parse_instant(raw: String) -> Result<chrono::NaiveDateTime, String> {
    chrono::DateTime::parse_from_rfc3339(&raw)
        .ok()
        .and_then(|at| crate::clock::from_micros(at.timestamp_micros()))
        .ok_or_else(|| "must be an RFC 3339 instant such as 2026-11-23T14:00:00Z".into())
}

/// A UUID, in its hyphenated lowercase form: how every id is stored.
pub fn parse_id(raw: &str) -> Result<String, String> {
    uuid::Uuid::parse_str(raw).map(|id| id.hyphenated().to_string()).map_err(|_| "must be a UUID".to_string())
}

/// A date a treatment was done: no earlier than any date, at most a year after `today`.
pub fn parse_treatment_date(raw: String, today: chrono::NaiveDate) -> Result<chrono::NaiveDate, String> {
    let date = parse_date(raw)?;
    let latest = today.checked_add_months(chrono::Months::new(12)).unwrap_or(LATEST_DATE);
    if date > latest {
        Err(format!("must not be more than a year after today ({latest} at the latest)"))
    } else {
        Ok(date)
    }
}

fn truncate(raw: &str) -> String {
    raw.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_reject_unknowns() {
        for skin in SkinType::ALL {
            assert_eq!(skin.as_str().parse::<SkinType>().unwrap(), *skin);
        }
        assert!("greasy".parse::<SkinType>().unwrap_err().contains("normal, dry"));
        assert_eq!("admin".parse::<StaffRole>().unwrap(), StaffRole::Admin);
        assert!("patient".parse::<StaffRole>().is_err());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(parse_timezone("America/Chicago".into()).is_ok());
        assert!(parse_timezone("Pacific/Kiritimati".into()).is_ok());
        assert!(parse_timezone("Mars/Olympus_Mons".into()).is_err());
        assert!(parse_timezone("".into()).is_err());
    }

    #[test]
    fn times_of_day_are_strict() {
        assert_eq!(format_time_of_day(parse_time_of_day("07:05".into()).unwrap()), "07:05");
        for bad in ["7:05", "24:00", "12:60", "12:00:00", "noon", ""] {
            assert!(parse_time_of_day(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_are_strict_calendar_dates() {
        assert!(parse_date("2026-02-28".into()).is_ok());
        for bad in ["2026-02-30", "2026-2-28", "28/02/2026", "2026-02-28T00:00:00Z", ""] {
            assert!(parse_date(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn fitzpatrick_is_one_to_six() {
        assert_eq!(parse_fitzpatrick(1), Ok(1));
        assert_eq!(parse_fitzpatrick(6), Ok(6));
        assert!(parse_fitzpatrick(0).is_err());
        assert!(parse_fitzpatrick(7).is_err());
    }

    #[test]
    fn free_text_keeps_line_breaks_but_no_other_control_characters() {
        assert!(parse_notes("one\r\n\ttwo".into()).is_ok());
        for bad in ["a\0b", "a\u{1b}[31m", "a\u{7f}", "a\u{85}"] {
            assert!(parse_notes(bad.into()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_lie_in_a_sensible_range() {
        for bad in ["0000-01-01", "0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31"] {
            assert!(parse_date(bad.into()).is_err(), "{bad}");
        }
        assert!(parse_date("1900-01-01".into()).is_ok());
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert!(parse_treatment_date("2027-12-01".into(), today).is_ok());
        assert!(parse_treatment_date("2027-12-02".into(), today).is_err());
    }
}
