//! Every statistic of `results.json` against reference values computed
//! independently with SciPy, statsmodels, lifelines and NumPy
//! (`tests/reference/generate.py`, committed in `tests/fixtures/reference/`).
//!
//! Three runs are produced with the real binary: the quickstart; an appeal run
//! (`modaudit report` over a copy of a run directory whose appeal records have
//! fixed times); and a run of synthetic cases with zero and full cells (1 of 1
//! against 367 of 2,845, 1 of 1 against 7 of 7) and scores. Each reference file
//! mirrors `results.json`.
//!
//! The rule, so that no statistic escapes: outside the sections that are not
//! analysis ([`NOT_ANALYSIS`]: bookkeeping, the settings echoed from the
//! scenario, the summary and its findings, and the gates — whose numbers are
//! copies of analysis values checked here), every
//! floating-point number of `results.json` — each interval, p-value, rate,
//! ratio, variance, design effect, statistic, AUC and survival point — must have
//! a reference value at the same place, and matches it to 1e-9: relative for a
//! p-value (any key ending in `p_value`, and `p_adjusted`), absolute for the
//! rest. A new floating-point field fails the test until the generator computes
//! it. Every value the reference holds (counts, the fields that identify an
//! element, nulls where a statistic is undefined) must be in `results.json` and
//! equal, so an interval that turns null, or appears where the reference has
//! none, fails too.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// Top-level sections of `results.json` that hold no analysis of their own
/// (`findings` and `limitations` quote values of the analysed sections).
const NOT_ANALYSIS: [&str; 9] = [
    "schema_version",
    "run",
    "corpora",
    "settings",
    "summary",
    "findings",
    "limitations",
    "gates",
    "outcome",
];

const TOLERANCE: f64 = 1e-9;

const REGENERATE: &str = "If the bundled corpora, the keyword filter or the statistics changed on purpose, \
regenerate the reference values with `python3 tests/reference/generate.py` (after `cargo build`; it needs \
numpy, scipy, statsmodels and lifelines, see its header) and review the diff; otherwise modaudit has a bug.";

fn reference(name: &str) -> Value {
    read_json(&repo().join("tests/fixtures/reference").join(name))
}

fn is_p_value(path: &str) -> bool {
    let key = path.rsplit('/').next().unwrap_or_default();
    key.ends_with("p_value") || key == "p_adjusted"
}

/// Pointers of every floating-point number under `value`.
fn floats(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| floats(v, &format!("{path}/{k}"), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| floats(v, &format!("{path}/{i}"), out)),
        Value::Number(n) if n.is_f64() => out.push(path.to_string()),
        _ => {}
    }
}

/// Everything in `actual` (from `results.json`) that disagrees with `expected`
/// (the reference) under the rule of this module.
fn compare(actual: &Value, expected: &Value, path: &str, problems: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (key, value) in a {
                let here = format!("{path}/{key}");
                match e.get(key) {
                    Some(reference) => compare(value, reference, &here, problems),
                    None => {
                        let mut unreferenced = Vec::new();
                        floats(value, &here, &mut unreferenced);
                        problems.extend(unreferenced.into_iter().map(|p| format!("{p}: no reference value")));
                    }
                }
            }
            for key in e.keys().filter(|k| !a.contains_key(*k)) {
                problems.push(format!("{path}/{key}: in the reference, missing from results.json"));
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                compare(x, y, &format!("{path}/{i}"), problems);
            }
        }
        (Value::Number(a), Value::Number(e)) if a.is_f64() || e.is_f64() => {
            let (a, e) = (a.as_f64().unwrap_or(f64::NAN), e.as_f64().unwrap_or(f64::NAN));
            let tolerance = if is_p_value(path) {
                TOLERANCE * e.abs()
            } else {
                TOLERANCE
            };
            let within = (a - e).abs() <= tolerance;
            if !within {
                problems.push(format!(
                    "{path}: {a} in results.json, reference {e} (off by {:.1e})",
                    (a - e).abs()
                ));
            }
        }
        (a, e) if a == e => {}
        (a, e) => problems.push(format!("{path}: {a} in results.json, reference {e}")),
    }
}

/// The disagreements between a whole `results.json` and a reference file's values.
fn disagreements(results: &Value, reference: &Value) -> Vec<String> {
    let analysis: serde_json::Map<String, Value> = results
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(section, _)| !NOT_ANALYSIS.contains(&section.as_str()))
        .map(|(section, value)| (section.clone(), value.clone()))
        .collect();
    let mut problems = Vec::new();
    compare(&Value::Object(analysis), reference, "", &mut problems);
    problems
}

fn assert_matches_reference(run: &Path, name: &str) -> Value {
    let results = read_json(&run.join("results.json"));
    let reference = reference(&format!("{name}.json"));
    let problems = disagreements(&results, &reference["values"]);
    assert!(
        problems.is_empty(),
        "results.json of the {name} run disagrees with tests/fixtures/reference/{name}.json in {} places:\n  {}\n{REGENERATE}",
        problems.len(),
        problems.iter().take(40).cloned().collect::<Vec<_>>().join("\n  "),
    );
    results
}

fn run(scenario: &Path, out: &Path) {
    let output = modaudit()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
}

#[test]
fn quickstart_matches_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("quickstart");
    run(&repo().join("scenarios/quickstart.toml"), &out);
    assert_matches_reference(&out, "quickstart");
}

#[test]
fn appeal_run_matches_the_reference() {
    let fixture = repo().join("tests/fixtures/recompute/appeals");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("appeals");
    std::fs::create_dir(&out).unwrap();
    for file in ["manifest.json", "journal.jsonl"] {
        std::fs::copy(fixture.join("run").join(file), out.join(file)).unwrap();
    }
    let output = modaudit()
        .arg("report")
        .arg(&out)
        .arg("--scenario")
        .arg(fixture.join("scenario.toml"))
        .output()
        .unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    let results = assert_matches_reference(&out, "appeals");
    let probe = &results["appeal"]["probe"];
    assert!(probe["time_to_decision"]["censored"].as_u64().unwrap() > 0, "{probe}");
    assert!(
        probe["disparities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["test"] == "log_rank" && d["p_value"].is_f64()),
        "{probe}"
    );
}

/// The comparison of `group_adverse` of `group_n` against `reference_adverse` of `reference_n`.
fn comparison(results: &Value, counts: [u64; 4]) -> &Value {
    results["disparities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            ["group_adverse", "group_n", "reference_adverse", "reference_n"]
                .iter()
                .zip(counts)
                .all(|(key, n)| d[*key].as_u64() == Some(n))
        })
        .unwrap_or_else(|| panic!("no comparison of {counts:?}"))
}

#[test]
fn zero_and_full_cells_match_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cells");
    run(&repo().join("tests/fixtures/recompute/cells/scenario.toml"), &out);
    let results = assert_matches_reference(&out, "cells");
    // the cells the reference must keep covering, tested, with every interval
    for counts in [[1, 1, 367, 2845], [1, 1, 7, 7]] {
        let d = comparison(&results, counts);
        assert_eq!(d["tested"], true, "{d}");
        for key in ["p_value", "p_adjusted"] {
            assert!(d[key].is_f64(), "{key}: {d}");
        }
        for key in ["ratio_ci", "ratio_ci_simultaneous"] {
            assert!(d[key]["lower"].is_f64() && d[key]["upper"].is_f64(), "{key}: {d}");
        }
        for key in ["difference_ci", "difference_ci_simultaneous"] {
            assert_eq!(d[key].as_array().map(Vec::len), Some(2), "{key}: {d}");
        }
    }
    let groups = results["score_bias"]["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["subgroup_auc_interval"]["ci"].is_array()));
    assert!(groups.iter().any(|g| g["subgroup_auc"] == 1.0));
}

/// `modaudit::analysis::rank` against SciPy's `mannwhitneyu` (exact: a sample of
/// four, no ties), with the value the generator recorded.
#[test]
fn mann_whitney_matches_scipy() {
    let reference = reference("mann_whitney.json");
    let sample = |key: &str| -> Vec<f64> {
        reference[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (x, y) = (sample("x"), sample("y"));
    let expected = reference["p_value"].as_f64().unwrap();
    assert!((expected - 0.0014652014652014652).abs() < 1e-15, "{reference}");
    for (a, b) in [(&x, &y), (&y, &x)] {
        let p = modaudit::analysis::rank::mann_whitney_two_sided(a, b).unwrap();
        assert!((p - expected).abs() <= TOLERANCE * expected, "{p} vs {expected}");
    }
}

#[test]
fn a_statistic_without_a_reference_value_fails() {
    let reference = serde_json::json!({"slices": [{"value": "en", "over_removal_ci": [0.1, 0.2]}]});
    let mut results = serde_json::json!({
        "run": {"id": "x", "elapsed": 1.5},
        "slices": [{"value": "en", "over_removal_ci": [0.1, 0.2]}],
    });
    assert_eq!(disagreements(&results, &reference), Vec::<String>::new());
    results["slices"][0]["over_removal_new_interval"] = serde_json::json!({"ci": [0.05, 0.3], "n": 4});
    results["dimension_widths"] = serde_json::json!([0.5]);
    assert_eq!(
        disagreements(&results, &reference),
        [
            "/dimension_widths/0: no reference value",
            "/slices/0/over_removal_new_interval/ci/0: no reference value",
            "/slices/0/over_removal_new_interval/ci/1: no reference value",
        ]
    );
}

#[test]
fn values_are_matched_to_1e_9_and_nulls_exactly() {
    let reference = serde_json::json!({"d": [{"ratio_ci": {"lower": 0.5, "upper": null}, "p_value": 1e-30, "n": 3}]});
    let at = |lower: f64, upper: Value, p: f64, n: u64| {
        let results = serde_json::json!({"d": [{"ratio_ci": {"lower": lower, "upper": upper}, "p_value": p, "n": n}]});
        disagreements(&results, &reference)
    };
    assert!(at(0.5 + 5e-10, Value::Null, 1e-30 * (1.0 + 5e-10), 3).is_empty());
    assert_eq!(at(0.5 + 2e-9, Value::Null, 1e-30, 3).len(), 1, "absolute");
    assert_eq!(at(0.5, Value::Null, 1.1e-30, 3).len(), 1, "relative for a p-value");
    assert_eq!(
        at(0.5, serde_json::json!(3.0), 1e-30, 3).len(),
        1,
        "an unbounded limit stays null"
    );
    assert_eq!(at(0.5, Value::Null, 1e-30, 4).len(), 1, "counts are exact");
}

/// Each reference file says how it was made and with which library versions.
#[test]
fn reference_files_record_their_generator_and_versions() {
    for name in ["quickstart", "appeals", "cells", "mann_whitney"] {
        let reference = reference(&format!("{name}.json"));
        assert_eq!(reference["generated_by"], "python3 tests/reference/generate.py");
        for library in ["numpy", "scipy", "statsmodels", "lifelines"] {
            assert!(reference["versions"][library].is_string(), "{name}: {library}");
        }
    }
}
