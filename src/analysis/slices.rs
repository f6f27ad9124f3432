//! Over-removal and detection rates per slice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AnalysisSettings, Dimension, Observation, rate_with_interval};
use crate::corpus::Label;
use crate::decision::Action;

/// Rates for the cases sharing one value of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    pub dimension: Dimension,
    pub value: String,
    /// Decided protected cases.
    pub protected_n: u64,
    /// Of those, how many met adverse action.
    pub protected_adverse: u64,
    pub over_removal_rate: Option<f64>,
    pub over_removal_ci: Option<[f64; 2]>,
    /// Decided violating cases.
    pub violating_n: u64,
    pub violating_adverse: u64,
    pub detection_rate: Option<f64>,
    pub detection_ci: Option<[f64; 2]>,
    /// `protected_n` is below the minimum n: treat the over-removal rate with caution.
    pub small_sample: bool,
    /// `violating_n` is below the minimum n.
    pub detection_small_sample: bool,
    /// Cases in the slice that ended in `error`.
    pub errors: u64,
    /// Cases in the slice the system declared it cannot moderate.
    pub unsupported: u64,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    protected_n: u64,
    protected_adverse: u64,
    violating_n: u64,
    violating_adverse: u64,
    errors: u64,
    unsupported: u64,
}

impl Counts {
    fn add(&mut self, o: &Observation<'_>) {
        match o.action {
            Some(Action::Error) => self.errors += 1,
            Some(Action::Unsupported) => self.unsupported += 1,
            Some(_) => match o.case.label {
                Label::Protected => {
                    self.protected_n += 1;
                    self.protected_adverse += u64::from(o.adverse);
                }
                Label::Violating => {
                    self.violating_n += 1;
                    self.violating_adverse += u64::from(o.adverse);
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
        let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
        for o in observations {
            if let Some(value) = dimension.value_of(o.case) {
                groups.entry(value).or_default().add(o);
            }
        }
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
                violating_n: c.violating_n,
                violating_adverse: c.violating_adverse,
                detection_rate,
                detection_ci,
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
}
