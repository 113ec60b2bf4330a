//! The questions a check-in asks, as protocol data: each sign with its kind (a score from 0 to 10,
//! or yes/no), its wording and the days it is asked; and the patient's answers to them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;
use crate::validate::whole_number;

/// How a sign is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignKind {
    /// An integer from 0 (none) to 10 (worst).
    Score,
    /// true or false.
    YesNo,
}

/// One question of a check-in: a sign the patient reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    /// The stable key answers are sent under (the same in every language).
    pub key: String,
    pub kind: SignKind,
    /// The question as the patient reads it.
    pub question: String,
    /// A check-in that leaves a required question unanswered is refused (422); an optional one
    /// unanswered counts as "no" (or 0) and is named in the check-in's `unanswered`.
    #[serde(default)]
    pub required: bool,
    /// The days of recovery the question is asked on (absent: from day 1 to the plan's end). An
    /// answer sent on another day is still kept and judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_day: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_day: Option<i64>,
}

impl Sign {
    pub fn asked_on(&self, day: i64) -> bool {
        self.from_day.is_none_or(|from| day >= from) && self.to_day.is_none_or(|to| day <= to)
    }
}

/// The ten signs every protocol asks, always, as required questions: check-ins made before
/// questions were protocol data reported exactly these, and the API's `Symptoms` names them.
/// A protocol may word them its own way and add signs of its own, not drop or retype these.
pub const CORE_SIGNS: [(&str, SignKind); 10] = [
    ("redness", SignKind::Score),
    ("swelling", SignKind::Score),
    ("pain", SignKind::Score),
    ("itching", SignKind::Score),
    ("peeling", SignKind::Score),
    ("bleeding", SignKind::YesNo),
    ("pus", SignKind::YesNo),
    ("fever", SignKind::YesNo),
    ("hives", SignKind::YesNo),
    ("darkening", SignKind::YesNo),
];

/// The questions of a document written before questions were protocol data (standard v1): the
/// core signs, each asked every day.
pub fn core_signs() -> Vec<Sign> {
    let wording = [
        "How red is the treated skin? (0 = not at all, 10 = very)",
        "How swollen is it? (0 = not at all, 10 = very)",
        "How much does it hurt? (0 = not at all, 10 = the worst pain)",
        "How itchy is it? (0 = not at all, 10 = very)",
        "How much is it flaking or peeling? (0 = not at all, 10 = a lot)",
        "Is the skin bleeding?",
        "Is there any pus (yellow or white fluid)?",
        "Do you have a fever?",
        "Do you have hives (raised, itchy welts)?",
        "Have any patches of skin turned darker?",
    ];
    CORE_SIGNS
        .iter()
        .zip(wording)
        .map(|((key, kind), question)| Sign {
            key: key.to_string(),
            kind: *kind,
            question: question.to_string(),
            required: true,
            from_day: None,
            to_day: None,
        })
        .collect()
}

/// One answer: a score or a yes/no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    YesNo(bool),
    Score(i32),
}

impl Answer {
    /// Whether the answer reports the sign at all (a score above 0, or yes).
    pub fn reported(self) -> bool {
        match self {
            Answer::YesNo(yes) => yes,
            Answer::Score(score) => score > 0,
        }
    }
}

/// A check-in's answers by sign key.
pub type Answers = BTreeMap<String, Answer>;

/// The answers a check-in gave, checked against the protocol's questions.
#[derive(Debug, Default, PartialEq)]
pub struct CheckedAnswers {
    pub answers: Answers,
    /// Optional questions asked that day and left unanswered (counted as "no" or 0).
    pub unanswered: Vec<String>,
    /// Keys that are no question of the protocol: left out, never a reason to refuse.
    pub unknown: Vec<String>,
}

/// Why answers were refused.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// An answer of the wrong JSON type (a yes/no that is not a boolean, a score that is not a whole
    /// number): malformed input, a 400 by the contract's conventions.
    WrongType(FieldError),
    /// Answers out of range, or required ones missing: every one, for a 422.
    Invalid(Vec<FieldError>),
}

/// Checks the raw answers of a check-in made on `day` against `signs`. An answer of the wrong JSON
/// type refuses them as malformed; otherwise every answer out of range and every required question
/// left unanswered is named (`symptoms.<key>`) at once.
pub fn check_answers(
    signs: &[Sign],
    day: i64,
    raw: &serde_json::Map<String, Value>,
) -> Result<CheckedAnswers, Refused> {
    let mut checked = CheckedAnswers::default();
    let mut errors = Vec::new();
    let named =
        |key: &str, message: &str| FieldError { field: format!("symptoms.{key}"), message: message.to_string() };
    for sign in signs {
        match (raw.get(&sign.key), sign.kind) {
            (None | Some(Value::Null), _) if sign.required => errors.push(named(&sign.key, "is required")),
            (None | Some(Value::Null), _) => {
                if sign.asked_on(day) {
                    checked.unanswered.push(sign.key.clone());
                }
            }
            (Some(Value::Bool(yes)), SignKind::YesNo) => {
                checked.answers.insert(sign.key.clone(), Answer::YesNo(*yes));
            }
            (Some(_), SignKind::YesNo) => return Err(Refused::WrongType(named(&sign.key, "must be true or false"))),
            (Some(Value::Number(n)), SignKind::Score) if whole_number(n).is_some() => {
                match whole_number(n).filter(|s| (0..=10).contains(s)) {
                    Some(score) => {
                        checked.answers.insert(sign.key.clone(), Answer::Score(score as i32));
                    }
                    None => errors.push(named(&sign.key, "must be an integer from 0 to 10")),
                }
            }
            (Some(_), SignKind::Score) => {
                return Err(Refused::WrongType(named(&sign.key, "must be an integer from 0 to 10")));
            }
        }
    }
    checked.unknown = raw.keys().filter(|key| !signs.iter().any(|s| &&s.key == key)).cloned().collect();
    if errors.is_empty() { Ok(checked) } else { Err(Refused::Invalid(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn signs() -> Vec<Sign> {
        let mut signs = core_signs();
        signs.push(Sign {
            key: "cold_sore_blisters".into(),
            kind: SignKind::YesNo,
            question: "Blisters?".into(),
            required: false,
            from_day: Some(1),
            to_day: Some(7),
        });
        signs
    }

    fn all_core(score: i64) -> Value {
        json!({ "redness": score, "swelling": 0, "pain": 0, "itching": 0, "peeling": 0,
                "bleeding": false, "pus": false, "fever": false, "hives": false, "darkening": false })
    }

    #[test]
    fn scores_are_integers_from_zero_to_ten() {
        for (sent, kept) in [(json!(0), Some(0)), (json!(10), Some(10)), (json!(4.0), Some(4))] {
            let mut body = all_core(0);
            body["redness"] = sent.clone();
            let checked = check_answers(&signs(), 1, &raw(body)).map(|c| c.answers["redness"]);
            assert_eq!(checked.ok(), kept.map(Answer::Score), "{sent}");
        }
        for sent in [json!(-1), json!(11)] {
            let mut body = all_core(0);
            body["redness"] = sent.clone();
            let Err(Refused::Invalid(errors)) = check_answers(&signs(), 1, &raw(body)) else { panic!("{sent}") };
            assert_eq!(errors[0].field, "symptoms.redness", "{sent}");
        }
        // The wrong JSON type is malformed input, as everywhere in the API.
        for sent in [json!(4.5), json!("4"), json!(true), json!([4])] {
            let mut body = all_core(0);
            body["redness"] = sent.clone();
            let Err(Refused::WrongType(error)) = check_answers(&signs(), 1, &raw(body)) else { panic!("{sent}") };
            assert_eq!(error.field, "symptoms.redness", "{sent}");
        }
    }

    #[test]
    fn optional_questions_left_unanswered_are_named_only_on_the_days_they_are_asked() {
        let checked = check_answers(&signs(), 7, &raw(all_core(1))).unwrap();
        assert_eq!(checked.unanswered, ["cold_sore_blisters"]);
        let checked = check_answers(&signs(), 8, &raw(all_core(1))).unwrap();
        assert!(checked.unanswered.is_empty());
        let mut body = all_core(1);
        body["cold_sore_blisters"] = json!(true);
        body["sneezing"] = json!(true);
        let checked = check_answers(&signs(), 30, &raw(body)).unwrap();
        assert_eq!(checked.answers["cold_sore_blisters"], Answer::YesNo(true), "kept on any day");
        assert_eq!(checked.unknown, ["sneezing"]);
    }

    #[test]
    fn every_missing_required_answer_is_named_at_once() {
        let Err(Refused::Invalid(errors)) = check_answers(&signs(), 1, &raw(json!({ "redness": 12, "pus": false })))
        else {
            panic!("refused")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields.len(), 9, "{fields:?}");
        assert!(fields.contains(&"symptoms.redness") && !fields.contains(&"symptoms.pus"));
    }
}
