//! A protocol: the clinical content of a recovery plan as data (phases, reminders with their day
//! windows and personalisation, screening findings, escalation rules). Versioned; a treatment
//! keeps the version it was planned with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::questions::{CORE_SIGNS, Sign, SignKind, core_signs};
use crate::domain::SkinType;

/// The standard protocols shipped with the product, oldest first: every version stays stored (a
/// treatment keeps the version it was planned with); new treatments use the last.
pub const STANDARD_V1: &str = include_str!("../../protocols/standard-v1.json");
pub const STANDARD_V2: &str = include_str!("../../protocols/standard-v2.json");
/// The longest plan a protocol may describe (a year: recovery plans are weeks to months long).
pub const MAX_PLAN_DAYS: i64 = 366;
pub const STANDARD_VERSIONS: &[&str] = &[STANDARD_V1, STANDARD_V2];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    pub id: String,
    pub version: i32,
    pub title: String,
    /// The plan covers days 1 to `plan_days` (day 1 = the local date of the treatment).
    pub plan_days: i64,
    /// Changes to the plan for some procedures, settings and areas (`variants.rs`), applied in
    /// document order to the treatments they select. Absent in v1: its plans are the base plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<super::variants::Variant>,
    pub phases: Vec<Phase>,
    pub reminders: Vec<ReminderRule>,
    pub screening: ScreeningRules,
    pub assessment: AssessmentRules,
    /// The document's texts in other languages: by language (`es`), every text's address
    /// (`Protocol::texts`) and its translation. Absent: the protocol speaks English only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub key: String,
    pub title: String,
    pub day_from: i64,
    pub day_to: i64,
    pub expect: Vec<String>,
    pub care: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReminderRule {
    pub kind: String,
    /// The local days the rule falls on. For a rule with `hours_after_treatment`, only when the
    /// treatment has no recorded time of day (treatments recorded before times were).
    pub day_from: i64,
    pub day_to: i64,
    /// A window in time, `[from, to]` hours after the treatment's instant: the rule falls on each
    /// local day the window reaches, at the patient's reminder time but never before the window
    /// opens, and not on a day whose reminder time comes after the window closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours_after_treatment: Option<[i64; 2]>,
    /// A "you may now…" entry: one reminder, at the moment its window opens (`day_from`, or
    /// `hours_after_treatment[0]` hours after the treatment), never before the patient's reminder
    /// time of that day.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub milestone: bool,
    /// Who gets it; absent means everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    pub title: String,
    pub body: String,
}

/// A personalisation condition: every part that is given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skin_types: Option<Vec<SkinType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitzpatrick_min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitzpatrick_max: Option<i32>,
}

/// What the plan knows about the patient to personalise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Personal {
    pub skin_type: SkinType,
    pub fitzpatrick: i32,
}

impl Condition {
    pub fn holds_for(&self, who: Personal) -> bool {
        self.skin_types.as_ref().is_none_or(|types| types.contains(&who.skin_type))
            && self.fitzpatrick_min.is_none_or(|min| who.fitzpatrick >= min)
            && self.fitzpatrick_max.is_none_or(|max| who.fitzpatrick <= max)
    }
}

impl ReminderRule {
    /// Whether the rule falls on `day` by its day window alone (the rule for a treatment with no
    /// recorded time of day).
    pub fn applies(&self, day: i64, who: Personal) -> bool {
        (self.day_from..=self.day_to).contains(&day) && self.is_for(who)
    }

    /// Whether the rule's personalisation condition holds for the patient.
    pub fn is_for(&self, who: Personal) -> bool {
        self.when.as_ref().is_none_or(|c| c.holds_for(who))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScreeningRules {
    pub contraindications: Vec<Finding>,
    pub cautions: Vec<Finding>,
}

/// A screening answer that, when true, yields this finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub answer: String,
    /// The question as staff ask it (protocol v2 on; v1 documents have none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub question: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AssessmentRules {
    /// The questions a check-in asks. Absent in documents written before questions were protocol
    /// data (standard v1): those ask the core signs (`questions::core_signs`), filled in by `parse`.
    #[serde(default)]
    pub signs: Vec<Sign>,
    pub rules: Vec<AssessmentRule>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    Serialize,
    Deserialize,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Level {
    Ok,
    Watch,
    Urgent,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Watch => "watch",
            Level::Urgent => "urgent",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        [Level::Ok, Level::Watch, Level::Urgent]
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a level"))
    }
}

crate::text_column::text_column!(Level);

/// Every screening question the API accepts an answer to (`createScreening`'s `answers`); a
/// protocol may ask any of them, each once.
pub const SCREENING_QUESTIONS: [&str; 15] = [
    "active_acne",
    "eczema",
    "psoriasis",
    "other_inflammatory",
    "bleeding_disorder",
    "blood_thinners",
    "keloids",
    "immunocompromised",
    "pregnant_or_breastfeeding",
    "numbing_allergy",
    "isotretinoin",
    "skin_infection",
    "sunburn",
    "metal_allergy",
    "cold_sores",
];

/// One escalation rule: the sign (a score at least `at_least`, or a yes/no sign that is present),
/// within a window of days, raises the check-in to `level` with this reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AssessmentRule {
    pub sign: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_day: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_day: Option<i64>,
    pub level: Level,
    pub code: String,
    pub message: String,
}

impl Protocol {
    /// Parses and checks a protocol document.
    pub fn parse(json: &str) -> Result<Protocol, String> {
        let mut protocol: Protocol = serde_json::from_str(json).map_err(|e| format!("protocol document: {e}"))?;
        if protocol.assessment.signs.is_empty() {
            protocol.assessment.signs = core_signs();
        }
        protocol.check()?;
        Ok(protocol)
    }

    /// The standard protocol new treatments are planned with (the newest shipped version).
    pub fn standard() -> Protocol {
        Protocol::parse(STANDARD_V2).expect("the embedded standard protocol is valid")
    }

    /// Phases must be contiguous from day 1 to `plan_days`; windows must lie inside the plan;
    /// kinds and codes must be unique; rules must name known signs.
    pub(crate) fn check(&self) -> Result<(), String> {
        if !(1..=MAX_PLAN_DAYS).contains(&self.plan_days) {
            return Err(format!("plan_days must be between 1 and {MAX_PLAN_DAYS}"));
        }
        if self.title.trim().is_empty() {
            return Err("the protocol needs a title".into());
        }
        let mut next_day = 1;
        let mut keys = std::collections::HashSet::new();
        for phase in &self.phases {
            if phase.key.trim().is_empty() || !keys.insert(phase.key.as_str()) {
                return Err(format!("phase key `{}` is empty or appears twice", phase.key));
            }
            if phase.title.trim().is_empty() || phase.expect.iter().chain(&phase.care).any(|t| t.trim().is_empty()) {
                return Err(format!("phase {} has an empty title or an empty line of text", phase.key));
            }
            if phase.day_from != next_day || phase.day_to < phase.day_from {
                return Err(format!("phase {} must start on day {next_day}", phase.key));
            }
            next_day = phase.day_to + 1;
        }
        if next_day != self.plan_days + 1 {
            return Err(format!("phases must end on day {}", self.plan_days));
        }
        let mut kinds = std::collections::HashSet::new();
        for rule in &self.reminders {
            if rule.day_from < 1 || rule.day_to > self.plan_days || rule.day_from > rule.day_to {
                return Err(format!("reminder {} has a window outside the plan", rule.kind));
            }
            if rule.kind.trim().is_empty() || rule.title.trim().is_empty() || rule.body.trim().is_empty() {
                return Err(format!("reminder `{}` needs a kind, a title and a body", rule.kind));
            }
            if !kinds.insert(rule.kind.as_str()) {
                return Err(format!("reminder kind {} appears twice", rule.kind));
            }
            if let Some([from, to]) = rule.hours_after_treatment {
                if from < 0 || to < from || to > (self.plan_days - 1) * 24 || (from == to && !rule.milestone) {
                    return Err(format!("reminder {} has an hours window outside the plan or empty", rule.kind));
                }
                if rule.milestone && from != to {
                    return Err(format!("milestone {} must name one moment: hours_after_treatment [h, h]", rule.kind));
                }
            }
            if rule.milestone && rule.day_from != rule.day_to {
                return Err(format!("milestone {} must fall on one day: day_from = day_to", rule.kind));
            }
        }
        let mut asked = std::collections::HashSet::new();
        let mut codes = std::collections::HashSet::new();
        for finding in self.screening.contraindications.iter().chain(&self.screening.cautions) {
            if !SCREENING_QUESTIONS.contains(&finding.answer.as_str()) {
                return Err(format!("screening question {} is not one the API accepts", finding.answer));
            }
            if finding.code.trim().is_empty() || finding.message.trim().is_empty() {
                return Err(format!("screening question {} needs a code and a message", finding.answer));
            }
            if !asked.insert(finding.answer.as_str()) || !codes.insert(finding.code.as_str()) {
                return Err(format!("screening question {} or code {} appears twice", finding.answer, finding.code));
            }
        }
        self.check_signs()?;
        for rule in &self.assessment.rules {
            let Some(sign) = self.sign(&rule.sign) else {
                return Err(format!("assessment rule {}: `{}` is not a sign a check-in reports", rule.code, rule.sign));
            };
            if (sign.kind == SignKind::Score) != rule.at_least.is_some() || rule.message.trim().is_empty() {
                return Err(format!("assessment rule {} is malformed", rule.code));
            }
            if rule.at_least.is_some_and(|at_least| !(1..=10).contains(&at_least)) {
                return Err(format!("assessment rule {}: at_least must be from 1 to 10", rule.code));
            }
            let (from, to) = (rule.from_day.unwrap_or(1), rule.to_day.unwrap_or(self.plan_days));
            if from < 1 || to > self.plan_days || from > to {
                return Err(format!("assessment rule {} has a window outside the plan", rule.code));
            }
        }
        self.check_variants()?;
        self.check_translations()?;
        Ok(())
    }

    /// The check-in questions: keys of a safe shape and unique, worded, asked inside the plan;
    /// the core signs all present, of their kind and required.
    fn check_signs(&self) -> Result<(), String> {
        let mut keys = std::collections::HashSet::new();
        for sign in &self.assessment.signs {
            let well_formed = sign.key.len() <= 40
                && sign.key.starts_with(|c: char| c.is_ascii_lowercase())
                && sign.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !well_formed || !keys.insert(sign.key.as_str()) {
                return Err(format!(
                    "sign `{}` must be unique, at most 40 characters of a-z, 0-9 and _, starting with a letter",
                    sign.key
                ));
            }
            if sign.question.trim().is_empty() {
                return Err(format!("sign {} needs a question", sign.key));
            }
            let (from, to) = (sign.from_day.unwrap_or(1), sign.to_day.unwrap_or(self.plan_days));
            if from < 1 || to > self.plan_days || from > to {
                return Err(format!("sign {} is asked on days outside the plan", sign.key));
            }
        }
        for (key, kind) in CORE_SIGNS {
            match self.sign(key) {
                Some(sign)
                    if sign.kind == kind && sign.required && sign.from_day.is_none() && sign.to_day.is_none() => {}
                _ => {
                    return Err(format!(
                        "sign {key} is a core sign: every protocol asks it every day, required, as {kind:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The clinical floor of a clinic's protocol: every sign `standard` makes urgent is asked and
    /// made urgent by one rule of this document at least on the same days (within this plan) and at
    /// no higher a score. A clinic may add urgent signs, widen their days or lower their thresholds;
    /// it may not drop or narrow one, so no clinic's version lets an urgent report through as less.
    pub fn keeps_urgent_signs_of(&self, standard: &Protocol) -> Result<(), String> {
        for floor in standard.assessment.rules.iter().filter(|r| r.level == Level::Urgent) {
            let from = floor.from_day.unwrap_or(1);
            let to = floor.to_day.unwrap_or(standard.plan_days).min(self.plan_days);
            if from > to {
                continue;
            }
            let asked = self
                .sign(&floor.sign)
                .is_some_and(|s| s.from_day.unwrap_or(1) <= from && s.to_day.is_none_or(|t| t >= to));
            let escalated = self.assessment.rules.iter().any(|own| {
                own.sign == floor.sign
                    && own.level == Level::Urgent
                    && own.from_day.unwrap_or(1) <= from
                    && own.to_day.unwrap_or(self.plan_days) >= to
                    && own.at_least.unwrap_or(0) <= floor.at_least.unwrap_or(0)
            });
            if !(asked && escalated) {
                return Err(format!(
                    "sign {} must be asked and made urgent on days {from} to {to} (rule {} of the standard protocol): a clinic's protocol may add urgent signs, not drop or narrow them",
                    floor.sign, floor.code
                ));
            }
        }
        Ok(())
    }

    pub fn sign(&self, key: &str) -> Option<&Sign> {
        self.assessment.signs.iter().find(|s| s.key == key)
    }

    /// The questions a check-in on `day` asks, in the order of the document.
    pub fn questions_on(&self, day: i64) -> impl Iterator<Item = &Sign> {
        self.assessment.signs.iter().filter(move |s| s.asked_on(day))
    }

    pub fn phase_on(&self, day: i64) -> Option<&Phase> {
        self.phases.iter().find(|p| (p.day_from..=p.day_to).contains(&day))
    }

    /// The screening questions, in the order of the document.
    pub fn screening_answers(&self) -> Vec<&str> {
        let all = self.screening.contraindications.iter().chain(&self.screening.cautions);
        all.map(|f| f.answer.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_protocol_encodes_clinical_md() {
        let p = Protocol::standard();
        let phases: Vec<_> = p.phases.iter().map(|ph| (ph.key.as_str(), ph.day_from, ph.day_to)).collect();
        assert_eq!(phases, [("days_1_2", 1, 2), ("days_3_7", 3, 7), ("weeks_2_4", 8, 28), ("months_2_3", 29, 90)]);
        for phase in &p.phases {
            assert!(phase.expect.len() >= 2 && phase.care.len() >= 2, "{} needs useful lists", phase.key);
        }
        let v1 = Protocol::parse(STANDARD_V1).unwrap();
        let windows: Vec<_> = v1.reminders.iter().map(|r| (r.kind.as_str(), r.day_from, r.day_to)).collect();
        let v1_windows = [
            ("sunscreen", 1, 90),
            ("no_makeup", 1, 1),
            ("no_workout", 1, 1),
            ("avoid_heat", 1, 7),
            ("no_actives", 1, 7),
            ("gentle_care", 1, 7),
            ("cool_compress", 1, 2),
            ("no_picking", 3, 7),
            ("hydration", 1, 7),
            ("soothe", 1, 7),
            ("pigment_watch", 1, 28),
        ];
        assert_eq!(windows, v1_windows);
        assert!(v1.reminders.iter().all(|r| r.hours_after_treatment.is_none() && !r.milestone));
        // v2: the same rules, the 24-hour ones as windows in time, then the "you may now" moments.
        let windows: Vec<_> = p.reminders.iter().map(|r| (r.kind.as_str(), r.day_from, r.day_to)).collect();
        assert_eq!(windows[..11], v1_windows);
        let hours: Vec<_> =
            p.reminders.iter().filter_map(|r| Some((r.kind.as_str(), r.hours_after_treatment?, r.milestone))).collect();
        assert_eq!(
            hours,
            [
                ("no_makeup", [0, 24], false),
                ("no_workout", [0, 24], false),
                ("may_resume_makeup", [24, 24], true),
                ("may_resume_exercise", [24, 24], true),
            ]
        );
        let milestones: Vec<_> =
            p.reminders.iter().filter(|r| r.milestone).map(|r| (r.kind.as_str(), r.day_from)).collect();
        assert_eq!(
            milestones,
            [
                ("may_resume_makeup", 2),
                ("may_resume_exercise", 2),
                ("may_resume_pools_and_saunas", 8),
                ("may_resume_actives", 8),
                ("may_book_next_session", 22),
            ]
        );
        assert!(p.reminders.iter().all(|r| r.milestone == r.kind.starts_with("may_")));
        assert_eq!(p.screening_answers().len(), 15);
        for finding in p.screening.contraindications.iter().chain(&p.screening.cautions) {
            assert!(finding.question.ends_with('?'), "{} needs its question", finding.answer);
        }
        let v1 = Protocol::parse(STANDARD_V1).unwrap();
        assert_eq!(v1.screening_answers().len(), 10);
        // v1 asks the ten core signs, every day; v2 adds the signs of CLINICAL.md's v2 section.
        let core: Vec<_> = CORE_SIGNS.iter().map(|(key, _)| key.to_string()).collect();
        assert_eq!(v1.assessment.signs.iter().map(|s| s.key.clone()).collect::<Vec<_>>(), core);
        let added: Vec<_> = p.assessment.signs.iter().skip(10).map(|s| (s.key.as_str(), s.required)).collect();
        assert_eq!(
            added,
            [
                ("spreading_warmth", false),
                ("redness_worsening", false),
                ("rash", false),
                ("lip_or_eye_swelling", false),
                ("breathing_trouble", false),
                ("cold_sore_tingling", false),
                ("cold_sore_blisters", false),
                ("bleeding_not_stopping", false),
                ("lumps", false),
            ]
        );
        assert!(p.assessment.signs.iter().all(|s| s.question.ends_with('?') || s.question.ends_with(')')));
    }

    #[test]
    fn broken_documents_are_refused() {
        let mut doc: serde_json::Value = serde_json::from_str(STANDARD_V1).unwrap();
        doc["phases"][1]["day_from"] = 4.into();
        assert!(Protocol::parse(&doc.to_string()).unwrap_err().contains("days_3_7"));
        let mut doc: serde_json::Value = serde_json::from_str(STANDARD_V1).unwrap();
        doc["reminders"][0]["day_to"] = 91.into();
        assert!(Protocol::parse(&doc.to_string()).is_err());
        let mut doc: serde_json::Value = serde_json::from_str(STANDARD_V1).unwrap();
        doc["assessment"]["rules"][0]["sign"] = "sneezing".into();
        assert!(Protocol::parse(&doc.to_string()).is_err());
        let mut doc: serde_json::Value = serde_json::from_str(STANDARD_V2).unwrap();
        doc["screening"]["cautions"][0]["answer"] = "tattoos".into();
        assert!(Protocol::parse(&doc.to_string()).unwrap_err().contains("tattoos"));
        let mut doc: serde_json::Value = serde_json::from_str(STANDARD_V2).unwrap();
        doc["screening"]["cautions"][0]["answer"] = "eczema".into();
        assert!(Protocol::parse(&doc.to_string()).unwrap_err().contains("twice"));
    }

    /// Windows in hours lie inside the plan and are not empty; a milestone is one day and one moment.
    #[test]
    fn broken_windows_and_milestones_are_refused() {
        let v2: serde_json::Value = serde_json::from_str(STANDARD_V2).unwrap();
        let index = |kind: &str| v2["reminders"].as_array().unwrap().iter().position(|r| r["kind"] == kind).unwrap();
        let (makeup, resume) = (index("no_makeup"), index("may_resume_makeup"));
        let broken = |i: usize, field: &str, value: serde_json::Value| {
            let mut doc = v2.clone();
            doc["reminders"][i][field] = value;
            Protocol::parse(&doc.to_string())
        };
        assert!(broken(makeup, "hours_after_treatment", serde_json::json!([0, 24])).is_ok());
        for bad in [[-1, 24], [24, 0], [5, 5], [0, 89 * 24 + 1]] {
            assert!(broken(makeup, "hours_after_treatment", serde_json::json!(bad)).is_err(), "{bad:?}");
        }
        assert!(broken(makeup, "hours_after_treatment", serde_json::json!([0, 89 * 24])).is_ok());
        assert!(broken(resume, "hours_after_treatment", serde_json::json!([24, 48])).is_err());
        assert!(broken(resume, "day_to", 3.into()).is_err());
        assert!(broken(resume, "milestone", false.into()).is_err(), "an empty window is no rule");
        // Documents without the new fields (v1) still parse.
        assert!(Protocol::parse(STANDARD_V1).is_ok());
    }

    #[test]
    fn conditions_personalise() {
        let dry_dark = Personal { skin_type: SkinType::Dry, fitzpatrick: 5 };
        let normal_fair = Personal { skin_type: SkinType::Normal, fitzpatrick: 2 };
        let dry = Condition { skin_types: Some(vec![SkinType::Dry]), ..Default::default() };
        let dark = Condition { fitzpatrick_min: Some(4), ..Default::default() };
        assert!(dry.holds_for(dry_dark) && !dry.holds_for(normal_fair));
        assert!(dark.holds_for(dry_dark) && !dark.holds_for(normal_fair));
        assert!(Condition::default().holds_for(normal_fair));
    }

    /// A clinic's version may be stricter about urgent signs than the standard, never laxer.
    #[test]
    fn a_clinic_protocol_keeps_every_urgent_sign_of_the_standard() {
        let standard = Protocol::standard();
        assert!(standard.keeps_urgent_signs_of(&standard).is_ok());
        assert!(
            Protocol::parse(STANDARD_V1).unwrap().keeps_urgent_signs_of(&Protocol::parse(STANDARD_V1).unwrap()).is_ok()
        );
        type Edit = fn(&mut Protocol);
        let rule =
            |p: &mut Protocol, code: &str| -> usize { p.assessment.rules.iter().position(|r| r.code == code).unwrap() };
        let laxer: [(Edit, &str); 5] = [
            (|p| p.assessment.rules.retain(|r| r.sign != "pus"), "sign pus"),
            (
                |p| {
                    let i = p.assessment.rules.iter().position(|r| r.code == "bleeding_after_day_1").unwrap();
                    p.assessment.rules[i].from_day = Some(3)
                },
                "sign bleeding must be asked and made urgent on days 2 to 90",
            ),
            (
                |p| {
                    let i = p.assessment.rules.iter().position(|r| r.code == "possible_cold_sore_blisters").unwrap();
                    p.assessment.rules[i].level = Level::Watch
                },
                "sign cold_sore_blisters",
            ),
            (
                |p| {
                    let i = p.assessment.signs.iter().position(|s| s.key == "cold_sore_tingling").unwrap();
                    p.assessment.signs[i].to_day = Some(3)
                },
                "sign cold_sore_tingling",
            ),
            (|p| p.assessment.signs.retain(|s| s.key != "breathing_trouble"), "sign breathing_trouble"),
        ];
        for (edit, expected) in laxer {
            let mut clinic = Protocol::standard();
            edit(&mut clinic);
            let error = clinic.keeps_urgent_signs_of(&standard).unwrap_err();
            assert!(error.contains(expected), "{expected}: {error}");
        }
        // Stricter is fine: a rash made urgent, cold sores watched for two weeks, a shorter plan.
        let mut stricter = Protocol::standard();
        let i = rule(&mut stricter, "rash");
        stricter.assessment.rules[i].level = Level::Urgent;
        let i = rule(&mut stricter, "possible_cold_sore_blisters");
        stricter.assessment.rules[i].to_day = Some(14);
        stricter
            .assessment
            .signs
            .iter_mut()
            .filter(|s| s.key == "cold_sore_blisters")
            .for_each(|s| s.to_day = Some(14));
        assert!(stricter.keeps_urgent_signs_of(&standard).is_ok());
    }

    /// The checks a clinic's document must pass, each failing on its own.
    #[test]
    fn check_names_what_is_wrong_in_an_edited_document() {
        type Edit = fn(&mut Protocol);
        let cases: [(Edit, &str); 17] = [
            (|p| p.plan_days = 0, "plan_days must be between 1 and 366"),
            (|p| p.title = " ".into(), "needs a title"),
            (|p| p.phases[1].day_from = 4, "phase days_3_7 must start on day 3"),
            (|p| p.phases[1].key = "days_1_2".into(), "phase key `days_1_2` is empty or appears twice"),
            (|p| p.phases[0].care.push(String::new()), "phase days_1_2 has an empty title or an empty line"),
            (|p| p.reminders[0].day_to = 91, "reminder sunscreen has a window outside the plan"),
            (|p| p.reminders[0].body.clear(), "reminder `sunscreen` needs a kind, a title and a body"),
            (|p| p.screening.cautions[0].message.clear(), "needs a code and a message"),
            (|p| p.assessment.rules[0].sign = "glow".into(), "`glow` is not a sign a check-in reports"),
            (|p| p.assessment.rules[0].to_day = Some(91), "has a window outside the plan"),
            (|p| p.assessment.rules[0].at_least = None, "assessment rule redness_severe_after_day_2 is malformed"),
            (|p| p.assessment.rules[0].at_least = Some(11), "at_least must be from 1 to 10"),
            (|p| p.assessment.signs.retain(|s| s.key != "pus"), "sign pus is a core sign"),
            (|p| p.assessment.signs[0].kind = SignKind::YesNo, "sign redness is a core sign"),
            (|p| p.assessment.signs[5].to_day = Some(3), "sign bleeding is a core sign"),
            (|p| p.assessment.signs[12].key = "Rash!".into(), "sign `Rash!` must be unique"),
            (|p| p.assessment.signs[12].to_day = Some(91), "sign rash is asked on days outside the plan"),
        ];
        for (edit, expected) in cases {
            let mut p = Protocol::standard();
            edit(&mut p);
            let error = p.check().unwrap_err();
            assert!(error.contains(expected), "{expected}: {error}");
        }
        for document in STANDARD_VERSIONS {
            Protocol::parse(document).unwrap();
        }
    }
}
