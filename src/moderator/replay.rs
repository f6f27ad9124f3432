//! `replay`: decisions recorded elsewhere — exported from a platform's logs, or
//! from an earlier audit — joined to the corpus by case id.
//!
//! The file is CSV (header row) or JSON Lines, chosen by extension. A recorded
//! decision for an id that is in no corpus is reported as a note; a case with no
//! recorded decision ends as an `error` saying so. Nothing is silently dropped.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::check::{Checks, RecordedData};
use super::env::EnvUse;
use super::http::{automated_flag, map_action, scope_text, value_text};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint,
};
use crate::csv_record::first_record;
use crate::decision::{Action, Notice, ScoreRule};
use crate::diagnostic::{Diagnostic, Diagnostics, LineCounter};
use crate::hash::sha256_hex;
use crate::input::{DATA_LIMIT, read_input};
use crate::sym::{Sym, SymMap};

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
    /// The validated rows, shared by every copy of the configuration and the
    /// target built from it (never copied); `None` when the recording was
    /// only hashed ([`RecordedData::HashOnly`]).
    pub recording: Option<Arc<Recording>>,
    pub sha256: String,
    /// Recorded ids that are in none of the corpora.
    pub unknown_ids: Vec<String>,
}

/// How the rows of a recording are written.
#[derive(Debug, Clone, PartialEq)]
enum RowFormat {
    /// CSV, with the names of its columns (from the header row).
    Csv(Vec<String>),
    /// One JSON object per line.
    JsonLines,
}

/// A validated recording held compactly: its bytes once, and where the row
/// of each recorded case starts in them. A row becomes a verdict (with the
/// row as its evidence) only when its case is asked about, so memory holds no
/// object per row — only the file and one small entry per case id.
#[derive(Debug, PartialEq)]
pub struct Recording {
    format: RowFormat,
    content: Vec<u8>,
    /// Case id → byte offset of its row in `content` and the row's line.
    rows: SymMap<(u32, u32)>,
}

impl Recording {
    /// Whether the recording has a row for case `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.offset(id).is_some()
    }

    /// The number of recorded decisions.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Where the row of case `id` starts in `content`.
    fn offset(&self, id: &str) -> Option<usize> {
        // an id that was never interned is in no recording
        let (offset, _) = self.rows.get(Sym::existing(id)?)?;
        usize::try_from(*offset).ok()
    }

    /// The row of case `id`, as the JSON object it is read as.
    fn row(&self, id: &str) -> Option<Value> {
        let start = self.offset(id)?;
        let rest = self.content.get(start..)?;
        match &self.format {
            RowFormat::JsonLines => {
                let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                serde_json::from_slice(&rest[..end]).ok()
            }
            RowFormat::Csv(headers) => {
                let record = first_record(rest)?;
                Some(csv_object(headers, &record))
            }
        }
    }
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
        let loaded = match checks.recorded_data() {
            RecordedData::Read => load_replay(config, checks.case_ids()),
            RecordedData::HashOnly => hash_replay(config),
        };
        match loaded {
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

    /// The recording as only hashed: the fingerprint rests on its hash.
    fn without_answers(&self) -> Option<Arc<dyn TargetConfig>> {
        self.recording.as_ref()?;
        Some(Arc::new(ReplayData {
            recording: None,
            ..self.clone()
        }))
    }
}

/// Loads and validates a recording; `known_ids` are every case id of the corpora.
///
/// Every row is read and checked here, one at a time; what is kept is the
/// file and where each case's row starts ([`Recording`]).
pub fn load_replay(config: ReplayConfig, known_ids: &HashSet<&str>) -> Result<ReplayData, Diagnostics> {
    let path = config.path.clone();
    let path = path.as_path();
    let bytes = read_input(path, DATA_LIMIT).map_err(|e| Diagnostics(vec![e.at(path)]))?;
    let jsonl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
    let mut problems = Vec::new();
    // Case id → (byte offset of its row, its line), while the file is read.
    let mut rows: SymMap<(u32, u32)> = SymMap::new();
    let mut check_row = |line: u64, offset: usize, row: Value, problems: &mut Vec<Diagnostic>| {
        let id = match row_id(&row, &config.columns) {
            Ok(id) => id,
            Err(problem) => {
                problems.push(problem.at(path, line));
                return;
            }
        };
        let id = Sym::new(&id);
        if let Some((_, first)) = rows.get(id) {
            problems.push(
                Diagnostic::at_line(
                    path,
                    line,
                    format!("a second decision for case `{id}` (first at line {first})"),
                )
                .with_field(config.columns.id.clone()),
            );
            return;
        }
        if let Err(problem) = verdict_of(row, &config) {
            problems.push(problem.at(path, line));
            return;
        }
        // The file is at most DATA_LIMIT (1 GiB) long, so offsets and lines fit.
        let spot = (
            u32::try_from(offset).unwrap_or(u32::MAX),
            u32::try_from(line).unwrap_or(u32::MAX),
        );
        rows.insert(id, spot);
    };
    let format = if jsonl {
        jsonl_rows(path, bytes.content(), &mut problems, &mut check_row);
        Some(RowFormat::JsonLines)
    } else {
        csv_rows(path, bytes.content(), &config.columns, &mut problems, &mut check_row).map(RowFormat::Csv)
    };
    let Some(format) = format.filter(|_| problems.is_empty()) else {
        return Err(Diagnostics(problems));
    };
    let mut unknown_ids: Vec<String> = rows
        .keys()
        .filter(|id| !known_ids.contains(id.as_str()))
        .map(|id| id.to_string())
        .collect();
    unknown_ids.sort();
    Ok(ReplayData {
        sha256: sha256_hex(bytes.raw()),
        recording: Some(Arc::new(Recording {
            format,
            content: bytes.into_content(),
            rows,
        })),
        config,
        unknown_ids,
    })
}

/// A recording hashed for its fingerprint, its rows not read.
pub fn hash_replay(config: ReplayConfig) -> Result<ReplayData, Diagnostics> {
    let path = &config.path;
    let bytes = read_input(path, DATA_LIMIT).map_err(|e| Diagnostics(vec![e.at(path)]))?;
    Ok(ReplayData {
        sha256: sha256_hex(bytes.raw()),
        recording: None,
        config,
        unknown_ids: Vec::new(),
    })
}

/// Why a row of a recording cannot be used, and the column it is about.
struct RowProblem {
    message: String,
    field: Option<String>,
}

impl RowProblem {
    fn new(message: impl Into<String>) -> Self {
        RowProblem {
            message: message.into(),
            field: None,
        }
    }

    fn in_field(message: impl Into<String>, field: impl Into<String>) -> Self {
        RowProblem {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    fn at(self, path: &Path, line: u64) -> Diagnostic {
        let diagnostic = Diagnostic::at_line(path, line, self.message);
        match self.field {
            Some(field) => diagnostic.with_field(field),
            None => diagnostic,
        }
    }
}

/// The case id of a row.
fn row_id(row: &Value, columns: &ReplayColumns) -> Result<String, RowProblem> {
    field(row, &columns.id)
        .filter(|v| !is_blank(v))
        .map(value_text)
        .ok_or_else(|| RowProblem::in_field("no case id", columns.id.clone()))
}

/// The verdict a row records, with the row as its evidence.
fn verdict_of(row: Value, config: &ReplayConfig) -> Result<Verdict, RowProblem> {
    let get = |name: &Option<String>| name.as_deref().and_then(|n| field(&row, n)).filter(|v| !is_blank(v));
    let score = match get(&config.columns.score) {
        None => None,
        Some(v) => match number(v) {
            Some(s) => Some(s),
            None => {
                return Err(RowProblem::in_field(
                    format!("score `{}` is not a number", value_text(v)),
                    "score",
                ));
            }
        },
    };
    let action = match (get(&config.columns.action), score, config.threshold) {
        (Some(v), _, _) => map_action(v, &config.action_map).map_err(|e| RowProblem::in_field(e.message, "action"))?,
        (None, Some(s), Some(t)) => action_from_score(s, t),
        (None, Some(_), None) => {
            return Err(RowProblem::new(
                "a score but no action, and the target sets no `threshold`",
            ));
        }
        (None, None, _) => {
            let id = row_id(&row, &config.columns).unwrap_or_default();
            return Err(RowProblem::new(format!(
                "case `{id}` has neither an action nor a score"
            )));
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
        ..Verdict::default()
    };
    Ok(Verdict {
        response: Some(row),
        ..verdict
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

/// Hands each JSON object line to `on_row` with its line and byte offset.
fn jsonl_rows(
    path: &Path,
    bytes: &[u8],
    problems: &mut Vec<Diagnostic>,
    on_row: &mut impl FnMut(u64, usize, Value, &mut Vec<Diagnostic>),
) {
    let mut offset = 0;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let line_number = i as u64 + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) if v.is_object() => on_row(line_number, start, v, problems),
            Ok(_) => problems.push(Diagnostic::at_line(path, line_number, "not a JSON object")),
            Err(e) => problems.push(Diagnostic::at_line(path, line_number, format!("not valid JSON: {e}"))),
        }
    }
}

/// Hands each CSV record to `on_row` as an object (column → text) with its
/// line and the byte offset where it starts; the column names, when the
/// header row is usable.
fn csv_rows(
    path: &Path,
    bytes: &[u8],
    columns: &ReplayColumns,
    problems: &mut Vec<Diagnostic>,
    on_row: &mut impl FnMut(u64, usize, Value, &mut Vec<Diagnostic>),
) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut lines = LineCounter::new(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            problems.push(Diagnostic::at_line(path, 1, format!("cannot read the header: {e}")));
            return None;
        }
    };
    if !headers.contains(&columns.id) {
        problems.push(
            Diagnostic::at_line(path, 1, format!("missing the id column `{}`", columns.id))
                .with_field(columns.id.clone()),
        );
        return None;
    }
    let has = |c: &Option<String>| c.as_deref().is_some_and(|c| headers.iter().any(|h| h == c));
    if !has(&columns.action) && !has(&columns.score) {
        problems.push(Diagnostic::at_line(path, 1, "needs an action column or a score column"));
        return None;
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let (line, start) = record
                    .position()
                    .map_or((0, 0), |p| (lines.csv_line(p), record_start(bytes, p)));
                on_row(line, start, csv_object(&headers, &record), problems);
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.csv_line(p));
                problems.push(Diagnostic::at_line(path, line, format!("malformed CSV: {e}")));
            }
        }
    }
    Some(headers)
}

/// Where the CSV record the reader places at `position` begins: past the
/// line break that ended the previous record, which the position may still
/// point at.
fn record_start(bytes: &[u8], position: &csv::Position) -> usize {
    let mut start = usize::try_from(position.byte()).unwrap_or(usize::MAX).min(bytes.len());
    while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
        start += 1;
    }
    start
}

/// A CSV record as a JSON object: column name → text.
fn csv_object(headers: &[String], record: &csv::StringRecord) -> Value {
    Value::Object(
        headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.clone(), Value::String(v.to_string())))
            .collect(),
    )
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
        let missing = data.recording.as_ref().map_or(0, |recording| {
            case_ids.iter().filter(|id| !recording.contains(id)).count()
        });
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
                .map(
                    |r| match self.data.recording.as_ref().and_then(|recording| recording.row(r.id)) {
                        // Every row was checked when the recording was loaded.
                        Some(row) => verdict_of(row, &self.data.config)
                            .unwrap_or_else(|problem| Verdict::failed(problem.message)),
                        None => Verdict::failed(format!(
                            "no recorded decision for this case in {}",
                            self.data.config.path.display()
                        )),
                    },
                )
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
            recording: None,
            sha256: crate::hash::sha256_hex(b"id,action\n"),
            unknown_ids: Vec::new(),
        };
        assert_eq!(
            ReplayTarget::new(data, &[]).info().fingerprint,
            "ecffa89d77f695658d8121261fefbddd99f738c539d40977af86e3bebdc51ba2"
        );
    }

    fn config(path: PathBuf) -> ReplayConfig {
        ReplayConfig {
            path,
            columns: ReplayColumns::default(),
            action_map: BTreeMap::new(),
            threshold: Some(0.5),
        }
    }

    /// What the target answers for each id (one batch, in order).
    fn answers(data: &ReplayData, ids: &[&str]) -> Vec<Verdict> {
        let target = ReplayTarget::new(data.clone(), ids);
        let requests: Vec<ModerationRequest<'_>> = ids
            .iter()
            .map(|id| ModerationRequest {
                id,
                lang: "en",
                text: "",
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime
            .block_on(target.moderate(&requests))
            .expect("a replay always answers")
    }

    #[test]
    fn csv_rows_are_read_back_as_they_were_checked() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("recorded.csv");
        std::fs::write(
            &path,
            "\u{feff}id,action,score,reason\r\na,remove,0.9,\"quoted, with a comma\r\nand a line break\"\r\n\r\nb,,0.1,\r\nc,allow,,plain\r\n",
        )
        .expect("written");
        let known: HashSet<&str> = ["a", "b", "c"].into();
        let data = load_replay(config(path), &known).expect("a valid recording");
        assert_eq!(data.recording.as_ref().map(|r| r.len()), Some(3));
        let verdicts = answers(&data, &["c", "a", "b", "z"]);
        assert_eq!(verdicts[0].action, Some(Action::Allow));
        assert_eq!(verdicts[0].notice.reason.as_deref(), Some("plain"));
        assert_eq!(verdicts[1].action, Some(Action::Remove));
        assert_eq!(verdicts[1].score, Some(0.9));
        assert_eq!(
            verdicts[1].response,
            Some(serde_json::json!({
                "id": "a",
                "action": "remove",
                "score": "0.9",
                "reason": "quoted, with a comma\r\nand a line break",
            }))
        );
        assert_eq!(verdicts[2].action, Some(Action::Allow));
        assert_eq!(verdicts[2].scores, BTreeMap::from([("score".to_string(), 0.1)]));
        assert_eq!(verdicts[3].action, Some(Action::Error));
    }

    #[test]
    fn json_lines_are_read_back_as_they_were_checked() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("recorded.jsonl");
        std::fs::write(
            &path,
            "{\"id\": 7, \"score\": 0.75, \"extra\": [1, 2]}\n\n  \n{\"id\": \"b\", \"action\": \"allow\"}",
        )
        .expect("written");
        let known: HashSet<&str> = ["7", "b"].into();
        let data = load_replay(config(path), &known).expect("a valid recording");
        let verdicts = answers(&data, &["b", "7"]);
        assert_eq!(verdicts[0].action, Some(Action::Allow));
        assert_eq!(verdicts[1].action, Some(Action::Remove));
        assert_eq!(
            verdicts[1].response,
            Some(serde_json::json!({"id": 7, "score": 0.75, "extra": [1, 2]}))
        );
    }

    #[test]
    fn targets_built_from_a_recording_share_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("recorded.csv");
        std::fs::write(&path, "id,action\na,remove\n").expect("written");
        let known: HashSet<&str> = ["a"].into();
        let data = load_replay(config(path), &known).expect("a valid recording");
        let target = ReplayTarget::new(data.clone(), &["a"]);
        assert!(matches!(
            (&target.data.recording, &data.recording),
            (Some(built), Some(loaded)) if Arc::ptr_eq(built, loaded)
        ));
    }

    #[test]
    fn a_hashed_recording_has_the_fingerprint_of_a_read_one_without_reading_rows() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("recorded.csv");
        std::fs::write(&path, "id,action\na,remove\nb,remove\n").expect("written");
        let known: HashSet<&str> = ["a", "b"].into();
        let read = load_replay(config(path.clone()), &known).expect("a valid recording");
        let hashed = hash_replay(config(path.clone())).expect("a readable file");
        assert!(hashed.recording.is_none());
        assert_eq!(
            ReplayTarget::new(hashed, &["a"]).info().fingerprint,
            ReplayTarget::new(read, &["a"]).info().fingerprint
        );
        std::fs::write(&path, "id,action\na,remove\na,not an action\n").expect("written");
        assert!(load_replay(config(path.clone()), &known).is_err());
        assert!(hash_replay(config(path)).is_ok());
    }

    #[test]
    fn a_target_spec_lets_go_of_its_recording_and_keeps_its_fingerprint() {
        use crate::moderator::TargetSpec;

        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("recorded.csv");
        std::fs::write(&path, "id,action\na,remove\n").expect("written");
        let known: HashSet<&str> = ["a"].into();
        let data = load_replay(config(path), &known).expect("a valid recording");
        let recording = Arc::clone(data.recording.as_ref().expect("rows read"));
        let mut spec = TargetSpec::new(data);
        let setup = Setup {
            env: &|_| None,
            case_ids: &["a"],
            timeout: std::time::Duration::from_secs(1),
        };
        let before = spec.build(&setup).expect("built").info().fingerprint;
        spec.drop_answers();
        assert_eq!(Arc::strong_count(&recording), 1, "only this test holds the rows");
        assert_eq!(spec.build(&setup).expect("built").info().fingerprint, before);
        spec.drop_answers();
    }
}
