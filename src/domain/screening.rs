//! A screening before treatment, as staff fill it in.

use std::collections::BTreeMap;

/// Every screening question with its yes/no answer, by question code.
pub struct ScreeningAnswerSheet {
    pub answers: BTreeMap<String, bool>,
}
