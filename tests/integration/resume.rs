//! A killed run resumes without losing or duplicating a decision, and a run
//! directory has one writer at a time.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

fn slow_scenario(dir: &Path, delay_ms: u32) -> PathBuf {
    let command = toml_command(&[
        fake_model(),
        "--delay-ms",
        &delay_ms.to_string(),
        "--remove-if-contains",
        "kill",
        "--remove-if-contains",
        "queer",
        "--remove-if-contains",
        "terror",
        "--notice",
    ]);
    write_scenario(
        dir,
        &repo().join("corpora/starter"),
        &format!(
            "name = \"slow\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {command}\nprocesses = 2\n[run]\nconcurrency = 2\n[gates]\nmax_over_removal_rate = 0.9\n"
        ),
    )
}

fn spawn_run(scenario: &Path, out: &Path) -> Child {
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

fn journal_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("journal.jsonl")).map_or(0, |s| s.lines().count())
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// results.json without the parts that name the run itself.
fn findings(dir: &Path) -> Value {
    let mut results = read_json(&dir.join("results.json"));
    results.as_object_mut().unwrap().remove("run");
    results
}

#[test]
fn a_killed_run_resumes_with_every_case_decided_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = slow_scenario(tmp.path(), 8);
    let killed = tmp.path().join("killed");
    let mut child = spawn_run(&scenario, &killed);
    wait_for("80 decisions", || journal_lines(&killed) >= 80);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let decided_before = journal_lines(&killed);
    let total = crate::support::read_json(&killed.join("manifest.json"))["cases"]
        .as_u64()
        .unwrap() as usize;
    assert!(
        decided_before < total,
        "the run was killed part-way ({decided_before} of {total})"
    );
    // a write cut off mid-line, as a crash can leave it
    let mut journal = std::fs::OpenOptions::new()
        .append(true)
        .open(killed.join("journal.jsonl"))
        .unwrap();
    journal
        .write_all(br#"{"record":"decision","case_id":"en-cs-0"#)
        .unwrap();
    drop(journal);

    let output = modaudit().arg("run").arg("--resume").arg(&killed).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    let ids = journal_case_ids(&killed);
    assert_eq!(ids.len(), total, "one decision per case");
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *counts.entry(id).or_default() += 1;
    }
    assert!(counts.values().all(|&n| n == 1), "no case decided twice");
    let manifest = read_json(&killed.join("manifest.json"));
    assert_eq!(manifest["resumed_at"].as_array().unwrap().len(), 1);
    assert!(manifest["finished_at"].is_string());

    let fresh = tmp.path().join("fresh");
    let output = run_scenario(&scenario, &fresh);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        findings(&killed),
        findings(&fresh),
        "the resumed run reports what an uninterrupted run reports"
    );
}

#[test]
fn a_second_process_cannot_write_the_same_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = slow_scenario(tmp.path(), 40);
    let dir = tmp.path().join("run");
    let mut first = spawn_run(&scenario, &dir);
    wait_for("the first run to start", || journal_lines(&dir) >= 2);
    let output = modaudit().arg("run").arg("--resume").arg(&dir).output().unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("the run directory is in use by another modaudit process (pid "),
        "{err}"
    );
    // once the first is gone, the run can be continued
    let output = modaudit()
        .arg("run")
        .arg("--resume")
        .arg(&dir)
        .arg("--no-progress")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn a_run_whose_inputs_changed_is_not_continued() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "a1,en,kill them,violating,threat,women,,,\na2,en,hello,protected,neutral_mention,women,,,\n",
    );
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let dir = tmp.path().join("run");
    let output = run_scenario(&scenario, &dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // the same --out twice is refused
    let output = run_scenario(&scenario, &dir);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("already holds a run"),
        "{}",
        stderr_of(&output)
    );
    // a changed corpus file is noticed on resume
    let cases = corpus.join("cases.csv");
    let text = std::fs::read_to_string(&cases).unwrap() + "a3,en,more,protected,neutral_mention,women,,,\n";
    std::fs::write(&cases, text).unwrap();
    let output = modaudit().arg("run").arg("--resume").arg(&dir).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(err.contains("corpus `test` has changed (cases.csv)"), "{err}");
}

#[test]
fn resume_can_retry_cases_that_ended_in_error() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "a1,en,one,protected,neutral_mention,women,,,\na2,en,two,protected,neutral_mention,women,,,\n",
    );
    let marker = tmp.path().join("crash-once");
    // a wrapper that crashes on a2 while the marker file exists
    let script = tmp.path().join("model.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ -e {marker} ]; then exec {model} --crash-on a2; else exec {model}; fi\n",
            marker = marker.display(),
            model = fake_model()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(&marker, "").unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"x\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {}\n[run]\nmax_attempts = 1\n",
            toml_command(&[script.to_str().unwrap()])
        ),
    );
    let dir = tmp.path().join("run");
    let output = run_scenario(&scenario, &dir);
    assert_eq!(
        output.status.code(),
        Some(3),
        "an error beyond the budget leaves the run incomplete"
    );
    std::fs::remove_file(&marker).unwrap();
    let output = modaudit()
        .arg("run")
        .arg("--resume")
        .arg(&dir)
        .arg("--retry-errors")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = read_decisions(&dir);
    assert!(rows.iter().all(|r| r["action"] == "allow"), "{rows:?}");
    assert_eq!(
        journal_case_ids(&dir).len(),
        3,
        "the error stays in the journal as evidence"
    );
}
