//! Shards: `run --shard k/n` decides one deterministic part of the cases, and
//! `merge` joins every part into one run whose results equal a single run's.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::http_targets::Adapter;
use crate::server::Server;
use crate::support::*;

/// The fields of `results.json` that describe the run itself, not what it
/// found: they differ between any two runs of the same scenario.
const RUN_IDENTITY: [&str; 4] = ["id", "started_at", "finished_at", "rate_limiting"];

/// `results.json` without [`RUN_IDENTITY`].
fn results_without_run_identity(dir: &Path) -> Value {
    let mut results = read_json(&dir.join("results.json"));
    let run = results["run"].as_object_mut().expect("results.json has a run section");
    for field in RUN_IDENTITY {
        run.remove(field);
    }
    results
}

/// The bundled corpora against the keyword filter, with a rate limit.
fn keyword_scenario(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("scenario.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\ncorpora = [{}, {}]\n[target]\nkind = \"builtin:keyword\"\n[run]\nconcurrency = 4\nrequests_per_second = 10000\n[gates]\nmax_over_removal_rate = 0.9\n",
            toml_string(&repo().join("corpora/starter").display().to_string()),
            toml_string(&repo().join("corpora/protected-speech").display().to_string()),
        ),
    )
    .unwrap();
    path
}

fn run_shard(scenario: &Path, shard: &str, out: &Path) -> std::process::Output {
    modaudit()
        .arg("run")
        .arg(scenario)
        .args(["--shard", shard, "--out"])
        .arg(out)
        .output()
        .unwrap()
}

/// Runs every shard of `count` into `root/shard-K` and returns their directories.
fn run_shards(scenario: &Path, root: &Path, count: u32) -> Vec<PathBuf> {
    (1..=count)
        .map(|k| {
            let out = root.join(format!("shard-{k}"));
            let output = run_shard(scenario, &format!("{k}/{count}"), &out);
            assert!(
                output.status.code().is_some_and(|c| c <= 1),
                "shard {k}/{count}: {}",
                stderr_of(&output)
            );
            out
        })
        .collect()
}

fn merge(dirs: &[PathBuf], out: &Path) -> std::process::Output {
    modaudit()
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn decision_count(dir: &Path) -> usize {
    journal_case_ids(dir).len()
}

#[test]
fn four_merged_shards_give_the_results_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let single = tmp.path().join("single");
    let output = run_scenario(&scenario, &single);
    let single_code = output.status.code();
    assert!(single_code.is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    let total = read_json(&single.join("manifest.json"))["cases"].as_u64().unwrap();

    let shards = run_shards(&scenario, tmp.path(), 4);
    let mut covered = 0;
    for (k, dir) in shards.iter().enumerate() {
        let manifest = read_json(&dir.join("manifest.json"));
        let shard = &manifest["sharding"]["shard"];
        assert_eq!(shard["index"], k as u64 + 1, "{manifest}");
        assert_eq!(shard["count"], 4);
        assert_eq!(shard["cases"], manifest["cases"]);
        assert_eq!(shard["case_ids_sha256"].as_str().map(str::len), Some(64));
        // the scenario's rate is shared between the shards
        assert_eq!(shard["requests_per_second"], 2500.0);
        let decided = decision_count(dir);
        assert_eq!(decided as u64, manifest["cases"].as_u64().unwrap());
        assert!(
            decided > 0 && (decided as u64) < total,
            "shard {k}: {decided} of {total}"
        );
        covered += decided as u64;
    }
    assert_eq!(covered, total);

    let merged = tmp.path().join("merged");
    let output = merge(&shards, &merged);
    let code = output.status.code();
    assert_eq!(code, single_code, "{}", stderr_of(&output));
    assert_eq!(
        results_without_run_identity(&merged),
        results_without_run_identity(&single)
    );

    // the journals in shard order, each case decided once
    let mut expected: Vec<String> = Vec::new();
    for dir in &shards {
        expected.extend(journal_case_ids(dir));
    }
    assert_eq!(journal_case_ids(&merged), expected);
    let mut sorted = expected.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len() as u64, total);

    // every report file is there, the rows in the single run's order
    for file in ["report.md", "report.html", "results.json", "decisions.csv", "junit.xml"] {
        assert!(merged.join(file).is_file(), "{file} missing");
    }
    let ids = |dir: &Path| -> Vec<String> { read_decisions(dir).into_iter().map(|r| r["case_id"].clone()).collect() };
    assert_eq!(ids(&merged), ids(&single));
    let manifest = read_json(&merged.join("manifest.json"));
    assert_eq!(manifest["cases"].as_u64(), Some(total));
    assert!(manifest["finished_at"].is_string(), "{manifest}");
    let sources = manifest["sharding"]["merged"].as_array().unwrap();
    assert_eq!(sources.len(), 4);
    assert_eq!(sources[2]["index"], 3);

    // the merged run is a run: its reports rebuild from its journal alike
    let rebuilt = modaudit().arg("report").arg(&merged).output().unwrap();
    assert_eq!(rebuilt.status.code(), code, "{}", stderr_of(&rebuilt));
    assert_eq!(
        results_without_run_identity(&merged),
        results_without_run_identity(&single)
    );
    // and so does a shard's, over its own cases
    let rebuilt = modaudit().arg("report").arg(&shards[0]).output().unwrap();
    assert!(rebuilt.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&rebuilt));
    let shard_results = read_json(&shards[0].join("results.json"));
    assert_eq!(
        shard_results["totals"]["cases"].as_u64(),
        Some(decision_count(&shards[0]) as u64)
    );
}

#[test]
fn merged_shards_of_an_http_target_give_the_results_of_one_run() {
    let server = Server::start(|request, _| Adapter::Http.answer(request));
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &repo().join("corpora/starter"),
        &format!(
            "name = \"http-shards\"\ncorpora = [{{corpus}}]\n[target]\n{}[run]\nconcurrency = 4\n",
            Adapter::Http.target(&server.url)
        ),
    );
    let run = |args: &[&str], out: &Path| {
        let mut command = modaudit();
        command
            .arg("run")
            .arg(&scenario)
            .args(args)
            .arg("--out")
            .arg(out)
            .arg("--no-cache");
        for (name, value) in Adapter::Http.env() {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    };
    let single = tmp.path().join("single");
    run(&[], &single);
    let asked_once = server.count();
    let shards: Vec<PathBuf> = (1..=4)
        .map(|k| {
            let out = tmp.path().join(format!("shard-{k}"));
            run(&["--shard", &format!("{k}/4")], &out);
            out
        })
        .collect();
    // each case is asked once more over the four shards, never twice
    assert_eq!(server.count(), 2 * asked_once);
    let merged = tmp.path().join("merged");
    let mut command = modaudit();
    command.arg("merge").args(&shards).arg("--out").arg(&merged);
    for (name, value) in Adapter::Http.env() {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    assert_eq!(
        results_without_run_identity(&merged),
        results_without_run_identity(&single)
    );
}

#[test]
fn a_missing_shard_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let mut shards = run_shards(&scenario, tmp.path(), 4);
    shards.remove(2);
    let merged = tmp.path().join("merged");
    let output = merge(&shards, &merged);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("shard 3/4 is missing"), "{stderr}");
    assert!(!merged.join("manifest.json").exists());
}

#[test]
fn a_duplicated_shard_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let mut shards = run_shards(&scenario, tmp.path(), 4);
    // the same shard run twice, into two directories
    let again = tmp.path().join("shard-2-again");
    let output = run_shard(&scenario, "2/4", &again);
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    shards.push(again);
    let output = merge(&shards, &tmp.path().join("merged"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("shard 2/4 is given twice"), "{stderr}");
    assert!(stderr.contains("shard-2-again"), "{stderr}");

    // the same directory named twice is no better
    let twice = [
        shards[0].clone(),
        shards[1].clone(),
        shards[1].clone(),
        shards[2].clone(),
        shards[3].clone(),
    ];
    let output = merge(&twice, &tmp.path().join("merged"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
}

#[test]
fn shards_of_different_scenarios_or_corpora_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let first = keyword_scenario(&tmp.path().join("a"), "sharded");
    let other = keyword_scenario(&tmp.path().join("b"), "other");
    let a = run_shards(&first, &tmp.path().join("a"), 2);
    let b = run_shards(&other, &tmp.path().join("b"), 2);
    let output = merge(&[a[0].clone(), b[1].clone()], &tmp.path().join("merged"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("scenario"), "{}", stderr_of(&output));

    // same scenario text, another corpus
    let corpus_a = write_corpus(
        &tmp.path().join("ca"),
        &["en"],
        "p1,en,we are here,protected,counter_speech,,,,\np2,en,queer and proud,protected,reclaimed_slur,,,,\nv1,en,kill them all,violating,threat,,,,\n",
    );
    let corpus_b = write_corpus(
        &tmp.path().join("cb"),
        &["en"],
        "p1,en,we are still here,protected,counter_speech,,,,\np2,en,queer and proud,protected,reclaimed_slur,,,,\nv1,en,kill them all,violating,threat,,,,\n",
    );
    let body = "name = \"c\"\ncorpora = [\"corpus\"]\n[target]\nkind = \"builtin:keyword\"\n";
    let mut dirs = Vec::new();
    for (name, corpus, shard) in [("sa", &corpus_a, "1/2"), ("sb", &corpus_b, "2/2")] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        copy_dir(corpus, &dir.join("corpus"));
        std::fs::write(dir.join("scenario.toml"), body).unwrap();
        let out = dir.join("run");
        let output = run_shard(&dir.join("scenario.toml"), shard, &out);
        assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
        dirs.push(out);
    }
    let output = merge(&dirs, &tmp.path().join("merged-corpora"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("corpus"), "{}", stderr_of(&output));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_run_that_is_no_shard_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let single = tmp.path().join("single");
    run_scenario(&scenario, &single);
    let shard = tmp.path().join("shard-1");
    run_shard(&scenario, "1/2", &shard);
    let output = merge(&[shard, single], &tmp.path().join("merged"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("not a shard"), "{}", stderr_of(&output));
}

#[test]
fn bad_shard_specifications_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    for bad in ["0/4", "5/4", "4", "a/b", "1/0", "-1/4", "1/4/2", ""] {
        let output = run_shard(&scenario, bad, &tmp.path().join("out"));
        assert_eq!(output.status.code(), Some(2), "{bad}: {}", stderr_of(&output));
        assert!(!tmp.path().join("out").exists(), "{bad}");
    }
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .args(["--shard-rate", "5", "--out"])
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "--shard-rate needs --shard");
}

#[test]
fn a_shard_rate_replaces_the_divided_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let out = tmp.path().join("shard");
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .args(["--shard", "2/3", "--shard-rate", "7.5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("This run is shard 2/3"), "{stdout}");
    let shard = &read_json(&out.join("manifest.json"))["sharding"]["shard"];
    assert_eq!(shard["requests_per_second"], 7.5);
    assert!(shard["requests_per_minute"].is_null(), "{shard}");
}

#[test]
fn a_shard_resumes_as_the_same_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let out = tmp.path().join("shard");
    run_shard(&scenario, "3/4", &out);
    let before = journal_case_ids(&out);
    let output = modaudit().arg("run").arg("--resume").arg(&out).output().unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    assert_eq!(journal_case_ids(&out), before);
    let output = modaudit()
        .arg("run")
        .args(["--shard", "1/4", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "--shard with --resume");
}

#[test]
fn help_completions_and_man_page_name_shards_and_merge() {
    let help = modaudit().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("--shard") && help.contains("--shard-rate"), "{help}");
    let bash = modaudit().args(["completions", "bash"]).output().unwrap();
    let bash = String::from_utf8(bash.stdout).unwrap();
    assert!(bash.contains("--shard-rate") && bash.contains("merge"), "{bash}");
    let man = modaudit().arg("man").output().unwrap();
    let man = String::from_utf8(man.stdout).unwrap();
    assert!(man.contains("merge") && man.contains("shard"), "{man}");
}

#[test]
fn the_appeals_of_every_shard_are_merged() {
    use crate::appeals::{corpus, scenario_with};
    use crate::standin::{Behaviour, StandIn};
    let standin = StandIn::start(Behaviour::default());
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario_with(
        tmp.path(),
        &standin,
        corpus(&tmp.path().join("corpus")),
        (true, 10.0, ""),
        "",
    );
    let shards = run_shards(&scenario, tmp.path(), 3);
    let merged = tmp.path().join("merged");
    let output = merge(&shards, &merged);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let probe = &read_json(&merged.join("results.json"))["appeal"]["probe"];
    assert_eq!(probe["wrongful_removals"], 60, "{probe}");
    assert_eq!(probe["filed"], 60);
    assert_eq!(probe["decided"], 60);
    assert_eq!(probe["reversed"], 24, "the stand-in reverses 2 in 5 filings");
    // one appeal per wrongful removal, each with its own idempotency key
    let journal = std::fs::read_to_string(merged.join("journal.jsonl")).unwrap();
    let keys: std::collections::BTreeSet<String> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["record"] == "appeal_intent")
        .map(|r| r["idempotency_key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 60);
    assert!(standin.appeals_per_decision().values().all(|&n| n == 1));
}

#[test]
fn a_scenario_that_samples_its_appeals_is_not_sharded() {
    use crate::appeals::{corpus, scenario_with};
    use crate::standin::{Behaviour, StandIn};
    let standin = StandIn::start(Behaviour::default());
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario_with(
        tmp.path(),
        &standin,
        corpus(&tmp.path().join("corpus")),
        (true, 10.0, "max_appeals = 9"),
        "",
    );
    let out = tmp.path().join("shard");
    let output = run_shard(&scenario, "1/2", &out);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("samples the appeals"),
        "{}",
        stderr_of(&output)
    );
    assert!(!out.exists(), "nothing is written");
    assert_eq!(standin.server.count(), 0, "nothing is asked");
}

#[test]
fn the_recipes_are_documented_and_linked() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("(docs/shards.md)"), "README links docs/shards.md");
    let doc = std::fs::read_to_string(repo().join("docs/shards.md")).unwrap();
    for needle in [
        "JOB_COMPLETION_INDEX",
        "completionMode: Indexed",
        "configMap",
        "strategy:",
        "shard: [1, 2, 3, 4]",
        "actions/upload-artifact",
        "actions/download-artifact",
        "modaudit merge",
    ] {
        assert!(doc.contains(needle), "docs/shards.md misses {needle}");
    }
    for field in RUN_IDENTITY {
        assert!(
            doc.contains(&format!("`run.{field}`")),
            "docs/shards.md names {field} as excluded"
        );
    }
}

#[test]
fn a_shard_compares_with_another_run_of_the_same_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run_shard(&scenario, "2/4", &a);
    run_shard(&scenario, "2/4", &b);
    let output = modaudit().arg("diff").arg(&a).arg(&b).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn an_unfinished_shard_is_refused_until_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = keyword_scenario(tmp.path(), "sharded");
    let shards = run_shards(&scenario, tmp.path(), 2);
    // shard 2 as a run killed halfway leaves it
    let journal = shards[1].join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let half: Vec<&str> = text.lines().take(text.lines().count() / 2).collect();
    std::fs::write(&journal, format!("{}\n", half.join("\n"))).unwrap();
    let merged = tmp.path().join("merged");
    let output = merge(&shards, &merged);
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("shard 2/2 is unfinished"),
        "{}",
        stderr_of(&output)
    );
    assert!(!merged.exists());

    let output = modaudit().arg("run").arg("--resume").arg(&shards[1]).output().unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    let output = merge(&shards, &merged);
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
}

#[test]
fn merged_shards_of_a_replay_give_the_results_and_decisions_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = repo().join("tests/fixtures/recompute/cells/scenario.toml");
    let single = tmp.path().join("single");
    let output = run_scenario(&scenario, &single);
    let single_code = output.status.code();
    assert!(single_code.is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    let mut shards = run_shards(&scenario, tmp.path(), 4);
    // the order the directories are named in does not matter
    shards.reverse();
    let merged = tmp.path().join("merged");
    let output = merge(&shards, &merged);
    assert_eq!(
        output.status.code(),
        run_scenario(&scenario, &tmp.path().join("again")).status.code()
    );
    assert_eq!(
        results_without_run_identity(&merged),
        results_without_run_identity(&single)
    );
    // decisions.csv too, but for how long each answer took
    let rows = |dir: &Path| {
        let mut rows = read_decisions(dir);
        rows.iter_mut().for_each(|row| {
            row.remove("latency_ms");
        });
        rows
    };
    assert_eq!(rows(&merged), rows(&single));
}
