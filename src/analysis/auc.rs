//! Score-based bias metrics, for systems that return scores (Borkan et al.,
//! "Nuanced Metrics for Measuring Unintended Bias with Real Data for Text
//! Classification", 2019): ROC AUC overall and, per identity group, subgroup AUC,
//! BPSN AUC (background positive, subgroup negative — low when the group's
//! benign posts score like the background's violating ones) and BNSP AUC
//! (background negative, subgroup positive); their generalized power means
//! (p = −5, which weighs the worst group most); and the final bias metric
//! 0.25 · overall + 0.25 · (sum of the three power means).
//!
//! Every AUC carries a DeLong interval (DeLong, DeLong & Clarke-Pearson 1988):
//! the variance S10 / m + S01 / n of the structural components — for each
//! positive, the share of negatives it outscores (ties count one half), and for
//! each negative, the share of positives that outscore it — computed from one
//! sort of the scores, as in the fast algorithm of Sun & Xu (2014): members of a
//! run of tied scores share their components, so one pass over the sorted
//! scores per AUC suffices. The interval is AUC ± z·√variance, clamped to
//! [0, 1]. An AUC *separates* when its interval lies above 0.5. DeLong's variance
//! is zero when the scores separate perfectly; no interval is given then, and
//! the AUC separates when a perfect split of its m positives and n negatives
//! would arise by chance with probability 1 / C(m + n, m) no greater than the
//! interval's one-sided error (1 − confidence) / 2.
//!
//! Groups with fewer than `min_n` scored cases (positives and negatives
//! together) are flagged as small and left out of the power means and the final
//! bias metric, which would otherwise be decided by their noise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::interval::z_critical;
use crate::sym::Sym;

/// The power of the generalized mean across groups.
pub const POWER: f64 = -5.0;

/// One scored case: its score, whether it violates, and its identity group.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub score: f64,
    pub violating: bool,
    pub group: Option<Sym>,
}

/// Positives and negatives sharing one score, in ascending order of score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TieBlock {
    pub positives: u64,
    pub negatives: u64,
}

/// Runs of tied scores among the cases `side` puts on a side (`Some(true)`
/// positive, `Some(false)` negative, `None` left out); `sorted` is in ascending
/// order of score.
fn tie_blocks<T>(sorted: &[T], score: impl Fn(&T) -> f64, side: impl Fn(&T) -> Option<bool>) -> Vec<TieBlock> {
    let mut blocks: Vec<TieBlock> = Vec::new();
    let mut last: Option<f64> = None;
    for item in sorted {
        let Some(positive) = side(item) else { continue };
        let value = score(item);
        if last != Some(value) || blocks.is_empty() {
            blocks.push(TieBlock {
                positives: 0,
                negatives: 0,
            });
            last = Some(value);
        }
        let block = blocks.last_mut().expect("a block was pushed above");
        if positive {
            block.positives += 1;
        } else {
            block.negatives += 1;
        }
    }
    blocks
}

/// The AUC of tie blocks and its DeLong variance (`None` with fewer than two
/// positives or negatives); `None` when either side is empty.
fn delong_of_blocks(blocks: &[TieBlock]) -> Option<(f64, Option<f64>, u64, u64)> {
    let m: u64 = blocks.iter().map(|b| b.positives).sum();
    let n: u64 = blocks.iter().map(|b| b.negatives).sum();
    if m == 0 || n == 0 {
        return None;
    }
    // Twice each block's components, as exact integers: a positive outscores
    // the negatives below it and ties with those in its block.
    let mut negatives_below = 0u64;
    let mut positives_below = 0u64;
    let mut twice_wins: u128 = 0;
    let mut components = Vec::with_capacity(blocks.len());
    for b in blocks {
        let positive_component = 2 * negatives_below + b.negatives;
        let negative_component = 2 * (m - positives_below - b.positives) + b.positives;
        twice_wins += u128::from(b.positives) * u128::from(positive_component);
        components.push((b, positive_component, negative_component));
        negatives_below += b.negatives;
        positives_below += b.positives;
    }
    let (m_f, n_f) = (m as f64, n as f64);
    let auc = twice_wins as f64 / (2.0 * m_f * n_f);
    let variance = (m > 1 && n > 1).then(|| {
        let (mut s10, mut s01) = (0.0, 0.0);
        for (b, positive, negative) in &components {
            s10 += b.positives as f64 * (*positive as f64 / (2.0 * n_f) - auc).powi(2);
            s01 += b.negatives as f64 * (*negative as f64 / (2.0 * m_f) - auc).powi(2);
        }
        s10 / (m_f - 1.0) / m_f + s01 / (n_f - 1.0) / n_f
    });
    Some((auc, variance, m, n))
}

/// ROC AUC of positives against negatives (ties count one half); `None` when
/// either side is empty.
pub fn roc_auc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    delong(positives, negatives, 0.95).map(|(auc, _)| auc)
}

/// ROC AUC of positives against negatives with its DeLong interval.
pub fn delong(positives: &[f64], negatives: &[f64], confidence: f64) -> Option<(f64, AucInterval)> {
    auc_with_interval(&tie_blocks_of(positives, negatives), confidence)
}

/// The runs of tied values of two samples together, in ascending order:
/// `positives` counts the values of the first, `negatives` of the second.
pub(crate) fn tie_blocks_of(positives: &[f64], negatives: &[f64]) -> Vec<TieBlock> {
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    tie_blocks(&all, |x| x.0, |x| Some(x.1))
}

/// An AUC's interval and the counts it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AucInterval {
    pub positives: u64,
    pub negatives: u64,
    /// DeLong variance; `None` with fewer than two positives or two negatives.
    pub variance: Option<f64>,
    /// AUC ± z·√variance, clamped to [0, 1]; `None` without a variance or
    /// when it is zero.
    pub ci: Option<[f64; 2]>,
    /// Whether the scores separate better than chance: the interval lies above
    /// 0.5 (without an interval: a perfect split unlikely by chance).
    pub separates: bool,
}

fn auc_with_interval(blocks: &[TieBlock], confidence: f64) -> Option<(f64, AucInterval)> {
    let (auc, variance, positives, negatives) = delong_of_blocks(blocks)?;
    let z = z_critical(confidence);
    let ci = variance
        .filter(|v| *v > 0.0)
        .map(|v| [(auc - z * v.sqrt()).max(0.0), (auc + z * v.sqrt()).min(1.0)]);
    let separates = match ci {
        Some([lower, _]) => lower > 0.5,
        None => auc == 1.0 && perfect_split_chance_at_most(positives, negatives, (1.0 - confidence) / 2.0),
    };
    Some((
        auc,
        AucInterval {
            positives,
            negatives,
            variance,
            ci,
            separates,
        },
    ))
}

/// Whether 1 / C(m + n, m), the chance that m positives all outscore n
/// negatives when scores are exchangeable, is at most `level`.
fn perfect_split_chance_at_most(m: u64, n: u64, level: f64) -> bool {
    let (small, large) = (m.min(n), m.max(n));
    let mut combinations = 1.0;
    for i in 1..=small {
        combinations = combinations * (large + i) as f64 / i as f64;
        if 1.0 / combinations <= level {
            return true;
        }
    }
    1.0 / combinations <= level
}

/// Generalized mean with power `p` (p ≠ 0) of positive values.
pub fn power_mean(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mean = values.iter().map(|v| v.powf(p)).sum::<f64>() / values.len() as f64;
    Some(mean.powf(1.0 / p))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupAuc {
    pub group: String,
    /// Scored cases in the group.
    pub n: u64,
    /// Of those, violating (positives) and protected (negatives).
    pub positives: u64,
    pub negatives: u64,
    /// Fewer than `min_n` scored cases: left out of the power means.
    pub small_sample: bool,
    pub subgroup_auc: Option<f64>,
    pub bpsn_auc: Option<f64>,
    pub bnsp_auc: Option<f64>,
    pub subgroup_auc_interval: Option<AucInterval>,
    pub bpsn_auc_interval: Option<AucInterval>,
    pub bnsp_auc_interval: Option<AucInterval>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PowerMeans {
    pub subgroup_auc: Option<f64>,
    pub bpsn_auc: Option<f64>,
    pub bnsp_auc: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreBias {
    pub scored_cases: u64,
    pub overall_auc: Option<f64>,
    pub overall_auc_interval: Option<AucInterval>,
    pub groups: Vec<GroupAuc>,
    /// Groups need at least this many scored cases to enter the power means.
    pub min_n: u64,
    /// Groups that entered the power means.
    pub groups_in_means: u64,
    /// Power means over the groups with at least `min_n` scored cases.
    pub power_means: PowerMeans,
    pub final_bias_metric: Option<f64>,
}

/// Computes the metrics over scored cases; groups are the cases' identity
/// groups, and only groups with at least `min_n` scored cases enter the power
/// means and the final bias metric.
pub fn score_bias(mut cases: Vec<Scored>, min_n: u64, confidence: f64) -> ScoreBias {
    // Sorted in place (ties only ever counted together, so their order is
    // immaterial): no second list of a million references.
    cases.sort_unstable_by(|a, b| a.score.total_cmp(&b.score));
    let sorted = &cases;
    let auc_of = |side: &dyn Fn(&Scored) -> Option<bool>| {
        auc_with_interval(&tie_blocks(sorted, |c| c.score, |c| side(c)), confidence)
    };
    let (overall_auc, overall_auc_interval) = auc_of(&|c| Some(c.violating)).unzip();
    let mut names: BTreeMap<Sym, (u64, u64)> = BTreeMap::new();
    for c in sorted {
        if let Some(g) = c.group {
            let counts = names.entry(g).or_default();
            if c.violating {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
    }
    let groups: Vec<GroupAuc> = names
        .into_iter()
        .map(|(group, (positives, negatives))| {
            let inside = |c: &Scored| c.group == Some(group);
            let (subgroup_auc, subgroup_auc_interval) = auc_of(&|c| inside(c).then_some(c.violating)).unzip();
            let (bpsn_auc, bpsn_auc_interval) = auc_of(&|c| (inside(c) != c.violating).then_some(c.violating)).unzip();
            let (bnsp_auc, bnsp_auc_interval) = auc_of(&|c| (inside(c) == c.violating).then_some(c.violating)).unzip();
            GroupAuc {
                group: group.to_string(),
                n: positives + negatives,
                positives,
                negatives,
                small_sample: positives + negatives < min_n,
                subgroup_auc,
                bpsn_auc,
                bnsp_auc,
                subgroup_auc_interval,
                bpsn_auc_interval,
                bnsp_auc_interval,
            }
        })
        .collect();
    let eligible: Vec<&GroupAuc> = groups.iter().filter(|g| !g.small_sample).collect();
    let mean_of = |f: &dyn Fn(&GroupAuc) -> Option<f64>| {
        let values: Vec<f64> = eligible.iter().filter_map(|g| f(g)).collect();
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
        overall_auc_interval,
        groups_in_means: eligible.len() as u64,
        groups,
        min_n,
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
        let cases: Vec<Scored> = spec
            .iter()
            .map(|(g, v, s)| Scored {
                score: *s,
                violating: *v,
                group: (*g != "n").then(|| Sym::new(g)),
            })
            .collect();
        let bias = score_bias(cases, 0, 0.95);
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

    /// DeLong's structural components straight from their definition, O(m·n).
    fn direct_delong(positives: &[f64], negatives: &[f64]) -> (f64, f64) {
        let psi = |x: f64, y: f64| {
            if x > y {
                1.0
            } else if x == y {
                0.5
            } else {
                0.0
            }
        };
        let (m, n) = (positives.len() as f64, negatives.len() as f64);
        let v10: Vec<f64> = positives
            .iter()
            .map(|&x| negatives.iter().map(|&y| psi(x, y)).sum::<f64>() / n)
            .collect();
        let v01: Vec<f64> = negatives
            .iter()
            .map(|&y| positives.iter().map(|&x| psi(x, y)).sum::<f64>() / m)
            .collect();
        let auc = v10.iter().sum::<f64>() / m;
        let spread = |v: &[f64]| v.iter().map(|c| (c - auc).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0);
        (auc, spread(&v10) / m + spread(&v01) / n)
    }

    /// Reference values: DeLong variance from the structural components computed
    /// directly (O(m·n)) in NumPy 2.4, interval AUC ± 1.959963984540054 · √var.
    #[test]
    fn delong_matches_a_direct_computation() {
        let positives = [0.6, 0.55, 0.5, 0.45, 0.3, 0.8];
        let negatives = [0.65, 0.5, 0.4, 0.62, 0.58, 0.2];
        let (auc, interval) = delong(&positives, &negatives, 0.95).unwrap();
        assert!((auc - 0.5138888888888888).abs() < 1e-12);
        let variance = interval.variance.unwrap();
        assert!((variance - 0.034645061728395064).abs() < 1e-12, "{variance}");
        let [lo, hi] = interval.ci.unwrap();
        assert!((lo - 0.14907718681501664).abs() < 1e-12 && (hi - 0.878700590962761).abs() < 1e-12);
        assert!(!interval.separates);
        // many ties and uneven sides, against the O(m·n) definition
        let positives: Vec<f64> = (0..37).map(|i| f64::from((i * 7) % 11) / 10.0).collect();
        let negatives: Vec<f64> = (0..23).map(|i| f64::from((i * 5) % 9) / 12.0).collect();
        let (auc, interval) = delong(&positives, &negatives, 0.95).unwrap();
        let (direct_auc, direct_variance) = direct_delong(&positives, &negatives);
        assert!((auc - direct_auc).abs() < 1e-12);
        assert!((interval.variance.unwrap() - direct_variance).abs() < 1e-12);
        assert_eq!((interval.positives, interval.negatives), (37, 23));
    }

    #[test]
    fn perfect_separation_has_no_interval_and_separates_only_beyond_chance() {
        // 2 against 2: a perfect split by chance once in 6
        let (auc, small) = delong(&[0.9, 0.8], &[0.1, 0.2], 0.95).unwrap();
        assert_eq!(
            (auc, small.variance, small.ci, small.separates),
            (1.0, Some(0.0), None, false)
        );
        // 3 against 3: once in 20, still above 2.5 %
        assert!(!delong(&[0.9, 0.8, 0.7], &[0.1, 0.2, 0.3], 0.95).unwrap().1.separates);
        // 4 against 4: once in 70
        assert!(
            delong(&[0.9, 0.8, 0.7, 0.6], &[0.1, 0.2, 0.3, 0.4], 0.95)
                .unwrap()
                .1
                .separates
        );
        // one positive: no variance; above 40 negatives, once in 41
        let negatives: Vec<f64> = (0..40).map(|i| f64::from(i) / 100.0).collect();
        let (_, one) = delong(&[0.99], &negatives, 0.95).unwrap();
        assert_eq!((one.variance, one.separates), (None, true));
        assert!(!delong(&[0.01], &negatives, 0.95).unwrap().1.separates);
    }

    #[test]
    fn small_groups_stay_out_of_the_power_means() {
        let spec = [
            ("w", true, 0.9),
            ("w", true, 0.7),
            ("w", false, 0.2),
            ("w", false, 0.8),
            ("m", true, 0.6),
            ("m", false, 0.5),
        ];
        let cases: Vec<Scored> = spec
            .iter()
            .map(|(g, v, s)| Scored {
                score: *s,
                violating: *v,
                group: Some(Sym::new(g)),
            })
            .collect();
        let bias = score_bias(cases.clone(), 4, 0.95);
        let m = bias.groups.iter().find(|g| g.group == "m").unwrap();
        assert!(m.small_sample);
        assert_eq!((m.positives, m.negatives), (1, 1));
        let w = bias.groups.iter().find(|g| g.group == "w").unwrap();
        assert!(!w.small_sample);
        assert_eq!(bias.groups_in_means, 1);
        assert_eq!(bias.power_means.subgroup_auc, w.subgroup_auc);
        assert_eq!(score_bias(cases, 5, 0.95).power_means.subgroup_auc, None);
    }

    proptest::proptest! {
        #[test]
        fn fast_delong_equals_the_direct_computation(
            positives in proptest::collection::vec(0u8..20, 2..40),
            negatives in proptest::collection::vec(0u8..20, 2..40),
        ) {
            let to_scores = |v: &[u8]| v.iter().map(|&x| f64::from(x) / 19.0).collect::<Vec<f64>>();
            let (positives, negatives) = (to_scores(&positives), to_scores(&negatives));
            let (auc, interval) = delong(&positives, &negatives, 0.95).unwrap();
            let (direct_auc, direct_variance) = direct_delong(&positives, &negatives);
            proptest::prop_assert!((auc - direct_auc).abs() < 1e-12);
            proptest::prop_assert!((interval.variance.unwrap() - direct_variance).abs() < 1e-12);
            if let Some([lo, hi]) = interval.ci {
                proptest::prop_assert!(0.0 <= lo && lo <= auc && auc <= hi && hi <= 1.0);
                proptest::prop_assert_eq!(interval.separates, lo > 0.5);
            }
        }
    }
}
