//! Disparities: each group's over-removal rate against a reference, with the rate
//! ratio's Katz interval, Fisher's exact test, and a correction across every
//! comparison of the run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fisher::fisher_exact_two_sided;
use super::interval::z_critical;
use super::ratio::katz_rate_ratio;
use super::{AnalysisSettings, Dimension, Observation};
use crate::corpus::Label;

/// The reference name used when a group is compared with all other groups.
pub const ALL_OTHERS: &str = "all others";

/// One group's over-removal compared with its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disparity {
    pub dimension: Dimension,
    pub group: String,
    /// A group value, or "all others".
    pub reference: String,
    pub group_n: u64,
    pub group_adverse: u64,
    pub reference_n: u64,
    pub reference_adverse: u64,
    pub rate: f64,
    pub reference_rate: f64,
    /// `rate / reference_rate`; `None` when the reference rate is zero.
    pub ratio: Option<f64>,
    /// Katz log interval; `None` when a count is zero.
    pub ratio_ci: Option<[f64; 2]>,
    /// `rate − reference_rate`.
    pub difference: f64,
    /// Two-sided Fisher exact p-value.
    pub p_value: f64,
    /// After correction across every comparison of the run.
    pub p_adjusted: f64,
    /// `p_adjusted < alpha`.
    pub significant: bool,
    /// Either side has fewer decided protected cases than the minimum n.
    pub small_sample: bool,
}

/// Disparities of over-removal for every compared dimension.
pub fn disparities(observations: &[Observation<'_>], settings: &AnalysisSettings) -> Vec<Disparity> {
    let z = z_critical(settings.confidence);
    let mut out = Vec::new();
    for dimension in Dimension::COMPARED {
        let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for o in observations
            .iter()
            .filter(|o| o.decided() && o.case.label == Label::Protected)
        {
            if let Some(value) = dimension.value_of(o.case) {
                let entry = groups.entry(value).or_default();
                entry.0 += 1;
                entry.1 += u64::from(o.adverse);
            }
        }
        let (total_n, total_adverse) = groups.values().fold((0, 0), |(n, a), (gn, ga)| (n + gn, a + ga));
        let reference = settings.references.get(&dimension);
        for (group, &(n, adverse)) in &groups {
            let (reference_name, reference_n, reference_adverse) = match reference {
                Some(r) if r == group => continue,
                Some(r) => match groups.get(r) {
                    Some(&(rn, ra)) => (r.clone(), rn, ra),
                    None => continue,
                },
                None => (ALL_OTHERS.to_string(), total_n - n, total_adverse - adverse),
            };
            if n == 0 || reference_n == 0 {
                continue;
            }
            let rate = adverse as f64 / n as f64;
            let reference_rate = reference_adverse as f64 / reference_n as f64;
            let rr = katz_rate_ratio(adverse, n, reference_adverse, reference_n, z);
            let p_value = fisher_exact_two_sided([
                [adverse, n - adverse],
                [reference_adverse, reference_n - reference_adverse],
            ]);
            out.push(Disparity {
                dimension,
                group: group.clone(),
                reference: reference_name,
                group_n: n,
                group_adverse: adverse,
                reference_n,
                reference_adverse,
                rate,
                reference_rate,
                ratio: rr.ratio,
                ratio_ci: rr.interval.map(|(lo, hi)| [lo, hi]),
                difference: rate - reference_rate,
                p_value,
                p_adjusted: p_value,
                significant: false,
                small_sample: n < settings.min_n || reference_n < settings.min_n,
            });
        }
    }
    let p: Vec<f64> = out.iter().map(|d| d.p_value).collect();
    for (d, adjusted) in out.iter_mut().zip(settings.correction.adjust(&p)) {
        d.p_adjusted = adjusted;
        d.significant = adjusted < settings.alpha;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{case, observe};
    use super::*;
    use crate::corpus::Case;
    use crate::decision::Action;

    fn population(spec: &[(&str, u64, u64)]) -> Vec<Case> {
        let mut cases = Vec::new();
        for (lang, n, _) in spec {
            for i in 0..*n {
                cases.push(case(&format!("{lang}{i}"), lang, Label::Protected, "c", None, None));
            }
        }
        cases
    }

    #[test]
    fn compares_each_group_with_all_others_and_corrects() {
        // en: 30/100 removed; ar: 15/100; es: 15/100
        let spec = [("en", 100, 30), ("ar", 100, 15), ("es", 100, 15)];
        let cases = population(&spec);
        let mut obs = Vec::new();
        let mut k = 0;
        for (_, n, adverse) in spec {
            for i in 0..n {
                obs.push(observe(
                    &cases[k],
                    if i < adverse { Action::Remove } else { Action::Allow },
                ));
                k += 1;
            }
        }
        let d = disparities(&obs, &AnalysisSettings::default());
        let lang: Vec<_> = d.iter().filter(|d| d.dimension == Dimension::Language).collect();
        assert_eq!(lang.len(), 3);
        let en = lang.iter().find(|d| d.group == "en").unwrap();
        assert_eq!(
            (en.reference.as_str(), en.reference_n, en.reference_adverse),
            (ALL_OTHERS, 200, 30)
        );
        assert!((en.ratio.unwrap() - 2.0).abs() < 1e-12);
        assert!((en.difference - 0.15).abs() < 1e-12);
        // p-value independently: scipy.stats.fisher_exact([[30, 70], [30, 170]])
        assert!((en.p_value - 0.0033924165351305697).abs() < 1e-9, "{}", en.p_value);
        // Holm across the run's comparisons (3 languages + 1 category)
        let p: Vec<f64> = d.iter().map(|d| d.p_value).collect();
        let adjusted = crate::analysis::correction::holm(&p);
        for (x, y) in d.iter().zip(&adjusted) {
            assert_eq!(x.p_adjusted, *y);
        }
        assert!(en.significant);
    }

    #[test]
    fn configured_reference_is_compared_against_and_not_with_itself() {
        let cases = population(&[("en", 10, 0), ("ar", 10, 0)]);
        let obs: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| observe(c, if i % 2 == 0 { Action::Remove } else { Action::Allow }))
            .collect();
        let mut settings = AnalysisSettings::default();
        settings.references.insert(Dimension::Language, "en".into());
        let d = disparities(&obs, &settings);
        let lang: Vec<_> = d.iter().filter(|d| d.dimension == Dimension::Language).collect();
        assert_eq!(lang.len(), 1);
        assert_eq!((lang[0].group.as_str(), lang[0].reference.as_str()), ("ar", "en"));
        assert!(lang[0].small_sample);
    }
}
