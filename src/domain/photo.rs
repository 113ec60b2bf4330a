//! A photo's metadata: its size, checksum and when it was taken.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

pub const MAX_BYTES: i64 = 26_214_400;
pub const MAX_PIXELS_PER_SIDE: i64 = 20_000;
/// How far in the future `captured_at` may be, for phones with a slightly fast clock.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

pub fn parse_byte_size(raw: i64) -> Result<i64, String> {
    in_range(raw, 1, MAX_BYTES)
}

/// A width or a height in pixels.
pub fn parse_side(raw: i64) -> Result<i32, String> {
    in_range(raw, 1, MAX_PIXELS_PER_SIDE).map(|side| side as i32)
}

fn in_range(raw: i64, min: i64, max: i64) -> Result<i64, String> {
    if (min..=max).contains(&raw) { Ok(raw) } else { Err(format!("must be an integer from {min} to {max}")) }
}

pub fn parse_sha256(raw: String) -> Result<String, String> {
    let ok = raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok { Ok(raw) } else { Err("must be 64 lowercase hexadecimal characters".into()) }
}

pub fn parse_captured_at(raw: String, now: DateTime<Utc>) -> Result<NaiveDateTime, String> {
    let at = super::parse_instant(raw)?;
    if at.date() < super::EARLIEST_DATE {
        return Err(format!("must not be before {}", super::EARLIEST_DATE));
    }
    if at > (now + Duration::minutes(CLOCK_SKEW_MINUTES)).naive_utc() {
        return Err(format!("must not be more than {CLOCK_SKEW_MINUTES} minutes in the future"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_lowercase_hex() {
        assert!(parse_sha256("a".repeat(64)).is_ok());
        assert!(parse_sha256("A".repeat(64)).is_err() && parse_sha256("a".repeat(63)).is_err());
    }

    #[test]
    fn captured_at_allows_a_little_clock_skew() {
        let now = "2026-12-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert!(parse_captured_at("2026-12-01T12:05:00Z".into(), now).is_ok());
        assert!(parse_captured_at("2026-12-01T12:05:01Z".into(), now).is_err());
        assert!(parse_captured_at("1899-12-31T23:59:59Z".into(), now).is_err());
    }
}
