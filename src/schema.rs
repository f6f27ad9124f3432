//! JSON Schemas of the files modaudit reads and writes, generated from the Rust
//! types that read and write them: the scenario file (its TOML read as JSON)
//! and `results.json`. An editor checks and completes scenarios with the first
//! (Taplo, and the TOML extensions built on it, read a `#:schema` comment);
//! programs that read results rely on the second.
//!
//! The scenario's `[target]` table is described kind by kind from the
//! registry of target kinds (see [`crate::moderator::registry::target_schema`]),
//! so a new kind is in the schema as soon as it is registered. Copies are kept
//! in `schemas/`; a test regenerates them and fails on any difference.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

use crate::report::systems::{SYSTEMS_SCHEMA_VERSION, SystemsReport};
use crate::report::{Report, SCHEMA_VERSION};
use crate::scenario::RawScenario;

/// A file whose schema modaudit gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    /// A scenario file (`scenarios/*.toml`).
    Scenario,
    /// A run's `results.json`.
    Results,
}

impl Document {
    /// Every document, in the order they are listed.
    pub const ALL: [Document; 2] = [Document::Scenario, Document::Results];

    /// Where its schema is kept in the repository, e.g. `schemas/scenario.schema.json`.
    pub fn path(self) -> &'static str {
        match self {
            Document::Scenario => "schemas/scenario.schema.json",
            Document::Results => "schemas/results.schema.json",
        }
    }

    /// The `modaudit schema` argument that prints it.
    pub fn name(self) -> &'static str {
        match self {
            Document::Scenario => "scenario",
            Document::Results => "results",
        }
    }

    /// Its JSON Schema (draft 2020-12), as pretty JSON ending in a line feed.
    pub fn schema_json(self) -> String {
        let schema = match self {
            Document::Scenario => generate::<RawScenario>(
                SchemaSettings::draft2020_12()
                    .for_deserialize()
                    .with_transform(RecursiveTransform(without_null as fn(&mut Schema))),
                "modaudit scenario",
                "An audit scenario: corpora, the target audited, run and analysis settings, gates, appeal probing. \
                 Written in TOML; this schema describes the TOML document as JSON.",
            ),
            Document::Results => generate::<Results>(
                SchemaSettings::draft2020_12().for_serialize(),
                "modaudit results.json",
                &format!(
                    "Every number of a run's report: of a run of one target (schema_version {SCHEMA_VERSION}), \
                     or of several compared (schema_version {SYSTEMS_SCHEMA_VERSION}: each target's report and the comparison)."
                ),
            ),
        };
        let mut text =
            serde_json::to_string_pretty(&schema).expect("a schema is a JSON value, which always serializes");
        text.push('\n');
        text
    }
}

/// What `results.json` holds: the report of a run of one target, or of
/// several (`[[targets]]`); only its schema is used.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "a type for its schema alone: results.json is written from the two reports"
)]
enum Results {
    One(Box<Report>),
    Several(Box<SystemsReport>),
}

fn generate<T: JsonSchema>(settings: SchemaSettings, title: &str, description: &str) -> Schema {
    let mut schema = settings.into_generator().into_root_schema_for::<T>();
    schema.insert("title".into(), Value::from(title));
    schema.insert("description".into(), Value::from(description));
    schema
}

/// TOML has no null: an optional key is one that may be left out, so a
/// scenario value is never `null`, and a default that holds one (an unset
/// optional key) says nothing.
fn without_null(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            object.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(alternatives)) = object.get("anyOf") {
        let not_null: Vec<&Value> = alternatives
            .iter()
            .filter(|a| a.get("type") != Some(&Value::from("null")))
            .collect();
        if let ([Value::Object(only)], true) = (not_null.as_slice(), not_null.len() < alternatives.len()) {
            let only = only.clone();
            object.remove("anyOf");
            for (key, value) in only {
                object.entry(key).or_insert(value);
            }
        }
    }
    if object.get("default").is_some_and(holds_null) {
        object.remove("default");
    }
}

fn holds_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(holds_null),
        Value::Object(members) => members.values().any(holds_null),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use schemars::transform::Transform;
    use serde_json::json;

    use super::*;

    fn cleaned(value: Value) -> Value {
        let mut schema = Schema::try_from(value).unwrap();
        RecursiveTransform(without_null as fn(&mut Schema)).transform(&mut schema);
        schema.to_value()
    }

    #[test]
    fn optional_scenario_keys_are_never_null() {
        assert_eq!(
            cleaned(json!({"type": ["number", "null"], "default": null})),
            json!({"type": "number"})
        );
        assert_eq!(
            cleaned(json!({"description": "d", "anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]})),
            json!({"description": "d", "$ref": "#/$defs/X"})
        );
        assert_eq!(
            cleaned(json!({"properties": {"a": {"type": ["string", "null"]}}, "default": {"a": null}})),
            json!({"properties": {"a": {"type": "string"}}})
        );
        let kept = json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "default": {}});
        assert_eq!(cleaned(kept.clone()), kept);
    }
}
