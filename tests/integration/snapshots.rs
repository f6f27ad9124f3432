//! Snapshot tests of every report format, built from a fixed corpus and fixed
//! decisions, so any change to what a reader sees shows up as a reviewed diff.

use chrono::{DateTime, Utc};
use modaudit::decision::{Action, Decision, DecisionDetails, DecisionIndex, Notice, ScoreRule};
use modaudit::report::{
    build_report, decisions_csv, render_annotations, render_html, render_junit, render_markdown, render_step_summary,
};
use modaudit::run::{RunManifest, ScenarioRecord, ThresholdOverride, build_target};
use modaudit::scenario::Plan;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
}

/// A fixed decision per case: Muslims-related protected posts and every third
/// other post are removed; one case errs; some removals carry a full notice.
/// Every decision carries a score, higher for removals, so the score-based
/// bias metrics and their intervals show too.
fn decisions(plan: &Plan) -> DecisionIndex {
    plan.cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let mut action = if case.target_group.as_deref() == Some("muslims") || i % 3 == 0 {
                Action::Remove
            } else {
                Action::Allow
            };
            let mut error = None;
            if i == 7 {
                action = Action::Error;
                error = Some("the program exited with exit status: 3".to_string());
            }
            let notice = if action == Action::Remove && i % 2 == 0 {
                Notice {
                    decision_id: Some(format!("d{i}")),
                    reason: Some("hate speech".into()),
                    rule: Some("policy 4.2".into()),
                    automated: Some(true),
                    automated_detection: Some(true),
                    territorial_scope: Some("EU".into()),
                    appeal_url: Some("https://appeals.example".into()),
                }
            } else if action == Action::Remove {
                Notice {
                    reason: Some("matched a term".into()),
                    ..Notice::default()
                }
            } else {
                Notice::default()
            };
            let score = match action {
                Action::Remove => Some(0.55 + (i % 5) as f64 / 10.0),
                Action::Error => None,
                _ => Some((i % 7) as f64 / 10.0),
            };
            let decision = Decision {
                action,
                score: score.into(),
                latency_ms: 5,
                attempts: 1,
                cache_hit: false,
                details: DecisionDetails {
                    notice,
                    error,
                    ..DecisionDetails::default()
                }
                .boxed(),
            };
            (case.id.to_string(), decision)
        })
        .collect()
}

fn fixture() -> (Plan, RunManifest, DecisionIndex) {
    let plan = Plan::load(&crate::support::repo().join("tests/fixtures/snapshot/scenario.toml")).unwrap();
    let target = build_target(&plan).unwrap().info();
    let manifest = RunManifest {
        tool: "modaudit".into(),
        tool_version: "0.0.0-snapshot".into(),
        run_id: "snapshot-20260911T000000Z".into(),
        scenario: ScenarioRecord {
            name: plan.name.clone(),
            path: "scenario.toml".into(),
            sha256: plan.scenario.sha256.clone(),
        },
        corpora: plan.corpora.clone(),
        taxonomy: None,
        target,
        seed: 0,
        idempotency_secret: Some("5e".repeat(32)),
        cases: plan.cases.len() as u64,
        started_at: at(0),
        resumed_at: Vec::new(),
        finished_at: Some(at(60)),
        rate_limiting: None,
        outputs: Default::default(),
        score_rule: None,
        threshold_override: None,
        sharding: None,
    };
    let decisions = decisions(&plan);
    (plan, manifest, decisions)
}

#[test]
fn report_markdown() {
    let (plan, manifest, decisions) = fixture();
    insta::assert_snapshot!(render_markdown(&build_report(
        &plan,
        &manifest,
        &decisions,
        &Default::default(),
        None
    )));
}

#[test]
fn report_html() {
    let (plan, manifest, decisions) = fixture();
    insta::assert_snapshot!(
        render_html(&build_report(&plan, &manifest, &decisions, &Default::default(), None)).unwrap()
    );
}

#[test]
fn report_junit() {
    let (plan, manifest, decisions) = fixture();
    insta::assert_snapshot!(render_junit(&build_report(
        &plan,
        &manifest,
        &decisions,
        &Default::default(),
        None
    )));
}

#[test]
fn results_json() {
    let (plan, manifest, decisions) = fixture();
    insta::assert_snapshot!(
        serde_json::to_string_pretty(&build_report(&plan, &manifest, &decisions, &Default::default(), None)).unwrap()
    );
}

#[test]
fn decisions_csv_file() {
    let (plan, _, decisions) = fixture();
    insta::assert_snapshot!(String::from_utf8(decisions_csv(&plan, &decisions).unwrap()).unwrap());
}

/// The fixture as a scoring system's run (score ≥ 0.5 → remove), or its
/// re-analysis at `threshold`: the allowed posts scored 0.5 and 0.6 keep an
/// action their score does not explain, and the case that erred has none.
fn scored(threshold: Option<f64>) -> modaudit::report::Report {
    let (plan, mut manifest, decisions) = fixture();
    manifest.score_rule = Some(ScoreRule::remove_at_or_above(0.5));
    manifest.threshold_override = threshold.map(|threshold| ThresholdOverride {
        threshold,
        run_threshold: 0.5,
        run_dir: "run".into(),
        statement: modaudit::report::reanalysis_statement(threshold, 0.5),
    });
    build_report(&plan, &manifest, &decisions, &Default::default(), None)
}

/// The findings about thresholds, and the sections of the threshold sweep.
fn sweep_parts(report: &modaudit::report::Report) -> String {
    let findings: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.kind.as_str() == "threshold")
        .map(|f| format!("{}: {}", f.id, f.text))
        .collect();
    let md = render_markdown(report);
    let start = md
        .find("## Over-removal and detection across thresholds")
        .expect("the sweep");
    let end = md.find("## Counterfactual consistency").expect("the next section");
    format!("{}\n\n{}", findings.join("\n\n"), &md[start..end])
}

#[test]
fn threshold_sweep_markdown() {
    insta::assert_snapshot!(sweep_parts(&scored(None)));
}

#[test]
fn threshold_reanalysis_markdown() {
    let report = scored(Some(0.7));
    assert_eq!(report.findings[0].id, "threshold.reanalysis");
    insta::assert_snapshot!(sweep_parts(&report));
}

#[test]
fn github_step_summary() {
    let (plan, manifest, decisions) = fixture();
    let report = build_report(&plan, &manifest, &decisions, &Default::default(), None);
    insta::assert_snapshot!(format!(
        "{}----\n{}",
        render_step_summary(&report, "reports/snapshot/report.md"),
        render_annotations(&report)
    ));
}
