//! Running an audit: open or resume a run directory, decide every pending case,
//! and write the reports from the journal.
//!
//! A run directory holds `manifest.json` (written at the start, completed at the
//! end), `journal.jsonl` (every decision) and the report files. A killed run is
//! continued with `--resume`: decided cases are skipped, a torn last journal line
//! is cut off, and the scenario, corpora and target must be unchanged.
//!
//! [`run`] asks the target the scenario describes; [`run_with_moderator`] asks
//! a moderation system the calling program supplies. A scenario's
//! `[baseline]` is checked before the first request and compared with when the
//! reports are written; [`diff_runs`] compares any two runs.
//!
//! A scenario of several targets (`[[targets]]`) is run by [`run_plan`], which
//! runs either kind: the targets one after another, each with its own pace,
//! cache and secrets, and its manifest, journal and reports in
//! `targets/<label>/`, then one report comparing them (see `several`).
//! [`rebuild`] re-renders either kind of run.

mod appeal_probe;
mod compare;
mod events;
mod executor;
mod progress;
mod rate_limit;
mod rundir;
mod several;
mod shards;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;

use crate::appeal::{AppealIndex, AppealResult};
use crate::cache::{Cache, default_cache_root};
use crate::decision::{Action, DecisionIndex, DecisionRecord};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::Error;
use crate::fsutil::write_atomically;
use crate::journal::{JOURNAL_FILE, Journal, Record, scan_journal};
use crate::moderator::{Moderator, Setup, TargetInfo, TargetSpec, env};
use crate::report::systems::SystemsReport;
use crate::report::{
    DECISIONS_FILE, Report, build_report, reanalysis_statement, threshold_text, write_decisions_file, write_outputs,
};
use crate::scenario::{CorpusRecord, Plan, Targets};
use crate::shard::{Shard, Sharding};
use crate::sym::Sym;

pub use crate::manifest::{RunManifest, ScenarioRecord, ThresholdOverride};
pub use compare::{BASELINE_FILES, DiffRequest, diff_runs, write_diff};
pub use events::{RunEvent, RunObserver, Silent};
pub use executor::{Context, Execution, StopSignal, decide_batch};
pub use progress::Progress;
pub use rate_limit::{Permit, Throttle};
pub use rundir::{MANIFEST_FILE, RunDir, TARGETS_DIR, is_several, new_idempotency_secret, read_manifest};
pub use shards::{MergeRequest, merge_shards, shard_record};

/// Where and how to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Write the run into this directory (default: `<reports_root>/<run-id>`).
    pub out: Option<PathBuf>,
    /// Write a new run into `out` even when it holds other files (never when
    /// it holds a run): the run's files are created or replaced, no other is touched.
    pub force: bool,
    /// Continue the run in this directory.
    pub resume: Option<PathBuf>,
    /// On resume, ask again about cases that ended in error and file again the
    /// appeals that failed.
    pub retry_errors: bool,
    /// Parent of new run directories when `out` is not given.
    pub reports_root: PathBuf,
    /// Neither read nor write the response cache.
    pub no_cache: bool,
    /// Cache location overriding the scenario's and the default.
    pub cache_dir: Option<PathBuf>,
    /// Decide only this shard of the cases (a new run only: a resumed run
    /// keeps the shard its manifest records).
    pub shard: Option<Shard>,
    /// With `shard`: this shard's rate limit in requests per second, instead
    /// of the scenario's limits divided by the number of shards.
    pub shard_rate: Option<f64>,
}

/// A finished (or interrupted) run.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub report: Report,
    pub execution: Execution,
}

/// A finished (or interrupted) run of several targets.
#[derive(Debug)]
pub struct SystemsOutcome {
    pub dir: PathBuf,
    /// Every target's report and the comparison: what `results.json` holds.
    pub report: SystemsReport,
    /// The targets' executions together.
    pub execution: Execution,
}

/// A run of either kind: one target, or several compared.
#[derive(Debug)]
pub enum Outcome {
    One(Box<RunOutcome>),
    Several(Box<SystemsOutcome>),
}

impl Outcome {
    pub fn dir(&self) -> &Path {
        match self {
            Outcome::One(o) => &o.dir,
            Outcome::Several(o) => &o.dir,
        }
    }

    pub fn execution(&self) -> &Execution {
        match self {
            Outcome::One(o) => &o.execution,
            Outcome::Several(o) => &o.execution,
        }
    }

    /// The exit code the run's outcome maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::One(o) => o.report.outcome.exit_code,
            Outcome::Several(o) => o.report.outcome.exit_code,
        }
    }

    /// Cases some target has not decided.
    pub fn pending(&self) -> u64 {
        match self {
            Outcome::One(o) => o.report.totals.pending,
            Outcome::Several(o) => o.report.targets.iter().map(|t| t.report.totals.pending).sum(),
        }
    }
}

/// The refusal of something that applies to one target, in a scenario or run of several.
fn several_targets(path: &Path, message: &str) -> Error {
    Error::SeveralTargets {
        path: path.to_path_buf(),
        message: format!("has several targets ([[targets]]); {message}"),
    }
}

/// An environment variable's value, when it is set and not empty.
fn from_process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Builds the adapter for a plan's target, reading its secrets from the environment.
pub fn build_target(plan: &Plan) -> Result<Arc<dyn Moderator>, Error> {
    build_target_with_env(plan, &from_process_env)
}

/// Builds the adapter for a plan's target, reading the values it names through
/// `env`; a missing or unusable value is bad input naming the variable. A
/// plan of several targets builds each from its own plan ([`Plan::per_target`]).
pub fn build_target_with_env(plan: &Plan, env: &dyn Fn(&str) -> Option<String>) -> Result<Arc<dyn Moderator>, Error> {
    let spec = plan.target().ok_or_else(|| {
        several_targets(
            &plan.scenario.path,
            "each is built from its own plan (`Plan::per_target`)",
        )
    })?;
    build_spec_with_env(plan, spec, env)
}

/// Builds the adapter `spec` describes, for the cases of `plan`.
fn build_spec_with_env(
    plan: &Plan,
    spec: &TargetSpec,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Moderator>, Error> {
    let case_ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
    Ok(spec.build(&Setup {
        env,
        case_ids: &case_ids,
        timeout: plan.run.timeout,
    })?)
}

/// Runs (or resumes) the audit a plan describes, whether it has one target
/// or several: the entry point for every scenario.
pub async fn run_plan(
    plan: Plan,
    request: RunRequest,
    observer: Arc<dyn RunObserver>,
    stop: StopSignal,
) -> Result<Outcome, Error> {
    if plan.target().is_some() {
        return run(plan, request, observer, stop)
            .await
            .map(|o| Outcome::One(Box::new(o)));
    }
    if request.shard.is_some() {
        return Err(several_targets(
            &plan.scenario.path,
            "shard a scenario of one target (run each target's scenario with `--shard`)",
        ));
    }
    env::check_all(&plan.required_env(), &from_process_env)?;
    several::run(plan, request, observer, stop)
        .await
        .map(|o| Outcome::Several(Box::new(o)))
}

/// Rebuilds every report file of the run in `dir`, of one target or of several.
pub fn rebuild(dir: &Path, scenario: Option<&Path>) -> Result<Outcome, Error> {
    if is_several(dir) {
        several::rebuild(dir, scenario).map(|o| Outcome::Several(Box::new(o)))
    } else {
        rebuild_report(dir, scenario).map(|o| Outcome::One(Box::new(o)))
    }
}

/// `plan` itself, or, when `dir` is the directory of one target of a run of
/// several (`targets/<label>/`) and `plan` has that target, its own plan.
fn own_plan(plan: Plan, dir: &Path) -> Plan {
    let in_several = dir.parent().is_some_and(|parent| {
        parent.file_name().is_some_and(|n| n == TARGETS_DIR) && parent.parent().is_some_and(is_several)
    });
    let label = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    match (in_several, label, plan.per_target()) {
        (true, Some(label), Some(plans)) => plans
            .into_iter()
            .find(|(l, _)| *l == label)
            .map_or(plan, |(_, own)| own),
        _ => plan,
    }
}

/// Runs (or resumes) the audit a plan of one target describes ([`run_plan`]
/// runs a plan of several too).
pub async fn run(
    plan: Plan,
    request: RunRequest,
    observer: Arc<dyn RunObserver>,
    stop: StopSignal,
) -> Result<RunOutcome, Error> {
    // Every value the run will need (the appeal API's too) is checked before the first request.
    env::check_all(&plan.required_env(), &from_process_env)?;
    let target = build_target(&plan)?;
    run_target(plan, target, request, observer, stop).await
}

/// Runs (or resumes) the audit a plan describes against the caller's own
/// moderation system, `moderator`, which answers in place of the plan's
/// `[target]` — write `kind = "library"` there, with a `label` saying what the
/// system is. The run directory, journal, resume and reports are those of any
/// run; the manifest describes the target as `moderator.info()` does, and a
/// resumed run must be given a moderator with the same fingerprint.
///
/// ```
/// use std::sync::Arc;
///
/// use modaudit::decision::Action;
/// use modaudit::moderator::{AttemptError, BoxFuture, ModerationRequest, Moderator, TargetInfo, Verdict};
/// use modaudit::run::{RunRequest, Silent, run_with_moderator};
/// use modaudit::scenario::Plan;
///
/// /// Removes every post that shouts.
/// struct ShoutFilter;
///
/// impl Moderator for ShoutFilter {
///     fn info(&self) -> TargetInfo {
///         TargetInfo {
///             kind: "library".into(),
///             description: "shout filter".into(),
///             fingerprint: "shout-filter-1".into(),
///             gives_notice: false,
///             notes: Vec::new(),
///         }
///     }
///
///     fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
///         Box::pin(async move {
///             Ok(batch
///                 .iter()
///                 .map(|request| {
///                     let shouts = request.text.chars().any(char::is_alphabetic)
///                         && !request.text.chars().any(char::is_lowercase);
///                     Verdict {
///                         action: Some(if shouts { Action::Remove } else { Action::Allow }),
///                         ..Verdict::default()
///                     }
///                 })
///                 .collect())
///         })
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("corpus"))?;
/// std::fs::write(
///     dir.path().join("corpus/corpus.toml"),
///     "name = \"tiny\"\nversion = \"1\"\ndescription = \"two posts\"\nlicense = \"CC0-1.0\"\nlanguages = [\"en\"]\n",
/// )?;
/// std::fs::write(
///     dir.path().join("corpus/cases.csv"),
///     "id,lang,text,label,category\n\
///      p1,en,WE ARE HERE AND WE STAY,protected,political_dissent\n\
///      v1,en,get out or else,violating,threat\n",
/// )?;
/// std::fs::write(
///     dir.path().join("scenario.toml"),
///     "name = \"shouting\"\ncorpora = [\"corpus\"]\n\n[target]\nkind = \"library\"\nlabel = \"shout filter\"\n",
/// )?;
///
/// let plan = Plan::load(&dir.path().join("scenario.toml"))?;
/// let request = RunRequest {
///     out: Some(dir.path().join("run")),
///     ..RunRequest::default()
/// };
/// let outcome = tokio::runtime::Runtime::new()?.block_on(run_with_moderator(
///     plan,
///     Arc::new(ShoutFilter),
///     request,
///     Arc::new(Silent),
///     Box::pin(std::future::pending()),
/// ))?;
/// assert_eq!(outcome.report.totals.decided, 2);
/// assert!(outcome.dir.join("report.html").is_file());
/// # Ok(())
/// # }
/// ```
pub async fn run_with_moderator(
    plan: Plan,
    moderator: Arc<dyn Moderator>,
    request: RunRequest,
    observer: Arc<dyn RunObserver>,
    stop: StopSignal,
) -> Result<RunOutcome, Error> {
    env::check_all(&plan.appeal_env(), &from_process_env)?;
    run_target(plan, moderator, request, observer, stop).await
}

/// Runs (or resumes) a plan against `target`.
async fn run_target(
    mut plan: Plan,
    target: Arc<dyn Moderator>,
    request: RunRequest,
    observer: Arc<dyn RunObserver>,
    stop: StopSignal,
) -> Result<RunOutcome, Error> {
    let Some(spec) = plan.target() else {
        return Err(several_targets(
            &plan.scenario.path,
            "run it with `run_plan`, which runs each of them",
        ));
    };
    let score_rule = spec.score_rule();
    if let Some(baseline) = &plan.baseline {
        compare::check_baseline(&plan, baseline)?;
    }
    let info = target.info();
    let cache = open_cache(target.as_ref(), &plan, &request, &info);
    let now = Utc::now();
    let shard = match (request.shard, &request.resume) {
        (Some(_), Some(path)) => {
            return Err(Error::RunDir {
                path: path.clone(),
                message: "a resumed run keeps the shard it was started with; resume it without a shard".into(),
            });
        }
        (Some(shard), None) => Some(shards::shard_record(&plan, shard, request.shard_rate)?),
        (None, _) => None,
    };
    let (dir, mut manifest) = match &request.resume {
        Some(path) => {
            let dir = RunDir::open(path)?;
            let mut manifest = dir.read_manifest()?;
            check_same_run(&manifest, &plan, Some(&info), path)?;
            manifest.resumed_at.push(now);
            (dir, manifest)
        }
        None => {
            let (dir, run_id) = create_run_dir(&plan, &request, now)?;
            let mut manifest = new_manifest(&plan, &info, score_rule, run_id, now)?;
            if let Some(record) = shard {
                manifest.cases = record.cases;
                manifest.sharding = Some(Sharding::Shard(record));
            }
            (dir, manifest)
        }
    };
    shards::narrow_to_shard(&mut plan, &manifest, dir.path())?;
    let idempotency_secret = match manifest.idempotency_secret.clone() {
        Some(secret) => secret,
        // A run started before runs had a secret: its journaled intents keep their keys.
        None => {
            let secret = new_idempotency_secret()?;
            manifest.idempotency_secret = Some(secret.clone());
            secret
        }
    };
    dir.write_manifest(&manifest)?;

    // One stop signal (Ctrl-C) for both phases.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });

    let mut plan = Arc::new(plan);
    let execution = decide_and_appeal(
        Arc::clone(&plan),
        target,
        cache,
        &dir.path().join(JOURNAL_FILE),
        &request,
        idempotency_secret,
        observer,
        stop_rx,
    )
    .await?;
    if !execution.rate_limiting.is_empty() {
        let before = manifest.rate_limiting.unwrap_or_default();
        manifest.rate_limiting = Some(before.merge(execution.rate_limiting));
    }
    watcher.abort();
    // Asking is over: the reports need the target's fingerprint, not what it
    // loaded to answer (a recording), which would otherwise stay held beside them.
    if let Some(Targets::One(spec)) = Arc::get_mut(&mut plan).map(|plan| &mut plan.targets) {
        spec.drop_answers();
    }
    let report = write_report(&dir, &plan, &mut manifest, !execution.interrupted)?;
    Ok(RunOutcome {
        dir: dir.path().to_path_buf(),
        report,
        execution,
    })
}

/// The response cache of `target` (one per fingerprint), unless the target
/// is not one to cache or the scenario or request turns caching off.
fn open_cache(target: &dyn Moderator, plan: &Plan, request: &RunRequest, info: &TargetInfo) -> Option<Cache> {
    (target.cacheable() && plan.run.cache && !request.no_cache).then(|| {
        let root = request
            .cache_dir
            .clone()
            .or_else(|| plan.run.cache_dir.clone())
            .unwrap_or_else(default_cache_root);
        Cache::open(&root, &info.fingerprint)
    })
}

/// Asks `target` about every case of `plan` its journal at `journal_path`
/// has no decision for (or an `error`, with `--retry-errors`), then — when
/// the plan has an appeal path and nothing stopped the run — files and
/// follows the appeals.
#[allow(clippy::too_many_arguments)]
async fn decide_and_appeal(
    plan: Arc<Plan>,
    target: Arc<dyn Moderator>,
    cache: Option<Cache>,
    journal_path: &Path,
    request: &RunRequest,
    idempotency_secret: String,
    observer: Arc<dyn RunObserver>,
    stop_rx: tokio::sync::watch::Receiver<bool>,
) -> Result<Execution, Error> {
    let (decisions, _) = index_records(journal_path, &plan)?;
    let (journal, _) = Journal::open(journal_path).map_err(Error::io(journal_path))?;
    let pending: Vec<usize> = plan
        .cases
        .iter()
        .enumerate()
        .filter(|(_, case)| match decisions.get(case.id) {
            None => true,
            Some(d) => request.retry_errors && d.action == Action::Error,
        })
        .map(|(i, _)| i)
        .collect();
    // only the pending cases were needed of it
    drop(decisions);
    observer.on_event(&RunEvent::Started {
        total: plan.cases.len() as u64,
        pending: pending.len() as u64,
    });
    let mut execution = executor::execute(
        Arc::clone(&plan),
        pending,
        target,
        cache,
        journal,
        observer,
        stop_rx.clone(),
    )
    .await?;
    if !execution.interrupted && plan.appeal.is_some() {
        let (decisions, appeals) = index_records(journal_path, &plan)?;
        let (journal, _) = Journal::open(journal_path).map_err(Error::io(journal_path))?;
        execution.interrupted = appeal_probe::probe_appeals(
            Arc::clone(&plan),
            Arc::new(decisions),
            appeals,
            journal,
            appeal_probe::ProbeSettings {
                idempotency_secret,
                retry_failed: request.retry_errors,
            },
            &from_process_env,
            Box::pin(executor::stopped(stop_rx)),
        )
        .await?;
    }
    Ok(execution)
}

/// Rebuilds every report file of the run in `dir` from its journal.
pub fn rebuild_report(dir: &Path, scenario: Option<&Path>) -> Result<RunOutcome, Error> {
    let run_dir = RunDir::open(dir)?;
    let (plan, mut manifest) = open_unchanged_run(&run_dir, scenario)?;
    let report = write_report(&run_dir, &plan, &mut manifest, false)?;
    let decided = report.totals.cases - report.totals.pending;
    Ok(RunOutcome {
        dir: dir.to_path_buf(),
        report,
        execution: Execution {
            decided,
            interrupted: false,
            rate_limiting: manifest.rate_limiting.unwrap_or_default(),
        },
    })
}

/// The plan and manifest of the run in `dir`, once its scenario, corpora and
/// (when it can be known offline) target are found unchanged. A manifest
/// written before score rules were recorded gets the scenario's. The
/// directory of one target of a run of several (`targets/<label>/`) gets
/// that target's own plan.
fn open_unchanged_run(dir: &RunDir, scenario: Option<&Path>) -> Result<(Plan, RunManifest), Error> {
    let mut manifest = dir.read_manifest()?;
    let scenario = scenario.map_or_else(|| manifest.scenario.path.clone(), Path::to_path_buf);
    // Every decision comes from the journal: a recording is only hashed, for the fingerprint.
    let mut plan = own_plan(Plan::load_to_report(&scenario)?, dir.path());
    let Some(spec) = plan.target() else {
        return Err(several_targets(
            &scenario,
            "this applies to a run of one target (`modaudit report` rebuilds the reports of either)",
        ));
    };
    let info = target_info_offline(&plan, spec)?;
    check_same_run(&manifest, &plan, info.as_ref(), dir.path())?;
    if manifest.score_rule.is_none() {
        manifest.score_rule = spec.score_rule();
    }
    shards::narrow_to_shard(&mut plan, &manifest, dir.path())?;
    Ok((plan, manifest))
}

/// Where a run is re-analysed at another threshold (`modaudit report RUN
/// --threshold T`) when no directory is given: `RUN/threshold-T`.
pub fn reanalysis_dir(run: &Path, threshold: f64) -> PathBuf {
    run.join(format!("threshold-{}", threshold_text(threshold)))
}

/// Renders every report file of the run in `dir` again at another
/// `threshold`, into `out` (default [`reanalysis_dir`]), without asking the
/// target anything: each action the target's score rule explains is
/// re-derived from the stored score; other decided cases keep their action
/// and are named. The reports, `results.json` (`settings.threshold_override`)
/// and the manifest written beside them say it is a re-analysis. The run's
/// own files are never written; `out` may not hold a run.
pub fn reanalyse_at_threshold(
    dir: &Path,
    scenario: Option<&Path>,
    threshold: f64,
    out: Option<&Path>,
) -> Result<RunOutcome, Error> {
    let refuse = |path: &Path, message: String| Error::Reanalysis {
        path: path.to_path_buf(),
        message,
    };
    if !threshold.is_finite() {
        return Err(refuse(dir, format!("the threshold must be a number, got {threshold}")));
    }
    let run_dir = RunDir::open(dir)?;
    if is_several(dir) {
        return Err(refuse(
            dir,
            format!(
                "holds a run of several targets; a re-analysis at another threshold is of one target's run, in {}",
                dir.join(TARGETS_DIR).join("<label>").display()
            ),
        ));
    }
    let (plan, run_manifest) = open_unchanged_run(&run_dir, scenario)?;
    let Some(rule) = run_manifest.score_rule else {
        return Err(refuse(
            dir,
            format!(
                "the target (kind `{}`) does not derive its action from a score threshold, so there is no other threshold to re-analyse it at",
                run_manifest.target.kind
            ),
        ));
    };
    let out = out.map_or_else(|| reanalysis_dir(dir, threshold), Path::to_path_buf);
    check_reanalysis_dir(&out)?;
    std::fs::create_dir_all(&out).map_err(Error::io(&out))?;
    let journal_path = run_dir.path().join(JOURNAL_FILE);
    let (mut decisions, appeals) = index_records(&journal_path, &plan)?;
    let run_path = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut manifest = RunManifest {
        idempotency_secret: None,
        outputs: Default::default(),
        threshold_override: Some(ThresholdOverride {
            threshold,
            run_threshold: rule.threshold,
            run_dir: run_path,
            statement: reanalysis_statement(threshold, rule.threshold),
        }),
        ..run_manifest
    };
    let decisions_sha256 = write_decisions_file(&out, &plan, &manifest, &decisions)?;
    decisions.forget_response_hashes();
    let statements = statements_of(&plan, &decisions)?;
    let report = build_report(&plan, &manifest, &decisions, &appeals, statements);
    manifest.outputs = write_outputs(&out, &report)?;
    manifest.outputs.insert(DECISIONS_FILE.to_string(), decisions_sha256);
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::io(out.join(MANIFEST_FILE))(e.into()))?;
    bytes.push(b'\n');
    write_atomically(&out.join(MANIFEST_FILE), &bytes)?;
    let decided = report.totals.cases - report.totals.pending;
    Ok(RunOutcome {
        dir: out,
        report,
        execution: Execution {
            decided,
            interrupted: false,
            rate_limiting: manifest.rate_limiting.unwrap_or_default(),
        },
    })
}

/// Refuses a directory a re-analysis may not be written into: a file, a
/// directory that holds a run, or one that holds other files than an earlier
/// re-analysis (whose files it replaces).
fn check_reanalysis_dir(out: &Path) -> Result<(), Error> {
    let refuse = |message: &str| {
        Err(Error::Reanalysis {
            path: out.to_path_buf(),
            message: message.into(),
        })
    };
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return refuse("is not a directory; --out names the directory the re-analysis is written into");
    }
    if out.join(MANIFEST_FILE).exists() {
        return match read_manifest(out)?.threshold_override {
            Some(_) => Ok(()),
            None => refuse("holds a run; a re-analysis never writes over a run's files: choose another --out"),
        };
    }
    let empty = std::fs::read_dir(out).map_err(Error::io(out))?.next().is_none();
    if empty {
        Ok(())
    } else {
        refuse("is not empty; a re-analysis is written into a new or empty directory, or over an earlier re-analysis")
    }
}

/// The description of `spec`, a target of `plan`, without its secrets:
/// re-reporting needs no key, so placeholders stand in for missing secrets
/// (they never reach the fingerprint). `None` when a variable naming the
/// endpoint is not set (the endpoint, and so the fingerprint, cannot be known
/// then), or when the target is a system inside the program that ran it.
fn target_info_offline(plan: &Plan, spec: &TargetSpec) -> Result<Option<TargetInfo>, Error> {
    let needed = spec.required_env();
    if needed
        .iter()
        .any(|u| !u.secret && from_process_env(&u.variable).is_none())
    {
        return Ok(None);
    }
    let env = |name: &str| {
        from_process_env(name).or_else(|| needed.iter().any(|u| u.variable == name).then(|| "unset".to_string()))
    };
    match build_spec_with_env(plan, spec, &env) {
        Ok(target) => Ok(Some(target.info())),
        Err(Error::InProcessTarget(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The decision ids of a finished run's adverse decisions (for joining
/// statements of reasons to it).
pub fn adverse_decision_ids(dir: &Path) -> Result<Vec<String>, Error> {
    let manifest = read_manifest(dir)?;
    if is_several(dir) {
        return Err(several_targets(
            dir,
            "statements of reasons are joined to the decisions of a run of one target",
        ));
    }
    let plan = Plan::load(&manifest.scenario.path)?;
    let (decisions, _) = index_records(&dir.join(JOURNAL_FILE), &plan)?;
    Ok(plan
        .cases
        .iter()
        .filter_map(|c| decisions.get(c.id))
        .filter(|d| plan.is_adverse(d.action))
        .filter_map(|d| d.notice().decision_id.clone())
        .collect())
}

/// The scenario a run directory was started with.
pub fn scenario_of(dir: &Path) -> Result<PathBuf, Error> {
    Ok(read_manifest(dir)?.scenario.path)
}

fn write_report(dir: &RunDir, plan: &Plan, manifest: &mut RunManifest, may_finish: bool) -> Result<Report, Error> {
    let journal_path = dir.path().join(JOURNAL_FILE);
    let (mut decisions, appeals) = index_records(&journal_path, plan)?;
    let all_decided = plan.cases.iter().all(|c| decisions.contains_key(c.id));
    if may_finish && all_decided {
        manifest.finished_at = Some(Utc::now());
    }
    let decisions_sha256 = write_decisions_file(dir.path(), plan, manifest, &decisions)?;
    decisions.forget_response_hashes();
    let statements = statements_of(plan, &decisions)?;
    let mut report = build_report(plan, manifest, &decisions, &appeals, statements);
    // a shard is compared with the baseline once merged
    let is_shard = matches!(manifest.sharding, Some(Sharding::Shard(_)));
    let baseline = if all_decided && !is_shard {
        compare::compare_with_baseline(dir.path(), plan, manifest, &decisions, &report)?
    } else {
        None
    };
    let mut outputs = BTreeMap::new();
    if let Some(compared) = baseline {
        report.add_baseline(compared.comparison);
        outputs = compared.file_hashes;
    }
    outputs.extend(write_outputs(dir.path(), &report)?);
    outputs.insert(DECISIONS_FILE.to_string(), decisions_sha256);
    manifest.outputs = outputs;
    dir.write_manifest(manifest)?;
    Ok(report)
}

/// The scenario's statements of reasons, checked and joined to the run's
/// adverse decisions (as the system made them), when it names a file.
fn statements_of(plan: &Plan, decisions: &DecisionIndex) -> Result<Option<crate::statements::StatementsReport>, Error> {
    let Some(path) = &plan.statements else {
        return Ok(None);
    };
    let ids: Vec<String> = plan
        .cases
        .iter()
        .filter_map(|c| decisions.get(c.id))
        .filter(|d| plan.is_adverse(d.action))
        .filter_map(|d| d.notice().decision_id.clone())
        .collect();
    Ok(Some(crate::statements::check_statements(path, Some(&ids))?))
}

/// Reads the journal once: decisions and appeal states, indexed by case. Records
/// that do not belong to the plan, or that repeat a step, are refused; a later
/// decision replaces an `error`, and a later appeal outcome a `failed` one (both
/// retried with `--retry-errors`). The journal is streamed; raw responses
/// (reports need only their hash) are skipped as lines are read, and the
/// scores by attribute (reports need only the score) are dropped.
fn index_records(path: &Path, plan: &Plan) -> Result<(DecisionIndex, AppealIndex), Error> {
    let known: KnownCases = plan.cases.iter().map(|c| c.id).collect();
    index_journal(path, &known)
}

/// The ids of a run's cases: a journal record of any other case is refused.
pub(crate) type KnownCases = crate::sym::SymSet;

/// [`index_records`] for a run whose cases have the ids `known`.
fn index_journal(path: &Path, known: &KnownCases) -> Result<(DecisionIndex, AppealIndex), Error> {
    // room for every case when there is a journal to read (a new run has none)
    let recorded = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    let mut decisions = DecisionIndex::with_capacity(if recorded { known.len() } else { 0 });
    let mut appeals = AppealIndex::new();
    let mut problems = Vec::new();
    if path.exists() {
        scan_journal(path, |line, record| {
            let case_id = record.case_id();
            let Some(id) = Sym::existing(case_id).filter(|id| known.contains(id)) else {
                problems.push(Diagnostic::at_line(
                    path,
                    line,
                    format!("a record for case `{case_id}`, which is not in this scenario's corpora"),
                ));
                return Ok(());
            };
            let repeated = |what: &str, case_id: &str| {
                Diagnostic::at_line(
                    path,
                    line,
                    format!("a second {what} for case `{case_id}`; the journal is damaged"),
                )
            };
            match record {
                Record::Decision(DecisionRecord {
                    case_id,
                    mut decision,
                    response_sha256,
                    ..
                }) => {
                    decision.drop_scores();
                    match decisions.get(id) {
                        Some(previous) if previous.action != Action::Error => {
                            problems.push(repeated("decision", &case_id));
                        }
                        _ => {
                            decisions.insert_answered(id, decision, response_sha256);
                        }
                    }
                }
                Record::AppealIntent(intent) => {
                    let state = appeals.entry(intent.case_id.clone()).or_default();
                    if state.intent.is_some() {
                        problems.push(repeated("appeal intent", &intent.case_id));
                    } else {
                        state.intent = Some(intent);
                    }
                }
                Record::AppealFiled(mut filed) => {
                    filed.response = None;
                    let state = appeals.entry(filed.case_id.clone()).or_default();
                    if state.filed.is_some() {
                        problems.push(repeated("appeal filing", &filed.case_id));
                    } else {
                        state.filed = Some(filed);
                    }
                }
                Record::AppealOutcome(mut outcome) => {
                    outcome.response = None;
                    let state = appeals.entry(outcome.case_id.clone()).or_default();
                    if state
                        .outcome
                        .as_ref()
                        .is_some_and(|previous| previous.result != AppealResult::Failed)
                    {
                        problems.push(repeated("appeal outcome", &outcome.case_id));
                    } else {
                        state.outcome = Some(outcome);
                    }
                }
            }
            Ok(())
        })?;
    }
    if problems.is_empty() {
        Ok((decisions, appeals))
    } else {
        Err(Error::Invalid(Diagnostics(problems)))
    }
}

/// The manifest of a new run of `plan` (of one target, or of one of its
/// several) against the target `info` describes.
fn new_manifest(
    plan: &Plan,
    info: &TargetInfo,
    score_rule: Option<crate::decision::ScoreRule>,
    run_id: String,
    now: chrono::DateTime<Utc>,
) -> Result<RunManifest, Error> {
    Ok(RunManifest {
        tool: "modaudit".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        run_id,
        scenario: ScenarioRecord {
            name: plan.name.clone(),
            path: plan.scenario.path.clone(),
            sha256: plan.scenario.sha256.clone(),
        },
        corpora: plan.corpora.clone(),
        taxonomy: plan.taxonomy.clone(),
        target: info.clone(),
        seed: plan.run.seed,
        idempotency_secret: Some(new_idempotency_secret()?),
        cases: plan.cases.len() as u64,
        started_at: now,
        resumed_at: Vec::new(),
        finished_at: None,
        rate_limiting: None,
        outputs: Default::default(),
        score_rule,
        threshold_override: None,
        sharding: None,
    })
}

/// Refuses to continue or re-report a run whose inputs have changed; the
/// target is compared when it is known.
fn check_same_run(manifest: &RunManifest, plan: &Plan, info: Option<&TargetInfo>, dir: &Path) -> Result<(), Error> {
    let mut changed = input_changes(manifest, plan);
    if is_several(dir) {
        changed.push("the run has several targets, and the scenario now has one".into());
    }
    if let Some(info) = info.filter(|i| i.fingerprint != manifest.target.fingerprint) {
        changed.push(format!(
            "the target has changed (was: {}; now: {})",
            manifest.target.description, info.description
        ));
    }
    refuse_changes(changed, dir)
}

/// What has changed since the run started, besides its targets: the
/// scenario, the corpora, the taxonomy.
fn input_changes(manifest: &RunManifest, plan: &Plan) -> Vec<String> {
    let mut changed = Vec::new();
    if manifest.scenario.sha256 != plan.scenario.sha256 {
        changed.push(format!(
            "the scenario {} has changed since the run started",
            plan.scenario.path.display()
        ));
    }
    for (then, now) in manifest.corpora.iter().zip(&plan.corpora) {
        // a file changed, gone, or new (a reviewer's answers added since)
        let unmatched = |a: &CorpusRecord, b: &CorpusRecord| -> Vec<String> {
            a.files
                .iter()
                .filter(|f| !b.files.iter().any(|g| g.path == f.path && g.sha256 == f.sha256))
                .map(|f| f.path.clone())
                .collect()
        };
        let mut differing: BTreeSet<String> = unmatched(then, now).into_iter().collect();
        differing.extend(unmatched(now, then));
        if !differing.is_empty() || then.name != now.name {
            let files: Vec<String> = differing.into_iter().collect();
            changed.push(format!("corpus `{}` has changed ({})", then.name, files.join(", ")));
        }
    }
    if manifest.corpora.len() != plan.corpora.len() {
        changed.push("the scenario's list of corpora has changed".into());
    }
    if manifest.taxonomy.as_ref().map(|t| &t.sha256) != plan.taxonomy.as_ref().map(|t| &t.sha256) {
        let file = manifest
            .taxonomy
            .as_ref()
            .or(plan.taxonomy.as_ref())
            .map_or("", |t| t.path.as_str());
        changed.push(format!("the taxonomy file {file} has changed"));
    }
    changed
}

/// Refuses a run with `changed` inputs, saying what changed.
fn refuse_changes(changed: Vec<String>, dir: &Path) -> Result<(), Error> {
    if changed.is_empty() {
        Ok(())
    } else {
        Err(Error::RunDir {
            path: dir.to_path_buf(),
            message: format!(
                "cannot continue this run: {}. Restore the original inputs, or start a new run.",
                changed.join("; ")
            ),
        })
    }
}

/// A new run directory for `plan` (`--out`, or an unused one under the
/// reports root) and the run's id, which is the directory's name.
fn create_run_dir(plan: &Plan, request: &RunRequest, now: chrono::DateTime<Utc>) -> Result<(RunDir, String), Error> {
    let path = match &request.out {
        Some(out) => out.clone(),
        None => unused_run_dir(&request.reports_root, &plan.name, now),
    };
    let dir = RunDir::create(&path, request.force)?;
    let run_id = path
        .file_name()
        .map_or_else(|| run_id(&plan.name, now), |n| n.to_string_lossy().into_owned());
    Ok((dir, run_id))
}

/// A run id: the scenario name and the UTC start time, e.g. `quickstart-20261123T101500Z`.
pub fn run_id(name: &str, at: chrono::DateTime<Utc>) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{}-{}", slug.trim_matches('-'), at.format("%Y%m%dT%H%M%SZ"))
}

fn unused_run_dir(root: &Path, name: &str, at: chrono::DateTime<Utc>) -> PathBuf {
    let id = run_id(name, at);
    let mut candidate = root.join(&id);
    let mut n = 2;
    while candidate.exists() {
        candidate = root.join(format!("{id}-{n}"));
        n += 1;
    }
    candidate
}
