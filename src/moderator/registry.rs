//! The registry of target kinds: the one place that maps a scenario's
//! `kind = "…"` to the module that reads, checks and builds it.
//!
//! The scenario knows no kind's keys: it hands the `[target]` table to
//! [`configure`], which reads `kind`, and the kind deserializes the rest into
//! its own raw struct (unknown keys are refused with their line) and checks it.
//!
//! Adding a kind:
//! 1. `src/moderator/<kind>.rs`: a raw struct (deriving `Deserialize` and
//!    `schemars::JsonSchema`, which puts its keys in `schemas/scenario.schema.json`:
//!    regenerate it with `modaudit schema scenario`), and a configuration that
//!    implements [`TargetKind`] and [`super::kind::TargetConfig`] (an HTTP API
//!    implements [`super::remote::HttpApi`] and is served by
//!    [`super::remote::HttpModerator`]); declare the module in `moderator/mod.rs`;
//! 2. one line in `KINDS` below (and the module in the `use` above it);
//! 3. a row in README's "Targets" table, and a scenario in `scenarios/` (or an
//!    integration test that uses the kind): a test holds the three together.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::json;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::check::Checks;
use super::kind::{TargetKind, TargetSpec};
use super::{
    aws, azure, classify, command, google, guard, hive, http, keyword, library, openai, perspective, replay, tei,
};

/// Every kind, in the order they are listed to the user.
const KINDS: &[Kind] = &[
    kind::<keyword::KeywordSpec>(),
    kind::<command::CommandSpec>(),
    kind::<openai::OpenAiConfig>(),
    kind::<perspective::PerspectiveConfig>(),
    kind::<azure::AzureConfig>(),
    kind::<google::GoogleConfig>(),
    kind::<aws::AwsConfig>(),
    kind::<hive::HiveConfig>(),
    kind::<tei::TeiConfig>(),
    kind::<classify::ClassifyConfig>(),
    kind::<http::HttpConfig>(),
    kind::<guard::GuardConfig>(),
    kind::<replay::ReplayData>(),
    kind::<library::LibraryConfig>(),
];

/// The names of every kind, as a scenario writes them.
pub fn kind_names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.name)
}

/// The `[target]` table as written, with the position of every key and value
/// in the scenario file.
pub struct TargetTable<'a> {
    value: Spanned<DeValue<'a>>,
}

impl<'a> TargetTable<'a> {
    /// The `[target]` table of a scenario file's text, if it has one.
    pub fn find(text: &'a str) -> Option<Self> {
        let mut document = DeTable::parse(text).ok()?.into_inner();
        let value = document.remove("target")?;
        Some(TargetTable { value })
    }

    /// The `[[targets]]` tables of a scenario file's text, in order (none
    /// when it has no such array).
    pub fn find_all(text: &'a str) -> Vec<Self> {
        let Some(mut document) = DeTable::parse(text).ok().map(Spanned::into_inner) else {
            return Vec::new();
        };
        match document.remove("targets").map(Spanned::into_inner) {
            Some(DeValue::Array(items)) => items.into_iter().map(|value| TargetTable { value }).collect(),
            _ => Vec::new(),
        }
    }

    /// Takes `key` out of the table (a key the scenario reads itself, such as
    /// a target's `label`), so that the kind never sees it: its value as a
    /// string, or `Err` with what it is instead; `None` when the table has no
    /// such key.
    pub fn take_string(&mut self, key: &str) -> Option<Result<String, &'static str>> {
        let DeValue::Table(entries) = self.value.get_mut() else {
            return None;
        };
        let value = entries.remove(key)?;
        Some(match value.into_inner() {
            DeValue::String(text) => Ok(text.into_owned()),
            DeValue::Table(_) => Err("a table"),
            DeValue::Array(_) => Err("an array"),
            _ => Err("not a string"),
        })
    }
}

/// Reads and checks the `[target]` table with the kind it names; `None` when it
/// cannot be used (every problem is in `checks`).
pub fn configure(table: TargetTable<'_>, checks: &mut Checks<'_>) -> Option<TargetSpec> {
    let mut value = table.value;
    let DeValue::Table(entries) = value.get_mut() else {
        checks.problem(&[], "must be a table");
        return None;
    };
    let Some(kind) = entries.remove("kind") else {
        checks.problem(&[], format!("missing field `kind` (one of {})", listed()));
        return None;
    };
    let Some(name) = kind.get_ref().as_str() else {
        checks.problem(&["kind"], format!("must be a string, one of {}", listed()));
        return None;
    };
    match KINDS.iter().find(|k| k.name == name) {
        Some(kind) => (kind.configure)(value, checks),
        None => {
            checks.problem(
                &["kind"],
                format!("unknown kind `{name}` (expected one of {})", listed()),
            );
            None
        }
    }
}

/// The JSON Schema of the `[target]` table: one of the kinds' tables, told
/// apart by `kind`, each with exactly its raw struct's keys.
pub fn target_schema(generator: &mut SchemaGenerator) -> Schema {
    let kinds: Vec<Schema> = KINDS.iter().map(|k| (k.schema)(generator)).collect();
    json_schema!({
        "type": "object",
        "required": ["kind"],
        "oneOf": kinds,
    })
}

/// The JSON Schema of a `[[targets]]` table: a target table as
/// [`target_schema`] describes it, with the `label` the scenario reads itself.
pub fn labelled_target_schema(generator: &mut SchemaGenerator) -> Schema {
    let kinds: Vec<Schema> = KINDS
        .iter()
        .map(|k| {
            let mut schema = (k.schema)(generator);
            if let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
                properties.insert(
                    "label".into(),
                    json!({
                        "description": "The system's name in the reports, unique in the scenario: letters, digits, `-` and `_`, starting with a letter or digit.",
                        "type": "string",
                        "pattern": LABEL_PATTERN,
                    }),
                );
            }
            if let Some(required) = schema.get_mut("required").and_then(|r| r.as_array_mut())
                && !required.iter().any(|key| key == "label")
            {
                required.insert(0, "label".into());
            }
            schema
        })
        .collect();
    json_schema!({
        "type": "object",
        "required": ["label", "kind"],
        "oneOf": kinds,
    })
}

/// What a target's `label` must look like (it names a directory of the run):
/// see [`is_label`].
pub const LABEL_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$";

/// Whether `label` can name a target: 1 to 64 ASCII letters, digits, `-` and
/// `_`, starting with a letter or digit — safe as a directory name everywhere.
pub fn is_label(label: &str) -> bool {
    let mut chars = label.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && label.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// One entry of the registry.
struct Kind {
    name: &'static str,
    configure: fn(Spanned<DeValue<'_>>, &mut Checks<'_>) -> Option<TargetSpec>,
    schema: fn(&mut SchemaGenerator) -> Schema,
}

const fn kind<K: TargetKind>() -> Kind {
    Kind {
        name: K::NAME,
        configure: configure_kind::<K>,
        schema: kind_schema::<K>,
    }
}

/// The schema of a kind's table: its raw struct's, with `kind` fixed to its name.
fn kind_schema<K: TargetKind>(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = K::Raw::json_schema(generator);
    schema.insert("title".into(), K::NAME.into());
    if let Some(properties) = schema
        .ensure_object()
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    {
        properties.insert("kind".into(), json!({ "const": K::NAME }));
    }
    match schema.get_mut("required").and_then(|r| r.as_array_mut()) {
        Some(required) => required.insert(0, "kind".into()),
        None => {
            schema.insert("required".into(), json!(["kind"]));
        }
    }
    schema
}

/// Deserializes the table (without `kind`) into the kind's raw struct — an
/// unknown key or a wrong type is a problem at its position — and checks it.
fn configure_kind<K: TargetKind>(table: Spanned<DeValue<'_>>, checks: &mut Checks<'_>) -> Option<TargetSpec> {
    match K::Raw::deserialize(ValueDeserializer::from(table)) {
        Ok(raw) => K::check(raw, checks).map(TargetSpec::new),
        Err(error) => {
            checks.toml_error(&error);
            None
        }
    }
}

/// "`builtin:keyword`, `command`, …".
fn listed() -> String {
    kind_names()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the `[target]` table of a scenario's `text` as kind `K` (its `kind`
/// aside), for a kind's unit tests: the checked configuration, and the
/// problems and warnings as shown.
#[cfg(test)]
pub(crate) fn check_as<K: TargetKind>(text: &str) -> (Option<K>, Vec<String>, Vec<String>) {
    use crate::moderator::check::ScenarioFile;
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    let ids = std::collections::HashSet::new();
    let file = ScenarioFile {
        path: std::path::Path::new("s.toml"),
        text,
        base: std::path::Path::new("."),
    };
    let mut checks = Checks::new(file, "target", &ids, &mut problems, &mut warnings);
    let mut value = TargetTable::find(text).expect("a [target] table").value;
    if let DeValue::Table(entries) = value.get_mut() {
        entries.remove("kind");
    }
    let config = match K::Raw::deserialize(ValueDeserializer::from(value)) {
        Ok(raw) => K::check(raw, &mut checks),
        Err(error) => {
            checks.toml_error(&error);
            None
        }
    };
    let shown = |d: &Vec<crate::diagnostic::Diagnostic>| d.iter().map(ToString::to_string).collect();
    (config, shown(&problems), shown(&warnings))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};
    use std::path::Path;

    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::moderator::check::ScenarioFile;

    /// The problems of a scenario's `[target]` table, as shown.
    fn problems_of(text: &str) -> (Option<TargetSpec>, Vec<String>) {
        let (mut problems, mut warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = (Vec::new(), Vec::new());
        let ids = HashSet::new();
        let file = ScenarioFile {
            path: Path::new("s.toml"),
            text,
            base: Path::new("."),
        };
        let mut checks = Checks::new(file, "target", &ids, &mut problems, &mut warnings);
        let spec = configure(TargetTable::find(text).expect("a [target] table"), &mut checks);
        (spec, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn labels_are_safe_directory_names() {
        for good in ["a", "keyword", "openai-omni_2", "A1", &"x".repeat(64)] {
            assert!(is_label(good), "{good}");
        }
        for bad in ["", "-a", "_a", "a b", "../up", "a/b", "é", "a.b", &"x".repeat(65)] {
            assert!(!is_label(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_unique() {
        let names: BTreeSet<&str> = kind_names().collect();
        assert_eq!(names.len(), KINDS.len());
    }

    #[test]
    fn the_kind_selects_the_module_that_reads_the_table() {
        let (spec, problems) = problems_of("[target]\nkind = 'openai'\nmodel = 'm'\n");
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(spec.map(|s| s.kind()), Some("openai"));
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let (spec, problems) = problems_of("[target]\nkind = 'openia'\n");
        assert!(spec.is_none());
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("s.toml:2: `target.kind`: unknown kind `openia` (expected one of `builtin:keyword`, `command`, `openai`,"),
            "{problems:?}"
        );
        for name in kind_names() {
            assert!(problems[0].contains(&format!("`{name}`")), "{name}");
        }
    }

    #[test]
    fn a_missing_or_misspelt_kind_is_located() {
        let (_, problems) = problems_of("name = 'x'\n[target]\nmodel = 'm'\n");
        assert!(problems[0].starts_with("s.toml:2: `target`: missing field `kind` (one of `builtin:keyword`"));
        let (_, problems) = problems_of("[target]\nkind = 3\n");
        assert!(problems[0].starts_with("s.toml:2: `target.kind`: must be a string"));
    }

    #[test]
    fn keys_of_another_kind_are_unknown_keys_at_their_line_and_column() {
        let (_, problems) = problems_of("[target]\nkind = 'builtin:keyword'\n\nthreshold = 0.5\n");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("s.toml:4:1: `threshold`: unknown field `threshold`, expected `lexicons`"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_kind_says_whether_a_score_threshold_decides() {
        let rule = |table: &str| {
            let (spec, problems) = problems_of(&format!("[target]\n{table}\n"));
            assert_eq!(problems, Vec::<String>::new(), "{table}");
            spec.expect("a checked target").score_rule().map(|r| r.threshold)
        };
        assert_eq!(rule("kind = 'perspective'"), Some(0.7));
        assert_eq!(rule("kind = 'hive'\nthreshold = 3"), Some(3.0));
        assert_eq!(rule("kind = 'openai'\nthreshold = 0.4"), Some(0.4));
        assert_eq!(rule("kind = 'openai'"), None, "the endpoint's own `flagged`");
        assert_eq!(rule("kind = 'openai'\ncategory_thresholds = { hate = 0.3 }"), None);
        assert_eq!(rule("kind = 'azure'\nbase_url = 'http://127.0.0.1:9'"), Some(4.0));
        assert_eq!(
            rule("kind = 'azure'\nbase_url = 'http://127.0.0.1:9'\nblocklist_names = ['mine']"),
            None,
            "a blocklist match removes whatever the score"
        );
        let http = "kind = 'http'\nurl = 'http://127.0.0.1:9/'\nbody = '{}'\n[target.response]\nscore = '/s'";
        assert_eq!(rule(&format!("{http}\nthreshold = 0.6")), Some(0.6));
        assert_eq!(rule("kind = 'builtin:keyword'"), None);
        assert_eq!(rule("kind = 'command'\ncommand = ['true']"), None);
        assert_eq!(rule("kind = 'command'\ncommand = ['true']\nthreshold = 0.2"), Some(0.2));
    }

    #[test]
    fn unknown_keys_of_nested_tables_and_wrong_types_are_located() {
        let (_, problems) = problems_of(
            "[target]\nkind = 'http'\nurl = 'http://127.0.0.1:9/'\nbody = '{}'\n[target.response]\naction = '/a'\nacton_map = {}\n",
        );
        assert!(
            problems[0].starts_with("s.toml:7:1: `acton_map`: unknown field `acton_map`"),
            "{problems:?}"
        );
        let (_, problems) = problems_of("[target]\nkind = 'perspective'\nthreshold = 'high'\n");
        assert_eq!(problems, ["s.toml:3:13: invalid type: string \"high\", expected f64"]);
    }
}
