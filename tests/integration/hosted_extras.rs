//! What hosted classifiers say besides their scores reaches the outputs: the
//! OpenAI model snapshot that answered each case, so that a silent model
//! update shows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::http_targets::{Adapter, ROWS, rows_by_case, run_against, run_against_with};
use crate::server::{Reply, Server};
use crate::support::*;

fn journal_responses(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["case_id"] == "k1")
        .map(|r| r["response"].clone())
        .collect()
}

#[test]
fn the_openai_model_snapshot_is_recorded_per_case_and_a_change_is_reported() {
    let requests = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |request, _| {
        let first = requests.fetch_add(1, Ordering::SeqCst) == 0;
        match Adapter::OpenAi.answer(request) {
            Reply::Json(200, mut answer) => {
                answer["model"] = json!(if first {
                    "omni-moderation-2024-09-26"
                } else {
                    "omni-moderation-2025-11-03"
                });
                Reply::Json(200, answer)
            }
            other => other,
        }
    });
    let run = run_against_with(Adapter::OpenAi, &server, ROWS, "batch_size = 1\n", "concurrency = 1\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    let models: Vec<&str> = ["k1", "b1", "b2", "b3"]
        .iter()
        .map(|id| rows[*id]["model"].as_str())
        .collect();
    assert_eq!(
        models.iter().filter(|m| **m == "omni-moderation-2024-09-26").count(),
        1,
        "{models:?}"
    );
    assert_eq!(
        models.iter().filter(|m| **m == "omni-moderation-2025-11-03").count(),
        3,
        "{models:?}"
    );
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(
        results["run"]["model_snapshots"],
        json!([{"model": "omni-moderation-2024-09-26", "cases": 1}, {"model": "omni-moderation-2025-11-03", "cases": 3}])
    );
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(
        md.contains("omni-moderation-2024-09-26 (1 case), omni-moderation-2025-11-03 (3 cases)"),
        "{md}"
    );
    assert!(md.contains("changed during the run"), "{md}");
    assert!(run.stdout.contains("changed during the run"), "{}", run.stdout);
    let response = &journal_responses(&run.dir)[0];
    assert!(
        response["result"]["category_applied_input_types"].is_object(),
        "the applied input types are kept: {response}"
    );
}

#[test]
fn one_openai_snapshot_is_named_without_a_warning() {
    let server = Server::start(|request, _| Adapter::OpenAi.answer(request));
    let run = run_against(Adapter::OpenAi, &server, ROWS, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(
        results["run"]["model_snapshots"],
        json!([{"model": "omni-moderation-2024-09-26", "cases": 4}])
    );
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(md.contains("omni-moderation-2024-09-26 (4 cases)"), "{md}");
    assert!(!md.contains("changed during the run"), "{md}");
}
