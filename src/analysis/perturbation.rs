//! Robustness to evasion: the system's decision on each variant made by
//! `[perturb]` against its decision on the original, for pairs where both were
//! decided.
//!
//! - Evasion rate (violating originals): of the originals that met adverse
//!   action, the share whose variant did not — the edit got the post through.
//! - Instability rate (protected originals): the share of pairs decided
//!   differently; an edit that keeps the meaning should change nothing.
//! - Directional check (a violating post quoted to condemn it, which is
//!   protected counter-speech): a violation is a quotation that met adverse
//!   action while the post itself did not — the counter-speech treated more
//!   harshly than the hate it quotes.
//!
//! Each rate comes per transform, overall and per primary language of the
//! originals, with its Wilson interval and n. Pairs of one original are not
//! independent across transforms, so rates of different transforms are not
//! pooled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Observation, rate_with_interval};
use crate::corpus::Label;
use crate::corpus::perturb::{Transform, primary_language};
use crate::sym::{Sym, SymMap};

/// Most examples of directional violations kept.
pub const MAX_EXAMPLES: usize = 20;

/// How the system's decisions held up under the edits of `[perturb]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Perturbation {
    /// Per transform with violating originals: the evasion rate.
    pub evasion: Vec<TransformRates>,
    /// Per transform with protected originals: the instability rate.
    pub instability: Vec<TransformRates>,
    /// The quoted-to-condemn check, when its variants were made.
    pub directional: Option<Directional>,
}

/// One transform's rate, overall and per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TransformRates {
    pub transform: Transform,
    pub overall: PairRate,
    pub by_language: Vec<LanguageRate>,
}

/// A rate over pairs of an original and its variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PairRate {
    /// Pairs whose original and variant were both decided.
    pub pairs: u64,
    /// The pairs the rate is of: for evasion, those whose original met adverse
    /// action; otherwise every pair.
    pub n: u64,
    /// Of those, the evasions, the changed decisions, or the quotations
    /// treated more harshly than their post.
    pub count: u64,
    pub rate: Option<f64>,
    /// Wilson interval of the rate.
    pub ci: Option<[f64; 2]>,
    /// Pairs in which only the variant met adverse action.
    pub variant_only_adverse: u64,
    /// Pairs in which both met adverse action.
    pub both_adverse: u64,
}

/// A rate for the originals of one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LanguageRate {
    /// Primary language subtag of the originals.
    pub language: String,
    #[serde(flatten)]
    pub rate: PairRate,
}

/// The directional check: quotations treated more harshly than their post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Directional {
    pub transform: Transform,
    #[serde(flatten)]
    pub overall: PairRate,
    pub by_language: Vec<LanguageRate>,
    /// Violations: the quotation met adverse action, the post did not (at most
    /// [`MAX_EXAMPLES`], in case order).
    pub examples: Vec<DirectionalExample>,
}

/// A quotation met adverse action while the post it condemns did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DirectionalExample {
    /// The violating post.
    pub original: String,
    /// The counter-speech quoting it.
    pub variant: String,
    pub language: String,
}

/// Which comparison a pair belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Measure {
    Evasion,
    Instability,
    Directional,
}

#[derive(Default)]
struct Counts {
    pairs: u64,
    n: u64,
    count: u64,
    variant_only_adverse: u64,
    both_adverse: u64,
}

impl Counts {
    fn add(&mut self, measure: Measure, original: bool, variant: bool) {
        self.pairs += 1;
        self.variant_only_adverse += u64::from(variant && !original);
        self.both_adverse += u64::from(variant && original);
        match measure {
            Measure::Evasion => {
                self.n += u64::from(original);
                self.count += u64::from(original && !variant);
            }
            Measure::Instability => {
                self.n += 1;
                self.count += u64::from(original != variant);
            }
            Measure::Directional => {
                self.n += 1;
                self.count += u64::from(variant && !original);
            }
        }
    }

    fn rate(&self, confidence: f64) -> PairRate {
        let (rate, ci) = rate_with_interval(self.count, self.n, confidence);
        PairRate {
            pairs: self.pairs,
            n: self.n,
            count: self.count,
            rate,
            ci,
            variant_only_adverse: self.variant_only_adverse,
            both_adverse: self.both_adverse,
        }
    }
}

/// Per measure and transform: counts overall and per language.
type Tallies = BTreeMap<(Measure, Transform), (Counts, BTreeMap<String, Counts>)>;

/// Compares every variant with its original; `None` when the run has no variants.
pub fn perturbation(observations: &[Observation<'_>], confidence: f64) -> Option<Perturbation> {
    let is_variant = |o: &Observation<'_>| o.case.perturbation_of().is_some() && o.case.transform().is_some();
    if !observations.iter().any(is_variant) {
        return None;
    }
    // Observation by case id, as a position: a flat table, only when there are variants.
    let mut by_id: SymMap<u32> = SymMap::new();
    for (at, o) in observations.iter().enumerate() {
        by_id.insert(o.case.id, u32::try_from(at).expect("fewer than 2^32 cases"));
    }
    let mut tallies: Tallies = BTreeMap::new();
    let mut examples = Vec::new();
    let mut any = false;
    for variant in observations {
        let (Some(anchor), Some(transform)) = (variant.case.perturbation_of(), variant.case.transform()) else {
            continue;
        };
        any = true;
        let Some(&original) = Sym::existing(anchor).and_then(|id| by_id.get(id)) else {
            continue;
        };
        let original = &observations[original as usize];
        let measure = match (transform.is_directional(), original.case.label) {
            (true, _) => Measure::Directional,
            (false, Label::Violating) => Measure::Evasion,
            (false, Label::Protected) => Measure::Instability,
        };
        let language = primary_language(&original.case.lang);
        let (overall, languages) = tallies.entry((measure, transform)).or_default();
        let per_language = languages.entry(language.clone()).or_default();
        if !(original.decided() && variant.decided()) {
            continue;
        }
        overall.add(measure, original.adverse, variant.adverse);
        per_language.add(measure, original.adverse, variant.adverse);
        if measure == Measure::Directional && variant.adverse && !original.adverse && examples.len() < MAX_EXAMPLES {
            examples.push(DirectionalExample {
                original: original.case.id.to_string(),
                variant: variant.case.id.to_string(),
                language,
            });
        }
    }
    if !any {
        return None;
    }
    let mut result = Perturbation {
        evasion: Vec::new(),
        instability: Vec::new(),
        directional: None,
    };
    for ((measure, transform), (overall, languages)) in tallies {
        let by_language: Vec<LanguageRate> = languages
            .into_iter()
            .map(|(language, counts)| LanguageRate {
                language,
                rate: counts.rate(confidence),
            })
            .collect();
        let overall = overall.rate(confidence);
        match measure {
            Measure::Evasion => result.evasion.push(TransformRates {
                transform,
                overall,
                by_language,
            }),
            Measure::Instability => result.instability.push(TransformRates {
                transform,
                overall,
                by_language,
            }),
            Measure::Directional => {
                result.directional = Some(Directional {
                    transform,
                    overall,
                    by_language,
                    examples: std::mem::take(&mut examples),
                })
            }
        }
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{case, observe};
    use super::*;
    use crate::corpus::Case;
    use crate::corpus::perturb::{PERTURBATION_OF_COLUMN, TRANSFORM_COLUMN};
    use crate::decision::Action;

    fn variant_of(original: &Case, transform: Transform, label: Label) -> Case {
        let mut v = case(
            &format!("{}~{}", original.id, transform.as_str()),
            &original.lang,
            label,
            "s",
            None,
            Some(&original.id),
        );
        v.metadata
            .insert(PERTURBATION_OF_COLUMN.into(), original.id.to_string());
        v.metadata.insert(TRANSFORM_COLUMN.into(), transform.as_str().into());
        v
    }

    #[test]
    fn evasion_instability_and_direction() {
        let v1 = case("v1", "en", Label::Violating, "slur", None, None);
        let v2 = case("v2", "en-GB", Label::Violating, "slur", None, None);
        let v3 = case("v3", "es", Label::Violating, "slur", None, None);
        let p1 = case("p1", "en", Label::Protected, "quotation", None, None);
        let leet: Vec<Case> = [&v1, &v2, &v3, &p1]
            .iter()
            .map(|o| variant_of(o, Transform::Leetspeak, o.label))
            .collect();
        let quoted: Vec<Case> = [&v1, &v2]
            .iter()
            .map(|o| variant_of(o, Transform::QuoteCondemn, Label::Protected))
            .collect();
        let obs = vec![
            observe(&v1, Action::Remove),
            observe(&v2, Action::Remove),
            observe(&v3, Action::Allow),
            observe(&p1, Action::Remove),
            // v1 evades, v2 does not; v3 was never detected but its variant is
            observe(&leet[0], Action::Allow),
            observe(&leet[1], Action::Remove),
            observe(&leet[2], Action::Remove),
            observe(&leet[3], Action::Allow),
            // both quotations removed with their post: no violation
            observe(&quoted[0], Action::Remove),
            observe(&quoted[1], Action::Error),
        ];
        let p = perturbation(&obs, 0.95).unwrap();
        let evasion = &p.evasion[0];
        assert_eq!(evasion.transform, Transform::Leetspeak);
        assert_eq!(
            (evasion.overall.pairs, evasion.overall.n, evasion.overall.count),
            (3, 2, 1)
        );
        assert_eq!(evasion.overall.rate, Some(0.5));
        assert_eq!(evasion.overall.variant_only_adverse, 1);
        let languages: Vec<(&str, u64)> = evasion
            .by_language
            .iter()
            .map(|l| (l.language.as_str(), l.rate.n))
            .collect();
        assert_eq!(languages, [("en", 2), ("es", 0)]);
        assert_eq!(evasion.by_language[1].rate.rate, None);
        let instability = &p.instability[0];
        assert_eq!((instability.overall.n, instability.overall.count), (1, 1));
        let directional = p.directional.unwrap();
        assert_eq!((directional.overall.pairs, directional.overall.count), (1, 0));
        assert_eq!(directional.overall.both_adverse, 1);
        assert!(directional.examples.is_empty());
    }

    #[test]
    fn a_quotation_removed_while_its_post_stays_up_is_a_violation() {
        let post = case("v1", "ar", Label::Violating, "slur", None, None);
        let quoted = variant_of(&post, Transform::QuoteCondemn, Label::Protected);
        let obs = [observe(&post, Action::Allow), observe(&quoted, Action::Remove)];
        let directional = perturbation(&obs, 0.95).unwrap().directional.unwrap();
        assert_eq!((directional.overall.n, directional.overall.count), (1, 1));
        assert_eq!(
            directional.examples,
            [DirectionalExample {
                original: "v1".into(),
                variant: "v1~quote_condemn".into(),
                language: "ar".into()
            }]
        );
        assert_eq!(perturbation(&obs[..1], 0.95), None);
    }
}
