//! The scenario file as written: serde types that mirror the TOML exactly and
//! reject unknown keys. [`super::Plan`] turns them into validated settings.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::analysis::{Correction, Dimension};
use crate::corpus::Label;
use crate::gates::GateThresholds;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Corpus directories, relative to the scenario file's directory.
    pub corpora: Vec<String>,
    #[serde(default)]
    pub filter: RawFilter,
    pub target: RawTarget,
    #[serde(default)]
    pub run: RawRun,
    #[serde(default)]
    pub analysis: RawAnalysis,
    #[serde(default)]
    pub gates: GateThresholds,
}

/// Which cases of the corpora to run; empty lists mean "all".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Keep only cases whose metadata column has this value, e.g.
    /// `disagreement_in_case = "False"`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum RawTarget {
    #[serde(rename = "builtin:keyword")]
    Keyword {
        /// Keyword lists replacing or adding to the built-in ones: language → file.
        #[serde(default)]
        lexicons: BTreeMap<String, String>,
    },
    #[serde(rename = "command")]
    Command {
        /// Program and arguments, e.g. `["python3", "model.py"]`.
        command: Vec<String>,
        /// Copies of the program to run side by side (default 1).
        #[serde(default)]
        processes: Option<usize>,
        /// For programs answering a score only: score ≥ threshold → remove.
        #[serde(default)]
        threshold: Option<f64>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// Cases (or batches) in flight at once.
    pub concurrency: Option<usize>,
    /// Limit on one attempt at one request, in seconds.
    pub timeout_secs: Option<f64>,
    /// Attempts per request, including the first.
    pub max_attempts: Option<u32>,
    /// Seed for every random choice of the run (recorded in the manifest).
    pub seed: Option<u64>,
    /// Share of cases allowed to end in `error` before the run counts as incomplete.
    pub error_budget: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub confidence: Option<f64>,
    pub alpha: Option<f64>,
    pub min_n: Option<u64>,
    pub correction: Option<Correction>,
    /// Actions that count as adverse (default: every action except `allow`).
    pub adverse_actions: Option<Vec<String>>,
    /// Reference group per dimension, e.g. `language = "en"`.
    #[serde(default)]
    pub reference: BTreeMap<Dimension, String>,
}
