//! The appeal-path audit against the stand-in platform, each branch against a
//! known truth.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::standin::{Behaviour, StandIn, scenario_tables};
use crate::support::*;

/// 60 wrongful removals (protected counter-speech that quotes "kill"), 20 in
/// each of English, Spanish and Arabic, beside allowed posts and violating ones.
fn corpus(dir: &Path) -> PathBuf {
    let mut rows = String::new();
    for (lang, text) in [
        (
            "en",
            "Writing 'kill them all' under a refugee's post is a call to violence and must be reported",
        ),
        (
            "es",
            "Escribir 'kill them' bajo el post de una refugiada es una llamada a la violencia",
        ),
        ("ar", "كتابة 'kill them' تحت منشور لاجئة دعوة إلى العنف ويجب الإبلاغ عنها"),
    ] {
        for i in 0..20 {
            let group = ["refugees", "women", "muslims", "lgbtq"][i % 4];
            rows.push_str(&format!(
                "{lang}-w{i:02},{lang},\"{text} ({i})\",protected,counter_speech,{group},,,\n"
            ));
            rows.push_str(&format!("{lang}-a{i:02},{lang},\"An ordinary post about the weather ({i})\",protected,neutral_mention,{group},,,\n"));
        }
        for i in 0..5 {
            rows.push_str(&format!("{lang}-v{i:02},{lang},\"They are vermin and we will exterminate them ({i})\",violating,threat,refugees,,,\n"));
        }
    }
    write_corpus(dir, &["en", "es", "ar"], &rows)
}

fn scenario(dir: &Path, standin: &StandIn, with_appeal: bool, deadline: f64, extra: &str) -> PathBuf {
    let corpus = corpus(&dir.join("corpus"));
    write_scenario(
        dir,
        &corpus,
        &format!(
            "name = \"appeals\"\ncorpora = [{{corpus}}]\n{}\n[run]\nconcurrency = 8\ncache = false\n[analysis]\nmin_n = 5\n{extra}",
            scenario_tables(standin.url(), with_appeal, deadline)
        ),
    )
}

fn appeal_records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["record"].as_str().is_some_and(|k| k.starts_with("appeal")))
        .collect()
}

#[test]
fn reversal_rate_and_a_slower_language_are_measured_against_known_truth() {
    let standin = StandIn::start(Behaviour {
        reverse: (2, 5),
        slow_language: Some(("ar", 3)),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, true, 10.0, "");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let probe = &results["appeal"]["probe"];
    assert_eq!(probe["wrongful_removals"], 60);
    assert_eq!(probe["filed"], 60);
    assert_eq!(probe["decided"], 60);
    assert_eq!(probe["reversed"], 24, "the stand-in reverses exactly 2 in 5");
    let ci = probe["reversal_ci"].as_array().unwrap();
    assert!(
        ci[0].as_f64().unwrap() < 0.40 && 0.40 < ci[1].as_f64().unwrap(),
        "the interval covers 0.40: {ci:?}"
    );
    let arabic = probe["disparities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == "language" && d["group"] == "ar" && d["measure"] == "time_to_decision")
        .expect("a time comparison for Arabic");
    assert_eq!(arabic["significant"], true, "{arabic}");
    let ratio = arabic["ratio"].as_f64().unwrap();
    assert!(
        (2.5..3.5).contains(&ratio),
        "Arabic takes about three times as long: {ratio}"
    );
    let others_slow = probe["disparities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["measure"] == "time_to_decision"
                && d["dimension"] == "language"
                && d["group"] != "ar"
                && d["ratio"].as_f64().unwrap() > 1.0
        })
        .any(|d| d["significant"] == true);
    assert!(!others_slow, "only Arabic is slower");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Appeals"), "{md}");
    assert!(
        md.contains("Appeals in the language group “Arabic” took 3."),
        "the summary flags it: {md}"
    );
    assert!(
        md.contains("24 of the 60 appeals decided reinstated the post (40.0 %"),
        "{md}"
    );
    // every notice element was present, so the notice items are met
    let checklist = results["appeal"]["checklist"].as_array().unwrap();
    let item = |text: &str| {
        checklist
            .iter()
            .find(|i| i["item"].as_str().unwrap().contains(text))
            .unwrap()
            .clone()
    };
    assert_eq!(item("names the specific rule")["status"], "met");
    assert_eq!(item("The appellant is told the result")["status"], "met");
    assert_eq!(item("Decisions found wrong are reversed")["status"], "not_met");
    assert_eq!(item("without discrimination")["status"], "not_met");
    assert!(
        item("without discrimination")["evidence"]
            .as_str()
            .unwrap()
            .contains("language ar")
    );
    assert_eq!(item("free of charge")["status"], "not_measurable");
}

#[test]
fn no_appeal_route_is_reported_as_not_met_in_plain_words() {
    let standin = StandIn::start(Behaviour {
        appeal_route: false,
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, false, 5.0, "[declared]\nfree_of_charge = true\n");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["appeal"]["availability"]["with_appeal_route"], 0);
    let checklist = results["appeal"]["checklist"].as_array().unwrap();
    let item = |text: &str| {
        checklist
            .iter()
            .find(|i| i["item"].as_str().unwrap().contains(text))
            .unwrap()
            .clone()
    };
    for text in [
        "explains how to appeal",
        "Every restriction can be appealed",
        "gives the redress available",
        "available electronically",
        "told the result",
    ] {
        let i = item(text);
        assert_eq!(i["status"], "not_met", "{i}");
        assert_eq!(i["basis"], "measured");
        assert!(!i["evidence"].as_str().unwrap().is_empty());
    }
    assert_eq!(item("Complaints are free of charge")["basis"], "declared");
    assert_eq!(item("Complaints are free of charge")["status"], "met");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let summary = md.split("## What was audited").next().unwrap();
    assert!(
        summary.contains("None of its 75 adverse decisions offered any route to appeal."),
        "{summary}"
    );
    assert!(
        summary.contains("because no route to appeal exists, the appeal items a run can measure"),
        "{summary}"
    );
    assert!(md.contains("| Santa Clara Principles 2.0 | Notice | The notice explains how to appeal | NOT MET | measured | 0 of 75 adverse decisions carried a route to appeal |"), "{md}");
}

#[test]
fn appeals_that_never_resolve_are_pending_at_the_deadline() {
    let standin = StandIn::start(Behaviour {
        never_resolve: true,
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, true, 0.5, "");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["appeal"]["probe"]["pending_at_deadline"], 60);
    assert_eq!(results["appeal"]["probe"]["decided"], 0);
    let timely = results["appeal"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == "Complaints are handled in a timely manner")
        .unwrap()
        .clone();
    assert_eq!(timely["status"], "not_met");
    assert!(
        timely["evidence"]
            .as_str()
            .unwrap()
            .starts_with("60 appeals undecided at the deadline")
    );
}

#[test]
fn a_run_killed_during_the_appeal_phase_files_no_appeal_twice() {
    let standin = StandIn::start(Behaviour {
        decide_after: Duration::from_millis(1500),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, true, 20.0, "");
    let out = tmp.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_modaudit"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(out.join("journal.jsonl"))
        .map_or(0, |s| s.matches("\"record\":\"appeal_filed\"").count())
        < 20
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the appeal phase did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let outcomes_before = appeal_records(&out)
        .iter()
        .filter(|r| r["record"] == "appeal_outcome")
        .count();
    assert!(
        outcomes_before < 60,
        "killed during the appeal phase ({outcomes_before} outcomes recorded)"
    );

    let output = modaudit().arg("run").arg("--resume").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let filed = standin.appeals_per_decision();
    assert_eq!(filed.len(), 60, "every wrongful removal appealed");
    assert!(filed.values().all(|&n| n == 1), "no appeal filed twice: {filed:?}");
    let submissions = standin.submissions_per_decision();
    assert!(
        submissions.values().all(|&n| n <= 2),
        "only an unacknowledged intent is sent again: {submissions:?}"
    );
    let records = appeal_records(&out);
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for r in records.iter().filter(|r| r["record"] == "appeal_outcome") {
        *outcomes.entry(r["case_id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(outcomes.len(), 60);
    assert!(outcomes.values().all(|&n| n == 1), "one outcome per appeal");
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["appeal"]["probe"]["decided"], 60);
    assert_eq!(results["appeal"]["probe"]["reversed"], 24);
}

#[test]
fn an_intent_without_a_filing_is_sent_again_with_the_same_key() {
    let standin = StandIn::start(Behaviour::default());
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, true, 10.0, "");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // As if the run had died after journaling five intents but before the platform's acknowledgement arrived.
    let lost = ["en-w00", "en-w01", "es-w05", "ar-w10", "ar-w19"];
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let kept: Vec<&str> = journal
        .lines()
        .filter(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            let step = r["record"].as_str().unwrap();
            !(matches!(step, "appeal_filed" | "appeal_outcome") && lost.contains(&r["case_id"].as_str().unwrap()))
        })
        .collect();
    std::fs::write(out.join("journal.jsonl"), kept.join("\n") + "\n").unwrap();

    let output = modaudit().arg("run").arg("--resume").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let filed = standin.appeals_per_decision();
    assert!(
        filed.values().all(|&n| n == 1),
        "the platform filed each appeal once: {filed:?}"
    );
    let submissions = standin.submissions_per_decision();
    for id in lost {
        assert_eq!(
            submissions[&format!("D-{id}")],
            2,
            "{id} was sent again, with the same key"
        );
    }
    let records = appeal_records(&out);
    let steps = |id: &str, step: &str| {
        records
            .iter()
            .filter(|r| r["case_id"] == id && r["record"] == step)
            .count()
    };
    for id in lost {
        assert_eq!(
            (
                steps(id, "appeal_intent"),
                steps(id, "appeal_filed"),
                steps(id, "appeal_outcome")
            ),
            (1, 1, 1),
            "{id}"
        );
    }
}

/// The files a run publishes (the journal and the manifest are its evidence, not its report).
const REPORT_FILES: [&str; 5] = ["report.md", "report.html", "results.json", "decisions.csv", "junit.xml"];

#[test]
fn two_audits_in_directories_of_the_same_name_each_file_their_own_appeals() {
    let standin = StandIn::start(Behaviour {
        decide_after: Duration::from_millis(50),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, true, 10.0, "");
    let mut secrets = Vec::new();
    for week in ["a", "b"] {
        let out = tmp.path().join(week).join("audit");
        let output = run_scenario(&scenario, &out);
        assert_eq!(output.status.code(), Some(0), "{week}: {}", stderr_of(&output));
        let probe = &read_json(&out.join("results.json"))["appeal"]["probe"];
        assert_eq!(probe["filed"], 60, "{week}");
        assert_eq!(probe["decided"], 60, "{week}");
        let secret = read_json(&out.join("manifest.json"))["idempotency_secret"]
            .as_str()
            .expect("the manifest records the run's secret")
            .to_string();
        assert_eq!(secret.len(), 64, "32 random bytes, hex: {secret}");
        assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
        for file in REPORT_FILES {
            let text = std::fs::read_to_string(out.join(file)).unwrap();
            assert!(!text.contains(&secret), "{week}/{file} publishes the secret");
        }
        let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
        assert!(!journal.contains(&secret), "only keys derived from it are journaled");
        secrets.push(secret);
    }
    assert_ne!(secrets[0], secrets[1]);
    let filed = standin.appeals_per_decision();
    assert_eq!(filed.len(), 60, "every wrongful removal appealed");
    assert!(
        filed.values().all(|&n| n == 2),
        "each audit filed its own appeal, none was taken for the other's: {filed:?}"
    );

    // a resumed run keeps its secret
    let out = tmp.path().join("a").join("audit");
    let output = modaudit().arg("run").arg("--resume").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        read_json(&out.join("manifest.json"))["idempotency_secret"],
        secrets[0].as_str()
    );
}

/// A loopback address (host:port) where nothing listens.
fn unreachable_host() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("127.0.0.1:{port}")
}

/// Sums a count over the slices of one dimension.
fn slice_sum(probe: &Value, dimension: &str, field: &str) -> u64 {
    probe["slices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["dimension"] == dimension)
        .map(|s| s[field].as_u64().unwrap())
        .sum()
}

#[test]
fn an_unreachable_appeal_api_fails_the_reversal_gate_and_is_retried_on_resume() {
    let standin = StandIn::start(Behaviour {
        decide_after: Duration::from_millis(50),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, true, 10.0, "[gates]\nmin_reversal_rate = 0.3\n");
    // The appeal API's address comes from the environment, so the scenario stays the same when it moves.
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace(&format!("{}/appeals", standin.url()), "http://${APPEALS_HOST}/appeals");
    std::fs::write(&scenario, text).unwrap();
    let out = tmp.path().join("run");
    let output = modaudit()
        .env("APPEALS_HOST", unreachable_host())
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_ne!(
        output.status.code(),
        Some(0),
        "no appeal could be filed, yet the run passed"
    );
    let results = read_json(&out.join("results.json"));
    let probe = &results["appeal"]["probe"];
    assert_eq!(
        (probe["selected"].as_u64(), probe["filed"].as_u64()),
        (Some(60), Some(0))
    );
    assert_eq!(probe["failed"], 60);
    for dimension in ["language", "target_group", "category"] {
        assert_eq!(
            slice_sum(probe, dimension, "filed"),
            0,
            "{dimension} slices agree with the totals"
        );
        assert_eq!(slice_sum(probe, dimension, "selected"), 60, "{dimension}");
    }
    let gate = results["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "min_reversal_rate")
        .unwrap()
        .clone();
    assert_eq!(gate["passed"], false, "{gate}");
    assert_eq!(gate["status"], "not_measurable", "{gate}");
    assert!(gate["detail"].as_str().unwrap().contains("not measurable"), "{gate}");
    assert!(gate["detail"].as_str().unwrap().contains("60 appeals failed"), "{gate}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| min_reversal_rate | 0.3000 | – | NOT MEASURABLE |"),
        "{md}"
    );

    // the API is back: --retry-errors files the failed appeals
    let output = modaudit()
        .env("APPEALS_HOST", standin.url().trim_start_matches("http://"))
        .arg("run")
        .arg("--resume")
        .arg(&out)
        .arg("--retry-errors")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let probe = &read_json(&out.join("results.json"))["appeal"]["probe"];
    assert_eq!(probe["filed"], 60);
    assert_eq!(probe["failed"], 0);
    assert_eq!(probe["decided"], 60);
    assert_eq!(slice_sum(probe, "language", "filed"), 60);
    assert_eq!(slice_sum(probe, "language", "decided"), 60);
    let filed = standin.appeals_per_decision();
    assert_eq!(filed.len(), 60);
    assert!(filed.values().all(|&n| n == 1), "{filed:?}");
}
