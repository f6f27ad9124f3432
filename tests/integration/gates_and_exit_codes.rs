//! Gates decide the exit code, and `junit.xml` shows one test case per gate.

use crate::support::*;

fn run_starter_with_gates(gates: &str) -> (Option<i32>, std::path::PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &repo().join("corpora/starter"),
        &format!("name = \"gated\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"builtin:keyword\"\n[gates]\n{gates}"),
    );
    let out = tmp.path().join("out");
    let output = run_scenario(&scenario, &out);
    (output.status.code(), out, tmp)
}

#[test]
fn a_failing_gate_exits_1_and_shows_in_junit() {
    let (code, out, _tmp) =
        run_starter_with_gates("max_over_removal_rate = 0.01\nmax_error_rate = 0.0\nmin_appeal_route_coverage = 0.9\n");
    assert_eq!(code, Some(1));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains(r#"tests="3""#), "{junit}");
    assert!(junit.contains(r#"failures="2""#), "{junit}");
    assert!(junit.contains(r#"<testcase name="max_over_removal_rate""#), "{junit}");
    assert!(junit.contains("exceeds the maximum 0.0100"), "{junit}");
    assert!(junit.contains("is below the minimum 0.9000"), "{junit}");
    let results = read_json(&out.join("results.json"));
    let gates = results["gates"].as_array().unwrap();
    let over = gates.iter().find(|g| g["name"] == "max_over_removal_rate").unwrap();
    assert_eq!(over["passed"], false);
    assert_eq!(over["threshold"], 0.01);
    assert!(over["value"].as_f64().unwrap() > 0.01);
    assert_eq!(
        gates.iter().find(|g| g["name"] == "max_error_rate").unwrap()["passed"],
        true
    );
    assert_eq!(results["outcome"]["status"], "gates_failed");
    assert_eq!(results["outcome"]["exit_code"], 1);
}

#[test]
fn passing_gates_exit_0() {
    let (code, out, _tmp) = run_starter_with_gates(
        "max_over_removal_rate = 0.9\nmax_disparity_ratio = 100.0\nmax_flip_rate = 1.0\nmin_detection_rate = 0.1\nmax_language_over_removal_rate = 0.9\n",
    );
    assert_eq!(code, Some(0));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="5""#) && junit.contains(r#"failures="0""#),
        "{junit}"
    );
}

#[test]
fn report_rebuilds_identical_outputs_from_the_journal() {
    let (code, out, _tmp) = run_starter_with_gates("max_over_removal_rate = 0.01\n");
    assert_eq!(code, Some(1));
    let before: Vec<Vec<u8>> = ["report.md", "report.html", "results.json", "decisions.csv", "junit.xml"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    let output = modaudit().arg("report").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let after: Vec<Vec<u8>> = ["report.md", "report.html", "results.json", "decisions.csv", "junit.xml"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert!(before == after, "the same journal yields byte-identical outputs");
}

#[test]
fn a_gate_with_nothing_to_measure_fails_as_not_measurable() {
    // Two protected posts the filter keeps: no violating case, no adverse
    // decision, no counterfactual family, one small language, no appeals.
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "a1,en,hello,protected,neutral_mention,women,,,\na2,en,good morning,protected,neutral_mention,women,,,\n",
    );
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"empty-handed\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n[gates]\n\
         max_over_removal_rate = 0.5\nmax_language_over_removal_rate = 0.5\nmax_disparity_ratio = 2.0\n\
         min_detection_rate = 0.5\nmax_flip_rate = 0.5\nmin_appeal_route_coverage = 0.5\nmin_reversal_rate = 0.5\n",
    );
    let out = tmp.path().join("out");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    for gate in results["gates"].as_array().unwrap() {
        if gate["name"] == "max_over_removal_rate" {
            assert_eq!(gate["status"], "passed", "0 of 2 protected cases removed: {gate}");
            continue;
        }
        assert_eq!(gate["passed"], false, "{gate}");
        assert_eq!(gate["status"], "not_measurable", "{gate}");
        assert!(gate["value"].is_null(), "{gate}");
        assert!(gate["detail"].as_str().unwrap().contains("not measurable"), "{gate}");
    }
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="7""#) && junit.contains(r#"failures="6""#),
        "{junit}"
    );
}

#[test]
fn over_removal_gate_without_a_decided_protected_case_is_not_measurable() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "v1,en,kill them all,violating,threat,women,,,\n",
    );
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"violating-only\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n[gates]\nmax_over_removal_rate = 0.1\n",
    );
    let out = tmp.path().join("out");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let gate = &read_json(&out.join("results.json"))["gates"][0];
    assert_eq!(gate["status"], "not_measurable", "{gate}");
    assert_eq!(
        gate["detail"],
        "overall over-removal rate of protected cases: not measurable (no protected case was decided)"
    );
}
