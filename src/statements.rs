//! Statements of reasons in the EU DSA Transparency Database format (CSV dumps
//! with JSON-encoded list cells, JSON, or JSON Lines): required fields present,
//! values allowed, conditional fields given, automated detection and decision
//! disclosed — reported field by field — and joined to a run's decisions by the
//! platform's decision id (`puid` in the submission API, `platform_uid` in the
//! database's daily dumps).
//!
//! The database changed its schema on 1 July 2025 (new statement categories,
//! some earlier ones renamed or removed); each statement is checked against the
//! schema in force at its `created_at`, and one without `created_at` (a
//! platform's own statement, not yet submitted) against the current schema.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Diagnostics, LineCounter, excerpt};
use crate::input::{DATA_LIMIT, read_input};
use crate::visible::for_terminal_line;

const VISIBILITY: &[&str] = &[
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
];
const MONETARY: &[&str] = &[
    "DECISION_MONETARY_SUSPENSION",
    "DECISION_MONETARY_TERMINATION",
    "DECISION_MONETARY_OTHER",
];
const PROVISION: &[&str] = &[
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
];
const ACCOUNT: &[&str] = &["DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"];
const GROUNDS: &[&str] = &[
    "DECISION_GROUND_ILLEGAL_CONTENT",
    "DECISION_GROUND_INCOMPATIBLE_CONTENT",
];
const CONTENT_TYPES: &[&str] = &[
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_OTHER",
];
/// Statement categories from 1 July 2025.
const CATEGORIES: &[&str] = &[
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
];
/// Statement categories before 1 July 2025. `SCOPE_OF_PLATFORM_SERVICE` became
/// `OTHER_VIOLATION_TC` and `UNSAFE_AND_ILLEGAL_PRODUCTS` became
/// `UNSAFE_AND_PROHIBITED_PRODUCTS`; `NON_CONSENSUAL_BEHAVIOUR` and
/// `PORNOGRAPHY_OR_SEXUALIZED_CONTENT` were dropped.
const CATEGORIES_BEFORE_2025_07: &[&str] = &[
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
    "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
];

/// The day the current schema took effect.
const SCHEMA_CHANGE: NaiveDate = match NaiveDate::from_ymd_opt(2025, 7, 1) {
    Some(day) => day,
    None => panic!("2025-07-01 is a date"),
};

/// The database's schema a statement is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    BeforeJuly2025,
    FromJuly2025,
}

impl Schema {
    fn at(created: Option<NaiveDate>) -> Schema {
        match created {
            Some(day) if day < SCHEMA_CHANGE => Schema::BeforeJuly2025,
            _ => Schema::FromJuly2025,
        }
    }

    /// How the schema is named in reports.
    fn label(self) -> &'static str {
        match self {
            Schema::BeforeJuly2025 => "before 2025-07-01",
            Schema::FromJuly2025 => "from 2025-07-01",
        }
    }

    fn categories(self) -> &'static [&'static str] {
        match self {
            Schema::BeforeJuly2025 => CATEGORIES_BEFORE_2025_07,
            Schema::FromJuly2025 => CATEGORIES,
        }
    }
}

/// The decision-id fields, in the order looked for: the submission API's, then the dumps'.
const DECISION_ID_FIELDS: [&str; 2] = ["puid", "platform_uid"];

/// The field that holds a statement's decision id: the first of
/// [`DECISION_ID_FIELDS`] present, `puid` when neither is.
fn decision_id_field(row: &Value) -> &'static str {
    DECISION_ID_FIELDS
        .into_iter()
        .find(|f| row.get(*f).is_some())
        .unwrap_or(DECISION_ID_FIELDS[0])
}

const SOURCE_TYPES: &[&str] = &[
    "SOURCE_ARTICLE_16",
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    "SOURCE_VOLUNTARY",
];
const YES_NO: &[&str] = &["Yes", "No"];
const AUTOMATED_DECISION: &[&str] = &[
    "AUTOMATED_DECISION_FULLY",
    "AUTOMATED_DECISION_PARTIALLY",
    "AUTOMATED_DECISION_NOT_AUTOMATED",
];
const ACCOUNT_TYPES: &[&str] = &["ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"];
/// EU and EEA member states (ISO 3166-1 alpha-2).
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// The report on a file of statements of reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatementsReport {
    pub file: String,
    pub statements: u64,
    /// Statements with every required field present and allowed.
    pub valid: u64,
    /// Problems by field, fields with most problems first.
    pub fields: Vec<FieldIssues>,
    /// `automated_detection` values and how often each was given.
    pub automated_detection: BTreeMap<String, u64>,
    /// `automated_decision` values and how often each was given.
    pub automated_decision: BTreeMap<String, u64>,
    /// How many statements were checked against each schema of the database
    /// ("before 2025-07-01", "from 2025-07-01"), chosen by their `created_at`.
    #[serde(default)]
    pub schemas: BTreeMap<String, u64>,
    /// The join to a run's adverse decisions by decision id, when a run is given.
    pub join: Option<Join>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldIssues {
    pub field: String,
    pub missing: u64,
    pub invalid: u64,
    /// A few located examples.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Join {
    /// Adverse decisions that carry a decision id.
    pub decisions_with_id: u64,
    /// Of those, how many have a statement with that decision id.
    pub matched: u64,
    pub decisions_without_statement: u64,
    pub statements_without_decision: u64,
}

/// Reads and checks a file of statements; `decision_ids` (the adverse decisions'
/// ids) joins them to a run.
pub fn check_statements(path: &Path, decision_ids: Option<&[String]>) -> Result<StatementsReport, Diagnostics> {
    let rows = read_rows(path)?;
    let mut issues: BTreeMap<String, FieldIssues> = BTreeMap::new();
    let mut report = StatementsReport {
        file: path.display().to_string(),
        statements: rows.len() as u64,
        valid: 0,
        fields: Vec::new(),
        automated_detection: BTreeMap::new(),
        automated_decision: BTreeMap::new(),
        schemas: BTreeMap::new(),
        join: None,
    };
    let mut puids = HashSet::new();
    for (where_, row) in &rows {
        let mut ok = true;
        let mut problem = |field: &str, missing: bool, detail: String| {
            ok = false;
            let entry = issues.entry(field.to_string()).or_insert_with(|| FieldIssues {
                field: field.to_string(),
                missing: 0,
                invalid: 0,
                examples: Vec::new(),
            });
            if missing {
                entry.missing += 1;
            } else {
                entry.invalid += 1;
            }
            if entry.examples.len() < 3 {
                entry.examples.push(format!("{where_}: {detail}"));
            }
        };
        let schema = check_row(row, &mut problem);
        *report.schemas.entry(schema.label().to_string()).or_default() += 1;
        if ok {
            report.valid += 1;
        }
        for (field, counts) in [
            ("automated_detection", &mut report.automated_detection),
            ("automated_decision", &mut report.automated_decision),
        ] {
            let value = text(row, field).unwrap_or_else(|| "(missing)".into());
            *counts.entry(value).or_default() += 1;
        }
        if let Some(id) = text(row, decision_id_field(row)) {
            puids.insert(id);
        }
    }
    let mut fields: Vec<FieldIssues> = issues.into_values().collect();
    fields.sort_by(|a, b| {
        (b.missing + b.invalid)
            .cmp(&(a.missing + a.invalid))
            .then_with(|| a.field.cmp(&b.field))
    });
    report.fields = fields;
    report.join = decision_ids.map(|ids| {
        let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let matched = ids.iter().filter(|id| puids.contains(**id)).count() as u64;
        Join {
            decisions_with_id: ids.len() as u64,
            matched,
            decisions_without_statement: ids.len() as u64 - matched,
            statements_without_decision: puids.iter().filter(|p| !ids.contains(p.as_str())).count() as u64,
        }
    });
    Ok(report)
}

/// A field as text, or `None` when absent or blank.
fn text(row: &Value, field: &str) -> Option<String> {
    match row.get(field)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        other => Some(other.to_string()),
    }
}

/// An array field: a JSON array, or (in CSV dumps) a JSON-encoded list in a cell.
fn list(row: &Value, field: &str) -> Option<Result<Vec<String>, String>> {
    let value = row.get(field)?;
    let parsed = match value {
        Value::Null => return None,
        Value::Array(items) => items.clone(),
        Value::String(s) if s.trim().is_empty() => return None,
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(items)) => items,
            _ => return Some(Err(format!("`{s}` is not a JSON list"))),
        },
        other => return Some(Err(format!("`{other}` is not a list"))),
    };
    Some(Ok(parsed
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect()))
}

/// Checks one statement, reporting each problem as (field, missing?, detail);
/// returns the schema it was checked against.
fn check_row(row: &Value, problem: &mut dyn FnMut(&str, bool, String)) -> Schema {
    let created = match text(row, "created_at") {
        None => None,
        Some(v) => {
            let day = parse_day(&v);
            if day.is_none() {
                problem("created_at", false, not_a_date(&v));
            }
            day
        }
    };
    let schema = Schema::at(created);
    let in_schema = format!(" for a statement created {}", schema.label());
    let one_of = |field: &str,
                  allowed: &[&str],
                  required: bool,
                  problem: &mut dyn FnMut(&str, bool, String)|
     -> Option<String> {
        match text(row, field) {
            None => {
                if required {
                    problem(field, true, "missing".into());
                }
                None
            }
            Some(v) if allowed.contains(&v.as_str()) => Some(v),
            Some(v) => {
                problem(field, false, format!("`{}` is not an allowed value", excerpt(&v)));
                None
            }
        }
    };
    let list_of_in = |field: &str,
                      allowed: &dyn Fn(&str) -> bool,
                      context: &str,
                      problem: &mut dyn FnMut(&str, bool, String)|
     -> Option<Vec<String>> {
        match list(row, field)? {
            Ok(items) => {
                for v in items.iter().filter(|v| !allowed(v)) {
                    problem(
                        field,
                        false,
                        format!("`{}` is not an allowed value{context}", excerpt(v)),
                    );
                }
                Some(items)
            }
            Err(e) => {
                problem(field, false, e);
                None
            }
        }
    };
    let list_of = |field: &str, allowed: &dyn Fn(&str) -> bool, problem: &mut dyn FnMut(&str, bool, String)| {
        list_of_in(field, allowed, "", problem)
    };
    let visibility = list_of("decision_visibility", &|v| VISIBILITY.contains(&v), problem);
    let monetary = one_of("decision_monetary", MONETARY, false, problem);
    let provision = one_of("decision_provision", PROVISION, false, problem);
    let account = one_of("decision_account", ACCOUNT, false, problem);
    if visibility.as_ref().is_none_or(Vec::is_empty) && monetary.is_none() && provision.is_none() && account.is_none() {
        problem(
            "decision_visibility",
            true,
            "none of decision_visibility, decision_monetary, decision_provision or decision_account is given".into(),
        );
    }
    if visibility
        .as_ref()
        .is_some_and(|v| v.iter().any(|x| x == "DECISION_VISIBILITY_OTHER"))
        && text(row, "decision_visibility_other").is_none()
    {
        problem(
            "decision_visibility_other",
            true,
            "required when decision_visibility includes DECISION_VISIBILITY_OTHER".into(),
        );
    }
    if monetary.as_deref() == Some("DECISION_MONETARY_OTHER") && text(row, "decision_monetary_other").is_none() {
        problem(
            "decision_monetary_other",
            true,
            "required when decision_monetary is DECISION_MONETARY_OTHER".into(),
        );
    }
    match one_of("decision_ground", GROUNDS, true, problem).as_deref() {
        Some("DECISION_GROUND_ILLEGAL_CONTENT") => {
            max_text(row, "illegal_content_legal_ground", 500, true, problem);
            max_text(row, "illegal_content_explanation", 2000, true, problem);
        }
        Some("DECISION_GROUND_INCOMPATIBLE_CONTENT") => {
            max_text(row, "incompatible_content_ground", 500, true, problem);
            max_text(row, "incompatible_content_explanation", 2000, true, problem);
            one_of("incompatible_content_illegal", YES_NO, true, problem);
        }
        _ => {}
    }
    match list_of("content_type", &|v| CONTENT_TYPES.contains(&v), problem) {
        None => problem("content_type", true, "missing".into()),
        Some(types) if types.is_empty() => problem("content_type", true, "empty".into()),
        Some(types) => {
            if types.iter().any(|t| t == "CONTENT_TYPE_OTHER") && text(row, "content_type_other").is_none() {
                problem(
                    "content_type_other",
                    true,
                    "required when content_type includes CONTENT_TYPE_OTHER".into(),
                );
            }
        }
    }
    match text(row, "category") {
        None => problem("category", true, "missing".into()),
        Some(v) if schema.categories().contains(&v.as_str()) => {}
        Some(v) => problem(
            "category",
            false,
            format!("`{}` is not an allowed value{in_schema}", excerpt(&v)),
        ),
    }
    for field in ["content_date", "application_date"] {
        date(row, field, true, problem);
    }
    for field in [
        "end_date_visibility_restriction",
        "end_date_monetary_restriction",
        "end_date_service_restriction",
        "end_date_account_restriction",
    ] {
        date(row, field, false, problem);
    }
    max_text(row, "decision_facts", 5000, true, problem);
    one_of("source_type", SOURCE_TYPES, true, problem);
    one_of("automated_detection", YES_NO, true, problem);
    one_of("automated_decision", AUTOMATED_DECISION, true, problem);
    let id_field = decision_id_field(row);
    match text(row, id_field) {
        None => problem(id_field, true, "missing".into()),
        Some(p) if p.len() > 500 || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {
            problem(
                id_field,
                false,
                format!(
                    "`{}` must be at most 500 characters of A–Z, a–z, 0–9, `-` and `_`",
                    excerpt(&p)
                ),
            );
        }
        Some(_) => {}
    }
    one_of("account_type", ACCOUNT_TYPES, false, problem);
    list_of_in(
        "category_addition",
        &|v| schema.categories().contains(&v),
        &in_schema,
        problem,
    );
    list_of("category_specification", &|v| v.starts_with("KEYWORD_"), problem);
    list_of("territorial_scope", &|v| EEA.contains(&v), problem);
    if let Some(lang) =
        text(row, "content_language").filter(|l| !(l.len() == 2 && l.chars().all(|c| c.is_ascii_alphabetic())))
    {
        problem(
            "content_language",
            false,
            format!("`{}` is not an ISO 639-1 code", excerpt(&lang)),
        );
    }
    schema
}

fn max_text(row: &Value, field: &str, max: usize, required: bool, problem: &mut dyn FnMut(&str, bool, String)) {
    match text(row, field) {
        None if required => problem(field, true, "missing".into()),
        Some(v) if v.chars().count() > max => {
            problem(field, false, format!("{} characters; at most {max}", v.chars().count()))
        }
        _ => {}
    }
}

fn date(row: &Value, field: &str, required: bool, problem: &mut dyn FnMut(&str, bool, String)) {
    match text(row, field) {
        None if required => problem(field, true, "missing".into()),
        Some(v) if parse_day(&v).is_none() => problem(field, false, not_a_date(&v)),
        _ => {}
    }
}

fn not_a_date(value: &str) -> String {
    format!("`{}` is not a YYYY-MM-DD date (a time may follow)", excerpt(value))
}

/// The day of a date: `YYYY-MM-DD` as the submission API takes it, or with a
/// time as the dumps give it (`2025-07-01 00:00:00`, RFC 3339).
fn parse_day(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
                .map(|t| t.date())
        })
        .or_else(|| DateTime::parse_from_rfc3339(value).ok().map(|t| t.date_naive()))
}

/// Statements with where each came from ("row 3", "line 2", "item 1").
fn read_rows(path: &Path) -> Result<Vec<(String, Value)>, Diagnostics> {
    let fail = |message: String| Diagnostics(vec![Diagnostic::file(path, message)]);
    let input = read_input(path, DATA_LIMIT).map_err(|e| Diagnostics(vec![e.at(path)]))?;
    let bytes = input.content();
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "json" => {
            let value: Value = serde_json::from_slice(bytes).map_err(|e| fail(format!("not valid JSON: {e}")))?;
            let items = match value {
                Value::Array(items) => items,
                Value::Object(mut o) => match o.remove("statements") {
                    Some(Value::Array(items)) => items,
                    _ => vec![Value::Object(o)],
                },
                _ => {
                    return Err(fail(
                        "expected a statement, a list of statements, or {\"statements\": [...]}".into(),
                    ));
                }
            };
            Ok(items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("statement {}", i + 1), v))
                .collect())
        }
        "jsonl" | "ndjson" => {
            let mut rows = Vec::new();
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let v: Value = serde_json::from_slice(line).map_err(|e| {
                    Diagnostics(vec![Diagnostic::at_line(
                        path,
                        i as u64 + 1,
                        format!("not valid JSON: {e}"),
                    )])
                })?;
                rows.push((format!("line {}", i + 1), v));
            }
            Ok(rows)
        }
        _ => {
            let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
            let mut lines = LineCounter::new(bytes);
            let headers = reader
                .headers()
                .map_err(|e| fail(format!("cannot read the header: {e}")))?
                .clone();
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| {
                    Diagnostics(vec![Diagnostic::at_line(
                        path,
                        e.position().map_or(0, |p| lines.csv_line(p)),
                        format!("malformed CSV: {e}"),
                    )])
                })?;
                let line = record.position().map_or(0, |p| lines.csv_line(p));
                let object = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                    .collect();
                rows.push((format!("line {line}"), Value::Object(object)));
            }
            Ok(rows)
        }
    }
}

/// A human-readable rendering of the report.
pub fn render_statements(report: &StatementsReport) -> String {
    // field names, examples and values come from the file: one line each, nothing that acts on a terminal
    let v = |text: &str| for_terminal_line(text).into_owned();
    let mut out = format!(
        "{}: {} of {} statements of reasons are complete and valid\n",
        v(&report.file),
        report.valid,
        report.statements
    );
    if !report.fields.is_empty() {
        out.push_str("problems by field:\n");
        for f in &report.fields {
            out.push_str(&format!(
                "  {:<36} {:>5} missing {:>5} invalid   e.g. {}\n",
                v(&f.field),
                f.missing,
                f.invalid,
                v(&f.examples.join("; "))
            ));
        }
    }
    let values = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, n)| format!("{} {n}", v(k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!(
        "automated_detection: {}\n",
        values(&report.automated_detection)
    ));
    out.push_str(&format!("automated_decision: {}\n", values(&report.automated_decision)));
    out.push_str(&format!(
        "checked against the schema in force at created_at: {}\n",
        values(&report.schemas)
    ));
    if let Some(j) = &report.join {
        out.push_str(&format!(
            "joined to the run: {} of {} adverse decisions with an id have a statement; {} statements match no decision\n",
            j.matched, j.decisions_with_id, j.statements_without_decision
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Value {
        serde_json::json!({
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "Hate speech policy, section 4",
            "incompatible_content_explanation": "The post attacks a protected group.",
            "incompatible_content_illegal": "No",
            "content_type": ["CONTENT_TYPE_TEXT"],
            "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
            "content_date": "2026-10-01",
            "application_date": "2026-10-02",
            "decision_facts": "Detected by a classifier and removed.",
            "source_type": "SOURCE_VOLUNTARY",
            "automated_detection": "Yes",
            "automated_decision": "AUTOMATED_DECISION_FULLY",
            "puid": "D-123",
            "territorial_scope": ["DE", "FR"]
        })
    }

    fn problems(row: &Value) -> Vec<String> {
        let mut out = Vec::new();
        check_row(row, &mut |field, missing, detail| {
            out.push(format!(
                "{field} {} {detail}",
                if missing { "missing" } else { "invalid" }
            ))
        });
        out
    }

    #[test]
    fn a_complete_statement_passes() {
        assert!(problems(&valid()).is_empty(), "{:?}", problems(&valid()));
    }

    #[test]
    fn missing_invalid_and_conditional_fields_are_named() {
        let mut row = valid();
        let o = row.as_object_mut().unwrap();
        o.remove("automated_detection");
        o.insert("automated_decision".into(), "MAYBE".into());
        o.insert("decision_ground".into(), "DECISION_GROUND_ILLEGAL_CONTENT".into());
        o.insert("content_date".into(), "01/10/2026".into());
        o.insert("territorial_scope".into(), serde_json::json!(["DE", "US"]));
        o.insert("puid".into(), "has spaces".into());
        let p = problems(&row);
        for expected in [
            "automated_detection missing",
            "automated_decision invalid `MAYBE` is not an allowed value",
            "illegal_content_legal_ground missing",
            "illegal_content_explanation missing",
            "content_date invalid `01/10/2026` is not a YYYY-MM-DD date",
            "territorial_scope invalid `US` is not an allowed value",
            "puid invalid",
        ] {
            assert!(p.iter().any(|x| x.starts_with(expected)), "{expected}: {p:?}");
        }
    }

    #[test]
    fn csv_list_cells_are_json() {
        let mut row = valid();
        row["decision_visibility"] = Value::String("[\"DECISION_VISIBILITY_CONTENT_DEMOTED\"]".into());
        row["content_type"] = Value::String("[\"CONTENT_TYPE_TEXT\"]".into());
        assert!(problems(&row).is_empty());
        row["content_type"] = Value::String("CONTENT_TYPE_TEXT".into());
        assert!(problems(&row)[0].starts_with("content_type invalid"));
    }

    #[test]
    fn the_schema_follows_created_at() {
        let mut row = valid();
        row["category"] = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE".into();
        assert_eq!(problems(&row).len(), 1, "not in the current schema");
        row["created_at"] = "2025-06-30 23:59:59".into();
        assert!(problems(&row).is_empty(), "{:?}", problems(&row));
        row["created_at"] = "2025-07-01T00:00:00Z".into();
        assert!(problems(&row)[0].starts_with("category invalid"));
        row["category"] = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC".into();
        assert!(problems(&row).is_empty());
    }

    #[test]
    fn the_dumps_decision_id_is_platform_uid() {
        let mut row = valid();
        let id = row.as_object_mut().unwrap().remove("puid").unwrap();
        assert_eq!(problems(&row), ["puid missing missing"]);
        row["platform_uid"] = id;
        assert!(problems(&row).is_empty());
        row["platform_uid"] = "has spaces".into();
        assert!(problems(&row)[0].starts_with("platform_uid invalid"));
    }

    #[test]
    fn dates_may_carry_a_time() {
        let day = NaiveDate::from_ymd_opt(2025, 7, 1);
        for text in [
            "2025-07-01",
            "2025-07-01 00:00:00",
            "2025-07-01T12:30:00.5",
            "2025-07-01T23:00:00+02:00",
        ] {
            assert_eq!(parse_day(text), day, "{text}");
        }
        assert_eq!(parse_day("01/07/2025"), None);
        assert_eq!(parse_day("2025-07-01 noon"), None);
    }
}
