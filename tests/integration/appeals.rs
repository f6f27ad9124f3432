//! The appeal-path audit against the stand-in platform, each branch against a
//! known truth.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::standin::{Behaviour, StandIn, scenario_tables_with};
use crate::support::*;

/// 60 wrongful removals (protected counter-speech that quotes "kill"), 20 in
/// each of English, Spanish and Arabic, beside allowed posts and violating ones.
pub fn corpus(dir: &Path) -> PathBuf {
    corpus_with(dir, &[("en", 20), ("es", 20), ("ar", 20)])
}

/// For each language, that many wrongful removals (numbered from 0, target
/// groups in turn), 20 protected posts the stand-in keeps and 5 violating posts.
fn corpus_with(dir: &Path, wrongful: &[(&str, usize)]) -> PathBuf {
    let quote = |lang: &str| match lang {
        "en" => "Writing 'kill them all' under a refugee's post is a call to violence and must be reported",
        "es" => "Escribir 'kill them' bajo el post de una refugiada es una llamada a la violencia",
        _ => "كتابة 'kill them' تحت منشور لاجئة دعوة إلى العنف ويجب الإبلاغ عنها",
    };
    let mut rows = String::new();
    for &(lang, count) in wrongful {
        for i in 0..count {
            let group = ["refugees", "women", "muslims", "lgbtq"][i % 4];
            rows.push_str(&format!(
                "{lang}-w{i:02},{lang},\"{} ({i})\",protected,counter_speech,{group},,,\n",
                quote(lang)
            ));
        }
        for i in 0..20 {
            let group = ["refugees", "women", "muslims", "lgbtq"][i % 4];
            rows.push_str(&format!("{lang}-a{i:02},{lang},\"An ordinary post about the weather ({i})\",protected,neutral_mention,{group},,,\n"));
        }
        for i in 0..5 {
            rows.push_str(&format!("{lang}-v{i:02},{lang},\"They are vermin and we will exterminate them ({i})\",violating,threat,refugees,,,\n"));
        }
    }
    let languages: Vec<&str> = wrongful.iter().map(|(lang, _)| *lang).collect();
    write_corpus(dir, &languages, &rows)
}

fn scenario(dir: &Path, standin: &StandIn, with_appeal: bool, deadline: f64, extra: &str) -> PathBuf {
    scenario_with(
        dir,
        standin,
        corpus(&dir.join("corpus")),
        (with_appeal, deadline, ""),
        extra,
    )
}

/// A scenario against the stand-in: `(with_appeal, deadline, keys of [appeal])`,
/// `extra` tables after `[analysis] min_n = 5`.
pub fn scenario_with(
    dir: &Path,
    standin: &StandIn,
    corpus: PathBuf,
    (with_appeal, deadline, appeal_keys): (bool, f64, &str),
    extra: &str,
) -> PathBuf {
    write_scenario(
        dir,
        &corpus,
        &format!(
            "name = \"appeals\"\ncorpora = [{{corpus}}]\n{}\n[run]\nconcurrency = 8\ncache = false\n[analysis]\nmin_n = 5\n{extra}",
            scenario_tables_with(standin.url(), with_appeal, deadline, appeal_keys)
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
        md.contains("Appeals of protected posts in Arabic took 3."),
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
fn a_throttled_appeal_api_uses_up_no_attempt() {
    // every 4th request to the appeal API is answered 429; one attempt per request
    let standin = StandIn::start(Behaviour {
        appeal_429_every: 4,
        decide_after: Duration::from_millis(100),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario_with(
        tmp.path(),
        &standin,
        corpus_with(&tmp.path().join("corpus"), &[("en", 6)]),
        (true, 5.0, ""),
        "",
    );
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("[run]\n", "[run]\nmax_attempts = 1\n");
    std::fs::write(&scenario, text).unwrap();
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(
        standin.rate_limited() >= 2,
        "{} answers were 429",
        standin.rate_limited()
    );
    let probe = read_json(&out.join("results.json"))["appeal"]["probe"].clone();
    assert_eq!(probe["selected"], 6, "{probe}");
    assert_eq!(probe["failed"], 0, "{probe}");
    assert_eq!(probe["filed"], 6, "{probe}");
    assert_eq!(probe["decided"], 6, "{probe}");
}

#[test]
fn edited_variants_are_never_appealed() {
    // quoted-to-condemn variants of the violating posts are protected and the
    // stand-in removes them, but they were never posted: nothing to appeal
    let standin = StandIn::start(Behaviour {
        decide_after: Duration::from_millis(50),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario_with(
        tmp.path(),
        &standin,
        corpus_with(&tmp.path().join("corpus"), &[("en", 4)]),
        (true, 5.0, ""),
        "[perturb]\ntransforms = [\"quote_condemn\"]\n",
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let variants_removed = read_decisions(&out)
        .iter()
        .filter(|r| r["case_id"].contains('~') && r["action"] == "remove")
        .count();
    assert!(variants_removed > 0, "the test needs removed variants");
    let appealed = intents(&out);
    assert_eq!(appealed.len(), 4, "{appealed:?}");
    assert!(appealed.iter().all(|id| !id.contains('~')), "{appealed:?}");
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
    let refusing = RefusingPort::new();
    let output = modaudit()
        .env("APPEALS_HOST", refusing.host())
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

/// The checklist item whose text contains `text`.
fn checklist_item(results: &Value, text: &str) -> Value {
    results["appeal"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"].as_str().unwrap().contains(text))
        .unwrap_or_else(|| panic!("no checklist item {text}"))
        .clone()
}

/// The appeal slice of one group.
fn appeal_slice(probe: &Value, dimension: &str, value: &str) -> Value {
    probe["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dimension"] == dimension && s["value"] == value)
        .unwrap_or_else(|| panic!("no slice {dimension} {value}"))
        .clone()
}

/// Case ids the run filed an intent to appeal for, sorted.
fn intents(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = appeal_records(dir)
        .iter()
        .filter(|r| r["record"] == "appeal_intent")
        .map(|r| r["case_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn appeals_undecided_at_the_deadline_are_censored_and_keep_their_language_in_the_tests() {
    // English appeals take 20 × 0.3 s = 6 s, past the 2 s deadline: all 20 are pending.
    let standin = StandIn::start(Behaviour {
        slow_language: Some(("en", 20)),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(tmp.path(), &standin, true, 2.0, "");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let probe = &results["appeal"]["probe"];
    assert_eq!(
        (probe["decided"].as_u64(), probe["pending_at_deadline"].as_u64()),
        (Some(40), Some(20))
    );

    let overall = &probe["time_to_decision"];
    assert_eq!(overall["n"], 60, "{overall}");
    assert_eq!(overall["events"], 40, "{overall}");
    assert_eq!(overall["censored"], 20, "{overall}");
    let median = overall["median_secs"].as_f64().unwrap();
    assert!(
        (0.2..0.6).contains(&median),
        "two thirds decided at about 0.3 s: {median}"
    );
    assert!(
        overall["p90_secs"].is_null(),
        "a third of the appeals were undecided at the deadline, so 90 % were not decided by then: {overall}"
    );
    let english = appeal_slice(probe, "language", "en");
    let time = &english["time_to_decision"];
    assert_eq!(
        (time["events"].as_u64(), time["censored"].as_u64()),
        (Some(0), Some(20)),
        "{time}"
    );
    assert!(time["median_secs"].is_null() && time["p90_secs"].is_null(), "{time}");
    assert_eq!(english["followed"], 20, "{english}");
    assert_eq!(english["reversal_within_deadline"], 0.0, "{english}");
    assert!(
        english["reversal_rate"].is_null(),
        "no English appeal was decided: {english}"
    );

    let english_time = probe["disparities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == "language" && d["group"] == "en" && d["measure"] == "time_to_decision")
        .expect("English is compared on time to decision, censored appeals included")
        .clone();
    assert_eq!(english_time["test"], "log_rank", "{english_time}");
    assert_eq!(english_time["direction"], "higher", "{english_time}");
    assert_eq!(english_time["significant"], true, "{english_time}");
    assert!(
        english_time["value"].is_null(),
        "the English median was not reached: {english_time}"
    );

    let item = checklist_item(&results, "without discrimination");
    assert_ne!(item["status"], "met", "{item}");
    assert_eq!(item["status"], "not_met", "{item}");
    assert!(item["evidence"].as_str().unwrap().contains("language en"), "{item}");
    let timely = checklist_item(&results, "timely manner");
    assert_eq!(timely["status"], "not_met", "{timely}");
    assert!(
        timely["evidence"]
            .as_str()
            .unwrap()
            .contains("90th percentile more than 2.0 s"),
        "{timely}"
    );

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| Language: English"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        row.contains("| more than 2.0 s | more than 2.0 s | none decided |"),
        "the English median is past the deadline: {row}"
    );
    assert!(
        md.contains("| Time to decision, 90th percentile | more than 2.0 s |"),
        "the overall 90th percentile is not understated: {md}"
    );
}

#[test]
fn max_appeals_draws_a_seeded_sample_stratified_by_language() {
    let standin = StandIn::start(Behaviour {
        decide_after: Duration::from_millis(50),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut chosen = Vec::new();
    for (name, seed) in [("a", 1), ("b", 1), ("c", 2)] {
        let dir = tmp.path().join(name);
        let scenario = scenario_with(
            &dir,
            &standin,
            corpus(&dir.join("corpus")),
            (true, 10.0, "max_appeals = 9"),
            "",
        );
        let text = std::fs::read_to_string(&scenario)
            .unwrap()
            .replace("[run]\n", &format!("[run]\nseed = {seed}\n"));
        std::fs::write(&scenario, text).unwrap();
        let out = dir.join("run");
        let output = run_scenario(&scenario, &out);
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        let results = read_json(&out.join("results.json"));
        let probe = &results["appeal"]["probe"];
        assert_eq!(probe["selected"], 9, "{name}");
        let ids = intents(&out);
        for lang in ["en", "es", "ar"] {
            let n = ids.iter().filter(|id| id.starts_with(&format!("{lang}-"))).count();
            assert_eq!(
                n, 3,
                "{name}: proportional allocation gives each language 3 of 9: {ids:?}"
            );
            assert_eq!(appeal_slice(probe, "language", lang)["selected"], 3, "{name}");
        }
        let sampling = &probe["sampling"];
        assert_eq!(sampling["seed"], seed, "{sampling}");
        assert_eq!(sampling["budget"], 9, "{sampling}");
        assert_eq!(sampling["strata"].as_array().unwrap().len(), 3, "{sampling}");
        let item = checklist_item(&results, "without discrimination");
        assert_eq!(
            item["status"], "not_measurable",
            "3 decided appeals per language: {item}"
        );
        assert!(item["evidence"].as_str().unwrap().contains("fewer than 5"), "{item}");
        chosen.push((out, ids));
    }
    assert_eq!(chosen[0].1, chosen[1].1, "the same seed draws the same sample");
    assert_ne!(chosen[0].1, chosen[2].1, "another seed draws another sample");
    let first_in_corpus_order: Vec<String> = (0..9).map(|i| format!("en-w{i:02}")).collect();
    assert_ne!(chosen[0].1, first_in_corpus_order);

    // a resumed run selects the same appeals: it files none beyond them
    let (out, ids) = &chosen[0];
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let lost = &ids[..2];
    let kept: Vec<&str> = journal
        .lines()
        .filter(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            !(r["record"] == "appeal_outcome" && lost.iter().any(|id| r["case_id"] == id.as_str()))
        })
        .collect();
    std::fs::write(out.join("journal.jsonl"), kept.join("\n") + "\n").unwrap();
    let output = modaudit().arg("run").arg("--resume").arg(out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(&intents(out), ids);
    let probe = &read_json(&out.join("results.json"))["appeal"]["probe"];
    assert_eq!(
        (probe["selected"].as_u64(), probe["decided"].as_u64()),
        (Some(9), Some(9))
    );
}

#[test]
fn a_language_with_nothing_to_appeal_is_named_and_does_not_block_the_checklist() {
    let standin = StandIn::start(Behaviour::default());
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus_with(&tmp.path().join("corpus"), &[("en", 20), ("es", 0), ("ar", 20)]);
    // a strict α: the stand-in treats every language alike, so no comparison may be significant by chance
    let scenario = scenario_with(tmp.path(), &standin, corpus, (true, 10.0, ""), "alpha = 0.0001\n");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let spanish = appeal_slice(&results["appeal"]["probe"], "language", "es");
    assert_eq!(spanish["wrongful_removals"], 0, "{spanish}");
    let item = checklist_item(&results, "without discrimination");
    assert_eq!(item["status"], "met", "{item}");
    assert!(
        item["evidence"]
            .as_str()
            .unwrap()
            .contains("language es had no wrongful removals"),
        "{item}"
    );
}

#[test]
fn a_language_left_out_of_the_sample_makes_discrimination_not_measurable() {
    let standin = StandIn::start(Behaviour {
        decide_after: Duration::from_millis(50),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus_with(&tmp.path().join("corpus"), &[("en", 20), ("es", 20), ("ar", 1)]);
    let scenario = scenario_with(tmp.path(), &standin, corpus, (true, 10.0, "max_appeals = 2"), "");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let arabic = appeal_slice(&results["appeal"]["probe"], "language", "ar");
    assert_eq!(
        (arabic["wrongful_removals"].as_u64(), arabic["selected"].as_u64()),
        (Some(1), Some(0))
    );
    let item = checklist_item(&results, "without discrimination");
    assert_eq!(item["status"], "not_measurable", "{item}");
    assert!(item["evidence"].as_str().unwrap().contains("language ar"), "{item}");
}

/// The appeal sections of every format from fixed decisions and a fixed appeal
/// journal: English appeals take days and a third are still pending at the
/// one-week deadline; Arabic appeals are decided within hours.
mod snapshot {
    use chrono::{DateTime, Duration, Utc};
    use modaudit::appeal::{AppealFiled, AppealIndex, AppealOutcome, AppealResult, AppealState};
    use modaudit::corpus::Label;
    use modaudit::decision::{Action, Decision, DecisionDetails, DecisionIndex, Notice, OptionalScore};
    use modaudit::report::{Report, build_report, render_markdown};
    use modaudit::run::{RunManifest, ScenarioRecord, build_target};
    use modaudit::scenario::Plan;
    use serde_json::Value;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    fn report() -> Report {
        let plan = Plan::load(&crate::support::repo().join("tests/fixtures/appeals-snapshot/scenario.toml")).unwrap();
        let manifest = RunManifest {
            tool: "modaudit".into(),
            tool_version: "0.0.0-snapshot".into(),
            run_id: "appeals-snapshot".into(),
            scenario: ScenarioRecord {
                name: plan.name.clone(),
                path: "scenario.toml".into(),
                sha256: plan.scenario.sha256.clone(),
            },
            corpora: plan.corpora.clone(),
            taxonomy: None,
            target: build_target(&plan).unwrap().info(),
            seed: 0,
            idempotency_secret: Some("5e".repeat(32)),
            cases: plan.cases.len() as u64,
            started_at: at(0),
            resumed_at: Vec::new(),
            finished_at: Some(at(700_000)),
            rate_limiting: None,
            outputs: Default::default(),
            score_rule: None,
            threshold_override: None,
            sharding: None,
        };
        let mut decisions = DecisionIndex::default();
        let mut appeals = AppealIndex::new();
        for (i, case) in plan.cases.iter().enumerate() {
            let removed = case.label == Label::Violating || i % 2 == 0;
            let action = if removed { Action::Remove } else { Action::Allow };
            decisions.insert(
                case.id.to_string(),
                Decision {
                    action,
                    score: OptionalScore::NONE,
                    latency_ms: 5,
                    attempts: 1,
                    cache_hit: false,
                    details: DecisionDetails {
                        notice: Notice {
                            decision_id: removed.then(|| format!("d{i}")),
                            reason: removed.then(|| "hate speech".into()),
                            appeal_url: removed.then(|| "https://appeals.invalid".into()),
                            ..Notice::default()
                        },
                        ..DecisionDetails::default()
                    }
                    .boxed(),
                },
            );
            if !removed || case.label != Label::Protected {
                continue;
            }
            let filed_at = at(100 + i as i64);
            let (result, seconds) = match case.lang.as_str() {
                "en" if i % 3 == 0 => (AppealResult::Pending, None),
                "en" => (
                    if i % 5 < 2 {
                        AppealResult::Reversed
                    } else {
                        AppealResult::Upheld
                    },
                    Some(86_400 * (1 + i as i64 % 5)),
                ),
                _ => (
                    if i % 5 < 2 {
                        AppealResult::Reversed
                    } else {
                        AppealResult::Upheld
                    },
                    Some(600 * (1 + i as i64 % 7)),
                ),
            };
            let observed_at = filed_at + Duration::seconds(seconds.unwrap_or(604_800 + 30));
            appeals.insert(
                case.id.to_string(),
                AppealState {
                    intent: None,
                    filed: Some(AppealFiled {
                        case_id: case.id.to_string(),
                        appeal_id: format!("A-{i}"),
                        filed_at,
                        response: None,
                    }),
                    outcome: Some(AppealOutcome {
                        case_id: case.id.to_string(),
                        result,
                        decided_at: seconds.map(|_| observed_at),
                        observed_at,
                        seconds: seconds.map(|s| s as f64),
                        reason: seconds.map(|_| "reviewed".into()),
                        error: None,
                        response: None,
                    }),
                },
            );
        }
        build_report(&plan, &manifest, &decisions, &appeals, None)
    }

    /// Replaces each Kaplan–Meier curve by its number of points (the curves are
    /// checked against lifelines in the unit tests).
    fn without_curves(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(points)) = map.get("curve") {
                    let n = points.len();
                    map.insert("curve".into(), Value::String(format!("{n} points")));
                }
                map.values_mut().for_each(without_curves);
            }
            Value::Array(items) => items.iter_mut().for_each(without_curves),
            _ => {}
        }
    }

    #[test]
    fn appeal_sections_markdown() {
        let md = render_markdown(&report());
        let start = md.find("## Appeals").expect("an appeals section");
        let end = md.find("## Gates").expect("a gates section");
        insta::assert_snapshot!(&md[start..end]);
    }

    #[test]
    fn appeal_probe_json() {
        let mut probe = serde_json::to_value(&report().appeal.probe).unwrap();
        without_curves(&mut probe);
        insta::assert_snapshot!(serde_json::to_string_pretty(&probe).unwrap());
    }
}
