//! `corpus.toml`: what a corpus is, where it came from and how far to trust it.

use serde::{Deserialize, Serialize};

/// The manifest of a corpus directory.
///
/// Only `name`, `version`, `description`, `license` and `languages` are required;
/// `files` defaults to `["cases.csv"]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusManifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub license: String,
    /// BCP 47 tags of the languages the corpus covers; every case's `lang` must be
    /// one of these or more specific than one of them.
    pub languages: Vec<String>,
    /// Case files (CSV), relative to the corpus directory.
    #[serde(default = "default_files")]
    pub files: Vec<String>,
    /// Counterfactual templates, expanded at load time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<super::TemplateFiles>,
    /// Who wrote each language's cases, how they were checked and how far reviewed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<Provenance>,
    /// For imported corpora: the upstream suite the cases came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

fn default_files() -> Vec<String> {
    vec!["cases.csv".to_string()]
}

/// Provenance of the cases in some languages of a corpus.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub languages: Vec<String>,
    pub written_by: String,
    pub checked_by: String,
    /// e.g. "machine-drafted, awaiting native-speaker review" or "reviewed by native speakers".
    pub review_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The upstream of an imported corpus.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Name of the upstream suite, e.g. "HateCheck".
    pub name: String,
    /// File name of the imported input.
    pub file: String,
    /// sha256 of the imported input, hex.
    pub sha256: String,
    /// Licence of the upstream data, e.g. "CC-BY-4.0".
    pub license: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// The importer and options that produced this corpus.
    pub imported_with: String,
    /// Anything else a reader of the corpus should know about the import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Rows of the input the import left out (`--skip-unmapped`, `--skip-invalid`), by reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRows>,
}

/// Rows of an imported file left out for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedRows {
    /// Why, e.g. "no value in `t_gold`" or "label `offensive` maps to nothing".
    pub reason: String,
    /// 1-based lines of the input file where each left-out row starts.
    pub lines: Vec<u64>,
}
