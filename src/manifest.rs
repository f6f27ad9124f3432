//! The run manifest: everything a third party needs to reproduce a run — the
//! tool, the scenario and corpora with their hashes, the target's description
//! and fingerprint, the seed, the times — and what the target's rate limiting
//! cost. Plain data, below the report that shows it and the runner that reads
//! and writes it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::corpus::HashedFile;
use crate::decision::ScoreRule;
use crate::moderator::TargetInfo;
use crate::scenario::CorpusRecord;
use crate::shard::Sharding;

/// Everything a third party needs to reproduce a run, written when the run starts
/// and completed when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub tool: String,
    pub tool_version: String,
    pub run_id: String,
    pub scenario: ScenarioRecord,
    pub corpora: Vec<CorpusRecord>,
    /// The scenario's own taxonomy of groups (`[taxonomy] file`), hashed;
    /// absent when the run used the bundled one alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<HashedFile>,
    pub target: TargetInfo,
    pub seed: u64,
    /// A random per-run secret (32 bytes from the OS, hex) from which the
    /// appeal idempotency keys are derived, so that no two runs share a key. A
    /// resumed run reuses it. It stays in the manifest: no report file copies it.
    /// Absent from manifests of runs started before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_secret: Option<String>,
    /// Cases in the plan.
    pub cases: u64,
    pub started_at: DateTime<Utc>,
    /// When the run was continued after an interruption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_at: Vec<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What the target's rate limiting cost, over every part of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limiting: Option<RateLimiting>,
    /// sha256 of every output file, once the run has finished.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// How the target turned its score into an action, when a single
    /// threshold did: what a threshold sweep and a re-analysis at another
    /// threshold rest on, without the target. Absent for targets without one
    /// (and from manifests of runs started before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_rule: Option<ScoreRule>,
    /// Set only in the manifest of a re-analysis (`modaudit report RUN
    /// --threshold T`): its reports are not what the system did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_override: Option<ThresholdOverride>,
    /// Set when the run decided one shard of the cases (`run --shard k/n`),
    /// or was merged from shards (`merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharding: Option<Sharding>,
}

/// What a re-analysis of a run at another threshold is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOverride {
    /// The threshold every action the score rule explains was re-derived at.
    pub threshold: f64,
    /// The threshold the system ran at.
    pub run_threshold: f64,
    /// The run directory re-analysed.
    pub run_dir: PathBuf,
    /// The same, in a sentence.
    pub statement: String,
}

/// The scenario a run executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRecord {
    pub name: String,
    /// Absolute path when the run started.
    pub path: PathBuf,
    pub sha256: String,
}

/// What rate limiting cost a run: recorded in the manifest, shown in the report.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RateLimiting {
    /// Answers saying "too many requests" (HTTP 429).
    pub responses: u64,
    /// The lowest rate the run slowed down to, in requests per second.
    pub lowest_rate: Option<f64>,
    /// How long the target was paused at the system's request, in seconds.
    pub waited_secs: f64,
}

impl RateLimiting {
    /// Whether the system never asked the run to slow down.
    pub fn is_empty(&self) -> bool {
        self.responses == 0 && self.waited_secs == 0.0
    }

    /// The totals of two parts of a run (a run and its resumption).
    pub fn merge(self, other: RateLimiting) -> RateLimiting {
        RateLimiting {
            responses: self.responses + other.responses,
            lowest_rate: match (self.lowest_rate, other.lowest_rate) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            waited_secs: self.waited_secs + other.waited_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_totals_add_up() {
        let a = RateLimiting {
            responses: 3,
            lowest_rate: Some(2.0),
            waited_secs: 1.5,
        };
        let b = RateLimiting {
            responses: 1,
            lowest_rate: None,
            waited_secs: 1.0,
        };
        assert_eq!(
            a.merge(b),
            RateLimiting {
                responses: 4,
                lowest_rate: Some(2.0),
                waited_secs: 2.5
            }
        );
        assert!(RateLimiting::default().is_empty());
    }
}
