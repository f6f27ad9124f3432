//! Checking one table of a scenario file: [`Checks`] records every problem
//! against the key it concerns, so that it is shown with the file's line
//! (`scenario.toml:7: `target.threshold`: must be between 0 and 1, got 7`).
//! Checking goes on after a problem, so the user sees every problem at once.
//!
//! A target kind checks its `[target]` table with it (see
//! [`super::kind::TargetKind::check`]); the scenario checks `[appeal]` with it too.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::decision::Action;
use crate::diagnostic::{Diagnostic, Diagnostics, from_toml_error, toml_key_line};

use super::env;

/// The scenario file a table is read from.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioFile<'a> {
    /// As given by the user (shown in messages).
    pub path: &'a Path,
    /// The file's text, for finding the line of a key.
    pub text: &'a str,
    /// The file's directory: relative paths in it resolve against this.
    pub base: &'a Path,
}

/// How far a target's recorded data (a replay file) is read while its table
/// is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordedData {
    /// Read and check every row: to run, or to validate a scenario.
    #[default]
    Read,
    /// Only hash it, for the target's fingerprint: re-reporting a run takes
    /// every decision from its journal.
    HashOnly,
}

/// The problems and warnings found in one table of a scenario file.
pub struct Checks<'a> {
    file: ScenarioFile<'a>,
    /// The table's key, e.g. `target`.
    table: &'a str,
    case_ids: &'a HashSet<&'a str>,
    problems: &'a mut Vec<Diagnostic>,
    warnings: &'a mut Vec<Diagnostic>,
    recorded_data: RecordedData,
}

impl<'a> Checks<'a> {
    /// Checks of the table `table` of `file`, adding to the scenario's problems
    /// and warnings; `case_ids` are the ids of every case of the scenario's
    /// corpora, for a table that refers to cases (none refer to them before the
    /// corpora are loaded).
    pub fn new(
        file: ScenarioFile<'a>,
        table: &'a str,
        case_ids: &'a HashSet<&'a str>,
        problems: &'a mut Vec<Diagnostic>,
        warnings: &'a mut Vec<Diagnostic>,
    ) -> Self {
        Checks {
            file,
            table,
            case_ids,
            problems,
            warnings,
            recorded_data: RecordedData::Read,
        }
    }

    /// These checks, reading a target's recorded data only as far as `recorded_data` says.
    pub fn with_recorded_data(mut self, recorded_data: RecordedData) -> Self {
        self.recorded_data = recorded_data;
        self
    }

    /// How far a target's recorded data is to be read.
    pub fn recorded_data(&self) -> RecordedData {
        self.recorded_data
    }

    fn located(&self, key: &[&str], message: impl Into<String>) -> Diagnostic {
        let key_path: Vec<&str> = std::iter::once(self.table).chain(key.iter().copied()).collect();
        Diagnostic {
            line: toml_key_line(self.file.text, &key_path),
            ..Diagnostic::file(self.file.path, message).with_field(key_path.join("."))
        }
    }

    /// Records a problem with the value at `key` (a path inside the table;
    /// empty for the table itself).
    pub fn problem(&mut self, key: &[&str], message: impl Into<String>) {
        let problem = self.located(key, message);
        self.problems.push(problem);
    }

    /// Records something at `key` that is valid but probably not meant.
    pub fn warning(&mut self, key: &[&str], message: impl Into<String>) {
        let warning = self.located(key, message);
        self.warnings.push(warning);
    }

    /// Records a table that does not have the shape its kind reads (an unknown
    /// key, a value of the wrong type), at the position `toml` found it.
    pub fn toml_error(&mut self, error: &toml::de::Error) {
        self.problems
            .push(from_toml_error(self.file.path, self.file.text, error));
    }

    /// Records problems found in another file the table names (a recording, a list).
    pub fn extend(&mut self, Diagnostics(problems): Diagnostics) {
        self.problems.extend(problems);
    }

    /// Whether any problem has been found in the scenario so far; a kind may
    /// then skip a costly check whose result would not be used.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The scenario file's directory.
    pub fn base_dir(&self) -> &'a Path {
        self.file.base
    }

    /// A path written in the scenario, resolved against its directory.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.file.base.join(relative)
    }

    /// Ids of every case of the scenario's corpora (before any filter).
    pub fn case_ids(&self) -> &'a HashSet<&'a str> {
        self.case_ids
    }

    /// Checks a share (a number from 0 to 1), when given.
    pub fn share(&mut self, key: &[&str], value: Option<f64>) {
        if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
            self.problem(key, format!("must be between 0 and 1, got {v}"));
        }
    }

    /// Checks a count against its range.
    pub fn count_within(&mut self, key: &[&str], value: usize, range: std::ops::RangeInclusive<usize>) {
        if !range.contains(&value) {
            self.problem(
                key,
                format!("must be between {} and {}, got {value}", range.start(), range.end()),
            );
        }
    }

    /// Checks `base_url` and returns it without a trailing slash.
    pub fn base_url(&mut self, url: &str) -> String {
        self.endpoint(&["base_url"], url, url);
        url.trim_end_matches('/').to_string()
    }

    /// Checks an endpoint URL given at `key` as `written`; `probe` is the same
    /// with stand-ins for its references. A placeholder host is a warning.
    pub fn endpoint(&mut self, key: &[&str], written: &str, probe: &str) {
        match reqwest::Url::parse(probe) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => self.problem(
                key,
                format!("`{written}`: scheme must be http or https, not {}", u.scheme()),
            ),
            Ok(u) => {
                if u.host_str().is_some_and(placeholder_host) {
                    self.warning(
                        key,
                        format!("`{written}` names a placeholder host; set the real endpoint before running"),
                    );
                }
            }
            Err(e) => self.problem(key, format!("`{written}` is not a URL: {e}")),
        }
    }

    /// Checks the table's `headers`: names, and values as far as the scenario
    /// gives them (`${NAME}` values are checked when they are read).
    pub fn headers(&mut self, headers: &BTreeMap<String, String>) {
        for (name, template) in headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.problem(&["headers", name], format!("`{name}` is not an HTTP header name"));
            } else if reqwest::header::HeaderValue::from_str(&env::with_stand_in(template, "x")).is_err() {
                self.problem(
                    &["headers", name],
                    "the value has a character that cannot be sent in an HTTP header",
                );
            }
        }
    }

    /// Checks the name of the environment variable holding the key
    /// (`api_key_env`, else `default`) and returns it.
    pub fn api_key_env(&mut self, name: Option<String>, default: &str) -> String {
        self.env_variable(&["api_key_env"], name.unwrap_or_else(|| default.to_string()))
    }

    /// Checks the name, given at `key` (else `default`), of an environment
    /// variable holding a secret, and returns it.
    pub fn secret_env(&mut self, key: &[&str], name: Option<String>, default: &str) -> String {
        self.env_variable(key, name.unwrap_or_else(|| default.to_string()))
    }

    /// Checks the name, given at `key`, of an environment variable holding a
    /// secret, and returns it.
    pub fn env_variable(&mut self, key: &[&str], name: String) -> String {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.problem(
                key,
                format!("`{name}` is not an environment variable name (the key itself never goes in the scenario)"),
            );
        }
        name
    }

    /// Reads a map from a system's action values to actions, given at `key`.
    pub fn action_map(&mut self, key: &[&str], raw: &BTreeMap<String, String>) -> BTreeMap<String, Action> {
        let mut map = BTreeMap::new();
        for (value, action) in raw {
            match Action::parse_moderation(action) {
                Some(a) => {
                    map.insert(value.clone(), a);
                }
                None if action == "unsupported" => {
                    map.insert(value.clone(), Action::Unsupported);
                }
                None => self.problem(
                    key,
                    format!("`{value}` maps to unknown action `{action}` (expected allow, label, reduce, demonetize, remove, suspend or unsupported)"),
                ),
            }
        }
        map
    }
}

/// Whether a host is a documentation placeholder: a label starting `your-` or
/// `your_` (as in `YOUR-RESOURCE.cognitiveservices.azure.com`), or a name under
/// the reserved `example` domains (RFC 2606).
fn placeholder_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let reserved = match labels.as_slice() {
        [.., "example"] => true,
        [.., second, "com" | "net" | "org"] => *second == "example",
        _ => false,
    };
    reserved || labels.iter().any(|l| l.starts_with("your-") || l.starts_with("your_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_hosts_are_recognised() {
        for host in [
            "your-resource.cognitiveservices.azure.com",
            "moderation.platform.example",
            "example.com",
            "api.example.org",
            "your_tenant.api.net",
        ] {
            assert!(placeholder_host(host), "{host}");
        }
        for host in [
            "api.openai.com",
            "127.0.0.1",
            "localhost",
            "examples.com",
            "yourself.org",
        ] {
            assert!(!placeholder_host(host), "{host}");
        }
    }

    #[test]
    fn problems_name_the_key_path_and_its_line() {
        let text = "name = 'x'\n\n[target]\nkind = 'openai'\ncategory_thresholds = { hate = 2.0 }\n";
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let ids = HashSet::new();
        let file = ScenarioFile {
            path: Path::new("s.toml"),
            text,
            base: Path::new("."),
        };
        let mut checks = Checks::new(file, "target", &ids, &mut problems, &mut warnings);
        checks.share(&["category_thresholds", "hate"], Some(2.0));
        checks.problem(&[], "the table itself");
        checks.endpoint(
            &["base_url"],
            "https://your-resource.example",
            "https://your-resource.example",
        );
        assert!(checks.has_problems());
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "s.toml:5: `target.category_thresholds.hate`: must be between 0 and 1, got 2",
                "s.toml:3: `target`: the table itself",
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].field.as_deref(), Some("target.base_url"));
    }
}
