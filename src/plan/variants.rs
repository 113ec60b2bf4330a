//! Procedure variants: changes to the base plan that a protocol applies to the treatments they
//! select by procedure, setting and treated areas (PRP, radiofrequency, at-home rollers, scalp).
//!
//! Selection: a variant's `when` names one or more of `procedures`, `settings` and `areas`; each one
//! named must hold (the treatment's procedure is listed, its setting is listed, at least one of its
//! areas is listed). Every variant that selects a treatment applies, in document order, to the base
//! plan: first its `drop_reminders` (by kind), then `replace_reminders` (same kind, in place), then
//! `add_reminders` (a new kind, after the others), then its phase edits (drop texts, then append
//! texts).
//!
//! Unambiguous by construction and by check: two variants selecting the same treatment may not
//! touch the same reminder kind or drop the same phase text, unless the later one is a
//! combination variant, whose `when` implies the earlier's (it selects only treatments the earlier
//! one selects too, e.g. PRP on the scalp after PRP and after scalp): then it is applied last and
//! its change is what the plan holds. `check()` resolves every combination of procedure, setting
//! and areas that the selectors can tell apart, and refuses a document where any of them is
//! ambiguous or yields a plan that would itself fail the protocol's checks.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::protocol::{Protocol, ReminderRule};
use crate::domain::{Area, Procedure, Setting};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Stable; shown with the plan.
    pub key: String,
    pub title: String,
    pub when: Selector,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_reminders: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_reminders: Vec<ReminderRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_reminders: Vec<ReminderRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseEdit>,
}

/// Which treatments a variant applies to: every part that is given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedures: Option<Vec<Procedure>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Vec<Setting>>,
    /// At least one of the treatment's areas is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub areas: Option<Vec<Area>>,
}

/// Texts of one phase to drop (exact texts of the base phase) and to append.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhaseEdit {
    pub key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_expect: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_care: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_expect: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_care: Vec<String>,
}

/// What a treatment was, as far as variants select on it.
#[derive(Debug, Clone, Copy)]
pub struct Treated<'a> {
    pub procedure: Procedure,
    pub setting: Setting,
    pub areas: &'a [Area],
}

impl Selector {
    pub fn selects(&self, t: Treated) -> bool {
        self.procedures.as_ref().is_none_or(|list| list.contains(&t.procedure))
            && self.settings.as_ref().is_none_or(|list| list.contains(&t.setting))
            && self.areas.as_ref().is_none_or(|list| t.areas.iter().any(|a| list.contains(a)))
    }

    /// Whether every treatment this selects is selected by `other` too.
    fn implies(&self, other: &Selector) -> bool {
        fn narrower<T: PartialEq>(mine: &Option<Vec<T>>, theirs: &Option<Vec<T>>) -> bool {
            match (mine, theirs) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(mine), Some(theirs)) => mine.iter().all(|x| theirs.contains(x)),
            }
        }
        narrower(&self.procedures, &other.procedures)
            && narrower(&self.settings, &other.settings)
            && narrower(&self.areas, &other.areas)
    }

    fn is_valid(&self) -> bool {
        let parts = [
            self.procedures.as_ref().map(Vec::len),
            self.settings.as_ref().map(Vec::len),
            self.areas.as_ref().map(Vec::len),
        ];
        parts.iter().any(Option::is_some) && parts.iter().flatten().all(|n| *n > 0)
    }
}

impl Variant {
    /// What it changes that another variant must not change too: reminder kinds, dropped texts.
    fn touches(&self) -> BTreeSet<String> {
        let kinds = self.drop_reminders.iter().cloned();
        let rules = self.replace_reminders.iter().chain(&self.add_reminders).map(|r| r.kind.clone());
        let texts = self.phases.iter().flat_map(|edit| {
            let expect = edit.drop_expect.iter().map(move |t| format!("phase {} expect: {t}", edit.key));
            let care = edit.drop_care.iter().map(move |t| format!("phase {} care: {t}", edit.key));
            expect.chain(care)
        });
        kinds.chain(rules).map(|k| format!("reminder {k}")).chain(texts).collect()
    }

    fn is_empty(&self) -> bool {
        self.drop_reminders.is_empty()
            && self.replace_reminders.is_empty()
            && self.add_reminders.is_empty()
            && self.phases.is_empty()
    }
}

impl std::fmt::Display for Treated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let areas: Vec<&str> = self.areas.iter().map(|a| a.as_str()).collect();
        write!(f, "{} {} on {}", self.procedure, self.setting, areas.join("+"))
    }
}

impl Protocol {
    /// The variants that apply to a treatment, in the order they apply.
    pub fn variants_for(&self, t: Treated) -> Vec<&Variant> {
        self.variants.iter().filter(|v| v.when.selects(t)).collect()
    }

    /// The protocol a treatment is planned with: this one with its variants for the treatment
    /// applied (itself, without variants, when none applies).
    pub fn for_treatment(&self, t: Treated) -> Result<Protocol, String> {
        self.apply(&self.variants_for(t))
    }

    fn apply(&self, chosen: &[&Variant]) -> Result<Protocol, String> {
        // A plan of a document with variants no longer has all the document's texts, so it drops
        // their translations: translate the document (`localized`) before applying its variants.
        let translations = if self.variants.is_empty() { self.translations.clone() } else { Default::default() };
        let mut plan = Protocol { variants: Vec::new(), translations, ..self.clone() };
        for variant in chosen {
            let key = &variant.key;
            let position = |plan: &Protocol, kind: &str| plan.reminders.iter().position(|r| r.kind == kind);
            for kind in &variant.drop_reminders {
                let at = position(&plan, kind).ok_or_else(|| format!("variant {key} drops {kind}, not in the plan"))?;
                plan.reminders.remove(at);
            }
            for rule in &variant.replace_reminders {
                let kind = &rule.kind;
                let at =
                    position(&plan, kind).ok_or_else(|| format!("variant {key} replaces {kind}, not in the plan"))?;
                plan.reminders[at] = rule.clone();
            }
            for rule in &variant.add_reminders {
                if position(&plan, &rule.kind).is_some() {
                    return Err(format!("variant {key} adds {}, already in the plan", rule.kind));
                }
                plan.reminders.push(rule.clone());
            }
            for edit in &variant.phases {
                let phase = plan
                    .phases
                    .iter_mut()
                    .find(|p| p.key == edit.key)
                    .ok_or_else(|| format!("variant {key} edits phase {}, not in the plan", edit.key))?;
                for (texts, drops) in [(&mut phase.expect, &edit.drop_expect), (&mut phase.care, &edit.drop_care)] {
                    for text in drops {
                        let at = texts
                            .iter()
                            .position(|t| t == text)
                            .ok_or_else(|| format!("variant {key} drops a text not in phase {}: {text}", edit.key))?;
                        texts.remove(at);
                    }
                }
                phase.expect.extend(edit.add_expect.iter().cloned());
                phase.care.extend(edit.add_care.iter().cloned());
            }
        }
        Ok(plan)
    }

    /// Variants are well formed, and every treatment gets an unambiguous, valid plan.
    pub(crate) fn check_variants(&self) -> Result<(), String> {
        let mut keys = BTreeSet::new();
        for variant in &self.variants {
            if variant.key.is_empty() || !keys.insert(variant.key.as_str()) {
                return Err(format!("variant key `{}` is empty or appears twice", variant.key));
            }
            if !variant.when.is_valid() {
                return Err(format!("variant {} must select by at least one non-empty list", variant.key));
            }
            if variant.is_empty() {
                return Err(format!("variant {} changes nothing", variant.key));
            }
        }
        for t in self.distinct_treatments().iter().map(|(p, s, areas)| Treated { procedure: *p, setting: *s, areas }) {
            let chosen = self.variants_for(t);
            for (i, later) in chosen.iter().enumerate() {
                for earlier in &chosen[..i] {
                    let shared: Vec<String> = later.touches().intersection(&earlier.touches()).cloned().collect();
                    if !shared.is_empty() && !later.when.implies(&earlier.when) {
                        return Err(format!(
                            "variants {} and {} both change {} for {t}: only a later variant whose selection \
                             implies the earlier one's (a combination) may",
                            earlier.key,
                            later.key,
                            shared.join(", ")
                        ));
                    }
                }
            }
            let plan = self.apply(&chosen).map_err(|e| format!("{e} (for {t})"))?;
            plan.check().map_err(|e| format!("the plan for {t}: {e}"))?;
        }
        Ok(())
    }

    /// One treatment of each kind the variants can tell apart: every procedure and setting, with
    /// every non-empty set of the areas the selectors name plus one area none names.
    fn distinct_treatments(&self) -> Vec<(Procedure, Setting, Vec<Area>)> {
        if self.variants.is_empty() {
            return Vec::new();
        }
        let mut named: Vec<Area> = Vec::new();
        for area in self.variants.iter().filter_map(|v| v.when.areas.as_ref()).flatten() {
            if !named.contains(area) {
                named.push(*area);
            }
        }
        if let Some(other) = Area::ALL.iter().find(|a| !named.contains(a)) {
            named.push(*other);
        }
        let subsets: Vec<Vec<Area>> = (1..1u32 << named.len())
            .map(|bits| named.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, a)| *a).collect())
            .collect();
        let mut all = Vec::new();
        for procedure in Procedure::ALL {
            for setting in Setting::ALL {
                for areas in &subsets {
                    all.push((*procedure, *setting, areas.clone()));
                }
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::protocol::{STANDARD_V1, STANDARD_V2};

    fn v2() -> Protocol {
        Protocol::parse(STANDARD_V2).unwrap()
    }

    fn treated(procedure: Procedure, setting: Setting, areas: &[Area]) -> Treated<'_> {
        Treated { procedure, setting, areas }
    }

    fn keys(p: &Protocol, t: Treated) -> Vec<String> {
        p.variants_for(t).iter().map(|v| v.key.clone()).collect()
    }

    #[test]
    fn v1_has_no_variants_and_plans_every_treatment_alike() {
        let v1 = Protocol::parse(STANDARD_V1).unwrap();
        assert!(v1.variants.is_empty());
        let t = treated(Procedure::MicroneedlingPrp, Setting::AtHome, &[Area::Scalp]);
        assert_eq!(v1.for_treatment(t).unwrap(), v1);
    }

    #[test]
    fn selection_follows_procedure_setting_and_areas() {
        let p = v2();
        use Area::*;
        use Procedure::*;
        use Setting::*;
        assert!(keys(&p, treated(Microneedling, InOffice, &[Face, Neck])).is_empty());
        assert_eq!(keys(&p, treated(MicroneedlingPrp, InOffice, &[Face])), ["prp"]);
        assert_eq!(keys(&p, treated(RfMicroneedling, InOffice, &[Face])), ["rf"]);
        assert_eq!(keys(&p, treated(Microneedling, AtHome, &[Face])), ["at_home"]);
        assert_eq!(keys(&p, treated(Microneedling, InOffice, &[Face, Scalp])), ["scalp"]);
        assert_eq!(keys(&p, treated(MicroneedlingPrp, InOffice, &[Scalp])), ["prp", "scalp", "prp_scalp"]);
    }

    fn broken(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut doc: serde_json::Value = serde_json::from_str(STANDARD_V2).unwrap();
        edit(&mut doc);
        Protocol::parse(&doc.to_string()).unwrap_err()
    }

    fn doc_rule(kind: &str) -> serde_json::Value {
        let doc: serde_json::Value = serde_json::from_str(STANDARD_V2).unwrap();
        doc["reminders"].as_array().unwrap().iter().find(|r| r["kind"] == kind).unwrap().clone()
    }

    #[test]
    fn ambiguous_or_broken_variants_are_refused() {
        // Scalp and home-roller plans would both have a say on the cool compress.
        let err = broken(|doc| {
            let variants = doc["variants"].as_array_mut().unwrap();
            let scalp = variants.iter_mut().find(|v| v["key"] == "scalp").unwrap();
            let mut rule = doc_rule("cool_compress");
            rule["day_to"] = 4.into();
            scalp["replace_reminders"] = serde_json::json!([rule]);
        });
        assert!(err.contains("both change reminder cool_compress"), "{err}");
        // A combination placed before the variants it refines is refused too.
        let err = broken(|doc| {
            let variants = doc["variants"].as_array_mut().unwrap();
            let combination = variants.pop().unwrap();
            variants.insert(0, combination);
        });
        assert!(err.contains("prp_scalp"), "{err}");
        let err = broken(|doc| doc["variants"][0]["when"] = serde_json::json!({}));
        assert!(err.contains("at least one"), "{err}");
        let err = broken(|doc| doc["variants"][0]["when"] = serde_json::json!({ "areas": [] }));
        assert!(err.contains("at least one"), "{err}");
        let err = broken(|doc| doc["variants"][1]["key"] = doc["variants"][0]["key"].clone());
        assert!(err.contains("twice"), "{err}");
        let err = broken(|doc| doc["variants"][0]["replace_reminders"][0]["kind"] = "nonexistent".into());
        assert!(err.contains("nonexistent"), "{err}");
        let err = broken(|doc| doc["variants"][0]["add_reminders"][0]["day_to"] = 91.into());
        assert!(err.contains("outside the plan"), "{err}");
        let err = broken(|doc| doc["variants"][0]["add_reminders"][0]["kind"] = "sunscreen".into());
        assert!(err.contains("already in the plan"), "{err}");
        let err = broken(|doc| doc["variants"][0]["phases"][0]["key"] = "week_9".into());
        assert!(err.contains("week_9"), "{err}");
        let err = broken(|doc| doc["variants"][0]["when"]["procedures"] = serde_json::json!(["laser"]));
        assert!(err.contains("laser"), "{err}");
    }

    /// The reminder kinds of each day 1-15 of a treatment's plan, compared with the base plan's:
    /// (day, kinds added, kinds gone).
    fn differences(t: Treated) -> Vec<(i64, Vec<String>, Vec<String>)> {
        let base = v2();
        let plan = base.for_treatment(t).unwrap();
        let who = crate::plan::Personal { skin_type: crate::domain::SkinType::Normal, fitzpatrick: 2 };
        let on = |p: &Protocol, day| -> Vec<String> {
            p.reminders.iter().filter(|r| r.applies(day, who)).map(|r| r.kind.clone()).collect()
        };
        (1..=15)
            .filter_map(|day| {
                let (before, after) = (on(&base, day), on(&plan, day));
                let added: Vec<String> = after.iter().filter(|k| !before.contains(k)).cloned().collect();
                let gone: Vec<String> = before.iter().filter(|k| !after.contains(k)).cloned().collect();
                (!added.is_empty() || !gone.is_empty()).then_some((day, added, gone))
            })
            .collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_variant_changes_its_days() {
        use Area::*;
        use Procedure::*;
        use Setting::*;
        let day = |d, added: &[&str], gone: &[&str]| (d, strings(added), strings(gone));
        // PRP: a no-washing reminder on day 1; the cool compress runs to day 3.
        assert_eq!(
            differences(treated(MicroneedlingPrp, InOffice, &[Face])),
            [day(1, &["prp_no_wash"], &[]), day(3, &["cool_compress"], &[])]
        );
        // Radiofrequency: heat care on days 1-3; heat avoided through day 14, so saunas and pools
        // come back on day 15, not day 8.
        let mut rf =
            vec![day(1, &["rf_heat_care"], &[]), day(2, &["rf_heat_care"], &[]), day(3, &["rf_heat_care"], &[])];
        rf.push(day(8, &["avoid_heat"], &["may_resume_pools_and_saunas"]));
        rf.extend((9..=14).map(|d| day(d, &["avoid_heat"], &[])));
        rf.push(day(15, &["may_resume_pools_and_saunas"], &[]));
        assert_eq!(differences(treated(RfMicroneedling, InOffice, &[Face])), rf);
        // Home roller: hygiene on day 1, an infection watch on days 1-3, no cool compress.
        assert_eq!(
            differences(treated(Microneedling, AtHome, &[Face])),
            [
                day(1, &["roller_hygiene", "infection_watch"], &["cool_compress"]),
                day(2, &["infection_watch"], &["cool_compress"]),
                day(3, &["infection_watch"], &[]),
            ]
        );
        // Scalp: no hair washing on day 1, gentle scalp care on days 2-7, whatever else was treated.
        let mut scalp = vec![day(1, &["scalp_no_wash"], &[])];
        scalp.extend((2..=7).map(|d| day(d, &["scalp_care"], &[])));
        assert_eq!(differences(treated(Microneedling, InOffice, &[Scalp])), scalp);
        assert_eq!(differences(treated(Microneedling, InOffice, &[Face, Scalp])), scalp);
        // PRP on the scalp: one no-washing reminder (the combination's), the PRP compress, scalp care.
        let mut both = vec![day(1, &["scalp_no_wash"], &[])];
        both.extend(
            (2..=7).map(|d| day(d, if d == 3 { &["cool_compress", "scalp_care"][..] } else { &["scalp_care"] }, &[])),
        );
        assert_eq!(differences(treated(MicroneedlingPrp, InOffice, &[Scalp])), both);
        let plan = v2().for_treatment(treated(MicroneedlingPrp, InOffice, &[Scalp])).unwrap();
        let no_wash = plan.reminders.iter().find(|r| r.kind == "scalp_no_wash").unwrap();
        assert!(no_wash.body.contains("PRP"), "the combination's text wins");
        // Standard in-office microneedling of the face: the base plan exactly.
        let standard = v2().for_treatment(treated(Microneedling, InOffice, &[Face, Neck])).unwrap();
        assert!(standard.reminders == v2().reminders && standard.phases == v2().phases);
    }

    #[test]
    fn variants_edit_phase_texts() {
        use Area::*;
        use Procedure::*;
        use Setting::*;
        let base = v2();
        let texts = |t: Treated, key: &str| {
            let plan = base.for_treatment(t).unwrap();
            let phase = plan.phases.iter().find(|p| p.key == key).unwrap().clone();
            (phase.expect, phase.care)
        };
        let (base_expect, base_care) = texts(treated(Microneedling, InOffice, &[Face]), "days_1_2");
        let (expect, care) = texts(treated(MicroneedlingPrp, InOffice, &[Face]), "days_1_2");
        assert_eq!(expect.len(), base_expect.len() + 1);
        assert!(expect.last().unwrap().contains("PRP"));
        assert_eq!(care.len(), base_care.len() + 1);
        let (expect, _) = texts(treated(RfMicroneedling, InOffice, &[Face]), "days_3_7");
        assert!(expect.last().unwrap().contains("grid"));
        let (expect, care) = texts(treated(Microneedling, AtHome, &[Face]), "days_1_2");
        assert!(!expect.iter().any(|t| t.contains("puffiness")), "the swelling text is dropped");
        assert!(expect.iter().any(|t| t.contains("home roller")));
        assert!(care.iter().any(|t| t.contains("roller")));
        let (_, care) = texts(treated(MicroneedlingPrp, InOffice, &[Scalp]), "days_1_2");
        assert!(care.iter().any(|t| t.contains("scalp")) && care.iter().any(|t| t.contains("raised")));
        // Later phases are untouched.
        assert_eq!(
            texts(treated(RfMicroneedling, AtHome, &[Scalp]), "weeks_2_4"),
            texts(treated(Microneedling, InOffice, &[Face]), "weeks_2_4")
        );
    }
}
