//! Instants as the API and the database see them: UTC, stored naive, shown as RFC 3339 with `Z`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// Now, truncated to microseconds so both databases store exactly the same value.
pub fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
}

pub fn format_instant(at: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(at, Utc).to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

pub fn from_micros(micros: i64) -> Option<NaiveDateTime> {
    DateTime::<Utc>::from_timestamp_micros(micros).map(|at| at.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_utc_with_z() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_micro_opt(14, 0, 0, 123).unwrap();
        assert_eq!(format_instant(at), "2026-11-23T14:00:00Z");
        assert_eq!(from_micros(micros(at)), Some(at));
        assert_eq!(now().nanosecond() % 1_000, 0);
    }
}
