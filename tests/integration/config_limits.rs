//! Numbers a scenario gives that overflow or make no sense (durations, rates,
//! counts) are located configuration errors, never a panic; URLs are checked
//! under their own key, and a placeholder host is pointed out.

use std::path::Path;

use crate::support::*;

/// A valid scenario with `[run]`, `[appeal]` and `[target.response]` tables;
/// `{run}`, `{appeal}` and `{response}` take one extra line each.
const BASE: &str = "name = \"limits\"
corpora = [{corpus}]

[target]
kind = \"http\"
url = \"http://127.0.0.1:9/moderate\"
body = '{\"text\": \"{text}\"}'

[target.response]
action = \"/decision\"
{response}

[run]
concurrency = 2
{run}

[appeal]
submit_url = \"http://127.0.0.1:9/appeals\"
submit_body = '{\"decision_id\": \"{decision_id}\"}'
appeal_id = \"/appeal_id\"
status_url = \"http://127.0.0.1:9/appeals/{appeal_id}\"
status = \"/status\"
{appeal}
";

fn scenario_with(dir: &Path, table: &str, line: &str) -> std::path::PathBuf {
    let corpus = write_corpus(
        &dir.join("corpus"),
        &["en"],
        "a1,en,a post,protected,counter_speech,women,,,\n",
    );
    let fill = |name: &str| if name == table { line } else { "" };
    let body = BASE
        .replace("{run}", fill("run"))
        .replace("{appeal}", fill("appeal"))
        .replace("{response}", fill("response"));
    write_scenario(dir, &corpus, &body)
}

/// The 1-based line of `needle` in the scenario file.
fn line_of(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .position(|l| l.trim() == needle)
        .unwrap()
        + 1
}

#[test]
fn the_base_scenario_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario_with(tmp.path(), "", "");
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn senseless_numbers_are_located_errors() {
    let table = [
        ("run", "timeout_secs = 1e20", "run.timeout_secs"),
        ("run", "timeout_secs = nan", "run.timeout_secs"),
        ("run", "timeout_secs = 0.0001", "run.timeout_secs"),
        ("run", "requests_per_second = 1e-9", "run.requests_per_second"),
        ("run", "requests_per_second = 1e20", "run.requests_per_second"),
        ("run", "requests_per_second = inf", "run.requests_per_second"),
        ("run", "requests_per_minute = 1e-9", "run.requests_per_minute"),
        ("run", "requests_per_minute = -5", "run.requests_per_minute"),
        ("run", "max_retry_after_secs = 0", "run.max_retry_after_secs"),
        ("run", "max_retry_after_secs = 1e20", "run.max_retry_after_secs"),
        ("run", "max_retry_after_secs = inf", "run.max_retry_after_secs"),
        ("run", "error_budget = nan", "run.error_budget"),
        ("appeal", "deadline_secs = 1e20", "appeal.deadline_secs"),
        ("appeal", "deadline_secs = -1", "appeal.deadline_secs"),
        ("appeal", "deadline_secs = inf", "appeal.deadline_secs"),
        ("appeal", "poll_interval_secs = 1e-9", "appeal.poll_interval_secs"),
        ("appeal", "poll_interval_secs = 1e20", "appeal.poll_interval_secs"),
        ("appeal", "poll_interval_secs = nan", "appeal.poll_interval_secs"),
        ("appeal", "max_appeals = 0", "appeal.max_appeals"),
        ("appeal", "sample = nan", "appeal.sample"),
        ("response", "threshold = inf", "target.response.threshold"),
    ];
    let mut failures = Vec::new();
    for (table_name, line, key) in table {
        let tmp = tempfile::tempdir().unwrap();
        let scenario = scenario_with(tmp.path(), table_name, line);
        let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
        let stderr = stderr_of(&output);
        let expected = format!("scenario.toml:{}: `{key}`: ", line_of(&scenario, line));
        if output.status.code() != Some(2) || !stderr.contains(&expected) {
            failures.push(format!(
                "{line}: exit {:?}, expected `{expected}` in: {stderr}",
                output.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bad_http_url_is_reported_under_target_url() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario_with(tmp.path(), "", "");
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("url = \"http://127.0.0.1:9/moderate\"", "url = \"not a url\"");
    std::fs::write(&scenario, text).unwrap();
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("scenario.toml:6: `target.url`: "), "{stderr}");
    assert!(!stderr.contains("base_url"), "{stderr}");
}

#[test]
fn a_placeholder_host_is_a_warning() {
    for (file, host) in [
        ("scenarios/azure.toml", "YOUR-RESOURCE"),
        ("scenarios/platform-api.toml", "platform.example"),
    ] {
        let output = modaudit()
            .arg("validate")
            .arg(repo().join(file))
            .env_remove("AZURE_CONTENT_SAFETY_KEY")
            .env_remove("PLATFORM_TOKEN")
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(0), "{file}: {stderr}");
        assert!(
            stderr.contains("warning: ") && stderr.contains(host),
            "{file}: {stderr}"
        );
    }
    let output = modaudit()
        .arg("validate")
        .arg(repo().join("scenarios/quickstart.toml"))
        .output()
        .unwrap();
    assert!(!stderr_of(&output).contains("warning"), "{}", stderr_of(&output));
}
