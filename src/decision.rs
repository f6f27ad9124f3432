//! What a moderation system decided about one case, as recorded in the journal.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hash::Sha256Digest;

/// The outcome of moderating one case.
///
/// `Error` (the system could not be asked or did not answer usably) and
/// `Unsupported` (the system says it cannot moderate this language) are outcomes,
/// not decisions: they are never adverse and are left out of rate denominators,
/// but they are counted and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Label,
    Reduce,
    Demonetize,
    Remove,
    Suspend,
    Unsupported,
    Error,
}

impl Action {
    /// Every action a system can take on content (not the two non-decisions).
    pub const MODERATION: [Action; 6] = [
        Action::Allow,
        Action::Label,
        Action::Reduce,
        Action::Demonetize,
        Action::Remove,
        Action::Suspend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Label => "label",
            Action::Reduce => "reduce",
            Action::Demonetize => "demonetize",
            Action::Remove => "remove",
            Action::Suspend => "suspend",
            Action::Unsupported => "unsupported",
            Action::Error => "error",
        }
    }

    /// Parses a moderation action (not `error` or `unsupported`).
    pub fn parse_moderation(value: &str) -> Option<Action> {
        Action::MODERATION.into_iter().find(|a| a.as_str() == value)
    }

    /// Whether the system actually decided (as opposed to error or unsupported).
    pub fn is_decision(self) -> bool {
        !matches!(self, Action::Error | Action::Unsupported)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the system told the affected user about an action, as found in its response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// Statement of reasons / explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rule or policy clause cited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Whether the system disclosed that the decision was automated (and what it said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    /// Whether the system disclosed that the content was detected by automated means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_detection: Option<bool>,
    /// Where the restriction applies (e.g. country codes), as the notice states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territorial_scope: Option<String>,
    /// Route to appeal: a URL or endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_url: Option<String>,
}

/// How a scoring system turns its score into an action: a score at or above
/// the threshold gets `at_or_above` (the more a score says "violating", the
/// higher it is), a lower one `below`. A target kind whose action is not such a
/// rule (a keyword list, a model that answers with a verdict, per-category
/// thresholds) has none, and its runs have no threshold sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreRule {
    /// The threshold the run used.
    pub threshold: f64,
    /// The action for a score at or above the threshold.
    pub at_or_above: Action,
    /// The action for a score below it.
    pub below: Action,
}

impl ScoreRule {
    /// Score ≥ `threshold` → remove, else allow: the rule of every scoring
    /// target kind.
    pub fn remove_at_or_above(threshold: f64) -> ScoreRule {
        ScoreRule {
            threshold,
            at_or_above: Action::Remove,
            below: Action::Allow,
        }
    }

    /// The action this rule gives `score` at `threshold` (the rule's own or another).
    pub fn action_at(&self, score: f64, threshold: f64) -> Action {
        if score >= threshold {
            self.at_or_above
        } else {
            self.below
        }
    }
}

/// One case's decision, as written to and read from the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub case_id: String,
    pub action: Action,
    /// The score compared with the threshold, for scoring systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Every score the system returned, by attribute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<String, f64>,
    #[serde(default)]
    pub notice: Notice,
    /// Why the case ended as `error` or `unsupported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the system said about a decided case besides its action (e.g. the
    /// custom blocklist entries it matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The model (or model snapshot) that answered, when the system names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub latency_ms: u64,
    pub attempts: u32,
    pub decided_at: DateTime<Utc>,
    /// sha256 of the raw response body, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_sha256: Option<Sha256Digest>,
    /// The raw response (secrets never included), kept as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
    /// Whether the response came from the on-disk cache rather than the system.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cache_hit: bool,
}

/// The decision of every case of a plan, as far as the journal records it, by case id.
pub type DecisionIndex = HashMap<String, Decision>;
