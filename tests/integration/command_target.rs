//! The `command` target against the fake model: a well-behaved program, and one
//! per kind of misbehaviour. Every case ends decided or as an `error` with its
//! reason; none is lost or duplicated.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::support::*;

const ROWS: &str = "\
c1,en,people like you should be killed,violating,threat,women,,,\n\
c2,en,a perfectly normal post,protected,neutral_mention,women,,,\n\
c3,en,another normal post,protected,neutral_mention,women,,,\n\
c4,en,yet another post,protected,neutral_mention,women,,,\n\
c5,en,one more post,protected,neutral_mention,women,,,\n\
c6,es,un texto normal,protected,neutral_mention,women,,,\n";

struct Run {
    dir: PathBuf,
    code: Option<i32>,
    stderr: String,
    _tmp: tempfile::TempDir,
}

fn run_with(model_args: &[&str], extra: &str) -> Run {
    run_with_target(model_args, "", extra)
}

fn run_with_target(model_args: &[&str], target_extra: &str, extra: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en", "es"], ROWS);
    let mut command = vec![fake_model()];
    command.extend_from_slice(model_args);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"command\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {}\n{target_extra}\n[run]\nconcurrency = 2\ntimeout_secs = 1\nmax_attempts = 2\n{extra}",
            toml_command(&command)
        ),
    );
    let dir = tmp.path().join("run");
    let output = run_scenario(&scenario, &dir);
    Run {
        dir,
        code: output.status.code(),
        stderr: stderr_of(&output),
        _tmp: tmp,
    }
}

fn by_case(dir: &Path) -> HashMap<String, HashMap<String, String>> {
    read_decisions(dir)
        .into_iter()
        .map(|r| (r["case_id"].clone(), r))
        .collect()
}

/// Every case has exactly one journal record and a non-empty action.
fn assert_nothing_lost(dir: &Path) {
    let mut ids = journal_case_ids(dir);
    ids.sort();
    assert_eq!(
        ids,
        ["c1", "c2", "c3", "c4", "c5", "c6"],
        "journal holds every case exactly once"
    );
    for row in read_decisions(dir) {
        assert!(!row["action"].is_empty(), "{row:?}");
    }
}

#[test]
fn a_well_behaved_program_is_audited_with_its_notices() {
    let run = run_with(&["--remove-if-contains", "killed", "--notice"], "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_nothing_lost(&run.dir);
    let rows = by_case(&run.dir);
    assert_eq!(rows["c1"]["action"], "remove");
    assert_eq!(rows["c1"]["appeal_url"], "https://appeals.example/c1");
    assert_eq!(rows["c1"]["automated"], "true");
    assert_eq!(rows["c2"]["action"], "allow");
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(results["notice"]["adverse"], 1);
    assert_eq!(results["notice"]["with_appeal_route"], 1);
    assert_eq!(results["notice"]["with_rule"], 1);
}

#[test]
fn a_score_only_program_is_thresholded() {
    let run = run_with_target(
        &["--remove-if-contains", "killed", "--score-only"],
        "threshold = 0.5",
        "",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = by_case(&run.dir);
    assert_eq!(
        (rows["c1"]["action"].as_str(), rows["c1"]["score"].as_str()),
        ("remove", "0.9")
    );
    assert_eq!(
        (rows["c2"]["action"].as_str(), rows["c2"]["score"].as_str()),
        ("allow", "0.1")
    );
    // scores feed the score-based bias metrics: the one violating case outscores every protected one
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(results["score_bias"]["scored_cases"], 6);
    assert_eq!(results["score_bias"]["overall_auc"], 1.0);
    assert_eq!(results["score_bias"]["groups"][0]["group"], "women");
    assert_eq!(results["score_bias"]["groups"][0]["subgroup_auc"], 1.0);
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(md.contains("## Score-based bias"), "{md}");
}

#[test]
fn a_score_without_a_threshold_is_an_error_naming_the_fix() {
    let run = run_with(&["--score-only"], "error_budget = 1.0\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = by_case(&run.dir);
    assert!(
        rows["c1"]["error"].contains("the scenario sets no `threshold`"),
        "{:?}",
        rows["c1"]
    );
}

#[test]
fn a_crashing_program_yields_an_error_decision_with_its_exit_status() {
    let run = run_with(&["--crash-on", "c2"], "");
    // 1 error in 6 cases exceeds the default error budget of 2 %: the run is incomplete.
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_nothing_lost(&run.dir);
    let rows = by_case(&run.dir);
    assert_eq!(rows["c2"]["action"], "error");
    let reason = &rows["c2"]["error"];
    assert!(reason.contains("the program exited with exit status: 3"), "{reason}");
    assert!(
        reason.contains("simulated crash on c2"),
        "stderr tail is quoted: {reason}"
    );
    assert!(reason.contains("after 2 attempts"), "{reason}");
    assert_eq!(
        rows["c3"]["action"], "allow",
        "the program was restarted for the next case"
    );
    let junit = std::fs::read_to_string(run.dir.join("junit.xml")).unwrap();
    assert!(junit.contains("run_completed"), "{junit}");
}

#[test]
fn a_line_that_is_not_json_yields_an_error_decision() {
    let run = run_with(&["--garbage-on", "c3"], "error_budget = 1.0\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_nothing_lost(&run.dir);
    let rows = by_case(&run.dir);
    assert_eq!(rows["c3"]["action"], "error");
    assert!(rows["c3"]["error"].contains("not JSON"), "{:?}", rows["c3"]);
    assert!(
        rows["c3"]["error"].contains("this is not json"),
        "the bad line is quoted"
    );
    assert_eq!(rows["c3"]["attempts"], "1", "a malformed answer is not retried");
}

#[test]
fn an_answer_for_the_wrong_id_yields_an_error_decision() {
    let run = run_with(&["--wrong-id-on", "c4"], "error_budget = 1.0\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_nothing_lost(&run.dir);
    let rows = by_case(&run.dir);
    assert_eq!(rows["c4"]["action"], "error");
    assert!(
        rows["c4"]["error"].contains("answered for id `not-the-right-id` when asked about `c4`"),
        "{:?}",
        rows["c4"]
    );
    assert_eq!(rows["c5"]["action"], "allow");
}

#[test]
fn a_hanging_program_times_out_and_is_restarted() {
    let run = run_with(&["--hang-on", "c5"], "error_budget = 1.0\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_nothing_lost(&run.dir);
    let rows = by_case(&run.dir);
    assert_eq!(rows["c5"]["action"], "error");
    assert!(
        rows["c5"]["error"].contains("no answer within 1.0 s (timeout)"),
        "{:?}",
        rows["c5"]
    );
    assert_eq!(rows["c5"]["attempts"], "2");
    assert_eq!(rows["c6"]["action"], "allow");
}

#[test]
fn an_unsupported_language_is_its_own_outcome() {
    let run = run_with(&["--unsupported-lang", "es"], "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = by_case(&run.dir);
    assert_eq!(rows["c6"]["action"], "unsupported");
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(results["totals"]["unsupported"], 1);
    assert_eq!(results["unsupported"][0]["language"], "es");
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(
        md.contains("The system declared it could not moderate the only Spanish case;"),
        "{md}"
    );
}

/// `cases` cases `p0000`, `p0001`, …; every seventh says "kill".
fn many_rows(cases: usize) -> String {
    (0..cases)
        .map(|i| {
            let (text, label) = if i % 7 == 0 {
                ("we will kill you", "violating")
            } else {
                ("a post about the weather", "protected")
            };
            format!("p{i:04},en,{text},{label},neutral_mention,women,,,\n")
        })
        .collect()
}

/// A run over [`many_rows`] whose `[target]` and `[run]` end with the given lines.
fn run_many(cases: usize, model_args: &[&str], target_extra: &str, run_extra: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en"], &many_rows(cases));
    let mut command = vec![fake_model(), "--remove-if-contains", "kill"];
    command.extend_from_slice(model_args);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"pipelined\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {}\n{target_extra}\n[run]\ntimeout_secs = 1\nerror_budget = 1.0\n{run_extra}",
            toml_command(&command)
        ),
    );
    let dir = tmp.path().join("run");
    let output = run_scenario(&scenario, &dir);
    Run {
        dir,
        code: output.status.code(),
        stderr: stderr_of(&output),
        _tmp: tmp,
    }
}

/// The journal holds every one of the `cases` cases exactly once, and every
/// case but those in `failing` has the fake model's right answer.
fn assert_each_decided_once(run: &Run, cases: usize, failing: &[&str]) -> HashMap<String, HashMap<String, String>> {
    let mut ids = journal_case_ids(&run.dir);
    assert_eq!(ids.len(), cases, "one journal record per case");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), cases, "no case is journaled twice");
    let rows = by_case(&run.dir);
    assert_eq!(rows.len(), cases);
    for i in 0..cases {
        let id = format!("p{i:04}");
        let row = &rows[&id];
        let expected = if failing.contains(&id.as_str()) {
            "error"
        } else if i % 7 == 0 {
            "remove"
        } else {
            "allow"
        };
        assert_eq!(row["action"], expected, "{id}: {row:?}");
    }
    rows
}

#[test]
fn a_program_answering_out_of_order_has_each_answer_matched_by_id() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("answered.txt");
    let run = run_many(300, &["--reverse", "--log", log.to_str().unwrap()], "", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_each_decided_once(&run, 300, &[]);
    let answered: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(answered.len(), 300, "each case was asked once");
    assert!(
        answered.windows(2).any(|pair| pair[0] > pair[1]),
        "requests were written ahead, and the program answered some of them last first"
    );
}

#[test]
fn a_program_crashing_mid_window_charges_only_the_case_it_crashed_on() {
    let run = run_many(
        300,
        &["--crash-on", "p0050", "--crash-on", "p0200"],
        "processes = 2\nwindow = 32",
        "max_attempts = 2",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = assert_each_decided_once(&run, 300, &["p0050", "p0200"]);
    for id in ["p0050", "p0200"] {
        let reason = &rows[id]["error"];
        assert!(
            reason.contains("the program exited with exit status: 3"),
            "{id}: {reason}"
        );
        assert!(reason.contains(&format!("simulated crash on {id}")), "{id}: {reason}");
        assert!(reason.contains("after 2 attempts"), "{id}: {reason}");
    }
}

#[test]
fn a_program_quitting_mid_window_has_every_case_decided() {
    let run = run_many(200, &["--exit-after", "25"], "window = 16", "max_attempts = 2");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = assert_each_decided_once(&run, 200, &[]);
    assert!(rows.values().all(|row| row["error"].is_empty()), "{rows:?}");
}

#[test]
fn a_program_hanging_mid_window_times_out_only_the_case_it_hangs_on() {
    let run = run_many(120, &["--hang-on", "p0060"], "window = 16", "max_attempts = 2");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = assert_each_decided_once(&run, 120, &["p0060"]);
    let reason = &rows["p0060"]["error"];
    assert!(reason.contains("no answer within 1.0 s (timeout)"), "{reason}");
    assert_eq!(rows["p0060"]["attempts"], "2");
}

#[test]
fn a_window_out_of_range_is_refused() {
    let run = run_many(10, &[], "window = 0", "");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("window"), "{}", run.stderr);
}
