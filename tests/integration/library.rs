//! Auditing a moderation system that lives inside the caller's program, through
//! the library: the run writes the same report as the same decisions replayed
//! from a recording.

use std::path::Path;
use std::sync::Arc;

use modaudit::corpus::Case;
use modaudit::decision::{Action, Notice};
use modaudit::moderator::{AttemptError, BoxFuture, ModerationRequest, Moderator, TargetInfo, Verdict};
use modaudit::run::{RunRequest, Silent, run_with_moderator};
use modaudit::scenario::Plan;
use serde_json::{Value, json};

use crate::support::*;

/// What the in-process system decides: a score from the text's bytes, no
/// model for Spanish.
fn decide(lang: &str, text: &str) -> (Action, Option<f64>, String) {
    if lang.starts_with("es") {
        return (Action::Unsupported, None, "no model for Spanish".into());
    }
    let score = (text.bytes().map(u64::from).sum::<u64>() % 100) as f64 / 100.0;
    if score >= 0.6 {
        (Action::Remove, Some(score), format!("scored {score}"))
    } else {
        (Action::Allow, Some(score), String::new())
    }
}

/// The in-process system under audit.
struct InProcess;

impl Moderator for InProcess {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            kind: "library".into(),
            description: "byte-sum classifier".into(),
            fingerprint: "byte-sum-1".into(),
            gives_notice: true,
            notes: Vec::new(),
        }
    }

    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        Box::pin(async move {
            Ok(batch
                .iter()
                .map(|request| {
                    let (action, score, reason) = decide(request.lang, request.text);
                    let reason = (!reason.is_empty()).then_some(reason);
                    Verdict {
                        action: Some(action),
                        score,
                        scores: score.map(|s| [("score".to_string(), s)].into()).unwrap_or_default(),
                        notice: Notice {
                            reason: reason.clone(),
                            ..Notice::default()
                        },
                        detail: (action == Action::Unsupported).then(|| reason.unwrap_or_default()),
                        ..Verdict::default()
                    }
                })
                .collect())
        })
    }
}

/// The same decisions as a recording for the `replay` kind.
fn recording(cases: &[Case]) -> String {
    cases
        .iter()
        .map(|case| {
            let (action, score, reason) = decide(&case.lang, &case.text().unwrap());
            let mut row = json!({"id": case.id, "action": action.as_str()});
            if let Some(score) = score {
                row["score"] = json!(score);
            }
            if !reason.is_empty() {
                row["reason"] = json!(reason);
            }
            format!("{row}\n")
        })
        .collect()
}

/// `results.json` without what differs between two runs of the same decisions
/// through different targets: the run's id and times, the scenario's hash and
/// what the target says about itself (wherever the report quotes it).
fn comparable_results(dir: &Path) -> Value {
    let results = read_json(&dir.join("results.json"));
    let description = results["run"]["target_description"].as_str().unwrap().to_string();
    let text = results.to_string().replace(&description, "the target");
    let mut results: Value = serde_json::from_str(&text).unwrap();
    let run = results["run"].as_object_mut().unwrap();
    for key in [
        "id",
        "started_at",
        "finished_at",
        "scenario_sha256",
        "target",
        "target_description",
        "target_fingerprint",
    ] {
        run.remove(key);
    }
    results
}

#[test]
fn an_in_process_moderator_gets_the_same_report_as_its_decisions_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = repo().join("corpora/starter");
    let scenario = |target: &str| {
        let dir = tmp.path().join(target.split('"').nth(1).unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        write_scenario(
            &dir,
            &corpus,
            &format!(
                "name = \"in-process\"\ncorpora = [{{corpus}}]\n[target]\n{target}\n[run]\nconcurrency = 3\n[gates]\nmax_over_removal_rate = 0.3\n"
            ),
        )
    };

    let library = scenario("kind = \"library\"\nlabel = \"byte-sum classifier\"");
    let plan = Plan::load(&library).unwrap();
    std::fs::write(tmp.path().join("recording.jsonl"), recording(&plan.cases)).unwrap();
    let in_process_out = tmp.path().join("in-process-run");
    let outcome = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run_with_moderator(
            plan,
            Arc::new(InProcess),
            RunRequest {
                out: Some(in_process_out.clone()),
                ..RunRequest::default()
            },
            Arc::new(Silent),
            Box::pin(std::future::pending()),
        ))
        .unwrap();
    assert!(!outcome.execution.interrupted);
    assert_eq!(outcome.report.run.target_description, "byte-sum classifier");

    let replay = scenario("kind = \"replay\"\nfile = \"../recording.jsonl\"");
    let replay_out = tmp.path().join("replay-run");
    let output = run_scenario(&replay, &replay_out);
    assert_eq!(
        output.status.code(),
        Some(i32::from(outcome.report.outcome.exit_code)),
        "{}",
        stderr_of(&output)
    );

    let in_process = comparable_results(&in_process_out);
    let rerendered = modaudit().arg("report").arg(&in_process_out).output().unwrap();
    assert_eq!(
        rerendered.status.code(),
        Some(i32::from(outcome.report.outcome.exit_code)),
        "the command line re-renders a library run without the system: {}",
        stderr_of(&rerendered)
    );
    assert_eq!(comparable_results(&in_process_out), in_process);
    assert!(in_process["totals"]["cases"].as_u64().unwrap() > 300);
    assert!(
        in_process["totals"]["unsupported"].as_u64().unwrap() > 0,
        "{}",
        in_process["totals"]
    );
    assert_eq!(in_process, comparable_results(&replay_out));
}
