//! The review sheet: one language's cases (template expansions included) as a
//! CSV file a reviewer fills in with a spreadsheet or the offline form.
//!
//! The sheet starts with a UTF-8 byte-order mark (so spreadsheets read
//! non-Latin scripts right) and ends its records with CRLF (RFC 4180). Cases
//! come in a seeded random order, so that reviewers do not meet a kind of
//! speech in a block; `--sample N` takes N cases stratified by kind of speech
//! (in proportion, at least one of each when N allows), the same draw as the
//! appeal sample. A value that a spreadsheet would run as a formula (it
//! begins with `=`, `+`, `-`, `@`, a tab or a carriage return) is written
//! after an apostrophe, which spreadsheets show as text; the review is of the
//! case's own text all the same, whose sha256 the sheet carries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::form::review_form;
use crate::corpus::{Case, Corpus, TextError, canonical_language_tag, language_covered_by, load_corpus};
use crate::diagnostic::{Diagnostic, Diagnostics, excerpt};
use crate::draw::{allocate, draw_key};
use crate::error::Error;
use crate::fsutil::write_atomically;
use crate::hash::sha256_hex;

/// The sheet's columns: seven about the case, five for the reviewer.
pub const SHEET_COLUMNS: [&str; 12] = [
    "case_id",
    "lang",
    "text",
    "text_sha256",
    "proposed_label",
    "category",
    "target_group",
    "reviewer_label",
    "reviewer_category",
    "natural",
    "corrected_text",
    "comment",
];

/// How many of [`SHEET_COLUMNS`] describe the case (the rest are answers).
pub const CASE_COLUMNS_IN_SHEET: usize = 7;

const BOM: &str = "\u{FEFF}";

/// Which cases a sheet lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRequest {
    /// A BCP 47 tag; the sheet lists every case it covers (`sw` covers `sw-KE`).
    pub lang: String,
    /// At most this many cases, stratified by kind of speech.
    pub sample: Option<usize>,
    /// Orders the cases and draws the sample.
    pub seed: u64,
}

/// The case columns of one row of a sheet, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    pub values: [String; CASE_COLUMNS_IN_SHEET],
}

impl SheetRow {
    /// Fails when the case's text cannot be read back from its corpus file.
    pub fn of(case: &Case) -> Result<SheetRow, TextError> {
        let text = case.text()?;
        Ok(SheetRow {
            values: [
                for_spreadsheet(&case.id),
                case.lang.to_string(),
                for_spreadsheet(&text),
                sha256_hex(text.as_bytes()),
                case.label.to_string(),
                for_spreadsheet(&case.category),
                for_spreadsheet(case.target_group.as_deref().unwrap_or_default()),
            ],
        })
    }
}

/// A value a spreadsheet would run as a formula, behind an apostrophe.
pub(super) fn for_spreadsheet(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// The cases of the sheet, in its order.
pub fn sheet_rows<'a>(corpus: &'a Corpus, request: &SheetRequest) -> Result<Vec<&'a Case>, Diagnostics> {
    let usage = |message: String| Diagnostics(vec![Diagnostic::file(Path::new("--lang"), message)]);
    let lang = canonical_language_tag(&request.lang).map_err(usage)?;
    let mut cases: Vec<&Case> = corpus
        .cases
        .iter()
        .filter(|c| language_covered_by(&c.lang, &lang))
        .collect();
    if cases.is_empty() {
        let languages: Vec<String> = corpus.language_counts().into_iter().map(|(l, _)| l).collect();
        return Err(usage(format!(
            "the corpus has no case in `{}` (its languages: {})",
            excerpt(&lang),
            languages.join(", ")
        )));
    }
    if let Some(sample) = request.sample {
        if sample == 0 {
            return Err(Diagnostics(vec![Diagnostic::file(
                Path::new("--sample"),
                "must be at least 1",
            )]));
        }
        cases = stratified_sample(cases, sample, request.seed);
    }
    cases.sort_by_key(|c| (draw_key(request.seed, &c.id), c.id.as_str()));
    Ok(cases)
}

/// `size` of the cases, allocated to kinds of speech in proportion (at least
/// one of each when `size` allows), each kind's cases those first in the draw.
fn stratified_sample(cases: Vec<&Case>, size: usize, seed: u64) -> Vec<&Case> {
    let mut by_category: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for case in cases {
        by_category.entry(case.category.as_str()).or_default().push(case);
    }
    let sizes: Vec<u64> = by_category.values().map(|c| c.len() as u64).collect();
    let allocation = allocate(&sizes, size as u64);
    by_category
        .into_values()
        .zip(allocation)
        .flat_map(|(mut members, n)| {
            members.sort_by_key(|c| (draw_key(seed, &c.id), c.id.as_str()));
            members.truncate(n as usize);
            members
        })
        .collect()
}

/// The sheet's bytes: byte-order mark, header, one row per case with the
/// answer columns empty, CRLF after each record. Fails when a case's text
/// cannot be read back from its corpus file.
pub fn sheet_csv(cases: &[&Case]) -> Result<Vec<u8>, TextError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.as_bytes().to_vec());
    let mut write = |row: &[&str]| writer.write_record(row).expect("writing CSV to memory cannot fail");
    write(&SHEET_COLUMNS);
    for case in cases {
        let row = SheetRow::of(case)?;
        let mut values: Vec<&str> = row.values.iter().map(String::as_str).collect();
        values.extend([""; SHEET_COLUMNS.len() - CASE_COLUMNS_IN_SHEET]);
        write(&values);
    }
    Ok(writer.into_inner().expect("writing CSV to memory cannot fail"))
}

/// `modaudit corpus review export`: what to write where.
#[derive(Debug, Clone)]
pub struct ReviewExport {
    pub dir: PathBuf,
    pub request: SheetRequest,
    pub out: PathBuf,
    /// Also write the offline form here.
    pub html: Option<PathBuf>,
    /// Replace existing files at `out` and `html`.
    pub force: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedSheet {
    pub cases: usize,
    /// Cases of the language in the corpus.
    pub language_cases: usize,
}

/// Writes the sheet (and the form) for one language of the corpus in `dir`.
/// An existing file is replaced only with `force`: it may hold a reviewer's
/// answers.
pub fn export_review(export: &ReviewExport) -> Result<ExportedSheet, Error> {
    let corpus = load_corpus(&export.dir)?;
    let cases = sheet_rows(&corpus, &export.request)?;
    let targets = std::iter::once(&export.out).chain(export.html.as_ref());
    for path in targets {
        if path.exists() && !export.force {
            return Err(Error::RunDir {
                path: path.clone(),
                message: "already exists and may hold a reviewer's answers; choose another name or pass --force".into(),
            });
        }
    }
    write_atomically(&export.out, &sheet_csv(&cases)?)?;
    if let Some(html) = &export.html {
        write_atomically(html, review_form(&corpus, &export.request, &cases)?.as_bytes())?;
    }
    let language_cases = sheet_rows(
        &corpus,
        &SheetRequest {
            sample: None,
            ..export.request.clone()
        },
    )?
    .len();
    Ok(ExportedSheet {
        cases: cases.len(),
        language_cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_as_text() {
        assert_eq!(for_spreadsheet("=1+1"), "'=1+1");
        assert_eq!(for_spreadsheet("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(for_spreadsheet("-2"), "'-2");
        assert_eq!(for_spreadsheet("a=1"), "a=1");
        assert_eq!(for_spreadsheet("'quoted"), "'quoted");
    }
}
