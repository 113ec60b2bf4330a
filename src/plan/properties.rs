//! Property tests of the engine over many time zones and every daylight-saving change of 2026
//! and 2027. The oracle here reads offsets directly; it shares no code with `local_time`.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::protocol::{Personal, Protocol};
use super::reminders::{Schedule, ScheduleHistory, TreatmentPlan};
use super::timeline::timeline;
use crate::domain::SkinType;

const ZONES: &[Tz] = &[
    chrono_tz::Pacific::Kiritimati,  // +14
    chrono_tz::Pacific::Pago_Pago,   // -11
    chrono_tz::Asia::Kathmandu,      // +5:45
    chrono_tz::Australia::Lord_Howe, // 30-minute DST
    chrono_tz::America::New_York,
    chrono_tz::Europe::London,
    chrono_tz::Pacific::Chatham,    // +12:45 / +13:45
    chrono_tz::America::St_Johns,   // -3:30 with DST
    chrono_tz::Antarctica::Troll,   // a two-hour DST step
    chrono_tz::Europe::Dublin,      // "negative" DST in the tz database
    chrono_tz::America::Santiago,   // southern-hemisphere DST
    chrono_tz::Australia::Adelaide, // half-hour offset with DST
    chrono_tz::Africa::Casablanca,  // DST suspended during Ramadan
    chrono_tz::Asia::Tehran,
    chrono_tz::Pacific::Apia,
    chrono_tz::UTC,
];

fn offset_at(tz: Tz, at: DateTime<Utc>) -> Duration {
    Duration::seconds(i64::from(tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc()))
}

/// The oracle: every instant whose local reading is `local`, earliest first; or, in a gap, the
/// instant read with the offset from before the gap, together with the gap's length.
fn oracle(tz: Tz, local: NaiveDateTime) -> (DateTime<Utc>, Option<Duration>) {
    let as_utc = Utc.from_utc_datetime(&local);
    let before = offset_at(tz, as_utc - Duration::days(1));
    let after = offset_at(tz, as_utc + Duration::days(1));
    let mut readings: Vec<DateTime<Utc>> = [before, after]
        .into_iter()
        .map(|offset| Utc.from_utc_datetime(&(local - offset)))
        .filter(|at| at.with_timezone(&tz).naive_local() == local)
        .collect();
    readings.sort();
    match readings.first() {
        Some(first) => (*first, None),
        None => (Utc.from_utc_datetime(&(local - before)), Some(after - before)),
    }
}

/// Every change of UTC offset in 2026 and 2027: (zone, instant of the change).
fn transitions() -> Vec<(Tz, DateTime<Utc>)> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
    let mut found = Vec::new();
    for &tz in ZONES {
        let mut at = start;
        while at < end {
            let next = at + Duration::hours(1);
            if offset_at(tz, at) != offset_at(tz, next) {
                // Narrow to the minute.
                let (mut lo, mut hi) = (at, next);
                while hi - lo > Duration::minutes(1) {
                    let mid = lo + (hi - lo) / 2;
                    if offset_at(tz, mid) == offset_at(tz, lo) { lo = mid } else { hi = mid }
                }
                found.push((tz, hi));
            }
            at = next;
        }
    }
    found
}

fn check_due(tz: Tz, date: NaiveDate, time: NaiveTime, due: DateTime<Utc>) -> Result<(), String> {
    let (expected, gap) = oracle(tz, date.and_time(time));
    if due != expected {
        return Err(format!("{tz} {date} {time}: due {due}, expected {expected}"));
    }
    let shown = due.with_timezone(&tz).naive_local();
    let wanted = date.and_time(time) + gap.unwrap_or_default();
    if shown != wanted {
        return Err(format!("{tz} {date} {time}: shows {shown}, wanted {wanted}"));
    }
    Ok(())
}

/// Exhaustive: around every transition of 2026-2027, every quarter hour of the day, on the day
/// before, of and after the change.
#[test]
fn every_dst_change_of_2026_and_2027_at_every_quarter_hour() {
    let changes = transitions();
    assert!(changes.len() >= 40, "expected many transitions, found {}", changes.len());
    assert!(changes.iter().any(|(tz, _)| *tz == chrono_tz::Australia::Lord_Howe));
    let protocol = Protocol::standard();
    let personal = Personal { skin_type: SkinType::Normal, fitzpatrick: 3 };
    let mut cases = 0;
    for (tz, at) in &changes {
        let change_day = at.with_timezone(tz).date_naive();
        for minutes in (0..24 * 60).step_by(15) {
            let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap();
            let history = ScheduleHistory::fixed(Schedule { timezone: *tz, reminder_time: time });
            let treated_on = change_day - Duration::days(10);
            let plan = TreatmentPlan {
                protocol: &protocol,
                treatment_id: "t",
                treated_on,
                personal,
                schedules: &history,
                treated_at: None,
                ends_at: None,
            };
            for reminder in plan.reminders(change_day - Duration::days(1), change_day + Duration::days(1)) {
                check_due(*tz, reminder.local_date, time, reminder.due_at).unwrap();
                assert_eq!(reminder.local_time, time);
                cases += 1;
            }
        }
    }
    eprintln!("dst sweep: {} transitions, {cases} reminders checked", changes.len());
}

fn zone() -> impl Strategy<Value = Tz> {
    proptest::sample::select(ZONES.to_vec())
}

fn skin() -> impl Strategy<Value = SkinType> {
    proptest::sample::select(SkinType::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    /// For any zone, treatment date in 2026-2027, reminder time and patient: phases are contiguous
    /// over days 1-90; every day has exactly one sunscreen reminder and no day is missing or
    /// doubled; every due instant is the reminder time on its date (shifted by the gap on a gap day).
    #[test]
    fn plans_are_whole_and_exact(
        tz in zone(),
        offset_days in 0i64..730,
        minute in 0u32..(24 * 60),
        skin_type in skin(),
        fitzpatrick in 1i32..=6,
    ) {
        let protocol = Protocol::standard();
        let treated_on = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(offset_days);
        let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap();
        let history = ScheduleHistory::fixed(Schedule { timezone: tz, reminder_time: time });
        let personal = Personal { skin_type, fitzpatrick };
        let plan = TreatmentPlan { protocol: &protocol, treatment_id: "t", treated_on, personal, schedules: &history, treated_at: None, ends_at: None };

        let t = timeline(&protocol, treated_on, treated_on);
        let mut next = treated_on;
        for phase in &t.phases {
            prop_assert_eq!(phase.starts_on, next);
            next = phase.ends_on + Duration::days(1);
        }
        prop_assert_eq!(next, treated_on + Duration::days(90));

        let all = plan.all_reminders();
        let sunscreen: Vec<_> = all.iter().filter(|r| r.kind == "sunscreen").collect();
        prop_assert_eq!(sunscreen.len(), 90);
        for (i, r) in sunscreen.iter().enumerate() {
            prop_assert_eq!(r.local_date, treated_on + Duration::days(i as i64));
            prop_assert_eq!(r.day_number, i as i64 + 1);
        }
        let mut ids: Vec<_> = all.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), all.len(), "ids are unique");
        for r in all.iter().filter(|r| r.kind == "sunscreen") {
            if let Err(e) = check_due(tz, r.local_date, time, r.due_at) {
                return Err(TestCaseError::fail(e));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    /// Protocol v2 with a time of treatment, for any zone, date, time of treatment and reminder
    /// time: no reminder is due before the treatment; each 24-hour rule is due only inside its
    /// window, on the local date it is due, with the window ending exactly 24 real hours after
    /// the treatment; the day-2 reminder exists exactly when day 2's reminder time falls inside
    /// the window; each milestone comes once, at its moment or the reminder time after it, and
    /// the 24-hour milestones on the local date of the window's end.
    #[test]
    fn windows_run_from_the_treatment(
        tz in zone(),
        offset_days in 0i64..730,
        treated_minute in 0u32..(24 * 60),
        minute in 0u32..(24 * 60),
        skin_type in skin(),
        fitzpatrick in 1i32..=6,
    ) {
        let protocol = Protocol::standard();
        let treated_on = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(offset_days);
        let treated_time = NaiveTime::from_hms_opt(treated_minute / 60, treated_minute % 60, 0).unwrap();
        let treated_at = super::local_time::instant_of(treated_on, treated_time, tz);
        let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap();
        let history = ScheduleHistory::fixed(Schedule { timezone: tz, reminder_time: time });
        let personal = Personal { skin_type, fitzpatrick };
        let plan = TreatmentPlan {
            protocol: &protocol, treatment_id: "t", treated_on, personal, schedules: &history,
            treated_at: Some(treated_at), ends_at: None,
        };
        let all = plan.all_reminders();
        let closes = treated_at + Duration::hours(24);
        let reminder_on = |date: NaiveDate| oracle(tz, date.and_time(time)).0;
        for r in &all {
            prop_assert!(r.due_at >= treated_at, "{} due {} before the treatment {}", r.kind, r.due_at, treated_at);
            prop_assert_eq!(r.due_at.with_timezone(&tz).date_naive(), r.local_date, "{} on its own date", r.kind);
            // The reminder time (as given, also on a day a DST gap skips it), or the moment it was
            // moved to.
            let shown = r.due_at.with_timezone(&tz).time();
            prop_assert_eq!(r.local_time, if r.due_at == reminder_on(r.local_date) { time } else { shown });
            if r.kind == "no_makeup" || r.kind == "no_workout" {
                prop_assert!(r.due_at < closes);
                prop_assert_eq!(r.window_ends_at, Some(closes));
            } else {
                prop_assert_eq!(r.window_ends_at, None);
            }
        }
        let makeup: Vec<_> = all.iter().filter(|r| r.kind == "no_makeup").collect();
        let day_2 = treated_on + Duration::days(1);
        let day_2_inside = (treated_at..closes).contains(&reminder_on(day_2));
        prop_assert_eq!(makeup.iter().any(|r| r.day_number == 2), day_2_inside);
        // Day 1's reminder: at the reminder time, or at the treatment when that comes later.
        let day_1_due = reminder_on(treated_on).max(treated_at);
        if day_1_due < closes {
            prop_assert_eq!(makeup[0].due_at, day_1_due);
            prop_assert_eq!(makeup[0].day_number, 1);
        }
        for kind in ["may_resume_makeup", "may_resume_exercise"] {
            let found: Vec<_> = all.iter().filter(|r| r.kind == kind).collect();
            prop_assert_eq!(found.len(), 1);
            let end_date = closes.with_timezone(&tz).date_naive();
            prop_assert_eq!(found[0].local_date, end_date);
            prop_assert_eq!(found[0].due_at, reminder_on(end_date).max(closes));
        }
        for (kind, day) in [("may_resume_pools_and_saunas", 8), ("may_resume_actives", 8), ("may_book_next_session", 22)] {
            let found: Vec<_> = all.iter().filter(|r| r.kind == kind).collect();
            prop_assert_eq!(found.len(), 1);
            prop_assert_eq!(found[0].day_number, day);
            prop_assert!(found[0].milestone);
        }
        // Every rule by days keeps its days.
        prop_assert_eq!(all.iter().filter(|r| r.kind == "sunscreen").count(), 90);
    }
}
