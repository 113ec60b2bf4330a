//! The four phases of recovery as they stand on a given local date.

use chrono::{Duration, NaiveDate};

use super::local_time::day_number;
use super::protocol::{Phase, Protocol};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    Completed,
    Current,
    Upcoming,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PhaseOnDate<'a> {
    pub phase: &'a Phase,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub status: PhaseStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline<'a> {
    pub on: NaiveDate,
    pub day_number: i64,
    pub current_phase: Option<&'a str>,
    pub phases: Vec<PhaseOnDate<'a>>,
}

pub fn timeline(protocol: &Protocol, treated_on: NaiveDate, on: NaiveDate) -> Timeline<'_> {
    let day = day_number(treated_on, on);
    let phases = protocol
        .phases
        .iter()
        .map(|phase| PhaseOnDate {
            phase,
            starts_on: treated_on + Duration::days(phase.day_from - 1),
            ends_on: treated_on + Duration::days(phase.day_to - 1),
            status: if day > phase.day_to {
                PhaseStatus::Completed
            } else if day >= phase.day_from {
                PhaseStatus::Current
            } else {
                PhaseStatus::Upcoming
            },
        })
        .collect();
    Timeline { on, day_number: day, current_phase: protocol.phase_on(day).map(|p| p.key.as_str()), phases }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_day() {
        let protocol = Protocol::standard();
        let treated = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let on_day = |day: i64| timeline(&protocol, treated, treated + Duration::days(day - 1));
        let statuses = |t: &Timeline| t.phases.iter().map(|p| p.status).collect::<Vec<_>>();
        use PhaseStatus::*;
        assert_eq!(on_day(0).current_phase, None);
        assert_eq!(statuses(&on_day(0)), [Upcoming, Upcoming, Upcoming, Upcoming]);
        assert_eq!(on_day(2).current_phase, Some("days_1_2"));
        assert_eq!(on_day(3).current_phase, Some("days_3_7"));
        assert_eq!(statuses(&on_day(8)), [Completed, Completed, Current, Upcoming]);
        assert_eq!(on_day(90).current_phase, Some("months_2_3"));
        assert_eq!(on_day(91).current_phase, None);
        assert_eq!(statuses(&on_day(91)), [Completed, Completed, Completed, Completed]);
        let t = on_day(5);
        assert_eq!(t.day_number, 5);
        assert_eq!(t.phases[1].starts_on, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        assert_eq!(t.phases[3].ends_on, NaiveDate::from_ymd_opt(2027, 2, 17).unwrap());
    }
}
