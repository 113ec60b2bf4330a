//! What a patient reports in a check-in, and what a clinician adds when reviewing one.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use crate::error::FieldError;

/// A check-in as the patient sent it: the answers to the symptom questions, and the secondary
/// fields that were valid on their own, with those that were not in `ignored`. The answers are
/// checked against the questions of the treatment's protocol, and the date and the adherence
/// answers against its plan, once the plan is loaded; a secondary field that does not fit is
/// ignored too, never a reason to lose the symptoms.
pub struct CheckInReport {
    /// `None`: today in the patient's zone.
    pub local_date: Option<NaiveDate>,
    /// The answers by sign key, as sent.
    pub symptoms: serde_json::Map<String, Value>,
    pub adherence: BTreeMap<String, bool>,
    pub notes: Option<String>,
    /// The secondary fields left out, each with why (never with the value sent).
    pub ignored: Vec<FieldError>,
}

/// A clinician's review of a check-in.
pub struct Review {
    pub note: Option<String>,
}
