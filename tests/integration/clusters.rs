//! Template families and other clusters of near-identical cases: rates carry a
//! cluster-robust interval and a design effect, and counterfactual flips are
//! counted per family and per pair by kind of family.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

struct Run {
    code: Option<i32>,
    output: String,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Runs the replay target over a corpus written as `cases.csv` (with `header`).
fn replay_run(header: &str, rows: &str, recording: &str, target_extra: &str, analysis: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], "");
    std::fs::write(corpus.join("cases.csv"), format!("{header}{rows}")).unwrap();
    std::fs::write(tmp.path().join("recording.csv"), recording).unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"clusters\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"recording.csv\"\n{target_extra}\n[analysis]\n{analysis}\n"
        ),
    );
    let dir = tmp.path().join("run");
    let output = run_scenario(&scenario, &dir);
    Run {
        code: output.status.code(),
        output: format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr_of(&output)),
        dir,
        _tmp: tmp,
    }
}

fn slice<'a>(results: &'a Value, dimension: &str, value: &str) -> &'a Value {
    results["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dimension"] == dimension && s["value"] == value)
        .unwrap_or_else(|| panic!("no slice {dimension}={value}"))
}

fn close(value: &Value, expected: f64, what: &str) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {value}"));
    assert!((got - expected).abs() < 1e-9, "{what}: {got} vs {expected}");
}

fn markdown(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("report.md")).unwrap()
}

#[test]
fn a_bad_or_inconsistent_family_kind_is_a_located_input_error() {
    let header = HEADER.replace("notes\n", "notes,family_kind\n");
    let rows = "p1,en,post one,protected,quotation,,,fam-p,,group_swap\n\
                p2,en,post one!,protected,quotation,,,fam-p,,dialect\n\
                p3,en,post three,protected,quotation,,,fam-q,,typo\n\
                p4,en,post four,protected,quotation,,,,,dialect\n";
    let run = replay_run(&header, rows, "id,action\np1,remove\n", "", "");
    assert_eq!(run.code, Some(2), "{}", run.output);
    assert!(
        run.output.contains("cases.csv:3: `family_kind`") && run.output.contains("fam-p"),
        "{}",
        run.output
    );
    assert!(
        run.output
            .contains("cases.csv:4: `family_kind`: unknown family kind \"typo\""),
        "{}",
        run.output
    );
    assert!(
        run.output.contains("cases.csv:5: `family_kind`"),
        "a kind without a family: {}",
        run.output
    );
    assert!(!run.dir.join("results.json").exists(), "no run on bad input");
}

/// Protected cases: four group-swap families (5, 5, 4, 4 members), three dialect
/// pairs and ten singletons; violating: one family of three and three singletons.
const ROWS: &str = "\
a1,en,post a about muslims,protected,counter_speech,muslims,,fam-a,\n\
a2,en,post a about jews,protected,counter_speech,jews,,fam-a,\n\
a3,en,post a about women,protected,counter_speech,women,,fam-a,\n\
a4,en,post a about christians,protected,counter_speech,christians,,fam-a,\n\
a5,en,post a about gay men,protected,counter_speech,gay_men,,fam-a,\n\
b1,en,post b about muslims,protected,news_reporting,muslims,,fam-b,\n\
b2,en,post b about jews,protected,news_reporting,jews,,fam-b,\n\
b3,en,post b about women,protected,news_reporting,women,,fam-b,\n\
b4,en,post b about christians,protected,news_reporting,christians,,fam-b,\n\
b5,en,post b about gay men,protected,news_reporting,gay_men,,fam-b,\n\
c1,en,post c about muslims,protected,counter_speech,muslims,,fam-c,\n\
c2,en,post c about jews,protected,counter_speech,jews,,fam-c,\n\
c3,en,post c about women,protected,counter_speech,women,,fam-c,\n\
c4,en,post c about christians,protected,counter_speech,christians,,fam-c,\n\
d1,en,post d about muslims,protected,news_reporting,muslims,,fam-d,\n\
d2,en,post d about jews,protected,news_reporting,jews,,fam-d,\n\
d3,en,post d about women,protected,news_reporting,women,,fam-d,\n\
d4,en,post d about christians,protected,news_reporting,christians,,fam-d,\n\
e1,en,dialect post e,protected,dialect,,aave,dia-e,\n\
e2,en,dialect post e,protected,dialect,,sae,dia-e,\n\
f1,en,dialect post f,protected,dialect,,aave,dia-f,\n\
f2,en,dialect post f,protected,dialect,,sae,dia-f,\n\
g1,en,dialect post g,protected,dialect,,aave,dia-g,\n\
g2,en,dialect post g,protected,dialect,,sae,dia-g,\n\
s1,en,single post 1,protected,quotation,,,,\n\
s2,en,single post 2,protected,quotation,,,,\n\
s3,en,single post 3,protected,quotation,,,,\n\
s4,en,single post 4,protected,quotation,,,,\n\
s5,en,single post 5,protected,quotation,,,,\n\
s6,en,single post 6,protected,quotation,,,,\n\
s7,en,single post 7,protected,quotation,,,,\n\
s8,en,single post 8,protected,quotation,,,,\n\
s9,en,single post 9,protected,quotation,,,,\n\
s10,en,single post 10,protected,quotation,,,,\n\
v1,en,violating post v about muslims,violating,slur,muslims,,fam-v,\n\
v2,en,violating post v about jews,violating,slur,jews,,fam-v,\n\
v3,en,violating post v about women,violating,slur,women,,fam-v,\n\
v4,en,violating post 4,violating,threat,,,,\n\
v5,en,violating post 5,violating,threat,,,,\n\
v6,en,violating post 6,violating,threat,,,,\n";

/// Every case of fam-a is removed, none of fam-b; in fam-c and fam-d only the
/// post about Muslims; in dialect pair e the AAVE post, in g both; two protected
/// singletons; in fam-v the posts about Muslims and Jews, and one violating singleton.
const REMOVED: [&str; 15] = [
    "a1", "a2", "a3", "a4", "a5", "c1", "d1", "e1", "g1", "g2", "s1", "s2", "v1", "v2", "v4",
];

/// A recording of every case of [`ROWS`]: removed when listed in [`REMOVED`].
fn recording() -> String {
    let mut out = String::from("id,action\n");
    for line in ROWS.lines() {
        let id = line.split(',').next().unwrap();
        let removed = REMOVED.contains(&id);
        out.push_str(&format!("{id},{}\n", if removed { "remove" } else { "allow" }));
    }
    out
}

/// Reference values: statsmodels 0.15, `OLS(y, ones).fit(cov_type="cluster",
/// cov_kwds={"groups": family})` for the variance; the design effect is that
/// variance over the same estimator with every case its own cluster; the interval
/// is `proportion_confint(p * n_eff, n_eff, method="wilson")` at
/// n_eff = N / max(deff, 1).
#[test]
fn slice_rates_carry_a_cluster_robust_interval_and_design_effect() {
    let run = replay_run(HEADER, ROWS, &recording(), "", "min_n = 5");
    assert_eq!(run.code, Some(0), "{}", run.output);
    let results = read_json(&run.dir.join("results.json"));
    let overall = slice(&results, "overall", "all");
    assert_eq!(
        (overall["protected_n"].as_u64(), overall["protected_adverse"].as_u64()),
        (Some(34), Some(12))
    );
    let robust = &overall["over_removal_cluster_robust"];
    assert_eq!(robust["clusters"], 17);
    assert_eq!(robust["largest_cluster"], 5);
    close(&robust["variance"], 0.016556838998575213, "variance");
    close(&robust["design_effect"], 2.3924632352941178, "design effect");
    close(&robust["effective_n"], 14.211294660007683, "effective n");
    close(&robust["ci"][0], 0.16157938789454518, "lower");
    close(&robust["ci"][1], 0.6068884776014728, "upper");
    // the Wilson interval, which treats the 34 cases as independent, is narrower
    let wilson = overall["over_removal_ci"].as_array().unwrap();
    assert!(wilson[0].as_f64().unwrap() > 0.1615 && wilson[1].as_f64().unwrap() < 0.6068);
    // violating: a family of three (two removed) and three singletons (one
    // removed): members disagree more than independent cases would, a design
    // effect below 1, which is not allowed to narrow the interval below Wilson's
    let detection = &overall["detection_cluster_robust"];
    assert_eq!(detection["clusters"], 4);
    close(
        &detection["design_effect"],
        0.7407407407407404,
        "detection design effect",
    );
    close(&detection["effective_n"], 6.0, "detection effective n");
    close(&detection["ci"][0], 0.1876163064826506, "detection lower");
    close(&detection["ci"][1], 0.8123836935173494, "detection upper");
    assert_eq!(detection["ci"], overall["detection_ci"]);
    // a slice holding one member per family has no clustering left
    let muslims = slice(&results, "target_group", "muslims");
    let robust = &muslims["over_removal_cluster_robust"];
    assert_eq!(robust["clusters"], muslims["protected_n"]);
    assert_eq!(robust["ci"], muslims["over_removal_ci"]);
    let md = markdown(&run.dir);
    assert!(md.contains("Cluster-robust CI"), "{md}");
    assert!(md.contains("16.2–60.7 % (2.39)"), "{md}");
}

#[test]
fn an_explicit_cluster_column_groups_cases_beyond_their_family() {
    // s1–s5 come from one thread and s6–s10 from another: two clusters of five
    let mut rows = String::new();
    for i in 1..=10 {
        let thread = if i <= 5 { "thread-1" } else { "thread-2" };
        rows.push_str(&format!("s{i},en,single post {i},protected,quotation,,,,,{thread}\n"));
    }
    let header = HEADER.replace("notes\n", "notes,cluster\n");
    let recording = "id,action\ns1,remove\ns2,remove\ns3,remove\ns4,remove\ns5,remove\n\
                     s6,allow\ns7,allow\ns8,allow\ns9,allow\ns10,remove\n";
    let run = replay_run(&header, &rows, recording, "", "min_n = 5");
    assert_eq!(run.code, Some(0), "{}", run.output);
    let results = read_json(&run.dir.join("results.json"));
    let robust = &slice(&results, "overall", "all")["over_removal_cluster_robust"];
    assert_eq!(robust["clusters"], 2);
    // statsmodels as above, groups = [1]*5 + [2]*5
    close(&robust["variance"], 0.1599999999999999, "variance");
    close(&robust["design_effect"], 6.000000000000001, "design effect");
    close(&robust["ci"][0], 0.11523554040627154, "lower");
    close(&robust["ci"][1], 0.9452811152324236, "upper");
}

/// Counterfactual flips by kind of family, per family and per pair, and which
/// groups were on the actioned side of the flips.
#[test]
fn flips_are_counted_per_family_and_per_pair_by_kind_of_family() {
    let run = replay_run(HEADER, ROWS, &recording(), "", "min_n = 5");
    assert_eq!(run.code, Some(0), "{}", run.output);
    let results = read_json(&run.dir.join("results.json"));
    let cf = &results["counterfactual"];
    // pooled, as before: 8 families with two or more decided members, 4 flipped
    assert_eq!((cf["families"].as_u64(), cf["flipped"].as_u64()), (Some(8), Some(4)));
    let kinds = cf["by_kind"].as_array().unwrap();
    let kind = |k: &str| {
        kinds
            .iter()
            .find(|x| x["kind"] == k)
            .unwrap_or_else(|| panic!("no kind {k}"))
    };
    let swap = kind("group_swap");
    assert_eq!(
        (swap["families"].as_u64(), swap["flipped_families"].as_u64()),
        (Some(5), Some(3))
    );
    // pairs: 10 + 10 + 6 + 6 + 3; flipped: fam-c 3, fam-d 3, fam-v 2 (v1, v2 removed; v3 not)
    assert_eq!(
        (swap["pairs"].as_u64(), swap["flipped_pairs"].as_u64()),
        (Some(35), Some(8))
    );
    close(&swap["pair_flip_rate"], 8.0 / 35.0, "pair flip rate");
    assert!(swap["pair_flip_ci"].is_array());
    assert_eq!(swap["pair_flip_cluster_robust"]["clusters"], 5);
    let sizes: Vec<(u64, u64, u64)> = swap["family_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["members"].as_u64().unwrap(),
                s["families"].as_u64().unwrap(),
                s["flipped"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sizes, [(3, 1, 1), (4, 2, 2), (5, 2, 0)]);
    let groups = swap["members"].as_array().unwrap();
    assert_eq!(groups[0]["value"], "muslims", "{groups:?}");
    assert_eq!(groups[0]["adverse_in_flipped_families"], 3);
    // muslims was the actioned side of 3 pairs in fam-c, 3 in fam-d and 1 in fam-v
    assert_eq!(groups[0]["adverse_side_of_flipped_pairs"], 7);
    let dialect = kind("dialect");
    assert_eq!(
        (dialect["families"].as_u64(), dialect["flipped_families"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        (dialect["pairs"].as_u64(), dialect["flipped_pairs"].as_u64()),
        (Some(3), Some(1))
    );
    let aave = &dialect["members"][0];
    assert_eq!(
        (aave["value"].as_str(), aave["adverse_side_of_flipped_pairs"].as_u64()),
        (Some("aave"), Some(1))
    );
    let flipped = cf["flipped_families"].as_array().unwrap();
    assert!(
        flipped
            .iter()
            .any(|f| f["pair_id"] == "dia-e" && f["kind"] == "dialect")
    );
    let md = markdown(&run.dir);
    assert!(md.contains("| Group swap | 5 | 3 |"), "{md}");
    assert!(md.contains("muslims"), "{md}");
}

#[test]
fn a_family_kind_column_overrides_the_inferred_kind() {
    let header = HEADER.replace("notes\n", "notes,family_kind\n");
    let rows = "p1,en,post one,protected,quotation,,,fam-p,,perturbation\n\
                p2,en,post one!,protected,quotation,,,fam-p,,perturbation\n";
    let run = replay_run(&header, rows, "id,action\np1,remove\np2,allow\n", "", "");
    assert_eq!(run.code, Some(0), "{}", run.output);
    let results = read_json(&run.dir.join("results.json"));
    let kinds = results["counterfactual"]["by_kind"].as_array().unwrap();
    assert_eq!(kinds.len(), 1);
    assert_eq!(kinds[0]["kind"], "perturbation");
    assert_eq!(kinds[0]["flipped_pairs"], 1);
}
