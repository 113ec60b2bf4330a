//! What a patient reports in a check-in, and what a clinician adds when reviewing one.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::error::FieldError;
use crate::plan::assessment::Symptoms;

/// A check-in as the patient sent it: the symptoms (always valid: without them there is no
/// check-in) and the secondary fields that were valid on their own, with those that were not in
/// `ignored`. Whether the date and the adherence answers fit the treatment's plan is decided once
/// the plan is loaded; what does not fit is ignored too, never a reason to lose the symptoms.
pub struct CheckInReport {
    /// `None`: today in the patient's zone.
    pub local_date: Option<NaiveDate>,
    pub symptoms: Symptoms,
    pub adherence: BTreeMap<String, bool>,
    pub notes: Option<String>,
    /// The secondary fields left out, each with why (never with the value sent).
    pub ignored: Vec<FieldError>,
}

/// A clinician's review of a check-in.
pub struct Review {
    pub note: Option<String>,
}

/// A symptom's severity, 0 (none) to 10 (worst).
pub fn parse_score(raw: i64) -> Result<i32, String> {
    if (0..=10).contains(&raw) { Ok(raw as i32) } else { Err("must be an integer from 0 to 10".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_zero_to_ten() {
        assert_eq!(parse_score(0), Ok(0));
        assert_eq!(parse_score(10), Ok(10));
        assert!(parse_score(-1).is_err() && parse_score(11).is_err());
    }
}
