//! Screening before treatment: contraindications bar it, cautions are to be discussed.

use std::collections::BTreeMap;

use super::protocol::{Finding, Protocol};

#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningOutcome<'a> {
    pub eligible: bool,
    pub contraindications: Vec<&'a Finding>,
    pub cautions: Vec<&'a Finding>,
}

/// `answers` maps each question of the protocol to yes (true) or no.
pub fn screen<'a>(protocol: &'a Protocol, answers: &BTreeMap<String, bool>) -> ScreeningOutcome<'a> {
    let yes = |f: &&Finding| answers.get(&f.answer).copied().unwrap_or(false);
    let contraindications: Vec<_> = protocol.screening.contraindications.iter().filter(yes).collect();
    let cautions = protocol.screening.cautions.iter().filter(yes).collect();
    ScreeningOutcome { eligible: contraindications.is_empty(), contraindications, cautions }
}

/// The answers `protocol` asks for, taken from `given`: every question it asks must be answered
/// (the error lists the unanswered ones, in the document's order); answers to questions it does
/// not ask are left out of the record.
pub fn answers_for(protocol: &Protocol, given: &BTreeMap<String, bool>) -> Result<BTreeMap<String, bool>, Vec<String>> {
    let asked = protocol.screening_answers();
    let missing: Vec<String> = asked.iter().filter(|q| !given.contains_key(**q)).map(|q| q.to_string()).collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(asked.into_iter().map(|q| (q.to_string(), given[q])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(yes: &[&str]) -> BTreeMap<String, bool> {
        Protocol::standard().screening_answers().into_iter().map(|a| (a.to_string(), yes.contains(&a))).collect()
    }

    #[test]
    fn contraindications_bar_and_cautions_do_not() {
        let protocol = Protocol::standard();
        let clear = screen(&protocol, &answers(&[]));
        assert!(clear.eligible && clear.contraindications.is_empty() && clear.cautions.is_empty());

        for caution in ["numbing_allergy", "metal_allergy", "cold_sores"] {
            let outcome = screen(&protocol, &answers(&[caution]));
            assert!(outcome.eligible, "{caution}");
            assert_eq!(outcome.cautions.len(), 1, "{caution}");
            assert_eq!(outcome.cautions[0].answer, caution);
        }
        let cold_sores = screen(&protocol, &answers(&["cold_sores"]));
        assert!(cold_sores.cautions[0].message.contains("antiviral"));

        for bar in [
            "active_acne",
            "eczema",
            "psoriasis",
            "other_inflammatory",
            "bleeding_disorder",
            "blood_thinners",
            "keloids",
            "immunocompromised",
            "pregnant_or_breastfeeding",
            "isotretinoin",
            "skin_infection",
            "sunburn",
        ] {
            let outcome = screen(&protocol, &answers(&[bar]));
            assert!(!outcome.eligible, "{bar}");
            assert_eq!(outcome.contraindications.len(), 1, "{bar}");
        }
        let two = screen(&protocol, &answers(&["eczema", "keloids", "numbing_allergy"]));
        let codes: Vec<_> = two.contraindications.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["eczema", "keloids"]);
        assert_eq!(two.cautions.len(), 1);
    }

    #[test]
    fn every_question_the_protocol_asks_must_be_answered() {
        let v2 = Protocol::standard();
        let v1 = Protocol::parse(crate::plan::protocol::STANDARD_V1).unwrap();
        let mut v1_sheet = answers(&[]);
        for new in ["isotretinoin", "skin_infection", "sunburn", "metal_allergy", "cold_sores"] {
            v1_sheet.remove(new);
        }
        assert_eq!(answers_for(&v1, &v1_sheet).unwrap(), v1_sheet);
        let missing = answers_for(&v2, &v1_sheet).unwrap_err();
        assert_eq!(missing, ["isotretinoin", "skin_infection", "sunburn", "metal_allergy", "cold_sores"]);
        // A v2 sheet judged by v1 keeps only what v1 asks.
        assert_eq!(answers_for(&v1, &answers(&[])).unwrap(), v1_sheet);
    }
}
