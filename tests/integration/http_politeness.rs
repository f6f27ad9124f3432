//! Politeness and durability against a remote API: the rate limit holds at the
//! server, keys never leak, a killed run resumes from journal and cache, the
//! cache saves calls, and OpenAI inputs are batched.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::http_targets::{Adapter, ROWS, rows_by_case, run_against, run_against_with};
use crate::server::{Reply, Server};
use crate::support::*;

fn many_rows(n: usize) -> String {
    (0..n)
        .map(|i| {
            let text = if i % 5 == 0 {
                format!("post {i}: kill them")
            } else {
                format!("post number {i}")
            };
            let label = if i % 5 == 0 { "violating" } else { "protected" };
            format!("c{i:04},en,{text},{label},neutral_mention,women,,,\n")
        })
        .collect()
}

#[test]
fn no_one_second_window_exceeds_the_rate_limit() {
    let server = Server::start(|request, _| Adapter::Http.answer(request));
    let run = run_against(
        Adapter::Http,
        &server,
        &many_rows(24),
        "concurrency = 16\nrequests_per_second = 5\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let times: Vec<Instant> = server.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 24);
    for (i, start) in times.iter().enumerate() {
        let in_window = times
            .iter()
            .filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(in_window <= 5, "{in_window} requests in the second after request {i}");
    }
    let span = times.iter().max().unwrap().duration_since(*times.iter().min().unwrap());
    assert!(
        span >= Duration::from_millis(4500),
        "24 requests at 5/s take at least 4.6 s, took {span:?}"
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn a_key_appears_in_no_file_and_no_output() {
    const KEY: &str = "sk-modaudit-DISTINCTIVE-7f3a91";
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en", "es", "sw"], ROWS);
    let cache = tmp.path().join("cache");
    // a server that works, one that is down (connection errors quote URLs), and one that echoes the key
    let good = Server::start(|request, _| Adapter::Perspective.answer(request));
    let echo = Server::start(|request, _| {
        Reply::Json(
            400,
            json!({"error": {"message": format!("bad request to {}", request.target)}}),
        )
    });
    let down = RefusingPort::new();
    let down_port = down.port;
    let mut outputs = String::new();
    for (name, url) in [
        ("good", good.url.clone()),
        ("echo", echo.url.clone()),
        ("down", format!("http://127.0.0.1:{down_port}")),
    ] {
        let scenario = tmp.path().join(format!("{name}.toml"));
        std::fs::write(
            &scenario,
            format!(
                "name = \"{name}\"\ncorpora = [{}]\n[target]\nkind = \"perspective\"\nbase_url = \"{url}\"\napi_key_env = \"SECRET_FOR_TEST\"\n[run]\nmax_attempts = 2\nerror_budget = 1.0\ncache_dir = {}\n",
                toml_string(&corpus.display().to_string()),
                toml_string(&cache.display().to_string())
            ),
        )
        .unwrap();
        let output = modaudit()
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(tmp.path().join(format!("run-{name}")))
            .env("SECRET_FOR_TEST", KEY)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr_of(&output));
        outputs.push_str(&String::from_utf8_lossy(&output.stdout));
        outputs.push_str(&stderr_of(&output));
        let report = modaudit()
            .arg("report")
            .arg(tmp.path().join(format!("run-{name}")))
            .env("SECRET_FOR_TEST", KEY)
            .output()
            .unwrap();
        outputs.push_str(&String::from_utf8_lossy(&report.stdout));
        outputs.push_str(&stderr_of(&report));
    }
    assert!(
        good.requests().iter().all(|r| r.target.contains(KEY)),
        "the key was sent where the API expects it"
    );
    let echoed = rows_by_case(&tmp.path().join("run-echo"));
    assert!(echoed["k1"]["error"].contains("key=[REDACTED]"), "{:?}", echoed["k1"]);
    let files = files_under(tmp.path());
    assert!(files.len() > 20, "runs and cache were written");
    for file in files {
        if file.starts_with(&corpus) {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "the key leaked into {}",
            file.display()
        );
    }
    assert!(!outputs.contains(KEY), "the key leaked into the output");
}

#[test]
fn a_killed_http_run_resumes_exactly_once_and_the_cache_saves_calls() {
    let server =
        Server::start(|request, _| Reply::Delay(Duration::from_millis(25), Box::new(Adapter::Http.answer(request))));
    let tmp = tempfile::tempdir().unwrap();
    let rows = many_rows(160);
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], &rows);
    let cache = tmp.path().join("cache");
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"http\"\ncorpora = [{{corpus}}]\n[target]\n{}\n[run]\nconcurrency = 4\ncache_dir = {}\n",
            Adapter::Http.target(&server.url),
            toml_string(&cache.display().to_string())
        ),
    );
    let dir = tmp.path().join("run");
    let (key, value) = Adapter::Http.key_env();
    let mut child = Command::new(env!("CARGO_BIN_EXE_modaudit"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&dir)
        .env(key, value)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(dir.join("journal.jsonl")).map_or(0, |s| s.lines().count()) < 40 {
        assert!(start.elapsed() < Duration::from_secs(60), "the run did not progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let journaled_before = journal_case_ids(&dir).len();
    assert!(journaled_before < 160);

    let output = modaudit()
        .arg("run")
        .arg("--resume")
        .arg(&dir)
        .env(key, value)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let ids = journal_case_ids(&dir);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (160, 160), "every case exactly once");
    // Each decision not served from the cache cost one call; beyond that, only calls in flight when
    // the run was killed (at most the concurrency, 4) were repeated. Answers that had arrived and
    // been cached before the kill were served from the cache on resume.
    let calls = server.count();
    let hits = read_decisions(&dir).iter().filter(|r| r["cache_hit"] == "true").count();
    assert!(calls >= 160 - hits, "{calls} calls, {hits} cache hits");
    assert!(
        calls - (160 - hits) <= 4,
        "{calls} calls for {} uncached decisions",
        160 - hits
    );

    // Re-running the audit calls the API for nothing.
    let again = tmp.path().join("again");
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&again)
        .env(key, value)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(server.count(), calls, "a re-run is served from the cache");
    assert!(read_decisions(&again).iter().all(|r| r["cache_hit"] == "true"));
    let journal = std::fs::read_to_string(again.join("journal.jsonl")).unwrap();
    assert!(
        journal.lines().all(|l| l.contains("\"cache_hit\":true")),
        "cache hits are marked in the journal"
    );
    // …unless told not to.
    let fresh = tmp.path().join("fresh");
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&fresh)
        .arg("--no-cache")
        .env(key, value)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(server.count(), calls + 160);
    let findings = |d: &Path| {
        let mut r = read_json(&d.join("results.json"));
        r.as_object_mut().unwrap().remove("run");
        r
    };
    assert_eq!(findings(&dir), findings(&fresh), "resumed, cached and fresh runs agree");
}

#[test]
fn openai_inputs_are_batched() {
    let server = Server::start(|request, _| Adapter::OpenAi.answer(request));
    let run = run_against_with(Adapter::OpenAi, &server, &many_rows(1000), "batch_size = 32\n", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let requests = server.requests();
    assert!(
        requests.len() <= 32,
        "{} requests for 1,000 cases in batches of 32",
        requests.len()
    );
    assert!(
        requests
            .iter()
            .all(|r| r.json()["input"].as_array().is_some_and(|a| a.len() <= 32))
    );
    assert_eq!(
        requests
            .iter()
            .map(|r| r.json()["input"].as_array().unwrap().len())
            .sum::<usize>(),
        1000
    );
    let rows = read_decisions(&run.dir);
    assert_eq!(rows.len(), 1000);
    for row in rows {
        let expected = if row["text"].contains("kill") {
            "remove"
        } else {
            "allow"
        };
        assert_eq!(
            row["action"], expected,
            "results are matched to inputs in order: {row:?}"
        );
    }
}
