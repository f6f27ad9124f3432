//! What the appeal phase writes to the journal, and its index by case.
//!
//! An appeal is not idempotent, so its life is journaled in steps: the intent
//! (with the idempotency key) is on disk before the request leaves; the filing
//! once the platform has acknowledged it; the outcome once known. After a crash
//! an intent without a filing is sent again with the same key, so the platform
//! files it at most once; a filing without an outcome is polled again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealIntent {
    pub case_id: String,
    pub idempotency_key: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealFiled {
    pub case_id: String,
    pub appeal_id: String,
    pub filed_at: DateTime<Utc>,
    /// The platform's acknowledgement, as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
}

/// How an appeal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealResult {
    /// The removal was reversed (content reinstated).
    Reversed,
    /// The removal was confirmed.
    Upheld,
    /// No decision by the deadline.
    Pending,
    /// The appeal could not be filed or followed.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealOutcome {
    pub case_id: String,
    pub result: AppealResult,
    /// When the platform says it decided (or when the decision was first seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    pub observed_at: DateTime<Utc>,
    /// Seconds from filing to decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The platform's reasoning for the appeal decision, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
}

/// Where one case's appeal stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppealState {
    pub intent: Option<AppealIntent>,
    pub filed: Option<AppealFiled>,
    pub outcome: Option<AppealOutcome>,
}

/// Appeal states by case id.
pub type AppealIndex = HashMap<String, AppealState>;
