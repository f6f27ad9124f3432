//! Threshold sweeps for scoring systems: a system that removes what scores at
//! or above a threshold has no single over-removal rate, only one per
//! threshold. From the scores the run stored (no new request), this module
//! computes, per threshold:
//!
//! - over-removal (protected posts) and detection (violating posts) overall,
//!   per language and per target group with at least the minimum n — at every
//!   distinct score (at most [`MAX_CURVE_POINTS`], chosen by quantile);
//! - every disparity between languages and between target groups, with the
//!   tests and corrections of the main analysis ([`super::compare`]) — on a
//!   grid of [`SIGNIFICANCE_POINTS`] thresholds, which keeps the cost at about
//!   a hundred analyses — and the thresholds where each starts or stops being
//!   significant;
//! - one threshold per language that would bring every language's
//!   over-removal to the same level while overall detection stays at least
//!   where it is ([`Equalising`]): a finding, never applied.
//!
//! A decided case moves with the threshold when the rule explains its action:
//! it has a finite score and its recorded action is the rule's for that score
//! at the run's threshold. Any other decided case (no score, or an action the
//! system or a recording gave itself) keeps its action at every threshold and
//! is named ([`KeptCase`]); cases that ended in `error` or `unsupported` stay
//! out of every rate, as in the main analysis. At the run's threshold the
//! sweep therefore reproduces the main analysis exactly.
//!
//! [`rederive`] turns the run's decisions into those of another threshold, for
//! a whole report at another operating point (`modaudit report --threshold`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::disparity::{AdverseSides, ScoredCases, SweptCase, SweptTallies};
use super::{AnalysisSettings, Dimension, FamilyMode, Measure, Observation, compare_dimensions};
use crate::corpus::{Case, Label};
use crate::decision::{Action, Decision, DecisionIndex, OptionalScore, ScoreRule};

/// Most thresholds a curve is computed at.
pub const MAX_CURVE_POINTS: usize = 1000;

/// Thresholds the disparities are tested at.
pub const SIGNIFICANCE_POINTS: usize = 101;

/// The dimensions a sweep follows besides the overall rates.
const SWEPT_DIMENSIONS: [Dimension; 2] = [Dimension::Language, Dimension::TargetGroup];

/// Why a decided case keeps its recorded action at every threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeptReason {
    /// The system gave no finite score.
    NoScore,
    /// The recorded action is not the rule's for the score at the run's
    /// threshold: the system (or the recording) gave the action itself.
    ActionNotFromScore,
}

impl KeptReason {
    /// Why, for a reader.
    pub fn text(self) -> &'static str {
        match self {
            KeptReason::NoScore => "no score",
            KeptReason::ActionNotFromScore => "recorded action does not follow from its score",
        }
    }
}

/// A decided case whose action no threshold changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeptCase {
    pub case_id: String,
    pub action: Action,
    pub reason: KeptReason,
}

/// How a decided case moves with the threshold: its score when the rule
/// explains its action, else why it keeps its action.
pub fn swept_score(decision: &Decision, rule: &ScoreRule) -> Result<f64, KeptReason> {
    match decision.score.get().filter(|s| s.is_finite()) {
        None => Err(KeptReason::NoScore),
        Some(score) if rule.action_at(score, rule.threshold) == decision.action => Ok(score),
        Some(_) => Err(KeptReason::ActionNotFromScore),
    }
}

/// What re-deriving a run's actions at another threshold did.
#[derive(Debug, Clone, PartialEq)]
pub struct Rederivation {
    /// The threshold the actions were re-derived at.
    pub threshold: f64,
    /// Decided cases whose action was re-derived from their score.
    pub rederived: u64,
    /// Of those, how many have another action than the system gave them.
    pub changed: u64,
    /// Decided cases that keep their recorded action.
    pub kept: u64,
}

/// The decisions of `cases` as the rule would have made them at `threshold`:
/// each decided case the rule explains gets the rule's action for its score;
/// every other decision is kept as recorded.
pub fn rederive<'a>(
    cases: &[Case],
    decisions: &'a DecisionIndex,
    rule: &ScoreRule,
    threshold: f64,
) -> (Cow<'a, DecisionIndex>, Rederivation) {
    let mut rederivation = Rederivation {
        threshold,
        rederived: 0,
        changed: 0,
        kept: 0,
    };
    let mut changes: Vec<(&str, Action)> = Vec::new();
    for case in cases {
        let Some(decision) = decisions.get(case.id).filter(|d| d.action.is_decision()) else {
            continue;
        };
        match swept_score(decision, rule) {
            Ok(score) => {
                rederivation.rederived += 1;
                let action = rule.action_at(score, threshold);
                if action != decision.action {
                    rederivation.changed += 1;
                    changes.push((&case.id, action));
                }
            }
            Err(_) => rederivation.kept += 1,
        }
    }
    if changes.is_empty() {
        return (Cow::Borrowed(decisions), rederivation);
    }
    let mut rederived = decisions.clone();
    for (id, action) in changes {
        if let Some(decision) = rederived.get_mut(id) {
            decision.action = action;
        }
    }
    (Cow::Owned(rederived), rederivation)
}

/// Over-removal and detection of one group at every threshold of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Curve {
    pub dimension: Dimension,
    pub group: String,
    /// Decided protected cases.
    pub protected_n: u64,
    /// Decided violating cases.
    pub violating_n: u64,
    /// `protected_n` is below the minimum n.
    pub small_sample: bool,
    /// Share of the protected cases met with adverse action, at each
    /// threshold (empty without protected cases).
    pub over_removal_rate: Vec<f64>,
    /// Share of the violating cases met with adverse action, at each
    /// threshold (empty without violating cases).
    pub detection_rate: Vec<f64>,
}

/// Where a disparity stands at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignificanceState {
    /// Significantly above its reference after correction.
    Higher,
    /// Significantly below its reference after correction.
    Lower,
    /// Tested, not significant.
    NotSignificant,
    /// Described only (fewer cases than the minimum n).
    NotTested,
    /// Not compared at this threshold (e.g. it is the reference there).
    NotCompared,
}

impl SignificanceState {
    /// For a reader: "significantly higher", "not significant" …
    pub fn text(self) -> &'static str {
        match self {
            SignificanceState::Higher => "significantly higher",
            SignificanceState::Lower => "significantly lower",
            SignificanceState::NotSignificant => "not significant",
            SignificanceState::NotTested => "not tested",
            SignificanceState::NotCompared => "not compared",
        }
    }

    /// Whether the state claims a disparity.
    pub fn significant(self) -> bool {
        matches!(self, SignificanceState::Higher | SignificanceState::Lower)
    }
}

/// A disparity changing state between two neighbouring thresholds of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignificanceChange {
    /// The last threshold of the grid in the old state.
    pub from_threshold: f64,
    /// The first threshold of the grid in the new state.
    pub to_threshold: f64,
    pub from: SignificanceState,
    pub to: SignificanceState,
}

/// One group's comparison with its reference at every threshold of the
/// significance grid, as the main analysis would make it there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignificanceTrack {
    pub measure: Measure,
    pub dimension: Dimension,
    pub group: String,
    /// The state at each threshold of `Sweep::significance_thresholds`.
    pub states: Vec<SignificanceState>,
    /// The adjusted p-value at each threshold (`None` where not tested).
    pub p_adjusted: Vec<Option<f64>>,
    /// Where the state changes, as the threshold rises.
    pub changes: Vec<SignificanceChange>,
}

/// One language at the threshold that equalises over-removal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EqualisingLanguage {
    pub language: String,
    /// The language's threshold; `None`: above every score of the language
    /// (no scored post of it actioned).
    pub threshold: Option<f64>,
    pub protected_n: u64,
    /// Protected posts actioned at the operating threshold, and at the language's.
    pub protected_adverse_now: u64,
    pub protected_adverse: u64,
    pub violating_n: u64,
    pub violating_adverse_now: u64,
    pub violating_adverse: u64,
    /// `protected_n` is below the minimum n: its threshold rests on few posts.
    pub small_sample: bool,
}

/// One threshold per language that brings every language's over-removal to
/// at most one common rate — the lowest for which overall detection stays at
/// least where it is at the operating threshold. A what-if, never applied.
///
/// For a common rate r, each language gets the lowest threshold (among its
/// scores and the operating threshold, or above all of them) at which its
/// over-removal is at most r: the most it can detect without exceeding r.
/// Overall detection grows with r; the rate reported is the smallest one at
/// which it reaches the operating threshold's. Languages without decided
/// protected cases keep the operating threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Equalising {
    /// The common rate no language's over-removal exceeds.
    pub over_removal_rate: f64,
    /// Overall over-removal at the operating threshold, and with these thresholds.
    pub overall_over_removal_now: f64,
    pub overall_over_removal: f64,
    /// Overall detection at the operating threshold, and with these thresholds.
    pub overall_detection_now: f64,
    pub overall_detection: f64,
    pub languages: Vec<EqualisingLanguage>,
}

/// A scoring run across thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sweep {
    /// How the system turned scores into actions, at the run's threshold.
    pub rule: ScoreRule,
    /// The threshold of the report's rates: the run's, or the one it is
    /// re-analysed at.
    pub operating_threshold: f64,
    /// Decided cases whose action follows their score.
    pub swept_cases: u64,
    /// Decided cases that keep their action at every threshold.
    pub kept: Vec<KeptCase>,
    /// The thresholds of the curves, ascending: every distinct score (by
    /// quantile when there are more than [`MAX_CURVE_POINTS`]), and the run's
    /// and the operating threshold.
    pub thresholds: Vec<f64>,
    /// Index of the run's threshold in `thresholds`.
    pub rule_index: usize,
    /// Index of the operating threshold in `thresholds`.
    pub operating_index: usize,
    /// Overall, each language, and each target group with at least the minimum n.
    pub curves: Vec<Curve>,
    /// The thresholds the disparities are tested at, ascending: the distinct
    /// scores when there are at most [`SIGNIFICANCE_POINTS`], else an even grid
    /// of that many points over the scores' range (0 to 1 for scores within
    /// it); and the run's and the operating threshold.
    pub significance_thresholds: Vec<f64>,
    /// Every disparity between languages and between target groups.
    pub significance: Vec<SignificanceTrack>,
    /// Per-language thresholds that would equalise over-removal, when there
    /// are violating cases to hold detection on and two languages to equalise.
    pub equalising: Option<Equalising>,
}

/// One case as the sweep sees it, in sixteen bytes (a million cases take
/// sixteen megabytes).
#[derive(Clone, Copy)]
struct Point {
    /// The case's position in the cases swept.
    case: u32,
    /// The recorded action (`None`: not decided yet).
    action: Option<Action>,
    /// Whether the recorded action is adverse.
    adverse: bool,
    /// The score, when the rule explains the action.
    score: OptionalScore,
}

impl Point {
    fn decided(self) -> bool {
        self.action.is_some_and(Action::is_decision)
    }

    /// The point's case as the main analysis sees it at `threshold`.
    fn observation_at<'a>(self, case: &'a Case, threshold: f64, rule: &ScoreRule, adverse: Adverse) -> Observation<'a> {
        match self.score.get() {
            Some(score) => {
                let at_or_above = score >= threshold;
                Observation {
                    case,
                    action: Some(rule.action_at(score, threshold)),
                    adverse: if at_or_above {
                        adverse.at_or_above
                    } else {
                        adverse.below
                    },
                }
            }
            None => Observation {
                case,
                action: self.action,
                adverse: self.adverse,
            },
        }
    }
}

/// The corpus cases of a sweep, each with its [`Point`].
struct Points<'a> {
    cases: &'a [Case],
    points: Vec<Point>,
}

impl<'a> Points<'a> {
    /// Sees every corpus case of `cases` (not the `[perturb]` variants);
    /// the decided cases the rule does not explain go to `kept`.
    fn new(
        cases: &'a [Case],
        decisions: &DecisionIndex,
        settings: &SweepSettings<'_>,
        kept: &mut Vec<KeptCase>,
    ) -> Points<'a> {
        // Counted first: a list grown while collecting would reach up to
        // twice the room it needs.
        let mut points = Vec::with_capacity(cases.iter().filter(|case| !case.is_variant()).count());
        for (index, case) in cases.iter().enumerate().filter(|(_, case)| !case.is_variant()) {
            let decision = decisions.get(case.id);
            let action = decision.map(|d| d.action);
            let score =
                decision
                    .filter(|d| d.action.is_decision())
                    .and_then(|d| match swept_score(d, &settings.rule) {
                        Ok(score) => Some(score),
                        Err(reason) => {
                            kept.push(KeptCase {
                                case_id: case.id.to_string(),
                                action: d.action,
                                reason,
                            });
                            None
                        }
                    });
            points.push(Point {
                case: u32::try_from(index).expect("fewer than 2^32 cases: each has an id of its own, numbered in u32"),
                action,
                adverse: action.is_some_and(|a| a.is_decision() && (settings.is_adverse)(a)),
                score: score.into(),
            });
        }
        Points { cases, points }
    }

    /// Each case with its point.
    fn iter(&self) -> impl Iterator<Item = (&'a Case, Point)> + Clone + '_ {
        let cases = self.cases;
        self.points.iter().map(move |p| (&cases[p.case as usize], *p))
    }

    /// The scores of the cases that move with the threshold.
    fn scores(&self) -> impl Iterator<Item = f64> + '_ {
        self.points.iter().filter_map(|p| p.score.get())
    }
}

/// What a sweep needs besides the decisions.
pub struct SweepSettings<'a> {
    /// How the system turned scores into actions, at the run's threshold.
    pub rule: ScoreRule,
    /// The threshold of the report's rates.
    pub operating_threshold: f64,
    /// Whether an action counts as adverse.
    pub is_adverse: &'a dyn Fn(Action) -> bool,
    /// The main analysis's settings: its tests, corrections and minimum n.
    pub analysis: &'a AnalysisSettings,
}

/// The sweep of a scoring run over its corpus cases (`[perturb]` variants are
/// left out, as in the main analysis); `None` when no case was decided.
pub fn sweep(cases: &[Case], decisions: &DecisionIndex, settings: &SweepSettings<'_>) -> Option<Sweep> {
    let rule = settings.rule;
    let mut kept = Vec::new();
    let points = Points::new(cases, decisions, settings, &mut kept);
    if !points.points.iter().any(|p| p.decided()) {
        return None;
    }
    let anchors = [rule.threshold, settings.operating_threshold];
    // The distinct scores live only while the grids are drawn from them.
    let (thresholds, significance_thresholds) = {
        let mut scores = Vec::with_capacity(points.scores().count());
        scores.extend(points.scores());
        scores.sort_unstable_by(f64::total_cmp);
        scores.dedup();
        (
            with_anchors(curve_grid(&scores), &anchors),
            with_anchors(significance_grid(&scores), &anchors),
        )
    };
    let index_of = |t: f64| thresholds.iter().position(|&x| x == t).unwrap_or_default();
    let adverse = Adverse::of(&rule, settings.is_adverse);
    let curves = curves(&points, &thresholds, adverse, settings.analysis.min_n);
    let significance = significance(&points, &significance_thresholds, &rule, adverse, settings.analysis);
    let equalising = equalising(&points, adverse, settings.operating_threshold, settings.analysis.min_n);
    Some(Sweep {
        rule,
        operating_threshold: settings.operating_threshold,
        swept_cases: points.scores().count() as u64,
        kept,
        rule_index: index_of(rule.threshold),
        operating_index: index_of(settings.operating_threshold),
        thresholds,
        curves,
        significance_thresholds,
        significance,
        equalising,
    })
}

/// The thresholds of the curves: every distinct score, or [`MAX_CURVE_POINTS`]
/// of them chosen by quantile (the lowest and the highest among them).
fn curve_grid(scores: &[f64]) -> Vec<f64> {
    if scores.len() <= MAX_CURVE_POINTS {
        return scores.to_vec();
    }
    let last = scores.len() - 1;
    (0..MAX_CURVE_POINTS)
        .map(|i| scores[i * last / (MAX_CURVE_POINTS - 1)])
        .collect()
}

/// The thresholds the disparities are tested at: every distinct score when
/// there are at most [`SIGNIFICANCE_POINTS`], else an even grid of that many
/// points from the lowest score to the highest (0 to 1 when every score lies
/// within them, so the grid reads 0.00, 0.01 … 1.00).
fn significance_grid(scores: &[f64]) -> Vec<f64> {
    if scores.len() <= SIGNIFICANCE_POINTS {
        return scores.to_vec();
    }
    let (low, high) = (scores[0], scores[scores.len() - 1]);
    let steps = (SIGNIFICANCE_POINTS - 1) as f64;
    if low >= 0.0 && high <= 1.0 {
        return (0..SIGNIFICANCE_POINTS).map(|i| i as f64 / steps).collect();
    }
    (0..SIGNIFICANCE_POINTS)
        .map(|i| low + (high - low) * i as f64 / steps)
        .collect()
}

/// A grid with the given thresholds added, ascending, without repeats.
fn with_anchors(mut grid: Vec<f64>, anchors: &[f64]) -> Vec<f64> {
    grid.extend(anchors.iter().copied().filter(|t| t.is_finite()));
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    grid
}

/// Whether the rule's two actions are adverse.
type Adverse = AdverseSides;

impl Adverse {
    fn of(rule: &ScoreRule, is_adverse: &dyn Fn(Action) -> bool) -> Adverse {
        Adverse {
            at_or_above: is_adverse(rule.at_or_above),
            below: is_adverse(rule.below),
        }
    }
}

/// The cases of one label in one group: the sorted scores of those that move
/// with the threshold, and how many of the others are adverse.
#[derive(Debug, Default, Clone)]
struct Side {
    scores: Vec<f64>,
    kept: u64,
    kept_adverse: u64,
}

impl Side {
    fn add(&mut self, point: Point) {
        match point.score.get() {
            Some(score) => self.scores.push(score),
            None => {
                self.kept += 1;
                self.kept_adverse += u64::from(point.adverse);
            }
        }
    }

    fn n(&self) -> u64 {
        self.scores.len() as u64 + self.kept
    }

    /// Adverse cases at `threshold`; `scores` must be sorted.
    fn adverse_at(&self, threshold: f64, adverse: Adverse) -> u64 {
        let below = self.scores.partition_point(|&s| s < threshold) as u64;
        let at_or_above = self.scores.len() as u64 - below;
        self.kept_adverse + if adverse.at_or_above { at_or_above } else { 0 } + if adverse.below { below } else { 0 }
    }
}

/// The cases of one label in one group as the thresholds of the curves see
/// them: at most one count per threshold, however many cases the group has.
#[derive(Debug, Default)]
struct CurveSide {
    scored: ScoredCases,
    kept: u64,
    kept_adverse: u64,
}

impl CurveSide {
    fn add(&mut self, point: Point, thresholds: &[f64]) {
        match point.score.get() {
            Some(score) => self.scored.add(score, thresholds),
            None => {
                self.kept += 1;
                self.kept_adverse += u64::from(point.adverse);
            }
        }
    }

    fn n(&self) -> u64 {
        self.scored.count() + self.kept
    }

    /// Adverse cases at the threshold at `position` in `thresholds`.
    fn adverse_at(&self, position: usize, thresholds: &[f64], adverse: Adverse) -> u64 {
        let below = self.scored.below(position, thresholds);
        let at_or_above = self.scored.count() - below;
        self.kept_adverse + if adverse.at_or_above { at_or_above } else { 0 } + if adverse.below { below } else { 0 }
    }
}

/// A group's protected and violating sides.
#[derive(Debug, Default, Clone)]
struct Sides<S> {
    protected: S,
    violating: S,
}

/// The decided cases of every group of `dimension`, by group, each given to
/// `add` with the side of its label; `groups` holds the sides the groups start
/// with (a group not in it starts with empty ones).
fn sides_by_group<S: Default>(
    mut groups: BTreeMap<String, Sides<S>>,
    points: &Points<'_>,
    dimension: Dimension,
    mut add: impl FnMut(&mut S, Point),
) -> BTreeMap<String, Sides<S>> {
    for (case, p) in points.iter().filter(|(_, p)| p.decided()) {
        let Some(value) = dimension.value_of(case) else {
            continue;
        };
        let sides = match groups.get_mut(value.as_ref()) {
            Some(sides) => sides,
            None => groups.entry(value.into_owned()).or_default(),
        };
        let side = match case.label {
            Label::Protected => &mut sides.protected,
            Label::Violating => &mut sides.violating,
        };
        add(side, p);
    }
    groups
}

/// The curve of one group.
fn curve(
    dimension: Dimension,
    group: String,
    sides: &Sides<CurveSide>,
    thresholds: &[f64],
    adverse: Adverse,
    min_n: u64,
) -> Curve {
    let rates = |side: &CurveSide| -> Vec<f64> {
        let n = side.n();
        if n == 0 {
            return Vec::new();
        }
        (0..thresholds.len())
            .map(|position| side.adverse_at(position, thresholds, adverse) as f64 / n as f64)
            .collect()
    };
    let protected_n = sides.protected.n();
    Curve {
        dimension,
        group,
        protected_n,
        violating_n: sides.violating.n(),
        small_sample: protected_n < min_n,
        over_removal_rate: rates(&sides.protected),
        detection_rate: rates(&sides.violating),
    }
}

/// The overall curve, one per language, and one per target group with at
/// least `min_n` decided protected cases.
fn curves(points: &Points<'_>, thresholds: &[f64], adverse: Adverse, min_n: u64) -> Vec<Curve> {
    let mut out = Vec::new();
    for dimension in [Dimension::Overall, Dimension::Language, Dimension::TargetGroup] {
        let mut groups = sides_by_group(BTreeMap::new(), points, dimension, |side: &mut CurveSide, p| {
            side.add(p, thresholds);
        });
        for sides in groups.values_mut() {
            sides.protected.scored.finish();
            sides.violating.scored.finish();
        }
        for (group, sides) in groups {
            if dimension == Dimension::TargetGroup && sides.protected.n() < min_n {
                continue;
            }
            out.push(curve(dimension, group, &sides, thresholds, adverse, min_n));
        }
    }
    out
}

/// A comparison's state at one threshold: measure, dimension, group, state, adjusted p.
type Tested = (Measure, Dimension, String, SignificanceState, Option<f64>);

/// Every disparity between languages and between target groups, tested as
/// the main analysis tests them, at each threshold of `grid`. The thresholds
/// are independent of one another: they are shared out among the machine's
/// cores, and the result does not depend on how.
fn significance(
    points: &Points<'_>,
    grid: &[f64],
    rule: &ScoreRule,
    adverse: Adverse,
    settings: &AnalysisSettings,
) -> Vec<SignificanceTrack> {
    // Families per dimension make the languages' and target groups'
    // comparisons independent of the other dimensions; pooled ones do not.
    let dimensions: &[Dimension] = match settings.families {
        FamilyMode::PerDimension => &SWEPT_DIMENSIONS,
        FamilyMode::Pooled => &Dimension::COMPARED,
    };
    // When both of the rule's actions are decisions, a scored case is decided
    // at every threshold and the cases can be counted once.
    let swept = (rule.at_or_above.is_decision() && rule.below.is_decision()).then(|| {
        let cases = points.iter().filter_map(|(case, p)| match p.score.get() {
            Some(score) => Some((case, SweptCase::Scored(score))),
            None => p.decided().then_some((case, SweptCase::Fixed { adverse: p.adverse })),
        });
        SweptTallies::new(cases, dimensions, grid)
    });
    let tested_at = |position: usize, threshold: f64| -> Vec<Tested> {
        let comparisons = match &swept {
            Some(swept) => swept.compare_at(position, adverse, settings),
            None => {
                let observations: Vec<Observation<'_>> = points
                    .iter()
                    .map(|(case, p)| p.observation_at(case, threshold, rule, adverse))
                    .collect();
                compare_dimensions(&observations, settings, dimensions)
            }
        };
        comparisons
            .disparities
            .into_iter()
            .filter(|d| SWEPT_DIMENSIONS.contains(&d.dimension))
            .map(|d| {
                let state = match (d.tested, d.significant) {
                    (false, _) => SignificanceState::NotTested,
                    (true, false) => SignificanceState::NotSignificant,
                    (true, true) if d.difference > 0.0 => SignificanceState::Higher,
                    (true, true) => SignificanceState::Lower,
                };
                (d.measure, d.dimension, d.group, state, d.p_adjusted)
            })
            .collect()
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, grid.len().max(1));
    let per_worker = grid.len().div_ceil(workers).max(1);
    let tested: Vec<Vec<Tested>> = std::thread::scope(|scope| {
        let handles: Vec<_> = grid
            .chunks(per_worker)
            .enumerate()
            .map(|(chunk, part)| {
                let tested_at = &tested_at;
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, &t)| tested_at(chunk * per_worker + i, t))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    type Key = (Measure, Dimension, String);
    let mut tracks: BTreeMap<Key, (Vec<SignificanceState>, Vec<Option<f64>>)> = BTreeMap::new();
    for (i, at) in tested.into_iter().enumerate() {
        for (measure, dimension, group, state, p) in at {
            let (states, p_adjusted) = tracks
                .entry((measure, dimension, group))
                .or_insert_with(|| (vec![SignificanceState::NotCompared; grid.len()], vec![None; grid.len()]));
            states[i] = state;
            p_adjusted[i] = p;
        }
    }
    tracks
        .into_iter()
        .map(|((measure, dimension, group), (states, p_adjusted))| {
            let changes = states
                .windows(2)
                .zip(grid.windows(2))
                .filter(|(s, _)| s[0] != s[1])
                .map(|(s, t)| SignificanceChange {
                    from_threshold: t[0],
                    to_threshold: t[1],
                    from: s[0],
                    to: s[1],
                })
                .collect();
            SignificanceTrack {
                measure,
                dimension,
                group,
                states,
                p_adjusted,
                changes,
            }
        })
        .collect()
}

/// One language's over-removal and detection as functions of its threshold.
/// Its candidate thresholds are its scores, protected and violating, and the
/// operating threshold; and above every score (`None`).
struct LanguageSides {
    language: String,
    sides: Sides<Side>,
}

impl LanguageSides {
    fn adverse_at(side: &Side, threshold: Option<f64>, adverse: Adverse) -> u64 {
        side.adverse_at(threshold.unwrap_or(f64::INFINITY), adverse)
    }

    /// Over-removal at `threshold`, computed as every rate of the search is,
    /// so that equal shares compare equal.
    fn over_removal_at(&self, threshold: Option<f64>, adverse: Adverse) -> f64 {
        Self::adverse_at(&self.sides.protected, threshold, adverse) as f64 / self.sides.protected.n() as f64
    }

    /// The lowest candidate threshold at which over-removal is at most
    /// `rate` (`Some(None)`: above every score). Over-removal falls as the
    /// threshold rises, so among each sorted kind of candidate those within
    /// `rate` come last: the lowest of the kinds' lowest is the one.
    fn lowest_threshold_within(&self, rate: f64, adverse: Adverse, operating: f64) -> Option<Option<f64>> {
        let within = |t: Option<f64>| self.over_removal_at(t, adverse) <= rate;
        let lowest_of = |scores: &[f64]| scores.get(scores.partition_point(|&s| !within(Some(s)))).copied();
        [
            lowest_of(&self.sides.protected.scores),
            lowest_of(&self.sides.violating.scores),
            Some(operating).filter(|&t| within(Some(t))),
        ]
        .into_iter()
        .flatten()
        .min_by(f64::total_cmp)
        .map(Some)
        .or_else(|| within(None).then_some(None))
    }

    /// Every over-removal rate the language's candidate thresholds give,
    /// each once, falling. Over-removal changes only at protected scores: at
    /// any other candidate it is that of the next protected score up, or of
    /// none above every score.
    fn over_removal_rates(&self, adverse: Adverse) -> impl Iterator<Item = f64> + '_ {
        let mut last = None;
        self.sides
            .protected
            .scores
            .iter()
            .map(|&s| Some(s))
            .chain([None])
            .map(move |t| self.over_removal_at(t, adverse))
            .filter(move |&rate| last.replace(rate) != Some(rate))
    }
}

/// Per-language thresholds that equalise over-removal (see [`Equalising`]).
fn equalising(points: &Points<'_>, adverse: Adverse, operating: f64, min_n: u64) -> Option<Equalising> {
    if !adverse.at_or_above || adverse.below {
        // Adverse action does not come with a high score: no threshold trades
        // over-removal for detection.
        return None;
    }
    // Each side's scores are counted first, so that their lists take the
    // room they need and no more.
    let scored = sides_by_group(BTreeMap::new(), points, Dimension::Language, |n: &mut usize, p| {
        *n += usize::from(p.score.get().is_some());
    });
    let room = |n: usize| Side {
        scores: Vec::with_capacity(n),
        ..Side::default()
    };
    let sized = scored
        .into_iter()
        .map(|(language, n)| {
            let sides = Sides {
                protected: room(n.protected),
                violating: room(n.violating),
            };
            (language, sides)
        })
        .collect();
    let mut by_language = sides_by_group(sized, points, Dimension::Language, Side::add);
    for sides in by_language.values_mut() {
        sides.protected.scores.sort_unstable_by(f64::total_cmp);
        sides.violating.scores.sort_unstable_by(f64::total_cmp);
    }
    let (with_protected, without): (Vec<_>, Vec<_>) = by_language.into_iter().partition(|(_, s)| s.protected.n() > 0);
    if with_protected.len() < 2 {
        return None;
    }
    let violating_n: u64 = with_protected
        .iter()
        .chain(&without)
        .map(|(_, s)| s.violating.n())
        .sum();
    let protected_n: u64 = with_protected.iter().map(|(_, s)| s.protected.n()).sum();
    if violating_n == 0 {
        return None;
    }
    let detected_without: u64 = without
        .iter()
        .map(|(_, s)| s.violating.adverse_at(operating, adverse))
        .sum();
    let languages: Vec<LanguageSides> = with_protected
        .into_iter()
        .map(|(language, sides)| LanguageSides { language, sides })
        .collect();
    let detected = |thresholds: &[Option<f64>]| -> u64 {
        detected_without
            + languages
                .iter()
                .zip(thresholds)
                .map(|(l, t)| LanguageSides::adverse_at(&l.sides.violating, *t, adverse))
                .sum::<u64>()
    };
    let now: Vec<Option<f64>> = vec![Some(operating); languages.len()];
    let detected_now = detected(&now);
    let mut rates: Vec<f64> = Vec::with_capacity(languages.iter().map(|l| l.over_removal_rates(adverse).count()).sum());
    rates.extend(languages.iter().flat_map(|l| l.over_removal_rates(adverse)));
    rates.sort_unstable_by(f64::total_cmp);
    rates.dedup();
    // The thresholds for a common rate, when they hold detection.
    let holding = |rate: f64| -> Option<Vec<Option<f64>>> {
        let thresholds: Option<Vec<Option<f64>>> = languages
            .iter()
            .map(|l| l.lowest_threshold_within(rate, adverse, operating))
            .collect();
        thresholds.filter(|t| detected(t) >= detected_now)
    };
    // A higher common rate allows lower thresholds, which detect more: the
    // rates that hold detection are the upper part of the list.
    let first = rates.partition_point(|&r| holding(r).is_none());
    let rate = *rates.get(first)?;
    let thresholds = holding(rate)?;
    let protected_adverse = |ts: &[Option<f64>]| -> u64 {
        languages
            .iter()
            .zip(ts)
            .map(|(l, t)| LanguageSides::adverse_at(&l.sides.protected, *t, adverse))
            .sum()
    };
    Some(Equalising {
        over_removal_rate: rate,
        overall_over_removal_now: protected_adverse(&now) as f64 / protected_n as f64,
        overall_over_removal: protected_adverse(&thresholds) as f64 / protected_n as f64,
        overall_detection_now: detected_now as f64 / violating_n as f64,
        overall_detection: detected(&thresholds) as f64 / violating_n as f64,
        languages: languages
            .iter()
            .zip(&thresholds)
            .map(|(l, &threshold)| EqualisingLanguage {
                language: l.language.clone(),
                threshold,
                protected_n: l.sides.protected.n(),
                protected_adverse_now: l.sides.protected.adverse_at(operating, adverse),
                protected_adverse: LanguageSides::adverse_at(&l.sides.protected, threshold, adverse),
                violating_n: l.sides.violating.n(),
                violating_adverse_now: l.sides.violating.adverse_at(operating, adverse),
                violating_adverse: LanguageSides::adverse_at(&l.sides.violating, threshold, adverse),
                small_sample: l.sides.protected.n() < min_n,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {

    use super::super::test_support::case;
    use super::super::{compare, slices};
    use super::*;

    fn decision(action: Action, score: Option<f64>) -> Decision {
        Decision {
            action,
            score: score.into(),
            latency_ms: 1,
            attempts: 1,
            cache_hit: false,
            details: None,
        }
    }

    /// Cases of `(id, lang, label, target group, score)`, decided by the rule
    /// at `threshold`.
    fn scored(rows: &[(&str, &str, Label, Option<&str>, f64)], threshold: f64) -> (Vec<Case>, DecisionIndex) {
        let rule = ScoreRule::remove_at_or_above(threshold);
        let cases = rows
            .iter()
            .map(|(id, lang, label, group, _)| case(id, lang, *label, "c", *group, None))
            .collect();
        let decisions = rows
            .iter()
            .map(|(id, _, _, _, score)| {
                (
                    id.to_string(),
                    decision(rule.action_at(*score, threshold), Some(*score)),
                )
            })
            .collect();
        (cases, decisions)
    }

    fn is_adverse(action: Action) -> bool {
        action.is_decision() && action != Action::Allow
    }

    fn run(cases: &[Case], decisions: &DecisionIndex, threshold: f64, operating: f64, min_n: u64) -> Sweep {
        let analysis = AnalysisSettings {
            min_n,
            ..AnalysisSettings::default()
        };
        let settings = SweepSettings {
            rule: ScoreRule::remove_at_or_above(threshold),
            operating_threshold: operating,
            is_adverse: &is_adverse,
            analysis: &analysis,
        };
        sweep(cases, decisions, &settings).expect("decided cases")
    }

    use Label::{Protected as P, Violating as V};

    /// English and French, four protected and four violating posts each; at
    /// 0.5 English removes 1 of 4 protected and detects 2 of 4, French removes
    /// 3 of 4 and detects 4 of 4.
    const TWO_LANGUAGES: [(&str, &str, Label, Option<&str>, f64); 16] = [
        ("e1", "en", P, Some("g"), 0.1),
        ("e2", "en", P, Some("h"), 0.2),
        ("e3", "en", P, Some("g"), 0.3),
        ("e4", "en", P, Some("h"), 0.6),
        ("e5", "en", V, Some("g"), 0.9),
        ("e6", "en", V, Some("h"), 0.8),
        ("e7", "en", V, Some("g"), 0.4),
        ("e8", "en", V, Some("h"), 0.3),
        ("f1", "fr", P, Some("g"), 0.55),
        ("f2", "fr", P, Some("h"), 0.6),
        ("f3", "fr", P, Some("g"), 0.7),
        ("f4", "fr", P, Some("h"), 0.2),
        ("f5", "fr", V, Some("g"), 0.95),
        ("f6", "fr", V, Some("h"), 0.9),
        ("f7", "fr", V, Some("g"), 0.85),
        ("f8", "fr", V, Some("h"), 0.65),
    ];

    #[test]
    fn equalising_thresholds_match_a_hand_computation() {
        let (cases, decisions) = scored(&TWO_LANGUAGES, 0.5);
        let sweep = run(&cases, &decisions, 0.5, 0.5, 1);
        let eq = sweep.equalising.expect("two languages with protected posts");
        // at a common rate of 0 English needs a threshold above 0.6 (0.8: 2
        // detected) and French above 0.7 (0.85: 3 detected): 5 of 8 < 6 of 8.
        // At 1 in 4, English 0.4 detects 3 and French 0.65 detects 4: 7 of 8.
        assert_eq!(eq.over_removal_rate, 0.25);
        let thresholds: Vec<(&str, Option<f64>)> = eq
            .languages
            .iter()
            .map(|l| (l.language.as_str(), l.threshold))
            .collect();
        assert_eq!(thresholds, [("en", Some(0.4)), ("fr", Some(0.65))]);
        assert_eq!((eq.overall_detection_now, eq.overall_detection), (0.75, 0.875));
        assert_eq!((eq.overall_over_removal_now, eq.overall_over_removal), (0.5, 0.25));
        let fr = &eq.languages[1];
        assert_eq!(
            (
                fr.protected_adverse_now,
                fr.protected_adverse,
                fr.violating_adverse_now,
                fr.violating_adverse
            ),
            (3, 1, 4, 4)
        );
    }

    #[test]
    fn at_the_run_threshold_the_sweep_is_the_main_analysis() {
        let (cases, decisions) = scored(&TWO_LANGUAGES, 0.5);
        let sweep = run(&cases, &decisions, 0.5, 0.5, 2);
        assert_eq!(sweep.thresholds[sweep.rule_index], 0.5);
        let observations: Vec<Observation<'_>> = cases
            .iter()
            .map(|c| {
                let action = decisions[c.id.as_str()].action;
                Observation {
                    case: c,
                    action: Some(action),
                    adverse: is_adverse(action),
                }
            })
            .collect();
        let settings = AnalysisSettings {
            min_n: 2,
            ..AnalysisSettings::default()
        };
        for slice in slices(&observations, &settings).iter().filter(|s| {
            matches!(
                s.dimension,
                Dimension::Overall | Dimension::Language | Dimension::TargetGroup
            )
        }) {
            let curve = sweep
                .curves
                .iter()
                .find(|c| c.dimension == slice.dimension && c.group == slice.value)
                .unwrap_or_else(|| panic!("no curve for {}", slice.value));
            assert_eq!(
                curve.over_removal_rate[sweep.rule_index],
                slice.over_removal_rate.unwrap()
            );
            assert_eq!(curve.detection_rate[sweep.rule_index], slice.detection_rate.unwrap());
        }
        let main = compare(&observations, &settings);
        let k = sweep.significance_thresholds.iter().position(|&t| t == 0.5).unwrap();
        for track in &sweep.significance {
            let d = main
                .disparities
                .iter()
                .find(|d| d.measure == track.measure && d.dimension == track.dimension && d.group == track.group)
                .unwrap();
            assert_eq!(track.p_adjusted[k], d.p_adjusted);
            assert_eq!(track.states[k].significant(), d.significant);
        }
    }

    #[test]
    fn curves_fall_as_the_threshold_rises() {
        let (cases, decisions) = scored(&TWO_LANGUAGES, 0.5);
        let sweep = run(&cases, &decisions, 0.5, 0.7, 1);
        let overall = &sweep.curves[0];
        assert_eq!((overall.dimension, overall.group.as_str()), (Dimension::Overall, "all"));
        assert_eq!(sweep.thresholds.first(), Some(&0.1));
        assert_eq!(sweep.thresholds.last(), Some(&0.95));
        assert!(overall.over_removal_rate.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(overall.over_removal_rate[0], 1.0);
        // at 0.7: protected 0.7 (fr); violating 0.9, 0.8, 0.95, 0.9, 0.85
        assert_eq!(sweep.thresholds[sweep.operating_index], 0.7);
        assert_eq!(overall.over_removal_rate[sweep.operating_index], 1.0 / 8.0);
        assert_eq!(overall.detection_rate[sweep.operating_index], 5.0 / 8.0);
    }

    #[test]
    fn cases_the_rule_does_not_explain_keep_their_action() {
        let (cases, mut decisions) = scored(&TWO_LANGUAGES, 0.5);
        // no score: removed at every threshold; an action the recording gave
        // itself (allowed with a high score): allowed at every threshold
        decisions.insert("e1", decision(Action::Remove, None));
        decisions.insert("f3", decision(Action::Allow, Some(0.7)));
        decisions.insert("f4", decision(Action::Error, None));
        let sweep = run(&cases, &decisions, 0.5, 0.5, 1);
        assert_eq!(
            sweep.kept,
            [
                KeptCase {
                    case_id: "e1".into(),
                    action: Action::Remove,
                    reason: KeptReason::NoScore
                },
                KeptCase {
                    case_id: "f3".into(),
                    action: Action::Allow,
                    reason: KeptReason::ActionNotFromScore
                },
            ]
        );
        assert_eq!(sweep.swept_cases, 13);
        let fr = sweep
            .curves
            .iter()
            .find(|c| c.dimension == Dimension::Language && c.group == "fr")
            .unwrap();
        // f4 ended in error: three decided protected posts, f3 never removed
        assert_eq!(fr.protected_n, 3);
        assert_eq!(fr.over_removal_rate.last(), Some(&0.0));
        let en = sweep
            .curves
            .iter()
            .find(|c| c.dimension == Dimension::Language && c.group == "en")
            .unwrap();
        assert!(en.over_removal_rate.iter().all(|&r| r >= 0.25), "e1 stays removed");
        let (rederived, what) = rederive(&cases, &decisions, &ScoreRule::remove_at_or_above(0.5), 0.7);
        assert_eq!((what.rederived, what.kept), (13, 2));
        // 0.55, 0.6 (twice) and 0.65 fall below 0.7
        assert_eq!(what.changed, 4);
        assert_eq!(rederived["e4"].action, Action::Allow);
        assert_eq!(rederived["e1"].action, Action::Remove);
        assert_eq!(rederived["f3"].action, Action::Allow);
        assert_eq!(rederived["f4"].action, Action::Error);
        let (same, nothing) = rederive(&cases, &decisions, &ScoreRule::remove_at_or_above(0.5), 0.5);
        assert!(matches!(same, Cow::Borrowed(_)) && nothing.changed == 0);
    }

    #[test]
    fn a_disparity_can_stop_being_significant_as_the_threshold_rises() {
        // 40 protected posts per language; en scores spread evenly over
        // 0.00–0.39, fr over 0.40–0.79: at a low threshold both are removed
        // alike, in between only fr, and above 0.8 neither.
        let mut rows = Vec::new();
        let ids: Vec<(String, String)> = (0..40).map(|i| (format!("e{i}"), format!("f{i}"))).collect();
        for (i, (e, f)) in ids.iter().enumerate() {
            rows.push((e.as_str(), "en", P, None, i as f64 / 100.0));
            rows.push((f.as_str(), "fr", P, None, 0.4 + i as f64 / 100.0));
        }
        let (cases, decisions) = scored(&rows, 0.5);
        let sweep = run(&cases, &decisions, 0.5, 0.5, 30);
        let fr = sweep
            .significance
            .iter()
            .find(|t| t.dimension == Dimension::Language && t.group == "fr")
            .unwrap();
        assert_eq!(sweep.significance_thresholds.len(), 80);
        let state_at = |t: f64| {
            let i = sweep.significance_thresholds.iter().position(|&x| x == t).unwrap();
            fr.states[i]
        };
        assert_eq!(state_at(0.0), SignificanceState::NotSignificant);
        assert_eq!(state_at(0.5), SignificanceState::Higher);
        assert_eq!(state_at(0.79), SignificanceState::NotSignificant);
        assert!(fr.changes.len() >= 2, "{:?}", fr.changes);
        let start = fr.changes[0];
        assert_eq!(
            (start.from, start.to),
            (SignificanceState::NotSignificant, SignificanceState::Higher)
        );
        assert!(start.from_threshold < start.to_threshold);
    }

    #[test]
    fn a_point_takes_sixteen_bytes() {
        // a million cases: sixteen megabytes, held for the whole sweep
        assert_eq!(std::mem::size_of::<Point>(), 16);
    }

    #[test]
    fn grids_are_capped_and_keep_the_run_threshold() {
        let scores: Vec<f64> = (0..5000).map(|i| f64::from(i) / 5000.0).collect();
        let curve = curve_grid(&scores);
        assert_eq!(curve.len(), MAX_CURVE_POINTS);
        assert_eq!((curve[0], curve[MAX_CURVE_POINTS - 1]), (0.0, 0.9998));
        let grid = significance_grid(&scores);
        assert_eq!(grid.len(), SIGNIFICANCE_POINTS);
        assert_eq!((grid[7], grid[100]), (0.07, 1.0));
        let wide: Vec<f64> = (0..500).map(|i| f64::from(i) - 200.0).collect();
        let grid = significance_grid(&wide);
        assert_eq!((grid[0], grid[50], grid[100]), (-200.0, 49.5, 299.0));
        let anchored = with_anchors(grid, &[0.123, 49.5, f64::NAN]);
        assert_eq!(anchored.len(), SIGNIFICANCE_POINTS + 1);
        assert!(anchored.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(significance_grid(&[0.2, 0.4]), [0.2, 0.4]);
    }
}
