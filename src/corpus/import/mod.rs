//! Importers: established public suites (HateCheck, Multilingual HateCheck) and
//! any labelled set an auditor brings (CSV or JSON Lines), written out as a
//! corpus directory that validates, with the source, licence and sha256 of the
//! input in its manifest. A row that cannot be mapped is reported, never guessed.

mod generic;
mod hatecheck;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::corpus::Taxonomy;
use crate::corpus::taxonomy::name_key;
use crate::corpus::{CASE_COLUMNS, Case, CorpusManifest, Label, MANIFEST_FILE, Provenance, SkippedRows, load_corpus};
use crate::diagnostic::{Diagnostic, Diagnostics, LineCounter, excerpt};
use crate::error::Error;
use crate::input::{DATA_LIMIT, InputBytes, TOML_LIMIT, read_input};

pub use generic::{GenericFormat, GenericImport, import_generic, parse_label_map};
pub use hatecheck::{HATECHECK_GROUPS, HateCheckImport, import_hatecheck};

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
    /// Target groups kept as written because the taxonomy does not know them,
    /// with their numbers of cases.
    pub groups_outside_taxonomy: Vec<(String, usize)>,
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
    let languages: BTreeSet<String> = cases.iter().map(|c| c.lang.to_string()).collect();
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
            case.id.to_string(),
            case.lang.to_string(),
            case.text()?.into_owned(),
            case.label.to_string(),
            case.category.to_string(),
            case.target_group.map(String::from).unwrap_or_default(),
            case.speaker_group.map(String::from).unwrap_or_default(),
            case.pair_id.map(String::from).unwrap_or_default(),
            case.notes.to_string(),
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
        groups_outside_taxonomy: outside_taxonomy(&corpus.cases),
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

/// A target-group name as a snake_case id: `Jewish people` → `jewish_people`
/// (the taxonomy matches names this way).
pub use crate::corpus::taxonomy::name_key as snake_case;

/// Target-group values of a suite → canonical groups, from `--group-map FILE`:
/// a CSV file of `local,canonical` rows (a header row `local,canonical` is
/// optional). Local values match whatever their case and punctuation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupMap {
    entries: HashMap<String, String>,
}

impl GroupMap {
    /// Reads a group map through the bounded reader; every problem is located.
    pub fn load(path: &Path) -> Result<GroupMap, Error> {
        let (bytes, _) = read_suite(path)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes.content());
        let mut lines = LineCounter::new(bytes.content());
        let mut entries: HashMap<String, (String, u64)> = HashMap::new();
        let mut problems = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| lines.csv_line(p));
                    problems.push(Diagnostic::at_line(path, line, format!("malformed CSV: {e}")));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| lines.csv_line(p));
            let fields: Vec<&str> = record.iter().map(str::trim).collect();
            if i == 0 && fields.iter().map(|f| f.to_lowercase()).eq(["local", "canonical"]) {
                continue;
            }
            let (local, canonical) = match fields[..] {
                [local, canonical] if !name_key(local).is_empty() && !name_key(canonical).is_empty() => {
                    (local, canonical)
                }
                _ => {
                    problems.push(Diagnostic::at_line(
                        path,
                        line,
                        format!(
                            "expected two values, `local,canonical`; found \"{}\"",
                            excerpt(&fields.join(","))
                        ),
                    ));
                    continue;
                }
            };
            match entries.get(&name_key(local)) {
                Some((earlier, first)) if *earlier != canonical => problems.push(Diagnostic::at_line(
                    path,
                    line,
                    format!("`{}` is mapped to `{earlier}` at line {first} already", excerpt(local)),
                )),
                Some(_) => {}
                None => {
                    entries.insert(name_key(local), (canonical.to_string(), line));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(Diagnostics(problems)));
        }
        Ok(GroupMap {
            entries: entries.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        })
    }

    /// Reads the map at `path`, or an empty map.
    pub(crate) fn load_optional(path: Option<&Path>) -> Result<GroupMap, Error> {
        path.map_or_else(|| Ok(GroupMap::default()), GroupMap::load)
    }
}

/// Maps target-group values to the taxonomy: the `--group-map` first, then a
/// suite's built-in map of its published values, then the names and aliases of
/// the bundled taxonomy. A value none of them knows stays (as a snake_case id)
/// and is reported by the import.
pub(crate) struct GroupMapper<'a> {
    user: &'a GroupMap,
    builtin: &'a [(&'a str, &'a str)],
    taxonomy: Taxonomy,
}

impl<'a> GroupMapper<'a> {
    pub(crate) fn new(user: &'a GroupMap, builtin: &'a [(&'a str, &'a str)]) -> Self {
        GroupMapper {
            user,
            builtin,
            taxonomy: Taxonomy::bundled(),
        }
    }

    /// The target group of a written value; `None` for an empty one.
    pub(crate) fn map(&self, written: &str) -> Option<String> {
        let key = name_key(written);
        if key.is_empty() {
            return None;
        }
        let mapped = match self.user.entries.get(&key) {
            Some(canonical) => canonical.as_str(),
            None => self
                .builtin
                .iter()
                .find(|(from, _)| *from == key)
                .map_or(key.as_str(), |(_, to)| *to),
        };
        Some(
            self.taxonomy
                .group(mapped)
                .map_or_else(|| name_key(mapped), |group| group.name.clone()),
        )
    }
}

/// Target groups of `cases` the bundled taxonomy does not know, with their
/// numbers of cases.
fn outside_taxonomy(cases: &[Case]) -> Vec<(String, usize)> {
    let taxonomy = Taxonomy::bundled();
    let mut outside: BTreeMap<String, usize> = BTreeMap::new();
    for group in cases.iter().filter_map(|c| c.target_group.as_ref()) {
        if taxonomy.group(group).is_none() {
            *outside.entry(group.to_string()).or_default() += 1;
        }
    }
    outside.into_iter().collect()
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
    fn groups_map_through_the_map_the_suite_and_the_taxonomy() {
        let user = super::GroupMap {
            entries: [("martians".to_string(), "Immigrants".to_string())].into(),
        };
        let mapper = super::GroupMapper::new(&user, &[("lower_caste", "lower_caste_people")]);
        assert_eq!(mapper.map("Martians").as_deref(), Some("migrants"));
        assert_eq!(mapper.map("Lower Caste").as_deref(), Some("lower_caste_people"));
        assert_eq!(mapper.map("Jewish people").as_deref(), Some("jews"));
        assert_eq!(mapper.map("Venusians").as_deref(), Some("venusians"));
        assert_eq!(mapper.map(" "), None);
    }

    #[test]
    fn snake_case_ids() {
        assert_eq!(super::snake_case("North-East Indians"), "north_east_indians");
        assert_eq!(super::snake_case(" gay people "), "gay_people");
        assert_eq!(super::snake_case("Muslims"), "muslims");
    }
}
