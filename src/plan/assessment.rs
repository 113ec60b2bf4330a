//! Judging a check-in against what is normal for its day of recovery, by the protocol's rules.

use super::protocol::{AssessmentRule, Level, Protocol};
use super::questions::{Answer, Answers};

fn shows(answers: &Answers, rule: &AssessmentRule) -> bool {
    match (answers.get(&rule.sign), rule.at_least) {
        (Some(Answer::Score(score)), Some(at_least)) => *score >= at_least,
        (Some(Answer::YesNo(yes)), None) => *yes,
        _ => false,
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
pub fn assess(protocol: &Protocol, day: i64, answers: &Answers) -> Assessment {
    let mut strongest: Vec<&AssessmentRule> = Vec::new();
    let in_window =
        |rule: &AssessmentRule| rule.from_day.is_none_or(|from| day >= from) && rule.to_day.is_none_or(|to| day <= to);
    for rule in protocol.assessment.rules.iter().filter(|r| in_window(r) && shows(answers, r)) {
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

    /// The answers of a check-in reporting only `reported`.
    fn answers(reported: &[(&str, Answer)]) -> Answers {
        reported.iter().map(|(sign, answer)| (sign.to_string(), *answer)).collect()
    }

    fn judge(day: i64, reported: &[(&str, Answer)]) -> (Level, Vec<String>) {
        let a = assess(&Protocol::standard(), day, &answers(reported));
        (a.level, a.reasons.into_iter().map(|r| r.code).collect())
    }

    fn score(n: i32) -> Answer {
        Answer::Score(n)
    }

    const YES: Answer = Answer::YesNo(true);
    const NO: Answer = Answer::YesNo(false);

    /// Every row of CLINICAL.md's escalation table, at and around its boundaries.
    #[test]
    fn the_escalation_table() {
        use Level::*;
        let none: Vec<String> = vec![];
        // Redness and swelling: expected early; severe (>= 7) from day 3; moderate (>= 4) after day 7.
        for sign in ["redness", "swelling"] {
            assert_eq!(judge(1, &[(sign, score(10))]), (Ok, none.clone()), "{sign} day 1");
            assert_eq!(judge(2, &[(sign, score(7))]), (Ok, none.clone()), "{sign} day 2");
            assert_eq!(judge(3, &[(sign, score(6))]), (Ok, none.clone()), "{sign} day 3 below severe");
            assert_eq!(judge(3, &[(sign, score(7))]), (Watch, vec![format!("{sign}_severe_after_day_2")]));
            assert_eq!(judge(7, &[(sign, score(4))]), (Ok, none.clone()), "{sign} day 7 moderate");
            assert_eq!(judge(8, &[(sign, score(3))]), (Ok, none.clone()), "{sign} day 8 mild");
            assert_eq!(judge(8, &[(sign, score(4))]), (Watch, vec![format!("{sign}_lingering")]));
            assert_eq!(judge(30, &[(sign, score(9))]).1.len(), 1, "{sign}: one reason per sign");
        }
        // Discomfort: severe pain is never expected; moderate pain after day 7 lingers.
        assert_eq!(judge(1, &[("pain", score(6))]), (Ok, none.clone()));
        assert_eq!(judge(1, &[("pain", score(7))]), (Watch, vec!["pain_severe".to_string()]));
        assert_eq!(judge(7, &[("pain", score(4))]), (Ok, none.clone()));
        assert_eq!(judge(8, &[("pain", score(4))]), (Watch, vec!["discomfort_lingering".to_string()]));
        // Pinpoint bleeding: fine on day 1, urgent from day 2.
        assert_eq!(judge(1, &[("bleeding", YES)]), (Ok, none.clone()));
        assert_eq!(judge(2, &[("bleeding", YES)]), (Urgent, vec!["bleeding_after_day_1".to_string()]));
        // Peeling is expected; itching has no rule.
        assert_eq!(judge(5, &[("peeling", score(10)), ("itching", score(10))]), (Ok, none.clone()));
        // Never expected, any day.
        for day in [1, 5, 60] {
            assert_eq!(judge(day, &[("darkening", YES)]), (Watch, vec!["darkening".to_string()]));
            assert_eq!(judge(day, &[("pus", YES)]), (Urgent, vec!["possible_infection_pus".to_string()]));
            assert_eq!(judge(day, &[("fever", YES)]), (Urgent, vec!["possible_infection_fever".to_string()]));
            assert_eq!(judge(day, &[("hives", YES)]), (Urgent, vec!["possible_allergy".to_string()]));
        }
    }

    /// The signs protocol v2 adds (CLINICAL.md, "Additions for protocol v2"): each sign on the
    /// days around its window, alone.
    #[test]
    fn the_signs_added_in_v2() {
        use Level::*;
        let last = Protocol::standard().plan_days;
        // (sign, level when reported, first day it raises, last day it raises)
        let table: [(&str, Level, &str, i64, i64); 9] = [
            ("spreading_warmth", Urgent, "possible_infection_spreading", 1, last),
            ("redness_worsening", Urgent, "possible_infection_worsening_redness", 4, last),
            ("rash", Watch, "rash", 1, last),
            ("lip_or_eye_swelling", Urgent, "possible_allergy_swelling", 1, last),
            ("breathing_trouble", Urgent, "possible_allergy_breathing", 1, last),
            ("cold_sore_tingling", Urgent, "possible_cold_sore", 1, 7),
            ("cold_sore_blisters", Urgent, "possible_cold_sore_blisters", 1, 7),
            ("bleeding_not_stopping", Urgent, "bleeding_not_stopping", 1, 1),
            ("lumps", Watch, "lumps_persisting", 29, last),
        ];
        for (sign, level, code, first, last_day) in table {
            for day in 1..=last {
                let expected =
                    if (first..=last_day).contains(&day) { (level, vec![code.to_string()]) } else { (Ok, vec![]) };
                assert_eq!(judge(day, &[(sign, YES)]), expected, "{sign} on day {day}");
                assert_eq!(judge(day, &[(sign, NO)]), (Ok, vec![]), "{sign} answered no on day {day}");
            }
        }
        // A rash is watch, with hives or swelling of the lips or eyes urgent: the highest level wins
        // and each sign gives its reason.
        let (level, codes) = judge(3, &[("rash", YES), ("lip_or_eye_swelling", YES)]);
        assert_eq!((level, codes), (Urgent, vec!["possible_allergy_swelling".to_string(), "rash".to_string()]));
    }

    #[test]
    fn the_highest_level_wins_and_every_raising_sign_is_a_reason() {
        let (level, codes) = judge(5, &[("redness", score(8)), ("darkening", YES), ("fever", YES)]);
        assert_eq!(level, Level::Urgent);
        assert_eq!(codes, ["possible_infection_fever", "redness_severe_after_day_2", "darkening"]);
    }

    /// Answers of the wrong kind for a rule never raise it (a check-in's answers are checked
    /// against the questions before they are judged; this is the judge's own guard).
    #[test]
    fn an_answer_of_the_other_kind_raises_nothing() {
        assert_eq!(judge(5, &[("fever", score(10)), ("redness", YES)]), (Level::Ok, vec![]));
    }

    /// Any answers on any day: the level is the most serious rule whose window holds the day and
    /// whose sign the answers show; reporting more (a higher score, a yes) never lowers it.
    mod properties {
        use super::*;
        use crate::plan::questions::SignKind;
        use proptest::prelude::*;

        fn any_answers() -> impl Strategy<Value = Answers> {
            let signs = Protocol::standard().assessment.signs;
            let each: Vec<BoxedStrategy<(String, Answer)>> = signs
                .into_iter()
                .map(|sign| match sign.kind {
                    SignKind::Score => (0..=10i32).prop_map(move |n| (sign.key.clone(), Answer::Score(n))).boxed(),
                    SignKind::YesNo => any::<bool>().prop_map(move |b| (sign.key.clone(), Answer::YesNo(b))).boxed(),
                })
                .collect();
            each.prop_map(|pairs| pairs.into_iter().collect())
        }

        fn oracle(protocol: &Protocol, day: i64, answers: &Answers) -> Level {
            let mut level = Level::Ok;
            for rule in &protocol.assessment.rules {
                let (from, to) = (rule.from_day.unwrap_or(1), rule.to_day.unwrap_or(i64::MAX));
                let shown = match answers.get(&rule.sign) {
                    Some(Answer::Score(n)) => rule.at_least.is_some_and(|least| *n >= least),
                    Some(Answer::YesNo(yes)) => *yes && rule.at_least.is_none(),
                    None => false,
                };
                if shown && from <= day && day <= to {
                    level = level.max(rule.level);
                }
            }
            level
        }

        proptest! {
            #[test]
            fn the_level_is_the_most_serious_rule_shown(day in 1..=90i64, answers in any_answers(), bump in 0..19usize) {
                let protocol = Protocol::standard();
                let judged = assess(&protocol, day, &answers);
                prop_assert_eq!(judged.level, oracle(&protocol, day, &answers));
                let signs: std::collections::HashSet<_> = judged.reasons.iter().map(|r| r.code.clone()).collect();
                prop_assert_eq!(signs.len(), judged.reasons.len(), "one reason per sign");
                prop_assert_eq!(judged.reasons.is_empty(), judged.level == Level::Ok);
                let mut more = answers.clone();
                let key = protocol.assessment.signs[bump % protocol.assessment.signs.len()].key.clone();
                more.entry(key).and_modify(|a| *a = match *a {
                    Answer::Score(n) => Answer::Score((n + 3).min(10)),
                    Answer::YesNo(_) => Answer::YesNo(true),
                });
                prop_assert!(assess(&protocol, day, &more).level >= judged.level);
            }
        }
    }
}
