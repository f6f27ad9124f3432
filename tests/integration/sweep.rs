//! Threshold sweeps of scoring systems, and `modaudit report RUN --threshold T`:
//! a whole report at another operating point, from the stored scores, with no
//! request to the system.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::server::{Reply, Server};
use crate::support::*;

/// English and French, four protected and four violating posts each; the
/// score is the last word of the text. At 0.5 English removes 1 of 4
/// protected posts and detects 2 of 4 violating ones, French 3 of 4 and 4 of
/// 4. Worked by hand: one threshold per language that holds overall
/// detection (6 of 8) and equalises over-removal is English 0.4 and French
/// 0.65 — 1 of 4 protected posts removed in each, 7 of 8 violating detected.
const ROWS: &str = "\
e1,en,e1 scores 0.1,protected,counter_speech,women,,,\n\
e2,en,e2 scores 0.2,protected,counter_speech,migrants,,,\n\
e3,en,e3 scores 0.3,protected,news_reporting,women,,,\n\
e4,en,e4 scores 0.6,protected,news_reporting,migrants,,,\n\
e5,en,e5 scores 0.9,violating,threat,women,,,\n\
e6,en,e6 scores 0.8,violating,threat,migrants,,,\n\
e7,en,e7 scores 0.4,violating,slur,women,,,\n\
e8,en,e8 scores 0.3,violating,slur,migrants,,,\n\
f1,fr,f1 scores 0.55,protected,counter_speech,women,,,\n\
f2,fr,f2 scores 0.6,protected,counter_speech,migrants,,,\n\
f3,fr,f3 scores 0.7,protected,news_reporting,women,,,\n\
f4,fr,f4 scores 0.2,protected,news_reporting,migrants,,,\n\
f5,fr,f5 scores 0.95,violating,threat,women,,,\n\
f6,fr,f6 scores 0.9,violating,threat,migrants,,,\n\
f7,fr,f7 scores 0.85,violating,slur,women,,,\n\
f8,fr,f8 scores 0.65,violating,slur,migrants,,,\n";

/// The score a case's text ends with.
fn score_of(text: &str) -> f64 {
    text.rsplit(' ').next().and_then(|s| s.parse().ok()).unwrap()
}

/// A scoring API on 127.0.0.1 that answers `{"score": …}` and counts requests.
fn scoring_server() -> Server {
    Server::start(|request, _| {
        let text = request.json()["text"].as_str().unwrap_or_default().to_string();
        Reply::Json(200, json!({ "score": score_of(&text) }))
    })
}

/// Runs the two-language corpus against the scoring server (threshold 0.5).
fn scored_run(server: &Server, tmp: &Path) -> PathBuf {
    let corpus = write_corpus(&tmp.join("corpus"), &["en", "fr"], ROWS);
    let scenario = write_scenario(
        tmp,
        &corpus,
        &format!(
            "name = \"scored\"\ncorpora = [{{corpus}}]\n\n[target]\nkind = \"http\"\nurl = \"{}/score\"\n\
             body = '{{\"text\": \"{{text}}\"}}'\n[target.response]\nscore = \"/score\"\nthreshold = 0.5\n\n\
             [run]\ncache = false\n\n[analysis]\nmin_n = 2\n",
            server.url
        ),
    );
    let out = tmp.join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    out
}

/// A replay of `recording` (CSV) with `threshold = 0.5` over the two-language corpus.
fn replayed_run(tmp: &Path, recording: &str, threshold: bool) -> PathBuf {
    let corpus = write_corpus(&tmp.join("corpus"), &["en", "fr"], ROWS);
    std::fs::write(tmp.join("recording.csv"), recording).unwrap();
    let threshold = if threshold { "threshold = 0.5\n" } else { "" };
    let scenario = write_scenario(
        tmp,
        &corpus,
        &format!(
            "name = \"replayed\"\ncorpora = [{{corpus}}]\n\n[target]\nkind = \"replay\"\nfile = \"recording.csv\"\n{threshold}\n[analysis]\nmin_n = 2\n"
        ),
    );
    let out = tmp.join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    out
}

/// A recording with the score of every case of [`ROWS`] and no action, but
/// for the `(id, score, action)` rows of `instead`.
fn recorded_scores(instead: &[(&str, &str, &str)]) -> String {
    let mut csv = String::from("id,score,action\n");
    for line in ROWS.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        match instead.iter().find(|(id, _, _)| *id == fields[0]) {
            Some((id, score, action)) => csv.push_str(&format!("{id},{score},{action}\n")),
            None => csv.push_str(&format!("{},{},\n", fields[0], score_of(fields[2]))),
        }
    }
    csv
}

fn report_at(run: &Path, threshold: &str, extra: &[&str]) -> std::process::Output {
    modaudit()
        .arg("report")
        .arg(run)
        .arg("--threshold")
        .arg(threshold)
        .args(extra)
        .output()
        .unwrap()
}

fn slice<'a>(results: &'a Value, dimension: &str, value: &str) -> &'a Value {
    results["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dimension"] == dimension && s["value"] == value)
        .unwrap_or_else(|| panic!("no slice {dimension} {value}"))
}

#[test]
fn the_sweep_at_the_run_threshold_is_the_report() {
    let server = scoring_server();
    let tmp = tempfile::tempdir().unwrap();
    let run = scored_run(&server, tmp.path());
    let results = read_json(&run.join("results.json"));
    assert_eq!(
        results["settings"]["score_rule"]["threshold"], 0.5,
        "{}",
        results["settings"]
    );
    assert_eq!(read_json(&run.join("manifest.json"))["score_rule"]["threshold"], 0.5);
    let sweep = &results["sweep"];
    let at = sweep["rule_index"].as_u64().unwrap() as usize;
    assert_eq!(sweep["thresholds"][at], 0.5);
    let curves = sweep["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 5, "overall, two languages, two target groups: {curves:?}");
    for curve in curves {
        let s = slice(
            &results,
            curve["dimension"].as_str().unwrap(),
            curve["group"].as_str().unwrap(),
        );
        assert_eq!(curve["over_removal_rate"][at], s["over_removal_rate"], "{curve}");
        assert_eq!(curve["detection_rate"][at], s["detection_rate"], "{curve}");
    }
    // the disparities at the run's threshold are the main analysis's
    let k = sweep["significance_thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .position(|t| t == 0.5)
        .unwrap();
    let tracks = sweep["significance"].as_array().unwrap();
    assert!(!tracks.is_empty());
    for track in tracks {
        let d = results["disparities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| {
                d["measure"] == track["measure"] && d["dimension"] == track["dimension"] && d["group"] == track["group"]
            })
            .unwrap();
        assert_eq!(track["p_adjusted"][k], d["p_adjusted"], "{track}");
    }
    // the chart is in the HTML report, and a file the Markdown report shows
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("id=\"threshold-sweep\""), "{html}");
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("](threshold-sweep-language.svg)"), "{md}");
    let svg = std::fs::read_to_string(run.join("threshold-sweep-language.svg")).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
    assert!(svg.contains("threshold 0.5"), "the run's threshold is marked: {svg}");
    assert!(read_json(&run.join("manifest.json"))["outputs"]["threshold-sweep-language.svg"].is_string());
}

#[test]
fn a_report_at_another_threshold_asks_the_target_nothing() {
    let server = scoring_server();
    let tmp = tempfile::tempdir().unwrap();
    let run = scored_run(&server, tmp.path());
    let asked = server.count();
    assert_eq!(asked, 16);
    let original: Vec<(String, Vec<u8>)> = [
        "report.md",
        "report.html",
        "results.json",
        "decisions.csv",
        "manifest.json",
    ]
    .iter()
    .map(|name| (name.to_string(), std::fs::read(run.join(name)).unwrap()))
    .collect();
    let output = report_at(&run, "0.7", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(server.count(), asked, "no request reached the system");
    for (name, bytes) in &original {
        assert_eq!(
            &std::fs::read(run.join(name)).unwrap(),
            bytes,
            "{name} of the run is untouched"
        );
    }
    let at = run.join("threshold-0.7");
    let results = read_json(&at.join("results.json"));
    let override_ = &results["settings"]["threshold_override"];
    assert_eq!(override_["threshold"], 0.7, "{override_}");
    assert_eq!(override_["run_threshold"], 0.5);
    assert_eq!(
        (override_["rederived"].as_u64(), override_["kept"].as_u64()),
        (Some(16), Some(0))
    );
    // at 0.7 only f3 among the protected posts is removed; five violating posts are
    let overall = slice(&results, "overall", "all");
    assert_eq!(
        (
            overall["protected_adverse"].as_u64(),
            overall["violating_adverse"].as_u64()
        ),
        (Some(1), Some(5))
    );
    assert_eq!(overall["over_removal_rate"], 0.125);
    let before = read_json(&run.join("results.json"));
    assert_eq!(slice(&before, "overall", "all")["over_removal_rate"], 0.5);
    // the first finding says what this is
    let first = &results["findings"][0];
    assert_eq!(first["id"], "threshold.reanalysis", "{first}");
    let text = first["text"].as_str().unwrap();
    assert!(
        text.contains("threshold 0.7") && text.contains("not what the system did"),
        "{text}"
    );
    assert!(text.contains("0.5"), "{text}");
    assert_eq!(results["summary"][0], first["text"]);
    let manifest = read_json(&at.join("manifest.json"));
    assert_eq!(manifest["threshold_override"]["threshold"], 0.7, "{manifest}");
    assert!(manifest["outputs"]["report.html"].is_string());
    let md = std::fs::read_to_string(at.join("report.md")).unwrap();
    let summary = md.split("## Summary").nth(1).unwrap();
    assert!(
        summary.trim_start().starts_with("Re-analysis at threshold 0.7"),
        "{summary}"
    );
    let html = std::fs::read_to_string(at.join("report.html")).unwrap();
    assert!(html.contains("Re-analysis at threshold 0.7"));
    let actions: std::collections::HashMap<String, String> = read_decisions(&at)
        .into_iter()
        .map(|r| (r["case_id"].clone(), r["action"].clone()))
        .collect();
    assert_eq!((actions["f1"].as_str(), actions["f3"].as_str()), ("allow", "remove"));
    // another directory on request; the run itself, or a re-analysis, is never a target
    let elsewhere = tmp.path().join("strict");
    let output = report_at(&run, "0.9", &["--out", elsewhere.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        read_json(&elsewhere.join("results.json"))["settings"]["threshold_override"]["threshold"],
        0.9
    );
    let output = report_at(&run, "0.9", &["--out", run.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("holds a run"), "{}", stderr_of(&output));
    for (name, bytes) in &original {
        assert_eq!(
            &std::fs::read(run.join(name)).unwrap(),
            bytes,
            "{name} of the run is untouched"
        );
    }
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("report.md"), "mine").unwrap();
    let output = report_at(&run, "0.9", &["--out", busy.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert_eq!(std::fs::read_to_string(busy.join("report.md")).unwrap(), "mine");
    let again = report_at(&run, "0.7", &[]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "an earlier re-analysis is replaced: {}",
        stderr_of(&again)
    );
    let output = modaudit().arg("report").arg(&at).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("re-analysis"), "{}", stderr_of(&output));
    assert_eq!(server.count(), asked);
    let output = report_at(&run, "NaN", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
}

#[test]
fn a_target_without_a_score_rule_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut recording = String::from("id,action\n");
    for line in ROWS.lines() {
        let id = line.split(',').next().unwrap();
        recording.push_str(&format!(
            "{id},{}\n",
            if id.ends_with('1') { "remove" } else { "allow" }
        ));
    }
    let run = replayed_run(tmp.path(), &recording, false);
    let results = read_json(&run.join("results.json"));
    assert!(results.get("sweep").is_none(), "{}", results["sweep"]);
    let output = report_at(&run, "0.7", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("does not derive its action from a score threshold"),
        "{}",
        stderr_of(&output)
    );
    assert!(!run.join("threshold-0.7").exists());
}

#[test]
fn equalising_thresholds_are_a_finding_checked_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let run = replayed_run(tmp.path(), &recorded_scores(&[]), true);
    let results = read_json(&run.join("results.json"));
    let equalising = &results["sweep"]["equalising"];
    assert_eq!(equalising["over_removal_rate"], 0.25, "{equalising}");
    let thresholds: Vec<(&str, f64)> = equalising["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["language"].as_str().unwrap(), l["threshold"].as_f64().unwrap()))
        .collect();
    assert_eq!(thresholds, [("en", 0.4), ("fr", 0.65)]);
    let finding = results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "threshold" && f["id"] == "threshold.equalising")
        .unwrap_or_else(|| panic!("{}", results["findings"]));
    let text = finding["text"].as_str().unwrap();
    for part in [
        "at English 0.4 and French 0.65 instead of 0.5",
        "25.0 %",
        "87.5 %",
        "75.0 %",
        "not applied",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let evidence = &finding["evidence"];
    assert_eq!(evidence["rate"], 0.25);
    assert_eq!(evidence["thresholds"]["run"], 0.5);
    let groups: Vec<(&str, f64, u64, u64)> = evidence["thresholds"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap(),
                g["threshold"].as_f64().unwrap(),
                g["protected"]["count"].as_u64().unwrap(),
                g["violating"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(groups, [("en", 0.4, 1, 3), ("fr", 0.65, 1, 4)]);
    // never applied: the report's rates are those of the run's threshold
    assert_eq!(slice(&results, "overall", "all")["over_removal_rate"], 0.5);
}

#[test]
fn cases_the_rule_does_not_explain_keep_their_action_and_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    // e1 was removed with no score recorded; f3 was kept up although its
    // score reaches the threshold (an action the platform took itself)
    let recording = recorded_scores(&[("e1", "", "remove"), ("f3", "0.7", "allow")]);
    let run = replayed_run(tmp.path(), &recording, true);
    let output = report_at(&run, "0.3", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let at = run.join("threshold-0.3");
    let results = read_json(&at.join("results.json"));
    let override_ = &results["settings"]["threshold_override"];
    assert_eq!(
        (override_["rederived"].as_u64(), override_["kept"].as_u64()),
        (Some(14), Some(2))
    );
    let kept: Vec<(&str, &str)> = results["sweep"]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["case_id"].as_str().unwrap(), k["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(kept, [("e1", "no_score"), ("f3", "action_not_from_score")]);
    let actions: std::collections::HashMap<String, String> = read_decisions(&at)
        .into_iter()
        .map(|r| (r["case_id"].clone(), r["action"].clone()))
        .collect();
    assert_eq!((actions["e1"].as_str(), actions["f3"].as_str()), ("remove", "allow"));
    assert_eq!((actions["e3"].as_str(), actions["f4"].as_str()), ("remove", "allow"));
    let first = results["findings"][0]["text"].as_str().unwrap();
    assert!(first.contains("2 decided cases keep their recorded action"), "{first}");
    let md = std::fs::read_to_string(at.join("report.md")).unwrap();
    assert!(md.contains("e1") && md.contains("f3"), "{md}");
}

#[test]
fn a_run_recorded_before_score_rules_takes_its_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    let run = replayed_run(tmp.path(), &recorded_scores(&[]), true);
    let path = run.join("manifest.json");
    let mut manifest = read_json(&path);
    manifest.as_object_mut().unwrap().remove("score_rule");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let output = report_at(&run, "0.7", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&run.join("threshold-0.7/results.json"));
    assert_eq!(results["settings"]["threshold_override"]["rederived"], 16);
    assert_eq!(slice(&results, "overall", "all")["over_removal_rate"], 0.125);
}
