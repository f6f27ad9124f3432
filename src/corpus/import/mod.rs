//! Importers: established public suites (HateCheck, Multilingual HateCheck) and
//! any labelled set an auditor brings (CSV or JSON Lines), written out as a
//! corpus directory that validates, with the source, licence and sha256 of the
//! input in its manifest. A row that cannot be mapped is reported, never guessed.

mod generic;
mod hatecheck;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::corpus::{CASE_COLUMNS, Case, CorpusManifest, Label, MANIFEST_FILE, Provenance, SkippedRows, load_corpus};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::Error;
use crate::input::{DATA_LIMIT, InputBytes, TOML_LIMIT, read_input};

pub use generic::{GenericFormat, GenericImport, import_generic, parse_label_map};
pub use hatecheck::{HateCheckImport, import_hatecheck};

/// What an import wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    pub dir: PathBuf,
    pub name: String,
    pub cases: usize,
    pub protected: usize,
    pub violating: usize,
    /// Rows left out (with `--skip-unmapped` or `--skip-invalid`), by reason;
    /// the same list as the manifest's `[[source.skipped]]`.
    pub skipped: Vec<SkippedRows>,
}

/// Writes `cases` as a corpus in `out` and checks that it loads. Nothing is
/// written when the manifest would be too large to load.
pub(crate) fn write_corpus(
    out: &Path,
    force: bool,
    mut manifest: CorpusManifest,
    cases: &[Case],
    provenance: Provenance,
) -> Result<ImportSummary, Error> {
    let skipped = manifest.source.as_ref().map(|s| s.skipped.clone()).unwrap_or_default();
    if out.exists() && std::fs::read_dir(out).map_err(Error::io(out))?.next().is_some() && !force {
        return Err(Error::RunDir {
            path: out.to_path_buf(),
            message: "already exists and is not empty; choose another --out or pass --force".into(),
        });
    }
    if cases.is_empty() {
        return Err(Error::Invalid(Diagnostics(vec![Diagnostic::file(
            &out.join(MANIFEST_FILE),
            "no row of the input became a case; nothing is written",
        )])));
    }
    let languages: BTreeSet<String> = cases.iter().map(|c| c.lang.clone()).collect();
    manifest.languages = languages.into_iter().collect();
    manifest.files = vec!["cases.csv".into()];
    manifest.provenance = vec![Provenance {
        languages: manifest.languages.clone(),
        ..provenance
    }];
    let extra: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.metadata.keys().map(String::as_str))
        .collect();
    let toml = toml::to_string(&manifest).map_err(|e| Error::io(out.join(MANIFEST_FILE))(std::io::Error::other(e)))?;
    if toml.len() as u64 > TOML_LIMIT.bytes {
        let left_out: usize = skipped.iter().map(|s| s.lines.len()).sum();
        return Err(Error::Invalid(Diagnostics(vec![Diagnostic::file(
            &out.join(MANIFEST_FILE),
            format!(
                "would be larger than the {TOML_LIMIT} limit for corpus manifests ({} left out are listed in it); correct the input rather than skip so many rows",
                count_rows(left_out)
            ),
        )])));
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = CASE_COLUMNS.to_vec();
    header.extend(extra.iter().copied());
    let csv_error = |e: csv::Error| Error::io(out.join("cases.csv"))(std::io::Error::other(e));
    writer.write_record(&header).map_err(csv_error)?;
    for case in cases {
        let mut row = vec![
            case.id.clone(),
            case.lang.clone(),
            case.text.clone(),
            case.label.to_string(),
            case.category.clone(),
            case.target_group.clone().unwrap_or_default(),
            case.speaker_group.clone().unwrap_or_default(),
            case.pair_id.clone().unwrap_or_default(),
            case.notes.clone(),
        ];
        row.extend(extra.iter().map(|k| case.metadata.get(*k).cloned().unwrap_or_default()));
        writer.write_record(&row).map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::io(out.join("cases.csv"))(e.into_error()))?;
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    crate::fsutil::write_atomically(&out.join("cases.csv"), &bytes)?;
    crate::fsutil::write_atomically(&out.join(MANIFEST_FILE), toml.as_bytes())?;
    let corpus = load_corpus(out)?;
    let count = |label| corpus.cases.iter().filter(|c| c.label == label).count();
    Ok(ImportSummary {
        dir: out.to_path_buf(),
        name: corpus.manifest.name.clone(),
        cases: corpus.cases.len(),
        protected: count(Label::Protected),
        violating: count(Label::Violating),
        skipped,
    })
}

/// Reads a file to import (bounded, a regular file, not UTF-16) and hashes it.
pub(crate) fn read_suite(path: &Path) -> Result<(InputBytes, String), Error> {
    let bytes = read_input(path, DATA_LIMIT).map_err(|e| Error::Invalid(Diagnostics(vec![e.at(path)])))?;
    let sha = crate::hash::sha256_hex(bytes.raw());
    Ok((bytes, sha))
}

/// Groups skipped rows `(line, reason)` by reason, reasons in the order first met.
pub(crate) fn group_skipped(rows: Vec<(u64, String)>) -> Vec<SkippedRows> {
    let mut groups: Vec<SkippedRows> = Vec::new();
    for (line, reason) in rows {
        match groups.iter_mut().find(|g| g.reason == reason) {
            Some(group) => group.lines.push(line),
            None => groups.push(SkippedRows {
                reason,
                lines: vec![line],
            }),
        }
    }
    groups
}

/// "1 row" or "3 rows".
pub fn count_rows(n: usize) -> String {
    if n == 1 { "1 row".into() } else { format!("{n} rows") }
}

/// "line 4", or "lines 3, 5, 7": the first few of them, then "…".
pub fn line_numbers(lines: &[u64]) -> String {
    const SHOWN: usize = 8;
    let shown: Vec<String> = lines.iter().take(SHOWN).map(u64::to_string).collect();
    let more = if lines.len() > SHOWN { ", …" } else { "" };
    let word = if lines.len() == 1 { "line" } else { "lines" };
    format!("{word} {}{more}", shown.join(", "))
}

/// A target-group name as a snake_case id: `Jewish people` → `jewish_people`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn skipped_rows_group_by_reason_in_order() {
        let groups = super::group_skipped(vec![
            (3, "no label".into()),
            (4, "no text".into()),
            (9, "no label".into()),
        ]);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (groups[0].reason.as_str(), &groups[0].lines[..]),
            ("no label", &[3, 9][..])
        );
        assert_eq!(super::line_numbers(&groups[1].lines), "line 4");
        assert_eq!(
            super::line_numbers(&(1..=10).collect::<Vec<_>>()),
            "lines 1, 2, 3, 4, 5, 6, 7, 8, …"
        );
    }

    #[test]
    fn snake_case_ids() {
        assert_eq!(super::snake_case("North-East Indians"), "north_east_indians");
        assert_eq!(super::snake_case(" gay people "), "gay_people");
        assert_eq!(super::snake_case("Muslims"), "muslims");
    }
}
