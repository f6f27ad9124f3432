//! Recomputes every slice of `results.json` from `decisions.csv`, the corpus
//! and the bundled taxonomy of groups, independently of the library, and
//! checks they agree.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// z for a 95 % interval: scipy.stats.norm.ppf(0.975).
const Z95: f64 = 1.959963984540054;

/// Wilson interval, written out from the textbook formula.
fn wilson(x: f64, n: f64) -> (f64, f64) {
    let p = x / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[derive(Default, Debug, PartialEq)]
struct Counts {
    protected_n: u64,
    protected_adverse: u64,
    violating_n: u64,
    violating_adverse: u64,
    errors: u64,
    unsupported: u64,
}

fn rows_of(reader: csv::Reader<impl std::io::Read>) -> Vec<HashMap<String, String>> {
    let mut reader = reader;
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Every case of the corpora: the case files the manifests list, and the cases
/// their templates expand to (from `modaudit corpus expand`).
fn corpus_cases(dirs: &[&Path]) -> HashMap<String, HashMap<String, String>> {
    let mut cases = HashMap::new();
    for dir in dirs {
        let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("corpus.toml")).unwrap()).unwrap();
        let files: Vec<String> = manifest
            .get("files")
            .and_then(|f| f.as_array())
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_else(|| vec!["cases.csv".into()]);
        for file in files {
            for row in rows_of(csv::Reader::from_path(dir.join(file)).unwrap()) {
                cases.insert(row["id"].clone(), row);
            }
        }
        let expanded = modaudit().args(["corpus", "expand"]).arg(dir).output().unwrap();
        for mut row in rows_of(csv::Reader::from_reader(&expanded.stdout[..])) {
            row.insert("speaker_group".into(), String::new());
            cases.insert(row["id"].clone(), row);
        }
    }
    cases
}

/// A group name as the taxonomy matches it (README, "Taxonomy of groups").
fn name_key(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Every name and alias of `corpora/taxonomy.toml` → the canonical group and
/// its characteristics.
fn taxonomy() -> HashMap<String, (String, Vec<String>)> {
    let text = std::fs::read_to_string(repo().join("corpora/taxonomy.toml")).unwrap();
    let file: toml::Table = toml::from_str(&text).unwrap();
    let mut index = HashMap::new();
    for (name, group) in file["groups"].as_table().unwrap() {
        let strings = |key: &str| -> Vec<String> {
            group
                .get(key)
                .and_then(|v| v.as_array())
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        for written in std::iter::once(name.clone()).chain(strings("aliases")) {
            index.insert(name_key(&written), (name.clone(), strings("characteristics")));
        }
    }
    index
}

fn check_consistency(out: &Path, corpora: &[&Path]) {
    let cases = corpus_cases(corpora);
    let taxonomy = taxonomy();
    let decisions = read_decisions(out);
    assert_eq!(decisions.len(), cases.len(), "one row per case");
    let mut expected: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for d in &decisions {
        let case = &cases[&d["case_id"]];
        assert_eq!(
            case["label"], d["label"],
            "decisions.csv agrees with the corpus on {}",
            d["case_id"]
        );
        let lang = case["lang"].clone();
        let (group, characteristics) = taxonomy
            .get(&name_key(&case["target_group"]))
            .cloned()
            .unwrap_or_else(|| (case["target_group"].clone(), Vec::new()));
        assert_eq!(d["target_group"], group, "decisions.csv names the canonical group");
        let mut keys = vec![
            ("overall".to_string(), "all".to_string()),
            ("language".to_string(), lang.clone()),
            ("category".to_string(), case["category"].clone()),
        ];
        if !group.is_empty() {
            keys.push(("target_group".into(), group.clone()));
            keys.push(("language_x_target_group".into(), format!("{lang} × {group}")));
        }
        if !case["speaker_group"].is_empty() {
            keys.push(("speaker_group".into(), case["speaker_group"].clone()));
        }
        for characteristic in characteristics {
            keys.push(("language_x_characteristic".into(), format!("{lang} × {characteristic}")));
            keys.push(("characteristic".into(), characteristic));
        }
        for key in keys {
            let c = expected.entry(key).or_default();
            match d["action"].as_str() {
                "error" => c.errors += 1,
                "unsupported" => c.unsupported += 1,
                "" => panic!("undecided case in a finished run"),
                _ => {
                    let adverse = u64::from(d["adverse"] == "true");
                    if case["label"] == "protected" {
                        c.protected_n += 1;
                        c.protected_adverse += adverse;
                    } else {
                        c.violating_n += 1;
                        c.violating_adverse += adverse;
                    }
                }
            }
        }
    }
    let results = read_json(&out.join("results.json"));
    let slices = results["slices"].as_array().unwrap();
    assert_eq!(slices.len(), expected.len(), "same set of slices");
    for s in slices {
        let key = (
            s["dimension"].as_str().unwrap().to_string(),
            s["value"].as_str().unwrap().to_string(),
        );
        let e = expected.get(&key).unwrap_or_else(|| panic!("unexpected slice {key:?}"));
        let got = Counts {
            protected_n: s["protected_n"].as_u64().unwrap(),
            protected_adverse: s["protected_adverse"].as_u64().unwrap(),
            violating_n: s["violating_n"].as_u64().unwrap(),
            violating_adverse: s["violating_adverse"].as_u64().unwrap(),
            errors: s["errors"].as_u64().unwrap(),
            unsupported: s["unsupported"].as_u64().unwrap(),
        };
        assert_eq!(&got, e, "{key:?}");
        check_rate(
            &s["over_removal_rate"],
            &s["over_removal_ci"],
            e.protected_adverse,
            e.protected_n,
            &key,
        );
        check_rate(
            &s["detection_rate"],
            &s["detection_ci"],
            e.violating_adverse,
            e.violating_n,
            &key,
        );
        assert_eq!(s["small_sample"], e.protected_n < 30, "{key:?}");
    }
    let totals = &results["totals"];
    assert_eq!(totals["cases"].as_u64().unwrap(), cases.len() as u64);
    let overall = &expected[&("overall".to_string(), "all".to_string())];
    assert_eq!(totals["errors"].as_u64().unwrap(), overall.errors);
    assert_eq!(totals["unsupported"].as_u64().unwrap(), overall.unsupported);
}

fn check_rate(rate: &Value, ci: &Value, x: u64, n: u64, key: &(String, String)) {
    if n == 0 {
        assert!(rate.is_null() && ci.is_null(), "{key:?}");
        return;
    }
    let expected = x as f64 / n as f64;
    assert!((rate.as_f64().unwrap() - expected).abs() < 1e-12, "{key:?}");
    let (lo, hi) = wilson(x as f64, n as f64);
    assert!((ci[0].as_f64().unwrap() - lo).abs() < 1e-9, "{key:?} lower");
    assert!((ci[1].as_f64().unwrap() - hi).abs() < 1e-9, "{key:?} upper");
}

#[test]
fn quickstart_slices_match_an_independent_recount() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let output = modaudit()
        .current_dir(repo())
        .arg("run")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    check_consistency(
        &out,
        &[
            &repo().join("corpora/starter"),
            &repo().join("corpora/protected-speech"),
        ],
    );
}

#[test]
fn slices_with_errors_and_unsupported_cases_match_an_independent_recount() {
    let tmp = tempfile::tempdir().unwrap();
    let command = toml_command(&[
        fake_model(),
        "--remove-if-contains",
        "kill",
        "--remove-if-contains",
        "queer",
        "--crash-on",
        "en-cs-001",
        "--unsupported-lang",
        "es",
    ]);
    let scenario = write_scenario(
        tmp.path(),
        &repo().join("corpora/starter"),
        &format!(
            "name = \"mixed\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {command}\nprocesses = 2\n[run]\nconcurrency = 4\nmax_attempts = 1\nerror_budget = 1.0\n"
        ),
    );
    let out = tmp.path().join("out");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    check_consistency(&out, &[&repo().join("corpora/starter")]);
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["totals"]["errors"], 1);
    assert!(results["totals"]["unsupported"].as_u64().unwrap() > 0);
}
