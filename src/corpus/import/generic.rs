//! Any labelled set an auditor brings — a Jigsaw-style CSV, an SGHateCheck-style
//! file, a platform's own sample — as CSV (header row) or JSON Lines. Flags name
//! the id, text, label, category, target-group and language columns (JSONL field
//! names may be JSON pointers), and `--label-map` maps label values to
//! `protected`/`violating`. By default every row must become a valid case:
//! rows without a label or with one the map does not name are reported and the
//! import refused, and so are rows that fail validation (no text, a duplicate
//! id, a malformed record …). `--skip-unmapped` and `--skip-invalid` leave them
//! out explicitly instead, each row listed with its reason in the manifest.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::corpus::{Case, CorpusManifest, Label, Provenance, Source, canonical_language_tag, case_problems};
use crate::diagnostic::{Diagnostic, Diagnostics, LineCounter, excerpt};
use crate::error::Error;
use crate::sym::Sym;

use super::{
    GroupMap, GroupMapper, ImportSummary, count_rows, group_skipped, line_numbers, read_suite, snake_case, write_corpus,
};

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
    /// Leave out rows without a label or with one the map does not name.
    pub skip_unmapped: bool,
    /// Leave out rows that fail validation (no text, duplicate id, malformed …).
    pub skip_invalid: bool,
    pub force: bool,
    /// A CSV file mapping target-group values to canonical groups ([`super::GroupMap`]).
    pub group_map: Option<PathBuf>,
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

/// Why a row did not become a case.
enum Rejection {
    /// The row has no label, or one the label map does not name (`--skip-unmapped`).
    Unmapped(Option<String>),
    /// The row fails validation (`--skip-invalid`): the grouping reason and the located problem.
    Invalid(String, Box<Diagnostic>),
}

/// Imports a labelled CSV or JSON Lines file as a corpus directory.
pub fn import_generic(options: &GenericImport) -> Result<ImportSummary, Error> {
    let path = &options.input;
    let group_map = GroupMap::load_optional(options.group_map.as_deref())?;
    let groups = GroupMapper::new(&group_map, &[]);
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
    let stem = options.name.clone().unwrap_or_else(|| {
        snake_case(
            &path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "imported".into()),
        )
    });
    let mut rejected: Vec<(u64, Rejection)> = Vec::new();
    let rows = match options.format {
        GenericFormat::Csv => csv_rows(path, bytes.content())?,
        GenericFormat::Jsonl => jsonl_rows(bytes.content()),
    };
    let mut cases = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    for (line, row) in rows {
        let row = match row {
            Ok(row) => row,
            Err((reason, message)) => {
                rejected.push((
                    line,
                    Rejection::Invalid(reason, Box::new(Diagnostic::at_line(path, line, message))),
                ));
                continue;
            }
        };
        match row_to_case(options, path, &stem, lang.as_deref(), line, &row, &mut ids) {
            Ok(mut case) => {
                case.target_group = case.target_group.and_then(|t| groups.map(&t)).map(Sym::from);
                cases.push(case)
            }
            Err(rejection) => rejected.push((line, rejection)),
        }
    }

    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    let mut unmapped: Vec<(Option<String>, Vec<u64>)> = Vec::new();
    let mut invalid_rows = 0;
    for (line, rejection) in rejected {
        match rejection {
            Rejection::Unmapped(value) if options.skip_unmapped => {
                skipped.push((line, unmapped_reason(options, &value)))
            }
            Rejection::Unmapped(value) => match unmapped.iter_mut().find(|(v, _)| *v == value) {
                Some((_, lines)) => lines.push(line),
                None => unmapped.push((value, vec![line])),
            },
            Rejection::Invalid(reason, _) if options.skip_invalid => skipped.push((line, reason)),
            Rejection::Invalid(_, problem) => {
                invalid_rows += 1;
                problems.push(*problem);
            }
        }
    }
    for (value, lines) in &unmapped {
        let (rows, at) = (count_rows(lines.len()), line_numbers(lines));
        problems.push(Diagnostic::file(
            path,
            match value {
                Some(value) => format!(
                    "{rows} with label `{}` ({at}) {} to nothing: add the label to --label-map, or pass --skip-unmapped to leave such rows out",
                    excerpt(value),
                    if lines.len() == 1 { "maps" } else { "map" }
                ),
                None => format!(
                    "{rows} with no value in `{}` ({at}): pass --skip-unmapped to leave rows without a label out",
                    options.label_column
                ),
            },
        ));
    }
    if invalid_rows > 0 {
        problems.push(Diagnostic::file(
            path,
            format!(
                "{} failed validation: correct them, or pass --skip-invalid to leave them out (listed in the corpus manifest)",
                count_rows(invalid_rows)
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(Diagnostics(problems)));
    }
    let skipped = group_skipped(skipped);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let map: Vec<String> = options.label_map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut flags = String::new();
    for (on, flag) in [
        (options.skip_unmapped, " --skip-unmapped"),
        (options.skip_invalid, " --skip-invalid"),
    ] {
        if on {
            flags.push_str(flag);
        }
    }
    if let Some(name) = options.group_map.as_ref().and_then(|m| m.file_name()) {
        flags.push_str(&format!(" --group-map {}", name.to_string_lossy()));
    }
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
                "modaudit {} corpus import {} --label-map {}{flags}",
                env!("CARGO_PKG_VERSION"),
                if options.format == GenericFormat::Csv {
                    "csv"
                } else {
                    "jsonl"
                },
                map.join(",")
            ),
            notes: None,
            skipped,
        }),
    };
    let provenance = Provenance {
        languages: Vec::new(),
        written_by: "the source named in `source`".into(),
        checked_by: "imported unchanged".into(),
        review_status: "as published by the source".into(),
        notes: None,
    };
    write_corpus(&options.out, options.force, manifest, &cases, provenance)
}

fn unmapped_reason(options: &GenericImport, value: &Option<String>) -> String {
    match value {
        Some(value) => format!("label `{}` maps to nothing", excerpt(value)),
        None => format!("no value in `{}`", options.label_column),
    }
}

/// One row as a case (its target group as written: the caller maps it), or
/// why not. `ids` holds the ids taken so far and their lines.
fn row_to_case(
    options: &GenericImport,
    path: &Path,
    stem: &str,
    lang: Option<&str>,
    line: u64,
    row: &Value,
    ids: &mut HashMap<String, u64>,
) -> Result<Case, Rejection> {
    let get = |name: &str| field(row, name).map(text_of).filter(|v| !v.trim().is_empty());
    let located = |column: &str, message: String| {
        Box::new(Diagnostic::at_line(path, line, message).with_field(column.to_string()))
    };
    let missing = |column: &str| {
        Rejection::Invalid(
            format!("no value in `{column}`"),
            located(column, format!("no value in `{column}`")),
        )
    };
    let text = get(&options.text_column).ok_or_else(|| missing(&options.text_column))?;
    let raw_label = get(&options.label_column).ok_or(Rejection::Unmapped(None))?;
    let label = options
        .label_map
        .get(raw_label.trim())
        .copied()
        .ok_or_else(|| Rejection::Unmapped(Some(raw_label.trim().to_string())))?;
    let id = match &options.id_column {
        Some(column) => get(column).ok_or_else(|| missing(column))?.trim().to_string(),
        None => format!("{stem}-{line}"),
    };
    if let Some(first) = ids.get(&id) {
        return Err(Rejection::Invalid(
            "duplicate id".into(),
            Box::new(Diagnostic::at_line(
                path,
                line,
                format!("duplicate id `{}` (first at line {first})", excerpt(&id)),
            )),
        ));
    }
    let case_lang = match (&options.lang_column, lang) {
        (Some(column), fallback) => match (get(column), fallback) {
            (Some(v), _) => canonical_language_tag(v.trim())
                .map_err(|m| Rejection::Invalid(format!("malformed language tag in `{column}`"), located(column, m)))?,
            (None, Some(l)) => l.to_string(),
            (None, None) => return Err(missing(column)),
        },
        (None, Some(l)) => l.to_string(),
        (None, None) => unreachable!("checked before any row is read"),
    };
    let category = options.category_column.as_deref().and_then(get);
    let target = options.target_column.as_deref().and_then(get);
    let case = Case {
        id: id.into(),
        lang: case_lang.into(),
        text: text.into(),
        label,
        category: category
            .map_or_else(|| options.category.clone(), |c| c.trim().to_string())
            .into(),
        target_group: target.map(Into::into),
        characteristics: Default::default(),
        speaker_group: None,
        pair_id: None,
        notes: Default::default(),
        metadata: BTreeMap::from([("source_label".to_string(), raw_label)]).into(),
    };
    if let Some((column, message)) = case_problems(&case).into_iter().next() {
        return Err(Rejection::Invalid(
            format!("`{column}`: {message}"),
            located(column, message),
        ));
    }
    ids.insert(case.id.to_string(), line);
    Ok(case)
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

/// Rows of a file with their line: a JSON object, or (reason, message) for a row that cannot be read.
type Rows = Vec<(u64, Result<Value, (String, String)>)>;

fn csv_rows(path: &Path, bytes: &[u8]) -> Result<Rows, Error> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let mut lines = LineCounter::new(bytes);
    let headers = reader
        .headers()
        .map_err(|e| invalid(path, format!("cannot read the header: {e}")))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let object = headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                    .collect();
                rows.push((r.position().map_or(0, |p| lines.csv_line(p)), Ok(Value::Object(object))));
            }
            Err(e) => rows.push((
                e.position().map_or(0, |p| lines.csv_line(p)),
                Err(("malformed CSV record".into(), format!("malformed CSV: {e}"))),
            )),
        }
    }
    Ok(rows)
}

fn jsonl_rows(bytes: &[u8]) -> Rows {
    let mut rows = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = match serde_json::from_slice::<Value>(line) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err(("not a JSON object".into(), "not a JSON object".into())),
            Err(e) => Err(("not valid JSON".into(), format!("not valid JSON: {e}"))),
        };
        rows.push((i as u64 + 1, row));
    }
    rows
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
