//! Daily reminders: which apply on each day of the plan, and when each is due.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::local_time::{day_number, instant_of};
use super::protocol::{Personal, Protocol, ReminderRule};

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
    /// A "you may now…" entry rather than a rule to follow.
    pub milestone: bool,
    /// For a rule that holds for a window of hours after the treatment: when that window closes.
    pub window_ends_at: Option<DateTime<Utc>>,
}

/// One treatment's plan, with everything needed to compute it.
pub struct TreatmentPlan<'a> {
    pub protocol: &'a Protocol,
    pub treatment_id: &'a str,
    pub treated_on: NaiveDate,
    pub personal: Personal,
    pub schedules: &'a ScheduleHistory,
    /// The treatment's instant, when its time of day was recorded: no reminder is due before it,
    /// and rules with `hours_after_treatment` run from it. `None` (treatments recorded before times
    /// were) keeps the plan by local days alone.
    pub treated_at: Option<DateTime<Utc>>,
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
            for rule in self.protocol.reminders.iter().filter(|r| r.is_for(self.personal)) {
                let window = self.window_of(rule);
                if window.is_none() && !(rule.day_from..=rule.day_to).contains(&day) {
                    continue;
                }
                if let Some((open, close)) = window {
                    // Cheap rejection of days far from the window (UTC dates are within a day of
                    // local ones), before the exact test below.
                    let (first, last) = (open - Duration::days(2), close + Duration::days(2));
                    if date < first.date_naive() || date > last.date_naive() {
                        continue;
                    }
                }
                let (at, schedule) = *due.get_or_insert_with(|| self.schedules.due(date));
                let Some((due_at, window_ends_at)) = self.occurrence(rule, window, date, at, schedule.timezone) else {
                    continue;
                };
                if self.ends_at.is_some_and(|ends_at| due_at > ends_at) {
                    continue;
                }
                let local_time =
                    if due_at == at { schedule.reminder_time } else { due_at.with_timezone(&schedule.timezone).time() };
                planned.push(PlannedReminder {
                    id: reminder_id(self.treatment_id, date, &rule.kind),
                    local_date: date,
                    day_number: day,
                    kind: &rule.kind,
                    title: &rule.title,
                    body: &rule.body,
                    local_time,
                    due_at,
                    milestone: rule.milestone,
                    window_ends_at,
                });
            }
        }
        planned
    }

    /// The window of hours of a rule, as instants, when the rule has one and the treatment's
    /// instant is known.
    fn window_of(&self, rule: &ReminderRule) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let [from, to] = rule.hours_after_treatment?;
        let treated_at = self.treated_at?;
        Some((treated_at + Duration::hours(from), treated_at + Duration::hours(to)))
    }

    /// When `rule` is due on local `date` (whose reminder instant is `at`), and when its window
    /// closes; `None` when it does not fall on that date. Never before the treatment, nor before
    /// its window opens.
    fn occurrence(
        &self,
        rule: &ReminderRule,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
        date: NaiveDate,
        at: DateTime<Utc>,
        zone: Tz,
    ) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        let not_before = self.treated_at.map_or(at, |treated_at| at.max(treated_at));
        let Some((open, close)) = window else {
            // By days: a milestone on its one day, the others on each day of their window.
            return Some((not_before, None));
        };
        let day_starts = instant_of(date, NaiveTime::MIN, zone);
        let day_ends = instant_of(date + Duration::days(1), NaiveTime::MIN, zone);
        if rule.milestone {
            // The day the moment falls on.
            return (day_starts <= open && open < day_ends).then_some((not_before.max(open), None));
        }
        let due_at = not_before.max(open);
        (open < day_ends && due_at < close).then_some((due_at, Some(close)))
    }

    /// The "you may now…" entries of the whole plan, also those after a discharge.
    pub fn milestones(&self) -> Vec<PlannedReminder<'a>> {
        let whole = TreatmentPlan { ends_at: None, ..*self };
        whole.all_reminders().into_iter().filter(|r| r.milestone).collect()
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

    fn v1() -> Protocol {
        Protocol::parse(crate::plan::protocol::STANDARD_V1).unwrap()
    }

    fn kinds_by_day(personal: Personal) -> Vec<(i64, Vec<String>)> {
        let protocol = v1();
        let history = ScheduleHistory::fixed(schedule(chrono_tz::UTC, 9, 0));
        let plan = TreatmentPlan {
            protocol: &protocol,
            treatment_id: "t",
            treated_on: date(2026, 1, 1),
            personal,
            schedules: &history,
            treated_at: None,
            ends_at: None,
        };
        let all = plan.all_reminders();
        (1..=90)
            .map(|day| (day, all.iter().filter(|r| r.day_number == day).map(|r| r.kind.to_string()).collect()))
            .collect()
    }

    /// Each reminder window of CLINICAL.md, day by day, for each personalisation (protocol v1,
    /// which plans by local days: unchanged).
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
            treated_at: None,
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
            treated_at: None,
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

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        instant_of(date(y, m, d), NaiveTime::from_hms_opt(h, min, 0).unwrap(), tz)
    }

    /// The v2 plan of a treatment at `treated_at` (local date in `tz`), reminders at `h:m`.
    fn v2_reminders(tz: Tz, treated_at: DateTime<Utc>, h: u32, m: u32) -> Vec<(i64, String, String, Option<String>)> {
        let protocol = Protocol::standard();
        let history = ScheduleHistory::fixed(schedule(tz, h, m));
        let plan = TreatmentPlan {
            protocol: &protocol,
            treatment_id: "t",
            treated_on: treated_at.with_timezone(&tz).date_naive(),
            personal: Personal { skin_type: SkinType::Normal, fitzpatrick: 2 },
            schedules: &history,
            treated_at: Some(treated_at),
            ends_at: None,
        };
        plan.all_reminders()
            .into_iter()
            .map(|r| {
                let shown = r.due_at.with_timezone(&tz).format("%m-%d %H:%M").to_string();
                let ends = r.window_ends_at.map(|e| e.with_timezone(&tz).format("%m-%d %H:%M").to_string());
                (r.day_number, r.kind.to_string(), shown, ends)
            })
            .collect()
    }

    fn of_kind<'r>(
        all: &'r [(i64, String, String, Option<String>)],
        kind: &str,
    ) -> Vec<&'r (i64, String, String, Option<String>)> {
        all.iter().filter(|r| r.1 == kind).collect()
    }

    fn row(day: i64, kind: &str, due: &str, ends: Option<&str>) -> (i64, String, String, Option<String>) {
        (day, kind.to_string(), due.to_string(), ends.map(String::from))
    }

    /// An afternoon treatment: the day-1 reminders at 09:00 move to the treatment's time; the
    /// no-makeup and no-workout windows run into day 2 and end 24 hours after the treatment; the
    /// "you may now" entries for makeup and exercise come when those windows close.
    #[test]
    fn an_afternoon_treatment_runs_its_24_hours_into_day_2() {
        let tz = chrono_tz::Europe::London;
        let all = v2_reminders(tz, at(tz, 2026, 6, 10, 15, 0), 9, 0);
        let day_1: Vec<_> = all.iter().filter(|r| r.0 == 1).collect();
        assert!(day_1.iter().all(|r| r.2 == "06-10 15:00"), "nothing before the treatment: {day_1:?}");
        assert_eq!(day_1.len(), 7);
        assert_eq!(
            of_kind(&all, "no_makeup"),
            [
                &row(1, "no_makeup", "06-10 15:00", Some("06-11 15:00")),
                &row(2, "no_makeup", "06-11 09:00", Some("06-11 15:00"))
            ]
        );
        assert_eq!(of_kind(&all, "no_workout").len(), 2);
        assert_eq!(of_kind(&all, "may_resume_makeup"), [&row(2, "may_resume_makeup", "06-11 15:00", None)]);
        assert_eq!(of_kind(&all, "may_resume_exercise"), [&row(2, "may_resume_exercise", "06-11 15:00", None)]);
        assert_eq!(
            of_kind(&all, "may_resume_pools_and_saunas"),
            [&row(8, "may_resume_pools_and_saunas", "06-17 09:00", None)]
        );
        assert_eq!(of_kind(&all, "may_resume_actives"), [&row(8, "may_resume_actives", "06-17 09:00", None)]);
        assert_eq!(of_kind(&all, "may_book_next_session"), [&row(22, "may_book_next_session", "07-01 09:00", None)]);
        // The rules by whole days keep their days.
        assert_eq!(of_kind(&all, "sunscreen").len(), 90);
        assert_eq!(of_kind(&all, "cool_compress").len(), 2);
    }

    /// A morning treatment before the reminder time: day 1 at the reminder time; the 24 hours end
    /// before day 2's reminder time, so day 2 has no no-makeup reminder; the milestones wait for
    /// the reminder time.
    #[test]
    fn a_morning_treatment_ends_its_window_before_day_2_s_reminder() {
        let tz = chrono_tz::America::Chicago;
        let all = v2_reminders(tz, at(tz, 2026, 6, 10, 8, 0), 9, 0);
        assert_eq!(of_kind(&all, "no_makeup"), [&row(1, "no_makeup", "06-10 09:00", Some("06-11 08:00"))]);
        assert_eq!(of_kind(&all, "may_resume_makeup"), [&row(2, "may_resume_makeup", "06-11 09:00", None)]);
        // A late reminder time: day 1 at 20:00 covers the evening; day 2's 20:00 is past the window.
        let late = v2_reminders(tz, at(tz, 2026, 6, 10, 15, 0), 20, 0);
        assert_eq!(of_kind(&late, "no_makeup"), [&row(1, "no_makeup", "06-10 20:00", Some("06-11 15:00"))]);
        assert_eq!(of_kind(&late, "may_resume_makeup"), [&row(2, "may_resume_makeup", "06-11 20:00", None)]);
    }

    /// Across a DST change the window is 24 real hours: Madrid falls back on 25 October 2026, so a
    /// Saturday 15:00 treatment's window ends at 14:00 on Sunday; New York springs forward on 8
    /// March 2026, so it ends at 16:00.
    #[test]
    fn the_24_hours_are_real_hours_across_dst() {
        let madrid = chrono_tz::Europe::Madrid;
        let all = v2_reminders(madrid, at(madrid, 2026, 10, 24, 15, 0), 14, 30);
        assert_eq!(of_kind(&all, "no_makeup"), [&row(1, "no_makeup", "10-24 15:00", Some("10-25 14:00"))]);
        assert_eq!(of_kind(&all, "may_resume_makeup"), [&row(2, "may_resume_makeup", "10-25 14:30", None)]);
        let all = v2_reminders(madrid, at(madrid, 2026, 10, 24, 15, 0), 13, 30);
        assert_eq!(of_kind(&all, "no_makeup")[1], &row(2, "no_makeup", "10-25 13:30", Some("10-25 14:00")));
        assert_eq!(of_kind(&all, "may_resume_makeup"), [&row(2, "may_resume_makeup", "10-25 14:00", None)]);

        let ny = chrono_tz::America::New_York;
        let all = v2_reminders(ny, at(ny, 2026, 3, 7, 15, 0), 9, 0);
        assert_eq!(
            of_kind(&all, "no_makeup"),
            [
                &row(1, "no_makeup", "03-07 15:00", Some("03-08 16:00")),
                &row(2, "no_makeup", "03-08 09:00", Some("03-08 16:00"))
            ]
        );
        assert_eq!(of_kind(&all, "may_resume_exercise"), [&row(2, "may_resume_exercise", "03-08 16:00", None)]);
        // A late-evening treatment before the change: its 24 hours cross two midnights and reach
        // day 3 (Sunday has 23 hours), so a reminder time just after midnight falls inside.
        let all = v2_reminders(ny, at(ny, 2026, 3, 7, 23, 30), 0, 15);
        assert_eq!(
            of_kind(&all, "no_makeup"),
            [
                &row(1, "no_makeup", "03-07 23:30", Some("03-09 00:30")),
                &row(2, "no_makeup", "03-08 00:15", Some("03-09 00:30")),
                &row(3, "no_makeup", "03-09 00:15", Some("03-09 00:30")),
            ]
        );
        assert_eq!(of_kind(&all, "may_resume_makeup"), [&row(3, "may_resume_makeup", "03-09 00:30", None)]);
    }

    /// Without a recorded time (or with protocol v1) a plan is by local days alone; protocol v2
    /// then falls back to the rules' days.
    #[test]
    fn without_a_time_plans_keep_to_days() {
        let history = ScheduleHistory::fixed(schedule(chrono_tz::UTC, 9, 0));
        let personal = Personal { skin_type: SkinType::Normal, fitzpatrick: 2 };
        let v2 = Protocol::standard();
        let plan = TreatmentPlan {
            protocol: &v2,
            treatment_id: "t",
            treated_on: date(2026, 1, 1),
            personal,
            schedules: &history,
            treated_at: None,
            ends_at: None,
        };
        let all = plan.all_reminders();
        assert!(all.iter().all(|r| r.local_time == NaiveTime::from_hms_opt(9, 0, 0).unwrap()));
        let makeup: Vec<_> = all.iter().filter(|r| r.kind == "no_makeup").map(|r| r.day_number).collect();
        assert_eq!(makeup, [1]);
        let milestones: Vec<_> = plan.milestones().iter().map(|r| (r.kind, r.day_number)).collect();
        assert_eq!(
            milestones,
            [
                ("may_resume_makeup", 2),
                ("may_resume_exercise", 2),
                ("may_resume_pools_and_saunas", 8),
                ("may_resume_actives", 8),
                ("may_book_next_session", 22)
            ]
        );
        let v1 = v1();
        let plan = TreatmentPlan { protocol: &v1, treated_at: Some(at(chrono_tz::UTC, 2026, 1, 1, 15, 0)), ..plan };
        assert!(plan.milestones().is_empty(), "v1 has no milestones");
        assert!(plan.all_reminders().iter().all(|r| !r.milestone && r.window_ends_at.is_none()));
    }

    /// Milestones are personalised like the other rules, and a discharge ends their reminders
    /// but not their place on the timeline.
    #[test]
    fn milestones_follow_conditions_and_discharge() {
        let mut protocol = Protocol::standard();
        let actives = protocol.reminders.iter_mut().find(|r| r.kind == "may_resume_actives").unwrap();
        actives.when =
            Some(crate::plan::protocol::Condition { skin_types: Some(vec![SkinType::Oily]), ..Default::default() });
        let history = ScheduleHistory::fixed(schedule(chrono_tz::UTC, 9, 0));
        let plan = |skin_type, ends_at| TreatmentPlan {
            protocol: &protocol,
            treatment_id: "t",
            treated_on: date(2026, 1, 1),
            personal: Personal { skin_type, fitzpatrick: 2 },
            schedules: &history,
            treated_at: Some(at(chrono_tz::UTC, 2026, 1, 1, 10, 0)),
            ends_at,
        };
        let kinds = |p: &TreatmentPlan| p.milestones().iter().map(|r| r.kind.to_string()).collect::<Vec<_>>();
        assert!(kinds(&plan(SkinType::Oily, None)).contains(&"may_resume_actives".to_string()));
        assert!(!kinds(&plan(SkinType::Dry, None)).contains(&"may_resume_actives".to_string()));
        let ended = plan(SkinType::Oily, Some(at(chrono_tz::UTC, 2026, 1, 3, 0, 0)));
        assert_eq!(kinds(&ended).len(), 5);
        assert!(ended.all_reminders().iter().all(|r| !r.milestone || r.day_number <= 2));
    }
}
