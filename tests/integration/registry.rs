//! The registry of target kinds: every kind is documented and exercised, an
//! unknown one is refused with the list of known ones, and the keys of a
//! kind's table are read by that kind, with every problem located.

use std::collections::BTreeSet;

use crate::support::*;

const ROW: &str = "a1,en,a post,protected,counter_speech,women,,,\n";

/// The kinds listed in README's "Targets" table.
fn readme_kinds() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("\n## Targets\n")
        .nth(1)
        .expect("README has a Targets section");
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|kind| *kind != "kind")
        .map(str::to_string)
        .collect()
}

/// Every `*.toml` in `scenarios/` and every `*.rs` in `tests/integration/`, as text.
fn scenarios_and_tests() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (dir, extension) in [("scenarios", "toml"), ("tests/integration", "rs")] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == extension) {
                files.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files
}

#[test]
fn every_kind_has_a_readme_row_and_a_scenario_or_a_test() {
    let registered: BTreeSet<String> = modaudit::moderator::registry::kind_names()
        .map(str::to_string)
        .collect();
    assert_eq!(
        readme_kinds(),
        registered,
        "README's Targets table and the registry list the same kinds"
    );
    let files = scenarios_and_tests();
    for kind in &registered {
        let in_scenario = format!("kind = \"{kind}\"");
        let in_test = format!("kind = \\\"{kind}\\\"");
        assert!(
            files
                .iter()
                .any(|(_, text)| text.contains(&in_scenario) || text.contains(&in_test)),
            "no scenario in scenarios/ and no test in tests/integration/ uses kind `{kind}`"
        );
    }
}

#[test]
fn an_unknown_kind_is_located_and_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"openia\"\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("scenario.toml:5: `target.kind`: unknown kind `openia`"),
        "{err}"
    );
    for kind in modaudit::moderator::registry::kind_names() {
        assert!(err.contains(&format!("`{kind}`")), "{kind} is listed: {err}");
    }
}

#[test]
fn a_target_without_a_kind_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nmodel = \"m\"\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(err.contains("scenario.toml:4: `target`: missing field `kind`"), "{err}");
    assert!(err.contains("`builtin:keyword`"), "the known kinds are listed: {err}");
}

#[test]
fn a_wrong_value_in_the_target_table_names_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"openai\"\nmodel = \"m\"\nthreshold = \"high\"\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("scenario.toml:7:13: invalid type: string \"high\", expected f64"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_in_a_nested_target_table_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/m\"\nbody = '{\"t\": \"{text}\"}'\n\n[target.response]\naction = \"/a\"\nacton_map = {}\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("scenario.toml:11:1: `acton_map`: unknown field `acton_map`"),
        "{err}"
    );
}

#[test]
fn a_library_target_is_valid_but_runs_only_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"library\"\nlabel = \"our classifier v3\"\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("our classifier v3"), "{shown}");

    let out = dir.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("our classifier v3") && err.contains("modaudit::run::run_with_moderator"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_library_target_needs_a_label() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"library\"\nlabel = \" \"\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(err.contains("scenario.toml:6: `target.label`: "), "{err}");
}
