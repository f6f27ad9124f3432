//! Over-removal and detection rates per slice, each with its Wilson interval
//! and its cluster-robust interval (see [`super::cluster`]).

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use super::cluster::{ClusterKey, ClusterRobust, ClusterTallies, cluster_robust};
use super::{AnalysisSettings, Dimension, Observation, ValueKey, rate_with_interval};
use crate::corpus::Label;
use crate::decision::Action;

/// Rates for the cases sharing one value of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Slice {
    pub dimension: Dimension,
    pub value: String,
    /// Decided protected cases.
    pub protected_n: u64,
    /// Of those, how many met adverse action.
    pub protected_adverse: u64,
    pub over_removal_rate: Option<f64>,
    pub over_removal_ci: Option<[f64; 2]>,
    /// The over-removal rate's interval counting families and explicit clusters
    /// as clusters, with its design effect.
    pub over_removal_cluster_robust: Option<ClusterRobust>,
    /// Decided violating cases.
    pub violating_n: u64,
    pub violating_adverse: u64,
    pub detection_rate: Option<f64>,
    pub detection_ci: Option<[f64; 2]>,
    /// The detection rate's cluster-robust interval.
    pub detection_cluster_robust: Option<ClusterRobust>,
    /// `protected_n` is below the minimum n: treat the over-removal rate with caution.
    pub small_sample: bool,
    /// `violating_n` is below the minimum n.
    pub detection_small_sample: bool,
    /// Cases in the slice that ended in `error`.
    pub errors: u64,
    /// Cases in the slice the system declared it cannot moderate.
    pub unsupported: u64,
}

#[derive(Default)]
struct Counts<'a> {
    protected_n: u64,
    protected_adverse: u64,
    protected_clusters: ClusterTallies<'a>,
    violating_n: u64,
    violating_adverse: u64,
    violating_clusters: ClusterTallies<'a>,
    errors: u64,
    unsupported: u64,
}

impl<'a> Counts<'a> {
    fn add(&mut self, o: &Observation<'a>) {
        match o.action {
            Some(Action::Error) => self.errors += 1,
            Some(Action::Unsupported) => self.unsupported += 1,
            Some(_) => match o.case.label {
                Label::Protected => {
                    self.protected_n += 1;
                    self.protected_adverse += u64::from(o.adverse);
                    self.protected_clusters.add(ClusterKey::of(o.case), o.adverse);
                }
                Label::Violating => {
                    self.violating_n += 1;
                    self.violating_adverse += u64::from(o.adverse);
                    self.violating_clusters.add(ClusterKey::of(o.case), o.adverse);
                }
            },
            None => {}
        }
    }
}

/// Slices for every dimension, overall first, values in lexical order.
pub fn slices(observations: &[Observation<'_>], settings: &AnalysisSettings) -> Vec<Slice> {
    let mut out = Vec::new();
    for dimension in Dimension::ALL {
        let mut keyed: FxHashMap<ValueKey, Counts<'_>> = FxHashMap::default();
        for o in observations {
            for key in dimension.keys_of(o.case) {
                keyed.entry(key).or_default().add(o);
            }
        }
        let mut groups: Vec<(String, Counts<'_>)> =
            keyed.into_iter().map(|(k, c)| (k.text().into_owned(), c)).collect();
        groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (value, c) in groups {
            let (over_removal_rate, over_removal_ci) =
                rate_with_interval(c.protected_adverse, c.protected_n, settings.confidence);
            let (detection_rate, detection_ci) =
                rate_with_interval(c.violating_adverse, c.violating_n, settings.confidence);
            out.push(Slice {
                dimension,
                value,
                protected_n: c.protected_n,
                protected_adverse: c.protected_adverse,
                over_removal_rate,
                over_removal_ci,
                over_removal_cluster_robust: cluster_robust(&c.protected_clusters.sums(), settings.confidence),
                violating_n: c.violating_n,
                violating_adverse: c.violating_adverse,
                detection_rate,
                detection_ci,
                detection_cluster_robust: cluster_robust(&c.violating_clusters.sums(), settings.confidence),
                small_sample: c.protected_n < settings.min_n,
                detection_small_sample: c.violating_n < settings.min_n,
                errors: c.errors,
                unsupported: c.unsupported,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{case, observe};
    use super::*;

    #[test]
    fn counts_rates_and_flags_small_samples() {
        let cases = [
            case("a", "en", Label::Protected, "counter_speech", Some("women"), None),
            case("b", "en", Label::Protected, "counter_speech", Some("muslims"), None),
            case("c", "ar", Label::Protected, "news_reporting", Some("women"), None),
            case("d", "ar", Label::Violating, "slur", Some("women"), None),
            case("e", "ar", Label::Violating, "slur", None, None),
        ];
        let obs = [
            observe(&cases[0], Action::Remove),
            observe(&cases[1], Action::Allow),
            observe(&cases[2], Action::Error),
            observe(&cases[3], Action::Remove),
            observe(&cases[4], Action::Allow),
        ];
        let settings = AnalysisSettings {
            min_n: 2,
            ..AnalysisSettings::default()
        };
        let slices = slices(&obs, &settings);
        let overall = &slices[0];
        assert_eq!((overall.dimension, overall.value.as_str()), (Dimension::Overall, "all"));
        assert_eq!((overall.protected_n, overall.protected_adverse), (2, 1));
        assert_eq!(overall.over_removal_rate, Some(0.5));
        assert_eq!(
            (overall.violating_n, overall.violating_adverse, overall.errors),
            (2, 1, 1)
        );
        let ar = slices
            .iter()
            .find(|s| s.dimension == Dimension::Language && s.value == "ar")
            .unwrap();
        assert_eq!((ar.protected_n, ar.over_removal_rate, ar.small_sample), (0, None, true));
        let ar_women = slices
            .iter()
            .find(|s| s.dimension == Dimension::LanguageXTargetGroup && s.value == "ar × women")
            .unwrap();
        assert_eq!((ar_women.violating_n, ar_women.detection_rate), (1, Some(1.0)));
        // cases without a target group form no target-group slice
        assert_eq!(
            slices.iter().filter(|s| s.dimension == Dimension::TargetGroup).count(),
            2
        );
    }

    #[test]
    fn a_family_is_one_cluster_of_a_slice() {
        let cases = [
            case("a1", "en", Label::Protected, "c", Some("w"), Some("f")),
            case("a2", "en", Label::Protected, "c", Some("m"), Some("f")),
            case("a3", "en", Label::Protected, "c", Some("j"), Some("f")),
            case("b1", "en", Label::Protected, "c", Some("w"), None),
            case("b2", "en", Label::Protected, "c", Some("m"), None),
        ];
        let obs = [
            observe(&cases[0], Action::Remove),
            observe(&cases[1], Action::Remove),
            observe(&cases[2], Action::Remove),
            observe(&cases[3], Action::Allow),
            observe(&cases[4], Action::Allow),
        ];
        let slices = slices(&obs, &AnalysisSettings::default());
        let overall = slices[0].over_removal_cluster_robust.as_ref().unwrap();
        assert_eq!((overall.clusters, overall.largest_cluster), (3, 3));
        assert!(overall.design_effect.unwrap() > 1.0);
        assert_eq!(slices[0].detection_cluster_robust, None);
        // within one target group the family contributes a single member
        let w = slices
            .iter()
            .find(|s| s.dimension == Dimension::TargetGroup && s.value == "w")
            .unwrap();
        let robust = w.over_removal_cluster_robust.as_ref().unwrap();
        assert_eq!((robust.clusters, robust.largest_cluster), (2, 1));
        assert_eq!(Some(robust.ci), w.over_removal_ci);
    }
}
