//! The scenario's `[gates]` table: thresholds a run must meet, checked for
//! range when the scenario loads; [`crate::gates`] judges a run against them.

use serde::{Deserialize, Serialize};

/// The scenario's `[gates]` table. Every gate is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateThresholds {
    /// Highest acceptable overall over-removal rate of protected cases.
    pub max_over_removal_rate: Option<f64>,
    /// Highest acceptable over-removal rate of any language with at least the minimum n.
    pub max_language_over_removal_rate: Option<f64>,
    /// Highest acceptable rate ratio among statistically significant over-removal disparities.
    pub max_disparity_ratio: Option<f64>,
    /// Highest acceptable share of cases that ended in `error`.
    pub max_error_rate: Option<f64>,
    /// Lowest acceptable overall detection rate of violating cases.
    pub min_detection_rate: Option<f64>,
    /// Highest acceptable counterfactual flip rate.
    pub max_flip_rate: Option<f64>,
    /// Lowest acceptable share of adverse decisions that offer a route to appeal.
    pub min_appeal_route_coverage: Option<f64>,
    /// Lowest acceptable share of decided appeals against wrongful removals that were reversed.
    pub min_reversal_rate: Option<f64>,
}

impl GateThresholds {
    /// `(name, threshold)` of every gate set, with problems for out-of-range values.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let rates = [
            ("max_over_removal_rate", self.max_over_removal_rate),
            ("max_language_over_removal_rate", self.max_language_over_removal_rate),
            ("max_error_rate", self.max_error_rate),
            ("min_detection_rate", self.min_detection_rate),
            ("max_flip_rate", self.max_flip_rate),
            ("min_appeal_route_coverage", self.min_appeal_route_coverage),
            ("min_reversal_rate", self.min_reversal_rate),
        ];
        for (name, value) in rates {
            if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
                problems.push((name.to_string(), format!("must be a share between 0 and 1, got {v}")));
            }
        }
        if let Some(v) = self.max_disparity_ratio.filter(|v| !(v.is_finite() && *v > 0.0)) {
            problems.push((
                "max_disparity_ratio".into(),
                format!("must be a positive ratio, got {v}"),
            ));
        }
        problems
    }
}
