//! `modaudit corpus review import`: a filled-in sheet (from a spreadsheet or
//! the offline form) checked and recorded as one reviewer's answers in
//! `reviews/<reviewer>.csv`.
//!
//! Every problem of the sheet is reported with its line, column and field,
//! and nothing is written unless the whole sheet is valid. A row with no
//! answer is skipped (a reviewer may do part of a sheet); a row with any
//! answer needs a label and the natural flag. Each answered row must carry
//! the sha256 of the case's current text (the sheet's `text_sha256`): a case
//! changed since the sheet was exported is refused, to be reviewed afresh.
//!
//! Other reviewers' files are never touched. The reviewer's own earlier
//! answers for cases the sheet answers again are replaced only with
//! `--replace`; their answers for other cases are always kept.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::records::{parse_natural, read_table, reviews_csv};
use super::sheet::CASE_COLUMNS_IN_SHEET;
use super::{REVIEWS_DIR, ReviewRecord, SHEET_COLUMNS, reviewer_id_problem};
use crate::corpus::{Case, Label, load_corpus};
use crate::diagnostic::{Diagnostic, Diagnostics, excerpt};
use crate::error::Error;
use crate::fsutil::write_atomically;
use crate::hash::sha256_hex;
use crate::input::{DATA_LIMIT, read_input};

/// What to import.
#[derive(Debug, Clone)]
pub struct ReviewImport {
    pub dir: PathBuf,
    pub sheet: PathBuf,
    pub reviewer: String,
    /// Recorded as the day of the review.
    pub date: NaiveDate,
    /// Replace the reviewer's earlier answers for the cases the sheet answers.
    pub replace: bool,
}

/// What an import recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewImportSummary {
    pub file: PathBuf,
    /// Answered rows of the sheet, now recorded.
    pub imported: usize,
    /// Of those, cases the reviewer had answered before.
    pub replaced: usize,
    /// Rows of the sheet without any answer.
    pub unanswered: usize,
    /// Every case the reviewer has now answered.
    pub reviewer_total: usize,
}

/// Checks the sheet and records its answers.
pub fn import_reviews(import: &ReviewImport) -> Result<ReviewImportSummary, Error> {
    if let Some(message) = reviewer_id_problem(&import.reviewer) {
        return Err(Error::Invalid(Diagnostics(vec![Diagnostic::file(
            Path::new("--reviewer"),
            message,
        )])));
    }
    let corpus = load_corpus(&import.dir)?;
    let bytes = read_input(&import.sheet, DATA_LIMIT).map_err(|e| Diagnostics(vec![e.at(&import.sheet)]))?;
    let cases: HashMap<&str, &Case> = corpus.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let (answered, unanswered) = read_sheet(&import.sheet, bytes.content(), &cases, import)?;
    if answered.is_empty() {
        return Err(Error::Invalid(Diagnostics(vec![Diagnostic::file(
            &import.sheet,
            "no row of the sheet has an answer; nothing is written",
        )])));
    }
    let mut mine: BTreeMap<String, ReviewRecord> = corpus
        .reviews
        .into_iter()
        .filter(|r| r.reviewer == import.reviewer)
        .map(|r| (r.case_id.clone(), r))
        .collect();
    let again: Vec<&str> = answered
        .iter()
        .filter(|r| mine.contains_key(&r.case_id))
        .map(|r| r.case_id.as_str())
        .collect();
    if !again.is_empty() && !import.replace {
        let shown: Vec<String> = again.iter().take(8).map(|id| format!("`{}`", excerpt(id))).collect();
        let more = if again.len() > shown.len() { ", …" } else { "" };
        return Err(Error::Invalid(Diagnostics(vec![Diagnostic::file(
            &import.sheet,
            format!(
                "{} has already reviewed {} of these cases ({}{more}); pass --replace to replace {}'s earlier answers for them, or import only new cases",
                import.reviewer,
                again.len(),
                shown.join(", "),
                import.reviewer
            ),
        )])));
    }
    let replaced = again.len();
    let imported = answered.len();
    for record in answered {
        mine.insert(record.case_id.clone(), record);
    }
    let records: Vec<ReviewRecord> = mine.into_values().collect();
    let dir = import.dir.join(REVIEWS_DIR);
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let file = dir.join(format!("{}.csv", import.reviewer));
    write_atomically(&file, &reviews_csv(&records))?;
    Ok(ReviewImportSummary {
        file,
        imported,
        replaced,
        unanswered,
        reviewer_total: records.len(),
    })
}

/// The answered rows of a sheet as records, and how many rows had no answer.
fn read_sheet(
    path: &Path,
    bytes: &[u8],
    cases: &HashMap<&str, &Case>,
    import: &ReviewImport,
) -> Result<(Vec<ReviewRecord>, usize), Diagnostics> {
    let mut problems = Vec::new();
    let Some((columns, rows)) = read_table(path, bytes, &SHEET_COLUMNS, &mut problems) else {
        return Err(Diagnostics(problems));
    };
    let mut records = Vec::new();
    let mut unanswered = 0;
    let mut seen: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let mut bad = |i: usize, message: String| {
            problems.push(
                Diagnostic::at_line(path, row.line, message)
                    .with_column(columns[i])
                    .with_field(SHEET_COLUMNS[i]),
            );
        };
        let value = |i: usize| row.values[i].as_str();
        let answers = &row.values[CASE_COLUMNS_IN_SHEET..];
        if answers.iter().all(|a| a.trim().is_empty()) {
            unanswered += 1;
            continue;
        }
        let Some(case) = find_case(cases, value(0)) else {
            bad(0, format!("unknown case `{}` (not in the corpus)", excerpt(value(0))));
            continue;
        };
        if let Some(first) = seen.insert(case.id.to_string(), row.line) {
            bad(
                0,
                format!("case `{}` is answered twice (first on line {first})", excerpt(&case.id)),
            );
            continue;
        }
        let text = match case.text() {
            Ok(text) => text,
            Err(error) => {
                bad(2, error.to_string());
                continue;
            }
        };
        let sha = sha256_hex(text.as_bytes());
        if value(3) != sha {
            bad(
                3,
                "the case's text has changed since this sheet was exported (or this column was edited); export a new sheet for it".into(),
            );
        }
        let label = match value(7).trim().to_lowercase().as_str() {
            "" => {
                bad(
                    7,
                    "missing: a row with answers needs your label (protected or violating)".into(),
                );
                None
            }
            given => Label::parse(given).or_else(|| {
                bad(
                    7,
                    format!(
                        "unknown label \"{}\" (expected \"protected\" or \"violating\")",
                        excerpt(value(7))
                    ),
                );
                None
            }),
        };
        let natural = match value(9).trim() {
            "" => {
                bad(9, "missing: a row with answers needs yes or no".into());
                None
            }
            given => parse_natural(given).or_else(|| {
                bad(9, format!("\"{}\" is not yes or no", excerpt(given)));
                None
            }),
        };
        let category = value(8).trim();
        let corrected = value(10);
        if let (Some(label), Some(natural), true) = (label, natural, value(3) == sha) {
            records.push(ReviewRecord {
                case_id: case.id.to_string(),
                reviewer: import.reviewer.clone(),
                reviewed_on: import.date,
                text_sha256: sha,
                label,
                category: (!category.is_empty()).then(|| category.to_string()),
                natural,
                corrected_text: (!corrected.trim().is_empty() && corrected != text).then(|| corrected.to_string()),
                comment: value(11).to_string(),
            });
        }
    }
    if problems.is_empty() {
        Ok((records, unanswered))
    } else {
        Err(Diagnostics(problems))
    }
}

/// The case a sheet's `case_id` names: as written, or without the apostrophe
/// the sheet puts before an id a spreadsheet would take for a formula.
fn find_case<'a>(cases: &HashMap<&str, &'a Case>, id: &str) -> Option<&'a Case> {
    cases
        .get(id)
        .or_else(|| id.strip_prefix('\'').and_then(|bare| cases.get(bare)))
        .copied()
}
