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

        let allergy = screen(&protocol, &answers(&["numbing_allergy"]));
        assert!(allergy.eligible);
        assert_eq!(allergy.cautions[0].code, "numbing_allergy");

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
}
