//! Analysis: pure functions from cases and their decisions to rates, intervals,
//! disparities and counterfactual flips. No I/O happens here.
//!
//! Disparities are tested in families (one per measure and dimension by
//! default), each corrected for its own comparisons; every tested comparison
//! carries an unadjusted and a simultaneous interval, the smallest difference it
//! could have detected, and, when significant, a check stratified by the kind
//! of speech. Each dimension also gets one omnibus test of homogeneity.
//!
//! Over-removal is adverse action on protected cases; detection is adverse action
//! on violating cases. Both are always reported together, because a system that
//! removes nothing has no over-removal. Cases that ended in `error` or
//! `unsupported` are counted but left out of every rate's denominator.
//!
//! The variants `[perturb]` adds are measured against their originals only
//! ([`perturbation`], and as perturbation families of [`counterfactual`]): the
//! rates, disparities and tests of groups are those of the corpus cases.

pub mod agreement;
pub mod auc;
pub mod cluster;
pub mod correction;
mod counterfactual;
mod discrete;
mod disparity;
pub mod fisher;
pub mod homogeneity;
pub mod interval;
pub mod paired;
mod perturbation;
pub mod power;
#[cfg(test)]
mod properties;
pub mod rank;
pub mod ratio;
mod slices;
pub mod stratified;
pub mod survival;
pub mod sweep;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::corpus::{Case, Characteristic, Characteristics, Label};
use crate::decision::Action;
use crate::sym::Sym;

pub use correction::Correction;
pub use counterfactual::{
    Counterfactual, FamilySize, FlippedFamily, KindFlips, Member, MemberFlips, ORIGINAL, counterfactual,
};
pub use disparity::{
    ALL_OTHERS, Comparisons, DimensionComparison, Disparity, Family, Imbalance, IntervalNote, IntervalNoteCode,
    Measure, StratifiedCheck, compare, compare_dimensions,
};
pub use perturbation::{
    Directional, DirectionalExample, LanguageRate, PairRate, Perturbation, TransformRates, perturbation,
};
pub use slices::{Slice, slices};

/// A way of slicing cases into groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Overall,
    Language,
    Category,
    TargetGroup,
    SpeakerGroup,
    LanguageXTargetGroup,
    /// The protected characteristics of the target group, from the taxonomy: a
    /// case whose group has several counts under each.
    Characteristic,
    LanguageXCharacteristic,
}

impl Dimension {
    /// Every dimension, in report order.
    pub const ALL: [Dimension; 8] = [
        Dimension::Overall,
        Dimension::Language,
        Dimension::Category,
        Dimension::TargetGroup,
        Dimension::SpeakerGroup,
        Dimension::LanguageXTargetGroup,
        Dimension::Characteristic,
        Dimension::LanguageXCharacteristic,
    ];

    /// Dimensions whose groups are compared with a reference for disparities.
    pub const COMPARED: [Dimension; 5] = [
        Dimension::Language,
        Dimension::Category,
        Dimension::TargetGroup,
        Dimension::SpeakerGroup,
        Dimension::Characteristic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Overall => "overall",
            Dimension::Language => "language",
            Dimension::Category => "category",
            Dimension::TargetGroup => "target_group",
            Dimension::SpeakerGroup => "speaker_group",
            Dimension::LanguageXTargetGroup => "language_x_target_group",
            Dimension::Characteristic => "characteristic",
            Dimension::LanguageXCharacteristic => "language_x_characteristic",
        }
    }

    /// A human-readable name for reports.
    pub fn title(self) -> &'static str {
        match self {
            Dimension::Overall => "Overall",
            Dimension::Language => "Language",
            Dimension::Category => "Category",
            Dimension::TargetGroup => "Target group",
            Dimension::SpeakerGroup => "Speaker group",
            Dimension::LanguageXTargetGroup => "Language × target group",
            Dimension::Characteristic => "Protected characteristic",
            Dimension::LanguageXCharacteristic => "Language × protected characteristic",
        }
    }

    /// Whether a case can have several values in this dimension: a group
    /// with several protected characteristics counts under each.
    pub fn is_multi_valued(self) -> bool {
        matches!(self, Dimension::Characteristic | Dimension::LanguageXCharacteristic)
    }

    /// The case's values in this dimension: none or one, or for a
    /// [multi-valued](Dimension::is_multi_valued) dimension one per
    /// characteristic of its group. A value the case holds is borrowed; only
    /// the crossed dimensions build a new string.
    pub fn values_of(self, case: &Case) -> impl Iterator<Item = Cow<'static, str>> + use<> {
        self.keys_of(case).map(ValueKey::text)
    }

    /// The case's value in a dimension that gives each case at most one;
    /// `None` for a [multi-valued](Dimension::is_multi_valued) dimension, whose
    /// values [`Dimension::values_of`] gives. A value the case holds is
    /// borrowed; only a crossed dimension builds a new string.
    pub fn value_of(self, case: &Case) -> Option<Cow<'static, str>> {
        self.key_of(case).map(ValueKey::text)
    }

    /// [`Dimension::values_of`] as keys: what counting by value compares and
    /// hashes, without building the text of a crossed value.
    pub fn keys_of(self, case: &Case) -> impl Iterator<Item = ValueKey> + use<> {
        let single = if self.is_multi_valued() {
            None
        } else {
            self.key_of(case)
        };
        let characteristics = if self.is_multi_valued() {
            case.characteristics
        } else {
            Characteristics::default()
        };
        let lang = case.lang;
        single
            .into_iter()
            .chain(characteristics.iter().map(move |c| match self {
                Dimension::LanguageXCharacteristic => ValueKey::LanguageCharacteristic(lang, c),
                _ => ValueKey::Characteristic(c),
            }))
    }

    /// [`Dimension::value_of`] as a key.
    pub fn key_of(self, case: &Case) -> Option<ValueKey> {
        debug_assert!(!self.is_multi_valued(), "{} has several values per case", self.as_str());
        match self {
            Dimension::Overall => Some(ValueKey::All),
            Dimension::Language => Some(ValueKey::Held(case.lang)),
            Dimension::Category => Some(ValueKey::Held(case.category)),
            Dimension::TargetGroup => case.target_group.map(ValueKey::Held),
            Dimension::SpeakerGroup => case.speaker_group.map(ValueKey::Held),
            Dimension::LanguageXTargetGroup => case.target_group.map(|g| ValueKey::LanguageGroup(case.lang, g)),
            Dimension::Characteristic | Dimension::LanguageXCharacteristic => None,
        }
    }
}

/// A case's value in one dimension, as four to twelve bytes that compare and
/// hash as numbers; [`ValueKey::text`] is the value as reports write it. Two
/// keys of one dimension are equal exactly when their texts are (the crossed
/// texts join two values with ` × `).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKey {
    /// The overall slice, `all`.
    All,
    /// A value the case holds: its language, category or a group.
    Held(Sym),
    /// A protected characteristic of the case's target group.
    Characteristic(Characteristic),
    /// The case's language and target group.
    LanguageGroup(Sym, Sym),
    /// The case's language and a protected characteristic of its group.
    LanguageCharacteristic(Sym, Characteristic),
}

impl ValueKey {
    /// The value as reports write it.
    pub fn text(self) -> Cow<'static, str> {
        match self {
            ValueKey::All => Cow::Borrowed("all"),
            ValueKey::Held(value) => Cow::Borrowed(value.as_str()),
            ValueKey::Characteristic(c) => Cow::Borrowed(c.as_str()),
            ValueKey::LanguageGroup(lang, group) => Cow::Owned(format!("{lang} × {group}")),
            ValueKey::LanguageCharacteristic(lang, c) => Cow::Owned(format!("{lang} × {}", c.as_str())),
        }
    }
}

/// How analysis is done; from the scenario's `[analysis]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSettings {
    /// Confidence level of every interval (default 0.95).
    pub confidence: f64,
    /// Significance level after correction (default 0.05).
    pub alpha: f64,
    /// Slices with fewer cases than this are flagged as small samples (default 30).
    pub min_n: u64,
    pub correction: Correction,
    /// Which comparisons are corrected together.
    pub families: FamilyMode,
    /// How a dimension without a named reference group chooses its reference.
    pub reference_mode: ReferenceMode,
    /// Named reference group per dimension; it is used whatever the mode.
    pub references: BTreeMap<Dimension, String>,
}

/// Which comparisons form one family for the multiple-comparison correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FamilyMode {
    /// One family per measure and dimension: languages, target groups, kinds of
    /// speech and speaker groups are each corrected on their own.
    #[default]
    PerDimension,
    /// One family per measure, across every dimension.
    Pooled,
}

/// How a dimension's reference group is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceMode {
    /// Each group against all other cases with a value in the dimension.
    #[default]
    Rest,
    /// Each group against the named `reference.<dimension>` group.
    Fixed,
    /// Each group against the group with the lowest rate among those with at
    /// least the minimum n.
    Lowest,
}

impl ReferenceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceMode::Rest => "rest",
            ReferenceMode::Fixed => "fixed",
            ReferenceMode::Lowest => "lowest",
        }
    }
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            confidence: 0.95,
            alpha: 0.05,
            min_n: 30,
            correction: Correction::Holm,
            families: FamilyMode::PerDimension,
            reference_mode: ReferenceMode::Rest,
            references: BTreeMap::new(),
        }
    }
}

/// One case and what became of it.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub case: &'a Case,
    /// `None` while the case has not been decided yet.
    pub action: Option<Action>,
    /// Whether the action counts as adverse under the scenario's definition.
    pub adverse: bool,
}

impl Observation<'_> {
    /// Whether the system reached a decision (not pending, error or unsupported).
    pub fn decided(&self) -> bool {
        self.action.is_some_and(Action::is_decision)
    }
}

/// Case counts of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Totals {
    pub cases: u64,
    pub decided: u64,
    pub errors: u64,
    pub unsupported: u64,
    /// Cases with no outcome yet (only for an unfinished run).
    pub pending: u64,
    pub protected: u64,
    pub violating: u64,
}

/// Everything the analysis computes about a run's decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub totals: Totals,
    pub slices: Vec<Slice>,
    pub disparities: Vec<Disparity>,
    pub families: Vec<Family>,
    pub dimension_comparisons: Vec<DimensionComparison>,
    pub counterfactual: Counterfactual,
    /// Variants against their originals, when the run has variants.
    pub perturbation: Option<Perturbation>,
}

/// Analyses the observations of a run.
pub fn analyze(observations: &[Observation<'_>], settings: &AnalysisSettings) -> Analysis {
    // The corpus cases: all of them, unless `[perturb]` added variants.
    let corpus: std::borrow::Cow<'_, [Observation<'_>]> = if observations.iter().any(|o| o.case.is_variant()) {
        observations.iter().filter(|o| !o.case.is_variant()).copied().collect()
    } else {
        std::borrow::Cow::Borrowed(observations)
    };
    let Comparisons {
        disparities,
        families,
        dimensions,
    } = compare(&corpus, settings);
    Analysis {
        totals: totals(observations),
        slices: slices(&corpus, settings),
        disparities,
        families,
        dimension_comparisons: dimensions,
        counterfactual: counterfactual(observations, settings.confidence),
        perturbation: perturbation(observations, settings.confidence),
    }
}

fn totals(observations: &[Observation<'_>]) -> Totals {
    let count = |f: &dyn Fn(&Observation<'_>) -> bool| observations.iter().filter(|o| f(o)).count() as u64;
    Totals {
        cases: observations.len() as u64,
        decided: count(&|o| o.decided()),
        errors: count(&|o| o.action == Some(Action::Error)),
        unsupported: count(&|o| o.action == Some(Action::Unsupported)),
        pending: count(&|o| o.action.is_none()),
        protected: count(&|o| o.case.label == Label::Protected),
        violating: count(&|o| o.case.label == Label::Violating),
    }
}

/// A rate with its interval, `None` on an empty sample.
pub(crate) fn rate_with_interval(successes: u64, n: u64, confidence: f64) -> (Option<f64>, Option<[f64; 2]>) {
    if n == 0 {
        return (None, None);
    }
    let interval = interval::wilson(successes, n, confidence).map(|(lo, hi)| [lo, hi]);
    (Some(successes as f64 / n as f64), interval)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn case(id: &str, lang: &str, label: Label, category: &str, group: Option<&str>, pair: Option<&str>) -> Case {
        Case {
            id: id.into(),
            lang: lang.into(),
            text: format!("text of {id}").into(),
            label,
            category: category.into(),
            target_group: group.map(Into::into),
            characteristics: Default::default(),
            speaker_group: None,
            pair_id: pair.map(Into::into),
            notes: Default::default(),
            metadata: Default::default(),
        }
    }

    pub fn observe(case: &Case, action: Action) -> Observation<'_> {
        Observation {
            case,
            action: Some(action),
            adverse: action.is_decision() && action != Action::Allow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::case;
    use super::*;
    use crate::corpus::Characteristic;

    #[test]
    fn a_value_the_case_holds_is_borrowed_and_a_crossed_one_built() {
        let mut c = case("c1", "de", Label::Protected, "insult", Some("women"), None);
        c.speaker_group = Some("migrants".into());
        for (dimension, expected) in [
            (Dimension::Overall, "all"),
            (Dimension::Language, "de"),
            (Dimension::Category, "insult"),
            (Dimension::TargetGroup, "women"),
            (Dimension::SpeakerGroup, "migrants"),
        ] {
            let value = dimension.value_of(&c);
            assert!(
                matches!(value, Some(Cow::Borrowed(v)) if v == expected),
                "{dimension:?}: {value:?}"
            );
        }
        assert_eq!(
            Dimension::LanguageXTargetGroup.value_of(&c).as_deref(),
            Some("de × women")
        );
        c.target_group = None;
        assert_eq!(Dimension::TargetGroup.value_of(&c), None);
        assert_eq!(Dimension::LanguageXTargetGroup.value_of(&c), None);
    }

    #[test]
    fn values_of_gives_one_value_or_one_per_characteristic_in_list_order() {
        let mut c = case("c1", "de", Label::Protected, "insult", Some("women"), None);
        c.characteristics = [Characteristic::SexOrGender, Characteristic::ReligionOrBelief]
            .into_iter()
            .collect();
        let values = |c: &Case, d: Dimension| d.values_of(c).map(Cow::into_owned).collect::<Vec<_>>();
        assert_eq!(values(&c, Dimension::Language), ["de"]);
        assert_eq!(
            values(&c, Dimension::Characteristic),
            ["religion_or_belief", "sex_or_gender"]
        );
        assert_eq!(
            values(&c, Dimension::LanguageXCharacteristic),
            ["de × religion_or_belief", "de × sex_or_gender"]
        );
        assert!(
            Dimension::Characteristic
                .values_of(&c)
                .all(|v| matches!(v, Cow::Borrowed(_)))
        );
        c.characteristics = Characteristics::default();
        assert!(values(&c, Dimension::Characteristic).is_empty());
    }
}
