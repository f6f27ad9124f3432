//! A server that answers 429: a rate-limited answer uses up no attempt, its
//! `Retry-After` pauses every worker, the rate adapts without ever exceeding the
//! configured limit, and the run reports what the limiting cost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http_targets::{Adapter, rows_by_case, run_against};
use crate::server::{Reply, Server};
use crate::support::*;

fn rows(n: usize) -> String {
    (0..n)
        .map(|i| format!("r{i:03},en,post number {i},protected,neutral_mention,women,,,\n"))
        .collect()
}

fn too_many_requests() -> Reply {
    Reply::status(
        429,
        "application/json",
        r#"{"error": {"message": "Rate limit reached"}}"#,
        &[("Retry-After", "1")],
    )
}

/// The most requests that arrived within any one second.
fn busiest_second(times: &[Instant]) -> usize {
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn rate_limited_answers_use_up_no_attempt_and_pause_every_worker() {
    let limited: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let server = {
        let limited = Arc::clone(&limited);
        Server::start(move |request, index| {
            if index % 4 == 3 {
                limited.lock().unwrap().push(request.at);
                too_many_requests()
            } else {
                Adapter::Http.answer(request)
            }
        })
    };
    let cases = 16;
    // one attempt per case: only a 429 may repeat a request
    let run = run_against(
        Adapter::Http,
        &server,
        &rows(cases),
        "concurrency = 8\nrequests_per_second = 10\nmax_attempts = 1\n",
    );
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    let decisions = rows_by_case(&run.dir);
    assert_eq!(decisions.len(), cases);
    assert!(
        decisions.values().all(|d| d["action"] == "allow"),
        "every case decided, none in error: {decisions:?}"
    );
    let mut ids = journal_case_ids(&run.dir);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), cases, "every case exactly once");

    let times: Vec<Instant> = server.requests().iter().map(|r| r.at).collect();
    let busiest = busiest_second(&times);
    assert!(busiest <= 10, "{busiest} requests arrived within one second");
    // Retry-After: 1 holds back every worker, not just the one that was told.
    // (A request already on its way when the 429 left may still arrive.)
    let limited = limited.lock().unwrap().clone();
    assert!(limited.len() >= cases / 4, "{} rate-limited answers", limited.len());
    for at in &limited {
        let during = times
            .iter()
            .filter(|t| **t > *at + Duration::from_millis(100) && **t < *at + Duration::from_millis(950))
            .count();
        assert_eq!(during, 0, "requests arrived during the pause a 429 asked for");
    }

    let results = read_json(&run.dir.join("results.json"));
    let limiting = &results["run"]["rate_limiting"];
    assert_eq!(limiting["responses"], limited.len() as u64, "{limiting}");
    let lowest = limiting["lowest_rate"].as_f64().unwrap();
    assert!(lowest > 0.0 && lowest < 10.0, "the rate was lowered: {limiting}");
    let waited = limiting["waited_secs"].as_f64().unwrap();
    assert!(waited >= limited.len() as f64 * 0.5, "{limiting}");
    assert!(run.stdout.contains("rate limited"), "{}", run.stdout);
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(md.contains("Rate limiting"), "{md}");
}

#[test]
fn a_case_rate_limited_beyond_its_wait_bound_ends_in_error() {
    let server = Server::start(|_, _| too_many_requests());
    let started = Instant::now();
    let run = run_against(
        Adapter::Http,
        &server,
        &rows(2),
        "max_rate_limit_wait_secs = 2.5\nerror_budget = 1.0\n",
    );
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    for row in rows_by_case(&run.dir).values() {
        assert_eq!(row["action"], "error");
        assert!(
            row["error"].starts_with("HTTP 429 Too Many Requests: Rate limit reached (rate-limited")
                && row["error"].contains("run.max_rate_limit_wait_secs"),
            "{row:?}"
        );
    }
}

#[test]
fn the_rate_limit_wait_bound_is_validated() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], &rows(1));
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n[run]\nmax_rate_limit_wait_secs = 0\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains(
            "scenario.toml:6: `run.max_rate_limit_wait_secs`: must be a number of seconds from 0.01 to 604800, got 0"
        ),
        "{err}"
    );
}
