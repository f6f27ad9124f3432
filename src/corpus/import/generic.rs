//! Any labelled set an auditor brings — a Jigsaw-style CSV, an SGHateCheck-style
//! file, a platform's own sample — as CSV (header row) or JSON Lines. Flags name
//! the id, text, label, category, target-group and language columns (JSONL field
//! names may be JSON pointers), and `--label-map` maps label values to
//! `protected`/`violating`. Rows whose label maps to nothing are reported and
//! refused; `--skip-unmapped` leaves them out explicitly, listed in the manifest.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::corpus::{Case, CorpusManifest, Label, Provenance, Source, canonical_language_tag};
use crate::diagnostic::{Diagnostic, Diagnostics, LineCounter};
use crate::error::Error;

use super::{ImportSummary, read_suite, snake_case, write_corpus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenericFormat {
    Csv,
    Jsonl,
}

#[derive(Debug, Clone)]
pub struct GenericImport {
    pub format: GenericFormat,
    pub input: PathBuf,
    pub out: PathBuf,
    pub name: Option<String>,
    pub license: String,
    /// Column with the case id (default: row number).
    pub id_column: Option<String>,
    pub text_column: String,
    pub label_column: String,
    /// Source label value → `protected` or `violating`.
    pub label_map: BTreeMap<String, Label>,
    pub category_column: Option<String>,
    /// Category of every case when there is no category column.
    pub category: String,
    pub target_column: Option<String>,
    pub lang_column: Option<String>,
    /// Language of every case when there is no language column.
    pub lang: Option<String>,
    pub skip_unmapped: bool,
    pub force: bool,
}

/// Parses `a=violating,b=protected`.
pub fn parse_label_map(spec: &str) -> Result<BTreeMap<String, Label>, String> {
    let mut map = BTreeMap::new();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((value, label)) = pair.rsplit_once('=') else {
            return Err(format!("`{pair}` is not `value=protected` or `value=violating`"));
        };
        let label =
            Label::parse(label.trim()).ok_or_else(|| format!("`{pair}`: the label must be protected or violating"))?;
        map.insert(value.trim().to_string(), label);
    }
    if map.is_empty() {
        return Err("the label map is empty".into());
    }
    Ok(map)
}

pub fn import_generic(options: &GenericImport) -> Result<ImportSummary, Error> {
    let path = &options.input;
    let (bytes, sha256) = read_suite(path)?;
    let lang = options
        .lang
        .as_deref()
        .map(canonical_language_tag)
        .transpose()
        .map_err(|m| invalid(path, format!("--lang: {m}")))?;
    if lang.is_none() && options.lang_column.is_none() {
        return Err(invalid(
            path,
            "give the language: --lang TAG or --lang-column NAME".into(),
        ));
    }
    let rows = match options.format {
        GenericFormat::Csv => csv_rows(path, bytes.content())?,
        GenericFormat::Jsonl => jsonl_rows(path, bytes.content())?,
    };
    let mut problems = Vec::new();
    let mut unmapped: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut cases = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let stem = options.name.clone().unwrap_or_else(|| {
        snake_case(
            &path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "imported".into()),
        )
    });
    for (line, row) in &rows {
        let get = |name: &str| field(row, name).map(text_of);
        let needed = |name: &str, problems: &mut Vec<Diagnostic>| match get(name) {
            Some(v) if !v.trim().is_empty() => Some(v),
            _ => {
                problems.push(
                    Diagnostic::at_line(path, *line, format!("no value in `{name}`")).with_field(name.to_string()),
                );
                None
            }
        };
        let Some(text) = needed(&options.text_column, &mut problems) else {
            continue;
        };
        let Some(raw_label) = needed(&options.label_column, &mut problems) else {
            continue;
        };
        let Some(label) = options.label_map.get(raw_label.trim()).copied() else {
            unmapped.entry(raw_label.trim().to_string()).or_default().push(*line);
            continue;
        };
        let id = match &options.id_column {
            Some(column) => match needed(column, &mut problems) {
                Some(v) => v.trim().to_string(),
                None => continue,
            },
            None => format!("{stem}-{line}"),
        };
        if let Some(first) = ids.insert(id.clone(), *line) {
            problems.push(Diagnostic::at_line(
                path,
                *line,
                format!("duplicate id `{id}` (first at line {first})"),
            ));
            continue;
        }
        let case_lang = match (&options.lang_column, &lang) {
            (Some(column), fallback) => match get(column).filter(|v| !v.trim().is_empty()) {
                Some(v) => match canonical_language_tag(v.trim()) {
                    Ok(tag) => tag,
                    Err(m) => {
                        problems.push(Diagnostic::at_line(path, *line, m).with_field(column.clone()));
                        continue;
                    }
                },
                None => match fallback {
                    Some(l) => l.clone(),
                    None => {
                        problems.push(Diagnostic::at_line(path, *line, "no language").with_field(column.clone()));
                        continue;
                    }
                },
            },
            (None, Some(l)) => l.clone(),
            (None, None) => unreachable!("checked above"),
        };
        let category = options
            .category_column
            .as_deref()
            .and_then(get)
            .filter(|c| !c.trim().is_empty());
        let target = options
            .target_column
            .as_deref()
            .and_then(get)
            .map(|t| snake_case(&t))
            .filter(|t| !t.is_empty());
        cases.push(Case {
            id,
            lang: case_lang,
            text,
            label,
            category: category.map_or_else(|| options.category.clone(), |c| c.trim().to_string()),
            target_group: target,
            speaker_group: None,
            pair_id: None,
            notes: String::new(),
            metadata: BTreeMap::from([("source_label".to_string(), raw_label)]),
        });
    }
    let mut skipped = Vec::new();
    for (value, lines) in &unmapped {
        let shown: Vec<String> = lines.iter().take(8).map(u64::to_string).collect();
        let more = if lines.len() > shown.len() { ", …" } else { "" };
        let what = format!(
            "{} rows with label `{value}` (lines {}{more})",
            lines.len(),
            shown.join(", ")
        );
        if options.skip_unmapped {
            skipped.push(what);
        } else {
            problems.push(Diagnostic::file(
                path,
                format!("{what} map to nothing: add them to --label-map, or pass --skip-unmapped to leave them out"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(Diagnostics(problems)));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let map: Vec<String> = options.label_map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let manifest = CorpusManifest {
        name: stem,
        version: "imported".into(),
        description: format!("imported from {file_name} (labels: {})", map.join(", ")),
        license: options.license.clone(),
        languages: Vec::new(),
        files: Vec::new(),
        templates: Vec::new(),
        provenance: Vec::new(),
        source: Some(Source {
            name: file_name.clone(),
            file: file_name,
            sha256,
            license: options.license.clone(),
            url: None,
            citation: None,
            imported_with: format!(
                "modaudit {} corpus import {} --label-map {}",
                env!("CARGO_PKG_VERSION"),
                if options.format == GenericFormat::Csv {
                    "csv"
                } else {
                    "jsonl"
                },
                map.join(",")
            ),
            notes: (!skipped.is_empty()).then(|| format!("left out: {}", skipped.join("; "))),
        }),
    };
    let provenance = Provenance {
        languages: Vec::new(),
        written_by: "the source named in `source`".into(),
        checked_by: "imported unchanged".into(),
        review_status: "as published by the source".into(),
        notes: None,
    };
    let mut summary = write_corpus(&options.out, options.force, manifest, &cases, provenance)?;
    summary.skipped = skipped;
    Ok(summary)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn field<'a>(row: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        row.pointer(name)
    } else {
        row.get(name)
    }
}

fn csv_rows(path: &Path, bytes: &[u8]) -> Result<Vec<(u64, Value)>, Error> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut lines = LineCounter::new(bytes);
    let headers = reader
        .headers()
        .map_err(|e| invalid(path, format!("cannot read the header: {e}")))?
        .clone();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let object = headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                    .collect();
                rows.push((r.position().map_or(0, |p| lines.csv_line(p)), Value::Object(object)));
            }
            Err(e) => problems.push(Diagnostic::at_line(
                path,
                e.position().map_or(0, |p| lines.csv_line(p)),
                format!("malformed CSV: {e}"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(Error::Invalid(Diagnostics(problems)))
    }
}

fn jsonl_rows(path: &Path, bytes: &[u8]) -> Result<Vec<(u64, Value)>, Error> {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) if v.is_object() => rows.push((i as u64 + 1, v)),
            Ok(_) => problems.push(Diagnostic::at_line(path, i as u64 + 1, "not a JSON object")),
            Err(e) => problems.push(Diagnostic::at_line(path, i as u64 + 1, format!("not valid JSON: {e}"))),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(Error::Invalid(Diagnostics(problems)))
    }
}

fn invalid(path: &Path, message: String) -> Error {
    Error::Invalid(Diagnostics(vec![Diagnostic::file(path, message)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_maps_parse() {
        let map = parse_label_map("hateful=violating, non-hateful=protected").unwrap();
        assert_eq!(map["non-hateful"], Label::Protected);
        assert!(
            parse_label_map("toxic=bad")
                .unwrap_err()
                .contains("protected or violating")
        );
        assert!(parse_label_map("").is_err());
    }
}
