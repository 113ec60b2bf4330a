//! Judging a check-in against what is normal for its day of recovery, by the protocol's rules.

use serde::{Deserialize, Serialize};

use super::protocol::{AssessmentRule, Level, Protocol};

/// What the patient reports: scores from 0 to 10 and yes/no signs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Symptoms {
    pub redness: i32,
    pub swelling: i32,
    pub pain: i32,
    pub itching: i32,
    pub peeling: i32,
    pub bleeding: bool,
    pub pus: bool,
    pub fever: bool,
    pub hives: bool,
    pub darkening: bool,
}

impl Symptoms {
    fn score(&self, sign: &str) -> Option<i32> {
        match sign {
            "redness" => Some(self.redness),
            "swelling" => Some(self.swelling),
            "pain" => Some(self.pain),
            "itching" => Some(self.itching),
            "peeling" => Some(self.peeling),
            _ => None,
        }
    }

    fn flag(&self, sign: &str) -> bool {
        match sign {
            "bleeding" => self.bleeding,
            "pus" => self.pus,
            "fever" => self.fever,
            "hives" => self.hives,
            "darkening" => self.darkening,
            _ => false,
        }
    }

    fn shows(&self, rule: &AssessmentRule) -> bool {
        match (self.score(&rule.sign), rule.at_least) {
            (Some(score), Some(at_least)) => score >= at_least,
            _ => self.flag(&rule.sign),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub level: Level,
    pub reasons: Vec<Reason>,
}

/// The check-in takes the highest level any sign raises, with one reason per sign that raised it
/// (that sign's most serious matching rule), most serious first.
pub fn assess(protocol: &Protocol, day: i64, symptoms: &Symptoms) -> Assessment {
    let mut strongest: Vec<&AssessmentRule> = Vec::new();
    let in_window =
        |rule: &AssessmentRule| rule.from_day.is_none_or(|from| day >= from) && rule.to_day.is_none_or(|to| day <= to);
    for rule in protocol.assessment.rules.iter().filter(|r| in_window(r) && symptoms.shows(r)) {
        match strongest.iter_mut().find(|kept| kept.sign == rule.sign) {
            Some(kept) if rule.level > kept.level => *kept = rule,
            Some(_) => {}
            None => strongest.push(rule),
        }
    }
    strongest.sort_by_key(|rule| std::cmp::Reverse(rule.level));
    Assessment {
        level: strongest.first().map_or(Level::Ok, |r| r.level),
        reasons: strongest.iter().map(|r| Reason { code: r.code.clone(), message: r.message.clone() }).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(day: i64, symptoms: Symptoms) -> (Level, Vec<String>) {
        let a = assess(&Protocol::standard(), day, &symptoms);
        (a.level, a.reasons.into_iter().map(|r| r.code).collect())
    }

    fn scores(redness: i32, swelling: i32, pain: i32) -> Symptoms {
        Symptoms { redness, swelling, pain, ..Default::default() }
    }

    /// Every row of CLINICAL.md's escalation table, at and around its boundaries.
    #[test]
    fn the_escalation_table() {
        use Level::*;
        let none: Vec<String> = vec![];
        // Redness and swelling: expected early; severe (>= 7) from day 3; moderate (>= 4) after day 7.
        for (sign, make) in
            [("redness", (|v| scores(v, 0, 0)) as fn(i32) -> Symptoms), ("swelling", |v| scores(0, v, 0))]
        {
            assert_eq!(judge(1, make(10)), (Ok, none.clone()), "{sign} day 1");
            assert_eq!(judge(2, make(7)), (Ok, none.clone()), "{sign} day 2");
            assert_eq!(judge(3, make(6)), (Ok, none.clone()), "{sign} day 3 below severe");
            assert_eq!(judge(3, make(7)), (Watch, vec![format!("{sign}_severe_after_day_2")]), "{sign} day 3 severe");
            assert_eq!(judge(7, make(4)), (Ok, none.clone()), "{sign} day 7 moderate");
            assert_eq!(judge(8, make(3)), (Ok, none.clone()), "{sign} day 8 mild");
            assert_eq!(judge(8, make(4)), (Watch, vec![format!("{sign}_lingering")]), "{sign} day 8 moderate");
            assert_eq!(judge(30, make(9)).1.len(), 1, "{sign}: one reason per sign");
        }
        // Discomfort: severe pain is never expected; moderate pain after day 7 lingers.
        assert_eq!(judge(1, scores(0, 0, 6)), (Ok, none.clone()));
        assert_eq!(judge(1, scores(0, 0, 7)), (Watch, vec!["pain_severe".to_string()]));
        assert_eq!(judge(7, scores(0, 0, 4)), (Ok, none.clone()));
        assert_eq!(judge(8, scores(0, 0, 4)), (Watch, vec!["discomfort_lingering".to_string()]));
        // Pinpoint bleeding: fine on day 1, urgent from day 2.
        let bleeding = Symptoms { bleeding: true, ..Default::default() };
        assert_eq!(judge(1, bleeding), (Ok, none.clone()));
        assert_eq!(judge(2, bleeding), (Urgent, vec!["bleeding_after_day_1".to_string()]));
        // Peeling is expected; itching has no rule.
        assert_eq!(judge(5, Symptoms { peeling: 10, itching: 10, ..Default::default() }), (Ok, none.clone()));
        // Never expected, any day.
        for day in [1, 5, 60] {
            assert_eq!(
                judge(day, Symptoms { darkening: true, ..Default::default() }),
                (Watch, vec!["darkening".to_string()])
            );
            assert_eq!(
                judge(day, Symptoms { pus: true, ..Default::default() }),
                (Urgent, vec!["possible_infection_pus".to_string()])
            );
            assert_eq!(
                judge(day, Symptoms { fever: true, ..Default::default() }),
                (Urgent, vec!["possible_infection_fever".to_string()])
            );
            assert_eq!(
                judge(day, Symptoms { hives: true, ..Default::default() }),
                (Urgent, vec!["possible_allergy".to_string()])
            );
        }
    }

    #[test]
    fn the_highest_level_wins_and_every_raising_sign_is_a_reason() {
        let mixed = Symptoms { redness: 8, darkening: true, fever: true, ..Default::default() };
        let (level, codes) = judge(5, mixed);
        assert_eq!(level, Level::Urgent);
        assert_eq!(codes, ["possible_infection_fever", "redness_severe_after_day_2", "darkening"]);
    }
}
