//! `replay`: decisions recorded elsewhere — exported from a platform's logs, or
//! from an earlier audit — joined to the corpus by case id.
//!
//! The file is CSV (header row) or JSON Lines, chosen by extension. A recorded
//! decision for an id that is in no corpus is reported as a note; a case with no
//! recorded decision ends as an `error` saying so. Nothing is silently dropped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::check::Checks;
use super::env::EnvUse;
use super::http::{automated_flag, map_action, scope_text, value_text};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint,
};
use crate::decision::{Action, Notice, ScoreRule};
use crate::diagnostic::{Diagnostic, Diagnostics, LineCounter};
use crate::hash::sha256_hex;
use crate::input::{DATA_LIMIT, read_input};

/// `[target]` with `kind = "replay"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReplay {
    file: String,
    #[serde(default)]
    columns: RawColumns,
    #[serde(default)]
    action_map: BTreeMap<String, String>,
    threshold: Option<f64>,
}

/// `[target.columns]`: column or field names of a recording.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawColumns {
    id: Option<String>,
    action: Option<String>,
    score: Option<String>,
    reason: Option<String>,
    rule: Option<String>,
    decision_id: Option<String>,
    automated: Option<String>,
    automated_detection: Option<String>,
    territorial_scope: Option<String>,
    appeal_url: Option<String>,
}

/// Column (CSV) or field (JSONL; a leading `/` makes it a JSON pointer) names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayColumns {
    pub id: String,
    pub action: Option<String>,
    pub score: Option<String>,
    pub reason: Option<String>,
    pub rule: Option<String>,
    pub decision_id: Option<String>,
    pub automated: Option<String>,
    pub automated_detection: Option<String>,
    pub territorial_scope: Option<String>,
    pub appeal_url: Option<String>,
}

impl Default for ReplayColumns {
    fn default() -> Self {
        ReplayColumns {
            id: "id".into(),
            action: Some("action".into()),
            score: Some("score".into()),
            reason: Some("reason".into()),
            rule: Some("rule".into()),
            decision_id: Some("decision_id".into()),
            automated: Some("automated".into()),
            automated_detection: Some("automated_detection".into()),
            territorial_scope: Some("territorial_scope".into()),
            appeal_url: Some("appeal_url".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    pub path: PathBuf,
    pub columns: ReplayColumns,
    pub action_map: BTreeMap<String, Action>,
    pub threshold: Option<f64>,
}

/// What the fingerprint of a recording covers: its content (not where it is)
/// and how it is read.
#[derive(Serialize)]
struct ReplayFingerprint<'a> {
    file_sha256: &'a str,
    columns: &'a ReplayColumns,
    action_map: &'a BTreeMap<String, Action>,
    threshold: Option<f64>,
}

/// A loaded recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayData {
    pub config: ReplayConfig,
    pub verdicts: HashMap<String, Verdict>,
    pub sha256: String,
    /// Recorded ids that are in none of the corpora.
    pub unknown_ids: Vec<String>,
}

impl TargetKind for ReplayData {
    const NAME: &'static str = "replay";
    type Raw = RawReplay;

    /// Reads the recording (when the rest of the scenario is sound): a problem
    /// in it is located in the recording.
    fn check(raw: RawReplay, checks: &mut Checks<'_>) -> Option<Self> {
        checks.share(&["threshold"], raw.threshold);
        let defaults = ReplayColumns::default();
        let columns = raw.columns;
        let config = ReplayConfig {
            path: checks.resolve(&raw.file),
            columns: ReplayColumns {
                id: columns.id.unwrap_or(defaults.id),
                action: columns.action.or(defaults.action),
                score: columns.score.or(defaults.score),
                reason: columns.reason.or(defaults.reason),
                rule: columns.rule.or(defaults.rule),
                decision_id: columns.decision_id.or(defaults.decision_id),
                automated: columns.automated.or(defaults.automated),
                automated_detection: columns.automated_detection.or(defaults.automated_detection),
                territorial_scope: columns.territorial_scope.or(defaults.territorial_scope),
                appeal_url: columns.appeal_url.or(defaults.appeal_url),
            },
            action_map: checks.action_map(&["action_map"], &raw.action_map),
            threshold: raw.threshold,
        };
        if checks.has_problems() {
            return None;
        }
        match load_replay(config, checks.case_ids()) {
            Ok(data) => Some(data),
            Err(problems) => {
                checks.extend(problems);
                None
            }
        }
    }
}

impl TargetConfig for ReplayData {
    fn required_env(&self) -> Vec<EnvUse> {
        Vec::new()
    }

    fn local_files(&self) -> Vec<&Path> {
        vec![self.config.path.as_path()]
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        Ok(Arc::new(ReplayTarget::new(self.clone(), setup.case_ids)))
    }

    /// With a `threshold`, a recorded score without a recorded action is
    /// compared with it; a recorded action is the recording's own.
    fn score_rule(&self) -> Option<ScoreRule> {
        self.config.threshold.map(ScoreRule::remove_at_or_above)
    }
}

/// Loads and validates a recording; `known_ids` are every case id of the corpora.
pub fn load_replay(config: ReplayConfig, known_ids: &HashSet<&str>) -> Result<ReplayData, Diagnostics> {
    let path = &config.path;
    let bytes = read_input(path, DATA_LIMIT).map_err(|e| Diagnostics(vec![e.at(path)]))?;
    let jsonl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
    let mut problems = Vec::new();
    let rows = if jsonl {
        jsonl_rows(path, bytes.content(), &mut problems)
    } else {
        csv_rows(path, bytes.content(), &config.columns, &mut problems)
    };
    let mut verdicts = HashMap::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for (line, row) in rows {
        let get = |name: &Option<String>| name.as_deref().and_then(|n| field(&row, n)).filter(|v| !is_blank(v));
        let Some(id) = field(&row, &config.columns.id).filter(|v| !is_blank(v)).map(value_text) else {
            problems.push(Diagnostic::at_line(path, line, "no case id").with_field(config.columns.id.clone()));
            continue;
        };
        if let Some(first) = first_line.get(&id) {
            problems.push(
                Diagnostic::at_line(
                    path,
                    line,
                    format!("a second decision for case `{id}` (first at line {first})"),
                )
                .with_field(config.columns.id.clone()),
            );
            continue;
        }
        first_line.insert(id.clone(), line);
        let score = match get(&config.columns.score) {
            None => None,
            Some(v) => match number(v) {
                Some(s) => Some(s),
                None => {
                    problems.push(
                        Diagnostic::at_line(path, line, format!("score `{}` is not a number", value_text(v)))
                            .with_field("score"),
                    );
                    continue;
                }
            },
        };
        let action = match (get(&config.columns.action), score, config.threshold) {
            (Some(v), _, _) => match map_action(v, &config.action_map) {
                Ok(a) => a,
                Err(e) => {
                    problems.push(Diagnostic::at_line(path, line, e.message).with_field("action"));
                    continue;
                }
            },
            (None, Some(s), Some(t)) => action_from_score(s, t),
            (None, Some(_), None) => {
                problems.push(Diagnostic::at_line(
                    path,
                    line,
                    "a score but no action, and the target sets no `threshold`",
                ));
                continue;
            }
            (None, None, _) => {
                problems.push(Diagnostic::at_line(
                    path,
                    line,
                    format!("case `{id}` has neither an action nor a score"),
                ));
                continue;
            }
        };
        let text = |name: &Option<String>| get(name).map(value_text);
        let verdict = Verdict {
            action: Some(action),
            score,
            scores: score
                .map(|s| BTreeMap::from([("score".to_string(), s)]))
                .unwrap_or_default(),
            notice: Notice {
                decision_id: text(&config.columns.decision_id),
                reason: text(&config.columns.reason),
                rule: text(&config.columns.rule),
                automated: get(&config.columns.automated).and_then(automated_flag),
                automated_detection: get(&config.columns.automated_detection).and_then(automated_flag),
                territorial_scope: get(&config.columns.territorial_scope).map(scope_text),
                appeal_url: text(&config.columns.appeal_url),
            },
            detail: (action == Action::Unsupported)
                .then(|| text(&config.columns.reason).unwrap_or_else(|| "recorded as unsupported".into())),
            response: Some(row.clone()),
            ..Verdict::default()
        };
        verdicts.insert(id, verdict);
    }
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }
    let mut unknown_ids: Vec<String> = verdicts
        .keys()
        .filter(|id| !known_ids.contains(id.as_str()))
        .cloned()
        .collect();
    unknown_ids.sort();
    Ok(ReplayData {
        config,
        verdicts,
        sha256: sha256_hex(bytes.raw()),
        unknown_ids,
    })
}

fn is_blank(value: &Value) -> bool {
    value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty())
}

fn number(value: &Value) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
        .filter(|s| s.is_finite())
}

fn field<'a>(row: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        row.pointer(name)
    } else {
        row.get(name)
    }
}

fn jsonl_rows(path: &Path, bytes: &[u8], problems: &mut Vec<Diagnostic>) -> Vec<(u64, Value)> {
    let mut rows = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_number = i as u64 + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) if v.is_object() => rows.push((line_number, v)),
            Ok(_) => problems.push(Diagnostic::at_line(path, line_number, "not a JSON object")),
            Err(e) => problems.push(Diagnostic::at_line(path, line_number, format!("not valid JSON: {e}"))),
        }
    }
    rows
}

fn csv_rows(path: &Path, bytes: &[u8], columns: &ReplayColumns, problems: &mut Vec<Diagnostic>) -> Vec<(u64, Value)> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut lines = LineCounter::new(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(Diagnostic::at_line(path, 1, format!("cannot read the header: {e}")));
            return Vec::new();
        }
    };
    if !headers.iter().any(|h| h == columns.id) {
        problems.push(
            Diagnostic::at_line(path, 1, format!("missing the id column `{}`", columns.id))
                .with_field(columns.id.clone()),
        );
        return Vec::new();
    }
    let has = |c: &Option<String>| c.as_deref().is_some_and(|c| headers.iter().any(|h| h == c));
    if !has(&columns.action) && !has(&columns.score) {
        problems.push(Diagnostic::at_line(path, 1, "needs an action column or a score column"));
        return Vec::new();
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| lines.csv_line(p));
                let object: serde_json::Map<String, Value> = headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                    .collect();
                rows.push((line, Value::Object(object)));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.csv_line(p));
                problems.push(Diagnostic::at_line(path, line, format!("malformed CSV: {e}")));
            }
        }
    }
    rows
}

pub struct ReplayTarget {
    data: ReplayData,
    info: TargetInfo,
}

impl ReplayTarget {
    pub fn new(data: ReplayData, case_ids: &[&str]) -> Self {
        let file = data.config.path.display().to_string();
        let mut notes = Vec::new();
        if !data.unknown_ids.is_empty() {
            let shown: Vec<&str> = data.unknown_ids.iter().take(10).map(String::as_str).collect();
            notes.push(format!(
                "{} recorded decisions in {file} name cases that are in none of the corpora: {}{}",
                data.unknown_ids.len(),
                shown.join(", "),
                if data.unknown_ids.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        let missing = case_ids.iter().filter(|id| !data.verdicts.contains_key(**id)).count();
        if missing > 0 {
            notes.push(format!(
                "{missing} cases have no recorded decision in {file}; they end as errors"
            ));
        }
        let fingerprint = fingerprint(
            ReplayData::NAME,
            &ReplayFingerprint {
                file_sha256: &data.sha256,
                columns: &data.config.columns,
                action_map: &data.config.action_map,
                threshold: data.config.threshold,
            },
        );
        let info = TargetInfo {
            kind: ReplayData::NAME.into(),
            description: format!("decisions recorded in {file}"),
            fingerprint,
            gives_notice: true,
            notes,
        };
        ReplayTarget { data, info }
    }
}

impl Moderator for ReplayTarget {
    fn info(&self) -> TargetInfo {
        self.info.clone()
    }

    fn batch_size(&self) -> usize {
        256
    }

    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        Box::pin(async move {
            Ok(batch
                .iter()
                .map(|r| match self.data.verdicts.get(r.id) {
                    Some(v) => v.clone(),
                    None => Verdict::failed(format!(
                        "no recorded decision for this case in {}",
                        self.data.config.path.display()
                    )),
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_pinned() {
        let data = ReplayData {
            config: ReplayConfig {
                path: PathBuf::from("recorded.csv"),
                columns: ReplayColumns::default(),
                action_map: [("taken_down".to_string(), Action::Remove)].into(),
                threshold: Some(0.5),
            },
            verdicts: HashMap::new(),
            sha256: crate::hash::sha256_hex(b"id,action\n"),
            unknown_ids: Vec::new(),
        };
        assert_eq!(
            ReplayTarget::new(data, &[]).info().fingerprint,
            "ecffa89d77f695658d8121261fefbddd99f738c539d40977af86e3bebdc51ba2"
        );
    }
}
