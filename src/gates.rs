//! Gates: thresholds a run must meet, for CI. A failed gate makes the run exit 1
//! and shows as a failing test case in `junit.xml`.
//!
//! A gate never passes on nothing: when its quantity cannot be measured (no
//! protected case decided, no appeal decided, no comparison with enough cases …)
//! it is reported as not measurable, with the reason, and fails.

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, Dimension, Measure};
use crate::appeal::NoticeCoverage;
use crate::scenario::GateThresholds;

/// How a gate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    /// The quantity was measured and meets the threshold.
    Passed,
    /// The quantity was measured and misses the threshold.
    Failed,
    /// The quantity could not be measured (nothing it is computed from was
    /// observed): the gate fails, since a gate never passes on nothing.
    NotMeasurable,
}

/// The result of one gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GateResult {
    pub name: String,
    pub threshold: f64,
    /// The measured value; `None` when there was nothing to measure, or no
    /// significant disparity to take the largest ratio of.
    pub value: Option<f64>,
    /// `status == Passed`.
    pub passed: bool,
    pub status: GateStatus,
    /// One sentence saying what was measured and why the gate passed or failed,
    /// or why it could not be measured.
    pub detail: String,
}

/// What a gate found: a value, or the reason there is none.
enum Reading {
    Value(f64),
    NotMeasurable(String),
}

impl Reading {
    fn of(value: Option<f64>, reason: impl FnOnce() -> String) -> Reading {
        match value {
            Some(v) => Reading::Value(v),
            None => Reading::NotMeasurable(reason()),
        }
    }
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
            Reading::of(value, || "no protected case was decided".into()),
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
            Some((_, lang)) => format!("highest over-removal rate of a language with n ≥ {min_n} ({lang})"),
            None => "highest over-removal rate of a language".into(),
        };
        results.push(at_most(
            "max_language_over_removal_rate",
            t,
            Reading::of(worst.map(|w| w.0), || {
                format!("no language has n ≥ {min_n} decided protected cases")
            }),
            what,
        ));
    }
    if let Some(t) = thresholds.max_disparity_ratio {
        results.push(disparity_gate(t, analysis, min_n));
    }
    if let Some(t) = thresholds.max_error_rate {
        let totals = &analysis.totals;
        let value = (totals.cases > 0).then(|| totals.errors as f64 / totals.cases as f64);
        results.push(at_most(
            "max_error_rate",
            t,
            Reading::of(value, || "the plan has no cases".into()),
            format!("{} of {} cases ended in error", totals.errors, totals.cases),
        ));
    }
    if let Some(t) = thresholds.min_detection_rate {
        let value = overall.and_then(|s| s.detection_rate);
        results.push(at_least(
            "min_detection_rate",
            t,
            Reading::of(value, || "no violating case was decided".into()),
            "overall detection rate of violating cases".into(),
        ));
    }
    if let Some(t) = thresholds.max_flip_rate {
        let cf = &analysis.counterfactual;
        results.push(at_most(
            "max_flip_rate",
            t,
            Reading::of(cf.flip_rate, || {
                "no counterfactual family (cases sharing a pair_id) has two decided members".into()
            }),
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
            Reading::of(notice.share("with_appeal_route"), || {
                "no adverse decision carried a notice to inspect".into()
            }),
            format!(
                "{} of {} adverse decisions offered a route to appeal",
                notice.with_appeal_route, notice.adverse
            ),
        ));
    }
    if let Some(t) = thresholds.min_reversal_rate {
        let what = "share of decided appeals against wrongful removals that were reversed";
        let (reading, what) = match probe {
            Some(p) => match p.reversal_rate {
                Some(rate) => (
                    Reading::Value(rate),
                    format!("{what} ({} of {})", p.reversed, p.decided),
                ),
                None => (Reading::NotMeasurable(unmeasured_reversal(p)), what.to_string()),
            },
            None => (
                Reading::NotMeasurable("the scenario probes no appeals (it has no [appeal] table)".into()),
                what.to_string(),
            ),
        };
        results.push(at_least("min_reversal_rate", t, reading, what));
    }
    results
}

/// Why no appeal was decided.
fn unmeasured_reversal(p: &crate::appeal::ProbeReport) -> String {
    if p.selected == 0 {
        return format!("no appeal was selected ({} wrongful removals)", p.wrongful_removals);
    }
    let mut reasons = vec![format!("no appeal of {} was decided", p.selected)];
    if p.failed > 0 {
        let most_frequent = p
            .failures
            .first()
            .map(|(reason, _)| format!(", most often: {reason}"))
            .unwrap_or_default();
        reasons.push(format!("{} appeals failed{most_frequent}", p.failed));
    }
    if p.pending_at_deadline > 0 {
        reasons.push(format!("{} were pending at the deadline", p.pending_at_deadline));
    }
    if p.unfinished > 0 {
        reasons.push(format!("{} are not followed to an outcome yet", p.unfinished));
    }
    reasons.join("; ")
}

/// The largest rate ratio among significant disparities. With none significant
/// the gate passes only if some comparison had the minimum n on both sides:
/// small comparisons alone cannot show that there is no disparity.
fn disparity_gate(threshold: f64, analysis: &Analysis, min_n: u64) -> GateResult {
    let name = "max_disparity_ratio";
    let worst = analysis
        .disparities
        .iter()
        .filter(|d| d.significant && d.measure == Measure::OverRemoval)
        .map(|d| {
            (
                d.ratio.unwrap_or(f64::INFINITY),
                format!("{} = {} vs {}", d.dimension.as_str(), d.group, d.reference),
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((ratio, who)) = worst {
        return at_most(
            name,
            threshold,
            Reading::Value(ratio),
            format!("largest rate ratio among significant disparities ({who})"),
        );
    }
    let over_removal: Vec<_> = analysis
        .disparities
        .iter()
        .filter(|d| d.measure == Measure::OverRemoval)
        .collect();
    let compared = over_removal.iter().filter(|d| d.tested).count();
    let what = "largest rate ratio among significant disparities".to_string();
    if compared == 0 {
        let reason = if over_removal.is_empty() {
            "no two groups could be compared".to_string()
        } else {
            format!(
                "none of the {} comparisons has n ≥ {min_n} on both sides, so none was tested",
                over_removal.len()
            )
        };
        return at_most(name, threshold, Reading::NotMeasurable(reason), what);
    }
    GateResult {
        name: name.into(),
        threshold,
        value: None,
        passed: true,
        status: GateStatus::Passed,
        detail: format!(
            "no statistically significant disparity among {} comparisons ({compared} with n ≥ {min_n} on both sides)",
            analysis.disparities.len()
        ),
    }
}

fn at_most(name: &str, threshold: f64, reading: Reading, what: String) -> GateResult {
    judge(
        name,
        threshold,
        reading,
        what,
        |v| v <= threshold,
        "≤",
        "exceeds the maximum",
    )
}

fn at_least(name: &str, threshold: f64, reading: Reading, what: String) -> GateResult {
    judge(
        name,
        threshold,
        reading,
        what,
        |v| v >= threshold,
        "≥",
        "is below the minimum",
    )
}

fn judge(
    name: &str,
    threshold: f64,
    reading: Reading,
    what: String,
    meets: impl Fn(f64) -> bool,
    meets_word: &str,
    misses_words: &str,
) -> GateResult {
    let (value, status, detail) = match reading {
        Reading::Value(v) if meets(v) => (
            Some(v),
            GateStatus::Passed,
            format!("{what}: {} {meets_word} {}", fmt(v), fmt(threshold)),
        ),
        Reading::Value(v) => (
            Some(v),
            GateStatus::Failed,
            format!("{what}: {} {misses_words} {}", fmt(v), fmt(threshold)),
        ),
        Reading::NotMeasurable(reason) => (
            None,
            GateStatus::NotMeasurable,
            format!("{what}: not measurable ({reason})"),
        ),
    };
    GateResult {
        name: name.into(),
        threshold,
        value: value.filter(|v| v.is_finite()),
        passed: status == GateStatus::Passed,
        status,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_support::{case, observe};
    use crate::analysis::{AnalysisSettings, analyze};
    use crate::corpus::{Case, Label};
    use crate::decision::Action;

    fn every_gate() -> GateThresholds {
        GateThresholds {
            max_over_removal_rate: Some(0.5),
            max_language_over_removal_rate: Some(0.5),
            max_disparity_ratio: Some(2.0),
            max_error_rate: Some(0.5),
            min_detection_rate: Some(0.5),
            max_flip_rate: Some(0.5),
            min_appeal_route_coverage: Some(0.5),
            min_reversal_rate: Some(0.5),
        }
    }

    fn status_of(results: &[GateResult]) -> Vec<(&str, GateStatus)> {
        results.iter().map(|g| (g.name.as_str(), g.status)).collect()
    }

    #[test]
    fn gates_over_nothing_are_not_measurable_and_fail() {
        let cases: Vec<Case> = (0..3)
            .map(|i| case(&format!("v{i}"), "en", Label::Violating, "threat", None, None))
            .collect();
        let observations: Vec<_> = cases.iter().map(|c| observe(c, Action::Allow)).collect();
        let analysis = analyze(&observations, &AnalysisSettings::default());
        let results = evaluate(&every_gate(), &analysis, &NoticeCoverage::default(), None, 30);
        assert_eq!(
            status_of(&results),
            vec![
                ("max_over_removal_rate", GateStatus::NotMeasurable),
                ("max_language_over_removal_rate", GateStatus::NotMeasurable),
                ("max_disparity_ratio", GateStatus::NotMeasurable),
                ("max_error_rate", GateStatus::Passed),
                ("min_detection_rate", GateStatus::Failed),
                ("max_flip_rate", GateStatus::NotMeasurable),
                ("min_appeal_route_coverage", GateStatus::NotMeasurable),
                ("min_reversal_rate", GateStatus::NotMeasurable),
            ]
        );
        for gate in results.iter().filter(|g| g.status == GateStatus::NotMeasurable) {
            assert!(!gate.passed, "{gate:?}");
            assert_eq!(gate.value, None);
            assert!(gate.detail.contains(": not measurable ("), "{gate:?}");
        }
        let reversal = results.last().unwrap();
        assert!(
            reversal.detail.contains("the scenario probes no appeals"),
            "{reversal:?}"
        );
    }

    #[test]
    fn no_significant_disparity_passes_only_when_some_comparison_had_the_minimum_n() {
        // en and fr: 40 protected cases each, 10 removed in each.
        let cases: Vec<Case> = ["en", "fr"]
            .iter()
            .flat_map(|lang| (0..40).map(move |i| case(&format!("{lang}{i}"), lang, Label::Protected, "c", None, None)))
            .collect();
        let observations: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| observe(c, if i % 4 == 0 { Action::Remove } else { Action::Allow }))
            .collect();
        let thresholds = GateThresholds {
            max_disparity_ratio: Some(2.0),
            ..GateThresholds::default()
        };
        let notice = NoticeCoverage::default();
        let analysis = analyze(&observations, &AnalysisSettings::default());
        let gate = &evaluate(&thresholds, &analysis, &notice, None, 30)[0];
        assert_eq!(gate.status, GateStatus::Passed, "{gate:?}");
        assert!(
            gate.detail.starts_with("no statistically significant disparity"),
            "{gate:?}"
        );

        let settings = AnalysisSettings {
            min_n: 50,
            ..AnalysisSettings::default()
        };
        let analysis = analyze(&observations, &settings);
        let gate = &evaluate(&thresholds, &analysis, &notice, None, 50)[0];
        assert_eq!(gate.status, GateStatus::NotMeasurable, "{gate:?}");
        assert!(gate.detail.contains("has n ≥ 50 on both sides"), "{gate:?}");
    }

    #[test]
    fn a_measured_value_passes_or_fails_against_its_threshold() {
        let cases: Vec<Case> = (0..4)
            .map(|i| case(&format!("p{i}"), "en", Label::Protected, "c", None, None))
            .collect();
        let observations: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| observe(c, if i == 0 { Action::Remove } else { Action::Allow }))
            .collect();
        let analysis = analyze(&observations, &AnalysisSettings::default());
        let notice = NoticeCoverage::default();
        let gate = |t: f64| {
            let thresholds = GateThresholds {
                max_over_removal_rate: Some(t),
                ..GateThresholds::default()
            };
            evaluate(&thresholds, &analysis, &notice, None, 30).remove(0)
        };
        assert_eq!((gate(0.25).status, gate(0.25).passed), (GateStatus::Passed, true));
        assert_eq!((gate(0.2).status, gate(0.2).passed), (GateStatus::Failed, false));
        assert_eq!(gate(0.2).value, Some(0.25));
    }
}
