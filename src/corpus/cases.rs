//! `cases.csv`: RFC 4180, UTF-8, one case per record, header row first.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::{Case, CaseText, Label, Metadata, canonical_language_tag};
use crate::case_text::register_source;
use crate::diagnostic::{Diagnostic, LineCounter, LineTracking, excerpt};
use crate::input::{InputStream, LineBreaks};

/// The standard columns, in their conventional order.
pub const CASE_COLUMNS: [&str; 9] = [
    "id",
    "lang",
    "text",
    "label",
    "category",
    "target_group",
    "speaker_group",
    "pair_id",
    "notes",
];

/// Columns that must be present in the header.
pub const REQUIRED_COLUMNS: [&str; 5] = ["id", "lang", "text", "label", "category"];

/// Where each standard column sits in a file's header.
struct Columns {
    index: BTreeMap<&'static str, usize>,
    /// Non-standard columns, kept as case metadata.
    extra: Vec<(usize, String)>,
}

/// Parses and validates the cases of one CSV file. Problems are appended to
/// `problems`; the returned cases (with their 1-based line) are the valid ones.
/// Their texts are held: `bytes` need not be a file's content.
pub fn parse_cases(path: &Path, bytes: &[u8], problems: &mut Vec<Diagnostic>) -> Vec<(Case, u64)> {
    let mut cases = Vec::with_capacity(most_records(bytes));
    parse(path, bytes, None, problems, |case, line, _| cases.push((case, line)));
    cases.shrink_to_fit();
    cases
}

/// [`parse_cases`] for the file at `path` opened as `input`, read piece by
/// piece (never held whole), handing each valid case and its line to `each`
/// (with `problems`, for its own checks) as it is read, so that a caller keeps
/// a large file's cases in one list. Each text is kept as the location of its
/// record in the file, to be read back when needed (see
/// [`super::CaseText`]), or held when the file cannot be opened again.
/// Gives the sha256 and length of the whole file as read, or `None` (with
/// the problem recorded) when it could not be read to its end.
pub fn parse_case_file(
    path: &Path,
    input: InputStream,
    problems: &mut Vec<Diagnostic>,
    each: impl FnMut(Case, u64, &mut Vec<Diagnostic>),
) -> Option<(String, u64)> {
    let skipped = input.skipped();
    let input = parse(path, input, Some(skipped), problems, each);
    match input.finish() {
        Ok(read) => Some(read),
        Err(e) => {
            problems.push(Diagnostic::file(path, format!("cannot read: {e}")));
            None
        }
    }
}

/// The most cases a file of `lines` can hold: one a line after the header (a
/// quoted text may span lines, and blank lines hold none), to size the list
/// of a file's cases before reading them.
pub(super) fn most_records_of(lines: LineBreaks) -> usize {
    usize::try_from(lines.lines().saturating_sub(1)).unwrap_or(usize::MAX)
}

/// [`most_records_of`] the lines of `bytes`.
pub(super) fn most_records(bytes: &[u8]) -> usize {
    let mut lines = LineCounter::new(bytes).line_at(bytes.len());
    if matches!(bytes.last(), Some(b'\n' | b'\r')) {
        // nothing follows the last line's terminator
        lines -= 1;
    }
    usize::try_from(lines.saturating_sub(1)).unwrap_or(usize::MAX)
}

/// Parses what `input` yields, handing each valid case to `each`; with
/// `skipped` (the bytes of `path` before what `input` yields), texts are
/// located in the file at `path`. Gives `input` back, read as far as the
/// parse went.
fn parse<R: Read>(
    path: &Path,
    input: R,
    skipped: Option<u64>,
    problems: &mut Vec<Diagnostic>,
    mut each: impl FnMut(Case, u64, &mut Vec<Diagnostic>),
) -> R {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(LineTracking::new(input));
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(located_csv_error(path, &e, reader.get_mut()));
            return reader.into_inner().into_inner();
        }
    };
    let Some(columns) = read_header(path, &header, problems) else {
        return reader.into_inner().into_inner();
    };
    let text_column = columns.index.get("text").copied();
    let source = skipped
        .zip(text_column)
        .and_then(|(skipped, column)| register_source(path, skipped, column));
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                problems.push(located_csv_error(path, &e, reader.get_mut()));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    // a read that failed does not resume where it stopped
                    break;
                }
                continue;
            }
        }
        let start = record.position().map_or(0, csv::Position::byte);
        let end = reader.position().byte();
        let line = record.position().map_or(0, |p| reader.get_mut().csv_line(p));
        let text = |text: String| CaseText::in_file(source, start, end.saturating_sub(start), text);
        if let Some(case) = read_case(path, line, &record, &columns, text, problems) {
            each(case, line, problems);
        }
    }
    reader.into_inner().into_inner()
}

fn located_csv_error<R: Read>(path: &Path, error: &csv::Error, lines: &mut LineTracking<R>) -> Diagnostic {
    csv_error_at(path, error, error.position().map(|p| lines.csv_line(p)))
}

fn read_header(path: &Path, header: &csv::ByteRecord, problems: &mut Vec<Diagnostic>) -> Option<Columns> {
    let mut names = Vec::with_capacity(header.len());
    let mut ok = true;
    for (i, raw) in header.iter().enumerate() {
        match std::str::from_utf8(raw) {
            Ok(name) => names.push(name.trim().to_string()),
            Err(e) => {
                problems.push(
                    Diagnostic::at_line(path, 1, format!("header column {} is not valid UTF-8: {e}", i + 1))
                        .with_column(i as u64 + 1),
                );
                ok = false;
                names.push(String::new());
            }
        }
    }
    let mut index = BTreeMap::new();
    let mut extra = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            problems.push(
                Diagnostic::at_line(
                    path,
                    1,
                    format!("column `{}` appears twice in the header", excerpt(name)),
                )
                .with_column(i as u64 + 1),
            );
            ok = false;
            continue;
        }
        match CASE_COLUMNS.iter().find(|c| **c == name.as_str()) {
            Some(c) => {
                index.insert(*c, i);
            }
            None => extra.push((i, name.clone())),
        }
    }
    for required in REQUIRED_COLUMNS {
        if !index.contains_key(required) {
            problems.push(
                Diagnostic::at_line(
                    path,
                    1,
                    format!(
                        "missing required column `{required}` (header has: {})",
                        excerpt(&names.join(", "))
                    ),
                )
                .with_field(required),
            );
            ok = false;
        }
    }
    ok.then_some(Columns { index, extra })
}

fn read_case(
    path: &Path,
    line: u64,
    record: &csv::ByteRecord,
    columns: &Columns,
    located: impl FnOnce(String) -> CaseText,
    problems: &mut Vec<Diagnostic>,
) -> Option<Case> {
    let before = problems.len();
    let mut field = |name: &'static str| -> Option<String> {
        let i = *columns.index.get(name)?;
        let raw = record.get(i).unwrap_or_default();
        match std::str::from_utf8(raw) {
            Ok(s) => Some(s.to_string()),
            Err(e) => {
                problems.push(
                    Diagnostic::at_line(
                        path,
                        line,
                        format!("invalid UTF-8 (byte {} of the field)", e.valid_up_to() + 1),
                    )
                    .with_field(name),
                );
                None
            }
        }
    };
    let id = field("id");
    let lang = field("lang");
    let text = field("text");
    let label = field("label");
    let category = field("category");
    let optional = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let target_group = optional(field("target_group"));
    let speaker_group = optional(field("speaker_group"));
    let pair_id = optional(field("pair_id"));
    let notes = field("notes").unwrap_or_default();
    let mut metadata = Metadata::default();
    for (i, name) in &columns.extra {
        match std::str::from_utf8(record.get(*i).unwrap_or_default()) {
            Ok(v) => {
                metadata.insert(name.clone(), v.to_string());
            }
            Err(e) => problems.push(
                Diagnostic::at_line(
                    path,
                    line,
                    format!("invalid UTF-8 (byte {} of the field)", e.valid_up_to() + 1),
                )
                .with_field(name.clone()),
            ),
        }
    }

    let mut bad = |name: &str, message: String| {
        problems.push(Diagnostic::at_line(path, line, message).with_field(name));
    };
    if let Some(message) = id.as_deref().and_then(id_problem) {
        bad("id", message);
    }
    let lang = lang.and_then(|l| match canonical_language_tag(&l) {
        Ok(tag) => Some(tag),
        Err(message) => {
            bad("lang", format!("malformed language tag: {message}"));
            None
        }
    });
    if let Some(message) = text.as_deref().and_then(text_problem) {
        bad("text", message);
    }
    let label = label.and_then(|l| match Label::parse(&l) {
        Some(label) => Some(label),
        None => {
            bad(
                "label",
                format!(
                    "unknown label \"{}\" (expected \"protected\" or \"violating\")",
                    excerpt(&l)
                ),
            );
            None
        }
    });
    if let Some(message) = category.as_deref().and_then(category_problem) {
        bad("category", message);
    }
    if problems.len() > before {
        return None;
    }
    Some(Case {
        id: id?.into(),
        lang: lang?.into(),
        text: located(text?),
        label: label?,
        category: category?.trim().to_string().into(),
        target_group: target_group.map(Into::into),
        characteristics: Default::default(),
        speaker_group: speaker_group.map(Into::into),
        pair_id: pair_id.map(Into::into),
        notes: notes.into(),
        metadata,
    })
}

fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        Some("id is empty".into())
    } else if id.trim() != id || id.chars().any(char::is_control) {
        Some(format!(
            "id \"{}\" has surrounding spaces or control characters",
            excerpt(id)
        ))
    } else {
        None
    }
}

fn text_problem(text: &str) -> Option<String> {
    text.trim().is_empty().then(|| "text is empty".into())
}

fn category_problem(category: &str) -> Option<String> {
    category.trim().is_empty().then(|| "category is empty".into())
}

/// What the loader would refuse in a case built elsewhere (by an importer),
/// as (column, message) pairs; empty when the case is valid.
pub fn case_problems(case: &Case) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Some(message) = id_problem(&case.id) {
        problems.push(("id", message));
    }
    if let Err(message) = canonical_language_tag(&case.lang) {
        problems.push(("lang", format!("malformed language tag: {message}")));
    }
    // a text located in a file was checked when the file was loaded
    if let Some(message) = case.text.held().and_then(text_problem) {
        problems.push(("text", message));
    }
    if let Some(message) = category_problem(&case.category) {
        problems.push(("category", message));
    }
    problems
}

pub(super) fn csv_error(path: &Path, error: &csv::Error, lines: &mut LineCounter<'_>) -> Diagnostic {
    csv_error_at(path, error, error.position().map(|p| lines.csv_line(p)))
}

/// A problem of the CSV file at `path`, at `line` when it is known.
fn csv_error_at(path: &Path, error: &csv::Error, line: Option<u64>) -> Diagnostic {
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("record has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        csv::ErrorKind::Io(e) => format!("cannot read: {e}"),
        _ => format!("malformed CSV: {error}"),
    };
    match line {
        Some(line) => Diagnostic::at_line(path, line, message),
        None => Diagnostic::file(path, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(csv: &[u8]) -> (Vec<(Case, u64)>, Vec<String>) {
        let mut problems = Vec::new();
        let cases = parse_cases(Path::new("c.csv"), csv, &mut problems);
        (cases, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_standard_columns_and_keeps_text_bytes() {
        let (cases, problems) = parse(
            b"id,lang,text,label,category,target_group,speaker_group,pair_id,notes,flag\n\
              a1,EN,\"Hello, \"\"world\"\" \",protected,counter_speech,women,,f1,n,True\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let (case, line) = &cases[0];
        assert_eq!(*line, 2);
        assert_eq!(case.text, "Hello, \"world\" ");
        assert_eq!(case.lang, "en");
        assert_eq!(case.target_group.as_deref(), Some("women"));
        assert_eq!(case.speaker_group, None);
        assert_eq!(case.metadata.get("flag").map(String::as_str), Some("True"));
    }

    #[test]
    fn reports_every_bad_field_with_its_line() {
        let (cases, problems) = parse(
            b"id,lang,text,label,category\n\
              a1,en,ok,protected,c\n\
              a2,english,ok,protected,c\n\
              a3,en,,protected,c\n\
              a4,en,ok,hateful,c\n\
              a5,en,ok,protected\n",
        );
        assert_eq!(cases.len(), 1);
        assert!(
            problems[0].starts_with("c.csv:3: `lang`: malformed language tag"),
            "{problems:?}"
        );
        assert_eq!(problems[1], "c.csv:4: `text`: text is empty");
        assert!(problems[2].starts_with("c.csv:5: `label`: unknown label \"hateful\""));
        assert_eq!(problems[3], "c.csv:6: record has 4 fields but the header has 5");
    }

    #[test]
    fn a_file_holds_no_more_cases_than_lines_after_its_header() {
        let files: [&[u8]; 5] = [
            b"id,lang,text,label,category\na,en,t,protected,c\nb,en,t,protected,c\n",
            b"id,lang,text,label,category\r\na,en,t,protected,c\r\nb,en,t,protected,c",
            b"id,lang,text,label,category\ra,en,t,protected,c\rb,en,t,protected,c\r",
            b"id,lang,text,label,category\n\na,en,\"two\nlines\",protected,c\n\nb,en,t,protected,c\n",
            b"id,lang,text,label,category\n",
        ];
        for bytes in files {
            let (cases, problems) = parse(bytes);
            assert!(problems.is_empty(), "{problems:?}");
            assert!(
                cases.len() <= most_records(bytes),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(most_records(files[0]), 2);
        assert_eq!(most_records(files[1]), 2);
        assert_eq!(most_records(files[2]), 2);
        assert_eq!(most_records(files[4]), 0);
        assert_eq!(most_records(b""), 0);
    }

    #[test]
    fn a_file_read_in_pieces_gives_the_cases_and_lines_of_one_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.csv");
        let mut csv = b"\xEF\xBB\xBFid,lang,text,label,category\r\n".to_vec();
        for i in 0..3000 {
            let text = match i % 4 {
                0 => "\"two\r\nlines\"".to_string(),
                1 => format!("t{}", "x".repeat(i % 97)),
                2 => "\"a \"\"quote\"\"\rand a break\"".to_string(),
                _ => String::new(),
            };
            let ending = if i % 5 == 0 { "\n\n" } else { "\r\n" };
            csv.extend(format!("c{i},en,{text},protected,c{ending}").into_bytes());
        }
        std::fs::write(&path, &csv).unwrap();
        let mut whole_problems = Vec::new();
        let whole = parse_cases(&path, &csv[3..], &mut whole_problems);
        let mut problems = Vec::new();
        let mut streamed = Vec::new();
        let input = crate::input::open_input(&path, crate::input::DATA_LIMIT).unwrap();
        assert_eq!(most_records_of(input.line_breaks()), most_records(&csv[3..]));
        let (sha256, bytes) = parse_case_file(&path, input, &mut problems, |case, line, _| {
            streamed.push((
                case.id.to_string(),
                case.text.read(&case.id).unwrap().into_owned(),
                line,
            ));
        })
        .unwrap();
        assert_eq!((sha256, bytes), (crate::hash::sha256_hex(&csv), csv.len() as u64));
        let expected: Vec<(String, String, u64)> = whole
            .iter()
            .map(|(case, line)| {
                (
                    case.id.to_string(),
                    case.text.read(&case.id).unwrap().into_owned(),
                    *line,
                )
            })
            .collect();
        assert_eq!(streamed.len(), 2250);
        assert_eq!(streamed, expected);
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            whole_problems.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        assert_eq!(problems.len(), 750, "every empty text is reported");
        assert!(problems[0].to_string().starts_with(&format!("{}:", path.display())));
    }

    #[test]
    fn missing_required_column_is_named() {
        let (_, problems) = parse(b"id,lang,text,category\na,en,t,c\n");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("c.csv:1: `label`: missing required column `label`"));
    }

    #[test]
    fn invalid_utf8_names_line_and_field() {
        let (_, problems) = parse(b"id,lang,text,label,category\na,en,caf\xe9,protected,c\n");
        assert_eq!(
            problems,
            vec!["c.csv:2: `text`: invalid UTF-8 (byte 4 of the field)".to_string()]
        );
    }
}
