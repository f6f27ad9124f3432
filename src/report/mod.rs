//! The report: one model built from a run's plan, manifest and journal, and
//! renderers that turn it into bytes (Markdown, HTML, JSON, CSV, JUnit, and a
//! GitHub Actions step summary with annotations).
//! Renderers do no I/O; [`write_outputs`] puts every file in place atomically.
//!
//! The same journal always yields byte-identical outputs: every collection in the
//! model is ordered, and nothing depends on the order decisions arrived in.

mod decisions_csv;
pub mod diff;
pub mod findings;
mod github;
mod html;
mod junit;
pub mod local_paths;
mod markdown;
pub mod review_status;
mod summary;
mod svg;
mod sweep_view;
pub mod systems;
mod terminal;
mod view;
pub use crate::visible;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::auc::{ScoreBias, Scored, score_bias};
use crate::analysis::sweep::{self, Rederivation, Sweep, SweepSettings};
use crate::analysis::{
    self, Counterfactual, Dimension, DimensionComparison, Disparity, Family, FamilyMode, Observation, Perturbation,
    ReferenceMode, Slice, Totals,
};
use crate::appeal::{AppealIndex, AppealReport, NoticeCoverage, appeal_report};
use crate::corpus::review::{LanguageReview, ReviewFilter};
use crate::corpus::{Characteristic, TextError, TransformSummary, canonical_language_tag};
use crate::decision::{Action, DecisionIndex, ScoreRule};
use crate::error::Error;
use crate::exit;
use crate::fsutil::write_atomically_streaming;
use crate::gates::{self, GateResult};
use crate::hash::sha256_file;
use crate::manifest::{RateLimiting, RunManifest};
use crate::scenario::{CorpusRecord, Plan};
use crate::statements::StatementsReport;
use findings::review::ReviewRobustness;
use findings::{Finding, Limitation, Review};
use local_paths::LocalPaths;

pub use crate::plural::count_of;
pub use decisions_csv::{decisions_csv, restore_formula_cell, write_decisions_csv};
pub use github::{render_annotations, render_step_summary};
pub use html::{chart_files, render_html};
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use summary::language_name;
pub use terminal::render_terminal;

/// Version of the `results.json` schema.
///
/// 2: a disparity has a `measure` (over-removal or detection); `ratio_ci` is a
/// MOVER–Wilson `{lower, upper}` (upper `null` when unbounded); `p_value` and
/// `p_adjusted` are `null` for groups described but not tested.
///
/// 3: `findings` (every summary sentence with its evidence; `summary` is their
/// texts) and `limitations`; a corpus's `review_status` is a list of
/// `{languages, status, review}`; an unsupported language has `language_cases`.
///
/// 4: dimensions `characteristic` and `language_x_characteristic` (protected
/// characteristics from the taxonomy of groups); `target_group` values are the
/// taxonomy's canonical names; `characteristic_groups` lists the groups under
/// each characteristic.
///
/// Added since, absent unless a corpus has reviewers' records: a review status
/// may be `partly_reviewed` and carry `recorded` counts; `settings.review_filter`;
/// `review_robustness`; findings of kind `robustness`.
pub const SCHEMA_VERSION: u32 = 4;

/// Every output file a finished run writes (besides the journal); a run of a
/// scoring system also writes the charts of its threshold sweep
/// (`threshold-sweep-*.svg`, see [`chart_files`]).
pub const OUTPUT_FILES: [&str; 5] = ["report.md", "report.html", "results.json", "decisions.csv", "junit.xml"];

/// The analysed run: exactly what `results.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub run: RunSection,
    pub corpora: Vec<CorpusSummary>,
    pub settings: SettingsSection,
    /// Plain-language sentences a journalist could quote: the texts of
    /// `findings`, in order.
    pub summary: Vec<String>,
    /// Every claim of the summary with the evidence it rests on.
    pub findings: Vec<Finding>,
    /// What the run cannot show.
    pub limitations: Vec<Limitation>,
    pub totals: Totals,
    pub slices: Vec<Slice>,
    /// The target groups of the run under each protected characteristic, from
    /// the taxonomy (a group with several is under each).
    pub characteristic_groups: Vec<CharacteristicGroups>,
    /// Every comparison of a group with its reference, for over-removal and detection.
    pub disparities: Vec<Disparity>,
    /// The correction families: name, measure, m, method, α.
    pub families: Vec<Family>,
    /// Per measure and dimension: reference used, counts tested, omnibus test.
    pub dimension_comparisons: Vec<DimensionComparison>,
    pub counterfactual: Counterfactual,
    /// Robustness to evasion, when the scenario has `[perturb]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<PerturbationSection>,
    pub notice: NoticeCoverage,
    /// Notice and appeal: availability, appeal outcomes, statements of reasons, principles checklist.
    pub appeal: AppealReport,
    /// Score-based bias metrics by target group, for systems that return scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_bias: Option<ScoreBias>,
    /// The run across thresholds, for a system whose action is a threshold
    /// on its score (see `settings.score_rule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// Whether the significant disparities survive leaving out the posts
    /// reviewers dispute (when the run includes some).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_robustness: Option<ReviewRobustness>,
    /// Languages the system declared it cannot moderate.
    pub unsupported: Vec<UnsupportedLanguage>,
    /// Why cases ended in error, most frequent first.
    pub errors: Vec<ErrorReason>,
    pub gates: Vec<GateResult>,
    pub outcome: OutcomeSection,
    /// The comparison with the scenario's baseline run, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<diff::BaselineComparison>,
}

/// What `[perturb]` made and how the system's decisions held up under it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PerturbationSection {
    /// The seed of the selection and of every edit.
    pub seed: u64,
    /// How many variants each transform made, and of how many originals, in
    /// total and per language.
    pub transforms: Vec<TransformSummary>,
    /// Evasion, instability and the directional check.
    #[serde(flatten)]
    pub results: Perturbation,
}

/// The target groups under one protected characteristic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CharacteristicGroups {
    pub characteristic: Characteristic,
    /// Canonical names, in lexical order.
    pub groups: Vec<String>,
}

impl CharacteristicGroups {
    /// The groups of the plan's cases under each characteristic, in list order.
    fn of(plan: &Plan) -> Vec<CharacteristicGroups> {
        let mut by: BTreeMap<Characteristic, std::collections::BTreeSet<&str>> = BTreeMap::new();
        for case in &plan.cases {
            if let Some(group) = &case.target_group {
                for c in case.characteristics.iter() {
                    by.entry(c).or_default().insert(group);
                }
            }
        }
        by.into_iter()
            .map(|(characteristic, groups)| CharacteristicGroups {
                characteristic,
                groups: groups.into_iter().map(str::to_string).collect(),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunSection {
    pub id: String,
    /// The scenario's name.
    pub scenario: String,
    pub scenario_sha256: String,
    /// The target's kind, e.g. `builtin:keyword`.
    pub target: String,
    pub target_description: String,
    pub target_fingerprint: String,
    /// What a reader must know about the target (e.g. recorded decisions matching no case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_notes: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub tool_version: String,
    pub seed: u64,
    /// What the system's rate limiting cost the run (absent when it never objected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limiting: Option<RateLimiting>,
    /// The models that answered, as the system named them in its answers, with
    /// how many cases each decided (absent when it names none); more than one
    /// means the model changed during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_snapshots: Vec<ModelSnapshot>,
}

/// A model the system named in its answers, and how many cases it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelSnapshot {
    pub model: String,
    pub cases: u64,
}

impl RunSection {
    /// "omni-moderation-2024-09-26 (378 cases)", each model the system named.
    pub fn model_snapshots_text(&self) -> String {
        self.model_snapshots
            .iter()
            .map(|m| format!("{} ({})", m.model, count_of(m.cases, "case", "cases")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CorpusSummary {
    pub name: String,
    pub version: String,
    pub license: String,
    /// Review status of each language's cases, as the corpus declares it
    /// (empty when it declares none).
    pub review_status: Vec<ReviewStatus>,
}

/// The review status of some languages of a corpus: as the corpus declares
/// it, or, for a language with reviewers' records, as the records show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewStatus {
    pub languages: Vec<String>,
    /// As declared, e.g. "machine-drafted, awaiting native-speaker review",
    /// or as the records give it, e.g. "reviewer records (amina, baraka): 6
    /// of 6 posts confirmed".
    pub status: String,
    /// How far the cases are reviewed.
    pub review: Review,
    /// The reviewers' records of the language, when it has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<LanguageReview>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SettingsSection {
    pub confidence: f64,
    pub alpha: f64,
    pub min_n: u64,
    pub correction: analysis::Correction,
    /// Which comparisons were corrected together.
    pub families: FamilyMode,
    /// How dimensions without a named reference chose one.
    pub reference_mode: ReferenceMode,
    pub adverse_actions: Vec<Action>,
    pub references: BTreeMap<Dimension, String>,
    pub error_budget: f64,
    /// `[filter] review`: which reviewed cases the run kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_filter: Option<ReviewFilter>,
    /// How the system turned its score into an action, when a single
    /// threshold did (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_rule: Option<ScoreRule>,
    /// Present only in a re-analysis at another threshold: every rate of the
    /// report is then at that threshold, not what the system did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_override: Option<Reanalysis>,
}

/// A report re-derived at another threshold than the system ran at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reanalysis {
    /// The threshold of this report's rates.
    pub threshold: f64,
    /// The threshold the system ran at.
    pub run_threshold: f64,
    /// Decided cases whose action was re-derived from their stored score.
    pub rederived: u64,
    /// Of those, how many have another action than the system gave them.
    pub changed: u64,
    /// Decided cases that keep their recorded action (no score, or an action
    /// the score does not explain); `sweep.kept` names them.
    pub kept: u64,
    /// What this report is, in a sentence.
    pub statement: String,
}

/// What a re-analysis at `threshold` of a run made at `run_threshold` is, in a sentence.
pub fn reanalysis_statement(threshold: f64, run_threshold: f64) -> String {
    format!(
        "Re-analysis at threshold {}, not what the system did: the system ran at threshold {}, and each action here that follows from a score was re-derived from the score stored in the run, without asking the system again.",
        threshold_text(threshold),
        threshold_text(run_threshold)
    )
}

/// A threshold as a reader and the command line write it: `0.7`, `0.65`,
/// `2`, `-1.5` — to six decimals, so that a sum such as 0.55 + 0.4 reads 0.95.
pub fn threshold_text(threshold: f64) -> String {
    let text = format!("{threshold:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" => "0".to_string(),
        _ => text.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UnsupportedLanguage {
    pub language: String,
    /// Cases the system declared it cannot moderate.
    pub cases: u64,
    /// Every case of the language in the run.
    pub language_cases: u64,
    /// What the system said, for one of the cases.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorReason {
    pub reason: String,
    pub cases: u64,
    /// One case that ended with this reason.
    pub example_case: String,
}

/// How the run ended, and the exit code that follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutcomeSection {
    pub status: Status,
    pub exit_code: u8,
    pub error_rate: f64,
    pub error_budget: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every case decided within the error budget, every gate passed.
    Passed,
    /// The run completed but at least one gate failed.
    GatesFailed,
    /// Cases are undecided, or more ended in error than the budget allows.
    Incomplete,
}

/// Builds the report of a run from its plan, manifest and decisions.
pub fn build_report(
    plan: &Plan,
    manifest: &RunManifest,
    decisions: &DecisionIndex,
    appeals: &AppealIndex,
    statements: Option<StatementsReport>,
) -> Report {
    let rule = manifest.score_rule;
    let override_threshold = manifest.threshold_override.as_ref().map(|o| o.threshold);
    let recorded = decisions;
    let (decisions, rederivation) = operating_decisions(plan, recorded, rule, override_threshold);
    let decisions: &DecisionIndex = &decisions;
    let observations: Vec<Observation<'_>> = plan
        .cases
        .iter()
        .map(|case| {
            let action = decisions.get(case.id).map(|d| d.action);
            Observation {
                case,
                action,
                adverse: action.is_some_and(|a| plan.is_adverse(a)),
            }
        })
        .collect();
    let analysis = analysis::analyze(&observations, &plan.analysis);
    let review_robustness = findings::review::robustness(plan, &observations, &analysis.disparities);
    // a pair of words per case, not needed past the analysis: let go of before
    // the score-bias list and the threshold sweep are built
    drop(observations);
    let notice = NoticeCoverage::of(
        plan.cases
            .iter()
            .filter(|c| !c.is_variant())
            .filter_map(|c| decisions.get(c.id))
            .filter(|d| plan.is_adverse(d.action))
            .map(|d| d.notice()),
    );
    let mut appeal = appeal_report(plan, decisions, appeals, &notice, statements);
    let local = LocalPaths::of(plan, Some(&manifest.scenario.path));
    if let Some(statements) = &mut appeal.statements {
        local.shorten_in_place(&mut statements.file);
    }
    if let Some(probe) = &mut appeal.probe {
        probe
            .failures
            .iter_mut()
            .for_each(|(reason, _)| local.shorten_in_place(reason));
    }
    let gates = gates::evaluate(
        &plan.gates,
        &analysis,
        &notice,
        appeal.probe.as_ref(),
        plan.analysis.min_n,
    );
    let totals = analysis.totals.clone();
    let error_rate = if totals.cases == 0 {
        0.0
    } else {
        totals.errors as f64 / totals.cases as f64
    };
    let appeals_unfinished = appeal.probe.as_ref().is_some_and(|p| p.unfinished > 0);
    let status = if totals.pending > 0 || error_rate > plan.run.error_budget || appeals_unfinished {
        Status::Incomplete
    } else if gates.iter().any(|g| !g.passed) {
        Status::GatesFailed
    } else {
        Status::Passed
    };
    let exit_code = match status {
        Status::Passed => exit::SUCCESS,
        Status::GatesFailed => exit::GATE_FAILED,
        Status::Incomplete => exit::RUN_INCOMPLETE,
    };
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        run: RunSection {
            id: manifest.run_id.clone(),
            scenario: plan.name.clone(),
            scenario_sha256: manifest.scenario.sha256.clone(),
            target: manifest.target.kind.clone(),
            target_description: local.shorten(&manifest.target.description).into_owned(),
            target_fingerprint: manifest.target.fingerprint.clone(),
            target_notes: manifest
                .target
                .notes
                .iter()
                .map(|note| local.shorten(note).into_owned())
                .collect(),
            started_at: manifest.started_at,
            finished_at: manifest.finished_at,
            tool_version: manifest.tool_version.clone(),
            seed: manifest.seed,
            rate_limiting: manifest.rate_limiting,
            model_snapshots: model_snapshots(plan, decisions, &local),
        },
        corpora: plan
            .corpora
            .iter()
            .map(|c| CorpusSummary {
                name: c.name.clone(),
                version: c.version.clone(),
                license: c.license.clone(),
                review_status: review_statuses(c),
            })
            .collect(),
        settings: SettingsSection {
            confidence: plan.analysis.confidence,
            alpha: plan.analysis.alpha,
            min_n: plan.analysis.min_n,
            correction: plan.analysis.correction,
            families: plan.analysis.families,
            reference_mode: plan.analysis.reference_mode,
            adverse_actions: plan.adverse_actions.iter().copied().collect(),
            references: plan.analysis.references.clone(),
            error_budget: plan.run.error_budget,
            score_rule: rule,
            threshold_override: rule.zip(rederivation).map(|(rule, r)| Reanalysis {
                threshold: r.threshold,
                run_threshold: rule.threshold,
                rederived: r.rederived,
                changed: r.changed,
                kept: r.kept,
                statement: reanalysis_statement(r.threshold, rule.threshold),
            }),
            review_filter: plan.review_filter,
        },
        summary: Vec::new(),
        findings: Vec::new(),
        limitations: Vec::new(),
        totals,
        slices: analysis.slices,
        characteristic_groups: CharacteristicGroups::of(plan),
        disparities: analysis.disparities,
        families: analysis.families,
        dimension_comparisons: analysis.dimension_comparisons,
        counterfactual: analysis.counterfactual,
        perturbation: plan.perturbation.as_ref().map(|p| PerturbationSection {
            seed: p.settings.seed,
            transforms: p.summary.clone(),
            results: analysis.perturbation.unwrap_or_default(),
        }),
        notice,
        appeal,
        review_robustness,
        score_bias: score_bias_of(plan, decisions),
        sweep: rule.and_then(|rule| {
            let is_adverse = |action: Action| plan.is_adverse(action);
            sweep::sweep(
                &plan.cases,
                recorded,
                &SweepSettings {
                    rule,
                    operating_threshold: override_threshold.unwrap_or(rule.threshold),
                    is_adverse: &is_adverse,
                    analysis: &plan.analysis,
                },
            )
        }),
        unsupported: unsupported_languages(plan, decisions, &local),
        errors: error_reasons(plan, decisions, &local),
        gates,
        outcome: OutcomeSection {
            status,
            exit_code,
            error_rate,
            error_budget: plan.run.error_budget,
        },
        baseline: None,
    };
    report.findings = findings::findings(&report);
    report.limitations = findings::limitations(&report);
    report.summary = summary::sentences(&report.findings);
    report
}

/// A corpus's review status per language: from the reviewers' records where
/// a language has them, else as its provenance declares it.
fn review_statuses(corpus: &CorpusRecord) -> Vec<ReviewStatus> {
    let recorded: Vec<&str> = corpus.reviews.iter().map(|r| r.language.as_str()).collect();
    let has_records =
        |lang: &String| recorded.contains(&canonical_language_tag(lang).unwrap_or_else(|_| lang.clone()).as_str());
    let mut statuses: Vec<ReviewStatus> = corpus
        .provenance
        .iter()
        .filter_map(|p| {
            let languages: Vec<String> = p.languages.iter().filter(|l| !has_records(l)).cloned().collect();
            (!languages.is_empty()).then(|| ReviewStatus {
                languages,
                status: p.review_status.clone(),
                review: Review::of(&p.review_status),
                recorded: None,
            })
        })
        .collect();
    statuses.extend(corpus.reviews.iter().map(|r| ReviewStatus {
        languages: vec![r.language.clone()],
        status: findings::review::recorded_status_text(r),
        review: findings::review::review_of(r),
        recorded: Some(r.clone()),
    }));
    statuses
}

/// The decisions a report's rates are of: as recorded, or — in a re-analysis
/// at another threshold — re-derived there from the stored scores, with what
/// re-deriving did.
fn operating_decisions<'a>(
    plan: &Plan,
    decisions: &'a DecisionIndex,
    rule: Option<ScoreRule>,
    threshold: Option<f64>,
) -> (Cow<'a, DecisionIndex>, Option<Rederivation>) {
    match rule.zip(threshold) {
        Some((rule, threshold)) => {
            let (decisions, rederivation) = sweep::rederive(&plan.cases, decisions, &rule, threshold);
            (decisions, Some(rederivation))
        }
        None => (Cow::Borrowed(decisions), None),
    }
}

/// Score-based bias metrics over the decided corpus cases that carry a score
/// (none when the system returns no scores); `[perturb]` variants are left out.
fn score_bias_of(plan: &Plan, decisions: &DecisionIndex) -> Option<ScoreBias> {
    let scored_of = |case: &crate::corpus::Case| {
        let d = decisions.get(case.id).filter(|d| d.action.is_decision())?;
        Some(Scored {
            score: d.score.get().filter(|s| s.is_finite())?,
            violating: case.label == crate::corpus::Label::Violating,
            group: case.target_group,
        })
    };
    let corpus_cases = || plan.cases.iter().filter(|case| !case.is_variant());
    // counted first, so the list is allocated once at its size
    let mut scored = Vec::with_capacity(corpus_cases().filter(|case| scored_of(case).is_some()).count());
    scored.extend(corpus_cases().filter_map(scored_of));
    (!scored.is_empty()).then(|| score_bias(scored, plan.analysis.min_n, plan.analysis.confidence))
}

/// The models the system named in its answers, by name, with their case
/// counts (a model served from a local directory is named by its path, which
/// is shortened as every published local path is).
fn model_snapshots(plan: &Plan, decisions: &DecisionIndex, local: &LocalPaths) -> Vec<ModelSnapshot> {
    let mut cases: BTreeMap<&str, u64> = BTreeMap::new();
    for case in &plan.cases {
        if let Some(model) = decisions.get(case.id).and_then(|d| d.model()) {
            *cases.entry(model).or_default() += 1;
        }
    }
    cases
        .into_iter()
        .map(|(model, cases)| ModelSnapshot {
            model: local.shorten(model).into_owned(),
            cases,
        })
        .collect()
}

fn unsupported_languages(plan: &Plan, decisions: &DecisionIndex, local: &LocalPaths) -> Vec<UnsupportedLanguage> {
    let mut by_language: BTreeMap<&str, (u64, String)> = BTreeMap::new();
    let mut language_cases: BTreeMap<&str, u64> = BTreeMap::new();
    for case in &plan.cases {
        *language_cases.entry(&case.lang).or_default() += 1;
        if let Some(d) = decisions.get(case.id).filter(|d| d.action == Action::Unsupported) {
            let entry = by_language
                .entry(&case.lang)
                .or_insert_with(|| (0, local.shorten(d.error().unwrap_or_default()).into_owned()));
            entry.0 += 1;
        }
    }
    by_language
        .into_iter()
        .map(|(language, (cases, reason))| UnsupportedLanguage {
            language: language.to_string(),
            cases,
            language_cases: language_cases.get(language).copied().unwrap_or(cases),
            reason,
        })
        .collect()
}

fn error_reasons(plan: &Plan, decisions: &DecisionIndex, local: &LocalPaths) -> Vec<ErrorReason> {
    let mut by_reason: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for case in &plan.cases {
        if let Some(d) = decisions.get(case.id).filter(|d| d.action == Action::Error) {
            let reason = local.shorten(d.error().unwrap_or("unknown error")).into_owned();
            by_reason.entry(reason).or_insert_with(|| (0, case.id.to_string())).0 += 1;
        }
    }
    let mut reasons: Vec<ErrorReason> = by_reason
        .into_iter()
        .map(|(reason, (cases, example_case))| ErrorReason {
            reason,
            cases,
            example_case,
        })
        .collect();
    reasons.sort_by(|a, b| b.cases.cmp(&a.cases).then_with(|| a.reason.cmp(&b.reason)));
    reasons
}

/// One line on what rate limiting cost, e.g. "the system answered 429 (too many
/// requests) 12 times; the pace fell to 2.40 requests/s at its lowest; requests
/// were held back for 13.0 s in total".
pub fn rate_limiting_text(limiting: &RateLimiting) -> String {
    let mut parts = vec![format!(
        "the system answered 429 (too many requests) {}",
        count_of(limiting.responses, "time", "times")
    )];
    if let Some(rate) = limiting.lowest_rate {
        parts.push(format!("the pace fell to {rate:.2} requests/s at its lowest"));
    }
    parts.push(format!(
        "requests were held back for {:.1} s in total",
        limiting.waited_secs
    ));
    parts.join("; ")
}

/// Writes the `decisions.csv` of a run into `dir`, with the actions the
/// report analyses (re-derived at the manifest's override threshold, if it
/// has one), and returns its sha256. Written before the report is built, so
/// that the index can then let go of the response hashes only this file
/// shows ([`DecisionIndex::forget_response_hashes`]).
pub fn write_decisions_file(
    dir: &Path,
    plan: &Plan,
    manifest: &RunManifest,
    decisions: &DecisionIndex,
) -> Result<String, Error> {
    let override_threshold = manifest.threshold_override.as_ref().map(|o| o.threshold);
    let (decisions, _) = operating_decisions(plan, decisions, manifest.score_rule, override_threshold);
    let decisions: &DecisionIndex = &decisions;
    // One row per case: written (and hashed) row by row, never built in memory.
    write_atomically_streaming(&dir.join(DECISIONS_FILE), |out| {
        write_decisions_csv(out, plan, decisions)
    })
    .map_err(case_text_error)
}

/// The file of every case's decision, one row a case.
pub const DECISIONS_FILE: &str = "decisions.csv";

/// Renders every report file of a run and writes it into `dir` (`decisions.csv`
/// is written before, by [`write_decisions_file`]); returns the sha256 of each
/// file written and of the journal.
pub fn write_outputs(dir: &Path, report: &Report) -> Result<BTreeMap<String, String>, Error> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("report.md".into(), render_markdown(report).into_bytes()),
        (
            "report.html".into(),
            render_html(report)
                .map_err(|e| Error::io(dir.join("report.html"))(std::io::Error::other(e)))?
                .into_bytes(),
        ),
        ("junit.xml".into(), render_junit(report).into_bytes()),
    ];
    files.extend(
        chart_files(report)
            .into_iter()
            .map(|(name, svg)| (name, svg.into_bytes())),
    );
    let mut hashes = BTreeMap::new();
    // results.json holds every flipped family and can be tens of megabytes:
    // serialised, escaped and hashed while written.
    let sha256 = write_atomically_streaming(&dir.join("results.json"), |out| {
        visible::write_json_escaped(out, report)
    })?;
    hashes.insert("results.json".to_string(), sha256);
    for (name, bytes) in files {
        let sha256 = write_atomically_streaming(&dir.join(&name), |out| out.write_all(&bytes))?;
        hashes.insert(name, sha256);
    }
    let journal = dir.join(crate::journal::JOURNAL_FILE);
    if let Ok(sha256) = sha256_file(&journal) {
        hashes.insert(crate::journal::JOURNAL_FILE.to_string(), sha256);
    }
    Ok(hashes)
}

/// The error of a case text that could not be read back, if that is what
/// failed a write, named as such rather than as a failure of the file written.
fn case_text_error(error: Error) -> Error {
    match error {
        Error::Io { path, source } => match source.downcast::<TextError>() {
            Ok(text) => Error::CaseText(text),
            Err(source) => Error::Io { path, source },
        },
        other => other,
    }
}

impl Report {
    /// Adds the comparison with the baseline run, and its regression gate to
    /// the gates: a complete run whose gate fails ends with gates failed.
    pub fn add_baseline(&mut self, comparison: diff::BaselineComparison) {
        if let Some(gate) = &comparison.gate {
            self.gates.push(gate.as_gate_result());
            if self.outcome.status == Status::Passed && !gate.passed() {
                self.outcome.status = Status::GatesFailed;
                self.outcome.exit_code = exit::GATE_FAILED;
            }
        }
        self.baseline = Some(comparison);
    }

    /// Names of the gates that failed.
    pub fn failed_gates(&self) -> Vec<&str> {
        self.gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| g.name.as_str())
            .collect()
    }
}

/// Formats a share as a percentage with one decimal, e.g. `23.5 %`.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// Formats an interval of shares, e.g. `19.0–28.7 %`.
pub fn percent_interval(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("{:.1}–{:.1} %", lo * 100.0, hi * 100.0),
        None => "–".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::threshold_text;

    #[test]
    fn thresholds_read_as_written() {
        assert_eq!(threshold_text(0.7), "0.7");
        assert_eq!(threshold_text(0.55 + 0.4), "0.95");
        assert_eq!(threshold_text(2.0), "2");
        assert_eq!(threshold_text(-1.5), "-1.5");
        assert_eq!(threshold_text(0.0), "0");
        assert_eq!(threshold_text(-0.0000001), "0");
        assert_eq!(threshold_text(0.756), "0.756");
    }
}
