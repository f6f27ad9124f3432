//! `reviews/<reviewer>.csv`: one reviewer's answers, one row per case, read
//! with the corpus and written by `modaudit corpus review import`.

use std::collections::HashSet;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use super::{REVIEWS_DIR, reviewer_id_problem};
use crate::corpus::{HashedFile, Label};
use crate::diagnostic::{Diagnostic, LineCounter, excerpt};
use crate::input::{DATA_LIMIT, ReadError, read_inside};

/// The columns of a reviews file, in the order they are written.
pub const REVIEW_COLUMNS: [&str; 9] = [
    "case_id",
    "reviewer",
    "reviewed_on",
    "text_sha256",
    "label",
    "category",
    "natural",
    "corrected_text",
    "comment",
];

/// One reviewer's answers about one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewRecord {
    pub case_id: String,
    pub reviewer: String,
    /// The day the answers were imported (or the day `--date` names).
    pub reviewed_on: NaiveDate,
    /// sha256 of the case text the reviewer read.
    pub text_sha256: String,
    /// The label the reviewer gives.
    pub label: Label,
    /// The kind of speech the reviewer names, when they name one.
    pub category: Option<String>,
    /// Whether the text reads naturally to a native speaker.
    pub natural: bool,
    /// The text as the reviewer would write it, when they would change it.
    pub corrected_text: Option<String>,
    pub comment: String,
}

/// One data row of a CSV table: its line and its fields in the order of the
/// expected columns.
pub(super) struct TableRow {
    pub line: u64,
    pub values: Vec<String>,
}

/// A CSV table whose header names exactly the `expected` columns (in any
/// order): the 1-based column of each expected one, and the rows. Problems are
/// located by line, column and field; rows with one are left out.
pub(super) fn read_table(
    path: &Path,
    bytes: &[u8],
    expected: &[&'static str],
    problems: &mut Vec<Diagnostic>,
) -> Option<(Vec<u64>, Vec<TableRow>)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let mut lines = LineCounter::new(bytes);
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(crate::corpus::cases::csv_error(path, &e, &mut lines));
            return None;
        }
    };
    let names: Vec<String> = header
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).trim().to_string())
        .collect();
    let before = problems.len();
    for (i, name) in names.iter().enumerate() {
        if !expected.contains(&name.as_str()) {
            problems.push(
                Diagnostic::at_line(
                    path,
                    1,
                    format!(
                        "unknown column `{}` (expected exactly: {})",
                        excerpt(name),
                        expected.join(", ")
                    ),
                )
                .with_column(i as u64 + 1),
            );
        } else if names[..i].contains(name) {
            problems
                .push(Diagnostic::at_line(path, 1, format!("column `{name}` appears twice")).with_column(i as u64 + 1));
        }
    }
    let mut columns = Vec::with_capacity(expected.len());
    for column in expected {
        match names.iter().position(|n| n == column) {
            Some(i) => columns.push(i as u64 + 1),
            None => {
                problems.push(Diagnostic::at_line(path, 1, format!("missing column `{column}`")).with_field(*column))
            }
        }
    }
    if problems.len() > before {
        return None;
    }
    let mut rows = Vec::new();
    for record in reader.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(crate::corpus::cases::csv_error(path, &e, &mut lines));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.csv_line(p));
        let mut values = Vec::with_capacity(expected.len());
        let mut valid = true;
        for (name, &column) in expected.iter().zip(&columns) {
            match std::str::from_utf8(record.get(column as usize - 1).unwrap_or_default()) {
                Ok(value) => values.push(value.to_string()),
                Err(e) => {
                    problems.push(
                        Diagnostic::at_line(
                            path,
                            line,
                            format!("invalid UTF-8 (byte {} of the field)", e.valid_up_to() + 1),
                        )
                        .with_column(column)
                        .with_field(*name),
                    );
                    valid = false;
                }
            }
        }
        if valid {
            rows.push(TableRow { line, values });
        }
    }
    Some((columns, rows))
}

/// `yes` or `no`, in any case and with surrounding spaces.
pub(super) fn parse_natural(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Reads every `reviews/*.csv` of the corpus in `dir` (in file-name order),
/// hashing each into `files`. A missing `reviews` directory means no reviews.
pub fn load_reviews(dir: &Path, files: &mut Vec<HashedFile>, problems: &mut Vec<Diagnostic>) -> Vec<ReviewRecord> {
    let reviews_dir = dir.join(REVIEWS_DIR);
    let entries = match std::fs::read_dir(&reviews_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            problems.push(Diagnostic::file(&reviews_dir, format!("cannot list: {e}")));
            return Vec::new();
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".csv") && !name.starts_with('.'))
        .collect();
    names.sort();
    let mut records = Vec::new();
    for name in names {
        let relative = format!("{REVIEWS_DIR}/{name}");
        let path = dir.join(&relative);
        let reviewer = name.trim_end_matches(".csv");
        if let Some(message) = reviewer_id_problem(reviewer) {
            problems.push(Diagnostic::file(
                &path,
                format!("the file name must be a reviewer id: {message}"),
            ));
            continue;
        }
        match read_inside(dir, Path::new(&relative), DATA_LIMIT) {
            Ok(bytes) => {
                files.push(crate::corpus::hashed(&relative, &bytes));
                records.extend(parse_reviews(&path, reviewer, bytes.content(), problems));
            }
            Err(ReadError::NotFound) => {}
            Err(e) => problems.push(e.at(&path)),
        }
    }
    records
}

/// Parses one reviewer's file; rows with a problem are reported and left out.
pub(super) fn parse_reviews(
    path: &Path,
    reviewer: &str,
    bytes: &[u8],
    problems: &mut Vec<Diagnostic>,
) -> Vec<ReviewRecord> {
    let Some((columns, rows)) = read_table(path, bytes, &REVIEW_COLUMNS, problems) else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    for row in rows {
        let before = problems.len();
        let mut bad = |i: usize, message: String| {
            problems.push(
                Diagnostic::at_line(path, row.line, message)
                    .with_column(columns[i])
                    .with_field(REVIEW_COLUMNS[i]),
            );
        };
        let [
            case_id,
            row_reviewer,
            date,
            sha,
            label,
            category,
            natural,
            corrected,
            comment,
        ] = <[String; 9]>::try_from(row.values).expect("one value per review column");
        if case_id.is_empty() {
            bad(0, "case id is empty".into());
        } else if !seen.insert(case_id.clone()) {
            bad(
                0,
                format!("case `{}` is reviewed twice in this file", excerpt(&case_id)),
            );
        }
        if row_reviewer != reviewer {
            bad(
                1,
                format!(
                    "reviewer `{}` in the file of reviewer `{reviewer}`",
                    excerpt(&row_reviewer)
                ),
            );
        }
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
            .map_err(|_| bad(2, format!("\"{}\" is not a date (YYYY-MM-DD)", excerpt(&date))))
            .ok();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            bad(3, format!("\"{}\" is not a lower-case hex sha256", excerpt(&sha)));
        }
        let label = Label::parse(&label)
            .ok_or_else(|| {
                bad(
                    4,
                    format!(
                        "unknown label \"{}\" (expected \"protected\" or \"violating\")",
                        excerpt(&label)
                    ),
                )
            })
            .ok();
        if category.trim() != category {
            bad(5, "category has surrounding spaces".into());
        }
        let natural = match natural.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            other => {
                bad(6, format!("\"{}\" is not yes or no", excerpt(other)));
                None
            }
        };
        if problems.len() > before {
            continue;
        }
        if let (Some(reviewed_on), Some(label), Some(natural)) = (date, label, natural) {
            records.push(ReviewRecord {
                case_id,
                reviewer: row_reviewer,
                reviewed_on,
                text_sha256: sha,
                label,
                category: (!category.is_empty()).then_some(category),
                natural,
                corrected_text: (!corrected.is_empty()).then_some(corrected),
                comment,
            });
        }
    }
    records
}

/// A reviewer's file: the header, then one row per record in case-id order.
pub(super) fn reviews_csv(records: &[ReviewRecord]) -> Vec<u8> {
    let mut sorted: Vec<&ReviewRecord> = records.iter().collect();
    sorted.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |row: &[&str]| writer.write_record(row).expect("writing CSV to memory cannot fail");
    write(&REVIEW_COLUMNS);
    for r in sorted {
        let date = r.reviewed_on.format("%Y-%m-%d").to_string();
        write(&[
            &r.case_id,
            &r.reviewer,
            &date,
            &r.text_sha256,
            r.label.as_str(),
            r.category.as_deref().unwrap_or_default(),
            if r.natural { "yes" } else { "no" },
            r.corrected_text.as_deref().unwrap_or_default(),
            &r.comment,
        ]);
    }
    writer.into_inner().expect("writing CSV to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<ReviewRecord>, Vec<String>) {
        let mut problems = Vec::new();
        let records = parse_reviews(Path::new("reviews/amina.csv"), "amina", text.as_bytes(), &mut problems);
        (records, problems.iter().map(ToString::to_string).collect())
    }

    const HEADER: &str = "case_id,reviewer,reviewed_on,text_sha256,label,category,natural,corrected_text,comment\n";

    #[test]
    fn a_written_file_reads_back_the_same() {
        let record = ReviewRecord {
            case_id: "c1".into(),
            reviewer: "amina".into(),
            reviewed_on: NaiveDate::from_ymd_opt(2027, 1, 15).unwrap(),
            text_sha256: crate::hash::sha256_hex(b"x"),
            label: Label::Violating,
            category: Some("quotation".into()),
            natural: false,
            corrected_text: Some("line\n\"two\", three".into()),
            comment: " spaced ".into(),
        };
        let plain = ReviewRecord {
            case_id: "c0".into(),
            category: None,
            corrected_text: None,
            natural: true,
            ..record.clone()
        };
        let bytes = reviews_csv(&[record.clone(), plain.clone()]);
        let (records, problems) = parse(std::str::from_utf8(&bytes).unwrap());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(records, vec![plain, record], "in case-id order");
    }

    #[test]
    fn every_bad_field_is_located() {
        let sha = crate::hash::sha256_hex(b"x");
        let (records, problems) = parse(&format!(
            "{HEADER}c1,amina,2027-01-15,{sha},protected,,yes,,\n\
             c1,baraka,15/01/2027,abc,hateful,,perhaps,,\n"
        ));
        assert_eq!(records.len(), 1);
        assert_eq!(
            problems,
            [
                "reviews/amina.csv:3:1: `case_id`: case `c1` is reviewed twice in this file",
                "reviews/amina.csv:3:2: `reviewer`: reviewer `baraka` in the file of reviewer `amina`",
                "reviews/amina.csv:3:3: `reviewed_on`: \"15/01/2027\" is not a date (YYYY-MM-DD)",
                "reviews/amina.csv:3:4: `text_sha256`: \"abc\" is not a lower-case hex sha256",
                "reviews/amina.csv:3:5: `label`: unknown label \"hateful\" (expected \"protected\" or \"violating\")",
                "reviews/amina.csv:3:7: `natural`: \"perhaps\" is not yes or no",
            ]
        );
    }

    #[test]
    fn the_header_must_be_the_reviews_header() {
        let (_, problems) = parse("case_id,reviewer,label,extra\n");
        assert!(
            problems[0].starts_with("reviews/amina.csv:1:4: unknown column `extra`"),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("missing column `reviewed_on`")),
            "{problems:?}"
        );
    }
}
