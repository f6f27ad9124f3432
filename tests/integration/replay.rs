//! The `replay` target: decisions recorded elsewhere, joined to the corpus by id.

use crate::support::*;

const ROWS: &str = "\
r1,en,post one,protected,counter_speech,women,,,\n\
r2,en,post two,protected,counter_speech,women,,,\n\
r3,en,post three,violating,threat,women,,,\n";

fn replay(
    recording_name: &str,
    recording: &str,
    target_extra: &str,
) -> (Option<i32>, String, std::path::PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    std::fs::write(tmp.path().join(recording_name), recording).unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"replay\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"{recording_name}\"\n{target_extra}\n[run]\nerror_budget = 1.0\n"
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr_of(&output));
    (output.status.code(), text, out, tmp)
}

#[test]
fn recorded_csv_decisions_are_joined_and_gaps_reported() {
    let (code, output, out, _tmp) = replay(
        "decisions.csv",
        "id,action,reason,policy,ticket,automated,appeal\n\
         r1,deleted,Hate speech,HS-2,T-1,AUTOMATED_DECISION_FULLY,https://p.example/a/1\n\
         r3,deleted,Threat,V-1,T-3,AUTOMATED_DECISION_PARTIALLY,\n\
         zz9,kept,,,T-9,,\n",
        "action_map = { deleted = \"remove\", kept = \"allow\" }\ncolumns = { rule = \"policy\", decision_id = \"ticket\", appeal_url = \"appeal\" }",
    );
    assert_eq!(code, Some(0), "{output}");
    let rows: std::collections::HashMap<String, _> = read_decisions(&out)
        .into_iter()
        .map(|r| (r["case_id"].clone(), r))
        .collect();
    assert_eq!(rows["r1"]["action"], "remove");
    assert_eq!(rows["r1"]["rule"], "HS-2");
    assert_eq!(rows["r1"]["decision_id"], "T-1");
    assert_eq!(rows["r1"]["appeal_url"], "https://p.example/a/1");
    assert_eq!(rows["r1"]["automated"], "true");
    assert_eq!(rows["r2"]["action"], "error");
    assert!(rows["r2"]["error"].contains("no recorded decision for this case in"));
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["notice"]["adverse"], 2);
    assert_eq!(results["notice"]["with_appeal_route"], 1);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("1 recorded decisions in"), "unknown ids are reported: {md}");
    assert!(md.contains("zz9"), "{md}");
    assert!(md.contains("1 cases have no recorded decision"), "{md}");
}

#[test]
fn recorded_jsonl_decisions_with_pointers_and_scores() {
    let (code, output, out, _tmp) = replay(
        "decisions.jsonl",
        "{\"case\": \"r1\", \"model\": {\"p\": 0.9}}\n{\"case\": \"r2\", \"model\": {\"p\": 0.2}}\n{\"case\": \"r3\", \"model\": {\"p\": 0.7}}\n",
        "threshold = 0.5\ncolumns = { id = \"case\", score = \"/model/p\", action = \"/none\" }",
    );
    assert_eq!(code, Some(0), "{output}");
    let actions: Vec<String> = read_decisions(&out).into_iter().map(|r| r["action"].clone()).collect();
    assert_eq!(actions, ["remove", "allow", "remove"]);
}

#[test]
fn a_bad_recording_is_refused_with_its_line() {
    let (code, output, _, _tmp) = replay("decisions.csv", "id,action\nr1,remove\nr2,zapped\nr1,allow\n", "");
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("decisions.csv:3: `action`: unmapped action value `zapped`"),
        "{output}"
    );
    assert!(
        output.contains("decisions.csv:4: `id`: a second decision for case `r1` (first at line 2)"),
        "{output}"
    );
}
