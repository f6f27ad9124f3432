//! Scenarios: a TOML file naming corpora, a target, run settings, analysis
//! settings and gates, turned into one validated, immutable [`Plan`].
//!
//! Parsing happens in two stages: `raw` mirrors the file and rejects unknown
//! keys (with their line); [`Plan::load`] resolves paths, loads and filters the
//! corpora, and checks every value, reporting all problems at once. The
//! `[target]` table is the exception: the scenario knows no kind's keys, and
//! hands the table to [`crate::moderator::registry`], which reads it with the
//! kind its `kind` names.
//!
//! A scenario audits one system (`[target]`) or compares several on the same
//! cases (`[[targets]]`, each table a target with a `label`); [`Plan::per_target`]
//! gives each of several its own plan. `[appeal]`, `[statements]` and
//! `[declared]` concern one platform: with several targets, `[appeal] target`
//! names it and the other two go with it; `[baseline]` needs a single target.

mod raw;
mod thresholds;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::analysis::{AnalysisSettings, Dimension, ReferenceMode};
use crate::corpus::review::{CaseStatus, LanguageReview, ReviewFilter, ReviewIndex};
use crate::corpus::{
    Case, Corpus, HashedFile, PerturbSettings, Provenance, Taxonomy, Transform, TransformSummary,
    canonical_language_tag, language_covered_by, load_corpus, perturb,
};
use crate::decision::Action;
use crate::diagnostic::{Diagnostic, Diagnostics, from_toml_error, toml_key_line};
use crate::hash::sha256_hex;
use crate::input::{TOML_LIMIT, read_input};
use crate::moderator::TargetSpec;
use crate::moderator::check::{Checks, RecordedData, ScenarioFile};
use crate::moderator::env::{self, EnvUse};
use crate::moderator::registry::{self, TargetTable, is_label};
use crate::sym::Sym;

pub use raw::RawScenario;
pub use thresholds::{GateThresholds, RawGates};

/// Default number of requests in flight.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Default limit on one attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default attempts per request.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default share of cases allowed to end in error.
pub const DEFAULT_ERROR_BUDGET: f64 = 0.02;

/// The scenario file itself, for the manifest.
#[derive(Debug, Clone)]
pub struct ScenarioSource {
    /// Absolute path.
    pub path: PathBuf,
    pub sha256: String,
}

/// A corpus used by the plan, for the manifest.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct CorpusRecord {
    pub name: String,
    pub version: String,
    pub license: String,
    /// As written in the scenario.
    pub dir: String,
    pub files: Vec<HashedFile>,
    /// Who wrote the cases and how far they were reviewed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<Provenance>,
    /// The languages with review records: the statuses of the run's cases
    /// and of those the review filter left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<LanguageReview>,
}

/// The earlier run a run is compared with (`[baseline]`): the comparison is
/// written into the run directory, shown in the report, and with
/// `max_regression` it is a gate.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselinePlan {
    /// The baseline's run directory.
    pub run: PathBuf,
    /// Over-removal may rise by at most this share, overall and in every slice
    /// with at least the minimum n.
    pub max_regression: Option<f64>,
    /// Judge `max_regression` on point estimates alone, without the significance test.
    pub strict: bool,
    /// Compare the cases identical in both runs when the corpora differ.
    pub allow_corpus_change: bool,
}

/// Facts about notice and appeal that a run cannot observe, declared in the
/// scenario (`[declared]`) and shown as declared, never as measured.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredFacts {
    /// Days after a decision during which it can be appealed.
    pub appeal_window_days: Option<u32>,
    pub free_of_charge: Option<bool>,
    /// Appeals are reviewed by a person not involved in the initial decision.
    pub human_review: Option<bool>,
    /// The appellant can add information to be considered.
    pub can_add_information: Option<bool>,
    /// The appeal decision informs about out-of-court dispute settlement.
    pub out_of_court_settlement_info: Option<bool>,
    /// Notices are given in the user's language.
    pub notice_in_user_language: Option<bool>,
    /// Notices say whether a state actor was involved.
    pub state_actor_disclosure: Option<bool>,
}

/// How to probe a platform's appeal API (`[appeal]`).
#[derive(Debug, Clone, PartialEq)]
pub struct AppealPlan {
    pub submit_url: String,
    pub submit_body: String,
    pub headers: BTreeMap<String, String>,
    pub appeal_text: String,
    pub appeal_id: String,
    pub status_url: String,
    pub status: String,
    pub status_map: BTreeMap<String, crate::journal::appeal::AppealResult>,
    pub decided_at: Option<String>,
    /// Where the filing's answer says when the platform registered the appeal:
    /// with `decided_at`, time to decision is measured on the platform's clock
    /// alone, free of the network and of this machine's load.
    pub filed_at: Option<String>,
    pub outcome_reason: Option<String>,
    pub poll_interval: Duration,
    pub deadline: Duration,
    pub sample: f64,
    pub max_appeals: Option<usize>,
    pub concurrency: usize,
    pub idempotency_header: String,
}

/// The default statement filed with each appeal.
pub const DEFAULT_APPEAL_TEXT: &str =
    "This post is lawful speech and does not break the rules; please review the decision and restore it.";

/// Default longest wait a `Retry-After` may impose.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Accepted range of a number of seconds, in seconds (both ends included).
pub type SecondsBounds = (f64, f64);
/// `run.timeout_secs`: from 10 ms to an hour.
pub const TIMEOUT_BOUNDS: SecondsBounds = (0.01, 3600.0);
/// `run.max_retry_after_secs`: from a second to a day.
pub const MAX_RETRY_AFTER_BOUNDS: SecondsBounds = (1.0, 86_400.0);
/// `appeal.poll_interval_secs`: from 10 ms to a day.
pub const POLL_INTERVAL_BOUNDS: SecondsBounds = (0.01, 86_400.0);
/// `appeal.deadline_secs`: from 10 ms to 366 days.
pub const DEADLINE_BOUNDS: SecondsBounds = (0.01, 366.0 * 86_400.0);
/// `run.requests_per_second`: from one request every 1,000 s to 10,000 a second.
pub const REQUESTS_PER_SECOND_BOUNDS: (f64, f64) = (0.001, 10_000.0);
/// `run.requests_per_minute`: the same rates, per minute.
pub const REQUESTS_PER_MINUTE_BOUNDS: (f64, f64) = (0.06, 600_000.0);
/// Default longest a case may wait in total because the target answered 429.
pub const DEFAULT_MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(600);
/// `run.max_rate_limit_wait_secs`: from 10 ms to a week.
pub const MAX_RATE_LIMIT_WAIT_BOUNDS: SecondsBounds = (0.01, 604_800.0);

/// One of the systems a scenario of several targets compares (`[[targets]]`).
#[derive(Debug, Clone)]
pub struct LabelledTarget {
    /// Unique in the scenario; names the target in the reports and its
    /// directory in the run (`targets/<label>/`).
    pub label: String,
    pub spec: TargetSpec,
    /// `[gates]`, with the target's own `[gates.<label>]` over it.
    pub gates: GateThresholds,
    /// Whether this target is the platform `[appeal] target` names: the
    /// appeal path, statements of reasons and declared facts are its alone.
    pub platform: bool,
}

/// The systems a plan audits.
#[derive(Debug, Clone)]
pub enum Targets {
    /// `[target]`: one system.
    One(TargetSpec),
    /// `[[targets]]`: several systems, each asked about every case, in the scenario's order.
    Several(Vec<LabelledTarget>),
}

impl Plan {
    /// Environment variables the run needs: every target's, and the appeal API's.
    pub fn required_env(&self) -> Vec<EnvUse> {
        let mut needed: Vec<EnvUse> = self.target_specs().iter().flat_map(|t| t.required_env()).collect();
        needed.extend(self.appeal_env());
        needed
    }

    /// The target of a plan of one system; `None` for a plan of several
    /// (each of which [`Plan::per_target`] gives a plan of its own).
    pub fn target(&self) -> Option<&TargetSpec> {
        match &self.targets {
            Targets::One(spec) => Some(spec),
            Targets::Several(_) => None,
        }
    }

    /// Every target of the plan, in the scenario's order.
    pub fn target_specs(&self) -> Vec<&TargetSpec> {
        match &self.targets {
            Targets::One(spec) => vec![spec],
            Targets::Several(targets) => targets.iter().map(|t| &t.spec).collect(),
        }
    }

    /// The plan of each of several targets, by label, in the scenario's order:
    /// this plan with that target alone and its own gates; the appeal path,
    /// statements of reasons and declared facts go to the target `[appeal]`
    /// names and to no other. `None` for a plan of one target.
    pub fn per_target(&self) -> Option<Vec<(String, Plan)>> {
        let Targets::Several(targets) = &self.targets else {
            return None;
        };
        let plans = targets
            .iter()
            .map(|t| {
                let platform = t.platform;
                let plan = Plan {
                    targets: Targets::One(t.spec.clone()),
                    gates: t.gates.clone(),
                    appeal: self.appeal.clone().filter(|_| platform),
                    statements: self.statements.clone().filter(|_| platform),
                    declared: if platform {
                        self.declared.clone()
                    } else {
                        DeclaredFacts::default()
                    },
                    ..self.clone()
                };
                (t.label.clone(), plan)
            })
            .collect();
        Some(plans)
    }

    /// Environment variables the appeal API needs.
    pub fn appeal_env(&self) -> Vec<EnvUse> {
        let mut needed = Vec::new();
        if let Some(appeal) = &self.appeal {
            needed.extend(env::url_uses(&appeal.submit_url, "appeal.submit_url"));
            needed.extend(env::url_uses(&appeal.status_url, "appeal.status_url"));
            for (name, template) in &appeal.headers {
                needed.extend(env::header_uses(template, &format!("appeal.headers.{name}")));
            }
        }
        needed
    }
}

/// `[perturb]`, validated, and what it made.
#[derive(Debug, Clone, PartialEq)]
pub struct PerturbPlan {
    pub settings: PerturbSettings,
    /// How many variants each transform made, in total and per language.
    pub summary: Vec<TransformSummary>,
}

/// How the run proceeds.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Cases (or batches) in flight at once: the scenario's, or [`DEFAULT_CONCURRENCY`].
    pub concurrency: usize,
    /// Whether the scenario set `concurrency`. When it did not, a target that
    /// says how many cases it serves at once (a `command` target's copies ×
    /// window) gets that many in flight instead of the default.
    pub concurrency_set: bool,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub seed: u64,
    pub error_budget: f64,
    pub requests_per_second: Option<f64>,
    pub requests_per_minute: Option<f64>,
    pub max_retry_after: Duration,
    /// Longest a case may wait in total because the target answered 429.
    pub max_rate_limit_wait: Duration,
    /// Whether answers of remote targets are cached.
    pub cache: bool,
    /// Cache location from the scenario, resolved against its directory.
    pub cache_dir: Option<PathBuf>,
}

/// A validated scenario with its corpora loaded and filtered.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub scenario: ScenarioSource,
    pub corpora: Vec<CorpusRecord>,
    /// The cases to run, in corpus order, then the variants `[perturb]` made.
    pub cases: Vec<Case>,
    /// `[filter] review`: which reviewed cases the run keeps.
    pub review_filter: Option<ReviewFilter>,
    /// The run's cases that reviewers dispute.
    pub disputed_cases: BTreeSet<String>,
    /// The target or targets, checked (secrets are read from the environment
    /// only when one is built).
    pub targets: Targets,
    pub run: RunSettings,
    pub analysis: AnalysisSettings,
    /// Actions that count as adverse.
    pub adverse_actions: BTreeSet<Action>,
    pub gates: GateThresholds,
    pub appeal: Option<AppealPlan>,
    pub declared: DeclaredFacts,
    /// Statements of reasons to validate.
    pub statements: Option<PathBuf>,
    /// The earlier run this one is compared with.
    pub baseline: Option<BaselinePlan>,
    /// The edits `[perturb]` made of the cases, if it is set.
    pub perturbation: Option<PerturbPlan>,
    /// The scenario's own taxonomy file (`[taxonomy] file`, as written, with
    /// its sha256), merged over the bundled one; for the manifest.
    pub taxonomy: Option<HashedFile>,
    /// Things in the scenario that are valid but probably not meant (such as a
    /// placeholder host), for the user to see before running.
    pub warnings: Vec<Diagnostic>,
}

impl Plan {
    /// Reads, parses and validates a scenario file, loading its corpora.
    pub fn load(path: &Path) -> Result<Plan, Diagnostics> {
        Plan::load_reading(path, RecordedData::Read)
    }

    /// [`Plan::load`] for re-reporting a run: a target's recorded decisions
    /// (a replay file) are hashed for its fingerprint but not read, since the
    /// report takes every decision from the run's journal. The plan's target
    /// cannot answer then.
    pub fn load_to_report(path: &Path) -> Result<Plan, Diagnostics> {
        Plan::load_reading(path, RecordedData::HashOnly)
    }

    fn load_reading(path: &Path, recorded_data: RecordedData) -> Result<Plan, Diagnostics> {
        let bytes = read_input(path, TOML_LIMIT).map_err(|e| Diagnostics(vec![e.at(path)]))?;
        let text = std::str::from_utf8(bytes.content())
            .map_err(|e| Diagnostics(vec![Diagnostic::file(path, format!("not valid UTF-8: {e}"))]))?;
        let raw: RawScenario = toml::from_str(text).map_err(|e| Diagnostics(vec![from_toml_error(path, text, &e)]))?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        PlanBuilder {
            path,
            text,
            base: &base,
            problems: Vec::new(),
            warnings: Vec::new(),
            recorded_data,
        }
        .build(
            raw,
            ScenarioSource {
                path: absolute.clone(),
                sha256: sha256_hex(bytes.raw()),
            },
        )
    }

    /// Whether `action` counts as adverse in this plan.
    pub fn is_adverse(&self, action: Action) -> bool {
        self.adverse_actions.contains(&action)
    }

    /// Directory of the scenario file; relative paths in it resolve against this.
    pub fn base_dir(&self) -> &Path {
        self.scenario.path.parent().unwrap_or(Path::new("."))
    }
}

struct PlanBuilder<'a> {
    path: &'a Path,
    text: &'a str,
    base: &'a Path,
    problems: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    recorded_data: RecordedData,
}

impl PlanBuilder<'_> {
    fn located(&self, key_path: &[&str], message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            line: toml_key_line(self.text, key_path),
            ..Diagnostic::file(self.path, message).with_field(key_path.join("."))
        }
    }

    fn problem(&mut self, key_path: &[&str], message: impl Into<String>) {
        let problem = self.located(key_path, message);
        self.problems.push(problem);
    }

    fn build(mut self, raw: RawScenario, scenario: ScenarioSource) -> Result<Plan, Diagnostics> {
        if raw.name.trim().is_empty() {
            self.problem(&["name"], "scenario name is empty");
        }
        let run = self.run_settings(&raw.run);
        let (mut analysis, adverse_actions) = self.analysis_settings(&raw.analysis);
        for (key, message) in raw.gates.shared.validate() {
            self.problem(&["gates", &key], message);
        }
        let appeal = raw.appeal.as_ref().map(|a| self.appeal(a));
        let statements = raw.statements.as_ref().map(|s| self.resolve(&s.file));
        match statements.as_ref() {
            Some(path) if !path.exists() => {
                self.problem(&["statements", "file"], format!("{} does not exist", path.display()))
            }
            Some(path) => {
                if let Err(Diagnostics(problems)) = crate::statements::check_statements(path, None) {
                    self.problems.extend(problems);
                }
            }
            None => {}
        }
        let baseline = raw.baseline.as_ref().map(|b| self.baseline(b));
        let (mut corpora, mut cases, reviews) = self.corpora(&raw);
        let (taxonomy, taxonomy_file) = self.taxonomy(raw.taxonomy.as_ref());
        self.resolve_groups(&taxonomy, &mut cases);
        if let Some(reference) = analysis.references.get_mut(&Dimension::TargetGroup)
            && let Some(group) = taxonomy.group(reference)
        {
            *reference = group.name.clone();
        }
        let (labels, targets) = {
            let known: HashSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
            self.targets(&raw, &known)
        };
        self.target_gates(&raw.gates, &labels);
        self.single_platform(&raw, &labels);
        let platform = raw.appeal.as_ref().and_then(|a| a.target.as_deref());
        let targets = targets.map(|targets| match targets {
            Targets::Several(mut several) => {
                for t in &mut several {
                    let own = raw.gates.by_target.get(&t.label).cloned().unwrap_or_default();
                    t.gates = raw.gates.shared.overridden_by(&own);
                    t.platform = platform == Some(t.label.as_str());
                }
                Targets::Several(several)
            }
            one => one,
        });
        let cases = self.filter(&raw.filter, cases);
        let (mut cases, disputed_cases) = self.review_filter(raw.filter.review, cases, &mut corpora, &reviews);
        // the filters keep the corpora's list, and its room for the cases they leave out
        cases.shrink_to_fit();
        if self.problems.is_empty() && cases.is_empty() {
            self.problem(&["filter"], "no case of the corpora passes the filter");
        }
        let (cases, perturbation) = match &raw.perturb {
            Some(table) => self.perturb(table, run.seed, cases),
            None => (cases, None),
        };
        self.check_references(&analysis, &cases);
        if !self.problems.is_empty() {
            return Err(Diagnostics(self.problems));
        }
        Ok(Plan {
            name: raw.name,
            description: raw.description,
            scenario,
            corpora,
            cases,
            review_filter: raw.filter.review,
            disputed_cases,
            targets: targets.expect("the targets exist when there are no problems"),
            run,
            analysis,
            adverse_actions,
            gates: raw.gates.shared,
            appeal,
            declared: raw.declared,
            statements,
            baseline,
            perturbation,
            taxonomy: taxonomy_file,
            warnings: self.warnings,
        })
    }

    /// Checks `[perturb]` and, when it is sound, adds the variants it makes to
    /// the cases (after them, in their order).
    fn perturb(
        &mut self,
        raw: &raw::RawPerturb,
        run_seed: u64,
        mut cases: Vec<Case>,
    ) -> (Vec<Case>, Option<PerturbPlan>) {
        let mut transforms = Vec::new();
        for name in &raw.transforms {
            match Transform::parse(name) {
                Some(t) if transforms.contains(&t) => {
                    self.problem(&["perturb", "transforms"], format!("`{name}` is listed twice"))
                }
                Some(t) => transforms.push(t),
                None => {
                    let known: Vec<&str> = Transform::ALL.iter().map(|t| t.as_str()).collect();
                    self.problem(
                        &["perturb", "transforms"],
                        format!("unknown transform `{name}` (expected one of {})", known.join(", ")),
                    );
                }
            }
        }
        if raw.transforms.is_empty() {
            self.problem(&["perturb", "transforms"], "list at least one transform");
        }
        let mut languages = Vec::new();
        for l in &raw.languages {
            match canonical_language_tag(l) {
                Ok(tag) => languages.push(tag),
                Err(message) => self.problem(&["perturb", "languages"], message),
            }
        }
        let share = raw.share.unwrap_or(1.0);
        if !(share > 0.0 && share <= 1.0) {
            self.problem(&["perturb", "share"], format!("must be a share in (0, 1], got {share}"));
        }
        if raw.max_per_language == Some(0) {
            self.problem(
                &["perturb", "max_per_language"],
                "must be at least 1 (leave it out for no maximum)",
            );
        }
        if !self.problems.is_empty() {
            return (cases, None);
        }
        let settings = PerturbSettings {
            transforms,
            seed: raw.seed.unwrap_or(run_seed),
            labels: raw.labels.clone(),
            languages,
            categories: raw.categories.clone(),
            share,
            max_per_language: raw.max_per_language,
        };
        let made = match perturb(&cases, &settings) {
            Ok(made) => made,
            Err(error) => {
                self.problem(&["perturb"], error.to_string());
                return (cases, None);
            }
        };
        if made.summary.iter().all(|t| t.counts.originals == 0) {
            self.problem(&["perturb"], "no case of the run passes the [perturb] filters");
            return (cases, None);
        }
        for t in made.summary.iter().filter(|t| t.counts.originals == 0) {
            let warning = self.located(
                &["perturb", "transforms"],
                format!(
                    "`{}` applies to none of the selected cases (it edits only {} cases)",
                    t.transform.as_str(),
                    t.transform.applies_to().map_or("some", |l| l.as_str())
                ),
            );
            self.warnings.push(warning);
        }
        let known: HashSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let clashes: Vec<String> = made
            .variants
            .iter()
            .filter(|v| known.contains(v.id.as_str()))
            .map(|v| v.id.to_string())
            .collect();
        for id in clashes {
            self.problem(
                &["perturb"],
                format!("the variant id `{id}` is already the id of a case of the corpora"),
            );
        }
        cases.reserve_exact(made.variants.len());
        cases.extend(made.variants);
        (
            cases,
            Some(PerturbPlan {
                settings,
                summary: made.summary,
            }),
        )
    }

    fn run_settings(&mut self, raw: &raw::RawRun) -> RunSettings {
        let concurrency = raw.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=4096).contains(&concurrency) {
            self.problem(
                &["run", "concurrency"],
                format!("must be between 1 and 4096, got {concurrency}"),
            );
        }
        let timeout = self.seconds(
            &["run", "timeout_secs"],
            raw.timeout_secs,
            TIMEOUT_BOUNDS,
            DEFAULT_TIMEOUT,
        );
        let max_attempts = raw.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if !(1..=20).contains(&max_attempts) {
            self.problem(
                &["run", "max_attempts"],
                format!("must be between 1 and 20, got {max_attempts}"),
            );
        }
        let error_budget = raw.error_budget.unwrap_or(DEFAULT_ERROR_BUDGET);
        if !(0.0..=1.0).contains(&error_budget) {
            self.problem(
                &["run", "error_budget"],
                format!("must be a share between 0 and 1, got {error_budget}"),
            );
        }
        let requests_per_second = self.rate(
            "requests_per_second",
            raw.requests_per_second,
            REQUESTS_PER_SECOND_BOUNDS,
        );
        let requests_per_minute = self.rate(
            "requests_per_minute",
            raw.requests_per_minute,
            REQUESTS_PER_MINUTE_BOUNDS,
        );
        let max_retry_after = self.seconds(
            &["run", "max_retry_after_secs"],
            raw.max_retry_after_secs,
            MAX_RETRY_AFTER_BOUNDS,
            DEFAULT_MAX_RETRY_AFTER,
        );
        let max_rate_limit_wait = self.seconds(
            &["run", "max_rate_limit_wait_secs"],
            raw.max_rate_limit_wait_secs,
            MAX_RATE_LIMIT_WAIT_BOUNDS,
            DEFAULT_MAX_RATE_LIMIT_WAIT,
        );
        RunSettings {
            concurrency,
            concurrency_set: raw.concurrency.is_some(),
            timeout,
            max_attempts,
            seed: raw.seed.unwrap_or(0),
            error_budget,
            requests_per_second,
            requests_per_minute,
            max_retry_after,
            max_rate_limit_wait,
            cache: raw.cache.unwrap_or(true),
            cache_dir: raw.cache_dir.as_ref().map(|d| self.resolve(d)),
        }
    }

    fn analysis_settings(&mut self, raw: &raw::RawAnalysis) -> (AnalysisSettings, BTreeSet<Action>) {
        let defaults = AnalysisSettings::default();
        let confidence = raw.confidence.unwrap_or(defaults.confidence);
        if !(confidence > 0.5 && confidence < 1.0) {
            self.problem(
                &["analysis", "confidence"],
                format!("must be in (0.5, 1), got {confidence}"),
            );
        }
        let alpha = raw.alpha.unwrap_or(defaults.alpha);
        if !(alpha > 0.0 && alpha < 1.0) {
            self.problem(&["analysis", "alpha"], format!("must be in (0, 1), got {alpha}"));
        }
        let mut references = BTreeMap::new();
        for (dimension, value) in &raw.reference {
            if !Dimension::COMPARED.contains(dimension) {
                self.problem(
                    &["analysis", "reference"],
                    format!(
                        "`{}` cannot have a reference group (use one of {})",
                        dimension.as_str(),
                        Dimension::COMPARED.map(Dimension::as_str).join(", ")
                    ),
                );
                continue;
            }
            let value = if *dimension == Dimension::Language {
                canonical_language_tag(value).unwrap_or_else(|_| value.clone())
            } else {
                value.clone()
            };
            references.insert(*dimension, value);
        }
        let adverse_actions = match &raw.adverse_actions {
            None => Action::MODERATION.into_iter().filter(|a| *a != Action::Allow).collect(),
            Some(names) => {
                let mut set = BTreeSet::new();
                for name in names {
                    match Action::parse_moderation(name) {
                        Some(Action::Allow) => {
                            self.problem(&["analysis", "adverse_actions"], "`allow` cannot be adverse")
                        }
                        Some(a) => {
                            set.insert(a);
                        }
                        None => self.problem(
                            &["analysis", "adverse_actions"],
                            format!("unknown action `{name}` (expected label, reduce, demonetize, remove or suspend)"),
                        ),
                    }
                }
                if names.is_empty() {
                    self.problem(&["analysis", "adverse_actions"], "list at least one adverse action");
                }
                set
            }
        };
        (
            AnalysisSettings {
                confidence,
                alpha,
                min_n: raw.min_n.unwrap_or(defaults.min_n),
                correction: raw.correction.unwrap_or(defaults.correction),
                families: raw.families.unwrap_or(defaults.families),
                reference_mode: raw.reference_mode.unwrap_or(defaults.reference_mode),
                references,
            },
            adverse_actions,
        )
    }

    fn resolve(&self, relative: &str) -> PathBuf {
        self.base.join(relative)
    }

    /// Checks of one table of the scenario, adding to its problems and warnings.
    fn checks<'s>(&'s mut self, table: &'s str, case_ids: &'s HashSet<&'s str>) -> Checks<'s> {
        let file = ScenarioFile {
            path: self.path,
            text: self.text,
            base: self.base,
        };
        let recorded_data = self.recorded_data;
        Checks::new(file, table, case_ids, &mut self.problems, &mut self.warnings).with_recorded_data(recorded_data)
    }

    /// Hands `[target]`, or each table of `[[targets]]`, to the kind it names;
    /// `known_ids` are every case id of the corpora. Returns the labels read
    /// (for the tables that name targets), and the targets when all are sound;
    /// the gates of several targets are set by the caller.
    fn targets(&mut self, raw: &RawScenario, known_ids: &HashSet<&str>) -> (Vec<String>, Option<Targets>) {
        match (raw.target.is_some(), raw.targets.is_empty()) {
            (true, false) => {
                self.problem(
                    &["targets"],
                    "`[target]` and `[[targets]]` cannot both be given: write one system as `[target]`, or every system as a `[[targets]]` table with a `label`",
                );
                (Vec::new(), None)
            }
            (false, true) => {
                self.problem(
                    &["target"],
                    "the scenario has no `[target]` table (or `[[targets]]` tables, to compare several systems)",
                );
                (Vec::new(), None)
            }
            (true, true) => {
                let spec = TargetTable::find(self.text)
                    .and_then(|table| registry::configure(table, &mut self.checks("target", known_ids)));
                (Vec::new(), spec.map(Targets::One))
            }
            (false, false) => self.several_targets(known_ids),
        }
    }

    /// Reads each `[[targets]]` table: its `label` (present, a safe name,
    /// unique whatever its case, since it names a directory), then the rest
    /// as `[target]` is read.
    fn several_targets(&mut self, known_ids: &HashSet<&str>) -> (Vec<String>, Option<Targets>) {
        let mut labels: Vec<String> = Vec::new();
        let mut targets = Vec::new();
        let mut sound = true;
        for (i, mut table) in TargetTable::find_all(self.text).into_iter().enumerate() {
            let at = format!("targets[{i}]");
            let label = match table.take_string("label") {
                None => {
                    self.problem(
                        &[&at],
                        "missing field `label` (each of several targets has a label, which names it in the reports)",
                    );
                    None
                }
                Some(Err(what)) => {
                    self.problem(&[&at, "label"], format!("must be a string, not {what}"));
                    None
                }
                Some(Ok(label)) if !is_label(&label) => {
                    self.problem(
                        &[&at, "label"],
                        format!(
                            "`{}` is not a label: use 1 to 64 letters, digits, `-` and `_`, starting with a letter or digit (it names the target's directory in the run)",
                            crate::diagnostic::excerpt(&label)
                        ),
                    );
                    None
                }
                Some(Ok(label)) => match labels.iter().find(|l| l.eq_ignore_ascii_case(&label)) {
                    Some(other) => {
                        let case = if *other == label {
                            ""
                        } else {
                            " (labels that differ only in case name the same directory)"
                        };
                        self.problem(
                            &[&at, "label"],
                            format!("`{label}` is the label of another target{case}"),
                        );
                        None
                    }
                    None => {
                        labels.push(label.clone());
                        Some(label)
                    }
                },
            };
            let spec = registry::configure(table, &mut self.checks(&at, known_ids));
            match (label, spec) {
                (Some(label), Some(spec)) => targets.push(LabelledTarget {
                    label,
                    spec,
                    gates: GateThresholds::default(),
                    platform: false,
                }),
                _ => sound = false,
            }
        }
        (labels, sound.then_some(Targets::Several(targets)))
    }

    /// Checks each `[gates.<label>]` table: its thresholds, and that a target has the label.
    fn target_gates(&mut self, gates: &RawGates, labels: &[String]) {
        for (label, own) in &gates.by_target {
            for (key, message) in own.validate() {
                self.problem(&["gates", label, &key], message);
            }
            if !labels.contains(label) {
                let known = if labels.is_empty() {
                    " (gates of one target go with `[[targets]]`, whose tables have labels)".to_string()
                } else {
                    format!(" (the targets are labelled {})", labels.join(", "))
                };
                self.problem(&["gates", label], format!("no target is labelled `{label}`{known}"));
            }
        }
    }

    /// `[appeal]`, `[statements]` and `[declared]` concern one platform, and
    /// `[baseline]` one system: with several targets, `[appeal] target` names
    /// the platform (the other two go with it) and `[baseline]` is refused;
    /// with one, `[appeal] target` has nothing to name.
    fn single_platform(&mut self, raw: &RawScenario, labels: &[String]) {
        let several = !raw.targets.is_empty();
        match raw.appeal.as_ref().map(|a| a.target.as_deref()) {
            Some(Some(label)) if !several => self.problem(
                &["appeal", "target"],
                format!("names target `{label}`, but the scenario has a single `[target]`, whose appeal path `[appeal]` is; leave `target` out"),
            ),
            Some(Some(label)) if !labels.is_empty() && !labels.iter().any(|l| l == label) => self.problem(
                &["appeal", "target"],
                format!("no target is labelled `{label}` (the targets are labelled {})", labels.join(", ")),
            ),
            Some(None) if several => self.problem(
                &["appeal"],
                "an appeal path is one platform's: with several targets, name it with `target = \"<label>\"`",
            ),
            _ => {}
        }
        if !several {
            return;
        }
        let platform = raw.appeal.as_ref().is_some_and(|a| a.target.is_some());
        if raw.statements.is_some() && !platform {
            self.problem(
                &["statements"],
                "statements of reasons are one platform's: with several targets they go with the target `[appeal] target` names (add `[appeal]`, or audit the platform with a single `[target]`)",
            );
        }
        if raw.declared != DeclaredFacts::default() && !platform {
            self.problem(
                &["declared"],
                "declared facts are one platform's: with several targets they go with the target `[appeal] target` names (add `[appeal]`, or audit the platform with a single `[target]`)",
            );
        }
        if raw.baseline.is_some() {
            self.problem(
                &["baseline"],
                "compares a run of one target with an earlier run; a scenario of several targets compares them with each other (compare one system with its baseline in a scenario with a single `[target]`)",
            );
        }
    }

    fn baseline(&mut self, raw: &raw::RawBaseline) -> BaselinePlan {
        let run = self.resolve(&raw.run);
        if !run.is_dir() {
            self.problem(
                &["baseline", "run"],
                format!(
                    "{} is not a directory (it names the baseline's run directory)",
                    run.display()
                ),
            );
        }
        match raw.max_regression {
            Some(max) if !(0.0..=1.0).contains(&max) => self.problem(
                &["baseline", "max_regression"],
                format!("must be a share between 0 and 1 (0.02 is two percentage points), got {max}"),
            ),
            None if raw.strict => {
                let warning = self.located(&["baseline", "strict"], "has no effect without `max_regression`");
                self.warnings.push(warning);
            }
            _ => {}
        }
        BaselinePlan {
            run,
            max_regression: raw.max_regression,
            strict: raw.strict,
            allow_corpus_change: raw.allow_corpus_change,
        }
    }

    fn appeal(&mut self, raw: &raw::RawAppeal) -> AppealPlan {
        use crate::journal::appeal::AppealResult;
        let poll_interval = self.seconds(
            &["appeal", "poll_interval_secs"],
            raw.poll_interval_secs,
            POLL_INTERVAL_BOUNDS,
            Duration::from_secs(30),
        );
        let deadline = self.seconds(
            &["appeal", "deadline_secs"],
            raw.deadline_secs,
            DEADLINE_BOUNDS,
            Duration::from_secs(7 * 24 * 3600),
        );
        {
            // The appeal table names no case.
            let no_cases = HashSet::new();
            let mut checks = self.checks("appeal", &no_cases);
            for (key, url) in [("submit_url", &raw.submit_url), ("status_url", &raw.status_url)] {
                let probe = env::with_stand_in(url, "1")
                    .replace("{appeal_id}", "a")
                    .replace("{decision_id}", "d")
                    .replace("{id}", "i");
                checks.endpoint(&[key], url, &probe);
            }
            checks.headers(&raw.headers);
        }
        if raw.max_appeals == Some(0) {
            self.problem(
                &["appeal", "max_appeals"],
                "must be at least 1 (leave it out to appeal every selected removal)",
            );
        }
        let sample_body = crate::moderator::http::render_template(
            &raw.submit_body,
            &[
                ("id", "c1"),
                ("decision_id", "d1"),
                ("lang", "en"),
                ("text", "a \"text\"\n"),
                ("appeal_text", "t"),
                ("idempotency_key", "k"),
            ],
        );
        if let Err(error) = sample_body {
            self.problem(&["appeal", "submit_body"], error.to_string());
        }
        for (key, pointer) in [
            ("appeal_id", Some(&raw.appeal_id)),
            ("status", Some(&raw.status)),
            ("decided_at", raw.decided_at.as_ref()),
            ("filed_at", raw.filed_at.as_ref()),
            ("outcome_reason", raw.outcome_reason.as_ref()),
        ] {
            if let Some(p) = pointer.filter(|p| !p.starts_with('/')) {
                self.problem(
                    &["appeal", key],
                    format!("`{p}` is not a JSON pointer (it must start with `/`)"),
                );
            }
        }
        let mut status_map: BTreeMap<String, AppealResult> = [
            ("reversed", AppealResult::Reversed),
            ("upheld", AppealResult::Upheld),
            ("pending", AppealResult::Pending),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (value, result) in &raw.status_map {
            let result = match result.as_str() {
                "reversed" => AppealResult::Reversed,
                "upheld" => AppealResult::Upheld,
                "pending" => AppealResult::Pending,
                other => {
                    self.problem(
                        &["appeal", "status_map"],
                        format!("`{value}` maps to `{other}`; expected reversed, upheld or pending"),
                    );
                    continue;
                }
            };
            status_map.insert(value.clone(), result);
        }
        let sample = raw.sample.unwrap_or(1.0);
        if !(sample > 0.0 && sample <= 1.0) {
            self.problem(
                &["appeal", "sample"],
                format!("must be a share in (0, 1], got {sample}"),
            );
        }
        let concurrency = raw.concurrency.unwrap_or(4);
        if !(1..=256).contains(&concurrency) {
            self.problem(
                &["appeal", "concurrency"],
                format!("must be between 1 and 256, got {concurrency}"),
            );
        }
        AppealPlan {
            submit_url: raw.submit_url.clone(),
            submit_body: raw.submit_body.clone(),
            headers: raw.headers.clone(),
            appeal_text: raw
                .appeal_text
                .clone()
                .unwrap_or_else(|| DEFAULT_APPEAL_TEXT.to_string()),
            appeal_id: raw.appeal_id.clone(),
            status_url: raw.status_url.clone(),
            status: raw.status.clone(),
            status_map,
            decided_at: raw.decided_at.clone(),
            filed_at: raw.filed_at.clone(),
            outcome_reason: raw.outcome_reason.clone(),
            poll_interval,
            deadline,
            sample,
            max_appeals: raw.max_appeals,
            concurrency,
            idempotency_header: raw
                .idempotency_header
                .clone()
                .unwrap_or_else(|| "Idempotency-Key".to_string()),
        }
    }

    /// Checks a number of seconds against its bounds; out of bounds (or not a
    /// number) is a located problem, and the default stands in.
    fn seconds(&mut self, key_path: &[&str], value: Option<f64>, bounds: SecondsBounds, default: Duration) -> Duration {
        let Some(seconds) = value else { return default };
        let (min, max) = bounds;
        match Duration::try_from_secs_f64(seconds) {
            Ok(duration) if (min..=max).contains(&seconds) => duration,
            _ => {
                self.problem(
                    key_path,
                    format!("must be a number of seconds from {min} to {max}, got {seconds}"),
                );
                default
            }
        }
    }

    /// Checks a rate limit against its bounds.
    fn rate(&mut self, key: &str, value: Option<f64>, (min, max): (f64, f64)) -> Option<f64> {
        let rate = value?;
        if (min..=max).contains(&rate) {
            Some(rate)
        } else {
            self.problem(
                &["run", key],
                format!("must be a number of requests from {min} to {max}, got {rate}"),
            );
            None
        }
    }

    /// The corpora's records, their cases, and each corpus's review index.
    fn corpora(&mut self, raw: &RawScenario) -> (Vec<CorpusRecord>, Vec<Case>, Vec<ReviewIndex>) {
        if raw.corpora.is_empty() {
            self.problem(&["corpora"], "list at least one corpus directory");
        }
        let mut records = Vec::new();
        let mut cases: Vec<Case> = Vec::new();
        let mut reviews = Vec::new();
        // the corpus (by position in `raw.corpora`) each case id came from,
        // for the corpora a later one may repeat an id of
        let mut seen: HashMap<Sym, usize> = HashMap::new();
        for (at, dir) in raw.corpora.iter().enumerate() {
            let path = self.resolve(dir);
            match load_corpus(&path) {
                Ok(corpus) => {
                    match ReviewIndex::of(&corpus) {
                        Ok(index) => reviews.push(index),
                        Err(error) => {
                            self.problem(&["corpora"], error.to_string());
                            reviews.push(ReviewIndex::default());
                        }
                    }
                    let Corpus {
                        manifest,
                        cases: mut corpus_cases,
                        files,
                        ..
                    } = corpus;
                    corpus_cases.retain(|case| match seen.get(&case.id) {
                        Some(&other) => {
                            self.problem(
                                &["corpora"],
                                format!(
                                    "case id `{}` appears in both `{}` and `{dir}`",
                                    case.id, raw.corpora[other]
                                ),
                            );
                            false
                        }
                        None => true,
                    });
                    if at + 1 < raw.corpora.len() {
                        seen.reserve(corpus_cases.len());
                        seen.extend(corpus_cases.iter().map(|case| (case.id, at)));
                    }
                    // the corpus's list itself becomes the plan's, or joins it
                    if cases.is_empty() {
                        cases = corpus_cases;
                    } else {
                        cases.reserve_exact(corpus_cases.len());
                        cases.append(&mut corpus_cases);
                    }
                    records.push(CorpusRecord {
                        name: manifest.name,
                        version: manifest.version,
                        license: manifest.license,
                        dir: dir.clone(),
                        files,
                        provenance: manifest.provenance,
                        reviews: Vec::new(),
                    });
                }
                Err(Diagnostics(problems)) => self.problems.extend(problems),
            }
        }
        (records, cases, reviews)
    }

    /// Applies `[filter] review` to the cases the other filters keep, and
    /// records each corpus's reviewed languages; returns the cases kept and
    /// the disputed ones among them.
    fn review_filter(
        &mut self,
        filter: Option<ReviewFilter>,
        cases: Vec<Case>,
        corpora: &mut [CorpusRecord],
        reviews: &[ReviewIndex],
    ) -> (Vec<Case>, BTreeSet<String>) {
        let status = |case: &Case| reviews.iter().find_map(|index| index.status(&case.id));
        let keeps = |case: &Case| filter.is_none_or(|f| f.keeps(status(case).unwrap_or(CaseStatus::Unreviewed)));
        if let Some(filter) = filter
            && !reviews.iter().any(ReviewIndex::has_records)
        {
            self.warnings.push(self.located(
                &["filter", "review"],
                format!(
                    "no corpus has review records (reviews/*.csv), so `{}` {}",
                    filter.as_str(),
                    match filter {
                        ReviewFilter::Confirmed => "keeps no case",
                        ReviewFilter::ExcludeDisputed => "leaves out no case",
                    }
                ),
            ));
        }
        for (record, index) in corpora.iter_mut().zip(reviews) {
            let in_scope: Vec<&Case> = cases.iter().filter(|c| index.status(&c.id).is_some()).collect();
            record.reviews = index.summarise(&in_scope, keeps);
        }
        let kept: Vec<Case> = cases.into_iter().filter(|c| keeps(c)).collect();
        let disputed = kept
            .iter()
            .filter(|c| status(c) == Some(CaseStatus::Disputed))
            .map(|c| c.id.to_string())
            .collect();
        (kept, disputed)
    }

    /// The bundled taxonomy, with the scenario's file merged over it; and that
    /// file, hashed.
    fn taxonomy(&mut self, raw: Option<&raw::RawTaxonomy>) -> (Taxonomy, Option<HashedFile>) {
        let bundled = Taxonomy::bundled();
        let Some(raw) = raw else { return (bundled, None) };
        let path = self.resolve(&raw.file);
        if !path.exists() {
            self.problem(&["taxonomy", "file"], format!("{} does not exist", path.display()));
            return (bundled, None);
        }
        let loaded = read_input(&path, TOML_LIMIT)
            .map_err(|e| Diagnostics(vec![e.at(&path)]))
            .and_then(|bytes| {
                let text = std::str::from_utf8(bytes.content())
                    .map_err(|e| Diagnostics(vec![Diagnostic::file(&path, format!("not valid UTF-8: {e}"))]))?;
                let own = Taxonomy::parse(&path, text)?;
                let file = HashedFile {
                    path: raw.file.replace('\\', "/"),
                    sha256: sha256_hex(bytes.raw()),
                    bytes: bytes.raw().len() as u64,
                };
                Ok((own, file))
            });
        match loaded {
            Ok((own, file)) => (bundled.merged_with(own), Some(file)),
            Err(Diagnostics(problems)) => {
                self.problems.extend(problems);
                (bundled, None)
            }
        }
    }

    /// Resolves every case's target group in the taxonomy; a group it does not
    /// know is a warning: compared as written, under no characteristic.
    fn resolve_groups(&mut self, taxonomy: &Taxonomy, cases: &mut [Case]) {
        let unknown = taxonomy.resolve_cases(cases);
        if unknown.is_empty() {
            return;
        }
        let listed: Vec<String> = unknown
            .iter()
            .map(|(group, n)| format!("`{group}` ({})", crate::plural::count_of(*n as u64, "case", "cases")))
            .collect();
        let warning = self.located(
            &["corpora"],
            format!(
                "{} not in the taxonomy: {}. They are compared as written and count under no protected characteristic; name them in a taxonomy file (`[taxonomy] file = …`)",
                crate::plural::count_of(unknown.len() as u64, "target group is", "target groups are"),
                listed.join(", ")
            ),
        );
        self.warnings.push(warning);
    }

    fn filter(&mut self, filter: &raw::RawFilter, cases: Vec<Case>) -> Vec<Case> {
        let mut languages = Vec::new();
        for l in &filter.languages {
            match canonical_language_tag(l) {
                Ok(tag) => languages.push(tag),
                Err(message) => self.problem(&["filter", "languages"], message),
            }
        }
        cases
            .into_iter()
            .filter(|c| languages.is_empty() || languages.iter().any(|l| language_covered_by(&c.lang, l)))
            .filter(|c| filter.categories.is_empty() || filter.categories.iter().any(|x| *x == c.category))
            .filter(|c| filter.labels.is_empty() || filter.labels.contains(&c.label))
            .filter(|c| {
                filter
                    .metadata
                    .iter()
                    .all(|(k, v)| c.metadata.get(k).is_some_and(|actual| actual == v))
            })
            .collect()
    }

    fn check_references(&mut self, analysis: &AnalysisSettings, cases: &[Case]) {
        if analysis.reference_mode == ReferenceMode::Fixed {
            for dimension in Dimension::COMPARED {
                let values: BTreeSet<String> = cases
                    .iter()
                    .flat_map(|c| dimension.values_of(c).map(std::borrow::Cow::into_owned))
                    .collect();
                if values.len() > 1 && !analysis.references.contains_key(&dimension) {
                    self.problem(
                        &["analysis", "reference_mode"],
                        format!(
                            "`fixed` needs a reference group for every compared dimension with two or more values: add `{}` under [analysis.reference]",
                            dimension.as_str()
                        ),
                    );
                }
            }
        }
        for (dimension, value) in &analysis.references {
            let values: BTreeSet<String> = cases
                .iter()
                .flat_map(|c| dimension.values_of(c).map(std::borrow::Cow::into_owned))
                .collect();
            if !values.contains(value) {
                let known: Vec<&str> = values.iter().map(String::as_str).take(20).collect();
                self.problem(
                    &["analysis", "reference", dimension.as_str()],
                    format!(
                        "reference `{value}` has no cases (values present: {})",
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario over a small English and Arabic corpus, with `extra` appended.
    fn load(extra: &str) -> (tempfile::TempDir, Result<Plan, Diagnostics>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let corpus = dir.path().join("corpus");
        std::fs::create_dir(&corpus).expect("the corpus directory");
        std::fs::write(
            corpus.join("corpus.toml"),
            "name = \"t\"\nversion = \"1\"\ndescription = \"t\"\nlicense = \"CC0-1.0\"\nlanguages = [\"en\", \"ar\"]\n",
        )
        .expect("the manifest");
        std::fs::write(
            corpus.join("cases.csv"),
            "id,lang,text,label,category\n\
             v1,en,They are vermin,violating,dehumanisation\n\
             p1,en,Calling people vermin is wrong,protected,counter_speech\n\
             a1,ar,هؤلاء الحشرات,violating,dehumanisation\n",
        )
        .expect("the cases");
        let path = dir.path().join("scenario.toml");
        let text = format!(
            "name = \"s\"\ncorpora = [\"corpus\"]\n\n[target]\nkind = \"builtin:keyword\"\n\n[run]\nseed = 5\n\n[perturb]\n{extra}"
        );
        std::fs::write(&path, text).expect("the scenario");
        let plan = Plan::load(&path);
        (dir, plan)
    }

    fn problems(extra: &str) -> Vec<String> {
        let (_dir, plan) = load(extra);
        let Err(Diagnostics(problems)) = plan else {
            panic!("the scenario should be invalid");
        };
        problems
            .iter()
            .map(|p| {
                format!(
                    "{}:{} {}",
                    p.line.unwrap_or(0),
                    p.field.as_deref().unwrap_or(""),
                    p.message
                )
            })
            .collect()
    }

    #[test]
    fn every_perturb_key_is_checked_with_its_line() {
        let found = problems(
            "transforms = [\"leetspeak\", \"leetspeak\", \"pig_latin\"]\nlanguages = [\"e n\"]\nshare = 0\nmax_per_language = 0\n",
        );
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(
            found[0].starts_with("11:perturb.transforms `leetspeak` is listed twice"),
            "{found:#?}"
        );
        assert!(
            found[1].contains("unknown transform `pig_latin` (expected one of leetspeak, symbols"),
            "{found:#?}"
        );
        assert!(found[2].starts_with("12:perturb.languages"), "{found:#?}");
        assert_eq!(found[3], "13:perturb.share must be a share in (0, 1], got 0");
        assert!(
            found[4].starts_with("14:perturb.max_per_language must be at least 1"),
            "{found:#?}"
        );
        assert_eq!(
            problems("transforms = []\n"),
            ["11:perturb.transforms list at least one transform"]
        );
        assert_eq!(
            problems("transforms = [\"leetspeak\"]\ncategories = [\"satire\"]\n"),
            ["10:perturb no case of the run passes the [perturb] filters"]
        );
    }

    #[test]
    fn the_plan_holds_its_cases_in_one_allocation_of_their_number() {
        let (_dir, plan) =
            load("transforms = [\"leetspeak\"]\nlabels = [\"violating\"]\n[filter]\nlanguages = [\"en\"]\n");
        let plan = plan.expect("a valid scenario");
        let ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["v1", "p1", "v1~leetspeak"]);
        assert_eq!(plan.cases.capacity(), plan.cases.len());
    }

    #[test]
    fn variants_follow_the_cases_and_the_seed_defaults_to_the_run_seed() {
        let (_dir, plan) = load("transforms = [\"leetspeak\", \"quote_condemn\"]\nlabels = [\"protected\"]\n");
        let plan = plan.expect("a valid scenario");
        let perturbation = plan.perturbation.as_ref().expect("[perturb] is set");
        assert_eq!(perturbation.settings.seed, 5);
        let ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["v1", "p1", "a1", "p1~leetspeak"]);
        // quoting applies to violating cases only, and the filter selects none
        let warnings: Vec<String> = plan.warnings.iter().map(|w| w.message.clone()).collect();
        assert_eq!(
            warnings,
            ["`quote_condemn` applies to none of the selected cases (it edits only violating cases)"]
        );
    }
}
