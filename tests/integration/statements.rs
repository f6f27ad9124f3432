//! Statements of reasons (EU DSA Transparency Database format), checked field by field.

use crate::standin::{Behaviour, StandIn, scenario_tables};
use crate::support::*;

fn fixture(name: &str) -> std::path::PathBuf {
    repo().join("tests/fixtures/statements").join(name)
}

#[test]
fn a_clean_file_passes() {
    let output = modaudit()
        .args(["statements", "check"])
        .arg(fixture("clean.csv"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("2 of 2 statements of reasons are complete and valid"),
        "{text}"
    );
    assert!(text.contains("automated_detection: No 1, Yes 1"), "{text}");
}

#[test]
fn missing_and_invalid_fields_are_reported_field_by_field() {
    let output = modaudit()
        .args(["statements", "check", "--json"])
        .arg(fixture("broken.jsonl"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (report["statements"].as_u64(), report["valid"].as_u64()),
        (Some(2), Some(0))
    );
    let field = |name: &str| {
        report["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        (
            field("automated_detection")["missing"].as_u64(),
            field("automated_detection")["invalid"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert!(
        field("automated_detection")["examples"][0]
            .as_str()
            .unwrap()
            .starts_with("line 1: missing")
    );
    assert_eq!(field("decision_visibility")["invalid"], 1);
    assert_eq!(
        field("illegal_content_legal_ground")["missing"],
        1,
        "required with DECISION_GROUND_ILLEGAL_CONTENT"
    );
    assert_eq!(field("illegal_content_explanation")["missing"], 1);
    assert_eq!(field("content_date")["invalid"], 1);
    assert_eq!(field("puid")["invalid"], 1);
    assert_eq!(field("territorial_scope")["invalid"], 1);
    assert!(
        field("territorial_scope")["examples"][0]
            .as_str()
            .unwrap()
            .contains("`US` is not an allowed value")
    );
    let text = modaudit()
        .args(["statements", "check"])
        .arg(fixture("broken.jsonl"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("0 of 2 statements of reasons are complete and valid"),
        "{text}"
    );
    assert!(text.contains("problems by field:"), "{text}");
}

#[test]
fn an_unreadable_file_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("s.json");
    std::fs::write(&path, "{not json").unwrap();
    let output = modaudit().args(["statements", "check"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("s.json: not valid JSON"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn statements_join_to_a_run_and_appear_in_its_report() {
    let standin = StandIn::start(Behaviour {
        appeal_route: false,
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en", "es"],
        "en-w00,en,quoting 'kill them' to condemn it,protected,counter_speech,refugees,,,\n\
         es-w03,es,citar 'kill them' para condenarlo,protected,counter_speech,refugees,,,\n\
         en-w01,en,'kill' quoted again to condemn it,protected,counter_speech,women,,,\n\
         en-a00,en,an ordinary post,protected,neutral_mention,women,,,\n",
    );
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"sor\"\ncorpora = [{{corpus}}]\n{}\n[statements]\nfile = {}\n[run]\ncache = false\n",
            scenario_tables(standin.url(), false, 5.0),
            toml_string(&fixture("clean.csv").display().to_string())
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let join = &results["appeal"]["statements"]["join"];
    assert_eq!(
        (join["decisions_with_id"].as_u64(), join["matched"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(join["decisions_without_statement"], 1);
    let item = results["appeal"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == "Art. 17 / 24(5)")
        .unwrap()
        .clone();
    assert_eq!(item["status"], "met");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Statements of reasons"), "{md}");
    let output = modaudit()
        .args(["statements", "check", "--run"])
        .arg(&out)
        .arg(fixture("clean.csv"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("joined to the run: 2 of 3 adverse decisions with an id have a statement")
    );
}
