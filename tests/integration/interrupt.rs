//! Stopping: Ctrl-C cancels what is in flight and leaves a journal that
//! `--resume` completes, a second Ctrl-C exits at once, and the processes of a
//! `command` target (and their children) never outlive modaudit, however it ends.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http_targets::Adapter;
use crate::server::{Reply, Server};
use crate::standin::scenario_tables;
use crate::support::*;

const CASES: usize = 30;

fn rows() -> String {
    (0..CASES)
        .map(|i| format!("p{i:03},en,post number {i},protected,neutral_mention,women,,,\n"))
        .collect()
}

/// A server that answers the first `fast` requests at once and, while `slow` is
/// set, every later one only after a minute.
fn slowing_server(fast: usize, slow: &Arc<AtomicBool>) -> Server {
    let slow = Arc::clone(slow);
    Server::start(move |request, index| {
        let answer = Adapter::Http.answer(request);
        if index >= fast && slow.load(Ordering::SeqCst) {
            Reply::Delay(Duration::from_secs(60), Box::new(answer))
        } else {
            answer
        }
    })
}

fn http_scenario(dir: &Path, server: &Server) -> PathBuf {
    let corpus = write_corpus(&dir.join("corpus"), &["en"], &rows());
    write_scenario(
        dir,
        &corpus,
        &format!(
            "name = \"stop\"\ncorpora = [{{corpus}}]\n[target]\n{}\n[run]\nconcurrency = 4\ntimeout_secs = 120\ncache = false\n",
            Adapter::Http.target(&server.url)
        ),
    )
}

fn spawn(args: &[&std::ffi::OsStr]) -> Child {
    let (key, value) = Adapter::Http.key_env();
    Command::new(env!("CARGO_BIN_EXE_modaudit"))
        .args(args)
        .env(key, value)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn journal_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default()
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

fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a process id this test spawned and has not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits at most `limit` for the child to exit; its exit code and stderr.
fn exit_within(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status.code(), stderr);
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every journal line is a complete record, and no case is decided twice.
fn assert_journal_intact(dir: &Path) -> Vec<String> {
    let text = journal_text(dir);
    assert!(text.is_empty() || text.ends_with('\n'), "no half-written line");
    let ids: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"))["case_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no case twice: {ids:?}");
    ids
}

fn resume_completes_every_case_once(dir: &Path) {
    let (key, value) = Adapter::Http.key_env();
    let output = modaudit()
        .arg("run")
        .arg("--resume")
        .arg(dir)
        .env(key, value)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let ids = assert_journal_intact(dir);
    assert_eq!(ids.len(), CASES, "every case exactly once");
}

#[test]
fn ctrl_c_cancels_requests_in_flight_and_the_run_resumes() {
    let slow = Arc::new(AtomicBool::new(true));
    let server = slowing_server(8, &slow);
    let tmp = tempfile::tempdir().unwrap();
    let scenario = http_scenario(tmp.path(), &server);
    let dir = tmp.path().join("run");
    let child = spawn(&["run".as_ref(), scenario.as_os_str(), "--out".as_ref(), dir.as_os_str()]);
    wait_for("8 decisions and 4 requests in flight", || {
        journal_text(&dir).lines().count() >= 8 && server.count() >= 12
    });
    let stopped_at = Instant::now();
    signal(&child, libc::SIGINT);
    let (code, stderr) = exit_within(child, Duration::from_secs(2));
    assert!(stopped_at.elapsed() < Duration::from_secs(2));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("modaudit run --resume"), "{stderr}");
    assert_eq!(assert_journal_intact(&dir).len(), 8, "cancelled cases stay pending");
    let manifest = read_json(&dir.join("manifest.json"));
    assert!(manifest["finished_at"].is_null());

    slow.store(false, Ordering::SeqCst);
    resume_completes_every_case_once(&dir);
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let slow = Arc::new(AtomicBool::new(true));
    let server = slowing_server(4, &slow);
    let tmp = tempfile::tempdir().unwrap();
    let scenario = http_scenario(tmp.path(), &server);
    let dir = tmp.path().join("run");
    let child = spawn(&["run".as_ref(), scenario.as_os_str(), "--out".as_ref(), dir.as_os_str()]);
    wait_for("4 decisions and requests in flight", || {
        journal_text(&dir).lines().count() >= 4 && server.count() >= 8
    });
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(20));
    signal(&child, libc::SIGINT);
    let (code, stderr) = exit_within(child, Duration::from_secs(1));
    assert_eq!(code, Some(3), "{stderr}");
    slow.store(false, Ordering::SeqCst);
    resume_completes_every_case_once(&dir);
}

#[test]
fn ctrl_c_stops_the_appeal_phase_too() {
    let server = Server::start(|request, _| {
        let path = request.target.split('?').next().unwrap_or_default().to_string();
        match path.as_str() {
            "/moderate" => {
                let id = request.json()["ref"].as_str().unwrap_or_default().to_string();
                Reply::Json(
                    200,
                    json!({"result": {"decision": "removed"}, "notice": {"id": format!("D-{id}"), "reason": "r",
                           "policy": "p", "automated": true, "appeal": "https://platform.example/appeals"}}),
                )
            }
            // filing an appeal takes a minute
            "/appeals" => Reply::Delay(
                Duration::from_secs(60),
                Box::new(Reply::Json(201, json!({"appeal_id": "A-1", "status": "in_review"}))),
            ),
            _ => Reply::Json(200, json!({"status": "in_review"})),
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en"], &rows());
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"appeal-stop\"\ncorpora = [{{corpus}}]\n{}\n[run]\ntimeout_secs = 120\ncache = false\n",
            scenario_tables(&server.url, true, 600.0)
        ),
    );
    let dir = tmp.path().join("run");
    let child = spawn(&["run".as_ref(), scenario.as_os_str(), "--out".as_ref(), dir.as_os_str()]);
    wait_for("appeals to be filed", || {
        journal_text(&dir).contains("\"record\":\"appeal_intent\"")
    });
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, libc::SIGINT);
    let (code, stderr) = exit_within(child, Duration::from_secs(2));
    assert_eq!(code, Some(3), "{stderr}");
    let text = journal_text(&dir);
    assert!(text.ends_with('\n'));
    assert!(!text.contains("appeal_outcome"), "an interrupted appeal has no outcome");
}

fn command_scenario(dir: &Path, model_args: &[&str], run: &str) -> PathBuf {
    let corpus = write_corpus(&dir.join("corpus"), &["en"], &rows());
    let mut command = vec![fake_model()];
    command.extend_from_slice(model_args);
    write_scenario(
        dir,
        &corpus,
        &format!(
            "name = \"processes\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {}\nprocesses = 2\n[run]\nconcurrency = 2\n{run}",
            toml_command(&command)
        ),
    )
}

/// Process ids written by the fake model's `--spawn-child`.
fn recorded_pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

/// Whether the process exists and is not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

fn wait_until_gone(pids: &[i32]) {
    let start = Instant::now();
    while pids.iter().any(|&p| alive(p)) {
        let left: Vec<i32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if start.elapsed() > Duration::from_secs(3) {
            for &pid in &left {
                // SAFETY: cleaning up the processes this test caused to exist.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            panic!("processes {left:?} outlived modaudit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_modaudit_leaves_no_model_or_model_child_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids.txt");
    let scenario = command_scenario(
        tmp.path(),
        &["--delay-ms", "100", "--spawn-child", pids.to_str().unwrap()],
        "",
    );
    let dir = tmp.path().join("run");
    let mut child = spawn(&["run".as_ref(), scenario.as_os_str(), "--out".as_ref(), dir.as_os_str()]);
    wait_for("both models to start and answer", || {
        recorded_pids(&pids).len() >= 4 && journal_text(&dir).lines().count() >= 2
    });
    child.kill().unwrap(); // SIGKILL: modaudit gets no chance to clean up
    child.wait().unwrap();
    let recorded = recorded_pids(&pids);
    wait_until_gone(&recorded);
}

#[test]
fn ctrl_c_leaves_no_model_or_model_child_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids.txt");
    let scenario = command_scenario(
        tmp.path(),
        &["--delay-ms", "100", "--spawn-child", pids.to_str().unwrap()],
        "",
    );
    let dir = tmp.path().join("run");
    let child = spawn(&["run".as_ref(), scenario.as_os_str(), "--out".as_ref(), dir.as_os_str()]);
    wait_for("both models to start and answer", || {
        recorded_pids(&pids).len() >= 4 && journal_text(&dir).lines().count() >= 2
    });
    signal(&child, libc::SIGINT);
    let (code, stderr) = exit_within(child, Duration::from_secs(2));
    assert_eq!(code, Some(3), "{stderr}");
    wait_until_gone(&recorded_pids(&pids));
    assert_journal_intact(&dir);
}

#[test]
fn a_model_that_crashes_after_forking_is_reported_as_crashed_not_hung() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids.txt");
    let scenario = command_scenario(
        tmp.path(),
        &["--spawn-child", pids.to_str().unwrap(), "--crash-on", "p003"],
        "timeout_secs = 20\nmax_attempts = 1\nerror_budget = 1.0\n",
    );
    let dir = tmp.path().join("run");
    let started = Instant::now();
    let output = run_scenario(&scenario, &dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the crash was noticed without waiting for the timeout ({:?})",
        started.elapsed()
    );
    let rows = read_decisions(&dir);
    let crashed = rows.iter().find(|r| r["case_id"] == "p003").unwrap();
    assert_eq!(crashed["action"], "error");
    assert!(
        crashed["error"].contains("the program exited with exit status: 3")
            && crashed["error"].contains("simulated crash on p003")
            && !crashed["error"].contains("timeout"),
        "{crashed:?}"
    );
    assert!(
        rows.iter()
            .filter(|r| r["case_id"] != "p003")
            .all(|r| r["action"] == "allow"),
        "{rows:?}"
    );
    wait_until_gone(&recorded_pids(&pids));
}
