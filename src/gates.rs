//! Gates: thresholds a run must meet, for CI. A failed gate makes the run exit 1
//! and shows as a failing test case in `junit.xml`.

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, Dimension, Measure};
use crate::appeal::NoticeCoverage;

/// The scenario's `[gates]` table. Every gate is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
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

/// The result of one gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub name: String,
    pub threshold: f64,
    /// The measured value; `None` when there was nothing to measure.
    pub value: Option<f64>,
    pub passed: bool,
    /// One sentence saying what was measured and why the gate passed or failed.
    pub detail: String,
}

/// Evaluates every gate that is set, in a fixed order.
pub fn evaluate(
    thresholds: &GateThresholds,
    analysis: &Analysis,
    notice: &NoticeCoverage,
    probe: Option<&crate::appeal::ProbeReport>,
    min_n: u64,
) -> Vec<GateResult> {
    let mut results = Vec::new();
    let overall = analysis.slices.iter().find(|s| s.dimension == Dimension::Overall);

    if let Some(t) = thresholds.max_over_removal_rate {
        let value = overall.and_then(|s| s.over_removal_rate);
        results.push(at_most(
            "max_over_removal_rate",
            t,
            value,
            "overall over-removal rate of protected cases".into(),
        ));
    }
    if let Some(t) = thresholds.max_language_over_removal_rate {
        let worst = analysis
            .slices
            .iter()
            .filter(|s| s.dimension == Dimension::Language && s.protected_n >= min_n)
            .filter_map(|s| s.over_removal_rate.map(|r| (r, s.value.clone())))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let what = match &worst {
            Some((_, lang)) => {
                format!("highest over-removal rate of a language with n ≥ {min_n} ({lang})")
            }
            None => format!("no language has n ≥ {min_n} protected cases"),
        };
        results.push(at_most("max_language_over_removal_rate", t, worst.map(|w| w.0), what));
    }
    if let Some(t) = thresholds.max_disparity_ratio {
        let significant: Vec<_> = analysis
            .disparities
            .iter()
            .filter(|d| d.significant && d.measure == Measure::OverRemoval)
            .collect();
        let worst = significant
            .iter()
            .map(|d| {
                (
                    d.ratio.unwrap_or(f64::INFINITY),
                    format!("{} = {} vs {}", d.dimension.as_str(), d.group, d.reference),
                )
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let what = match &worst {
            Some((_, who)) => format!("largest rate ratio among significant disparities ({who})"),
            None => "no statistically significant disparity".into(),
        };
        results.push(at_most("max_disparity_ratio", t, worst.map(|w| w.0), what));
    }
    if let Some(t) = thresholds.max_error_rate {
        let totals = &analysis.totals;
        let value = (totals.cases > 0).then(|| totals.errors as f64 / totals.cases as f64);
        results.push(at_most(
            "max_error_rate",
            t,
            value,
            format!("{} of {} cases ended in error", totals.errors, totals.cases),
        ));
    }
    if let Some(t) = thresholds.min_detection_rate {
        let value = overall.and_then(|s| s.detection_rate);
        results.push(at_least(
            "min_detection_rate",
            t,
            value,
            "overall detection rate of violating cases".into(),
        ));
    }
    if let Some(t) = thresholds.max_flip_rate {
        let cf = &analysis.counterfactual;
        results.push(at_most(
            "max_flip_rate",
            t,
            cf.flip_rate,
            format!(
                "{} of {} counterfactual families treated inconsistently",
                cf.flipped, cf.families
            ),
        ));
    }
    if let Some(t) = thresholds.min_appeal_route_coverage {
        results.push(at_least(
            "min_appeal_route_coverage",
            t,
            notice.share("with_appeal_route"),
            format!(
                "{} of {} adverse decisions offered a route to appeal",
                notice.with_appeal_route, notice.adverse
            ),
        ));
    }
    if let Some(t) = thresholds.min_reversal_rate {
        let (value, what) = match probe {
            Some(p) => (
                p.reversal_rate,
                format!(
                    "{} of {} decided appeals against wrongful removals were reversed",
                    p.reversed, p.decided
                ),
            ),
            None => (None, "the scenario probes no appeals".to_string()),
        };
        results.push(at_least("min_reversal_rate", t, value, what));
    }
    results
}

fn at_most(name: &str, threshold: f64, value: Option<f64>, what: String) -> GateResult {
    let passed = value.is_none_or(|v| v <= threshold);
    let detail = match value {
        Some(v) if passed => format!("{what}: {} ≤ {}", fmt(v), fmt(threshold)),
        Some(v) => format!("{what}: {} exceeds the maximum {}", fmt(v), fmt(threshold)),
        None => format!("{what}: nothing to measure"),
    };
    GateResult {
        name: name.into(),
        threshold,
        value: value.filter(|v| v.is_finite()),
        passed,
        detail,
    }
}

fn at_least(name: &str, threshold: f64, value: Option<f64>, what: String) -> GateResult {
    let passed = value.is_none_or(|v| v >= threshold);
    let detail = match value {
        Some(v) if passed => format!("{what}: {} ≥ {}", fmt(v), fmt(threshold)),
        Some(v) => format!("{what}: {} is below the minimum {}", fmt(v), fmt(threshold)),
        None => format!("{what}: nothing to measure"),
    };
    GateResult {
        name: name.into(),
        threshold,
        value,
        passed,
        detail,
    }
}

fn fmt(v: f64) -> String {
    if v.is_infinite() {
        "∞".into()
    } else {
        format!("{v:.4}")
    }
}
