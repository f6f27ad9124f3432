//! Scenarios: a TOML file naming corpora, a target, run settings, analysis
//! settings and gates, turned into one validated, immutable [`Plan`].
//!
//! Parsing happens in two stages: [`raw`] mirrors the file and rejects unknown
//! keys (with their line); [`Plan::load`] resolves paths, loads and filters the
//! corpora, and checks every value, reporting all problems at once.

mod raw;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::analysis::{AnalysisSettings, Dimension};
use crate::corpus::{Case, Corpus, HashedFile, Provenance, canonical_language_tag, language_covered_by, load_corpus};
use crate::decision::Action;
use crate::diagnostic::{Diagnostic, Diagnostics, from_toml_error, toml_key_line};
use crate::gates::GateThresholds;
use crate::hash::sha256_hex;
use crate::input::{DATA_LIMIT, TOML_LIMIT, read_input};
use crate::moderator::azure::{self, AzureConfig};
use crate::moderator::env::{self, EnvUse};
use crate::moderator::http::{HttpConfig, NoticePointers, ResponseMapping, render_body};
use crate::moderator::openai::{self, OpenAiConfig};
use crate::moderator::perspective::{self, PerspectiveConfig};
use crate::moderator::replay::{ReplayColumns, ReplayConfig, ReplayData, load_replay};
use crate::moderator::{CommandSpec, KeywordSpec, LexiconSource};

pub use raw::RawScenario;

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
}

/// Facts about notice and appeal that a run cannot observe, declared in the
/// scenario (`[declared]`) and shown as declared, never as measured.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
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
    pub status_map: BTreeMap<String, crate::appeal::AppealResult>,
    pub decided_at: Option<String>,
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

/// The target, resolved (secrets are read from the environment only when the
/// target is built).
#[derive(Debug, Clone)]
pub enum TargetSpec {
    Keyword(KeywordSpec),
    Command(CommandSpec),
    OpenAi(OpenAiConfig),
    Perspective(PerspectiveConfig),
    Azure(AzureConfig),
    Http(Box<HttpConfig>),
    Replay(Box<ReplayData>),
}

impl TargetSpec {
    /// Local files the target runs or reads (a program and the absolute paths
    /// among its arguments, a recording), which reports name without their location.
    pub fn local_files(&self) -> Vec<&Path> {
        match self {
            TargetSpec::Command(c) => std::iter::once(c.program.as_path())
                .chain(c.args.iter().map(Path::new).filter(|p| p.is_absolute()))
                .collect(),
            TargetSpec::Replay(r) => vec![r.config.path.as_path()],
            TargetSpec::Keyword(_)
            | TargetSpec::OpenAi(_)
            | TargetSpec::Perspective(_)
            | TargetSpec::Azure(_)
            | TargetSpec::Http(_) => Vec::new(),
        }
    }

    /// Environment variables the target needs, with the scenario key that names
    /// each and whether its value is a secret.
    pub fn required_env(&self) -> Vec<EnvUse> {
        let key = |variable: &str| EnvUse {
            variable: variable.to_string(),
            key: "target.api_key_env".into(),
            secret: true,
        };
        match self {
            TargetSpec::OpenAi(c) => vec![key(&c.api_key_env)],
            TargetSpec::Perspective(c) => vec![key(&c.api_key_env)],
            TargetSpec::Azure(c) => vec![key(&c.api_key_env)],
            TargetSpec::Http(c) => c.env_uses(),
            TargetSpec::Keyword(_) | TargetSpec::Command(_) | TargetSpec::Replay(_) => Vec::new(),
        }
    }
}

impl Plan {
    /// Environment variables the run needs: the target's, and the appeal API's.
    pub fn required_env(&self) -> Vec<EnvUse> {
        let mut needed = self.target.required_env();
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

/// How the run proceeds.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    pub concurrency: usize,
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
    /// The cases to run, in corpus order.
    pub cases: Vec<Case>,
    pub target: TargetSpec,
    pub run: RunSettings,
    pub analysis: AnalysisSettings,
    /// Actions that count as adverse.
    pub adverse_actions: BTreeSet<Action>,
    pub gates: GateThresholds,
    pub appeal: Option<AppealPlan>,
    pub declared: DeclaredFacts,
    /// Statements of reasons to validate.
    pub statements: Option<PathBuf>,
    /// Things in the scenario that are valid but probably not meant (such as a
    /// placeholder host), for the user to see before running.
    pub warnings: Vec<Diagnostic>,
}

impl Plan {
    /// Reads, parses and validates a scenario file, loading its corpora.
    pub fn load(path: &Path) -> Result<Plan, Diagnostics> {
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

    fn warning(&mut self, key_path: &[&str], message: impl Into<String>) {
        let warning = self.located(key_path, message);
        self.warnings.push(warning);
    }

    fn build(mut self, raw: RawScenario, scenario: ScenarioSource) -> Result<Plan, Diagnostics> {
        if raw.name.trim().is_empty() {
            self.problem(&["name"], "scenario name is empty");
        }
        let run = self.run_settings(&raw.run);
        let (analysis, adverse_actions) = self.analysis_settings(&raw.analysis);
        for (key, message) in raw.gates.validate() {
            self.problem(&["gates", &key], message);
        }
        let appeal = raw.appeal.as_ref().map(|a| self.appeal(a));
        let statements = raw.statements.as_ref().map(|s| self.resolve(&s.file));
        match statements.as_ref() {
            Some(path) if !path.exists() => {
                self.problem(&["statements", "file"], format!("{} does not exist", path.display()))
            }
            Some(path) => {
                if let Err(Diagnostics(problems)) = crate::appeal::statements::check_statements(path, None) {
                    self.problems.extend(problems);
                }
            }
            None => {}
        }
        let (corpora, cases) = self.corpora(&raw);
        let target = {
            let known: std::collections::HashSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
            self.target(&raw.target, &known)
        };
        let cases = self.filter(&raw.filter, cases);
        if self.problems.is_empty() && cases.is_empty() {
            self.problem(&["filter"], "no case of the corpora passes the filter");
        }
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
            target: target.expect("a target exists when there are no problems"),
            run,
            analysis,
            adverse_actions,
            gates: raw.gates,
            appeal,
            declared: raw.declared,
            statements,
            warnings: self.warnings,
        })
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
                        "`{}` cannot have a reference group (use one of language, category, target_group, speaker_group)",
                        dimension.as_str()
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
                references,
            },
            adverse_actions,
        )
    }

    fn resolve(&self, relative: &str) -> PathBuf {
        self.base.join(relative)
    }

    fn target(&mut self, raw: &raw::RawTarget, known_ids: &std::collections::HashSet<&str>) -> Option<TargetSpec> {
        match raw {
            raw::RawTarget::OpenAi {
                base_url,
                api_key_env,
                model,
                threshold,
                categories,
                category_thresholds,
                batch_size,
            } => {
                let base_url = self.base_url(base_url.as_deref().unwrap_or(openai::DEFAULT_BASE_URL));
                self.share("threshold", *threshold);
                for (category, t) in category_thresholds {
                    self.share(&format!("category_thresholds.{category}"), Some(*t));
                }
                let batch_size = batch_size.unwrap_or(openai::DEFAULT_BATCH_SIZE);
                if !(1..=1024).contains(&batch_size) {
                    self.problem(
                        &["target", "batch_size"],
                        format!("must be between 1 and 1024, got {batch_size}"),
                    );
                }
                Some(TargetSpec::OpenAi(OpenAiConfig {
                    base_url,
                    api_key_env: self.key_env(api_key_env, openai::DEFAULT_KEY_ENV),
                    model: model.clone().unwrap_or_else(|| openai::DEFAULT_MODEL.to_string()),
                    threshold: *threshold,
                    categories: categories.clone(),
                    category_thresholds: category_thresholds.clone(),
                    batch_size,
                }))
            }
            raw::RawTarget::Perspective {
                base_url,
                api_key_env,
                attribute,
                attributes,
                threshold,
            } => {
                let base_url = self.base_url(base_url.as_deref().unwrap_or(perspective::DEFAULT_BASE_URL));
                self.share("threshold", *threshold);
                Some(TargetSpec::Perspective(PerspectiveConfig {
                    base_url,
                    api_key_env: self.key_env(api_key_env, perspective::DEFAULT_KEY_ENV),
                    attribute: attribute
                        .clone()
                        .unwrap_or_else(|| perspective::DEFAULT_ATTRIBUTE.to_string()),
                    extra_attributes: attributes.clone(),
                    threshold: threshold.unwrap_or(perspective::DEFAULT_THRESHOLD),
                }))
            }
            raw::RawTarget::Azure {
                base_url,
                api_key_env,
                api_version,
                categories,
                threshold,
                output_type,
            } => {
                let base_url = self.base_url(base_url);
                let categories: Vec<String> = if categories.is_empty() {
                    azure::DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect()
                } else {
                    categories.clone()
                };
                for c in &categories {
                    if !azure::DEFAULT_CATEGORIES.contains(&c.as_str()) {
                        self.problem(
                            &["target", "categories"],
                            format!("unknown category `{c}` (expected Hate, Sexual, SelfHarm or Violence)"),
                        );
                    }
                }
                let output_type = output_type.clone().unwrap_or_else(|| "FourSeverityLevels".into());
                if output_type != "FourSeverityLevels" && output_type != "EightSeverityLevels" {
                    self.problem(
                        &["target", "output_type"],
                        "must be FourSeverityLevels or EightSeverityLevels",
                    );
                }
                let threshold = threshold.unwrap_or(azure::DEFAULT_THRESHOLD);
                if threshold > 7 {
                    self.problem(&["target", "threshold"], format!("a severity is 0–7, got {threshold}"));
                }
                Some(TargetSpec::Azure(AzureConfig {
                    base_url,
                    api_key_env: self.key_env(api_key_env, azure::DEFAULT_KEY_ENV),
                    api_version: api_version
                        .clone()
                        .unwrap_or_else(|| azure::DEFAULT_API_VERSION.to_string()),
                    categories,
                    threshold,
                    output_type,
                }))
            }
            raw::RawTarget::Http {
                url,
                headers,
                body,
                response,
            } => {
                self.endpoint(&["target", "url"], url, &env::with_stand_in(url, "1"));
                self.headers("target", headers);
                if let Err(message) = render_body(body, "case-1", "en", "a \"quoted\" text\n") {
                    self.problem(&["target", "body"], message);
                }
                let mapping = self.mapping(response);
                Some(TargetSpec::Http(Box::new(HttpConfig {
                    url: url.clone(),
                    headers: headers.clone(),
                    body: body.clone(),
                    mapping,
                })))
            }
            raw::RawTarget::Replay {
                file,
                columns,
                action_map,
                threshold,
            } => {
                self.share("threshold", *threshold);
                let defaults = ReplayColumns::default();
                let pick = |v: &Option<String>, d: Option<String>| v.clone().or(d);
                let config = ReplayConfig {
                    path: self.resolve(file),
                    columns: ReplayColumns {
                        id: columns.id.clone().unwrap_or(defaults.id),
                        action: pick(&columns.action, defaults.action),
                        score: pick(&columns.score, defaults.score),
                        reason: pick(&columns.reason, defaults.reason),
                        rule: pick(&columns.rule, defaults.rule),
                        decision_id: pick(&columns.decision_id, defaults.decision_id),
                        automated: pick(&columns.automated, defaults.automated),
                        automated_detection: pick(&columns.automated_detection, defaults.automated_detection),
                        territorial_scope: pick(&columns.territorial_scope, defaults.territorial_scope),
                        appeal_url: pick(&columns.appeal_url, defaults.appeal_url),
                    },
                    action_map: self.action_map(action_map),
                    threshold: *threshold,
                };
                if !self.problems.is_empty() {
                    return None;
                }
                match load_replay(config, known_ids) {
                    Ok(data) => Some(TargetSpec::Replay(Box::new(data))),
                    Err(Diagnostics(problems)) => {
                        self.problems.extend(problems);
                        None
                    }
                }
            }
            raw::RawTarget::Keyword { lexicons } => {
                let mut overrides = BTreeMap::new();
                for (lang, file) in lexicons {
                    let path = self.resolve(file);
                    let text = read_input(&path, DATA_LIMIT)
                        .map_err(|e| e.to_string())
                        .and_then(|bytes| String::from_utf8(bytes.content().to_vec()).map_err(|e| e.to_string()));
                    match text {
                        Ok(text) => {
                            overrides.insert(
                                lang.to_ascii_lowercase(),
                                LexiconSource {
                                    origin: path.display().to_string(),
                                    text,
                                },
                            );
                        }
                        Err(e) => self.problem(
                            &["target", "lexicons"],
                            format!("cannot read the keyword list for `{lang}` at {}: {e}", path.display()),
                        ),
                    }
                }
                let spec = KeywordSpec::with_overrides(overrides);
                if let Err(message) = crate::moderator::KeywordFilter::new(&spec) {
                    self.problem(&["target", "lexicons"], message);
                }
                Some(TargetSpec::Keyword(spec))
            }
            raw::RawTarget::Command {
                command,
                processes,
                threshold,
            } => {
                let Some((program, args)) = command.split_first() else {
                    self.problem(
                        &["target", "command"],
                        "give the program to run, e.g. [\"python3\", \"model.py\"]",
                    );
                    return None;
                };
                let processes = processes.unwrap_or(1);
                if !(1..=256).contains(&processes) {
                    self.problem(
                        &["target", "processes"],
                        format!("must be between 1 and 256, got {processes}"),
                    );
                }
                if threshold.is_some_and(|t| !t.is_finite()) {
                    self.problem(&["target", "threshold"], "must be a number");
                }
                let resolved = match find_program(program, self.base) {
                    Some(p) => p,
                    None => {
                        self.problem(
                            &["target", "command"],
                            format!("program `{program}` not found (relative paths resolve against the scenario's directory; bare names are looked up in PATH)"),
                        );
                        return None;
                    }
                };
                Some(TargetSpec::Command(CommandSpec {
                    program: resolved,
                    args: args.to_vec(),
                    cwd: self.base.to_path_buf(),
                    processes,
                    threshold: *threshold,
                }))
            }
        }
    }

    fn appeal(&mut self, raw: &raw::RawAppeal) -> AppealPlan {
        use crate::appeal::AppealResult;
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
        for (key, url) in [("submit_url", &raw.submit_url), ("status_url", &raw.status_url)] {
            let probe = env::with_stand_in(url, "1")
                .replace("{appeal_id}", "a")
                .replace("{decision_id}", "d")
                .replace("{id}", "i");
            self.endpoint(&["appeal", key], url, &probe);
        }
        self.headers("appeal", &raw.headers);
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
        if let Err(message) = sample_body {
            self.problem(&["appeal", "submit_body"], message);
        }
        for (key, pointer) in [
            ("appeal_id", Some(&raw.appeal_id)),
            ("status", Some(&raw.status)),
            ("decided_at", raw.decided_at.as_ref()),
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

    fn share(&mut self, key: &str, value: Option<f64>) {
        if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
            self.problem(&["target", key], format!("must be between 0 and 1, got {v}"));
        }
    }

    /// Checks a base URL and returns it without a trailing slash.
    fn base_url(&mut self, url: &str) -> String {
        self.endpoint(&["target", "base_url"], url, url);
        url.trim_end_matches('/').to_string()
    }

    /// Checks an endpoint URL given at `key_path` as `written`; `probe` is the
    /// same with stand-ins for its references. A placeholder host is a warning.
    fn endpoint(&mut self, key_path: &[&str], written: &str, probe: &str) {
        match reqwest::Url::parse(probe) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => self.problem(
                key_path,
                format!("`{written}`: scheme must be http or https, not {}", u.scheme()),
            ),
            Ok(u) => {
                if u.host_str().is_some_and(placeholder_host) {
                    self.warning(
                        key_path,
                        format!("`{written}` names a placeholder host; set the real endpoint before running"),
                    );
                }
            }
            Err(e) => self.problem(key_path, format!("`{written}` is not a URL: {e}")),
        }
    }

    /// Checks header names, and header values as far as the scenario gives them
    /// (`${NAME}` values are checked when they are read).
    fn headers(&mut self, table: &str, headers: &BTreeMap<String, String>) {
        for (name, template) in headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.problem(
                    &[table, "headers", name],
                    format!("`{name}` is not an HTTP header name"),
                );
            } else if reqwest::header::HeaderValue::from_str(&env::with_stand_in(template, "x")).is_err() {
                self.problem(
                    &[table, "headers", name],
                    "the value has a character that cannot be sent in an HTTP header",
                );
            }
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

    fn key_env(&mut self, name: &Option<String>, default: &str) -> String {
        let name = name.clone().unwrap_or_else(|| default.to_string());
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.problem(
                &["target", "api_key_env"],
                format!("`{name}` is not an environment variable name (the key itself never goes in the scenario)"),
            );
        }
        name
    }

    fn action_map(&mut self, raw: &BTreeMap<String, String>) -> BTreeMap<String, Action> {
        let mut map = BTreeMap::new();
        for (value, action) in raw {
            match Action::parse_moderation(action) {
                Some(a) => {
                    map.insert(value.clone(), a);
                }
                None if action == "unsupported" => {
                    map.insert(value.clone(), Action::Unsupported);
                }
                None => self.problem(
                    &["target", "action_map"],
                    format!("`{value}` maps to unknown action `{action}` (expected allow, label, reduce, demonetize, remove, suspend or unsupported)"),
                ),
            }
        }
        map
    }

    fn mapping(&mut self, raw: &raw::RawMapping) -> ResponseMapping {
        let pointers = [
            ("action", &raw.action),
            ("score", &raw.score),
            ("decision_id", &raw.decision_id),
            ("reason", &raw.reason),
            ("rule", &raw.rule),
            ("automated", &raw.automated),
            ("automated_detection", &raw.automated_detection),
            ("territorial_scope", &raw.territorial_scope),
            ("appeal_url", &raw.appeal_url),
        ];
        for (key, pointer) in pointers {
            if let Some(p) = pointer.as_deref().filter(|p| !p.is_empty() && !p.starts_with('/')) {
                self.problem(
                    &["target", "response", key],
                    format!("`{p}` is not a JSON pointer (it must start with `/`, e.g. `/result/action`)"),
                );
            }
        }
        if raw.action.is_none() && (raw.score.is_none() || raw.threshold.is_none()) {
            self.problem(
                &["target", "response"],
                "give `action`, or `score` with `threshold`, to say where the decision is",
            );
        }
        if let Some(t) = raw.threshold.filter(|t| !t.is_finite()) {
            self.problem(
                &["target", "response", "threshold"],
                format!("must be a number, got {t}"),
            );
        }
        ResponseMapping {
            action: raw.action.clone(),
            action_map: self.action_map(&raw.action_map),
            score: raw.score.clone(),
            scores: raw.scores.clone(),
            threshold: raw.threshold,
            notice: NoticePointers {
                decision_id: raw.decision_id.clone(),
                reason: raw.reason.clone(),
                rule: raw.rule.clone(),
                automated: raw.automated.clone(),
                automated_detection: raw.automated_detection.clone(),
                territorial_scope: raw.territorial_scope.clone(),
                appeal_url: raw.appeal_url.clone(),
            },
        }
    }

    fn corpora(&mut self, raw: &RawScenario) -> (Vec<CorpusRecord>, Vec<Case>) {
        if raw.corpora.is_empty() {
            self.problem(&["corpora"], "list at least one corpus directory");
        }
        let mut records = Vec::new();
        let mut cases: Vec<Case> = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for dir in &raw.corpora {
            let path = self.resolve(dir);
            match load_corpus(&path) {
                Ok(Corpus {
                    manifest,
                    cases: corpus_cases,
                    files,
                    ..
                }) => {
                    for case in corpus_cases {
                        if let Some(other) = seen.get(&case.id) {
                            self.problem(
                                &["corpora"],
                                format!("case id `{}` appears in both `{other}` and `{dir}`", case.id),
                            );
                            continue;
                        }
                        seen.insert(case.id.clone(), dir.clone());
                        cases.push(case);
                    }
                    records.push(CorpusRecord {
                        name: manifest.name,
                        version: manifest.version,
                        license: manifest.license,
                        dir: dir.clone(),
                        files,
                        provenance: manifest.provenance,
                    });
                }
                Err(Diagnostics(problems)) => self.problems.extend(problems),
            }
        }
        (records, cases)
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
            .filter(|c| filter.categories.is_empty() || filter.categories.contains(&c.category))
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
        for (dimension, value) in &analysis.references {
            let values: BTreeSet<String> = cases.iter().filter_map(|c| dimension.value_of(c)).collect();
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

/// Resolves a program: a path (with a separator) against `base`, a bare name in PATH.
fn find_program(program: &str, base: &Path) -> Option<PathBuf> {
    let candidate = Path::new(program);
    if candidate.components().count() > 1 || candidate.is_absolute() {
        let path = if candidate.is_absolute() {
            candidate.to_path_buf()
        } else {
            base.join(candidate)
        };
        return path.is_file().then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether a host is a documentation placeholder: a label starting `your-` or
/// `your_` (as in `YOUR-RESOURCE.cognitiveservices.azure.com`), or a name under
/// the reserved `example` domains (RFC 2606).
fn placeholder_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let reserved = match labels.as_slice() {
        [.., "example"] => true,
        [.., second, "com" | "net" | "org"] => *second == "example",
        _ => false,
    };
    reserved || labels.iter().any(|l| l.starts_with("your-") || l.starts_with("your_"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholder_hosts_are_recognised() {
        for host in [
            "your-resource.cognitiveservices.azure.com",
            "moderation.platform.example",
            "example.com",
            "api.example.org",
            "your_tenant.api.net",
        ] {
            assert!(super::placeholder_host(host), "{host}");
        }
        for host in [
            "api.openai.com",
            "127.0.0.1",
            "localhost",
            "examples.com",
            "yourself.org",
        ] {
            assert!(!super::placeholder_host(host), "{host}");
        }
    }
}
