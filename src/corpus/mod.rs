//! Test corpora: cases with a gold label, loaded from a directory holding a
//! `corpus.toml` manifest and one or more `cases.csv` files, and validated
//! strictly: a case is never silently skipped.

mod cases;
mod families;
pub mod import;
mod lang;
mod manifest;
pub mod stats;
mod templates;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::hash::sha256_hex;

pub use cases::{CASE_COLUMNS, REQUIRED_COLUMNS, parse_cases};
pub use families::{CLUSTER_COLUMN, FAMILY_KIND_COLUMN, FamilyKind, check_families};
pub use lang::{canonical_language_tag, language_covered_by};
pub use manifest::{CorpusManifest, Provenance, Source};
pub use templates::{TemplateFiles, expand_templates};

/// The manifest's file name inside a corpus directory.
pub const MANIFEST_FILE: &str = "corpus.toml";

/// The gold label of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Lawful speech that should stay up.
    Protected,
    /// Content the policy prohibits.
    Violating,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Protected => "protected",
            Label::Violating => "violating",
        }
    }

    pub fn parse(value: &str) -> Option<Label> {
        match value {
            "protected" => Some(Label::Protected),
            "violating" => Some(Label::Violating),
            _ => None,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Unique within the corpora of a run.
    pub id: String,
    /// BCP 47 tag, canonical case.
    pub lang: String,
    /// The text exactly as the moderation system is to see it.
    pub text: String,
    pub label: Label,
    /// Functionality, e.g. `counter_speech`, `reclaimed_term`, `slur`.
    pub category: String,
    /// Who the text is about, if anyone.
    pub target_group: Option<String>,
    /// Dialect or community of the writer, if recorded.
    pub speaker_group: Option<String>,
    /// Counterfactual family: cases that differ only by an identity term or dialect.
    pub pair_id: Option<String>,
    pub notes: String,
    /// Columns beyond the standard ones (e.g. annotation flags of an imported suite).
    pub metadata: BTreeMap<String, String>,
}

/// A file of a corpus and its sha256, for the run manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashedFile {
    /// Path relative to the corpus directory, with `/` separators.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A loaded, validated corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub dir: PathBuf,
    pub manifest: CorpusManifest,
    pub cases: Vec<Case>,
    /// The manifest and every case file, hashed.
    pub files: Vec<HashedFile>,
}

/// Loads and validates the corpus in `dir`, reporting every problem found.
pub fn load_corpus(dir: &Path) -> Result<Corpus, Diagnostics> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if !dir.is_dir() {
        return Err(Diagnostics(vec![Diagnostic::file(
            dir,
            "corpus directory does not exist",
        )]));
    }
    let manifest_bytes = std::fs::read(&manifest_path).map_err(|e| {
        Diagnostics(vec![Diagnostic::file(
            &manifest_path,
            format!("cannot read the corpus manifest: {e}"),
        )])
    })?;
    let manifest_text = std::str::from_utf8(&manifest_bytes)
        .map_err(|e| Diagnostics(vec![Diagnostic::file(&manifest_path, format!("not valid UTF-8: {e}"))]))?;
    let manifest: CorpusManifest = toml::from_str(manifest_text).map_err(|e| {
        Diagnostics(vec![crate::diagnostic::from_toml_error(
            &manifest_path,
            manifest_text,
            &e,
        )])
    })?;

    let mut problems = Vec::new();
    let declared = validate_manifest(&manifest, &manifest_path, manifest_text, &mut problems);
    let mut files = vec![HashedFile {
        path: MANIFEST_FILE.to_string(),
        sha256: sha256_hex(&manifest_bytes),
        bytes: manifest_bytes.len() as u64,
    }];
    let mut cases = Vec::new();
    let mut seen: HashMap<String, (PathBuf, u64)> = HashMap::new();
    for file in &manifest.files {
        let line = crate::diagnostic::toml_key_line(manifest_text, &["files"]);
        let relative = Path::new(file);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            problems.push(Diagnostic {
                line,
                ..Diagnostic::file(
                    &manifest_path,
                    format!("file `{file}` must be a path inside the corpus directory"),
                )
                .with_field("files")
            });
            continue;
        }
        let path = dir.join(relative);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                let message = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("manifest lists `{file}` but {} does not exist", path.display())
                } else {
                    format!("cannot read `{file}`: {e}")
                };
                problems.push(Diagnostic {
                    line,
                    ..Diagnostic::file(&manifest_path, message).with_field("files")
                });
                continue;
            }
        };
        files.push(HashedFile {
            path: file.replace('\\', "/"),
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
        });
        let parsed: Vec<(Case, PathBuf, u64)> = parse_cases(&path, &bytes, &mut problems)
            .into_iter()
            .map(|(case, line)| (case, path.clone(), line))
            .collect();
        admit(parsed, &declared, &mut seen, &mut cases, &mut problems);
    }
    for set in &manifest.templates {
        for file in [&set.templates, &set.groups] {
            match std::fs::read(dir.join(file)) {
                Ok(bytes) => files.push(HashedFile {
                    path: file.replace('\\', "/"),
                    sha256: sha256_hex(&bytes),
                    bytes: bytes.len() as u64,
                }),
                Err(e) => {
                    problems.push(
                        Diagnostic::file(
                            &manifest_path,
                            format!("templates for `{}`: cannot read `{file}`: {e}", set.lang),
                        )
                        .with_field("templates"),
                    );
                }
            }
        }
        if problems.is_empty() {
            let expanded = expand_templates(dir, set, &mut problems);
            admit(expanded, &declared, &mut seen, &mut cases, &mut problems);
        }
    }
    check_families(
        cases
            .iter()
            .filter_map(|case| seen.get(&case.id).map(|(path, line)| (case, path.as_path(), *line))),
        &mut problems,
    );
    if problems.is_empty() && cases.is_empty() {
        problems.push(Diagnostic::file(&manifest_path, "the corpus has no cases"));
    }
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }
    Ok(Corpus {
        dir: dir.to_path_buf(),
        manifest,
        cases,
        files,
    })
}

/// Adds cases after checking their language is declared and their id unused.
fn admit(
    parsed: Vec<(Case, PathBuf, u64)>,
    declared: &[String],
    seen: &mut HashMap<String, (PathBuf, u64)>,
    cases: &mut Vec<Case>,
    problems: &mut Vec<Diagnostic>,
) {
    for (case, path, line) in parsed {
        if !declared.is_empty() && !declared.iter().any(|d| language_covered_by(&case.lang, d)) {
            problems.push(
                Diagnostic::at_line(
                    &path,
                    line,
                    format!(
                        "language `{}` is not among the corpus languages [{}] declared in {MANIFEST_FILE}",
                        case.lang,
                        declared.join(", ")
                    ),
                )
                .with_field("lang"),
            );
        }
        if let Some((first_path, first_line)) = seen.get(&case.id) {
            problems.push(
                Diagnostic::at_line(
                    &path,
                    line,
                    format!(
                        "duplicate id `{}` (first used at {}:{first_line})",
                        case.id,
                        first_path.display()
                    ),
                )
                .with_field("id"),
            );
            continue;
        }
        seen.insert(case.id.clone(), (path, line));
        cases.push(case);
    }
}

/// Checks the manifest's own fields; returns its languages in canonical form.
fn validate_manifest(
    manifest: &CorpusManifest,
    path: &Path,
    text: &str,
    problems: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let at = |key: &str, message: String| Diagnostic {
        line: crate::diagnostic::toml_key_line(text, &[key]),
        ..Diagnostic::file(path, message).with_field(key)
    };
    if manifest.name.trim().is_empty() {
        problems.push(at("name", "corpus name is empty".into()));
    }
    if manifest.languages.is_empty() {
        problems.push(at("languages", "list at least one language".into()));
    }
    if manifest.files.is_empty() {
        problems.push(at("files", "list at least one case file".into()));
    }
    let mut declared = Vec::new();
    for lang in &manifest.languages {
        match canonical_language_tag(lang) {
            Ok(tag) => declared.push(tag),
            Err(message) => problems.push(at("languages", message)),
        }
    }
    for (i, p) in manifest.provenance.iter().enumerate() {
        for lang in &p.languages {
            if let Err(message) = canonical_language_tag(lang) {
                problems.push(at("provenance", format!("entry {}: {message}", i + 1)));
            }
        }
    }
    declared
}

impl Corpus {
    /// Languages and the number of cases in each, in first-seen order.
    pub fn language_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for case in &self.cases {
            match counts.iter_mut().find(|(l, _)| *l == case.lang) {
                Some((_, n)) => *n += 1,
                None => counts.push((case.lang.clone(), 1)),
            }
        }
        counts
    }
}
