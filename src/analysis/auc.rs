//! Score-based bias metrics, for systems that return scores (Borkan et al.,
//! "Nuanced Metrics for Measuring Unintended Bias with Real Data for Text
//! Classification", 2019): ROC AUC overall and, per identity group, subgroup AUC,
//! BPSN AUC (background positive, subgroup negative — low when the group's
//! benign posts score like the background's violating ones) and BNSP AUC
//! (background negative, subgroup positive); their generalized power means
//! (p = −5, which weighs the worst group most); and the final bias metric
//! 0.25 · overall + 0.25 · (sum of the three power means).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The power of the generalized mean across groups.
pub const POWER: f64 = -5.0;

/// One scored case: its score, whether it violates, and its identity group.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<'a> {
    pub score: f64,
    pub violating: bool,
    pub group: Option<&'a str>,
}

/// ROC AUC of positives against negatives (ties count one half), from ranks;
/// `None` when either side is empty.
pub fn roc_auc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let midrank = (i + 1 + j) as f64 / 2.0;
        rank_sum += midrank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (p, n) = (positives.len() as f64, negatives.len() as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Generalized mean with power `p` (p ≠ 0) of positive values.
pub fn power_mean(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mean = values.iter().map(|v| v.powf(p)).sum::<f64>() / values.len() as f64;
    Some(mean.powf(1.0 / p))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAuc {
    pub group: String,
    /// Scored cases in the group.
    pub n: u64,
    pub subgroup_auc: Option<f64>,
    pub bpsn_auc: Option<f64>,
    pub bnsp_auc: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerMeans {
    pub subgroup_auc: Option<f64>,
    pub bpsn_auc: Option<f64>,
    pub bnsp_auc: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreBias {
    pub scored_cases: u64,
    pub overall_auc: Option<f64>,
    pub groups: Vec<GroupAuc>,
    pub power_means: PowerMeans,
    pub final_bias_metric: Option<f64>,
}

/// Computes the metrics over scored cases; groups are the cases' identity groups.
pub fn score_bias(cases: &[Scored<'_>]) -> ScoreBias {
    let scores = |keep: &dyn Fn(&Scored<'_>) -> bool, violating: bool| -> Vec<f64> {
        cases
            .iter()
            .filter(|c| c.violating == violating && keep(c))
            .map(|c| c.score)
            .collect()
    };
    let overall_auc = roc_auc(&scores(&|_| true, true), &scores(&|_| true, false));
    let mut names: BTreeMap<&str, u64> = BTreeMap::new();
    for c in cases {
        if let Some(g) = c.group {
            *names.entry(g).or_default() += 1;
        }
    }
    let groups: Vec<GroupAuc> = names
        .into_iter()
        .map(|(group, n)| {
            let inside = |c: &Scored<'_>| c.group == Some(group);
            let outside = |c: &Scored<'_>| c.group != Some(group);
            GroupAuc {
                group: group.to_string(),
                n,
                subgroup_auc: roc_auc(&scores(&inside, true), &scores(&inside, false)),
                bpsn_auc: roc_auc(&scores(&outside, true), &scores(&inside, false)),
                bnsp_auc: roc_auc(&scores(&inside, true), &scores(&outside, false)),
            }
        })
        .collect();
    let mean_of = |f: &dyn Fn(&GroupAuc) -> Option<f64>| {
        let values: Vec<f64> = groups.iter().filter_map(f).collect();
        power_mean(&values, POWER)
    };
    let power_means = PowerMeans {
        subgroup_auc: mean_of(&|g| g.subgroup_auc),
        bpsn_auc: mean_of(&|g| g.bpsn_auc),
        bnsp_auc: mean_of(&|g| g.bnsp_auc),
    };
    let final_bias_metric = match (
        overall_auc,
        power_means.subgroup_auc,
        power_means.bpsn_auc,
        power_means.bnsp_auc,
    ) {
        (Some(o), Some(s), Some(p), Some(n)) => Some(0.25 * o + 0.25 * (s + p + n)),
        _ => None,
    };
    ScoreBias {
        scored_cases: cases.len() as u64,
        overall_auc,
        groups,
        power_means,
        final_bias_metric,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        assert!((a.unwrap() - b).abs() < 1e-9, "{a:?} vs {b}");
    }

    /// Reference values: scikit-learn `roc_auc_score` on the subsets Borkan et al.
    /// define, and NumPy for the power mean, computed for this test.
    #[test]
    fn matches_scikit_learn() {
        let spec = [
            ("w", true, 0.9),
            ("w", false, 0.6),
            ("w", false, 0.3),
            ("w", true, 0.6),
            ("m", true, 0.8),
            ("m", false, 0.7),
            ("m", false, 0.2),
            ("n", true, 0.7),
            ("n", false, 0.1),
            ("n", false, 0.5),
            ("n", true, 0.4),
        ];
        let cases: Vec<Scored<'_>> = spec
            .iter()
            .map(|(g, v, s)| Scored {
                score: *s,
                violating: *v,
                group: (*g != "n").then_some(*g),
            })
            .collect();
        let bias = score_bias(&cases);
        close(bias.overall_auc, 0.8333333333333334);
        let w = bias.groups.iter().find(|g| g.group == "w").unwrap();
        close(w.subgroup_auc, 0.875);
        close(w.bpsn_auc, 0.8333333333333333);
        close(w.bnsp_auc, 0.875);
        let m = bias.groups.iter().find(|g| g.group == "m").unwrap();
        close(m.subgroup_auc, 1.0);
        close(m.bpsn_auc, 0.6875);
        close(bias.power_means.subgroup_auc, 0.9252338103073504);
        close(bias.power_means.bpsn_auc, 0.7402282951437622);
        close(bias.final_bias_metric, 0.8560073122729491);
    }

    #[test]
    fn undefined_without_both_classes() {
        assert_eq!(roc_auc(&[], &[0.1]), None);
        assert_eq!(roc_auc(&[0.5], &[0.5]), Some(0.5));
    }
}
