//! Daily reminders: which apply on each day of the plan, and when each is due.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::local_time::{day_number, instant_of};
use super::protocol::{Personal, Protocol};

/// Namespace of reminder ids: a reminder's id is derived from its treatment, date and kind, so the
/// same reminder has the same id on every call, whatever the time zone.
const REMINDER_NAMESPACE: Uuid = Uuid::from_u128(0x6166_7465_7263_6172_6572_656d_696e_6472);

pub fn reminder_id(treatment_id: &str, local_date: NaiveDate, kind: &str) -> Uuid {
    Uuid::new_v5(&REMINDER_NAMESPACE, format!("{treatment_id}/{local_date}/{kind}").as_bytes())
}

/// Where and when a patient wants reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub timezone: Tz,
    pub reminder_time: NaiveTime,
}

/// A patient's schedules over time. The first applies to every reminder; each later change, from
/// the instant it was made, applies to the reminders that were still ahead at that instant. So a
/// move to another zone moves future reminders and leaves past ones where they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleHistory {
    pub first: Schedule,
    /// In the order they were made.
    pub changes: Vec<(DateTime<Utc>, Schedule)>,
}

impl ScheduleHistory {
    pub fn fixed(schedule: Schedule) -> ScheduleHistory {
        ScheduleHistory { first: schedule, changes: Vec::new() }
    }

    pub fn current(&self) -> Schedule {
        self.changes.last().map_or(self.first, |(_, s)| *s)
    }

    /// When the reminder of `date` is due, and at which local time of day.
    pub fn due(&self, date: NaiveDate) -> (DateTime<Utc>, Schedule) {
        let mut schedule = self.first;
        let mut due = instant_of(date, schedule.reminder_time, schedule.timezone);
        for (changed_at, next) in &self.changes {
            if due > *changed_at {
                schedule = *next;
                due = instant_of(date, schedule.reminder_time, schedule.timezone);
            }
        }
        (due, schedule)
    }
}

/// A reminder of one day; its texts are the protocol's own.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedReminder<'a> {
    pub id: Uuid,
    pub local_date: NaiveDate,
    pub day_number: i64,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub local_time: NaiveTime,
    pub due_at: DateTime<Utc>,
}

/// One treatment's plan, with everything needed to compute it.
pub struct TreatmentPlan<'a> {
    pub protocol: &'a Protocol,
    pub treatment_id: &'a str,
    pub treated_on: NaiveDate,
    pub personal: Personal,
    pub schedules: &'a ScheduleHistory,
    /// When the patient was discharged from this treatment's care, if they were: reminders due
    /// after this instant are not planned (those due before stay, with their acknowledgements).
    pub ends_at: Option<DateTime<Utc>>,
}

impl<'a> TreatmentPlan<'a> {
    pub fn first_day(&self) -> NaiveDate {
        self.treated_on
    }

    pub fn last_day(&self) -> NaiveDate {
        self.treated_on + Duration::days(self.protocol.plan_days - 1)
    }

    /// The reminders of the local dates `from..=to` (dates outside the plan have none), by date
    /// and then in the protocol's order.
    pub fn reminders(&self, from: NaiveDate, to: NaiveDate) -> Vec<PlannedReminder<'a>> {
        let from = from.max(self.first_day());
        let to = to.min(self.last_day());
        let mut planned = Vec::new();
        for date in from.iter_days().take_while(|d| *d <= to) {
            let day = day_number(self.treated_on, date);
            let mut due = None;
            for rule in self.protocol.reminders.iter().filter(|r| r.applies(day, self.personal)) {
                let (due_at, schedule) = *due.get_or_insert_with(|| self.schedules.due(date));
                if self.ends_at.is_some_and(|ends_at| due_at > ends_at) {
                    break;
                }
                planned.push(PlannedReminder {
                    id: reminder_id(self.treatment_id, date, &rule.kind),
                    local_date: date,
                    day_number: day,
                    kind: &rule.kind,
                    title: &rule.title,
                    body: &rule.body,
                    local_time: schedule.reminder_time,
                    due_at,
                });
            }
        }
        planned
    }

    /// Every reminder of the whole plan.
    pub fn all_reminders(&self) -> Vec<PlannedReminder<'a>> {
        self.reminders(self.first_day(), self.last_day())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SkinType;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn schedule(tz: Tz, h: u32, m: u32) -> Schedule {
        Schedule { timezone: tz, reminder_time: NaiveTime::from_hms_opt(h, m, 0).unwrap() }
    }

    fn kinds_by_day(personal: Personal) -> Vec<(i64, Vec<String>)> {
        let protocol = Protocol::standard();
        let history = ScheduleHistory::fixed(schedule(chrono_tz::UTC, 9, 0));
        let plan = TreatmentPlan {
            protocol: &protocol,
            treatment_id: "t",
            treated_on: date(2026, 1, 1),
            personal,
            schedules: &history,
            ends_at: None,
        };
        let all = plan.all_reminders();
        (1..=90)
            .map(|day| (day, all.iter().filter(|r| r.day_number == day).map(|r| r.kind.to_string()).collect()))
            .collect()
    }

    /// Each reminder window of CLINICAL.md, day by day, for each personalisation.
    #[test]
    fn reminder_windows_follow_the_clinical_table() {
        let base = ["sunscreen"];
        let first_week = ["sunscreen", "avoid_heat", "no_actives", "gentle_care"];
        let cases: Vec<(Personal, Vec<&str>)> = vec![
            (Personal { skin_type: SkinType::Normal, fitzpatrick: 2 }, vec![]),
            (Personal { skin_type: SkinType::Oily, fitzpatrick: 3 }, vec![]),
            (Personal { skin_type: SkinType::Combination, fitzpatrick: 1 }, vec![]),
            (Personal { skin_type: SkinType::Dry, fitzpatrick: 2 }, vec!["hydration"]),
            (Personal { skin_type: SkinType::Sensitive, fitzpatrick: 2 }, vec!["soothe"]),
            (Personal { skin_type: SkinType::Normal, fitzpatrick: 4 }, vec!["pigment_watch"]),
            (Personal { skin_type: SkinType::Dry, fitzpatrick: 6 }, vec!["hydration", "pigment_watch"]),
        ];
        for (personal, extras) in cases {
            for (day, kinds) in kinds_by_day(personal) {
                let mut expected: Vec<&str> = match day {
                    1 => {
                        [&first_week[..1], &["no_makeup", "no_workout"], &first_week[1..], &["cool_compress"]].concat()
                    }
                    2 => [&first_week[..], &["cool_compress"]].concat(),
                    3..=7 => [&first_week[..], &["no_picking"]].concat(),
                    _ => base.to_vec(),
                };
                for extra in &extras {
                    let window = if *extra == "pigment_watch" { 1..=28 } else { 1..=7 };
                    if window.contains(&day) {
                        expected.push(extra);
                    }
                }
                assert_eq!(kinds, expected, "day {day} for {personal:?}");
            }
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = reminder_id("t1", date(2026, 1, 1), "sunscreen");
        assert_eq!(a, reminder_id("t1", date(2026, 1, 1), "sunscreen"));
        assert_ne!(a, reminder_id("t1", date(2026, 1, 2), "sunscreen"));
        assert_ne!(a, reminder_id("t2", date(2026, 1, 1), "sunscreen"));
        assert_ne!(a, reminder_id("t1", date(2026, 1, 1), "no_makeup"));
    }

    #[test]
    fn a_schedule_change_moves_only_reminders_still_ahead() {
        let chicago = schedule(chrono_tz::America::Chicago, 9, 0);
        let tokyo = schedule(chrono_tz::Asia::Tokyo, 8, 0);
        // The patient moved on 10 January at 12:00 UTC.
        let changed_at = date(2026, 1, 10).and_hms_opt(12, 0, 0).unwrap().and_utc();
        let history = ScheduleHistory { first: chicago, changes: vec![(changed_at, tokyo)] };
        // 9 January 09:00 Chicago (15:00 UTC) was past: it stays.
        assert_eq!(history.due(date(2026, 1, 9)).0.to_rfc3339(), "2026-01-09T15:00:00+00:00");
        // 10 January 09:00 Chicago (15:00 UTC) was still ahead: it moves to 08:00 Tokyo.
        let (due, used) = history.due(date(2026, 1, 10));
        assert_eq!(due.to_rfc3339(), "2026-01-09T23:00:00+00:00");
        assert_eq!(used, tokyo);
        assert_eq!(history.current(), tokyo);
    }

    #[test]
    fn dates_outside_the_plan_have_no_reminders() {
        let protocol = Protocol::standard();
        let history = ScheduleHistory::fixed(schedule(chrono_tz::UTC, 9, 0));
        let personal = Personal { skin_type: SkinType::Normal, fitzpatrick: 1 };
        let plan = TreatmentPlan {
            protocol: &protocol,
            treatment_id: "t",
            treated_on: date(2026, 1, 10),
            personal,
            schedules: &history,
            ends_at: None,
        };
        assert!(plan.reminders(date(2026, 1, 1), date(2026, 1, 9)).is_empty());
        assert!(plan.reminders(date(2026, 4, 10), date(2026, 4, 20)).is_empty());
        assert_eq!(plan.reminders(date(2026, 4, 9), date(2026, 4, 20)).len(), 1, "day 90 only");
    }

    #[test]
    fn a_discharge_ends_the_plan_at_its_instant() {
        let protocol = Protocol::standard();
        let history = ScheduleHistory::fixed(schedule(chrono_tz::UTC, 9, 0));
        let personal = Personal { skin_type: SkinType::Normal, fitzpatrick: 1 };
        // Discharged on day 3 (12 January) at 10:00 UTC: that day's 09:00 reminders were due, the
        // next day's were not.
        let ends_at = date(2026, 1, 12).and_hms_opt(10, 0, 0).unwrap().and_utc();
        let plan = |ends_at| TreatmentPlan {
            protocol: &protocol,
            treatment_id: "t",
            treated_on: date(2026, 1, 10),
            personal,
            schedules: &history,
            ends_at,
        };
        let (whole, ended) = (plan(None), plan(Some(ends_at)));
        let kept = ended.all_reminders();
        assert!(kept.iter().all(|r| r.due_at <= ends_at));
        assert_eq!(kept.last().unwrap().local_date, date(2026, 1, 12));
        let before: Vec<_> = whole.all_reminders().into_iter().filter(|r| r.due_at <= ends_at).collect();
        assert_eq!(kept, before, "the reminders due before the discharge are unchanged");
        assert!(ended.reminders(date(2026, 1, 13), date(2026, 4, 9)).is_empty());
    }
}
