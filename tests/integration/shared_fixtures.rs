//! Checks the statistics against every reference value in the shared fixtures
//! (scipy / statsmodels), when the `../shared` directory is present beside the
//! repository. The unit tests carry a subset of these values, so `cargo test`
//! checks the numerics on a clone without `../shared` too.

use std::path::PathBuf;

use modaudit::analysis::correction::{benjamini_hochberg, bonferroni, holm};
use modaudit::analysis::fisher::fisher_exact_two_sided;
use modaudit::analysis::interval::{wilson, z_critical};
use modaudit::analysis::ratio::katz_rate_ratio;
use serde_json::Value;

fn fixture(name: &str) -> Option<Value> {
    let path: PathBuf = crate::support::repo().join("../shared/fixtures/stats").join(name);
    let bytes = std::fs::read(&path).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}");
}

#[test]
fn wilson_matches_every_shared_reference_value() {
    let Some(data) = fixture("intervals.json") else {
        eprintln!("../shared not present: skipped (the unit tests carry reference values)");
        return;
    };
    for c in data["cases"].as_array().unwrap() {
        let (x, n, conf) = (
            c["successes"].as_u64().unwrap(),
            c["n"].as_u64().unwrap(),
            c["confidence"].as_f64().unwrap(),
        );
        let (lo, hi) = wilson(x, n, conf).unwrap();
        close(
            lo,
            c["wilson"][0].as_f64().unwrap(),
            &format!("wilson lower {x}/{n}@{conf}"),
        );
        close(
            hi,
            c["wilson"][1].as_f64().unwrap(),
            &format!("wilson upper {x}/{n}@{conf}"),
        );
    }
}

#[test]
fn fisher_matches_every_shared_reference_value() {
    let Some(data) = fixture("two_by_two.json") else {
        return;
    };
    for c in data["cases"].as_array().unwrap() {
        let t = &c["table"];
        let cell = |i: usize, j: usize| t[i][j].as_u64().unwrap();
        let table = [[cell(0, 0), cell(0, 1)], [cell(1, 0), cell(1, 1)]];
        close(
            fisher_exact_two_sided(table),
            c["fisher_two_sided_p"].as_f64().unwrap(),
            &format!("fisher {table:?}"),
        );
    }
}

#[test]
fn katz_matches_every_shared_reference_value() {
    let Some(data) = fixture("risk_ratio.json") else {
        return;
    };
    let z = z_critical(0.95);
    for c in data["cases"].as_array().unwrap() {
        let get = |k: &str| c[k].as_u64().unwrap();
        let rr = katz_rate_ratio(
            get("group_adverse"),
            get("group_n"),
            get("reference_adverse"),
            get("reference_n"),
            z,
        );
        close(rr.ratio.unwrap(), c["ratio"].as_f64().unwrap(), "ratio");
        let (lo, hi) = rr.interval.unwrap();
        close(lo, c["katz_95"][0].as_f64().unwrap(), "katz lower");
        close(hi, c["katz_95"][1].as_f64().unwrap(), "katz upper");
    }
}

#[test]
fn corrections_match_every_shared_reference_value() {
    let Some(data) = fixture("corrections.json") else {
        return;
    };
    for c in data["cases"].as_array().unwrap() {
        let p: Vec<f64> = c["p"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        for (name, adjusted) in [
            ("holm", holm(&p)),
            ("bonferroni", bonferroni(&p)),
            ("benjamini_hochberg", benjamini_hochberg(&p)),
        ] {
            for (got, want) in adjusted.iter().zip(c[name].as_array().unwrap()) {
                close(*got, want.as_f64().unwrap(), name);
            }
        }
    }
}

#[test]
fn bias_aucs_match_every_shared_reference_value() {
    use modaudit::analysis::auc::{Scored, score_bias};
    let Some(data) = fixture("bias_auc.json") else { return };
    let cases: Vec<Scored<'_>> = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Scored {
            score: c["score"].as_f64().unwrap(),
            violating: c["violating"].as_bool().unwrap(),
            group: c["group"].as_str().filter(|g| *g != "none"),
        })
        .collect();
    let bias = score_bias(&cases, 0, 0.95);
    close(
        bias.overall_auc.unwrap(),
        data["overall_auc"].as_f64().unwrap(),
        "overall AUC",
    );
    for group in &bias.groups {
        let expected = &data["per_group"][&group.group];
        close(
            group.subgroup_auc.unwrap(),
            expected["subgroup_auc"].as_f64().unwrap(),
            "subgroup AUC",
        );
        close(
            group.bpsn_auc.unwrap(),
            expected["bpsn_auc"].as_f64().unwrap(),
            "BPSN AUC",
        );
        close(
            group.bnsp_auc.unwrap(),
            expected["bnsp_auc"].as_f64().unwrap(),
            "BNSP AUC",
        );
    }
    assert_eq!(bias.groups.len(), 3);
    let means = &data["power_means_p_minus_5"];
    close(
        bias.power_means.subgroup_auc.unwrap(),
        means["subgroup_auc"].as_f64().unwrap(),
        "power mean subgroup",
    );
    close(
        bias.power_means.bpsn_auc.unwrap(),
        means["bpsn_auc"].as_f64().unwrap(),
        "power mean BPSN",
    );
    close(
        bias.power_means.bnsp_auc.unwrap(),
        means["bnsp_auc"].as_f64().unwrap(),
        "power mean BNSP",
    );
    close(
        bias.final_bias_metric.unwrap(),
        data["final_bias_metric"].as_f64().unwrap(),
        "final bias metric",
    );
}
