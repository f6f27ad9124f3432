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
    let cases: Vec<Scored> = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Scored {
            score: c["score"].as_f64().unwrap(),
            violating: c["violating"].as_bool().unwrap(),
            group: c["group"]
                .as_str()
                .filter(|g| *g != "none")
                .map(modaudit::sym::Sym::new),
        })
        .collect();
    let bias = score_bias(cases, 0, 0.95);
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

#[test]
fn two_proportion_intervals_match_every_shared_reference_value() {
    use modaudit::analysis::interval::newcombe_difference;
    use modaudit::analysis::ratio::mover_wilson_rate_ratio;
    let Some(data) = fixture("two_proportions.json") else {
        return;
    };
    let z = data["z"].as_f64().unwrap();
    for c in data["cases"].as_array().unwrap() {
        let get = |k: &str| c[k].as_u64().unwrap();
        let (a, n1, r, n2) = (
            get("group_events"),
            get("group_n"),
            get("reference_events"),
            get("reference_n"),
        );
        let what = format!("{a}/{n1} vs {r}/{n2}");
        let (lo, hi) = newcombe_difference(a, n1, r, n2, z).unwrap();
        close(
            lo,
            c["difference_newcombe"][0].as_f64().unwrap(),
            &format!("Newcombe lower {what}"),
        );
        close(
            hi,
            c["difference_newcombe"][1].as_f64().unwrap(),
            &format!("Newcombe upper {what}"),
        );
        match mover_wilson_rate_ratio(a, n1, r, n2, z) {
            None => assert!(c["ratio_mover_wilson"].is_null(), "{what}"),
            Some(ci) => {
                // a lower limit of −1.5e-16 in the reference is clipped to 0 here
                close(ci.lower, c["ratio_mover_wilson"][0].as_f64().unwrap().max(0.0), &what);
                close(ci.upper.unwrap(), c["ratio_mover_wilson"][1].as_f64().unwrap(), &what);
            }
        }
        // the reference adds 0.5 to every cell always; modaudit only when a cell is empty
        let katz = katz_rate_ratio(a, n1, r, n2, z);
        if !katz.half_cell_corrected {
            continue;
        }
        let (lo, hi) = katz.interval.unwrap();
        close(
            lo,
            c["ratio_katz_half_cells"]["ci"][0].as_f64().unwrap(),
            &format!("Katz lower {what}"),
        );
        close(
            hi,
            c["ratio_katz_half_cells"]["ci"][1].as_f64().unwrap(),
            &format!("Katz upper {what}"),
        );
    }
}

#[test]
fn minimum_detectable_effects_match_every_shared_reference_value() {
    use modaudit::analysis::power::minimum_detectable;
    let Some(data) = fixture("power.json") else { return };
    for c in data["cases"].as_array().unwrap() {
        let got = minimum_detectable(
            c["reference_rate"].as_f64().unwrap(),
            c["group_n"].as_u64().unwrap(),
            c["reference_n"].as_u64().unwrap(),
            c["alpha"].as_f64().unwrap(),
            c["power"].as_f64().unwrap(),
        );
        close(
            got.increase.rate.unwrap(),
            c["min_detectable_rate"].as_f64().unwrap(),
            "rate",
        );
        close(
            got.increase.ratio.unwrap(),
            c["min_detectable_ratio"].as_f64().unwrap(),
            "ratio",
        );
    }
}

#[test]
fn mantel_haenszel_matches_every_shared_reference_value() {
    use modaudit::analysis::stratified::mantel_haenszel;
    let Some(data) = fixture("mantel_haenszel.json") else {
        return;
    };
    for c in data["cases"].as_array().unwrap() {
        let strata: Vec<[[u64; 2]; 2]> = serde_json::from_value(c["strata"].clone()).unwrap();
        let got = mantel_haenszel(&strata, z_critical(0.95));
        let name = c["name"].as_str().unwrap();
        close(got.odds_ratio.unwrap(), c["or_mh"].as_f64().unwrap(), name);
        let (lo, hi) = got.odds_ratio_ci.unwrap();
        close(lo, c["or_mh_ci"][0].as_f64().unwrap(), name);
        close(hi, c["or_mh_ci"][1].as_f64().unwrap(), name);
        close(got.cmh_p_value.unwrap(), c["test_null_p"].as_f64().unwrap(), name);
        close(
            got.breslow_day_p_value.unwrap(),
            c["breslow_day_p"].as_f64().unwrap(),
            name,
        );
    }
}

#[test]
fn mann_whitney_matches_every_shared_reference_value() {
    use modaudit::analysis::rank::mann_whitney_two_sided;
    let Some(data) = fixture("mann_whitney.json") else {
        return;
    };
    for c in data["cases"].as_array().unwrap() {
        let values = |k: &str| -> Vec<f64> { c[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
        let (x, y) = (values("x"), values("y"));
        close(
            mann_whitney_two_sided(&x, &y).unwrap(),
            c["p_default"].as_f64().unwrap(),
            &format!("{x:?}"),
        );
    }
}

#[test]
fn agreement_matches_every_shared_reference_value() {
    use modaudit::analysis::agreement::{cohen_kappa, fleiss_kappa, krippendorff_alpha_nominal};
    let Some(data) = fixture("agreement.json") else {
        return;
    };
    let rater = |k: &str| -> Vec<usize> {
        data[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect()
    };
    let (r1, r2, r3) = (rater("rater_1"), rater("rater_2"), rater("rater_3"));
    let pairs: Vec<(usize, usize)> = r1.iter().copied().zip(r2.iter().copied()).collect();
    close(
        cohen_kappa(&pairs).unwrap().kappa,
        data["cohen_kappa_1_2"].as_f64().unwrap(),
        "Cohen's κ",
    );
    let items: Vec<Vec<usize>> = (0..r1.len()).map(|i| vec![r1[i], r2[i], r3[i]]).collect();
    close(
        fleiss_kappa(&items).unwrap(),
        data["fleiss_kappa_1_2_3"].as_f64().unwrap(),
        "Fleiss' κ",
    );
    close(
        krippendorff_alpha_nominal(&items).unwrap(),
        data["krippendorff_alpha_nominal_1_2_3"].as_f64().unwrap(),
        "Krippendorff's α",
    );
    let with_missing = &data["krippendorff_alpha_nominal_with_missing"];
    assert!(with_missing["rater_3_missing_every_7th_from_0"].as_bool().unwrap());
    let items: Vec<Vec<usize>> = (0..r1.len())
        .map(|i| {
            let mut ratings = vec![r1[i], r2[i]];
            if !i.is_multiple_of(7) {
                ratings.push(r3[i]);
            }
            ratings
        })
        .collect();
    close(
        krippendorff_alpha_nominal(&items).unwrap(),
        with_missing["value"].as_f64().unwrap(),
        "Krippendorff's α with missing ratings",
    );
}
