//! Local calendar dates and times of day in a patient's IANA time zone, and the UTC instants they
//! fall on, including the days when daylight saving skips or repeats an hour.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The patient's calendar date at `now`.
pub fn local_date(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// Day 1 is the treatment's own local date; 0 or negative before it.
pub fn day_number(treated_on: NaiveDate, on: NaiveDate) -> i64 {
    (on - treated_on).num_days() + 1
}

/// The UTC instant of `time` on `date` in `tz`. A local time that a daylight-saving change skips
/// moves forward by the length of the gap; a local time that occurs twice takes the first.
pub fn instant_of(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => in_gap(local, tz),
    }
}

/// A skipped local time, read with the offset in force just before the gap: the instant it names
/// shows on the clock exactly one gap-length later.
fn in_gap(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    // Gaps are at most a day long (Samoa skipped 30 December 2011), so a valid time lies within.
    let mut earlier = local;
    for _ in 0..(48 * 4) {
        earlier -= Duration::minutes(15);
        if let Some(before) = tz.from_local_datetime(&earlier).latest() {
            let offset = before.offset().fix();
            return Utc.from_utc_datetime(&(local - offset));
        }
    }
    // Unreachable for real zones; fall back to reading the time as UTC rather than failing.
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn ordinary_days_map_directly() {
        let at = instant_of(date(2026, 11, 23), time(9, 0), chrono_tz::America::Chicago);
        assert_eq!(at.to_rfc3339(), "2026-11-23T15:00:00+00:00");
        let at = instant_of(date(2026, 11, 23), time(9, 0), chrono_tz::Asia::Kathmandu);
        assert_eq!(at.to_rfc3339(), "2026-11-23T03:15:00+00:00");
    }

    #[test]
    fn a_skipped_time_moves_forward_by_the_gap() {
        // New York, 8 March 2026: 02:00 jumps to 03:00.
        let at = instant_of(date(2026, 3, 8), time(2, 30), chrono_tz::America::New_York);
        assert_eq!(at.with_timezone(&chrono_tz::America::New_York).time(), time(3, 30));
        // Lord Howe, 4 October 2026: 02:00 jumps to 02:30.
        let at = instant_of(date(2026, 10, 4), time(2, 15), chrono_tz::Australia::Lord_Howe);
        assert_eq!(at.with_timezone(&chrono_tz::Australia::Lord_Howe).time(), time(2, 45));
    }

    #[test]
    fn a_repeated_time_takes_the_first_occurrence() {
        // London, 25 October 2026: 01:00-02:00 happens twice, first in BST (+1).
        let at = instant_of(date(2026, 10, 25), time(1, 30), chrono_tz::Europe::London);
        assert_eq!(at.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn samoa_skipped_a_whole_day() {
        let at = instant_of(date(2011, 12, 30), time(9, 0), chrono_tz::Pacific::Apia);
        let shown = at.with_timezone(&chrono_tz::Pacific::Apia);
        assert_eq!((shown.date_naive(), shown.time()), (date(2011, 12, 31), time(9, 0)));
    }

    #[test]
    fn day_numbers_count_from_one() {
        assert_eq!(day_number(date(2026, 11, 20), date(2026, 11, 20)), 1);
        assert_eq!(day_number(date(2026, 11, 20), date(2026, 11, 19)), 0);
        assert_eq!(day_number(date(2026, 11, 20), date(2027, 2, 17)), 90);
    }
}
