//! The statistics a report's conclusions rest on, checked through the real
//! binary: intervals that hold at 0 % and 100 %, intervals consistent with the
//! corrected tests, correction families, reference choices, detection
//! disparities, omnibus tests, power and the stratified check.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::*;

/// Cases sharing every column and a decision: `count` cases, the first
/// `actioned` of them removed.
struct Block {
    lang: &'static str,
    label: &'static str,
    category: &'static str,
    target_group: &'static str,
    speaker_group: &'static str,
    count: u64,
    actioned: u64,
}

fn protected(
    lang: &'static str,
    category: &'static str,
    target_group: &'static str,
    count: u64,
    actioned: u64,
) -> Block {
    Block {
        lang,
        label: "protected",
        category,
        target_group,
        speaker_group: "",
        count,
        actioned,
    }
}

struct Run {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    code: Option<i32>,
    stderr: String,
}

impl Run {
    fn results(&self) -> Value {
        read_json(&self.out.join("results.json"))
    }

    fn markdown(&self) -> String {
        std::fs::read_to_string(self.out.join("report.md")).unwrap()
    }
}

/// Runs the blocks through the replay target with the given `[analysis]` body.
fn run(blocks: &[Block], analysis: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    let mut recording = String::new();
    let mut languages = BTreeSet::new();
    let mut id = 0;
    for b in blocks {
        languages.insert(b.lang);
        for i in 0..b.count {
            id += 1;
            rows.push_str(&format!(
                "c{id},{},post {id},{},{},{},{},,\n",
                b.lang, b.label, b.category, b.target_group, b.speaker_group
            ));
            let action = if i < b.actioned { "remove" } else { "allow" };
            recording.push_str(&format!("{{\"id\": \"c{id}\", \"action\": \"{action}\"}}\n"));
        }
    }
    let languages: Vec<&str> = languages.into_iter().collect();
    let corpus = write_corpus(&tmp.path().join("corpus"), &languages, &rows);
    std::fs::write(tmp.path().join("recording.jsonl"), recording).unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"statistics\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"recording.jsonl\"\n[analysis]\n{analysis}\n"
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    Run {
        _tmp: tmp,
        out,
        code: output.status.code(),
        stderr: stderr_of(&output),
    }
}

fn disparity<'a>(results: &'a Value, measure: &str, dimension: &str, group: &str) -> &'a Value {
    results["disparities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["measure"] == measure && d["dimension"] == dimension && d["group"] == group)
        .unwrap_or_else(|| panic!("no {measure} {dimension} {group} in {}", results["disparities"]))
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Whether a `{lower, upper}` ratio interval lies wholly above or below 1.
fn excludes_one(ci: &Value) -> bool {
    number(&ci["lower"]) > 1.0 || ci["upper"].as_f64().is_some_and(|u| u < 1.0)
}

#[test]
fn intervals_do_not_collapse_at_100_percent() {
    let mut blocks = vec![
        // 1 of 1 against 324 of 2,007: the Katz interval was 5.61–6.84 with Fisher p = 0.16
        protected("en", "news_reporting", "solo", 1, 1),
        protected("en", "news_reporting", "many", 2007, 324),
    ];
    // 1 of 1 against 7 of 7 (speaker groups): the Katz interval was 1.00–1.00
    for (group, count) in [("s1", 1), ("s2", 7)] {
        blocks.push(Block {
            lang: "ar",
            label: "protected",
            category: "dialect",
            target_group: "",
            speaker_group: group,
            count,
            actioned: count,
        });
    }
    let run = run(&blocks, "min_n = 1");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let solo = disparity(&results, "over_removal", "target_group", "solo");
    assert!((number(&solo["ratio"]) - 2007.0 / 324.0).abs() < 1e-9);
    let ci = &solo["ratio_ci"];
    assert!(number(&ci["lower"]) < 1.3 && number(&ci["upper"]) > 6.8, "{ci}");
    assert!(number(&solo["p_value"]) > 0.15);
    assert_eq!(solo["significant"], false);
    assert!(
        solo["interval_note"]["text"]
            .as_str()
            .unwrap()
            .contains("not significant")
    );
    let d = &solo["difference_ci"];
    assert!(number(&d[0]) < number(&solo["difference"]) && number(&d[1]) > number(&solo["difference"]));
    // MOVER–Wilson for 1 of 1 against 7 of 7 (shared fixtures, two_proportions.json)
    let s1 = disparity(&results, "over_removal", "speaker_group", "s1");
    assert!(
        (number(&s1["ratio_ci"]["lower"]) - 0.20654931437723745).abs() < 1e-9,
        "{s1}"
    );
    assert!(
        (number(&s1["ratio_ci"]["upper"]) - 1.5487798315277321).abs() < 1e-9,
        "{s1}"
    );
}

#[test]
fn no_interval_excludes_1_on_a_row_called_not_significant_without_a_reason() {
    let rates = [
        ("en", 40),
        ("ar", 38),
        ("es", 25),
        ("fr", 25),
        ("de", 25),
        ("it", 25),
        ("pt", 25),
        ("ru", 25),
    ];
    let blocks: Vec<Block> = rates
        .iter()
        .map(|&(lang, actioned)| protected(lang, "news_reporting", "", 200, actioned))
        .collect();
    let run = run(&blocks, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let mut unadjusted_only = 0;
    for d in results["disparities"].as_array().unwrap() {
        if d["significant"] == false && (excludes_one(&d["ratio_ci"]) || excludes_one(&d["ratio_ci_simultaneous"])) {
            let code = d["interval_note"]["code"]
                .as_str()
                .unwrap_or_else(|| panic!("no reason: {d}"));
            assert!(
                [
                    "excludes_only_before_correction",
                    "interval_and_test_disagree",
                    "not_tested"
                ]
                .contains(&code),
                "{d}"
            );
            unadjusted_only += usize::from(code == "excludes_only_before_correction");
        }
        // the simultaneous interval contains the unadjusted one
        let (u, s) = (&d["ratio_ci"], &d["ratio_ci_simultaneous"]);
        assert!(number(&s["lower"]) <= number(&u["lower"]) && number(&s["upper"]) >= number(&u["upper"]));
    }
    assert!(
        unadjusted_only > 0,
        "the example shows an unadjusted interval excluding 1"
    );
    let family = &results["families"][0];
    assert_eq!(family["name"], "over_removal/language");
    assert_eq!(
        (family["m"].as_u64(), family["correction"].as_str()),
        (Some(8), Some("holm"))
    );
    assert!((number(&family["simultaneous_confidence"]) - (1.0 - 0.05 / 8.0)).abs() < 1e-12);
    let md = run.markdown();
    assert!(md.contains("Ratio CI, unadjusted 95 %"), "{md}");
    assert!(md.contains("Ratio CI, simultaneous (1 − α/m)"), "{md}");
    assert!(
        md.contains("only the unadjusted CI excludes parity: not significant after correction"),
        "{md}"
    );
}

#[test]
fn each_dimension_is_its_own_family_and_small_groups_are_not_tested() {
    let blocks = [
        protected("en", "counter_speech", "women", 60, 30),
        protected("en", "news_reporting", "muslims", 60, 5),
        protected("ar", "counter_speech", "women", 60, 20),
        protected("ar", "news_reporting", "muslims", 60, 5),
        protected("ar", "news_reporting", "roma", 4, 4),
    ];
    let run = run(&blocks, "correction = \"benjamini_yekutieli\"");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let families: Vec<(String, u64)> = results["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["m"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        families,
        [
            ("over_removal/category".to_string(), 2),
            // women (sex or gender) and Muslims (religion or belief); Roma too few
            ("over_removal/characteristic".to_string(), 2),
            ("over_removal/language".to_string(), 2),
            ("over_removal/target_group".to_string(), 2),
        ]
    );
    assert_eq!(results["families"][0]["correction"], "benjamini_yekutieli");
    let roma = disparity(&results, "over_removal", "target_group", "roma");
    assert_eq!(
        (roma["tested"].as_bool(), roma["p_value"].is_null()),
        (Some(false), true)
    );
    assert!(
        roma["not_tested_reason"]
            .as_str()
            .unwrap()
            .contains("fewer than the minimum n of 30")
    );
    assert!(run.markdown().contains("not tested (fewer than 30 cases)"));
    let pooled = self::run(&blocks, "families = \"pooled\"");
    let results = pooled.results();
    assert_eq!(results["families"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            results["families"][0]["name"].as_str(),
            results["families"][0]["m"].as_u64()
        ),
        (Some("over_removal"), Some(8))
    );
}

#[test]
fn the_reference_can_be_the_rest_a_named_group_or_the_lowest_rate() {
    let blocks = [
        protected("en", "news_reporting", "", 100, 30),
        protected("ar", "news_reporting", "", 100, 15),
        protected("es", "news_reporting", "", 100, 20),
    ];
    let lowest = run(&blocks, "reference_mode = \"lowest\"");
    assert_eq!(lowest.code, Some(0), "{}", lowest.stderr);
    let results = lowest.results();
    let record = results["dimension_comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["measure"] == "over_removal" && c["dimension"] == "language")
        .unwrap();
    assert_eq!(
        (record["reference_mode"].as_str(), record["reference"].as_str()),
        (Some("lowest"), Some("ar"))
    );
    assert_eq!(disparity(&results, "over_removal", "language", "en")["reference"], "ar");
    assert!(lowest.markdown().contains("Arabic (ar) (lowest rate)"));
    let rest = run(&blocks, "");
    assert_eq!(
        disparity(&rest.results(), "over_removal", "language", "en")["reference"],
        "all others"
    );
    let fixed = run(
        &blocks,
        "reference_mode = \"fixed\"\n[analysis.reference]\nlanguage = \"es\"\n",
    );
    assert_eq!(fixed.code, Some(0), "{}", fixed.stderr);
    assert_eq!(
        disparity(&fixed.results(), "over_removal", "language", "en")["reference"],
        "es"
    );
    let missing = run(&blocks, "reference_mode = \"fixed\"");
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("analysis.reference_mode"), "{}", missing.stderr);
    assert!(missing.stderr.contains("`language`"), "{}", missing.stderr);
}

#[test]
fn detection_is_compared_beside_over_removal_with_an_omnibus_test() {
    let mut blocks = Vec::new();
    for (lang, actioned) in [("en", 70), ("ar", 85), ("es", 85)] {
        blocks.push(Block {
            lang,
            label: "violating",
            category: "slur",
            target_group: "",
            speaker_group: "",
            count: 100,
            actioned,
        });
    }
    for (lang, actioned) in [("en", 30), ("ar", 15), ("es", 15)] {
        blocks.push(protected(lang, "news_reporting", "", 100, actioned));
    }
    let run = run(&blocks, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let en = disparity(&results, "detection", "language", "en");
    assert_eq!(
        (en["group_adverse"].as_u64(), en["reference_adverse"].as_u64()),
        (Some(70), Some(170))
    );
    assert_eq!(en["family"], "detection/language");
    let omnibus = |measure: &str| {
        results["dimension_comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["measure"] == measure && c["dimension"] == "language")
            .unwrap()["omnibus"]
            .clone()
    };
    // scipy.stats.chi2_contingency([[30, 70], [15, 85], [15, 85]]): 9.375, p = 0.009209681603968142
    let over = omnibus("over_removal");
    assert!((number(&over["statistic"]) - 9.375).abs() < 1e-9);
    assert!((number(&over["p_value"]) - 0.009209681603968142).abs() < 1e-9);
    assert_eq!((over["df"].as_u64(), over["groups"].as_u64()), (Some(2), Some(3)));
    assert_eq!(omnibus("detection")["df"], 2);
    let md = run.markdown();
    assert!(md.contains("## Disparities in detection between groups"), "{md}");
    assert!(md.contains("χ²(2) = 9.38"), "{md}");
}

#[test]
fn every_tested_comparison_states_what_it_could_have_detected() {
    let blocks = [
        protected("en", "news_reporting", "", 196, 33),
        protected("ar", "news_reporting", "", 300, 33),
        protected("es", "news_reporting", "", 300, 33),
    ];
    let run = run(&blocks, "");
    let results = run.results();
    let alpha = number(&results["families"][0]["per_comparison_alpha"]);
    assert!((alpha - 0.05 / 3.0).abs() < 1e-15);
    for d in results["disparities"].as_array().unwrap() {
        let m = &d["min_detectable"];
        assert_eq!(
            (m["method"].as_str(), number(&m["power"])),
            (Some("cohen_h_normal"), 0.8)
        );
        assert_eq!(number(&m["alpha"]), alpha);
        let reference_rate = number(&d["reference_rate"]);
        let rate = number(&m["increase"]["rate"]);
        assert!(rate > reference_rate);
        assert!((number(&m["increase"]["ratio"]) - rate / reference_rate).abs() < 1e-12);
    }
}

#[test]
fn a_disparity_explained_by_the_mix_of_cases_does_not_survive_stratification() {
    // Posts about "g" are mostly reclaimed terms, removed at 50 % whoever they
    // are about; within each kind of speech g is treated like "h".
    let blocks = [
        protected("en", "reclaimed_term", "g", 44, 22),
        protected("en", "news_reporting", "g", 56, 3),
        protected("en", "reclaimed_term", "h", 12, 6),
        protected("en", "news_reporting", "h", 188, 10),
    ];
    let run = run(&blocks, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let g = disparity(&results, "over_removal", "target_group", "g");
    assert_eq!(g["significant"], true, "{g}");
    let check = &g["stratified"];
    assert_eq!(check["strata_by"], serde_json::json!(["category", "language"]));
    assert_eq!(check["survives"], false, "{check}");
    assert!(number(&check["cmh_p_value"]) > 0.5);
    assert_eq!(check["largest_imbalance"]["value"], "reclaimed_term");
    assert!((number(&check["largest_imbalance"]["group_share"]) - 0.44).abs() < 1e-12);
    assert!((number(&check["crude_rate_ratio"]) - 0.25 / 0.08).abs() < 1e-9);
    let md = run.markdown();
    assert!(md.contains("## Significant disparities checked within strata"), "{md}");
    assert!(
        md.contains("reclaimed_term: 44.0 % of the group, 6.0 % of the reference"),
        "{md}"
    );
}

#[test]
fn unknown_analysis_choices_are_refused_where_they_are_written() {
    let blocks = [protected("en", "news_reporting", "", 10, 1)];
    for (line, expected) in [
        ("families = \"per_language\"", "expected `per_dimension` or `pooled`"),
        (
            "reference_mode = \"highest\"",
            "expected one of `rest`, `fixed`, `lowest`",
        ),
        ("correction = \"fdr\"", "benjamini_yekutieli"),
    ] {
        let run = run(&blocks, line);
        assert_eq!(run.code, Some(2), "{line}: {}", run.stderr);
        assert!(run.stderr.contains("scenario.toml:7:"), "{line}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{line}: {}", run.stderr);
    }
}
