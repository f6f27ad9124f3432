//! Several targets in one scenario (`[[targets]]`): every system decides the
//! same cases in one run directory, each is reported in full, and the report
//! compares them case for case — exact McNemar tests on the discordant pairs,
//! corrected within each dimension, and Cohen's κ — with the p-values an
//! independent implementation gives on the same counts. Per-target gates, the
//! resumption of an interrupted run, and the refusal of a changed one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// The cases, built so that the two systems' decisions are known in advance.
///
/// `keyword` (the built-in filter) removes posts with a term of its list
/// (`queer`, `vermin`, `maricón`); `strict` (the fake model) removes posts that
/// contain `zap` and declares Spanish unsupported. On the English posts, which
/// both decide:
///
/// | label     | group   | keyword only | strict only | both | neither |
/// |-----------|---------|-------------:|------------:|-----:|--------:|
/// | protected | gay men |           10 |           0 |    2 |       0 |
/// | protected | women   |            0 |           2 |    0 |       6 |
/// | violating | women   |            4 |           0 |    4 |       2 |
fn rows() -> String {
    let mut rows = String::new();
    let mut add = |prefix: &str, n: usize, lang: &str, text: &str, label: &str, category: &str, group: &str| {
        for i in 0..n {
            rows.push_str(&format!(
                "{prefix}{i},{lang},{text} {i},{label},{category},{group},,,\n"
            ));
        }
    };
    add(
        "pa",
        10,
        "en",
        "we say queer with pride",
        "protected",
        "reclaimed_slur",
        "gay men",
    );
    add(
        "pb",
        2,
        "en",
        "queer people zap the myths",
        "protected",
        "counter_speech",
        "gay men",
    );
    add(
        "pc",
        2,
        "en",
        "let us zap this bad idea",
        "protected",
        "political_dissent",
        "women",
    );
    add(
        "pd",
        6,
        "en",
        "a normal post about women",
        "protected",
        "neutral_mention",
        "women",
    );
    add(
        "va",
        4,
        "en",
        "they are vermin and we zap them",
        "violating",
        "dehumanisation",
        "women",
    );
    add("vb", 4, "en", "they are vermin", "violating", "dehumanisation", "women");
    add("vc", 2, "en", "they should leave", "violating", "threat", "women");
    add(
        "ea",
        2,
        "es",
        "soy maricón y a mucha honra",
        "protected",
        "reclaimed_slur",
        "gay men",
    );
    add(
        "eb",
        3,
        "es",
        "un texto normal",
        "protected",
        "neutral_mention",
        "women",
    );
    add("ec", 2, "es", "maricones fuera", "violating", "threat", "gay men");
    rows
}

/// A scenario comparing the keyword filter with the fake model (which waits
/// `delay_ms` per post), with `extra` appended.
fn scenario(dir: &Path, delay_ms: u32, extra: &str) -> PathBuf {
    let corpus = write_corpus(&dir.join("corpus"), &["en", "es"], &rows());
    let command = toml_command(&[
        fake_model(),
        "--remove-if-contains",
        "zap",
        "--unsupported-lang",
        "es",
        "--delay-ms",
        &delay_ms.to_string(),
    ]);
    write_scenario(
        dir,
        &corpus,
        &format!(
            "name = \"two systems\"\ncorpora = [{{corpus}}]\n\n\
             [[targets]]\nlabel = \"keyword\"\nkind = \"builtin:keyword\"\n\n\
             [[targets]]\nlabel = \"strict\"\nkind = \"command\"\ncommand = {command}\n\n\
             [run]\nconcurrency = 2\n\n[analysis]\nmin_n = 5\n\n{extra}"
        ),
    )
}

/// The comparison's paired difference of `measure` in a slice.
fn difference<'a>(results: &'a Value, measure: &str, dimension: &str, value: &str) -> &'a Value {
    results["comparison"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["measure"] == measure && d["dimension"] == dimension && d["value"] == value)
        .unwrap_or_else(|| panic!("no difference of {measure} by {dimension} = {value}"))
}

fn close(actual: &Value, expected: f64) -> bool {
    actual
        .as_f64()
        .is_some_and(|a| (a - expected).abs() <= 1e-9 * expected.abs().max(1e-12))
}

#[test]
fn two_systems_are_compared_case_for_case_with_the_reference_p_values() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), 0, "[gates]\nmax_over_removal_rate = 0.9\n");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    // the layout: one manifest, one report, and each system's journal and full report
    for file in ["manifest.json", "results.json", "report.md", "report.html", "junit.xml"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    for label in ["keyword", "strict"] {
        let own = out.join("targets").join(label);
        for file in [
            "manifest.json",
            "journal.jsonl",
            "report.md",
            "report.html",
            "results.json",
            "decisions.csv",
        ] {
            assert!(own.join(file).is_file(), "targets/{label}/{file}");
        }
        assert_eq!(journal_case_ids(&own).len(), 37, "{label} decided every case once");
    }
    assert!(!out.join("journal.jsonl").exists());
    // the manifest at the top records the set of targets; each target's
    // directory is a run of that target alone
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["target"]["kind"], "several");
    let description = manifest["target"]["description"].as_str().unwrap();
    assert!(
        description.starts_with("keyword: ") && description.contains("; strict: "),
        "{description}"
    );
    for (label, kind) in [("keyword", "builtin:keyword"), ("strict", "command")] {
        let own = read_json(&out.join("targets").join(label).join("manifest.json"));
        assert_eq!(own["target"]["kind"], kind);
        assert_eq!(own["run_id"], manifest["run_id"]);
        assert!(own["finished_at"].is_string());
    }
    assert!(manifest["finished_at"].is_string());

    let results = read_json(&out.join("results.json"));
    let targets = results["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["label"], "keyword");
    assert_eq!(targets[0]["run"]["target"], "builtin:keyword");
    assert_eq!(targets[1]["label"], "strict");
    assert_eq!(targets[1]["run"]["target"], "command");
    // each system's full report, as a run of that system alone writes it
    let own = read_json(&out.join("targets/strict/results.json"));
    let mut embedded = targets[1].clone();
    embedded.as_object_mut().unwrap().remove("label");
    assert_eq!(embedded, own);
    assert_eq!(own["unsupported"][0]["language"], "es");
    assert_eq!(own["unsupported"][0]["cases"], 7);

    // Reference values: statsmodels 0.15,
    // `statsmodels.stats.contingency_tables.mcnemar([[0, b], [c, 0]], exact=True).pvalue`
    // on the discordant counts, and
    // `statsmodels.stats.multitest.multipletests(p, method="holm")` within a dimension.
    let overall = difference(&results, "over_removal", "overall", "all");
    assert_eq!((&overall["a"], &overall["b"]), (&"keyword".into(), &"strict".into()));
    assert_eq!(overall["n"], 20, "the protected posts both decided");
    assert_eq!((&overall["only_a"], &overall["only_b"]), (&10.into(), &2.into()));
    assert!(close(&overall["p_value"], 0.03857421875), "{overall}");
    assert!(close(&overall["p_adjusted"], 0.03857421875), "{overall}");
    assert_eq!(overall["significant"], true);
    assert!(close(&overall["difference"], 0.4), "{overall}");
    let [lower, upper] = [0, 1].map(|i| overall["difference_ci"][i].as_f64().unwrap());
    assert!(lower > 0.0 && lower < 0.4 && upper > 0.4, "{overall}");
    let detection = difference(&results, "detection", "overall", "all");
    assert_eq!((&detection["only_a"], &detection["only_b"]), (&4.into(), &0.into()));
    assert!(close(&detection["p_value"], 0.125), "{detection}");
    assert_eq!(detection["significant"], false);
    let gay_men = difference(&results, "over_removal", "target_group", "gay_men");
    let women = difference(&results, "over_removal", "target_group", "women");
    assert!(close(&gay_men["p_value"], 0.001953125), "{gay_men}");
    assert!(close(&women["p_value"], 0.5), "{women}");
    assert!(close(&gay_men["p_adjusted"], 0.00390625), "{gay_men}");
    assert!(close(&women["p_adjusted"], 0.5), "{women}");
    let spanish = difference(&results, "over_removal", "language", "es");
    assert_eq!(spanish["n"], 0, "strict decided no Spanish post");
    assert!(spanish["p_value"].is_null());

    // Reference: statsmodels 0.15 `statsmodels.stats.inter_rater.cohens_kappa`
    // of [[6, 14], [2, 8]] (kappa, std_kappa).
    let agreement = &results["comparison"]["agreement"][0];
    assert_eq!(agreement["n"], 30);
    assert!(close(&agreement["kappa"], 0.07692307692307702), "{agreement}");
    assert!(close(&agreement["se"], 0.12660509677909343), "{agreement}");

    // each system's rates side by side, from its own report
    let rates = results["comparison"]["rates"].as_array().unwrap();
    let overall_rates = rates
        .iter()
        .find(|r| r["measure"] == "over_removal" && r["dimension"] == "overall")
        .unwrap();
    assert_eq!(
        overall_rates["systems"][0]["adverse"], 14,
        "keyword: 12 English, 2 Spanish"
    );
    assert_eq!(overall_rates["systems"][0]["n"], 25);
    assert_eq!(overall_rates["systems"][1]["n"], 20);
    let unsupported = &results["comparison"]["unsupported"];
    assert_eq!(unsupported[0]["languages"], Value::Array(vec![]));
    assert_eq!(unsupported[1]["languages"][0]["language"], "es");

    // the claims ledger: only what the tests support
    let findings = results["comparison"]["findings"].as_array().unwrap();
    let claimed = findings
        .iter()
        .find(|f| f["id"] == "comparison.over_removal.overall.keyword.strict")
        .unwrap();
    let text = claimed["text"].as_str().unwrap();
    assert!(
        text.starts_with("keyword removed protected speech significantly more often than strict"),
        "{text}"
    );
    assert_eq!(claimed["evidence"]["test"], "mcnemar_exact");
    assert!(
        !findings
            .iter()
            .any(|f| f["id"] == "comparison.detection.overall.keyword.strict"
                && f["text"].as_str().unwrap().contains("significantly")),
        "no claim of a detection difference the test does not support"
    );

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for part in [
        "## Systems compared",
        "## Over-removal by language",
        "## Differences between systems: over-removal",
        "## Agreement between systems",
        "## What each system cannot moderate",
        "targets/strict/report.md",
    ] {
        assert!(report.contains(part), "report.md has {part}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Differences between systems"));

    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 2, "{junit}");
    assert!(junit.contains("modaudit.gates.keyword") && junit.contains("modaudit.gates.strict"));

    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(
        terminal.contains("keyword") && terminal.contains("strict"),
        "{terminal}"
    );
    assert!(terminal.contains("McNemar"), "{terminal}");
}

#[test]
fn a_gate_of_one_target_fails_the_run_with_its_junit_case() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(
        tmp.path(),
        0,
        "[gates]\nmax_over_removal_rate = 0.9\n\n[gates.strict]\nmax_over_removal_rate = 0.1\nmin_detection_rate = 0.1\n",
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let gates = |i: usize| -> HashMap<String, bool> {
        results["targets"][i]["gates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["name"].as_str().unwrap().to_string(), g["passed"].as_bool().unwrap()))
            .collect()
    };
    assert_eq!(gates(0), HashMap::from([("max_over_removal_rate".to_string(), true)]));
    assert_eq!(
        gates(1),
        HashMap::from([
            ("max_over_removal_rate".to_string(), false),
            ("min_detection_rate".to_string(), true)
        ]),
        "[gates.strict] replaces the shared threshold for strict alone"
    );
    assert_eq!(results["outcome"]["status"], "gates_failed");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 3, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    let failing = junit.split("<testcase").find(|c| c.contains("<failure")).unwrap();
    assert!(
        failing.contains("name=\"max_over_removal_rate\"") && failing.contains("classname=\"modaudit.gates.strict\""),
        "{failing}"
    );
}

#[test]
fn scenarios_of_several_targets_are_checked_label_by_label() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en", "es"], &rows());
    let refused = |body: &str| -> String {
        let path = write_scenario(
            tmp.path(),
            &corpus,
            &format!("name = \"s\"\ncorpora = [{{corpus}}]\n{body}"),
        );
        let output = modaudit().arg("validate").arg(&path).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "refused: {body}");
        stderr_of(&output)
    };
    let keyword = "[[targets]]\nlabel = \"a\"\nkind = \"builtin:keyword\"\n";
    let stderr = refused(&format!(
        "{keyword}\n[[targets]]\nlabel = \"a\"\nkind = \"builtin:keyword\"\n"
    ));
    assert!(
        stderr.contains(":8: `targets[1].label`: `a` is the label of another target"),
        "{stderr}"
    );
    let stderr = refused("[[targets]]\nlabel = \"../up\"\nkind = \"builtin:keyword\"\n");
    assert!(
        stderr.contains("`targets[0].label`: `../up` is not a label"),
        "{stderr}"
    );
    let stderr = refused("[[targets]]\nkind = \"builtin:keyword\"\n");
    assert!(stderr.contains("`targets[0]`: missing field `label`"), "{stderr}");
    let stderr = refused(&format!("[target]\nkind = \"builtin:keyword\"\n{keyword}"));
    assert!(stderr.contains("`[target]` and `[[targets]]`"), "{stderr}");
    let stderr = refused(&format!("{keyword}[gates.b]\nmax_over_removal_rate = 0.1\n"));
    assert!(stderr.contains("`gates.b`: no target is labelled `b`"), "{stderr}");
    let stderr = refused(&format!("{keyword}[gates]\nmax_overremoval_rate = 0.1\n"));
    assert!(stderr.contains("unknown field `max_overremoval_rate`"), "{stderr}");
    let stderr = refused(&format!(
        "{keyword}[[targets]]\nlabel = \"b\"\nkind = \"builtin:keyword\"\nthreshold = 2\n"
    ));
    assert!(
        stderr.contains(":9:1: `threshold`: unknown field `threshold`"),
        "{stderr}"
    );
    let stderr = refused("[target]\nkind = \"builtin:keyword\"\n[gates.a]\nmax_over_removal_rate = 0.1\n");
    assert!(stderr.contains("`gates.a`: no target is labelled `a`"), "{stderr}");
    let stderr = refused(&format!("{keyword}[baseline]\nrun = \"earlier\"\n"));
    assert!(stderr.contains("`baseline`: compares a run of one target"), "{stderr}");
    let stderr = refused(&format!("{keyword}[declared]\nfree_of_charge = true\n"));
    assert!(
        stderr.contains("`declared`: declared facts are one platform's"),
        "{stderr}"
    );

    let path = scenario(tmp.path(), 0, "");
    let output = modaudit().arg("validate").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("targets: keyword") && stdout.contains("strict"),
        "{stdout}"
    );
}

fn spawn_run(scenario: &Path, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_modaudit"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// results.json without the parts that name the run itself.
fn without_run(dir: &Path) -> Value {
    let mut results = read_json(&dir.join("results.json"));
    results.as_object_mut().unwrap().remove("run");
    for target in results["targets"].as_array_mut().unwrap() {
        target.as_object_mut().unwrap().remove("run");
    }
    results
}

#[test]
fn an_interrupted_run_of_several_targets_resumes_and_a_changed_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), 40, "");
    let killed = tmp.path().join("killed");
    let mut child = spawn_run(&scenario, &killed);
    let strict = killed.join("targets/strict/journal.jsonl");
    let start = Instant::now();
    while lines(&strict) < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the second target never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert_eq!(lines(&killed.join("targets/keyword/journal.jsonl")), 37);
    assert!(lines(&strict) < 37, "killed part-way through the second target");
    assert!(read_json(&killed.join("manifest.json"))["finished_at"].is_null());

    let output = modaudit().arg("run").arg("--resume").arg(&killed).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    for label in ["keyword", "strict"] {
        let mut ids = journal_case_ids(&killed.join("targets").join(label));
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(
            (before, ids.len()),
            (37, 37),
            "{label}: every case decided exactly once"
        );
    }
    let manifest = read_json(&killed.join("manifest.json"));
    assert_eq!(manifest["resumed_at"].as_array().unwrap().len(), 1);
    assert!(manifest["finished_at"].is_string());

    let fresh = tmp.path().join("fresh");
    let output = run_scenario(&scenario, &fresh);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        without_run(&killed),
        without_run(&fresh),
        "the resumed run reports what a whole one does"
    );

    // the report is rebuilt from the journals alone
    std::fs::remove_file(killed.join("report.md")).unwrap();
    let output = modaudit().arg("report").arg(&killed).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(killed.join("report.md").is_file());
    assert_eq!(without_run(&killed), without_run(&fresh));

    // each target's directory is a run of that target alone
    let output = modaudit()
        .arg("report")
        .arg(killed.join("targets/strict"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let output = modaudit()
        .arg("diff")
        .arg(fresh.join("targets/keyword"))
        .arg(killed.join("targets/keyword"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    // a target removed from the scenario: the run cannot go on
    let text = std::fs::read_to_string(&scenario).unwrap();
    let start = text.find("[[targets]]\nlabel = \"strict\"").unwrap();
    let end = text.find("[run]").unwrap();
    std::fs::write(&scenario, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let output = modaudit().arg("run").arg("--resume").arg(&killed).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("target `strict` is no longer in the scenario"),
        "{stderr}"
    );
}

#[test]
fn a_scenario_of_several_targets_is_not_sharded() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), 0, "");
    let out = tmp.path().join("run");
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .args(["--shard", "1/2", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("several targets"), "{}", stderr_of(&output));
    assert!(!out.join("journal.jsonl").exists());
}
