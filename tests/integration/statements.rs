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

/// Columns of a statement in the Transparency Database's daily CSV dumps, which
/// name the platform's decision id `platform_uid` and add `created_at`.
const DUMP_HEADER: &str = "uuid,decision_visibility,decision_ground,incompatible_content_ground,incompatible_content_explanation,incompatible_content_illegal,content_type,category,category_addition,content_date,application_date,decision_facts,source_type,automated_detection,automated_decision,platform_name,platform_uid,created_at\n";

/// One dump row: a complete statement in `category` (and `addition`), created at `created_at`.
fn dump_row(uid: &str, category: &str, addition: &str, created_at: &str) -> String {
    let day = &created_at[..10];
    format!(
        "{uid}-u,\"[\"\"DECISION_VISIBILITY_CONTENT_REMOVED\"\"]\",DECISION_GROUND_INCOMPATIBLE_CONTENT,Rule 4,Removed under rule 4.,No,\"[\"\"CONTENT_TYPE_TEXT\"\"]\",{category},\"[{addition}]\",{day} 00:00:00,{day} 00:00:00,Detected by a classifier.,SOURCE_VOLUNTARY,Yes,AUTOMATED_DECISION_FULLY,Example,{uid},{created_at}\n"
    )
}

fn check_json(path: &std::path::Path, run: Option<&std::path::Path>) -> (Option<i32>, serde_json::Value) {
    let mut command = modaudit();
    command.args(["statements", "check", "--json"]);
    if let Some(run) = run {
        command.arg("--run").arg(run);
    }
    let output = command.arg(path).output().unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", stderr_of(&output)));
    (output.status.code(), report)
}

fn issues(report: &serde_json::Value, field: &str) -> Vec<String> {
    report["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["field"] == field)
        .flat_map(|f| f["examples"].as_array().unwrap().iter())
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn dumps_name_the_decision_id_platform_uid_and_join_by_it() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "r1,en,post one,protected,counter_speech,women,,,\n\
         r2,en,post two,protected,counter_speech,women,,,\n",
    );
    std::fs::write(
        tmp.path().join("decisions.csv"),
        "id,action,ticket\nr1,remove,D-1\nr2,remove,D-2\n",
    )
    .unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"dump\"\ncorpora = [{corpus}]\n[target]\nkind = \"replay\"\nfile = \"decisions.csv\"\ncolumns = { decision_id = \"ticket\" }\n",
    );
    let run = tmp.path().join("run");
    let output = run_scenario(&scenario, &run);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));

    let dump = tmp.path().join("sor-global-2025-08-02-full.csv");
    std::fs::write(
        &dump,
        format!(
            "{DUMP_HEADER}{}{}",
            dump_row(
                "D-1",
                "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
                "",
                "2025-08-02 10:11:12"
            ),
            dump_row(
                "D-9",
                "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
                "",
                "2025-08-02 10:11:13"
            ),
        ),
    )
    .unwrap();
    let (code, report) = check_json(&dump, Some(&run));
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        (report["statements"].as_u64(), report["valid"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(issues(&report, "puid").is_empty(), "{report}");
    let join = &report["join"];
    assert_eq!(
        (join["decisions_with_id"].as_u64(), join["matched"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(join["statements_without_decision"], 1);
}

#[test]
fn each_statement_is_checked_against_the_schema_in_force_when_it_was_created() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("sor.csv");
    let rows = [
        // before 1 July 2025: the earlier categories
        dump_row(
            "A-1",
            "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
            "",
            "2024-03-10 14:03:22",
        ),
        dump_row(
            "A-2",
            "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
            "\"\"STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS\"\"",
            "2025-06-30 23:59:59",
        ),
        dump_row("A-3", "STATEMENT_CATEGORY_CYBER_VIOLENCE", "", "2024-03-10 14:03:22"),
        // from 1 July 2025: the current categories
        dump_row(
            "B-1",
            "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
            "",
            "2025-07-01 00:00:00",
        ),
        dump_row(
            "B-2",
            "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
            "\"\"STATEMENT_CATEGORY_CONSUMER_INFORMATION\"\"",
            "2025-09-15 08:00:00",
        ),
        dump_row(
            "B-3",
            "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
            "\"\"STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE\"\"",
            "2025-09-15 08:00:00",
        ),
    ];
    std::fs::write(&dump, format!("{DUMP_HEADER}{}", rows.concat())).unwrap();
    let (code, report) = check_json(&dump, None);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(
        (report["statements"].as_u64(), report["valid"].as_u64()),
        (Some(6), Some(4)),
        "{report}"
    );
    assert_eq!(
        issues(&report, "category"),
        [
            "line 4: `STATEMENT_CATEGORY_CYBER_VIOLENCE` is not an allowed value for a statement created before 2025-07-01",
            "line 7: `STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR` is not an allowed value for a statement created from 2025-07-01",
        ]
    );
    assert_eq!(
        issues(&report, "category_addition"),
        [
            "line 7: `STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE` is not an allowed value for a statement created from 2025-07-01"
        ]
    );
    assert_eq!(report["schemas"]["before 2025-07-01"], 3, "{report}");
    assert_eq!(report["schemas"]["from 2025-07-01"], 3, "{report}");

    let text = modaudit().args(["statements", "check"]).arg(&dump).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("schema in force at created_at: before 2025-07-01 3, from 2025-07-01 3"),
        "{text}"
    );
}

#[test]
fn a_statement_without_a_creation_time_is_checked_against_the_current_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("sor.csv");
    let header = DUMP_HEADER.replace(",created_at", "");
    let row = |uid: &str, category: &str| {
        let full = dump_row(uid, category, "", "2025-09-15 08:00:00");
        full.trim_end()
            .trim_end_matches("2025-09-15 08:00:00")
            .trim_end_matches(',')
            .to_string()
            + "\n"
    };
    std::fs::write(
        &path,
        format!(
            "{header}{}{}",
            row("C-1", "STATEMENT_CATEGORY_CYBER_VIOLENCE"),
            row("C-2", "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE")
        ),
    )
    .unwrap();
    let (_, report) = check_json(&path, None);
    assert_eq!(report["valid"], 1, "{report}");
    assert_eq!(report["schemas"]["from 2025-07-01"], 2, "{report}");

    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{DUMP_HEADER}{}",
            dump_row("D-1", "STATEMENT_CATEGORY_VIOLENCE", "", "yesterday at noon")
        ),
    )
    .unwrap();
    let (_, report) = check_json(&bad, None);
    assert_eq!(
        issues(&report, "created_at"),
        ["line 2: `yesterday at noon` is not a YYYY-MM-DD date (a time may follow)"]
    );
}
