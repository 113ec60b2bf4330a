//! A protocol's texts in other languages. Every English text of a document has an address, a
//! stable path built from the document's keys (`phase.days_1_2.care.0`, `reminder.sunscreen.body`,
//! `variant.prp.reminder.prp_no_wash.title`, `screening.eczema.question`, `rule.pus.message`); a
//! translation maps every address to its text in one language. Keys (kinds, codes, phase keys,
//! signs, answers) are never translated: a protocol in another language plans exactly the same.

use std::collections::{BTreeMap, HashSet};

use super::protocol::{Protocol, ReminderRule};
use crate::language::Language;

impl Protocol {
    /// Every (address, English text) of the document, in document order.
    pub fn texts(&self) -> Vec<(String, String)> {
        let mut texts = Vec::new();
        self.clone().walk_texts(&mut |address, text| texts.push((address, text.clone())));
        texts
    }

    /// Calls `f` with the address and the text of every translatable text, in document order.
    fn walk_texts(&mut self, f: &mut dyn FnMut(String, &mut String)) {
        f("title".into(), &mut self.title);
        for phase in &mut self.phases {
            let key = &phase.key;
            f(format!("phase.{key}.title"), &mut phase.title);
            for (i, text) in phase.expect.iter_mut().enumerate() {
                f(format!("phase.{key}.expect.{i}"), text);
            }
            for (i, text) in phase.care.iter_mut().enumerate() {
                f(format!("phase.{key}.care.{i}"), text);
            }
        }
        fn reminder(prefix: &str, rule: &mut ReminderRule, f: &mut dyn FnMut(String, &mut String)) {
            f(format!("{prefix}reminder.{}.title", rule.kind), &mut rule.title);
            f(format!("{prefix}reminder.{}.body", rule.kind), &mut rule.body);
        }
        for rule in &mut self.reminders {
            reminder("", rule, f);
        }
        for variant in &mut self.variants {
            let prefix = format!("variant.{}.", variant.key);
            f(format!("{prefix}title"), &mut variant.title);
            for rule in variant.replace_reminders.iter_mut().chain(&mut variant.add_reminders) {
                reminder(&prefix, rule, f);
            }
            for edit in &mut variant.phases {
                for (i, text) in edit.add_expect.iter_mut().enumerate() {
                    f(format!("{prefix}phase.{}.expect.{i}", edit.key), text);
                }
                for (i, text) in edit.add_care.iter_mut().enumerate() {
                    f(format!("{prefix}phase.{}.care.{i}", edit.key), text);
                }
            }
        }
        for finding in self.screening.contraindications.iter_mut().chain(&mut self.screening.cautions) {
            if !finding.question.is_empty() {
                f(format!("screening.{}.question", finding.answer), &mut finding.question);
            }
            f(format!("screening.{}.message", finding.answer), &mut finding.message);
        }
        for sign in &mut self.assessment.signs {
            f(format!("sign.{}.question", sign.key), &mut sign.question);
        }
        for rule in &mut self.assessment.rules {
            f(format!("rule.{}.message", rule.code), &mut rule.message);
        }
    }

    /// Whether the document has its texts in `language` (English always).
    pub fn speaks(&self, language: Language) -> bool {
        language == Language::En || self.translations.contains_key(language.as_str())
    }

    /// The language the document answers in when asked for `language`: it, or English when the
    /// document has no translation to it.
    pub fn answers_in(&self, language: Language) -> Language {
        if self.speaks(language) { language } else { Language::En }
    }

    /// The document in `language`: every text replaced by its translation, every key, day and
    /// rule unchanged, and no `translations` (the result speaks one language). In English, or in a
    /// language the document has no translation to, the document itself.
    pub fn localized(&self, language: Language) -> Protocol {
        let Some(translation) = self.translations.get(language.as_str()).filter(|_| language != Language::En) else {
            return self.clone();
        };
        let mut localized = Protocol { translations: BTreeMap::new(), ..self.clone() };
        localized.walk_texts(&mut |address, text| {
            if let Some(translated) = translation.get(&address) {
                *text = translated.clone();
            }
        });
        // A variant drops phase texts by their exact (English) text: drop their translations.
        for (v, variant) in self.variants.iter().enumerate() {
            for (e, edit) in variant.phases.iter().enumerate() {
                let translate = |english: &String, expect: bool| -> String {
                    let pick = |p: &Protocol| -> Vec<String> {
                        let base = p.phases.iter().filter(|ph| ph.key == edit.key);
                        let base = base.flat_map(|ph| if expect { ph.expect.clone() } else { ph.care.clone() });
                        let added = p.variants.iter().flat_map(|v| &v.phases).filter(|ed| ed.key == edit.key);
                        base.chain(
                            added.flat_map(|ed| if expect { ed.add_expect.clone() } else { ed.add_care.clone() }),
                        )
                        .collect()
                    };
                    let (english_texts, translated_texts) = (pick(self), pick(&localized));
                    let at = english_texts.iter().position(|t| t == english);
                    at.and_then(|i| translated_texts.get(i).cloned()).unwrap_or_else(|| english.clone())
                };
                let expect: Vec<String> = edit.drop_expect.iter().map(|t| translate(t, true)).collect();
                let care: Vec<String> = edit.drop_care.iter().map(|t| translate(t, false)).collect();
                let target = &mut localized.variants[v].phases[e];
                target.drop_expect = expect;
                target.drop_care = care;
            }
        }
        localized
    }

    /// Every translation is complete (each address of the document has a text that is not
    /// empty), names only addresses the document has, and is to a language the API serves.
    pub(crate) fn check_translations(&self) -> Result<(), String> {
        if self.translations.is_empty() {
            return Ok(());
        }
        let texts = self.texts();
        let mut addresses = HashSet::new();
        for (address, _) in &texts {
            if !addresses.insert(address.as_str()) {
                return Err(format!(
                    "text address `{address}` appears twice: a translated document needs unique kinds, keys and codes"
                ));
            }
        }
        for (language, translation) in &self.translations {
            let known = Language::parse(language).filter(|l| *l != Language::En);
            if known.is_none() {
                let served: Vec<&str> = Language::TRANSLATED.iter().map(|l| l.as_str()).collect();
                return Err(format!("translations.{language}: translations may be to {} only", served.join(", ")));
            }
            for (address, _) in &texts {
                match translation.get(address) {
                    None => return Err(format!("translations.{language} lacks the text `{address}`")),
                    Some(text) if text.trim().is_empty() => {
                        return Err(format!("translations.{language}: the text `{address}` is empty"));
                    }
                    Some(_) => {}
                }
            }
            if let Some(unknown) = translation.keys().find(|a| !addresses.contains(a.as_str())) {
                return Err(format!("translations.{language} names `{unknown}`, which is not a text of this document"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Area, Procedure, Setting};
    use crate::plan::protocol::STANDARD_VERSIONS;
    use crate::plan::variants::Treated;

    /// Texts that may read the same in both languages: none so far (an entry here needs a reason).
    const SAME_IN_BOTH: &[&str] = &[];

    #[test]
    fn every_text_of_every_shipped_version_is_in_spanish() {
        for document in STANDARD_VERSIONS {
            let protocol = Protocol::parse(document).unwrap();
            let spanish = &protocol.translations["es"];
            let texts = protocol.texts();
            assert_eq!(texts.len(), spanish.len(), "v{}: one translation per text", protocol.version);
            for (address, english) in texts {
                let translated = spanish.get(&address).unwrap_or_else(|| panic!("v{}: {address}", protocol.version));
                assert!(!translated.trim().is_empty(), "{address}");
                if !SAME_IN_BOTH.contains(&address.as_str()) {
                    assert_ne!(translated, &english, "v{}: {address} is not translated", protocol.version);
                }
            }
        }
    }

    #[test]
    fn addresses_follow_the_documents_keys() {
        let v2 = Protocol::standard();
        let addresses: Vec<String> = v2.texts().into_iter().map(|(a, _)| a).collect();
        for expected in [
            "title",
            "phase.days_1_2.title",
            "phase.days_1_2.expect.0",
            "phase.months_2_3.care.1",
            "reminder.sunscreen.body",
            "reminder.may_book_next_session.title",
            "variant.prp.title",
            "variant.prp.reminder.cool_compress.body",
            "variant.rf.phase.days_3_7.expect.0",
            "variant.at_home.phase.days_1_2.care.0",
            "screening.eczema.question",
            "screening.cold_sores.message",
            "rule.possible_infection_pus.message",
            "sign.cold_sore_blisters.question",
        ] {
            assert!(addresses.iter().any(|a| a == expected), "{expected}");
        }
        let v1 = Protocol::parse(crate::plan::protocol::STANDARD_V1).unwrap();
        assert!(
            !v1.texts().iter().any(|(a, _)| a.starts_with("screening.") && a.ends_with(".question")),
            "v1 has no screening questions"
        );
        let v1_signs = v1.texts().iter().filter(|(a, _)| a.starts_with("sign.")).count();
        assert_eq!(v1_signs, 10, "v1 asks the ten core signs");
    }

    /// Spanish changes every text and nothing else: the same kinds, codes, keys, days and rules,
    /// for the base plan and for every variant's plan.
    #[test]
    fn a_localized_protocol_plans_the_same() {
        for document in STANDARD_VERSIONS {
            let english = Protocol::parse(document).unwrap();
            let spanish = english.localized(Language::Es);
            assert!(spanish.translations.is_empty());
            assert_eq!(english.localized(Language::En), english);
            let blanked = |p: &Protocol| {
                let mut p = Protocol { translations: BTreeMap::new(), ..p.clone() };
                p.walk_texts(&mut |_, text| text.clear());
                for edit in p.variants.iter_mut().flat_map(|v| &mut v.phases) {
                    edit.drop_expect.iter_mut().chain(&mut edit.drop_care).for_each(String::clear);
                }
                p
            };
            assert_eq!(blanked(&spanish), blanked(&english));
            let spanish_texts: Vec<_> = spanish.texts();
            for ((address, en), (same_address, es)) in english.texts().iter().zip(&spanish_texts) {
                assert_eq!(address, same_address);
                assert_ne!(en, es, "{address}");
            }
            for procedure in [Procedure::Microneedling, Procedure::MicroneedlingPrp, Procedure::RfMicroneedling] {
                for setting in [Setting::InOffice, Setting::AtHome] {
                    for areas in [&[Area::Face][..], &[Area::Scalp], &[Area::Face, Area::Scalp]] {
                        let t = Treated { procedure, setting, areas };
                        let (en, es) = match (english.for_treatment(t), spanish.for_treatment(t)) {
                            (Ok(en), Ok(es)) => (en, es),
                            (Err(_), Err(_)) => continue,
                            (en, es) => panic!("{t}: {:?} in English, {:?} in Spanish", en.err(), es.err()),
                        };
                        let shape = |p: &Protocol| {
                            let phases: Vec<_> =
                                p.phases.iter().map(|ph| (ph.key.clone(), ph.expect.len(), ph.care.len())).collect();
                            let kinds: Vec<_> =
                                p.reminders.iter().map(|r| (r.kind.clone(), r.day_from, r.day_to)).collect();
                            (phases, kinds)
                        };
                        assert_eq!(shape(&en), shape(&es), "{t}");
                        let english_texts: Vec<_> = en.phases.iter().flat_map(|p| p.expect.clone()).collect();
                        assert!(es.phases.iter().flat_map(|p| &p.expect).all(|t| !english_texts.contains(t)), "{t}");
                    }
                }
            }
        }
    }

    #[test]
    fn incomplete_unknown_or_empty_translations_are_refused_naming_the_address() {
        type Edit = fn(&mut BTreeMap<String, String>);
        let cases: [(Edit, &str); 3] = [
            (|t| drop(t.remove("phase.days_3_7.care.1")), "lacks the text `phase.days_3_7.care.1`"),
            (|t| drop(t.insert("reminder.glow.title".into(), "Brillo".into())), "names `reminder.glow.title`"),
            (|t| drop(t.insert("rule.pain_severe.message".into(), " ".into())), "`rule.pain_severe.message` is empty"),
        ];
        for (edit, expected) in cases {
            let mut p = Protocol::standard();
            edit(p.translations.get_mut("es").unwrap());
            let error = p.check().unwrap_err();
            assert!(error.contains(expected), "{expected}: {error}");
        }
        let mut p = Protocol::standard();
        let spanish = p.translations["es"].clone();
        p.translations.insert("fr".into(), spanish);
        assert!(p.check().unwrap_err().contains("translations.fr"));
        let mut english_only = Protocol::standard();
        english_only.translations.clear();
        english_only.check().unwrap();
        assert!(!english_only.speaks(Language::Es));
        assert_eq!(english_only.answers_in(Language::Es), Language::En);
        assert_eq!(english_only.localized(Language::Es), english_only);
    }
}
