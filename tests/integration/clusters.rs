//! Template families and other clusters of near-identical cases: rates carry a
//! cluster-robust interval and a design effect, counterfactual flips are counted
//! per family and per pair by kind of family, and every AUC carries an interval.

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

/// Scores per target group; `jews` has too few cases for the power means.
const SCORED: &str = "\
w1,en,w,violating,slur,women,,,\nw2,en,w,violating,slur,women,,,\nw3,en,w,violating,slur,women,,,\n\
w4,en,w,violating,slur,women,,,\nw5,en,w,violating,slur,women,,,\nw6,en,w,violating,slur,women,,,\n\
w7,en,w,protected,counter_speech,women,,,\nw8,en,w,protected,counter_speech,women,,,\nw9,en,w,protected,counter_speech,women,,,\n\
w10,en,w,protected,counter_speech,women,,,\nw11,en,w,protected,counter_speech,women,,,\nw12,en,w,protected,counter_speech,women,,,\n\
m1,en,m,violating,slur,muslims,,,\nm2,en,m,violating,slur,muslims,,,\nm3,en,m,violating,slur,muslims,,,\n\
m4,en,m,violating,slur,muslims,,,\nm5,en,m,violating,slur,muslims,,,\nm6,en,m,violating,slur,muslims,,,\n\
m7,en,m,protected,counter_speech,muslims,,,\nm8,en,m,protected,counter_speech,muslims,,,\nm9,en,m,protected,counter_speech,muslims,,,\n\
m10,en,m,protected,counter_speech,muslims,,,\nm11,en,m,protected,counter_speech,muslims,,,\nm12,en,m,protected,counter_speech,muslims,,,\n\
j1,en,j,violating,slur,jews,,,\nj2,en,j,violating,slur,jews,,,\nj3,en,j,protected,counter_speech,jews,,,\nj4,en,j,protected,counter_speech,jews,,,\n\
n1,en,n,violating,threat,,,,\nn2,en,n,violating,threat,,,,\n\
n3,en,n,protected,quotation,,,,\nn4,en,n,protected,quotation,,,,\nn5,en,n,protected,quotation,,,,\n";

const SCORES: &str = "id,score\n\
w1,0.9\nw2,0.85\nw3,0.8\nw4,0.75\nw5,0.7\nw6,0.4\nw7,0.1\nw8,0.2\nw9,0.3\nw10,0.35\nw11,0.5\nw12,0.72\n\
m1,0.6\nm2,0.55\nm3,0.5\nm4,0.45\nm5,0.3\nm6,0.8\nm7,0.65\nm8,0.5\nm9,0.4\nm10,0.62\nm11,0.58\nm12,0.2\n\
j1,0.95\nj2,0.9\nj3,0.05\nj4,0.1\nn1,0.88\nn2,0.66\nn3,0.15\nn4,0.25\nn5,0.45\n";

/// Reference values: DeLong variances from a direct O(m·n) computation of the
/// structural components in NumPy 2.4 (ψ = 1, ½, 0; V10, V01 with ddof = 1),
/// intervals AUC ± z·√var clamped to [0, 1] with z = scipy.stats.norm.ppf(0.975);
/// power means over the groups with at least `min_n` = 8 scored cases.
#[test]
fn every_auc_carries_an_interval_and_says_whether_it_separates() {
    let run = replay_run(HEADER, SCORED, SCORES, "threshold = 0.5", "min_n = 8");
    assert_eq!(run.code, Some(0), "{}", run.output);
    let results = read_json(&run.dir.join("results.json"));
    let bias = &results["score_bias"];
    close(&bias["overall_auc"], 0.8621323529411765, "overall AUC");
    let overall = &bias["overall_auc_interval"];
    close(&overall["variance"], 0.003819913765138408, "overall variance");
    close(&overall["ci"][0], 0.7409958950625435, "overall lower");
    close(&overall["ci"][1], 0.9832688108198095, "overall upper");
    assert_eq!(overall["separates"], true);
    let group = |g: &str| {
        bias["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["group"] == g)
            .unwrap()
            .clone()
    };
    let muslims = group("muslims");
    assert_eq!(
        (muslims["positives"].as_u64(), muslims["negatives"].as_u64()),
        (Some(6), Some(6))
    );
    close(&muslims["subgroup_auc"], 0.5138888888888888, "muslims subgroup");
    close(
        &muslims["subgroup_auc_interval"]["variance"],
        0.034645061728395064,
        "muslims subgroup variance",
    );
    close(
        &muslims["subgroup_auc_interval"]["ci"][0],
        0.14907718681501664,
        "muslims lower",
    );
    close(
        &muslims["subgroup_auc_interval"]["ci"][1],
        0.878700590962761,
        "muslims upper",
    );
    assert_eq!(muslims["subgroup_auc_interval"]["separates"], false);
    close(
        &muslims["bpsn_auc_interval"]["variance"],
        0.005916666666666666,
        "muslims BPSN variance",
    );
    close(
        &muslims["bnsp_auc_interval"]["variance"],
        0.009653351698806245,
        "muslims BNSP variance",
    );
    let women = group("women");
    close(
        &women["bpsn_auc_interval"]["variance"],
        0.012493827160493827,
        "women BPSN variance",
    );
    close(
        &women["bpsn_auc_interval"]["ci"][0],
        0.6142568112002968,
        "women BPSN lower",
    );
    assert_eq!(women["bpsn_auc_interval"]["ci"][1], 1.0);
    assert_eq!(women["small_sample"], false);
    // two against two, perfectly separated: DeLong's variance is zero, so no
    // interval; a perfect split of 2 + 2 happens by chance once in 6, so it does
    // not separate, while 14 background positives above its 2 negatives (1 in 120) do
    let jews = group("jews");
    assert_eq!(jews["small_sample"], true);
    assert_eq!(jews["subgroup_auc_interval"]["ci"], Value::Null);
    assert_eq!(jews["subgroup_auc_interval"]["separates"], false);
    assert_eq!(jews["bpsn_auc_interval"]["separates"], true);
    // power means and the final metric leave out the small group
    assert_eq!(bias["groups_in_means"], 2);
    close(
        &bias["power_means"]["subgroup_auc"],
        0.583974826778236,
        "power mean subgroup",
    );
    close(&bias["power_means"]["bpsn_auc"], 0.8720813372555027, "power mean BPSN");
    close(&bias["power_means"]["bnsp_auc"], 0.8739287104894375, "power mean BNSP");
    close(&bias["final_bias_metric"], 0.7980293068660882, "final bias metric");
    let md = markdown(&run.dir);
    assert!(md.contains("0.514 (0.149–0.879)"), "{md}");
    assert!(md.contains("small n"), "{md}");
}

#[test]
fn an_auc_whose_interval_reaches_chance_is_not_called_separating() {
    // the posts about Muslims and those about no group: AUC 0.736, 95 % CI
    // 0.491–0.982 (NumPy, as above); the old summary called this separating
    let rows: String = SCORED
        .lines()
        .filter(|l| l.starts_with('m') || l.starts_with('n'))
        .map(|l| format!("{l}\n"))
        .collect();
    let run = replay_run(HEADER, &rows, SCORES, "threshold = 0.5", "min_n = 8");
    assert_eq!(run.code, Some(0), "{}", run.output);
    let results = read_json(&run.dir.join("results.json"));
    let overall = &results["score_bias"]["overall_auc_interval"];
    close(&overall["ci"][0], 0.49053567738772585, "lower");
    assert_eq!(overall["separates"], false);
    let summary: Vec<&str> = results["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        summary
            .iter()
            .any(|s| s.contains("do not separate violating from protected posts better than chance")),
        "{summary:?}"
    );
    assert!(!summary.iter().any(|s| s.contains("scores separate")), "{summary:?}");
}
