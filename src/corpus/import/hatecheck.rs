//! HateCheck (Röttger et al., ACL 2021) and Multilingual HateCheck (Röttger et
//! al., WOAH 2022) CSV files.
//!
//! Mapping: `label_gold` non-hateful → protected, hateful → violating;
//! `functionality` → category; `target_ident` → target group, mapped to the
//! taxonomy of groups ([`HATECHECK_GROUPS`] for the suites' published values,
//! `--group-map FILE` before it; a value neither knows stays, snake_case, and
//! is reported; the original is kept as metadata);
//! `templ_id` → pair_id; every other column (annotation labels and
//! disagreement flags included) → metadata a scenario can filter on. Texts are
//! kept byte for byte: many end in a space, and that is what the suite specifies.
//! A row that fails validation (an unknown `label_gold`, an empty text or id, a
//! repeated id) refuses the file, or with `--skip-invalid` is left out and
//! listed in the manifest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::corpus::{Case, CorpusManifest, Label, Metadata, Provenance, Source, canonical_language_tag, case_problems};
use crate::diagnostic::{Diagnostic, Diagnostics, LineCounter, excerpt};
use crate::error::Error;

use super::{GroupMap, GroupMapper, ImportSummary, count_rows, group_skipped, read_suite, write_corpus};

/// Multilingual HateCheck file languages (from `hatecheck_cases_final_<language>.csv`).
/// The Hindi file is romanised, hence `hi-Latn`.
const MHC_LANGUAGES: [(&str, &str); 10] = [
    ("arabic", "ar"),
    ("dutch", "nl"),
    ("french", "fr"),
    ("german", "de"),
    ("hindi", "hi-Latn"),
    ("italian", "it"),
    ("mandarin", "zh"),
    ("polish", "pl"),
    ("portuguese", "pt"),
    ("spanish", "es"),
];

/// Every `target_ident` the published HateCheck and Multilingual HateCheck
/// files use (snake_case, as matched) → its canonical group in the taxonomy.
pub const HATECHECK_GROUPS: [(&str, &str); 16] = [
    ("women", "women"),
    ("trans_people", "trans_people"),
    ("gay_people", "gay_people"),
    ("black_people", "black_people"),
    ("disabled_people", "disabled_people"),
    ("muslims", "muslims"),
    ("immigrants", "migrants"),
    ("immigrant", "migrants"),
    ("refugees", "refugees"),
    ("foreigners", "foreigners"),
    ("jews", "jews"),
    ("jewish_people", "jews"),
    ("asian_people", "asian_people"),
    ("indigenous_people", "indigenous_people"),
    ("north_east_indians", "northeast_indians"),
    ("lower_caste", "lower_caste_people"),
];

#[derive(Debug, Clone)]
pub struct HateCheckImport {
    pub input: PathBuf,
    pub out: PathBuf,
    /// Overrides the language found from the file.
    pub lang: Option<String>,
    /// Corpus name (default from the file).
    pub name: Option<String>,
    /// Leave out rows that fail validation (listed in the manifest) instead of refusing the file.
    pub skip_invalid: bool,
    pub force: bool,
    /// A CSV file mapping `target_ident` values to canonical groups ([`super::GroupMap`]).
    pub group_map: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Suite {
    HateCheck,
    Multilingual,
}

pub fn import_hatecheck(options: &HateCheckImport) -> Result<ImportSummary, Error> {
    let path = &options.input;
    let group_map = GroupMap::load_optional(options.group_map.as_deref())?;
    let groups = GroupMapper::new(&group_map, &HATECHECK_GROUPS);
    let (bytes, sha256) = read_suite(path)?;
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.content());
    let mut lines = LineCounter::new(bytes.content());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(path, 1, format!("cannot read the header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let suite = if header.iter().any(|h| h == "mhc_case_id") {
        Suite::Multilingual
    } else if header.iter().any(|h| h == "case_id") {
        Suite::HateCheck
    } else {
        return Err(invalid(
            path,
            1,
            "neither a HateCheck (`case_id`) nor a Multilingual HateCheck (`mhc_case_id`) file".into(),
        ));
    };
    let required = ["functionality", "test_case", "label_gold", "target_ident", "templ_id"];
    for column in required {
        if !header.iter().any(|h| h == column) {
            return Err(invalid(path, 1, format!("missing column `{column}`")));
        }
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lang = match (&options.lang, suite) {
        (Some(l), _) => l.clone(),
        (None, Suite::HateCheck) => "en".into(),
        (None, Suite::Multilingual) => MHC_LANGUAGES
            .iter()
            .find(|(name, _)| file_name.to_lowercase().contains(name))
            .map(|(_, tag)| tag.to_string())
            .ok_or_else(|| {
                invalid(
                    path,
                    0,
                    "cannot tell the language from the file name; give --lang".into(),
                )
            })?,
    };
    let lang = canonical_language_tag(&lang).map_err(|m| invalid(path, 0, format!("--lang: {m}")))?;
    let (suite_name, id_column) = match suite {
        Suite::HateCheck => ("HateCheck", "case_id"),
        Suite::Multilingual => ("Multilingual HateCheck", "mhc_case_id"),
    };
    let prefix = match suite {
        Suite::HateCheck => format!("hatecheck-{lang}"),
        Suite::Multilingual => format!("mhc-{lang}"),
    };
    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    let mut reject = |line: u64, reason: String, problem: Diagnostic| {
        if options.skip_invalid {
            skipped.push((line, reason));
        } else {
            problems.push(problem);
        }
    };
    let mut cases = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.csv_line(p));
                reject(
                    line,
                    "malformed CSV record".into(),
                    Diagnostic::at_line(path, line, format!("malformed CSV: {e}")),
                );
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.csv_line(p));
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .unwrap_or_default()
        };
        let label = match get("label_gold") {
            "hateful" => Label::Violating,
            "non-hateful" => Label::Protected,
            other => {
                reject(
                    line,
                    "`label_gold`: neither hateful nor non-hateful".into(),
                    Diagnostic::at_line(
                        path,
                        line,
                        format!(
                            "unknown label_gold \"{}\" (expected hateful or non-hateful)",
                            excerpt(other)
                        ),
                    )
                    .with_field("label_gold"),
                );
                continue;
            }
        };
        let raw_id = get(id_column);
        if raw_id.trim().is_empty() {
            reject(
                line,
                format!("`{id_column}`: empty case id"),
                Diagnostic::at_line(path, line, "empty case id").with_field(id_column),
            );
            continue;
        }
        let id = match suite {
            Suite::HateCheck => format!("{prefix}-{}", raw_id.trim()),
            Suite::Multilingual => format!("mhc-{}", raw_id.trim()),
        };
        if let Some(first) = ids.get(&id) {
            reject(
                line,
                format!("`{id_column}`: duplicate case id"),
                Diagnostic::at_line(
                    path,
                    line,
                    format!("duplicate case id `{}` (first at line {first})", excerpt(raw_id.trim())),
                )
                .with_field(id_column),
            );
            continue;
        }
        let group = groups.map(get("target_ident"));
        let mut metadata = Metadata::default();
        for (i, name) in header.iter().enumerate() {
            if ["test_case", "label_gold", "functionality", id_column].contains(&name.as_str()) {
                continue;
            }
            let key = if name.is_empty() { "source_index" } else { name.as_str() };
            metadata.insert(key.to_string(), record.get(i).unwrap_or_default().to_string());
        }
        let templ = get("templ_id").trim();
        let case = Case {
            id: id.into(),
            lang: lang.clone().into(),
            text: get("test_case").into(),
            label,
            category: get("functionality").trim().to_string().into(),
            target_group: group.map(Into::into),
            characteristics: Default::default(),
            speaker_group: None,
            pair_id: (!templ.is_empty())
                .then(|| format!("{prefix}-t{templ}"))
                .map(Into::into),
            notes: Default::default(),
            metadata,
        };
        if let Some((column, message)) = case_problems(&case).into_iter().next() {
            let column = match column {
                "text" => "test_case",
                "category" => "functionality",
                "id" => id_column,
                other => other,
            };
            reject(
                line,
                format!("`{column}`: {message}"),
                Diagnostic::at_line(path, line, message).with_field(column),
            );
            continue;
        }
        ids.insert(case.id.to_string(), line);
        cases.push(case);
    }
    if !problems.is_empty() {
        let rows = problems.len();
        problems.push(Diagnostic::file(
            path,
            format!(
                "{} failed validation: correct them, or pass --skip-invalid to leave them out (listed in the corpus manifest)",
                count_rows(rows)
            ),
        ));
        return Err(Error::Invalid(Diagnostics(problems)));
    }
    let name = options.name.clone().unwrap_or_else(|| prefix.clone());
    let (url, citation) = match suite {
        Suite::HateCheck => (
            "https://github.com/paul-rottger/hatecheck-data",
            "Röttger, P., Vidgen, B., Nguyen, D., Waseem, Z., Margetts, H., & Pierrehumbert, J. (2021). HateCheck: Functional Tests for Hate Speech Detection Models. ACL 2021.",
        ),
        Suite::Multilingual => (
            "https://github.com/rewire-online/multilingual-hatecheck",
            "Röttger, P., Seelawi, H., Nozza, D., Talat, Z., & Vidgen, B. (2022). Multilingual HateCheck: Functional Tests for Multilingual Hate Speech Detection Models. WOAH 2022.",
        ),
    };
    let manifest = CorpusManifest {
        name,
        version: "imported".into(),
        description: format!(
            "{suite_name} ({lang}) imported from {file_name}: non-hateful → protected, hateful → violating"
        ),
        license: "CC-BY-4.0".into(),
        languages: Vec::new(),
        files: Vec::new(),
        templates: Vec::new(),
        provenance: Vec::new(),
        source: Some(Source {
            name: suite_name.into(),
            file: file_name,
            sha256,
            license: "CC-BY-4.0".into(),
            url: Some(url.into()),
            citation: Some(citation.into()),
            imported_with: format!(
                "modaudit {} corpus import hatecheck{}{}",
                env!("CARGO_PKG_VERSION"),
                if options.skip_invalid { " --skip-invalid" } else { "" },
                options.group_map.as_ref().map_or(String::new(), |m| format!(
                    " --group-map {}",
                    m.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ))
            ),
            notes: None,
            skipped: group_skipped(skipped),
        }),
    };
    let provenance = Provenance {
        languages: Vec::new(),
        written_by: format!("{suite_name} authors (see source.citation)"),
        checked_by: "the suite's own validation by annotators; imported unchanged".into(),
        review_status: "published, peer-reviewed test suite".into(),
        notes: None,
    };
    write_corpus(&options.out, options.force, manifest, &cases, provenance)
}

fn invalid(path: &Path, line: u64, message: String) -> Error {
    let d = if line == 0 {
        Diagnostic::file(path, message)
    } else {
        Diagnostic::at_line(path, line, message)
    };
    Error::Invalid(Diagnostics(vec![d]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_published_target_maps_to_a_canonical_group() {
        let taxonomy = crate::corpus::Taxonomy::bundled();
        for (from, to) in super::HATECHECK_GROUPS {
            assert_eq!(from, crate::corpus::taxonomy::name_key(from), "matched as snake_case");
            assert_eq!(taxonomy.group(to).map(|g| g.name.as_str()), Some(to), "{from} → {to}");
        }
    }
}
