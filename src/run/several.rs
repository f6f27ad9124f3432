//! A run of several targets (`[[targets]]`): every target decides every case,
//! one target after another, each with its own pace and response cache. Each
//! target's directory `targets/<label>/` is a run of that target alone (its
//! manifest, journal and reports), so that every command that reads a run
//! reads it; the manifest at the top records the scenario and corpora as any
//! run's does, and as its `target` the set of targets (kind `several`, a
//! fingerprint over theirs). Resuming goes on with the first target that has
//! cases left, and is refused when a target has changed, left the scenario or
//! joined it. The reports are rebuilt from the journals: each target's own,
//! and the comparison at the top of the run.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;

use super::rundir::write_manifest_in;
use super::{
    Execution, RunDir, RunObserver, RunRequest, StopSignal, SystemsOutcome, TARGETS_DIR, build_target, create_run_dir,
    decide_and_appeal, index_records, input_changes, new_idempotency_secret, new_manifest, open_cache, read_manifest,
    refuse_changes, several_targets, statements_of, target_info_offline,
};
use crate::error::Error;
use crate::hash::sha256_hex;
use crate::journal::JOURNAL_FILE;
use crate::manifest::RunManifest;
use crate::moderator::{Moderator, TargetInfo};
use crate::report::build_report;
use crate::report::systems::{SystemInput, SystemsReport, build_systems_report, write_systems_outputs};
use crate::report::{DECISIONS_FILE, write_decisions_file, write_outputs};
use crate::scenario::Plan;

/// Each target's own plan, by label; refused for a plan of one target.
fn plans_of(plan: &Plan) -> Result<Vec<(String, Plan)>, Error> {
    plan.per_target().ok_or_else(|| Error::SeveralTargets {
        path: plan.scenario.path.clone(),
        message: "has a single target; it is run as a run of one target".into(),
    })
}

/// The `kind` the manifest at the top of a run of several targets gives its `target`.
pub const SEVERAL_KIND: &str = "several";

/// What the manifest at the top of a run of several targets records as its
/// target: every target, by label, and a fingerprint over theirs.
fn set_of_targets(targets: &[(&str, TargetInfo)]) -> TargetInfo {
    let fingerprints: String = targets
        .iter()
        .map(|(label, info)| format!("{label}\t{}\n", info.fingerprint))
        .collect();
    TargetInfo {
        kind: SEVERAL_KIND.into(),
        description: targets
            .iter()
            .map(|(label, info)| format!("{label}: {}", info.description))
            .collect::<Vec<_>>()
            .join("; "),
        fingerprint: sha256_hex(fingerprints.as_bytes()),
        gives_notice: targets.iter().any(|(_, info)| info.gives_notice),
        notes: Vec::new(),
    }
}

/// Runs (or resumes) a plan of several targets.
pub(super) async fn run(
    plan: Plan,
    request: RunRequest,
    observer: Arc<dyn RunObserver>,
    stop: StopSignal,
) -> Result<SystemsOutcome, Error> {
    let mut targets: Vec<(String, Plan, Arc<dyn Moderator>)> = Vec::new();
    for (label, own) in plans_of(&plan)? {
        let target = build_target(&own)?;
        targets.push((label, own, target));
    }
    let infos: Vec<(&str, TargetInfo)> = targets.iter().map(|(l, _, t)| (l.as_str(), t.info())).collect();
    let now = Utc::now();
    let (dir, mut manifest) = match &request.resume {
        Some(path) => {
            let dir = RunDir::open(path)?;
            let mut manifest = dir.read_manifest()?;
            let known: Vec<(&str, Option<TargetInfo>)> = infos.iter().map(|(l, i)| (*l, Some(i.clone()))).collect();
            check_same_targets(&manifest, &plan, &known, path)?;
            manifest.resumed_at.push(now);
            (dir, manifest)
        }
        None => {
            let (dir, run_id) = create_run_dir(&plan, &request, now)?;
            let manifest = new_manifest(&plan, &set_of_targets(&infos), None, run_id, now)?;
            (dir, manifest)
        }
    };
    let idempotency_secret = match manifest.idempotency_secret.clone() {
        Some(secret) => secret,
        None => {
            let secret = new_idempotency_secret()?;
            manifest.idempotency_secret = Some(secret.clone());
            secret
        }
    };
    // Every target's manifest first, so that an interrupted run knows them all.
    for ((label, own, _), (_, info)) in targets.iter().zip(&infos) {
        let target_dir = dir.target_dir(label);
        let own_manifest = if request.resume.is_some() {
            RunManifest {
                resumed_at: manifest.resumed_at.clone(),
                ..read_manifest(&target_dir)?
            }
        } else {
            std::fs::create_dir_all(&target_dir).map_err(Error::io(&target_dir))?;
            let score_rule = own.target().and_then(|spec| spec.score_rule());
            RunManifest {
                idempotency_secret: Some(idempotency_secret.clone()),
                ..new_manifest(own, info, score_rule, manifest.run_id.clone(), now)?
            }
        };
        write_manifest_in(&target_dir, &own_manifest)?;
    }
    dir.write_manifest(&manifest)?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    let mut execution = Execution {
        decided: 0,
        interrupted: false,
        rate_limiting: Default::default(),
    };
    for (label, own, target) in targets {
        let target_dir = dir.target_dir(&label);
        let info = target.info();
        let cache = open_cache(target.as_ref(), &own, &request, &info);
        let part = decide_and_appeal(
            Arc::new(own),
            target,
            cache,
            &target_dir.join(JOURNAL_FILE),
            &request,
            idempotency_secret.clone(),
            Arc::clone(&observer),
            stop_rx.clone(),
        )
        .await?;
        if !part.rate_limiting.is_empty() {
            let mut own_manifest = read_manifest(&target_dir)?;
            own_manifest.rate_limiting = Some(own_manifest.rate_limiting.unwrap_or_default().merge(part.rate_limiting));
            write_manifest_in(&target_dir, &own_manifest)?;
            manifest.rate_limiting = Some(manifest.rate_limiting.unwrap_or_default().merge(part.rate_limiting));
        }
        execution.decided += part.decided;
        execution.rate_limiting = execution.rate_limiting.merge(part.rate_limiting);
        if part.interrupted {
            execution.interrupted = true;
            break;
        }
    }
    watcher.abort();
    let report = write_reports(&dir, &plan, &mut manifest, !execution.interrupted)?;
    Ok(SystemsOutcome {
        dir: dir.path().to_path_buf(),
        report,
        execution,
    })
}

/// Rebuilds every report of the run of several targets in `dir` from its
/// journals, once its inputs are found unchanged.
pub(super) fn rebuild(dir: &Path, scenario: Option<&Path>) -> Result<SystemsOutcome, Error> {
    let run_dir = RunDir::open(dir)?;
    let mut manifest = run_dir.read_manifest()?;
    let scenario = scenario.map_or_else(|| manifest.scenario.path.clone(), Path::to_path_buf);
    let plan = Plan::load(&scenario)?;
    if plan.target().is_some() {
        return Err(several_targets(
            dir,
            &format!("the scenario {} now has a single target", scenario.display()),
        ));
    }
    let mut known = Vec::new();
    for (label, own) in plans_of(&plan)? {
        let info = match own.target() {
            Some(spec) => target_info_offline(&own, spec)?,
            None => None,
        };
        known.push((label, info));
    }
    let known: Vec<(&str, Option<TargetInfo>)> = known.iter().map(|(l, i)| (l.as_str(), i.clone())).collect();
    check_same_targets(&manifest, &plan, &known, dir)?;
    let report = write_reports(&run_dir, &plan, &mut manifest, false)?;
    let decided = report
        .targets
        .iter()
        .map(|t| t.report.totals.cases - t.report.totals.pending)
        .sum();
    Ok(SystemsOutcome {
        dir: dir.to_path_buf(),
        report,
        execution: Execution {
            decided,
            interrupted: false,
            rate_limiting: manifest.rate_limiting.unwrap_or_default(),
        },
    })
}

/// The labels of the targets a run of several has a directory for, sorted.
fn labels_in_run(dir: &Path) -> Result<Vec<String>, Error> {
    let targets = dir.join(TARGETS_DIR);
    let mut labels = Vec::new();
    for entry in std::fs::read_dir(&targets).map_err(Error::io(&targets))? {
        let entry = entry.map_err(Error::io(&targets))?;
        if entry.path().join(crate::run::MANIFEST_FILE).is_file() {
            labels.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    labels.sort();
    Ok(labels)
}

/// Refuses to continue or re-report a run whose inputs have changed: the
/// scenario, corpora and taxonomy as for any run, and the targets label by
/// label (each one's fingerprint when it can be known, `None` otherwise).
fn check_same_targets(
    manifest: &RunManifest,
    plan: &Plan,
    targets: &[(&str, Option<TargetInfo>)],
    dir: &Path,
) -> Result<(), Error> {
    let mut changed = input_changes(manifest, plan);
    if manifest.target.kind != SEVERAL_KIND {
        changed.push("the run has one target, and the scenario now has several".into());
    }
    let in_run = labels_in_run(dir)?;
    for label in &in_run {
        match targets.iter().find(|(l, _)| l == label) {
            None => changed.push(format!("target `{label}` is no longer in the scenario")),
            Some((_, Some(now))) => {
                let then = read_manifest(&dir.join(TARGETS_DIR).join(label))?.target;
                if then.fingerprint != now.fingerprint {
                    changed.push(format!(
                        "target `{label}` has changed (was: {}; now: {})",
                        then.description, now.description
                    ));
                }
            }
            Some((_, None)) => {}
        }
    }
    for (label, _) in targets {
        if !in_run.iter().any(|l| l == label) {
            changed.push(format!("target `{label}` was not in the run"));
        }
    }
    refuse_changes(changed, dir)
}

/// Writes each target's reports (and manifest) into its directory and the
/// comparison at the top.
fn write_reports(
    dir: &RunDir,
    plan: &Plan,
    manifest: &mut RunManifest,
    may_finish: bool,
) -> Result<SystemsReport, Error> {
    let plans = plans_of(plan)?;
    let mut manifests = Vec::new();
    let mut indexed = Vec::new();
    let mut decisions_sha256 = Vec::new();
    for (label, own) in &plans {
        let target_dir = dir.target_dir(label);
        let own_manifest = read_manifest(&target_dir)?;
        let (mut decisions, appeals) = index_records(&target_dir.join(JOURNAL_FILE), own)?;
        decisions_sha256.push(write_decisions_file(&target_dir, own, &own_manifest, &decisions)?);
        decisions.forget_response_hashes();
        manifests.push(own_manifest);
        indexed.push((decisions, appeals));
    }
    let all_decided = plans
        .iter()
        .zip(&indexed)
        .all(|((_, own), (decisions, _))| own.cases.iter().all(|c| decisions.contains_key(c.id)));
    let now = Utc::now();
    if may_finish && all_decided {
        manifest.finished_at = Some(now);
    }
    let mut systems = Vec::new();
    let each = plans.iter().zip(&mut manifests).zip(&indexed).zip(decisions_sha256);
    for ((((label, own), own_manifest), (decisions, appeals)), decisions_sha256) in each {
        if may_finish && all_decided {
            own_manifest.finished_at = Some(now);
        }
        let statements = statements_of(own, decisions)?;
        let report = build_report(own, own_manifest, decisions, appeals, statements);
        let target_dir = dir.target_dir(label);
        own_manifest.outputs = write_outputs(&target_dir, &report)?;
        own_manifest
            .outputs
            .insert(DECISIONS_FILE.to_string(), decisions_sha256);
        write_manifest_in(&target_dir, own_manifest)?;
        systems.push(SystemInput {
            label,
            plan: own,
            decisions,
            report,
        });
    }
    let report = build_systems_report(plan, manifest, systems);
    manifest.outputs = write_systems_outputs(dir.path(), &report)?;
    dir.write_manifest(manifest)?;
    Ok(report)
}
