//! Reading two runs and comparing them (`modaudit diff`), and comparing a run
//! with the baseline its scenario names (`[baseline]`).
//!
//! A comparison needs every case's text, label and groups, which a run
//! directory does not hold in full. They are read from the first of these
//! that is still faithful to the run:
//!
//! 1. the run's scenario, where the manifest says it was, when its sha256 and
//!    those of its corpus files match the manifest's: exactly the run's cases;
//! 2. the run's corpus files, where the manifest says they were (relative to
//!    the scenario's directory), when their sha256 match: the cases the
//!    journal decided (a complete run decided every case);
//! 3. the run's `decisions.csv`, when its sha256 matches the one the manifest
//!    recorded: every case, with the `'` that guards spreadsheets against
//!    formulas taken off again (a text that itself began with `'=` reads as
//!    `=`; see [`restore_formula_cell`]).
//!
//! A run none of them can give is refused, with the reason each failed.
//! Decisions always come from the journal; labels, settings and the system's
//! description from `results.json`. A run with undecided cases is refused
//! (exit 3): it cannot be compared case for case.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{KnownCases, index_journal, read_manifest};
use crate::analysis::{AnalysisSettings, Correction};
use crate::corpus::{Case, HashedFile, Label, load_corpus};
use crate::decision::{Action, DecisionIndex};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::Error;
use crate::fsutil::write_atomically;
use crate::hash::sha256_hex;
use crate::journal::JOURNAL_FILE;
use crate::manifest::RunManifest;
use crate::report::diff::{
    BaselineComparison, CaseSource, ComparedRun, DiffOptions, DiffSettings, RunDiff, compare, match_cases, render_html,
    render_json, render_junit, render_markdown,
};
use crate::report::local_paths::LocalPaths;
use crate::report::{ModelSnapshot, Report, restore_formula_cell};
use crate::scenario::{BaselinePlan, CorpusRecord, Plan};

/// The comparison files a run with a baseline writes into its directory (its
/// gate is in the run's own `junit.xml`).
pub const BASELINE_FILES: [&str; 3] = ["diff.md", "diff.html", "diff.json"];

/// What `modaudit diff` compares, and how.
#[derive(Debug, Clone, Default)]
pub struct DiffRequest {
    /// Run A, the earlier one (the baseline).
    pub a: PathBuf,
    /// Run B, the one under scrutiny.
    pub b: PathBuf,
    pub allow_corpus_change: bool,
    pub max_regression: Option<f64>,
    pub strict: bool,
}

/// Compares run B with run A; the statistical settings are run B's.
pub fn diff_runs(request: &DiffRequest) -> Result<RunDiff, Error> {
    let a = load_run(&request.a)?;
    let b = load_run(&request.b)?;
    let options = DiffOptions {
        settings: b.settings,
        allow_corpus_change: request.allow_corpus_change,
        max_regression: request.max_regression,
        strict: request.strict,
    };
    compare(&a.run, &b.run, &options).map_err(|e| Error::NotComparable(e.to_string()))
}

/// Writes `diff.md`, `diff.html`, `diff.json` and `junit.xml` into `dir`
/// (created if needed). A directory holding a run is refused: its own
/// `junit.xml` would be replaced.
pub fn write_diff(dir: &Path, diff: &RunDiff) -> Result<(), Error> {
    if dir.join(super::MANIFEST_FILE).exists() {
        return Err(Error::RunDir {
            path: dir.to_path_buf(),
            message: "holds a run, whose junit.xml the comparison would replace; choose another --out".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let files = rendered(dir, diff)?;
    let junit = ("junit.xml", render_junit(diff).into_bytes());
    for (name, bytes) in files.into_iter().chain([junit]) {
        write_atomically(&dir.join(name), &bytes)?;
    }
    Ok(())
}

/// `diff.md`, `diff.html` and `diff.json`.
fn rendered(dir: &Path, diff: &RunDiff) -> Result<[(&'static str, Vec<u8>); 3], Error> {
    let html = render_html(diff).map_err(|e| Error::io(dir.join("diff.html"))(std::io::Error::other(e)))?;
    let json = render_json(diff).map_err(|e| Error::io(dir.join("diff.json"))(e.into()))?;
    Ok([
        ("diff.md", render_markdown(diff).into_bytes()),
        ("diff.html", html.into_bytes()),
        ("diff.json", json.into_bytes()),
    ])
}

/// Checks, before a run asks anything, that the baseline its scenario names
/// can be compared with it: a complete run, on the same cases (or, when
/// allowed, on some of them).
pub(super) fn check_baseline(plan: &Plan, baseline: &BaselinePlan) -> Result<(), Error> {
    let loaded = load_run(&baseline.run)?;
    match_cases(&loaded.run.cases, &plan.cases, baseline.allow_corpus_change)
        .map(|_| ())
        .map_err(|e| Error::NotComparable(format!("[baseline] {}: {e}", baseline.run.display())))
}

/// Compares the run in `dir` (complete, its `report` built) with the baseline
/// `plan` names, writes the comparison files into `dir`, and returns what the
/// report shows and the files' sha256.
pub(super) fn compare_with_baseline(
    dir: &Path,
    plan: &Plan,
    manifest: &RunManifest,
    decisions: &DecisionIndex,
    report: &Report,
) -> Result<Option<ComparedWithBaseline>, Error> {
    let Some(baseline) = &plan.baseline else {
        return Ok(None);
    };
    let local = LocalPaths::of(plan, Some(&manifest.scenario.path));
    let mut a = load_run(&baseline.run)?.run;
    a.dir = local.shorten(&baseline.run.display().to_string()).into_owned();
    let b = ComparedRun {
        dir: local.shorten(&dir.display().to_string()).into_owned(),
        run_id: report.run.id.clone(),
        scenario: report.run.scenario.clone(),
        target_kind: report.run.target.clone(),
        target_description: report.run.target_description.clone(),
        target_fingerprint: report.run.target_fingerprint.clone(),
        model_snapshots: report.run.model_snapshots.clone(),
        adverse_actions: plan.adverse_actions.clone(),
        case_source: CaseSource::Scenario,
        started_at: Some(manifest.started_at),
        finished_at: manifest.finished_at,
        cases: plan.cases.clone(),
        actions: decisions.iter().map(|(id, d)| (id.to_string(), d.action)).collect(),
    };
    let options = DiffOptions {
        settings: DiffSettings::of(&plan.analysis, "this run's scenario"),
        allow_corpus_change: baseline.allow_corpus_change,
        max_regression: baseline.max_regression,
        strict: baseline.strict,
    };
    let diff = compare(&a, &b, &options)
        .map_err(|e| Error::NotComparable(format!("[baseline] {}: {e}", baseline.run.display())))?;
    let mut hashes = BTreeMap::new();
    for (name, bytes) in rendered(dir, &diff)? {
        write_atomically(&dir.join(name), &bytes)?;
        hashes.insert(name.to_string(), sha256_hex(&bytes));
    }
    Ok(Some(ComparedWithBaseline {
        comparison: BaselineComparison::of(&diff, &BASELINE_FILES),
        file_hashes: hashes,
    }))
}

/// A run compared with its baseline: what the report shows, and the sha256 of
/// the comparison files written into the run directory.
pub(super) struct ComparedWithBaseline {
    pub comparison: BaselineComparison,
    pub file_hashes: BTreeMap<String, String>,
}

/// A run read for a comparison, with the analysis settings it was reported with.
struct LoadedRun {
    run: ComparedRun,
    settings: DiffSettings,
}

/// What a comparison reads from `results.json`.
#[derive(Debug, Deserialize)]
struct RecordedResults {
    run: RecordedRun,
    settings: Option<RecordedSettings>,
}

#[derive(Debug, Deserialize)]
struct RecordedRun {
    id: String,
    scenario: String,
    target: String,
    target_description: String,
    target_fingerprint: String,
    #[serde(default)]
    model_snapshots: Vec<ModelSnapshot>,
}

#[derive(Debug, Deserialize)]
struct RecordedSettings {
    confidence: f64,
    alpha: f64,
    min_n: u64,
    correction: Correction,
    adverse_actions: BTreeSet<Action>,
}

/// Reads the run in `dir`: its cases (from the first faithful source), its
/// decisions, and what its `results.json` records.
fn load_run(dir: &Path) -> Result<LoadedRun, Error> {
    let manifest = read_manifest(dir)?;
    let results = read_results(dir, &manifest)?;
    let (case_source, cases) = run_cases(dir, &manifest)?;
    let known: KnownCases = cases.iter().map(|c| c.id).collect();
    let (decisions, _) = index_journal(&dir.join(JOURNAL_FILE), &known)?;
    let (cases, pending) = match case_source {
        // The corpora hold every case the scenario could have chosen; the run's are those it decided.
        CaseSource::Corpora => {
            let decided: Vec<Case> = cases.into_iter().filter(|c| decisions.contains_key(c.id)).collect();
            let pending = manifest.cases.saturating_sub(decided.len() as u64);
            (decided, pending)
        }
        CaseSource::Scenario | CaseSource::DecisionsCsv => {
            let pending = cases.iter().filter(|c| !decisions.contains_key(c.id)).count() as u64;
            (cases, pending)
        }
    };
    if pending > 0 {
        return Err(Error::IncompleteRun {
            dir: dir.to_path_buf(),
            pending,
        });
    }
    let defaults = AnalysisSettings::default();
    let (settings, adverse_actions) = match results.settings {
        Some(s) => (
            DiffSettings {
                confidence: s.confidence,
                alpha: s.alpha,
                min_n: s.min_n,
                correction: s.correction,
                from: "run B's scenario".into(),
            },
            s.adverse_actions,
        ),
        None => (
            DiffSettings::of(&defaults, "the defaults (run B's results.json records no settings)"),
            Action::MODERATION.into_iter().filter(|a| *a != Action::Allow).collect(),
        ),
    };
    let actions: HashMap<String, Action> = decisions.iter().map(|(id, d)| (id.to_string(), d.action)).collect();
    Ok(LoadedRun {
        run: ComparedRun {
            dir: dir.display().to_string(),
            run_id: results.run.id,
            scenario: results.run.scenario,
            target_kind: results.run.target,
            target_description: results.run.target_description,
            target_fingerprint: results.run.target_fingerprint,
            model_snapshots: results.run.model_snapshots,
            adverse_actions,
            case_source,
            started_at: Some(manifest.started_at),
            finished_at: manifest.finished_at,
            cases,
            actions,
        },
        settings,
    })
}

/// Reads `results.json`, which must be this run's.
fn read_results(dir: &Path, manifest: &RunManifest) -> Result<RecordedResults, Error> {
    let path = dir.join("results.json");
    let invalid = |message: String| Error::Invalid(Diagnostics(vec![Diagnostic::file(&path, message)]));
    if super::is_several(dir) {
        return Err(invalid(format!(
            "the results of a run of several targets, which are compared with each other in it; compare one target's run, in {}",
            dir.join(super::TARGETS_DIR).join("<label>").display()
        )));
    }
    let bytes = std::fs::read(&path).map_err(|e| {
        invalid(format!(
            "cannot read the run's results ({e}); rebuild them with `modaudit report {}`",
            dir.display()
        ))
    })?;
    let results: RecordedResults =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("not the results of a modaudit run: {e}")))?;
    if results.run.id != manifest.run_id {
        return Err(invalid(format!(
            "holds the results of run `{}`, not of this directory's run `{}`",
            results.run.id, manifest.run_id
        )));
    }
    Ok(results)
}

/// The run's cases from the first faithful source, or why none is.
fn run_cases(dir: &Path, manifest: &RunManifest) -> Result<(CaseSource, Vec<Case>), Error> {
    let mut reasons = Vec::new();
    for source in [CaseSource::Scenario, CaseSource::Corpora, CaseSource::DecisionsCsv] {
        let cases = match source {
            CaseSource::Scenario => cases_from_scenario(manifest),
            CaseSource::Corpora => cases_from_corpora(manifest),
            CaseSource::DecisionsCsv => cases_from_decisions_csv(dir, manifest),
        };
        match cases {
            Ok(cases) => return Ok((source, cases)),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(Error::RunDir {
        path: dir.to_path_buf(),
        message: format!(
            "cannot find the texts and labels of the run's cases as they were: {}",
            reasons.join("; ")
        ),
    })
}

fn cases_from_scenario(manifest: &RunManifest) -> Result<Vec<Case>, String> {
    let path = &manifest.scenario.path;
    if !path.is_file() {
        return Err(format!("the scenario {} is gone", path.display()));
    }
    let plan = Plan::load(path).map_err(|_| format!("the scenario {} no longer loads", path.display()))?;
    if plan.scenario.sha256 != manifest.scenario.sha256 {
        return Err(format!("the scenario {} has changed since the run", path.display()));
    }
    if manifest.corpora.len() != plan.corpora.len()
        || manifest
            .corpora
            .iter()
            .zip(&plan.corpora)
            .any(|(then, now)| then.name != now.name || !same_files(&then.files, &now.files))
    {
        return Err(format!(
            "the corpora of the scenario {} have changed since the run",
            path.display()
        ));
    }
    match &manifest.sharding {
        // a shard's cases are its part of the scenario's
        Some(crate::shard::Sharding::Shard(record)) => {
            let shard = record.shard().map_err(|e| format!("its manifest records {e}"))?;
            Ok(plan.cases.into_iter().filter(|c| shard.contains(&c.id)).collect())
        }
        _ => Ok(plan.cases),
    }
}

fn cases_from_corpora(manifest: &RunManifest) -> Result<Vec<Case>, String> {
    let base = manifest.scenario.path.parent().unwrap_or(Path::new(""));
    let mut cases = Vec::new();
    for CorpusRecord { name, dir, files, .. } in &manifest.corpora {
        let path = base.join(dir);
        let corpus = load_corpus(&path).map_err(|_| format!("corpus `{name}` is no longer at {}", path.display()))?;
        if !same_files(files, &corpus.files) {
            return Err(format!(
                "corpus `{name}` at {} has changed since the run",
                path.display()
            ));
        }
        cases.extend(corpus.cases);
    }
    Ok(cases)
}

fn same_files(then: &[HashedFile], now: &[HashedFile]) -> bool {
    let set = |files: &[HashedFile]| -> BTreeSet<(String, String)> {
        files.iter().map(|f| (f.path.clone(), f.sha256.clone())).collect()
    };
    set(then) == set(now)
}

fn cases_from_decisions_csv(dir: &Path, manifest: &RunManifest) -> Result<Vec<Case>, String> {
    const FILE: &str = "decisions.csv";
    let path = dir.join(FILE);
    let bytes = std::fs::read(&path).map_err(|e| format!("{FILE} cannot be read ({e})"))?;
    match manifest.outputs.get(FILE) {
        Some(recorded) if *recorded == sha256_hex(&bytes) => {}
        Some(_) => return Err(format!("{FILE} has changed since the run was reported")),
        None => return Err(format!("the manifest records no sha256 of {FILE}")),
    }
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| format!("{FILE} cannot be read ({e})"))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{FILE} has no `{name}` column"))
    };
    let [id, lang, text, label, category, target_group, speaker_group, pair_id] = [
        "case_id",
        "lang",
        "text",
        "label",
        "category",
        "target_group",
        "speaker_group",
        "pair_id",
    ]
    .map(column);
    let (id, lang, text, label, category) = (id?, lang?, text?, label?, category?);
    let (target_group, speaker_group, pair_id) = (target_group?, speaker_group?, pair_id?);
    let mut cases = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("{FILE} cannot be read ({e})"))?;
        let cell = |i: usize| restore_formula_cell(record.get(i).unwrap_or_default()).into_owned();
        let optional = |i: usize| Some(cell(i)).filter(|v| !v.is_empty());
        let case_label = Label::parse(&cell(label))
            .ok_or_else(|| format!("{FILE} row {}: `{}` is not a label", row + 2, cell(label)))?;
        cases.push(Case {
            id: cell(id).into(),
            lang: cell(lang).into(),
            text: cell(text).into(),
            label: case_label,
            category: cell(category).into(),
            target_group: optional(target_group).map(Into::into),
            characteristics: Default::default(),
            speaker_group: optional(speaker_group).map(Into::into),
            pair_id: optional(pair_id).map(Into::into),
            notes: Default::default(),
            metadata: Default::default(),
        });
    }
    Ok(cases)
}
