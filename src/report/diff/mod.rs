//! Comparing two runs on the same cases: did the second (B) remove more
//! protected speech, or detect less, than the first (A)?
//!
//! Both runs decided the same cases, so every comparison is paired: per slice
//! (overall, language, category, target group, speaker group) the change in a
//! rate carries Newcombe's interval for paired proportions and the exact
//! McNemar test on the cases whose decision flipped, corrected across the
//! slices of each dimension (see [`crate::analysis::paired`]). The cases are
//! joined by id and must be the same: a case whose text or label differs, or
//! that only one run has, stops the comparison unless it is allowed to leave
//! such cases out. [`compare`] is pure; `crate::run` reads the runs and writes
//! the files [`render_markdown`], [`render_html`], [`render_json`] and
//! [`render_junit`] return.

mod html;
mod junit;
mod markdown;
mod terminal;
mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ModelSnapshot;
use crate::analysis::interval::z_critical;
use crate::analysis::paired::{PairedTable, mcnemar_exact, newcombe_paired};
use crate::analysis::{AnalysisSettings, Correction, Dimension, Measure};
use crate::corpus::{Case, Label, TextError};
use crate::decision::Action;
use crate::exit;
use crate::gates::{GateResult, GateStatus};

pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use terminal::{baseline_line, render_terminal};
pub(crate) use view::baseline_section;
pub use view::slice_name;

/// Version of the `diff.json` schema.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// The files `modaudit diff --out` writes.
pub const DIFF_FILES: [&str; 4] = ["diff.md", "diff.html", "diff.json", "junit.xml"];

/// The dimensions a comparison is sliced by.
pub const DIMENSIONS: [Dimension; 5] = [
    Dimension::Overall,
    Dimension::Language,
    Dimension::Category,
    Dimension::TargetGroup,
    Dimension::SpeakerGroup,
];

/// Where a run's cases (text, label, groups) were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseSource {
    /// The run's scenario and corpora, unchanged since the run (their sha256
    /// match the manifest's).
    Scenario,
    /// The run's corpus files, unchanged since the run, at the place the
    /// manifest records; the scenario has changed or is gone.
    Corpora,
    /// The run's own `decisions.csv`, unchanged since the run was reported
    /// (its sha256 matches the manifest's).
    DecisionsCsv,
}

impl CaseSource {
    /// How the source reads in a report.
    pub fn describe(self) -> &'static str {
        match self {
            CaseSource::Scenario => "the run's scenario and corpora, unchanged since the run",
            CaseSource::Corpora => "the run's corpus files, unchanged since the run (the scenario has changed)",
            CaseSource::DecisionsCsv => {
                "the run's decisions.csv, unchanged since the run (the corpus files have changed or moved)"
            }
        }
    }
}

/// One run, as a comparison needs it.
#[derive(Debug, Clone)]
pub struct ComparedRun {
    /// The run directory, as the user named it.
    pub dir: String,
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The target's kind, description (without local paths) and fingerprint.
    pub target_kind: String,
    pub target_description: String,
    pub target_fingerprint: String,
    pub model_snapshots: Vec<ModelSnapshot>,
    pub adverse_actions: BTreeSet<Action>,
    pub case_source: CaseSource,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Every case of the run, in corpus order.
    pub cases: Vec<Case>,
    /// The outcome of every case (the run is complete).
    pub actions: HashMap<String, Action>,
}

/// How to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffOptions {
    pub settings: DiffSettings,
    /// Compare the cases identical in both runs, leaving out the others,
    /// instead of refusing.
    pub allow_corpus_change: bool,
    /// Fail when over-removal rises by more than this (absolute) overall or in
    /// a slice with at least the minimum n.
    pub max_regression: Option<f64>,
    /// Judge the gate on point estimates alone, without the significance test.
    pub strict: bool,
}

/// The statistical settings of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DiffSettings {
    pub confidence: f64,
    pub alpha: f64,
    pub min_n: u64,
    pub correction: Correction,
    /// Where the settings come from, e.g. "run B's scenario".
    pub from: String,
}

impl DiffSettings {
    /// The settings of a scenario's `[analysis]`.
    pub fn of(analysis: &AnalysisSettings, from: impl Into<String>) -> DiffSettings {
        DiffSettings {
            confidence: analysis.confidence,
            alpha: analysis.alpha,
            min_n: analysis.min_n,
            correction: analysis.correction,
            from: from.into(),
        }
    }
}

/// Why two runs cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiffError {
    /// The runs' cases differ and leaving cases out was not allowed.
    #[error(
        "the two runs were not made on the same cases: {example} ({left_out}). Compare only the cases identical in both with `--allow-corpus-change` (in a scenario: `allow_corpus_change = true` under [baseline])"
    )]
    CorporaDiffer { example: String, left_out: LeftOut },
    /// No case is the same in both runs.
    #[error("the two runs have no case in common ({left_out}); there is nothing to compare")]
    NothingInCommon { left_out: LeftOut },
    /// The text of a case cannot be read back from its corpus file (the
    /// message of the [`crate::corpus::TextError`]).
    #[error("{0}")]
    CaseText(String),
}

impl From<TextError> for DiffError {
    fn from(error: TextError) -> DiffError {
        DiffError::CaseText(error.to_string())
    }
}

/// Cases left out of a comparison, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeftOut {
    pub only_in_a: u64,
    pub only_in_b: u64,
    pub text_changed: u64,
    pub label_changed: u64,
}

impl LeftOut {
    pub fn total(&self) -> u64 {
        self.only_in_a + self.only_in_b + self.text_changed + self.label_changed
    }
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            (self.only_in_a, "only in run A"),
            (self.only_in_b, "only in run B"),
            (self.text_changed, "with a changed text"),
            (self.label_changed, "with a changed label"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{} {what}", super::count_of(n, "case", "cases")))
        .collect();
        if parts.is_empty() {
            f.write_str("no case left out")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Two runs compared: exactly what `diff.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDiff {
    pub schema_version: u32,
    pub a: RunSide,
    pub b: RunSide,
    pub system: SystemChange,
    pub corpus: CorpusComparison,
    pub settings: DiffSettings,
    /// Every slice of both measures, over the cases decided in both runs.
    pub slices: Vec<SliceChange>,
    pub flip_counts: FlipCounts,
    /// Cases adverse in one run and not in the other.
    pub flips: Vec<FlippedCase>,
    /// Cases that ended in error or unsupported in one run and otherwise in the other.
    pub outcome_changes: Vec<OutcomeChange>,
    /// The regression gate, when a maximum regression was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<RegressionGate>,
    /// 0 no regression (or no gate), 1 a regression.
    pub exit_code: u8,
}

/// One of the two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunSide {
    pub dir: String,
    pub run_id: String,
    pub scenario: String,
    pub target_kind: String,
    pub target_description: String,
    pub target_fingerprint: String,
    pub model_snapshots: Vec<ModelSnapshot>,
    pub adverse_actions: Vec<Action>,
    pub case_source: CaseSource,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Whether the system changed between the runs, as far as they show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemChange {
    pub same_fingerprint: bool,
    pub same_model_snapshots: bool,
    pub same_adverse_actions: bool,
    /// Sentences for the reader, e.g. "Same fingerprint, different model snapshot: …".
    pub notes: Vec<String>,
}

/// How the runs' cases were matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CorpusComparison {
    /// Cases identical in both runs (same id, text and label): the comparison.
    pub compared: u64,
    /// Cases left out, by reason (only with `allow_corpus_change`).
    pub left_out: LeftOut,
    /// Compared cases whose language, category or groups differ between the
    /// runs; slices use run B's.
    pub reannotated: u64,
    /// Compared cases that ended in error or unsupported in either run: in no rate.
    pub not_decided_in_both: u64,
}

/// A rate in one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRate {
    pub adverse: u64,
    pub rate: Option<f64>,
}

/// The change of one measure in one slice, over the cases decided in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SliceChange {
    pub measure: Measure,
    pub dimension: Dimension,
    pub value: String,
    /// Cases of the slice (with the measure's label) decided in both runs.
    pub n: u64,
    pub a: RunRate,
    pub b: RunRate,
    /// Adverse in B, not in A.
    pub newly_adverse: u64,
    /// Adverse in A, not in B.
    pub no_longer_adverse: u64,
    /// Rate in B − rate in A.
    pub change: Option<f64>,
    /// Newcombe's interval for paired data (1998, method 10).
    pub change_ci: Option<[f64; 2]>,
    /// Exact McNemar test; `None` for a slice below the minimum n (described, not tested).
    pub p_value: Option<f64>,
    /// Corrected across the tested slices of the measure and dimension.
    pub p_adjusted: Option<f64>,
    pub significant: bool,
    /// Fewer cases than the minimum n.
    pub small_sample: bool,
    /// Cases of the slice that ended in error or unsupported in either run.
    pub not_decided_in_both: u64,
}

impl SliceChange {
    /// A stable name, e.g. `over_removal.language.ar` or `detection.overall`.
    pub fn key(&self) -> String {
        if self.dimension == Dimension::Overall {
            format!("{}.overall", self.measure.as_str())
        } else {
            format!("{}.{}.{}", self.measure.as_str(), self.dimension.as_str(), self.value)
        }
    }
}

/// How many decisions flipped, by direction and label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FlipCounts {
    pub protected_newly_adverse: u64,
    pub protected_no_longer_adverse: u64,
    pub violating_newly_adverse: u64,
    pub violating_no_longer_adverse: u64,
    pub outcome_changes: u64,
}

/// Which way a decision flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flip {
    /// Adverse in B, not in A.
    NewlyAdverse,
    /// Adverse in A, not in B.
    NoLongerAdverse,
}

/// A case whose decision went from adverse to not adverse, or back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlippedCase {
    pub flip: Flip,
    pub case_id: String,
    pub lang: String,
    pub label: Label,
    pub category: String,
    pub target_group: Option<String>,
    pub speaker_group: Option<String>,
    pub text: String,
    pub a: Action,
    pub b: Action,
}

impl FlippedCase {
    /// Whether the case is in a slice (by run B's annotation).
    pub fn in_slice(&self, dimension: Dimension, value: &str) -> bool {
        let own = match dimension {
            Dimension::Overall => return true,
            Dimension::Language => Some(&self.lang),
            Dimension::Category => Some(&self.category),
            Dimension::TargetGroup => self.target_group.as_ref(),
            Dimension::SpeakerGroup => self.speaker_group.as_ref(),
            Dimension::LanguageXTargetGroup => {
                return self
                    .target_group
                    .as_ref()
                    .is_some_and(|g| format!("{} × {g}", self.lang) == value);
            }
            // a comparison of runs is not sliced by protected characteristic
            Dimension::Characteristic | Dimension::LanguageXCharacteristic => return false,
        };
        own.is_some_and(|v| v == value)
    }
}

/// A case that ended in error or unsupported in one run and otherwise in the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeChange {
    pub case_id: String,
    pub lang: String,
    pub label: Label,
    pub text: String,
    pub a: Action,
    pub b: Action,
}

/// The regression gate: over-removal may not rise by more than `max_regression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegressionGate {
    pub max_regression: f64,
    /// Judged on point estimates alone.
    pub strict: bool,
    pub status: GateStatus,
    /// Overall, and every over-removal slice with at least the minimum n.
    pub checked: Vec<SliceCheck>,
}

/// One slice the gate checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SliceCheck {
    /// The slice's key, e.g. `over_removal.language.ar`.
    pub slice: String,
    pub dimension: Dimension,
    pub value: String,
    pub n: u64,
    pub change: Option<f64>,
    pub p_adjusted: Option<f64>,
    pub regressed: bool,
    /// One sentence saying what was found.
    pub detail: String,
}

impl RegressionGate {
    pub fn passed(&self) -> bool {
        self.status == GateStatus::Passed
    }

    /// The slices that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &SliceCheck> {
        self.checked.iter().filter(|c| c.regressed)
    }

    /// The gate as one line of a run's gates (`max_regression`).
    pub fn as_gate_result(&self) -> GateResult {
        let largest = self
            .checked
            .iter()
            .filter_map(|c| c.change)
            .fold(None, |max: Option<f64>, c| Some(max.map_or(c, |m| m.max(c))));
        let regressed: Vec<&SliceCheck> = self.regressions().collect();
        let detail = match self.status {
            GateStatus::NotMeasurable => "no protected case was decided in both runs".to_string(),
            GateStatus::Passed => format!(
                "over-removal rose by at most {} in the {} slices checked{}",
                points(largest.unwrap_or(0.0).max(0.0)),
                self.checked.len(),
                if self.strict {
                    ""
                } else {
                    " beyond what chance explains"
                }
            ),
            GateStatus::Failed => format!(
                "over-removal rose by more than {} in {}",
                points(self.max_regression),
                regressed
                    .iter()
                    .map(|c| format!("{} ({})", c.slice, c.change.map_or("–".into(), signed_points)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        GateResult {
            name: "max_regression".into(),
            threshold: self.max_regression,
            value: largest,
            passed: self.passed(),
            status: self.status,
            detail,
        }
    }
}

/// What a case came to in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Adverse,
    NotAdverse,
    Error,
    Unsupported,
}

impl Outcome {
    fn of(action: Action, adverse: &BTreeSet<Action>) -> Outcome {
        match action {
            Action::Error => Outcome::Error,
            Action::Unsupported => Outcome::Unsupported,
            a if adverse.contains(&a) => Outcome::Adverse,
            _ => Outcome::NotAdverse,
        }
    }

    fn decided(self) -> bool {
        matches!(self, Outcome::Adverse | Outcome::NotAdverse)
    }
}

/// A compared case: B's annotation, and what it came to in each run.
struct Pair<'a> {
    case: &'a Case,
    a: Action,
    b: Action,
    outcome_a: Outcome,
    outcome_b: Outcome,
}

/// Compares run B with run A. Fails when their cases differ (unless
/// `allow_corpus_change`), or when they have no case in common.
pub fn compare(a: &ComparedRun, b: &ComparedRun, options: &DiffOptions) -> Result<RunDiff, DiffError> {
    let (pairs, corpus) = join(a, b, options.allow_corpus_change)?;
    let settings = &options.settings;
    let slices = slice_changes(&pairs, settings);
    let (flips, outcome_changes, flip_counts) = flipped(&pairs)?;
    let gate = options
        .max_regression
        .map(|max| regression_gate(&slices, max, options.strict, settings.min_n));
    let exit_code = match &gate {
        Some(g) if !g.passed() => exit::GATE_FAILED,
        _ => exit::SUCCESS,
    };
    Ok(RunDiff {
        schema_version: DIFF_SCHEMA_VERSION,
        a: side(a),
        b: side(b),
        system: system_change(a, b),
        corpus,
        settings: settings.clone(),
        slices,
        flip_counts,
        flips,
        outcome_changes,
        gate,
        exit_code,
    })
}

/// The cases two runs have in common: same id, text and label.
#[derive(Debug)]
pub struct MatchedCases<'a> {
    /// (A's case, B's case), in run A's order.
    pub pairs: Vec<(&'a Case, &'a Case)>,
    pub left_out: LeftOut,
    /// Matched cases whose language, category or groups differ.
    pub reannotated: u64,
}

/// Matches the cases of run A and run B by id. Fails when any case differs
/// (only in one run, another text or another label) unless
/// `allow_corpus_change`, naming the first; fails when no case matches.
pub fn match_cases<'a>(a: &'a [Case], b: &'a [Case], allow_corpus_change: bool) -> Result<MatchedCases<'a>, DiffError> {
    let in_b: HashMap<&str, &Case> = b.iter().map(|c| (c.id.as_str(), c)).collect();
    let in_a: BTreeSet<&str> = a.iter().map(|c| c.id.as_str()).collect();
    let mut left_out = LeftOut::default();
    // The first difference found, to name in a refusal.
    let mut example: Option<String> = None;
    let note = |example: &mut Option<String>, text: String| {
        example.get_or_insert(text);
    };
    let mut pairs = Vec::new();
    let mut reannotated = 0;
    for case_a in a {
        let Some(&case_b) = in_b.get(case_a.id.as_str()) else {
            left_out.only_in_a += 1;
            note(&mut example, format!("case `{}` is only in run A", case_a.id));
            continue;
        };
        if case_a.text()? != case_b.text()? {
            left_out.text_changed += 1;
            note(
                &mut example,
                format!("case `{}` has a different text in run B", case_a.id),
            );
            continue;
        }
        if case_a.label != case_b.label {
            left_out.label_changed += 1;
            note(
                &mut example,
                format!(
                    "case `{}` is labelled {} in run A and {} in run B",
                    case_a.id, case_a.label, case_b.label
                ),
            );
            continue;
        }
        if (
            &case_a.lang,
            &case_a.category,
            &case_a.target_group,
            &case_a.speaker_group,
        ) != (
            &case_b.lang,
            &case_b.category,
            &case_b.target_group,
            &case_b.speaker_group,
        ) {
            reannotated += 1;
        }
        pairs.push((case_a, case_b));
    }
    for case_b in b.iter().filter(|c| !in_a.contains(c.id.as_str())) {
        left_out.only_in_b += 1;
        note(&mut example, format!("case `{}` is only in run B", case_b.id));
    }
    if let Some(example) = example.filter(|_| !allow_corpus_change) {
        return Err(DiffError::CorporaDiffer { example, left_out });
    }
    if pairs.is_empty() {
        return Err(DiffError::NothingInCommon { left_out });
    }
    Ok(MatchedCases {
        pairs,
        left_out,
        reannotated,
    })
}

/// Joins the runs' matched cases to their outcomes (B's annotation).
fn join<'a>(
    a: &'a ComparedRun,
    b: &'a ComparedRun,
    allow_corpus_change: bool,
) -> Result<(Vec<Pair<'a>>, CorpusComparison), DiffError> {
    let matched = match_cases(&a.cases, &b.cases, allow_corpus_change)?;
    let mut pairs = Vec::with_capacity(matched.pairs.len());
    let mut not_decided_in_both = 0;
    for &(case_a, case_b) in &matched.pairs {
        // A complete run has an outcome for every case; one without counts as undecided.
        let (Some(&action_a), Some(&action_b)) = (a.actions.get(case_a.id.as_str()), b.actions.get(case_b.id.as_str()))
        else {
            not_decided_in_both += 1;
            continue;
        };
        let pair = Pair {
            case: case_b,
            a: action_a,
            b: action_b,
            outcome_a: Outcome::of(action_a, &a.adverse_actions),
            outcome_b: Outcome::of(action_b, &b.adverse_actions),
        };
        if !(pair.outcome_a.decided() && pair.outcome_b.decided()) {
            not_decided_in_both += 1;
        }
        pairs.push(pair);
    }
    let corpus = CorpusComparison {
        compared: matched.pairs.len() as u64,
        left_out: matched.left_out,
        reannotated: matched.reannotated,
        not_decided_in_both,
    };
    Ok((pairs, corpus))
}

/// Every slice's paired table for both measures, tested and corrected per
/// measure and dimension.
fn slice_changes(pairs: &[Pair<'_>], settings: &DiffSettings) -> Vec<SliceChange> {
    let mut tables: BTreeMap<(Measure, Dimension, String), (PairedTable, u64)> = BTreeMap::new();
    for pair in pairs {
        let measure = match pair.case.label {
            Label::Protected => Measure::OverRemoval,
            Label::Violating => Measure::Detection,
        };
        let decided = pair.outcome_a.decided() && pair.outcome_b.decided();
        for dimension in DIMENSIONS {
            let Some(value) = dimension.value_of(pair.case) else {
                continue;
            };
            let (table, not_decided) = tables.entry((measure, dimension, value.into_owned())).or_default();
            if decided {
                table.add(pair.outcome_a == Outcome::Adverse, pair.outcome_b == Outcome::Adverse);
            } else {
                *not_decided += 1;
            }
        }
    }
    let z = z_critical(settings.confidence);
    let mut slices: Vec<SliceChange> = tables
        .into_iter()
        .map(|((measure, dimension, value), (table, not_decided))| {
            let n = table.n();
            let rate = |adverse: u64| RunRate {
                adverse,
                rate: (n > 0).then(|| adverse as f64 / n as f64),
            };
            let tested = n > 0 && (dimension == Dimension::Overall || n >= settings.min_n);
            SliceChange {
                measure,
                dimension,
                value,
                n,
                a: rate(table.adverse_a()),
                b: rate(table.adverse_b()),
                newly_adverse: table.only_b,
                no_longer_adverse: table.only_a,
                change: table.difference(),
                change_ci: newcombe_paired(&table, z).map(|(lo, hi)| [lo, hi]),
                p_value: tested.then(|| mcnemar_exact(table.only_a, table.only_b)),
                p_adjusted: None,
                significant: false,
                small_sample: n < settings.min_n,
                not_decided_in_both: not_decided,
            }
        })
        .collect();
    let mut families: BTreeMap<(Measure, Dimension), Vec<usize>> = BTreeMap::new();
    for (i, slice) in slices.iter().enumerate().filter(|(_, s)| s.p_value.is_some()) {
        families.entry((slice.measure, slice.dimension)).or_default().push(i);
    }
    for members in families.values() {
        let p: Vec<f64> = members.iter().filter_map(|&i| slices[i].p_value).collect();
        for (&i, adjusted) in members.iter().zip(settings.correction.adjust(&p)) {
            slices[i].p_adjusted = Some(adjusted);
            slices[i].significant = adjusted < settings.alpha;
        }
    }
    slices
}

/// The flipped cases (newly adverse first, protected first, then in corpus
/// order) and the cases whose outcome changed to or from error or unsupported.
/// Fails when a listed case's text cannot be read back from its corpus file.
fn flipped(pairs: &[Pair<'_>]) -> Result<(Vec<FlippedCase>, Vec<OutcomeChange>, FlipCounts), TextError> {
    let mut counts = FlipCounts::default();
    let mut flips = Vec::new();
    let mut outcome_changes = Vec::new();
    for pair in pairs {
        let case = pair.case;
        if pair.outcome_a.decided() && pair.outcome_b.decided() {
            let flip = match (pair.outcome_a, pair.outcome_b) {
                (Outcome::NotAdverse, Outcome::Adverse) => Flip::NewlyAdverse,
                (Outcome::Adverse, Outcome::NotAdverse) => Flip::NoLongerAdverse,
                _ => continue,
            };
            let count = match (case.label, flip) {
                (Label::Protected, Flip::NewlyAdverse) => &mut counts.protected_newly_adverse,
                (Label::Protected, Flip::NoLongerAdverse) => &mut counts.protected_no_longer_adverse,
                (Label::Violating, Flip::NewlyAdverse) => &mut counts.violating_newly_adverse,
                (Label::Violating, Flip::NoLongerAdverse) => &mut counts.violating_no_longer_adverse,
            };
            *count += 1;
            flips.push(FlippedCase {
                flip,
                case_id: case.id.to_string(),
                lang: case.lang.to_string(),
                label: case.label,
                category: case.category.to_string(),
                target_group: case.target_group.map(String::from),
                speaker_group: case.speaker_group.map(String::from),
                text: case.text()?.into_owned(),
                a: pair.a,
                b: pair.b,
            });
        } else if pair.outcome_a != pair.outcome_b {
            counts.outcome_changes += 1;
            outcome_changes.push(OutcomeChange {
                case_id: case.id.to_string(),
                lang: case.lang.to_string(),
                label: case.label,
                text: case.text()?.into_owned(),
                a: pair.a,
                b: pair.b,
            });
        }
    }
    flips.sort_by_key(|f| (f.flip, f.label));
    Ok((flips, outcome_changes, counts))
}

/// Checks over-removal overall and in every slice with at least `min_n`
/// cases: a slice regresses when its rate rose by more than `max` and (unless
/// `strict`) the rise is significant after correction.
fn regression_gate(slices: &[SliceChange], max: f64, strict: bool, min_n: u64) -> RegressionGate {
    let checked: Vec<SliceCheck> = slices
        .iter()
        .filter(|s| s.measure == Measure::OverRemoval && s.n > 0)
        .filter(|s| s.dimension == Dimension::Overall || s.n >= min_n)
        .map(|s| {
            let change = s.change.unwrap_or(0.0);
            let beyond = change > max;
            let regressed = beyond && (strict || s.significant);
            let p = adjusted_p_clause(s.p_adjusted);
            let detail = match (beyond, regressed) {
                (true, true) if strict => format!(
                    "over-removal rose from {} to {} ({} of {} protected cases newly removed), more than the allowed {}",
                    rate_text(s.a.rate),
                    rate_text(s.b.rate),
                    s.newly_adverse,
                    s.n,
                    points(max)
                ),
                (true, true) => format!(
                    "over-removal rose from {} to {} ({} of {} protected cases newly removed; {p}), more than the allowed {}",
                    rate_text(s.a.rate),
                    rate_text(s.b.rate),
                    s.newly_adverse,
                    s.n,
                    points(max)
                ),
                (true, false) => format!(
                    "over-removal rose by {}, more than the allowed {}, but not beyond what chance explains ({p})",
                    signed_points(change),
                    points(max)
                ),
                _ => format!(
                    "over-removal changed by {} (allowed: up to {})",
                    signed_points(change),
                    points(max)
                ),
            };
            SliceCheck {
                slice: s.key(),
                dimension: s.dimension,
                value: s.value.clone(),
                n: s.n,
                change: s.change,
                p_adjusted: s.p_adjusted,
                regressed,
                detail,
            }
        })
        .collect();
    let status = if checked.is_empty() {
        GateStatus::NotMeasurable
    } else if checked.iter().any(|c| c.regressed) {
        GateStatus::Failed
    } else {
        GateStatus::Passed
    };
    RegressionGate {
        max_regression: max,
        strict,
        status,
        checked,
    }
}

fn side(run: &ComparedRun) -> RunSide {
    RunSide {
        dir: run.dir.clone(),
        run_id: run.run_id.clone(),
        scenario: run.scenario.clone(),
        target_kind: run.target_kind.clone(),
        target_description: run.target_description.clone(),
        target_fingerprint: run.target_fingerprint.clone(),
        model_snapshots: run.model_snapshots.clone(),
        adverse_actions: run.adverse_actions.iter().copied().collect(),
        case_source: run.case_source,
        started_at: run.started_at,
        finished_at: run.finished_at,
    }
}

fn system_change(a: &ComparedRun, b: &ComparedRun) -> SystemChange {
    let models =
        |run: &ComparedRun| -> BTreeSet<String> { run.model_snapshots.iter().map(|m| m.model.clone()).collect() };
    let same_fingerprint = a.target_fingerprint == b.target_fingerprint;
    let same_model_snapshots = models(a) == models(b);
    let same_adverse_actions = a.adverse_actions == b.adverse_actions;
    let listed = |run: &ComparedRun| {
        let names: Vec<String> = models(run).into_iter().collect();
        if names.is_empty() {
            "none named".to_string()
        } else {
            names.join(", ")
        }
    };
    let mut notes = Vec::new();
    match (same_fingerprint, same_model_snapshots) {
        (true, true) => notes.push("Same system: the same fingerprint and the same model snapshots.".to_string()),
        (true, false) => notes.push(format!(
            "Same fingerprint, different model snapshot: the system answered as {} in run A and as {} in run B. \
             The configuration did not change, the model behind it did (a silent model update).",
            listed(a),
            listed(b)
        )),
        (false, _) => notes.push(format!(
            "Different systems: run A audited {} (fingerprint {}), run B {} (fingerprint {}).",
            a.target_description,
            short_fingerprint(&a.target_fingerprint),
            b.target_description,
            short_fingerprint(&b.target_fingerprint)
        )),
    }
    if !same_fingerprint && !same_model_snapshots {
        notes.push(format!(
            "Model snapshots: {} in run A, {} in run B.",
            listed(a),
            listed(b)
        ));
    }
    if !same_adverse_actions {
        let names = |run: &ComparedRun| {
            run.adverse_actions
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        notes.push(format!(
            "The runs count different actions as adverse (run A: {}; run B: {}); each run's own definition is used.",
            names(a),
            names(b)
        ));
    }
    SystemChange {
        same_fingerprint,
        same_model_snapshots,
        same_adverse_actions,
        notes,
    }
}

fn short_fingerprint(fingerprint: &str) -> &str {
    fingerprint.get(..12).unwrap_or(fingerprint)
}

/// A change in percentage points with its sign, e.g. `+15.0 points`.
pub fn signed_points(change: f64) -> String {
    format!("{:+.1} points", change * 100.0)
}

/// An amount in percentage points, e.g. `2.0 points`.
pub fn points(amount: f64) -> String {
    format!("{:.1} points", amount * 100.0)
}

fn rate_text(rate: Option<f64>) -> String {
    rate.map_or("–".into(), super::percent)
}

/// A p-value for a table cell: four decimals, `< 0.0001` below that.
pub fn format_p(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// An adjusted p-value in a sentence: `adjusted p = 0.0123`, `adjusted p < 0.0001`.
pub fn adjusted_p_clause(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.0001 => "adjusted p < 0.0001".into(),
        Some(p) => format!("adjusted p = {p:.4}"),
        None => "not tested".into(),
    }
}

/// What a run's report says about its baseline: the comparison without the
/// flipped cases themselves (they are in `diff.json`), and the files written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaselineComparison {
    /// The baseline run (A).
    pub baseline: RunSide,
    pub system: SystemChange,
    pub corpus: CorpusComparison,
    pub settings: DiffSettings,
    pub slices: Vec<SliceChange>,
    pub flip_counts: FlipCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<RegressionGate>,
    /// The comparison's own files in the run directory.
    pub files: Vec<String>,
}

impl BaselineComparison {
    /// The summary of `diff` for a run's report.
    pub fn of(diff: &RunDiff, files: &[&str]) -> BaselineComparison {
        BaselineComparison {
            baseline: diff.a.clone(),
            system: diff.system.clone(),
            corpus: diff.corpus.clone(),
            settings: diff.settings.clone(),
            slices: diff.slices.clone(),
            flip_counts: diff.flip_counts,
            gate: diff.gate.clone(),
            files: files.iter().map(|f| f.to_string()).collect(),
        }
    }
}

/// `diff.json`: the comparison as pretty JSON, acting characters escaped.
pub fn render_json(diff: &RunDiff) -> serde_json::Result<String> {
    let json = serde_json::to_string_pretty(diff)?;
    Ok(format!("{}\n", super::visible::json_escaped(&json)))
}

#[cfg(test)]
mod tests;
