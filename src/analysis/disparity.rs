//! Disparities: each group's rate against a reference, for over-removal (adverse
//! action on protected cases) and for detection (adverse action on violating
//! cases: equal opportunity).
//!
//! Per comparison: the rate ratio with its MOVER–Wilson interval, the
//! difference with Newcombe's interval, Fisher's exact test, a correction within
//! the comparison's family, a simultaneous (Bonferroni) interval for the family,
//! the smallest difference the comparison could have detected, and for a
//! significant disparity between groups of people or languages a
//! Mantel–Haenszel check stratified by the kind of speech. Groups with fewer
//! cases than the minimum n are described (rate, intervals) but not tested.
//! Per dimension: which reference was used, and a χ² test of homogeneity.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use super::correction::Correction;
use super::fisher::fisher_exact_two_sided;
use super::homogeneity::{Homogeneity, chi_square_homogeneity};
use super::interval::{newcombe_difference, wilson, z_critical};
use super::power::{MinimumDetectable, POWER, minimum_detectable};
use super::ratio::{RatioInterval, mover_wilson_rate_ratio};
use super::stratified::{Table, crude_odds_ratio, mantel_haenszel};
use super::{AnalysisSettings, Dimension, FamilyMode, Observation, ReferenceMode, ValueKey};
use crate::corpus::{Case, Label};
use crate::sym::Sym;

/// The reference name used when a group is compared with all other groups.
pub const ALL_OTHERS: &str = "all others";

/// What a disparity compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Adverse action on protected cases.
    OverRemoval,
    /// Adverse action on violating cases (equal opportunity).
    Detection,
}

impl Measure {
    pub const ALL: [Measure; 2] = [Measure::OverRemoval, Measure::Detection];

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::OverRemoval => "over_removal",
            Measure::Detection => "detection",
        }
    }

    /// A human-readable name for reports.
    pub fn title(self) -> &'static str {
        match self {
            Measure::OverRemoval => "Over-removal",
            Measure::Detection => "Detection",
        }
    }

    /// The label of the cases whose adverse rate this measure is.
    pub fn label(self) -> Label {
        match self {
            Measure::OverRemoval => Label::Protected,
            Measure::Detection => Label::Violating,
        }
    }

    /// "protected" or "violating", for sentences about cases.
    fn cases(self) -> &'static str {
        match self {
            Measure::OverRemoval => "protected",
            Measure::Detection => "violating",
        }
    }
}

/// Why an interval seems to say something the test does not, or the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalNoteCode {
    /// The unadjusted interval excludes parity (ratio 1, difference 0); the
    /// corrected test is not significant.
    ExcludesOnlyBeforeCorrection,
    /// The score interval and Fisher's exact test disagree at the margin.
    IntervalAndTestDisagree,
    /// Significant after correction, but the (more conservative) Bonferroni
    /// simultaneous interval includes parity.
    SignificantSimultaneousIncludesParity,
    /// The group was not tested; its interval is descriptive only.
    NotTested,
}

/// A machine-readable reason next to an interval that could be misread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IntervalNote {
    pub code: IntervalNoteCode,
    pub text: String,
}

/// The kind of speech over-represented most among the group's cases compared
/// with its reference's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Imbalance {
    pub dimension: Dimension,
    pub value: String,
    /// Share of the group's cases with this value.
    pub group_share: f64,
    /// Share of the reference's cases with this value.
    pub reference_share: f64,
}

/// A significant disparity re-examined within strata of kind of speech (and
/// language), so that a different mix of cases cannot explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StratifiedCheck {
    /// The dimensions whose combinations form the strata.
    pub strata_by: Vec<Dimension>,
    /// Strata holding cases of the group or of its reference.
    pub strata: usize,
    /// Strata holding both (the others carry no information).
    pub strata_used: usize,
    /// Odds ratio of the pooled (unstratified) table.
    pub crude_odds_ratio: Option<f64>,
    /// The comparison's rate ratio, unstratified.
    pub crude_rate_ratio: Option<f64>,
    /// Mantel–Haenszel common odds ratio.
    pub odds_ratio: Option<f64>,
    /// Robins–Breslow–Greenland interval at the report's confidence.
    pub odds_ratio_ci: Option<[f64; 2]>,
    /// Cochran–Mantel–Haenszel test (continuity-corrected) of a common odds ratio of 1.
    pub cmh_p_value: Option<f64>,
    /// Breslow–Day test that the strata share one odds ratio.
    pub breslow_day_p_value: Option<f64>,
    /// Significance level of the check: the family's Bonferroni level α/m.
    pub alpha: f64,
    /// The CMH p-value is below `alpha` and the group fares worse (or better)
    /// within strata as it does overall; `None` when no stratum holds both.
    pub survives: Option<bool>,
    /// The kind of speech over-represented most in the group, against its reference.
    pub largest_imbalance: Option<Imbalance>,
    pub note: String,
}

/// One group's rate compared with its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Disparity {
    pub measure: Measure,
    pub dimension: Dimension,
    pub group: String,
    /// A group value, or "all others".
    pub reference: String,
    /// How the reference was chosen.
    pub reference_mode: ReferenceMode,
    /// The correction family this comparison belongs to (tested comparisons only).
    pub family: Option<String>,
    pub group_n: u64,
    pub group_adverse: u64,
    pub reference_n: u64,
    pub reference_adverse: u64,
    pub rate: f64,
    /// Wilson interval of the group's rate.
    pub rate_ci: Option<[f64; 2]>,
    pub reference_rate: f64,
    pub reference_rate_ci: Option<[f64; 2]>,
    /// `rate / reference_rate`; `None` when the reference rate is zero.
    pub ratio: Option<f64>,
    /// MOVER–Wilson interval at the report's confidence, unadjusted; `None`
    /// when both rates are 0.
    pub ratio_ci: Option<RatioInterval>,
    /// MOVER–Wilson interval at the family's simultaneous confidence 1 − α/m
    /// (Bonferroni); tested comparisons only.
    pub ratio_ci_simultaneous: Option<RatioInterval>,
    /// `rate − reference_rate`.
    pub difference: f64,
    /// Newcombe's hybrid score interval at the report's confidence, unadjusted.
    pub difference_ci: Option<[f64; 2]>,
    /// Newcombe's interval at the family's simultaneous confidence.
    pub difference_ci_simultaneous: Option<[f64; 2]>,
    /// Whether the comparison was tested (the group has at least the minimum n).
    pub tested: bool,
    /// Why it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_tested_reason: Option<String>,
    /// Two-sided Fisher exact p-value.
    pub p_value: Option<f64>,
    /// After correction within the family.
    pub p_adjusted: Option<f64>,
    /// `p_adjusted < alpha`.
    pub significant: bool,
    /// Either side has fewer decided cases than the minimum n.
    pub small_sample: bool,
    /// Set when an interval and the test could be read as disagreeing.
    pub interval_note: Option<IntervalNote>,
    /// The smallest difference this comparison could have detected.
    pub min_detectable: Option<MinimumDetectable>,
    /// For a significant disparity between groups of people or languages.
    pub stratified: Option<StratifiedCheck>,
}

/// A set of comparisons corrected together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Family {
    pub name: String,
    pub measure: Measure,
    pub dimensions: Vec<Dimension>,
    pub correction: Correction,
    pub alpha: f64,
    /// Comparisons tested in the family.
    pub m: usize,
    pub significant: usize,
    /// α/m: the per-comparison level of the simultaneous intervals and of the
    /// minimum detectable effects.
    pub per_comparison_alpha: f64,
    /// 1 − α/m.
    pub simultaneous_confidence: f64,
}

/// What was done for one measure in one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DimensionComparison {
    pub measure: Measure,
    pub dimension: Dimension,
    pub reference_mode: ReferenceMode,
    /// The reference group, "all others", or `None` when none could be chosen.
    pub reference: Option<String>,
    /// Groups with decided cases of the measure's label.
    pub groups: usize,
    /// Groups with at least the minimum n.
    pub groups_with_min_n: usize,
    /// Comparisons tested, and described only.
    pub tested: usize,
    pub not_tested: usize,
    pub significant: usize,
    pub family: Option<String>,
    /// χ² test of homogeneity across the groups with at least the minimum n;
    /// none when they share cases.
    pub omnibus: Option<Homogeneity>,
    /// Some case counts in two groups (a group of people with several
    /// protected characteristics), so the groups are not independent samples.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub groups_share_cases: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Every comparison of a run, its families and the per-dimension records.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparisons {
    pub disparities: Vec<Disparity>,
    pub families: Vec<Family>,
    pub dimensions: Vec<DimensionComparison>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    n: u64,
    adverse: u64,
}

impl Counts {
    fn add(&mut self, adverse: bool) {
        self.n += 1;
        self.adverse += u64::from(adverse);
    }

    fn rate(self) -> f64 {
        self.adverse as f64 / self.n as f64
    }

    fn absorb(&mut self, other: Counts) {
        self.n += other.n;
        self.adverse += other.adverse;
    }

    fn minus(self, other: Counts) -> Counts {
        Counts {
            n: self.n - other.n,
            adverse: self.adverse - other.adverse,
        }
    }
}

/// A group's counts, in total and per stratum (and per category, for the
/// composition of its cases).
#[derive(Debug, Default, Clone)]
struct GroupCounts {
    total: Counts,
    strata: BTreeMap<String, Counts>,
    categories: BTreeMap<String, u64>,
}

impl GroupCounts {
    /// These counts less a part of them (all groups less one: the rest).
    fn without(&self, part: &GroupCounts) -> GroupCounts {
        GroupCounts {
            total: self.total.minus(part.total),
            strata: self
                .strata
                .iter()
                .map(|(k, c)| (k.clone(), c.minus(part.strata.get(k).copied().unwrap_or_default())))
                .collect(),
            categories: self
                .categories
                .iter()
                .map(|(k, c)| (k.clone(), c - part.categories.get(k).copied().unwrap_or_default()))
                .collect(),
        }
    }
}

/// The strata of a dimension's stratified check, or `None` when it has none.
fn strata_by(dimension: Dimension) -> Option<Vec<Dimension>> {
    match dimension {
        Dimension::TargetGroup | Dimension::SpeakerGroup | Dimension::Characteristic => {
            Some(vec![Dimension::Category, Dimension::Language])
        }
        Dimension::Language => Some(vec![Dimension::Category]),
        _ => None,
    }
}

/// A case's stratum as keys: its values in the (at most two) dimensions of
/// [`strata_by`]; its text joins their texts with ` × `.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct StratumKey([Option<ValueKey>; 2]);

impl StratumKey {
    fn of(case: &Case, by: &[Dimension]) -> StratumKey {
        debug_assert!(by.len() <= 2, "a stratum spans at most two dimensions");
        let mut keys = [None; 2];
        for (key, dimension) in keys.iter_mut().zip(by) {
            *key = dimension.key_of(case);
        }
        StratumKey(keys)
    }

    fn text(self) -> String {
        let texts: Vec<Cow<'static, str>> = self.0.iter().flatten().map(|k| k.text()).collect();
        texts.join(" × ")
    }
}

/// One decided case, as keyed counting sees it.
struct KeyedCase {
    adverse: bool,
    stratum: StratumKey,
    category: Sym,
}

/// [`GroupCounts`] while counting: keyed by numbers, so counting a case
/// compares no text; turned into text once per distinct key.
#[derive(Default)]
struct KeyedCounts {
    total: Counts,
    strata: FxHashMap<StratumKey, Counts>,
    categories: FxHashMap<Sym, u64>,
}

impl KeyedCounts {
    fn count(&mut self, case: &KeyedCase) {
        self.total.add(case.adverse);
        self.strata.entry(case.stratum).or_default().add(case.adverse);
        *self.categories.entry(case.category).or_default() += 1;
    }

    /// Adds these counts to `into`, under their texts.
    fn add_to(self, into: &mut GroupCounts) {
        into.total.absorb(self.total);
        for (stratum, counts) in self.strata {
            into.strata.entry(stratum.text()).or_default().absorb(counts);
        }
        for (category, n) in self.categories {
            *into.categories.entry(category.to_string()).or_default() += n;
        }
    }
}

/// [`Tally`] while counting.
#[derive(Default)]
struct KeyedTally {
    groups: FxHashMap<ValueKey, KeyedCounts>,
    all: KeyedCounts,
    shared: FxHashMap<(ValueKey, ValueKey), KeyedCounts>,
}

impl KeyedTally {
    fn into_tally(self) -> Tally {
        let mut tally = Tally::default();
        for (value, counts) in self.groups {
            counts.add_to(tally.groups.entry(value.text().into_owned()).or_default());
        }
        self.all.add_to(&mut tally.all);
        for ((a, b), counts) in self.shared {
            let (a, b) = (a.text().into_owned(), b.text().into_owned());
            let key = if a < b { (a, b) } else { (b, a) };
            counts.add_to(tally.shared.entry(key).or_default());
        }
        tally
    }
}

/// The decided cases of one measure in one dimension, counted per group.
#[derive(Default)]
struct Tally {
    groups: BTreeMap<String, GroupCounts>,
    /// Every case with a value in the dimension, once.
    all: GroupCounts,
    /// Cases counted in two groups (only in a multi-valued dimension), per
    /// pair of groups in lexical order.
    shared: BTreeMap<(String, String), GroupCounts>,
}

impl Tally {
    /// `group`'s reference `name` without the cases both share: the two sides
    /// of a comparison never hold the same case.
    fn reference_without(&self, name: &str, group: &str) -> GroupCounts {
        let key = if name < group {
            (name.to_string(), group.to_string())
        } else {
            (group.to_string(), name.to_string())
        };
        match self.shared.get(&key) {
            Some(shared) => self.groups[name].without(shared),
            None => self.groups[name].clone(),
        }
    }
}

fn tally(observations: &[Observation<'_>], measure: Measure, dimension: Dimension) -> Tally {
    let by = strata_by(dimension).unwrap_or_default();
    let mut keyed = KeyedTally::default();
    let mut values: Vec<ValueKey> = Vec::new();
    for o in observations
        .iter()
        .filter(|o| o.decided() && o.case.label == measure.label())
    {
        values.clear();
        values.extend(dimension.keys_of(o.case));
        if values.is_empty() {
            continue;
        }
        let one = KeyedCase {
            adverse: o.adverse,
            stratum: StratumKey::of(o.case, &by),
            category: o.case.category,
        };
        for (i, value) in values.iter().enumerate() {
            keyed.groups.entry(*value).or_default().count(&one);
            for other in &values[i + 1..] {
                keyed.shared.entry((*value, *other)).or_default().count(&one);
            }
        }
        keyed.all.count(&one);
    }
    keyed.into_tally()
}

/// The reference of one dimension: all others, or one group.
enum Reference {
    Rest,
    Group(String),
}

fn choose_reference(
    dimension: Dimension,
    groups: &BTreeMap<String, GroupCounts>,
    settings: &AnalysisSettings,
) -> (ReferenceMode, Result<Reference, String>) {
    if let Some(name) = settings.references.get(&dimension) {
        let chosen = if groups.contains_key(name) {
            Ok(Reference::Group(name.clone()))
        } else {
            Err(format!("the reference group `{name}` has no decided cases here"))
        };
        return (ReferenceMode::Fixed, chosen);
    }
    match settings.reference_mode {
        ReferenceMode::Rest => (ReferenceMode::Rest, Ok(Reference::Rest)),
        ReferenceMode::Fixed => (
            ReferenceMode::Fixed,
            Err(format!("no reference group is named for {}", dimension.as_str())),
        ),
        ReferenceMode::Lowest => {
            let lowest = groups
                .iter()
                .filter(|(_, g)| g.total.n >= settings.min_n)
                .min_by(|a, b| a.1.total.rate().total_cmp(&b.1.total.rate()).then_with(|| a.0.cmp(b.0)));
            (
                ReferenceMode::Lowest,
                lowest.map(|(name, _)| Reference::Group(name.clone())).ok_or_else(|| {
                    format!(
                        "no group has at least {} cases, so none can be the reference",
                        settings.min_n
                    )
                }),
            )
        }
    }
}

fn family_name(measure: Measure, dimension: Dimension, mode: FamilyMode) -> String {
    match mode {
        FamilyMode::PerDimension => format!("{}/{}", measure.as_str(), dimension.as_str()),
        FamilyMode::Pooled => measure.as_str().to_string(),
    }
}

/// What a comparison keeps for its stratified check: the per-stratum tables of
/// group against reference, and the kind of speech over-represented in the group.
struct StrataEvidence {
    tables: Vec<Table>,
    imbalance: Imbalance,
}

/// Disparities, families and per-dimension records for every compared
/// dimension and both measures.
pub fn compare(observations: &[Observation<'_>], settings: &AnalysisSettings) -> Comparisons {
    compare_dimensions(observations, settings, &Dimension::COMPARED)
}

/// [`compare`] for some of the compared dimensions only. With families per
/// dimension their comparisons are exactly those of [`compare`]; pooled
/// families need every dimension.
pub fn compare_dimensions(
    observations: &[Observation<'_>],
    settings: &AnalysisSettings,
    dimensions_compared: &[Dimension],
) -> Comparisons {
    let tallies = Measure::ALL.into_iter().flat_map(|measure| {
        dimensions_compared
            .iter()
            .map(move |&dimension| (measure, dimension, tally(observations, measure, dimension)))
    });
    compare_tallies(tallies, settings)
}

/// The comparisons of tallied dimensions, corrected in their families.
fn compare_tallies(
    tallies: impl Iterator<Item = (Measure, Dimension, Tally)>,
    settings: &AnalysisSettings,
) -> Comparisons {
    let mut compared: Vec<(Disparity, StrataEvidence)> = Vec::new();
    let mut dimensions = Vec::new();
    for (measure, dimension, tally) in tallies {
        if tally.groups.is_empty() {
            continue;
        }
        let (record, comparisons) = compare_dimension(measure, dimension, &tally, settings);
        dimensions.push(record);
        compared.extend(comparisons);
    }
    let (mut disparities, evidence): (Vec<Disparity>, Vec<StrataEvidence>) = compared.into_iter().unzip();
    let families = correct_families(&mut disparities, settings);
    for (d, evidence) in disparities.iter_mut().zip(evidence) {
        let family = d.family.as_ref().and_then(|f| families.iter().find(|x| &x.name == f));
        match family {
            Some(family) => complete_tested(d, family, evidence, settings),
            None => d.interval_note = interval_note(d, None, settings),
        }
    }
    for record in &mut dimensions {
        record.significant = disparities
            .iter()
            .filter(|d| d.measure == record.measure && d.dimension == record.dimension && d.significant)
            .count();
    }
    Comparisons {
        disparities,
        families,
        dimensions,
    }
}

/// How a decided case of a threshold sweep meets adverse action.
#[derive(Debug, Clone, Copy)]
pub enum SweptCase {
    /// The same at every threshold (the rule does not explain its action).
    Fixed { adverse: bool },
    /// Decided by comparing its score with the threshold.
    Scored(f64),
}

/// Which side of the threshold meets adverse action.
#[derive(Debug, Clone, Copy)]
pub struct AdverseSides {
    pub at_or_above: bool,
    pub below: bool,
}

/// Scores as the thresholds of a grid (ascending, finite) see them: how many
/// lie below each threshold, in never more numbers than the grid has steps,
/// however many scores there are. A sweep keeps one per group and stratum.
#[derive(Debug)]
pub(super) enum ScoredCases {
    /// No more scores than the grid has thresholds: the scores themselves,
    /// sorted once counting is over.
    Scores(Vec<f64>),
    /// More: while counting, how many scores lie in each step of the grid
    /// (step `i` is at or above threshold `i - 1` and below threshold `i`; the
    /// last step is at or above every threshold); once counting is over, how
    /// many lie below each threshold, then how many there are.
    Steps(Box<[u64]>),
}

impl Default for ScoredCases {
    fn default() -> ScoredCases {
        ScoredCases::Scores(Vec::new())
    }
}

impl ScoredCases {
    /// The step of the grid a (finite) score lies in: the number of
    /// thresholds at or below it.
    fn step_of(score: f64, grid: &[f64]) -> usize {
        grid.partition_point(|&t| t <= score)
    }

    /// Counts a (finite) score.
    pub(super) fn add(&mut self, score: f64, grid: &[f64]) {
        match self {
            ScoredCases::Scores(scores) if scores.len() < grid.len() => scores.push(score),
            ScoredCases::Scores(scores) => {
                let mut steps = vec![0; grid.len() + 1].into_boxed_slice();
                for &s in scores.iter().chain([&score]) {
                    steps[Self::step_of(s, grid)] += 1;
                }
                *self = ScoredCases::Steps(steps);
            }
            ScoredCases::Steps(steps) => steps[Self::step_of(score, grid)] += 1,
        }
    }

    /// Ends counting: sorts the scores, or turns the steps' counts into
    /// counts below each threshold.
    pub(super) fn finish(&mut self) {
        match self {
            ScoredCases::Scores(scores) => {
                scores.sort_unstable_by(f64::total_cmp);
                scores.shrink_to_fit();
            }
            ScoredCases::Steps(steps) => {
                let mut below = 0;
                for step in steps.iter_mut() {
                    below += *step;
                    *step = below;
                }
            }
        }
    }

    /// How many scores lie below the threshold at `position` in `grid`;
    /// counting must be over.
    pub(super) fn below(&self, position: usize, grid: &[f64]) -> u64 {
        match self {
            ScoredCases::Scores(scores) => {
                let threshold = grid[position];
                scores.partition_point(|&s| s < threshold) as u64
            }
            ScoredCases::Steps(below) => below[position],
        }
    }

    /// How many scores there are; counting must be over.
    pub(super) fn count(&self) -> u64 {
        match self {
            ScoredCases::Scores(scores) => scores.len() as u64,
            ScoredCases::Steps(below) => below.last().copied().unwrap_or_default(),
        }
    }
}

/// The cases of one stratum of one group while sweeping: how many there are,
/// how many of the fixed ones are adverse, and where the scores of the rest
/// lie on the grid.
#[derive(Debug, Default)]
struct SweptCell {
    n: u64,
    fixed_adverse: u64,
    scored: ScoredCases,
}

impl SweptCell {
    fn add(&mut self, case: SweptCase, grid: &[f64]) {
        self.n += 1;
        match case {
            SweptCase::Fixed { adverse } => self.fixed_adverse += u64::from(adverse),
            SweptCase::Scored(score) => self.scored.add(score, grid),
        }
    }

    fn at(&self, position: usize, grid: &[f64], adverse: AdverseSides) -> Counts {
        let below = self.scored.below(position, grid);
        let at_or_above = self.scored.count() - below;
        Counts {
            n: self.n,
            adverse: self.fixed_adverse
                + if adverse.at_or_above { at_or_above } else { 0 }
                + if adverse.below { below } else { 0 },
        }
    }
}

/// [`KeyedCounts`] of a sweep: what moves with the threshold kept per stratum.
#[derive(Default)]
struct SweptCounts {
    strata: FxHashMap<StratumKey, SweptCell>,
    categories: FxHashMap<Sym, u64>,
}

impl SweptCounts {
    fn count(&mut self, case: SweptCase, stratum: StratumKey, category: Sym, grid: &[f64]) {
        self.strata.entry(stratum).or_default().add(case, grid);
        *self.categories.entry(category).or_default() += 1;
    }

    fn finish(&mut self) {
        self.strata.values_mut().for_each(|c| c.scored.finish());
    }

    fn at(&self, position: usize, grid: &[f64], adverse: AdverseSides) -> KeyedCounts {
        let mut counts = KeyedCounts {
            total: Counts::default(),
            strata: FxHashMap::default(),
            categories: self.categories.clone(),
        };
        for (&stratum, cell) in &self.strata {
            let at = cell.at(position, grid, adverse);
            counts.total.absorb(at);
            counts.strata.insert(stratum, at);
        }
        counts
    }
}

/// One measure in one dimension of a sweep, tallied once.
struct SweptTally {
    measure: Measure,
    dimension: Dimension,
    groups: FxHashMap<ValueKey, SweptCounts>,
    all: SweptCounts,
    shared: FxHashMap<(ValueKey, ValueKey), SweptCounts>,
}

impl SweptTally {
    fn at(&self, position: usize, grid: &[f64], adverse: AdverseSides) -> Tally {
        KeyedTally {
            groups: self
                .groups
                .iter()
                .map(|(&k, c)| (k, c.at(position, grid, adverse)))
                .collect(),
            all: self.all.at(position, grid, adverse),
            shared: self
                .shared
                .iter()
                .map(|(&k, c)| (k, c.at(position, grid, adverse)))
                .collect(),
        }
        .into_tally()
    }
}

/// The decided cases of a threshold sweep, counted once for every compared
/// dimension and every threshold of a grid, so that testing the disparities
/// at a threshold of the grid costs a look-up per group and stratum instead of
/// a pass over every case. At each threshold of the grid the result equals
/// [`compare_dimensions`] over the cases as the threshold decides them.
///
/// A group's stratum keeps, besides its counts, at most one number per
/// threshold of the grid: the tallies take memory in proportion to the groups,
/// strata and thresholds, not to the cases.
pub struct SweptTallies {
    grid: Vec<f64>,
    tallies: Vec<SweptTally>,
}

impl SweptTallies {
    /// Counts `cases` (decided cases only, scores finite) in `dimensions` for
    /// the thresholds of `grid` (ascending); `cases` is walked once per
    /// measure and dimension, so it is an iterator rather than a list of every
    /// case.
    pub fn new<'a, I>(cases: I, dimensions: &[Dimension], grid: &[f64]) -> SweptTallies
    where
        I: Iterator<Item = (&'a Case, SweptCase)> + Clone,
    {
        let mut tallies = Vec::new();
        let mut values: Vec<ValueKey> = Vec::new();
        for measure in Measure::ALL {
            for &dimension in dimensions {
                let by = strata_by(dimension).unwrap_or_default();
                let mut tally = SweptTally {
                    measure,
                    dimension,
                    groups: FxHashMap::default(),
                    all: SweptCounts::default(),
                    shared: FxHashMap::default(),
                };
                for (case, swept) in cases.clone().filter(|(c, _)| c.label == measure.label()) {
                    values.clear();
                    values.extend(dimension.keys_of(case));
                    if values.is_empty() {
                        continue;
                    }
                    let stratum = StratumKey::of(case, &by);
                    for (i, value) in values.iter().enumerate() {
                        tally
                            .groups
                            .entry(*value)
                            .or_default()
                            .count(swept, stratum, case.category, grid);
                        for other in &values[i + 1..] {
                            tally.shared.entry((*value, *other)).or_default().count(
                                swept,
                                stratum,
                                case.category,
                                grid,
                            );
                        }
                    }
                    tally.all.count(swept, stratum, case.category, grid);
                }
                tally.groups.values_mut().for_each(SweptCounts::finish);
                tally.shared.values_mut().for_each(SweptCounts::finish);
                tally.all.finish();
                tallies.push(tally);
            }
        }
        SweptTallies {
            grid: grid.to_vec(),
            tallies,
        }
    }

    /// The comparisons at the threshold at `position` in the grid, as
    /// [`compare_dimensions`] makes them.
    pub fn compare_at(&self, position: usize, adverse: AdverseSides, settings: &AnalysisSettings) -> Comparisons {
        compare_tallies(
            self.tallies
                .iter()
                .map(|t| (t.measure, t.dimension, t.at(position, &self.grid, adverse))),
            settings,
        )
    }
}

/// The comparisons of one measure in one dimension (not yet corrected), and the
/// record of what was done.
fn compare_dimension(
    measure: Measure,
    dimension: Dimension,
    tally: &Tally,
    settings: &AnalysisSettings,
) -> (DimensionComparison, Vec<(Disparity, StrataEvidence)>) {
    let groups = &tally.groups;
    let (reference_mode, reference) = choose_reference(dimension, groups, settings);
    let groups_with_min_n: Vec<(u64, u64)> = groups
        .values()
        .filter(|g| g.total.n >= settings.min_n)
        .map(|g| (g.total.adverse, g.total.n))
        .collect();
    // groups that share cases are not independent samples: no χ² across them
    let (omnibus, shared_note) = if tally.shared.is_empty() {
        (chi_square_homogeneity(&groups_with_min_n), None)
    } else {
        (
            None,
            Some(
                "a case whose group has several protected characteristics counts under each, so these groups share cases: \
                 no test of homogeneity across them is made, and each group is compared with cases outside it"
                    .to_string(),
            ),
        )
    };
    let mut record = DimensionComparison {
        measure,
        dimension,
        reference_mode,
        reference: None,
        groups: groups.len(),
        groups_with_min_n: groups_with_min_n.len(),
        tested: 0,
        not_tested: 0,
        significant: 0,
        family: None,
        omnibus,
        groups_share_cases: !tally.shared.is_empty(),
        note: shared_note,
    };
    let reference = match reference {
        Ok(reference) => reference,
        Err(note) => {
            record.note = Some(match record.note.take() {
                Some(shared) => format!("{note}; {shared}"),
                None => note,
            });
            return (record, Vec::new());
        }
    };
    let reference_name = match &reference {
        Reference::Rest => ALL_OTHERS.to_string(),
        Reference::Group(name) => name.clone(),
    };
    let mut comparisons = Vec::new();
    for (group, counts) in groups {
        let reference_counts = match &reference {
            Reference::Group(name) if name == group => continue,
            Reference::Group(name) => tally.reference_without(name, group),
            Reference::Rest => tally.all.without(counts),
        };
        let Some(disparity) = describe(
            measure,
            dimension,
            group,
            counts.total,
            reference_counts.total,
            settings,
        ) else {
            continue;
        };
        let disparity = Disparity {
            reference: reference_name.clone(),
            reference_mode,
            ..disparity
        };
        if disparity.tested {
            record.tested += 1;
        } else {
            record.not_tested += 1;
        }
        let (tables, imbalance) = strata_tables(counts, &reference_counts);
        comparisons.push((disparity, StrataEvidence { tables, imbalance }));
    }
    record.reference = Some(reference_name);
    if record.tested > 0 {
        record.family = Some(family_name(measure, dimension, settings.families));
    }
    (record, comparisons)
}

/// One comparison with everything that does not depend on its family: rates,
/// unadjusted intervals and, for a group with at least the minimum n, the
/// p-value. `None` when either side has no cases.
fn describe(
    measure: Measure,
    dimension: Dimension,
    group: &str,
    g: Counts,
    r: Counts,
    settings: &AnalysisSettings,
) -> Option<Disparity> {
    if g.n == 0 || r.n == 0 {
        return None;
    }
    let z = z_critical(settings.confidence);
    let tested = g.n >= settings.min_n;
    let not_tested_reason = (!tested).then(|| {
        format!(
            "the group has {} decided {} cases, fewer than the minimum n of {}: described, not tested",
            g.n,
            measure.cases(),
            settings.min_n
        )
    });
    let wilson_of = |c: Counts| wilson(c.adverse, c.n, settings.confidence).map(|(lo, hi)| [lo, hi]);
    Some(Disparity {
        measure,
        dimension,
        group: group.to_string(),
        reference: String::new(),
        reference_mode: ReferenceMode::Rest,
        family: tested.then(|| family_name(measure, dimension, settings.families)),
        group_n: g.n,
        group_adverse: g.adverse,
        reference_n: r.n,
        reference_adverse: r.adverse,
        rate: g.rate(),
        rate_ci: wilson_of(g),
        reference_rate: r.rate(),
        reference_rate_ci: wilson_of(r),
        ratio: (r.adverse > 0).then(|| g.rate() / r.rate()),
        ratio_ci: mover_wilson_rate_ratio(g.adverse, g.n, r.adverse, r.n, z),
        ratio_ci_simultaneous: None,
        difference: g.rate() - r.rate(),
        difference_ci: newcombe_difference(g.adverse, g.n, r.adverse, r.n, z).map(|(lo, hi)| [lo, hi]),
        difference_ci_simultaneous: None,
        tested,
        not_tested_reason,
        p_value: tested.then(|| fisher_exact_two_sided([[g.adverse, g.n - g.adverse], [r.adverse, r.n - r.adverse]])),
        p_adjusted: None,
        significant: false,
        small_sample: g.n < settings.min_n || r.n < settings.min_n,
        interval_note: None,
        min_detectable: None,
        stratified: None,
    })
}

/// Adds what a tested comparison's family decides: simultaneous intervals,
/// the minimum detectable effect, the stratified check of a significant
/// disparity, and the interval note.
fn complete_tested(d: &mut Disparity, family: &Family, evidence: StrataEvidence, settings: &AnalysisSettings) {
    let z_simultaneous = z_critical(family.simultaneous_confidence);
    let (a, n1, c, n2) = (d.group_adverse, d.group_n, d.reference_adverse, d.reference_n);
    d.ratio_ci_simultaneous = mover_wilson_rate_ratio(a, n1, c, n2, z_simultaneous);
    d.difference_ci_simultaneous = newcombe_difference(a, n1, c, n2, z_simultaneous).map(|(lo, hi)| [lo, hi]);
    let mut detectable = minimum_detectable(d.reference_rate, n1, n2, family.per_comparison_alpha, POWER);
    detectable.alpha_basis = Some(format!(
        "Bonferroni: α/m = {}/{} within {}",
        family.alpha, family.m, family.name
    ));
    d.min_detectable = Some(detectable);
    if let (true, Some(by)) = (d.significant, strata_by(d.dimension)) {
        let z = z_critical(settings.confidence);
        d.stratified = Some(stratified_check(d, by, evidence, family, z));
    }
    d.interval_note = interval_note(d, Some(family), settings);
}

/// Per-stratum tables of group against reference, and the category the group
/// has most more of than its reference (ties: the first in lexical order).
fn strata_tables(group: &GroupCounts, reference: &GroupCounts) -> (Vec<Table>, Imbalance) {
    let mut keys: Vec<&String> = group.strata.keys().chain(reference.strata.keys()).collect();
    keys.sort();
    keys.dedup();
    let tables = keys
        .into_iter()
        .map(|k| {
            let g = group.strata.get(k).copied().unwrap_or_default();
            let r = reference.strata.get(k).copied().unwrap_or_default();
            [[g.adverse, g.n - g.adverse], [r.adverse, r.n - r.adverse]]
        })
        .filter(|[[a, b], [c, d]]| a + b + c + d > 0)
        .collect();
    let share = |counts: &BTreeMap<String, u64>, key: &str| {
        let total: u64 = counts.values().sum();
        if total == 0 {
            0.0
        } else {
            counts.get(key).copied().unwrap_or_default() as f64 / total as f64
        }
    };
    let mut imbalance = Imbalance {
        dimension: Dimension::Category,
        value: String::new(),
        group_share: 0.0,
        reference_share: 0.0,
    };
    let mut largest = f64::NEG_INFINITY;
    for key in group.categories.keys() {
        let (g, r) = (share(&group.categories, key), share(&reference.categories, key));
        if g - r > largest {
            largest = g - r;
            imbalance = Imbalance {
                dimension: Dimension::Category,
                value: key.clone(),
                group_share: g,
                reference_share: r,
            };
        }
    }
    (tables, imbalance)
}

fn stratified_check(
    d: &Disparity,
    by: Vec<Dimension>,
    evidence: StrataEvidence,
    family: &Family,
    z: f64,
) -> StratifiedCheck {
    let StrataEvidence { tables, imbalance } = evidence;
    let mh = mantel_haenszel(&tables, z);
    let crude = crude_odds_ratio(&tables);
    let alpha = family.per_comparison_alpha;
    let survives = (mh.strata_used > 0).then(|| {
        let same_side = (mh.observed_minus_expected > 0.0) == (d.difference > 0.0);
        same_side && mh.cmh_p_value.is_some_and(|p| p < alpha)
    });
    let strata_names: Vec<&str> = by.iter().map(|d| d.as_str()).collect();
    let strata_names = strata_names.join(" × ");
    let note = match survives {
        None => format!(
            "no stratum of {strata_names} holds cases of both the group and its reference, so the disparity cannot be checked"
        ),
        Some(true) => format!(
            "the disparity survives stratification by {strata_names}: within comparable cases the odds still differ in the same direction (CMH p below α/m = {alpha:.4})"
        ),
        Some(false) => format!(
            "the disparity does not survive stratification by {strata_names}: within comparable cases the difference is not significant at α/m = {alpha:.4}, so the mix of cases may explain it"
        ),
    };
    let imbalance = (!imbalance.value.is_empty()).then_some(imbalance);
    StratifiedCheck {
        strata_by: by,
        strata: tables.len(),
        strata_used: mh.strata_used,
        crude_odds_ratio: crude,
        crude_rate_ratio: d.ratio,
        odds_ratio: mh.odds_ratio,
        odds_ratio_ci: mh.odds_ratio_ci.map(|(lo, hi)| [lo, hi]),
        cmh_p_value: mh.cmh_p_value,
        breslow_day_p_value: mh.breslow_day_p_value,
        alpha,
        survives,
        largest_imbalance: imbalance,
        note,
    }
}

/// Forms the correction families, adjusts p-values within each and marks
/// significance; returns the families that have at least one tested comparison.
fn correct_families(disparities: &mut [Disparity], settings: &AnalysisSettings) -> Vec<Family> {
    let mut members: BTreeMap<(Measure, String), Vec<usize>> = BTreeMap::new();
    for (i, d) in disparities.iter().enumerate() {
        if let (Some(name), true) = (&d.family, d.tested) {
            members.entry((d.measure, name.clone())).or_default().push(i);
        }
    }
    let mut families = Vec::new();
    for ((measure, name), indexes) in members {
        let p: Vec<f64> = indexes.iter().map(|&i| disparities[i].p_value.unwrap_or(1.0)).collect();
        for (&i, adjusted) in indexes.iter().zip(settings.correction.adjust(&p)) {
            disparities[i].p_adjusted = Some(adjusted);
            disparities[i].significant = adjusted < settings.alpha;
        }
        let mut dims: Vec<Dimension> = indexes.iter().map(|&i| disparities[i].dimension).collect();
        dims.dedup();
        let m = indexes.len();
        let per_comparison_alpha = settings.alpha / m as f64;
        families.push(Family {
            name,
            measure,
            dimensions: dims,
            correction: settings.correction,
            alpha: settings.alpha,
            m,
            significant: indexes.iter().filter(|&&i| disparities[i].significant).count(),
            per_comparison_alpha,
            simultaneous_confidence: 1.0 - per_comparison_alpha,
        });
    }
    families
}

/// Which of a pair of intervals excludes parity (a ratio of 1 or a difference
/// of 0): `"ratio interval excludes 1"`, `"difference interval excludes 0"`.
fn excludes_parity(ratio: Option<&RatioInterval>, difference: Option<&[f64; 2]>) -> Option<&'static str> {
    if ratio.is_some_and(RatioInterval::excludes_one) {
        Some("ratio interval excludes 1")
    } else if difference.is_some_and(|[lo, hi]| *lo > 0.0 || *hi < 0.0) {
        Some("difference interval excludes 0")
    } else {
        None
    }
}

fn corrected_over(settings: &AnalysisSettings, family: &Family) -> String {
    match settings.correction {
        Correction::None => format!("without correction ({} comparisons)", family.m),
        c => format!("after {} correction over {} comparisons", c.name(), family.m),
    }
}

/// The note that keeps an interval from being read against its test.
fn interval_note(d: &Disparity, family: Option<&Family>, settings: &AnalysisSettings) -> Option<IntervalNote> {
    let unadjusted = excludes_parity(d.ratio_ci.as_ref(), d.difference_ci.as_ref());
    let Some(family) = family else {
        return unadjusted.map(|what| IntervalNote {
            code: IntervalNoteCode::NotTested,
            text: format!(
                "the unadjusted {what}, but the group was not tested (fewer than {} cases): the interval describes the group and supports no claim of a difference",
                settings.min_n
            ),
        });
    };
    let simultaneous = excludes_parity(d.ratio_ci_simultaneous.as_ref(), d.difference_ci_simultaneous.as_ref());
    let corrected = corrected_over(settings, family);
    let adjusted = d.p_adjusted.unwrap_or(1.0);
    let level = format!("{:.2} %", family.simultaneous_confidence * 100.0);
    match (d.significant, unadjusted, simultaneous) {
        (false, _, Some(what)) => Some(IntervalNote {
            code: IntervalNoteCode::IntervalAndTestDisagree,
            text: format!(
                "the simultaneous {level} {what}, but Fisher's exact test is not significant {corrected} (adjusted p = {adjusted:.4}): the score interval and the exact test disagree at the margin, and the test decides"
            ),
        }),
        (false, Some(what), None) => Some(IntervalNote {
            code: IntervalNoteCode::ExcludesOnlyBeforeCorrection,
            text: format!(
                "the unadjusted {what}; {corrected} the difference is not significant (adjusted p = {adjusted:.4}), and the simultaneous {level} interval includes parity"
            ),
        }),
        (true, None, _) => Some(IntervalNote {
            code: IntervalNoteCode::IntervalAndTestDisagree,
            text: format!(
                "significant by Fisher's exact test {corrected} (adjusted p = {adjusted:.4}), yet even the unadjusted score interval includes parity: the evidence is marginal"
            ),
        }),
        (true, Some(_), None) => Some(IntervalNote {
            code: IntervalNoteCode::SignificantSimultaneousIncludesParity,
            text: format!(
                "significant {corrected} (adjusted p = {adjusted:.4}); the Bonferroni simultaneous {level} interval, more conservative than {}, includes parity",
                settings.correction.name()
            ),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{case, observe};
    use super::*;
    use crate::decision::Action;

    #[test]
    fn a_stratum_joins_the_values_the_case_has() {
        let grouped = case("c1", "de", Label::Protected, "insult", Some("women"), None);
        let by_both = StratumKey::of(&grouped, &[Dimension::Category, Dimension::Language]);
        assert_eq!(by_both.text(), "insult × de");
        assert_eq!(StratumKey::of(&grouped, &[Dimension::Category]).text(), "insult");
        let ungrouped = case("c2", "fr", Label::Protected, "slur", None, None);
        assert_eq!(
            StratumKey::of(&ungrouped, &[Dimension::TargetGroup, Dimension::Language]).text(),
            "fr"
        );
        // the same values are the same key, whichever case holds them
        let same = case("c3", "de", Label::Violating, "insult", None, None);
        assert!(by_both == StratumKey::of(&same, &[Dimension::Category, Dimension::Language]));
    }

    /// `n` cases of one language, category, target group and label, the first
    /// `adverse` of them removed: `(lang, category, group, label, n, adverse)`.
    type Block<'a> = (&'a str, &'a str, Option<&'a str>, Label, u64, u64);

    /// Cases and whether each met adverse action.
    struct Population {
        cases: Vec<Case>,
        adverse: Vec<bool>,
    }

    impl Population {
        fn new(spec: &[Block<'_>]) -> Population {
            let mut cases = Vec::new();
            let mut adverse = Vec::new();
            for (k, (lang, category, group, label, n, removed)) in spec.iter().enumerate() {
                for i in 0..*n {
                    cases.push(case(&format!("{k}-{i}"), lang, *label, category, *group, None));
                    adverse.push(i < *removed);
                }
            }
            Population { cases, adverse }
        }

        fn observations(&self) -> Vec<Observation<'_>> {
            self.cases
                .iter()
                .zip(&self.adverse)
                .map(|(c, &a)| observe(c, if a { Action::Remove } else { Action::Allow }))
                .collect()
        }
    }

    fn protected(
        lang: &'static str,
        n: u64,
        adverse: u64,
    ) -> (&'static str, &'static str, Option<&'static str>, Label, u64, u64) {
        (lang, "c", None, Label::Protected, n, adverse)
    }

    fn of<'a>(c: &'a Comparisons, measure: Measure, dimension: Dimension, group: &str) -> &'a Disparity {
        c.disparities
            .iter()
            .find(|d| d.measure == measure && d.dimension == dimension && d.group == group)
            .unwrap_or_else(|| panic!("no {measure:?} {dimension:?} {group}"))
    }

    #[test]
    fn compares_each_group_with_all_others_and_corrects() {
        // en: 30/100 removed; ar: 15/100; es: 15/100
        let population = Population::new(&[
            protected("en", 100, 30),
            protected("ar", 100, 15),
            protected("es", 100, 15),
        ]);
        let obs = population.observations();
        let c = compare(&obs, &AnalysisSettings::default());
        let d = &c.disparities;
        let lang: Vec<_> = d.iter().filter(|d| d.dimension == Dimension::Language).collect();
        assert_eq!(lang.len(), 3);
        let en = lang.iter().find(|d| d.group == "en").unwrap();
        assert_eq!(
            (en.reference.as_str(), en.reference_n, en.reference_adverse),
            (ALL_OTHERS, 200, 30)
        );
        assert!((en.ratio.unwrap() - 2.0).abs() < 1e-12);
        assert!((en.difference - 0.15).abs() < 1e-12);
        // p-value independently: scipy.stats.fisher_exact([[30, 70], [30, 170]])
        assert!(
            (en.p_value.unwrap() - 0.0033924165351305697).abs() < 1e-9,
            "{:?}",
            en.p_value
        );
        // Holm across the family of the three languages
        let p: Vec<f64> = lang.iter().map(|d| d.p_value.unwrap()).collect();
        let adjusted = crate::analysis::correction::holm(&p);
        for (x, y) in lang.iter().zip(&adjusted) {
            assert_eq!(x.p_adjusted, Some(*y));
        }
        assert!(en.significant);
        assert_eq!(c.families.len(), 1);
        let family = &c.families[0];
        assert_eq!(
            (family.name.as_str(), family.m, family.significant),
            ("over_removal/language", 3, 1)
        );
        assert!((family.simultaneous_confidence - (1.0 - 0.05 / 3.0)).abs() < 1e-15);
    }

    #[test]
    fn configured_reference_is_compared_against_and_not_with_itself() {
        let population = Population::new(&[protected("en", 10, 5), protected("ar", 10, 5)]);
        let obs = population.observations();
        let mut settings = AnalysisSettings::default();
        settings.references.insert(Dimension::Language, "en".into());
        let d = compare(&obs, &settings).disparities;
        let lang: Vec<_> = d.iter().filter(|d| d.dimension == Dimension::Language).collect();
        assert_eq!(lang.len(), 1);
        assert_eq!((lang[0].group.as_str(), lang[0].reference.as_str()), ("ar", "en"));
        assert_eq!(lang[0].reference_mode, ReferenceMode::Fixed);
        assert!(lang[0].small_sample);
    }

    #[test]
    fn intervals_hold_at_100_percent_and_agree_with_the_test() {
        // the review's example: 1 of 1 against 324 of 2,007 (ratio 6.19, Fisher p = 0.16)
        let mut spec = vec![protected("xx", 1, 1)];
        spec.push(protected("yy", 2007, 324));
        let population = Population::new(&spec);
        let obs = population.observations();
        let settings = AnalysisSettings {
            min_n: 1,
            ..AnalysisSettings::default()
        };
        let c = compare(&obs, &settings);
        let one = of(&c, Measure::OverRemoval, Dimension::Language, "xx");
        assert!((one.ratio.unwrap() - 6.194444444444445).abs() < 1e-9);
        let ci = one.ratio_ci.unwrap();
        // Katz without correction gave 5.61–6.84; MOVER–Wilson reaches down to
        // 1.28 (a rate of 1 of 1 is compatible with rates from 21 % up)
        assert!(ci.lower < 1.3 && ci.upper.unwrap() > 6.8, "{ci:?}");
        assert!(!one.significant && one.p_value.unwrap() > 0.15);
        // the interval still excludes 1, so the row must say why it is not significant
        let note = one.interval_note.as_ref().unwrap();
        assert!(matches!(
            note.code,
            IntervalNoteCode::ExcludesOnlyBeforeCorrection | IntervalNoteCode::IntervalAndTestDisagree
        ));
        let [lo, hi] = one.difference_ci.unwrap();
        assert!(lo < one.difference && one.difference < hi);
        // with the default minimum n the group is described, not tested
        let c = compare(&obs, &AnalysisSettings::default());
        let one = of(&c, Measure::OverRemoval, Dimension::Language, "xx");
        assert!(!one.tested);
        assert_eq!(one.interval_note.as_ref().unwrap().code, IntervalNoteCode::NotTested);
    }

    #[test]
    fn every_interval_that_excludes_no_difference_on_a_non_significant_row_says_why() {
        // eight languages, two of them mildly higher: unadjusted intervals exclude
        // 1 but Holm over the family does not call them significant
        let population = Population::new(&[
            protected("a", 200, 40),
            protected("b", 200, 38),
            protected("c", 200, 25),
            protected("d", 200, 25),
            protected("e", 200, 25),
            protected("f", 200, 25),
            protected("g", 200, 25),
            protected("h", 200, 25),
        ]);
        let obs = population.observations();
        let c = compare(&obs, &AnalysisSettings::default());
        let mut noted = 0;
        for d in &c.disparities {
            let excludes = d.ratio_ci.is_some_and(|ci| ci.excludes_one());
            if excludes && !d.significant {
                let note = d
                    .interval_note
                    .as_ref()
                    .unwrap_or_else(|| panic!("{} has no note", d.group));
                assert_eq!(note.code, IntervalNoteCode::ExcludesOnlyBeforeCorrection, "{}", d.group);
                assert!(
                    note.text.contains("after Holm correction over 8 comparisons"),
                    "{}",
                    note.text
                );
                noted += 1;
            }
            // the simultaneous interval is never narrower than the unadjusted one
            let (u, s) = (d.ratio_ci.unwrap(), d.ratio_ci_simultaneous.unwrap());
            assert!(s.lower <= u.lower && s.upper.unwrap() >= u.upper.unwrap());
        }
        assert!(noted > 0, "the example must show the problem");
    }

    #[test]
    fn families_are_per_dimension_by_default_and_pooled_on_request() {
        let spec = [
            ("en", "x", Some("g1"), Label::Protected, 60, 20),
            ("en", "y", Some("g2"), Label::Protected, 60, 5),
            ("ar", "x", Some("g1"), Label::Protected, 60, 10),
            ("ar", "y", Some("g2"), Label::Protected, 60, 10),
        ];
        let population = Population::new(&spec);
        let obs = population.observations();
        let per_dimension = compare(&obs, &AnalysisSettings::default());
        let names: Vec<(&str, usize)> = per_dimension.families.iter().map(|f| (f.name.as_str(), f.m)).collect();
        assert_eq!(
            names,
            [
                ("over_removal/category", 2),
                ("over_removal/language", 2),
                ("over_removal/target_group", 2)
            ]
        );
        let pooled = compare(
            &obs,
            &AnalysisSettings {
                families: FamilyMode::Pooled,
                ..AnalysisSettings::default()
            },
        );
        assert_eq!(pooled.families.len(), 1);
        assert_eq!(
            (pooled.families[0].name.as_str(), pooled.families[0].m),
            ("over_removal", 6)
        );
        let p: Vec<f64> = pooled.disparities.iter().map(|d| d.p_value.unwrap()).collect();
        let holm = crate::analysis::correction::holm(&p);
        for (d, h) in pooled.disparities.iter().zip(holm) {
            assert_eq!(d.p_adjusted, Some(h));
        }
    }

    #[test]
    fn small_groups_are_described_not_tested() {
        let population = Population::new(&[
            protected("en", 100, 30),
            protected("ar", 100, 15),
            protected("ha", 5, 5),
        ]);
        let obs = population.observations();
        let c = compare(&obs, &AnalysisSettings::default());
        let ha = of(&c, Measure::OverRemoval, Dimension::Language, "ha");
        assert!(!ha.tested && ha.p_value.is_none() && ha.p_adjusted.is_none() && !ha.significant);
        assert!(
            ha.not_tested_reason
                .as_deref()
                .unwrap()
                .contains("fewer than the minimum n of 30")
        );
        assert!(ha.rate_ci.is_some() && ha.ratio_ci.is_some() && ha.family.is_none());
        assert_eq!(ha.interval_note.as_ref().unwrap().code, IntervalNoteCode::NotTested);
        assert_eq!(c.families[0].m, 2);
        let record = &c.dimensions[0];
        assert_eq!((record.tested, record.not_tested, record.groups_with_min_n), (2, 1, 2));
        let omnibus = record.omnibus.as_ref().unwrap();
        assert_eq!((omnibus.groups, omnibus.df), (2, 1));
    }

    #[test]
    fn lowest_reference_is_the_lowest_rate_among_groups_with_min_n() {
        let population = Population::new(&[
            protected("en", 100, 30),
            protected("ar", 100, 15),
            protected("es", 100, 20),
            protected("ha", 5, 0),
        ]);
        let obs = population.observations();
        let settings = AnalysisSettings {
            reference_mode: ReferenceMode::Lowest,
            ..AnalysisSettings::default()
        };
        let c = compare(&obs, &settings);
        let record = &c.dimensions[0];
        assert_eq!(
            (record.reference_mode, record.reference.as_deref()),
            (ReferenceMode::Lowest, Some("ar"))
        );
        let groups: Vec<&str> = c.disparities.iter().map(|d| d.group.as_str()).collect();
        assert_eq!(groups, ["en", "es", "ha"]);
        assert!(
            c.disparities
                .iter()
                .all(|d| d.reference == "ar" && d.reference_n == 100)
        );
        // fixed without a named reference: no comparison, and the record says why
        let fixed = compare(
            &obs,
            &AnalysisSettings {
                reference_mode: ReferenceMode::Fixed,
                ..AnalysisSettings::default()
            },
        );
        assert!(fixed.disparities.is_empty());
        assert!(
            fixed.dimensions[0]
                .note
                .as_deref()
                .unwrap()
                .contains("no reference group")
        );
    }

    #[test]
    fn detection_is_compared_in_its_own_families() {
        let population = Population::new(&[
            ("en", "slur", None, Label::Violating, 100, 90),
            ("ar", "slur", None, Label::Violating, 100, 40),
            ("en", "c", None, Label::Protected, 100, 20),
            ("ar", "c", None, Label::Protected, 100, 20),
        ]);
        let obs = population.observations();
        let c = compare(&obs, &AnalysisSettings::default());
        let ar = of(&c, Measure::Detection, Dimension::Language, "ar");
        assert_eq!(
            (ar.group_n, ar.group_adverse, ar.reference_n, ar.reference_adverse),
            (100, 40, 100, 90)
        );
        assert!(ar.significant);
        assert_eq!(ar.family.as_deref(), Some("detection/language"));
        let over = of(&c, Measure::OverRemoval, Dimension::Language, "ar");
        assert!(!over.significant && over.family.as_deref() == Some("over_removal/language"));
        let names: Vec<&str> = c.families.iter().map(|f| f.name.as_str()).collect();
        assert!(names.contains(&"detection/language") && names.contains(&"over_removal/language"));
        let min = ar.min_detectable.as_ref().unwrap();
        assert_eq!(min.alpha, 0.05 / 2.0);
        assert_eq!(
            min.alpha_basis.as_deref(),
            Some("Bonferroni: α/m = 0.05/2 within detection/language")
        );
    }

    #[test]
    fn a_group_always_actioned_survives_stratification_without_a_finite_odds_ratio() {
        let spec = [
            ("en", "news", Some("g"), Label::Protected, 30, 30),
            ("en", "news", Some("h"), Label::Protected, 60, 10),
        ];
        let population = Population::new(&spec);
        let obs = population.observations();
        let c = compare(&obs, &AnalysisSettings::default());
        let check = of(&c, Measure::OverRemoval, Dimension::TargetGroup, "g")
            .stratified
            .clone()
            .unwrap();
        assert_eq!((check.odds_ratio, check.survives), (None, Some(true)));
    }

    #[test]
    fn a_confounded_disparity_does_not_survive_stratification() {
        // "g" is mostly reclaimed-term cases, which are removed at 50 % whoever
        // they are about; within each category g is treated like the others.
        let spec = [
            ("en", "reclaimed", Some("g"), Label::Protected, 44, 22),
            ("en", "news", Some("g"), Label::Protected, 56, 3),
            ("en", "reclaimed", Some("h"), Label::Protected, 12, 6),
            ("en", "news", Some("h"), Label::Protected, 188, 10),
        ];
        let population = Population::new(&spec);
        let obs = population.observations();
        let c = compare(&obs, &AnalysisSettings::default());
        let g = of(&c, Measure::OverRemoval, Dimension::TargetGroup, "g");
        assert!(g.significant, "the crude disparity is significant");
        let check = g.stratified.as_ref().unwrap();
        assert_eq!(check.strata_by, [Dimension::Category, Dimension::Language]);
        assert_eq!((check.strata, check.strata_used), (2, 2));
        assert_eq!(check.survives, Some(false));
        assert!(check.cmh_p_value.unwrap() > 0.5);
        let imbalance = check.largest_imbalance.as_ref().unwrap();
        assert_eq!(imbalance.value, "reclaimed");
        assert!((imbalance.group_share - 0.44).abs() < 1e-12 && (imbalance.reference_share - 0.06).abs() < 1e-12);
    }

    #[test]
    fn characteristics_that_share_cases_are_compared_with_the_cases_outside_them() {
        use crate::corpus::Characteristic::{
            EthnicityOrNationalOrigin as Ethnicity, ReligionOrBelief as Religion, SexOrGender as Sex,
        };
        // 40 cases about a group with religion and ethnicity (20 removed), 40
        // with religion only (10), 40 with sex only (4)
        let mut population = Population::new(&[
            ("en", "c", Some("jews"), Label::Protected, 40, 20),
            ("en", "c", Some("muslims"), Label::Protected, 40, 10),
            ("en", "c", Some("women"), Label::Protected, 40, 4),
        ]);
        for case in &mut population.cases {
            case.characteristics = match case.target_group.as_deref() {
                Some("jews") => [Religion, Ethnicity].into_iter().collect(),
                Some("muslims") => [Religion].into_iter().collect(),
                _ => [Sex].into_iter().collect(),
            };
        }
        let c = compare(&population.observations(), &AnalysisSettings::default());
        let religion = of(
            &c,
            Measure::OverRemoval,
            Dimension::Characteristic,
            "religion_or_belief",
        );
        assert_eq!((religion.group_n, religion.group_adverse), (80, 30));
        assert_eq!(
            (religion.reference_n, religion.reference_adverse),
            (40, 4),
            "every case once"
        );
        let ethnicity = of(
            &c,
            Measure::OverRemoval,
            Dimension::Characteristic,
            "ethnicity_or_national_origin",
        );
        assert_eq!((ethnicity.reference_n, ethnicity.reference_adverse), (80, 14));
        let record = c
            .dimensions
            .iter()
            .find(|d| d.dimension == Dimension::Characteristic && d.measure == Measure::OverRemoval)
            .unwrap();
        assert_eq!(record.omnibus, None, "no χ² across groups that share cases");
        assert!(record.note.as_deref().is_some_and(|n| n.contains("share cases")));
        assert_eq!(record.family.as_deref(), Some("over_removal/characteristic"));

        // against a fixed reference, the cases both share are left out of the reference
        let settings = AnalysisSettings {
            references: BTreeMap::from([(Dimension::Characteristic, "religion_or_belief".to_string())]),
            ..AnalysisSettings::default()
        };
        let c = compare(&population.observations(), &settings);
        let ethnicity = of(
            &c,
            Measure::OverRemoval,
            Dimension::Characteristic,
            "ethnicity_or_national_origin",
        );
        assert_eq!(
            (ethnicity.group_n, ethnicity.reference_n, ethnicity.reference_adverse),
            (40, 40, 10)
        );
        let sex = of(&c, Measure::OverRemoval, Dimension::Characteristic, "sex_or_gender");
        assert_eq!((sex.reference_n, sex.reference_adverse), (80, 30));
    }

    #[test]
    fn scored_cases_count_below_each_threshold_as_scores_or_as_steps() {
        let grid = [-0.5, 0.0, 0.25, 0.5, 1.0];
        let pool = [-1.0, -0.5, -0.0, 0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 1.0, 2.0];
        for n in 0..=3 * grid.len() {
            let scores: Vec<f64> = (0..n).map(|i| pool[(i * 7) % pool.len()]).collect();
            let mut scored = ScoredCases::default();
            for &score in &scores {
                scored.add(score, &grid);
            }
            scored.finish();
            // a cell never keeps more numbers than the grid has steps
            assert_eq!(matches!(scored, ScoredCases::Steps(_)), n > grid.len(), "{n} scores");
            for (position, &threshold) in grid.iter().enumerate() {
                let below = scores.iter().filter(|&&s| s < threshold).count() as u64;
                assert_eq!(scored.below(position, &grid), below, "{n} scores, below {threshold}");
            }
            assert_eq!(scored.count(), n as u64);
        }
    }

    #[test]
    fn swept_tallies_compare_as_the_observations_do_at_every_threshold() {
        use crate::corpus::Characteristic;
        let languages = ["en", "ar", "sw"];
        let categories = ["counter_speech", "slur", "news_reporting"];
        let groups = [Some("women"), Some("muslims"), Some("roma"), None];
        let mut cases = Vec::new();
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        for i in 0..900 {
            let label = if next(3) == 0 {
                Label::Violating
            } else {
                Label::Protected
            };
            let mut c = case(
                &format!("sw{i}"),
                languages[next(3) as usize],
                label,
                categories[next(3) as usize],
                groups[next(4) as usize],
                None,
            );
            if c.target_group.is_some() && next(2) == 0 {
                // groups with two characteristics share cases
                c.characteristics = [Characteristic::SexOrGender, Characteristic::ReligionOrBelief]
                    .into_iter()
                    .collect();
            }
            cases.push(c);
        }
        // a third of the cases keep a fixed action (two of them not decided)
        let swept: Vec<(&Case, SweptCase)> = cases
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 5 && *i != 11)
            .map(|(i, c)| match i % 3 {
                0 => (c, SweptCase::Fixed { adverse: i % 2 == 0 }),
                _ => (c, SweptCase::Scored(((i * 37) % 100) as f64 / 100.0)),
            })
            .collect();
        let adverse = AdverseSides {
            at_or_above: true,
            below: false,
        };
        let settings = AnalysisSettings {
            min_n: 5,
            ..AnalysisSettings::default()
        };
        let grid = [0.0, 0.13, 0.5, 0.51, 0.99, 1.5];
        let tallies = SweptTallies::new(swept.iter().copied(), &Dimension::COMPARED, &grid);
        for (position, &threshold) in grid.iter().enumerate() {
            let observations: Vec<Observation<'_>> = swept
                .iter()
                .map(|&(case, how)| {
                    let adverse = match how {
                        SweptCase::Fixed { adverse } => adverse,
                        SweptCase::Scored(score) => score >= threshold,
                    };
                    Observation {
                        case,
                        action: Some(if adverse { Action::Remove } else { Action::Allow }),
                        adverse,
                    }
                })
                .collect();
            let expected = compare_dimensions(&observations, &settings, &Dimension::COMPARED);
            assert!(!expected.disparities.is_empty());
            assert_eq!(
                tallies.compare_at(position, adverse, &settings),
                expected,
                "at {threshold}"
            );
        }
    }
}
