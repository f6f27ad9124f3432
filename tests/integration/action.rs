//! The GitHub Action (`action.yml`): its shell logic lives in `ci/action.sh`,
//! run here as the action runs it, with the binary under test in place of the
//! one the action installs.

use std::path::Path;
use std::process::Command;

use crate::support::*;

fn action_script() -> std::path::PathBuf {
    repo().join("ci/action.sh")
}

/// Runs `ci/action.sh run` in `dir` as a GitHub runner would, with `inputs`
/// as the action's inputs; returns its exit code and output.
fn run_action(dir: &Path, inputs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new("bash");
    command
        .arg(action_script())
        .arg("run")
        .current_dir(dir)
        .env("MODAUDIT_BIN", env!("CARGO_BIN_EXE_modaudit"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("GITHUB_OUTPUT", dir.join("output.txt"));
    for (name, value) in inputs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn the_action_runs_a_scenario_writes_the_step_summary_and_sets_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &repo().join("corpora/starter"),
        "name = \"ci\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n[gates]\nmax_over_removal_rate = 0.01\nmax_error_rate = 0.0\n",
    );
    let (code, text) = run_action(
        tmp.path(),
        &[
            ("INPUT_SCENARIO", scenario.to_str().unwrap()),
            ("INPUT_OUT", "audit"),
            ("INPUT_ARGS", "--no-progress\n--no-cache"),
        ],
    );
    assert_eq!(code, Some(1), "a failing gate fails the step: {text}");
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(summary.contains("| Gate | Threshold | Value | Status |"), "{summary}");
    assert!(summary.contains("| max_over_removal_rate | ≤ 0.0100 |"), "{summary}");
    assert!(
        text.contains("::error title=ci%3A gate max_over_removal_rate failed::"),
        "{text}"
    );
    let outputs = std::fs::read_to_string(tmp.path().join("output.txt")).unwrap();
    assert_eq!(outputs, "exit-code=1\nreport=audit/report.md\n");
    assert!(tmp.path().join("audit/report.md").is_file());
}

#[test]
fn without_a_scenario_the_action_runs_the_offline_quickstart() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, text) = run_action(tmp.path(), &[("INPUT_ARGS", "--quiet")]);
    assert_eq!(code, Some(0), "{text}");
    let outputs = std::fs::read_to_string(tmp.path().join("output.txt")).unwrap();
    assert_eq!(outputs, "exit-code=0\nreport=modaudit-report/quickstart/report.md\n");
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(summary.contains("### modaudit: quickstart — ✅ passed"), "{summary}");
}

#[test]
fn a_run_that_cannot_start_reports_its_exit_code_and_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, text) = run_action(tmp.path(), &[("INPUT_SCENARIO", "missing.toml")]);
    assert_eq!(code, Some(2), "{text}");
    let outputs = std::fs::read_to_string(tmp.path().join("output.txt")).unwrap();
    assert_eq!(outputs, "exit-code=2\nreport=\n");
}

#[test]
fn the_cache_key_follows_the_sources_and_the_toolchain() {
    let tmp = tempfile::tempdir().unwrap();
    let output = Command::new("bash")
        .arg(action_script())
        .arg("cache-key")
        .env("GITHUB_OUTPUT", tmp.path().join("output.txt"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outputs = std::fs::read_to_string(tmp.path().join("output.txt")).unwrap();
    let key = outputs.strip_prefix("key=").and_then(|k| k.strip_suffix('\n')).unwrap();
    assert_eq!(key.len(), 16, "{outputs}");
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{outputs}");
}

#[test]
fn action_yml_passes_every_input_to_the_script_and_reads_its_outputs() {
    let action = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let script = std::fs::read_to_string(action_script()).unwrap();
    for step in ["cache-key", "install", "run"] {
        assert!(
            action.contains(&format!("bash \"$GITHUB_ACTION_PATH/ci/action.sh\" {step}")),
            "action.yml runs `{step}`"
        );
    }
    for (input, variable) in [
        ("scenario", "INPUT_SCENARIO"),
        ("out", "INPUT_OUT"),
        ("args", "INPUT_ARGS"),
    ] {
        assert!(action.contains(&format!("\n  {input}:\n")), "input {input} is declared");
        assert!(
            action.contains(&format!("{variable}: ${{{{ inputs.{input} }}}}")),
            "{input} reaches the script as {variable}, never pasted into it"
        );
        assert!(script.contains(variable), "the script reads {variable}");
    }
    for output in ["exit-code", "report"] {
        assert!(
            action.contains(&format!("value: ${{{{ steps.run.outputs.{output} }}}}")),
            "output {output}"
        );
        assert!(
            script.contains(&format!("output {output} ")),
            "the script sets {output}"
        );
    }
    assert!(!action.contains("${{ inputs.") || action.matches("${{ inputs.").count() == 3);
}
