//! The JSON Schemas in `schemas/`: generated from the Rust types, kept current,
//! and true of the files they describe — every bundled scenario, every target
//! kind's keys, and the results.json of real runs.

use std::collections::BTreeSet;

use modaudit::moderator::registry::kind_names;
use modaudit::schema::Document;
use serde_json::Value;

use crate::support::*;

const UPDATE: &str = "MODAUDIT_UPDATE_SCHEMAS";

#[test]
fn checked_in_schemas_are_the_generated_ones() {
    let mut stale = Vec::new();
    for document in Document::ALL {
        let path = repo().join(document.path());
        let generated = document.schema_json();
        if std::env::var_os(UPDATE).is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(&generated) {
            stale.push(format!(
                "{} is not what the code generates: run `cargo run -- schema {} > {}`",
                document.path(),
                document.name(),
                document.path()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n(or regenerate both: {UPDATE}=1 cargo test --test integration schemas)",
        stale.join("\n")
    );
}

#[test]
fn the_schema_command_prints_the_generated_schema() {
    for document in Document::ALL {
        let output = modaudit().args(["schema", document.name()]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        assert_eq!(String::from_utf8(output.stdout).unwrap(), document.schema_json());
    }
}

/// A validator for one document's generated schema (itself checked against
/// the draft 2020-12 meta-schema as it compiles).
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(document: Document) -> Self {
        let schema: Value = serde_json::from_str(&document.schema_json()).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let location = format!("urn:modaudit:{}", document.name());
        compiler.add_resource(&location, schema).unwrap();
        let index = compiler
            .compile(&location, &mut schemas)
            .unwrap_or_else(|e| panic!("{e:#}"));
        Validator { schemas, index }
    }

    fn check(&self, instance: &Value) -> Result<(), String> {
        self.schemas
            .validate(instance, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

fn toml_as_json(text: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap()
}

#[test]
fn every_bundled_scenario_is_valid_by_the_scenario_schema() {
    let validator = Validator::new(Document::Scenario);
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let scenario = toml_as_json(&std::fs::read_to_string(&path).unwrap());
            if let Err(e) = validator.check(&scenario) {
                panic!("{}: {e}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} scenarios");
}

#[test]
fn the_scenario_schema_refuses_what_modaudit_refuses() {
    let validator = Validator::new(Document::Scenario);
    let scenario = |body: &str| toml_as_json(&format!("name = \"s\"\ncorpora = [\"c\"]\n{body}"));
    assert_eq!(
        validator.check(&scenario("[target]\nkind = \"builtin:keyword\"\n")),
        Ok(())
    );
    for (refused, why) in [
        (
            "[target]\nkind = \"openai\"\nurl = \"http://x\"\n",
            "a key of another kind",
        ),
        ("[target]\nkind = \"openia\"\n", "an unknown kind"),
        ("[target]\nmodel = \"m\"\n", "no kind"),
        ("[target]\nkind = \"command\"\n", "a required key missing"),
        (
            "[target]\nkind = \"tei\"\nbase_url = \"http://x\"\nactivation = \"relu\"\n",
            "an unknown value",
        ),
        (
            "[target]\nkind = \"perspective\"\nthreshold = \"high\"\n",
            "a wrong type",
        ),
        (
            "[target]\nkind = \"builtin:keyword\"\n[gates]\nmax_overremoval_rate = 0.1\n",
            "a misspelt gate",
        ),
        (
            "[target]\nkind = \"builtin:keyword\"\n[analysis]\ncorrection = \"holmes\"\n",
            "an unknown correction",
        ),
        (
            "[target]\nkind = \"builtin:keyword\"\n[run]\nconcurrency = -1\n",
            "a negative count",
        ),
    ] {
        assert!(
            validator.check(&scenario(refused)).is_err(),
            "{why} is refused: {refused}"
        );
        let file = tempfile::NamedTempFile::with_suffix(".toml").unwrap();
        std::fs::write(file.path(), format!("name = \"s\"\ncorpora = []\n{refused}")).unwrap();
        let output = modaudit().arg("validate").arg(file.path()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "modaudit refuses {why} too: {refused}");
    }
}

#[test]
fn every_registered_kind_has_its_keys_in_the_scenario_schema() {
    let schema: Value = serde_json::from_str(&Document::Scenario.schema_json()).unwrap();
    let kinds = schema["properties"]["target"]["oneOf"].as_array().unwrap();
    let described: BTreeSet<&str> = kinds
        .iter()
        .map(|k| k["properties"]["kind"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(described, kind_names().collect::<BTreeSet<_>>());
    for kind in kinds {
        assert_eq!(kind["additionalProperties"], false, "{kind}");
        assert!(kind["required"].as_array().unwrap().contains(&"kind".into()), "{kind}");
    }
}

#[test]
fn a_quickstart_results_json_is_valid_by_the_results_schema() {
    let validator = Validator::new(Document::Results);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let output = run_scenario(&repo().join("scenarios/quickstart.toml"), &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    if let Err(e) = validator.check(&results) {
        panic!("{e}");
    }
    let mut wrong = results.clone();
    wrong["gates"][0]["status"] = "skipped".into();
    assert!(
        validator.check(&wrong).is_err(),
        "the schema says which gate statuses there are"
    );
}

#[test]
fn the_snapshot_results_json_is_valid_by_the_results_schema() {
    // Scores, score-based bias metrics and an error: parts the quickstart lacks.
    let snapshot =
        std::fs::read_to_string(repo().join("tests/integration/snapshots/integration__snapshots__results_json.snap"))
            .unwrap();
    let json = snapshot.splitn(3, "---\n").nth(2).unwrap();
    let results: Value = serde_json::from_str(json).unwrap();
    assert!(results["score_bias"].is_object());
    if let Err(e) = Validator::new(Document::Results).check(&results) {
        panic!("{e}");
    }
}

#[test]
fn runs_with_appeals_and_with_zero_and_full_cells_are_valid_by_the_results_schema() {
    let validator = Validator::new(Document::Results);
    let fixtures = repo().join("tests/fixtures/recompute");
    let tmp = tempfile::tempdir().unwrap();
    // appeals filed and decided, censored at the deadline: rebuilt from its journal
    let appeals = tmp.path().join("appeals");
    std::fs::create_dir(&appeals).unwrap();
    for file in ["manifest.json", "journal.jsonl"] {
        std::fs::copy(fixtures.join("appeals/run").join(file), appeals.join(file)).unwrap();
    }
    let output = modaudit()
        .arg("report")
        .arg(&appeals)
        .arg("--scenario")
        .arg(fixtures.join("appeals/scenario.toml"))
        .output()
        .unwrap();
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    // rates of 0 and 1, unbounded ratios, perfect AUCs
    let cells = tmp.path().join("cells");
    let output = run_scenario(&fixtures.join("cells/scenario.toml"), &cells);
    assert!(output.status.code().is_some_and(|c| c <= 1), "{}", stderr_of(&output));
    for dir in [appeals, cells] {
        let results = read_json(&dir.join("results.json"));
        if let Err(e) = validator.check(&results) {
            panic!("{}: {e}", dir.display());
        }
    }
}
