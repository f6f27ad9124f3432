//! The scenario file as written: serde types that mirror the TOML exactly and
//! reject unknown keys. [`super::Plan`] turns them into validated settings.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::thresholds::RawGates;
use crate::analysis::{Correction, Dimension, FamilyMode, ReferenceMode};
use crate::corpus::Label;
use crate::corpus::review::ReviewFilter;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Corpus directories, relative to the scenario file's directory.
    pub corpora: Vec<String>,
    #[serde(default)]
    pub filter: RawFilter,
    /// `[target]`: read by the kind its `kind` names (see
    /// [`crate::moderator::registry`]), which alone knows the other keys.
    #[serde(default)]
    #[schemars(
        schema_with = "crate::moderator::registry::target_schema",
        description = "The system audited: `kind` names the target kind, which alone knows the other keys."
    )]
    pub target: Option<toml::Table>,
    /// `[[targets]]`: several systems compared on the same cases, each a
    /// `[target]` table with a `label`; a scenario has either this or `[target]`.
    #[serde(default)]
    #[schemars(
        schema_with = "targets_schema",
        description = "Several systems audited on the same cases and compared: each a `[target]` table with a unique `label`. A scenario has either `[target]` or `[[targets]]`."
    )]
    pub targets: Vec<toml::Table>,
    #[serde(default)]
    pub run: RawRun,
    #[serde(default)]
    pub analysis: RawAnalysis,
    #[serde(default)]
    pub gates: RawGates,
    /// How to probe the platform's appeal path.
    #[serde(default)]
    pub appeal: Option<RawAppeal>,
    /// Facts about notice and appeal the run cannot observe, declared by the auditor.
    #[serde(default)]
    pub declared: crate::scenario::DeclaredFacts,
    /// A file of statements of reasons (EU DSA Transparency Database format) to check.
    #[serde(default)]
    pub statements: Option<RawStatements>,
    /// An earlier run to compare this one with.
    #[serde(default)]
    pub baseline: Option<RawBaseline>,
    /// Seeded edits of the cases, added as variants of their originals.
    #[serde(default)]
    pub perturb: Option<RawPerturb>,
    /// A taxonomy of groups merged over the bundled one.
    #[serde(default)]
    pub taxonomy: Option<RawTaxonomy>,
}

/// The schema of `[[targets]]`: an array of labelled target tables.
fn targets_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let item = crate::moderator::registry::labelled_target_schema(generator);
    schemars::json_schema!({
        "type": "array",
        "minItems": 1,
        "items": item,
    })
}

/// `[baseline]`: an earlier run of the same cases to compare with.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    /// The run directory, relative to the scenario file's directory.
    pub run: String,
    /// Fail when over-removal rises by more than this share (e.g. 0.02).
    pub max_regression: Option<f64>,
    /// Judge `max_regression` on point estimates alone.
    #[serde(default)]
    pub strict: bool,
    /// Compare the cases identical in both runs instead of refusing when the corpora differ.
    #[serde(default)]
    pub allow_corpus_change: bool,
}

/// `[perturb]`: which transforms, on which cases, with which seed.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerturb {
    /// Transform names (see [`crate::corpus::Transform`]).
    pub transforms: Vec<String>,
    /// Seed of the selection and of every edit (default: `run.seed`).
    pub seed: Option<u64>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// Share of each language's eligible cases to perturb (default 1).
    pub share: Option<f64>,
    pub max_per_language: Option<usize>,
}

/// `[taxonomy]`: the scenario's own groups and aliases.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTaxonomy {
    /// A taxonomy file, relative to the scenario's directory.
    pub file: String,
}

/// `[appeal]`: the platform's appeal API.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAppeal {
    /// With several targets, the label of the one whose appeal path this is.
    pub target: Option<String>,
    /// Where appeals are filed (POST); may contain `${ENV}`.
    pub submit_url: String,
    /// Body template: `{id}`, `{decision_id}`, `{lang}`, `{text}`, `{appeal_text}`, `{idempotency_key}`.
    pub submit_body: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// What the appeal says (default: a short statement that the post is lawful).
    pub appeal_text: Option<String>,
    /// JSON pointer to the appeal id in the filing's answer.
    pub appeal_id: String,
    /// Where an appeal's status is read (GET): `{appeal_id}`, `{decision_id}`, `{id}`.
    pub status_url: String,
    /// JSON pointer to the status value.
    pub status: String,
    /// Platform status values → `reversed`, `upheld` or `pending`.
    #[serde(default)]
    pub status_map: BTreeMap<String, String>,
    /// JSON pointer to when the platform decided (RFC 3339), in the status answer.
    pub decided_at: Option<String>,
    /// JSON pointer to when the platform registered the appeal (RFC 3339), in
    /// the filing's answer.
    pub filed_at: Option<String>,
    /// JSON pointer to the platform's reasoning for its appeal decision.
    pub outcome_reason: Option<String>,
    pub poll_interval_secs: Option<f64>,
    pub deadline_secs: Option<f64>,
    /// Share of wrongful removals to appeal (default 1.0), chosen with the run's seed.
    pub sample: Option<f64>,
    pub max_appeals: Option<usize>,
    pub concurrency: Option<usize>,
    /// Header carrying the idempotency key (default `Idempotency-Key`).
    pub idempotency_header: Option<String>,
}

/// `[statements]`: statements of reasons to validate.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStatements {
    pub file: String,
}

/// Which cases of the corpora to run; empty lists mean "all".
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
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
    /// `confirmed` or `exclude_disputed`: by the reviews recorded beside the
    /// corpus (see [`crate::corpus::review`]).
    #[serde(default)]
    pub review: Option<ReviewFilter>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
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
    /// Global limits on requests to the target (every attempt counts).
    pub requests_per_second: Option<f64>,
    pub requests_per_minute: Option<f64>,
    /// Longest wait a `Retry-After` answer may impose, in seconds (default 120).
    pub max_retry_after_secs: Option<f64>,
    /// Longest a case may wait in total because the target answered 429, in
    /// seconds (default 600); rate-limited answers use up no attempt.
    pub max_rate_limit_wait_secs: Option<f64>,
    /// Keep answers of remote targets in the on-disk cache (default true).
    pub cache: Option<bool>,
    /// Where the cache lives (default: `$XDG_CACHE_HOME/modaudit` or `~/.cache/modaudit`).
    pub cache_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub confidence: Option<f64>,
    pub alpha: Option<f64>,
    /// Groups with fewer decided cases are described but not tested.
    pub min_n: Option<u64>,
    pub correction: Option<Correction>,
    /// `per_dimension` (default) or `pooled` correction families.
    pub families: Option<FamilyMode>,
    /// `rest` (default), `fixed` or `lowest`: how each dimension's reference is chosen.
    pub reference_mode: Option<ReferenceMode>,
    /// Actions that count as adverse (default: every action except `allow`).
    pub adverse_actions: Option<Vec<String>>,
    /// Named reference group per dimension, e.g. `language = "en"`; used whatever
    /// the reference mode, and required for every dimension with `fixed`.
    #[serde(default)]
    pub reference: BTreeMap<Dimension, String>,
}
