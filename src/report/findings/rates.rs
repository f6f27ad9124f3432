//! The overall over-removal and detection rates, each with the interval that
//! counts near-identical template posts as clusters.

use super::{Evidence, Finding, FindingKind, Interval};
use crate::analysis::cluster::ClusterRobust;
use crate::analysis::{Dimension, Measure};
use crate::report::summary::rate_interval_text;
use crate::report::{Report, percent, percent_interval};

/// The overall rates.
pub(super) fn findings(report: &Report) -> Vec<Finding> {
    let Some(o) = report.slices.iter().find(|s| s.dimension == Dimension::Overall) else {
        return Vec::new();
    };
    let confidence = report.settings.confidence;
    let level = confidence * 100.0;
    let mut out = Vec::new();
    match o.over_removal_rate {
        Some(rate) => {
            let (interval, note) =
                widest_interval(o.over_removal_ci, o.over_removal_cluster_robust.as_ref(), confidence);
            let small = if o.small_sample { " — a small sample" } else { "" };
            out.push(Finding::new(
                "overall.over_removal",
                FindingKind::Overall,
                format!(
                    "Of {} protected posts in the test corpus — lawful speech such as counter-speech, news reporting and reclaimed terms — {} ({}, {level:.0} % CI {}) were removed or otherwise restricted by the {}{small}.",
                    o.protected_n,
                    o.protected_adverse,
                    percent(rate),
                    interval.as_ref().map_or("–".into(), rate_interval_text),
                    report.run.target_description,
                ),
                Evidence {
                    measure: Some(Measure::OverRemoval),
                    dimension: Some(Dimension::Overall),
                    n: Some(o.protected_n),
                    count: Some(o.protected_adverse),
                    rate: Some(rate),
                    interval,
                    note,
                    ..Evidence::default()
                },
            ));
        }
        None => out.push(Finding::new(
            "overall.over_removal",
            FindingKind::Overall,
            "No protected post was decided, so over-removal could not be measured.".into(),
            Evidence {
                measure: Some(Measure::OverRemoval),
                dimension: Some(Dimension::Overall),
                n: Some(0),
                ..Evidence::default()
            },
        )),
    }
    if let Some(rate) = o.detection_rate {
        let (interval, note) = widest_interval(o.detection_ci, o.detection_cluster_robust.as_ref(), confidence);
        out.push(Finding::new(
            "overall.detection",
            FindingKind::Detection,
            format!(
                "For comparison, it acted on {} of the {} posts the corpus labels as violating ({}, {level:.0} % CI {}).",
                o.violating_adverse,
                o.violating_n,
                percent(rate),
                interval.as_ref().map_or("–".into(), rate_interval_text),
            ),
            Evidence {
                measure: Some(Measure::Detection),
                dimension: Some(Dimension::Overall),
                n: Some(o.violating_n),
                count: Some(o.violating_adverse),
                rate: Some(rate),
                interval,
                note,
                ..Evidence::default()
            },
        ));
    }
    out
}

/// The interval a sentence quotes: the cluster-robust one where there is one
/// (never narrower than Wilson's), with a note giving the Wilson interval and
/// the design effect; else Wilson's.
fn widest_interval(
    wilson: Option<[f64; 2]>,
    robust: Option<&ClusterRobust>,
    confidence: f64,
) -> (Option<Interval>, Option<String>) {
    match robust {
        Some(r) => (
            Some(Interval::new("cluster_robust_wilson", confidence, r.ci)),
            Some(format!(
                "template families and declared clusters count as clusters (design effect {}); the Wilson interval, counting every post as independent, is {}",
                r.design_effect.map_or("not estimable".into(), |d| format!("{d:.2}")),
                percent_interval(wilson)
            )),
        ),
        None => (wilson.map(|ci| Interval::new("wilson", confidence, ci)), None),
    }
}
