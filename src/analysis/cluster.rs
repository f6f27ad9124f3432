//! Cluster-robust intervals for proportions.
//!
//! Near-identical cases are not independent: the members of a template family
//! (cases sharing a `pair_id`) tend to be treated alike, and so do cases sharing
//! an explicit `cluster` (a thread, a source). A Wilson interval that counts
//! each case as independent evidence is then too narrow. Each case belongs to one
//! cluster: its `cluster` if given, else its family, else itself.
//!
//! The method, for a rate p̂ = Y / N over k clusters with n_c cases and y_c
//! successes in cluster c:
//!
//! - the cluster-robust (sandwich) variance of p̂ — the variance of an
//!   intercept-only regression with cluster-robust standard errors and the usual
//!   small-sample factor k / (k − 1):
//!   `V = k / (k − 1) · Σ_c (y_c − p̂ n_c)² / N²`;
//! - the design effect (Kish 1965): that variance over the same estimator with
//!   every case its own cluster, `deff = V / (N / (N − 1) · p̂ (1 − p̂) / N)`, so a
//!   slice without clusters has a design effect of exactly 1;
//! - the effective sample size (Kish 1965; Korn & Graubard 1998)
//!   `n_eff = N / max(deff, 1)`, and the Wilson interval for p̂ at n_eff.
//!
//! The design effect is reported as estimated, but floored at 1 for the interval:
//! a design effect below 1 means members of a cluster disagree more than
//! independent cases would (a system reacting to one term present in one member
//! of each family does that); it is a pattern of this sample, not extra
//! information, so clustering never narrows an interval below Wilson's.
//!
//! When the variance cannot be estimated — every case a success or every case a
//! failure, or a single cluster — the interval assumes the worst, that members
//! of a cluster always agree (intraclass correlation 1): `n_eff = N² / Σ n_c²`,
//! the number of clusters when they are of equal size.
//!
//! Sums are kept as exact integers, so the result does not depend on the order
//! cases arrive in and costs O(1) memory per singleton case; only cases in a
//! family or explicit cluster are tallied per cluster. [`proportion_covariance`]
//! gives the joint cluster-robust variances of a group's and its reference's
//! rates, for intervals of their ratio or difference.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::interval::z_critical;
use crate::corpus::Case;
use crate::sym::Sym;

/// The cluster a case belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClusterKey<'a> {
    /// The case's `cluster` column.
    Explicit(&'a str),
    /// The case's counterfactual family (`pair_id`).
    Family(Sym),
    /// A case in no family and no explicit cluster: a cluster of its own.
    Single(Sym),
}

impl<'a> ClusterKey<'a> {
    /// The cluster of `case`: its explicit cluster, else its family, else itself.
    pub fn of(case: &'a Case) -> ClusterKey<'a> {
        match (case.cluster(), case.pair_id) {
            (Some(cluster), _) => ClusterKey::Explicit(cluster),
            (None, Some(family)) => ClusterKey::Family(family),
            (None, None) => ClusterKey::Single(case.id),
        }
    }
}

/// Cases and successes in one cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub n: u64,
    pub successes: u64,
}

/// Sums of products over clusters of two tallied variables a and b:
/// Σ y_a·y_b, Σ y_a·n_b, Σ n_a·y_b, Σ n_a·n_b.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CrossSums {
    yy: u128,
    yn: u128,
    ny: u128,
    nn: u128,
}

impl CrossSums {
    fn add(&mut self, a: Tally, b: Tally) {
        let (ya, na, yb, nb) = (
            u128::from(a.successes),
            u128::from(a.n),
            u128::from(b.successes),
            u128::from(b.n),
        );
        self.yy += ya * yb;
        self.yn += ya * nb;
        self.ny += na * yb;
        self.nn += na * nb;
    }

    /// Σ_c (N_a y_a,c − Y_a n_a,c)(N_b y_b,c − Y_b n_b,c), exactly; `None` if it
    /// does not fit in 128 bits (beyond a billion cases in a slice).
    fn centred(&self, a: Tally, b: Tally) -> Option<i128> {
        let (na, ya, nb, yb) = (
            i128::from(a.n),
            i128::from(a.successes),
            i128::from(b.n),
            i128::from(b.successes),
        );
        let term = |x: i128, y: i128, sum: u128| x.checked_mul(y)?.checked_mul(i128::try_from(sum).ok()?);
        term(na, nb, self.yy)?
            .checked_sub(term(na, yb, self.yn)?)?
            .checked_sub(term(ya, nb, self.ny)?)?
            .checked_add(term(ya, yb, self.nn)?)
    }
}

/// Exact sums over the clusters of one rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterSums {
    total: Tally,
    clusters: u64,
    largest: u64,
    squares: CrossSums,
}

impl ClusterSums {
    /// Adds one cluster's tally.
    pub fn add(&mut self, cluster: Tally) {
        if cluster.n == 0 {
            return;
        }
        self.total.n += cluster.n;
        self.total.successes += cluster.successes;
        self.clusters += 1;
        self.largest = self.largest.max(cluster.n);
        self.squares.add(cluster, cluster);
    }

    /// The sums of the given clusters.
    pub fn of(clusters: impl IntoIterator<Item = Tally>) -> ClusterSums {
        let mut sums = ClusterSums::default();
        clusters.into_iter().for_each(|c| sums.add(c));
        sums
    }

    /// Cases and successes over all clusters.
    pub fn total(&self) -> Tally {
        self.total
    }
}

/// Tallies cases into their clusters. Singleton cases go straight into the sums;
/// only cases of a family or explicit cluster are kept per cluster until
/// [`ClusterTallies::sums`].
#[derive(Debug, Clone, Default)]
pub struct ClusterTallies<'a> {
    singletons: ClusterSums,
    clustered: HashMap<ClusterKey<'a>, Tally>,
}

impl<'a> ClusterTallies<'a> {
    pub fn add(&mut self, key: ClusterKey<'a>, success: bool) {
        let one = Tally {
            n: 1,
            successes: u64::from(success),
        };
        match key {
            ClusterKey::Single(_) => self.singletons.add(one),
            key => {
                let tally = self.clustered.entry(key).or_default();
                tally.n += 1;
                tally.successes += one.successes;
            }
        }
    }

    /// The sums over every cluster (exact, whatever the order of the map).
    pub fn sums(&self) -> ClusterSums {
        let mut sums = self.singletons;
        self.clustered.values().for_each(|t| sums.add(*t));
        sums
    }
}

/// A rate's cluster-robust interval and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClusterRobust {
    /// Clusters with at least one case in the rate's denominator.
    pub clusters: u64,
    /// Cases in the largest of them.
    pub largest_cluster: u64,
    /// Cluster-robust variance of the rate; `None` with a single cluster.
    pub variance: Option<f64>,
    /// Variance relative to treating every case as independent, as estimated
    /// (below 1 when members disagree more than independent cases would);
    /// `None` when it cannot be estimated (a rate of 0 or 1, or one cluster).
    pub design_effect: Option<f64>,
    /// The sample size the interval uses: N / max(design effect, 1), or
    /// N² / Σ n_c² when the design effect cannot be estimated.
    pub effective_n: f64,
    /// Wilson interval at the effective sample size.
    pub ci: [f64; 2],
}

/// The cluster-robust interval of a rate; `None` for an empty sample.
pub fn cluster_robust(sums: &ClusterSums, confidence: f64) -> Option<ClusterRobust> {
    let Tally { n, successes } = sums.total;
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let k = sums.clusters;
    let centred = (k > 1).then(|| sums.squares.centred(sums.total, sums.total)).flatten();
    let variance = centred.map(|c| k as f64 / (k as f64 - 1.0) * c as f64 / n_f.powi(4));
    // V / (N / (N − 1) · p̂ (1 − p̂) / N), arranged so that singleton clusters give
    // exactly 1: Σ (N y_c − Y n_c)² / (N · Y · (N − Y)) · k (N − 1) / ((k − 1) N).
    let (n_u, y_u, k_u) = (u128::from(n), u128::from(successes), u128::from(k));
    let independent = n_u * y_u * (n_u - y_u);
    let design_effect = centred
        .filter(|_| independent > 0)
        .map(|c| c as f64 / independent as f64 * (k_u * (n_u - 1)) as f64 / ((k_u - 1) * n_u) as f64);
    let effective_n = match design_effect {
        Some(deff) => n_f / deff.max(1.0),
        None => n_f * n_f / sums.squares.nn as f64,
    };
    Some(ClusterRobust {
        clusters: sums.clusters,
        largest_cluster: sums.largest,
        variance,
        design_effect,
        effective_n,
        ci: wilson_at(p, effective_n, confidence),
    })
}

/// The Wilson score interval for a proportion `p` observed in a sample of
/// (possibly fractional) size `n`, clamped to [0, 1].
pub fn wilson_at(p: f64, n: f64, confidence: f64) -> [f64; 2] {
    let z = z_critical(confidence);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half_width = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    [
        (center - half_width).clamp(0.0, 1.0),
        (center + half_width).clamp(0.0, 1.0),
    ]
}

/// A cluster's cases in a group and in the group's reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairedTally {
    pub group: Tally,
    pub reference: Tally,
}

/// Joint cluster-robust variances of a group's rate and its reference's rate.
/// They are correlated when clusters reach into both, as a template family does
/// when its members name different groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionCovariance {
    /// Clusters with a case in the group or the reference.
    pub clusters: u64,
    pub group_variance: f64,
    pub reference_variance: f64,
    pub covariance: f64,
}

impl ProportionCovariance {
    /// Delta-method variance of log(group rate / reference rate); `None` when
    /// either rate is 0.
    pub fn log_ratio_variance(&self, group_rate: f64, reference_rate: f64) -> Option<f64> {
        (group_rate > 0.0 && reference_rate > 0.0).then(|| {
            self.group_variance / (group_rate * group_rate)
                + self.reference_variance / (reference_rate * reference_rate)
                - 2.0 * self.covariance / (group_rate * reference_rate)
        })
    }

    /// Variance of the difference group rate − reference rate.
    pub fn difference_variance(&self) -> f64 {
        self.group_variance + self.reference_variance - 2.0 * self.covariance
    }
}

/// Cluster-robust variances and covariance of two rates from per-cluster
/// tallies (the same small-sample factor k / (k − 1) as [`cluster_robust`]);
/// `None` when either rate has no cases or there are fewer than two clusters.
pub fn proportion_covariance(clusters: impl IntoIterator<Item = PairedTally>) -> Option<ProportionCovariance> {
    let (mut group, mut reference) = (Tally::default(), Tally::default());
    let (mut gg, mut rr, mut gr) = (CrossSums::default(), CrossSums::default(), CrossSums::default());
    let mut k = 0u64;
    for c in clusters {
        if c.group.n == 0 && c.reference.n == 0 {
            continue;
        }
        k += 1;
        group.n += c.group.n;
        group.successes += c.group.successes;
        reference.n += c.reference.n;
        reference.successes += c.reference.successes;
        gg.add(c.group, c.group);
        rr.add(c.reference, c.reference);
        gr.add(c.group, c.reference);
    }
    if group.n == 0 || reference.n == 0 || k < 2 {
        return None;
    }
    let factor = k as f64 / (k as f64 - 1.0);
    let (ng, nr) = (group.n as f64, reference.n as f64);
    Some(ProportionCovariance {
        clusters: k,
        group_variance: factor * gg.centred(group, group)? as f64 / ng.powi(4),
        reference_variance: factor * rr.centred(reference, reference)? as f64 / nr.powi(4),
        covariance: factor * gr.centred(group, reference)? as f64 / (ng * ng * nr * nr),
    })
}

#[cfg(test)]
mod tests {
    use super::super::interval::wilson;
    use super::*;

    fn tallies(spec: &[(u64, u64)]) -> Vec<Tally> {
        spec.iter().map(|&(n, successes)| Tally { n, successes }).collect()
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}");
    }

    /// The sandwich variance straight from its definition, in floating point.
    fn direct_variance(clusters: &[Tally]) -> f64 {
        let n: f64 = clusters.iter().map(|c| c.n as f64).sum();
        let y: f64 = clusters.iter().map(|c| c.successes as f64).sum();
        let p = y / n;
        let k = clusters.len() as f64;
        let squares: f64 = clusters
            .iter()
            .map(|c| (c.successes as f64 - p * c.n as f64).powi(2))
            .sum();
        k / (k - 1.0) * squares / (n * n)
    }

    /// Reference values: statsmodels 0.15,
    /// `OLS(y, ones).fit(cov_type="cluster", cov_kwds={"groups": g}).bse[0] ** 2`,
    /// the design effect as that over the same fit with `groups = arange(N)`, and
    /// `proportion_confint(p * n_eff, n_eff, alpha, method="wilson")`.
    #[test]
    fn matches_statsmodels_cluster_robust_variance() {
        let mut spec = vec![(5, 5), (5, 0), (4, 1), (4, 1), (2, 1), (2, 0), (2, 2)];
        spec.extend([(1, 1); 2]);
        spec.extend([(1, 0); 8]);
        let clusters = tallies(&spec);
        let sums = ClusterSums::of(clusters.clone());
        for (confidence, lo, hi) in [
            (0.95, 0.16157938789454518, 0.6068884776014728),
            (0.90, 0.18390560246231202, 0.569015568806892),
        ] {
            let r = cluster_robust(&sums, confidence).unwrap();
            close(r.variance.unwrap(), 0.016556838998575213, "variance");
            close(r.variance.unwrap(), direct_variance(&clusters), "direct variance");
            close(r.design_effect.unwrap(), 2.3924632352941178, "design effect");
            close(r.effective_n, 14.211294660007683, "effective n");
            close(r.ci[0], lo, "lower");
            close(r.ci[1], hi, "upper");
            assert_eq!((r.clusters, r.largest_cluster), (17, 5));
        }
    }

    #[test]
    fn without_clusters_it_is_the_wilson_interval() {
        let sums = ClusterSums::of(tallies(&[(1, 1); 7]).into_iter().chain(tallies(&[(1, 0); 20])));
        let r = cluster_robust(&sums, 0.95).unwrap();
        assert_eq!((r.design_effect, r.effective_n), (Some(1.0), 27.0));
        let (lo, hi) = wilson(7, 27, 0.95).unwrap();
        assert_eq!(r.ci, [lo, hi]);
    }

    #[test]
    fn a_design_effect_below_one_does_not_narrow_the_interval() {
        // each family of four has exactly one success: less spread than independent cases
        let sums = ClusterSums::of(tallies(&[(4, 1); 6]));
        let r = cluster_robust(&sums, 0.95).unwrap();
        assert!(r.design_effect.unwrap() < 1.0);
        close(r.effective_n, 24.0, "effective n");
        let (lo, hi) = wilson(6, 24, 0.95).unwrap();
        assert_eq!(r.ci, [lo, hi]);
    }

    #[test]
    fn a_rate_of_zero_assumes_members_always_agree() {
        // no variance to estimate: the effective n is N² / Σ n_c² = 100 / 36
        let sums = ClusterSums::of(tallies(&[(5, 0), (3, 0), (1, 0), (1, 0)]));
        let r = cluster_robust(&sums, 0.95).unwrap();
        assert_eq!((r.variance, r.design_effect), (Some(0.0), None));
        close(r.effective_n, 100.0 / 36.0, "effective n");
        assert_eq!(r.ci[0], 0.0);
        assert!(r.ci[1] > wilson(0, 10, 0.95).unwrap().1);
        // one cluster: nothing to estimate from
        let one = cluster_robust(&ClusterSums::of(tallies(&[(4, 2)])), 0.95).unwrap();
        assert_eq!((one.variance, one.design_effect, one.effective_n), (None, None, 1.0));
        assert_eq!(cluster_robust(&ClusterSums::default(), 0.95), None);
    }

    #[test]
    fn fractional_wilson_agrees_with_the_integer_one() {
        for (x, n) in [(0, 10), (3, 27), (10, 10), (123, 1000)] {
            let (lo, hi) = wilson(x, n, 0.95).unwrap();
            assert_eq!(wilson_at(x as f64 / n as f64, n as f64, 0.95), [lo, hi]);
        }
    }

    #[test]
    fn tallies_give_the_same_sums_in_any_order() {
        let cases: Vec<(ClusterKey<'_>, bool)> = vec![
            (ClusterKey::Family(Sym::new("f")), true),
            (ClusterKey::Single(Sym::new("a")), false),
            (ClusterKey::Family(Sym::new("f")), true),
            (ClusterKey::Explicit("t"), false),
            (ClusterKey::Family(Sym::new("g")), true),
            (ClusterKey::Explicit("t"), true),
            (ClusterKey::Single(Sym::new("b")), true),
        ];
        let mut forward = ClusterTallies::default();
        cases.iter().for_each(|(k, s)| forward.add(*k, *s));
        let mut backward = ClusterTallies::default();
        cases.iter().rev().for_each(|(k, s)| backward.add(*k, *s));
        let expected = ClusterSums::of(tallies(&[(2, 2), (1, 0), (2, 1), (1, 1), (1, 1)]));
        assert_eq!(forward.sums(), expected);
        assert_eq!(backward.sums(), expected);
    }

    /// Reference values: statsmodels 0.15, `OLS(y, X).fit(cov_type="cluster",
    /// cov_kwds={"groups": cluster}).cov_params()` with X the group and reference
    /// indicators (no intercept), times (N − 2) / (N − 1) to undo statsmodels'
    /// degrees-of-freedom factor for two parameters, leaving k / (k − 1).
    #[test]
    fn covariance_of_two_rates_matches_statsmodels() {
        let clusters = [
            ((2, 1), (3, 2)),
            ((1, 1), (4, 0)),
            ((2, 0), (2, 2)),
            ((0, 0), (3, 1)),
            ((3, 3), (0, 0)),
            ((1, 0), (1, 1)),
        ];
        let paired = clusters.map(|((gn, gy), (rn, ry))| PairedTally {
            group: Tally { n: gn, successes: gy },
            reference: Tally { n: rn, successes: ry },
        });
        let cov = proportion_covariance(paired).unwrap();
        assert_eq!(cov.clusters, 6);
        close(cov.group_variance, 0.05230909922267945, "group variance");
        close(cov.reference_variance, 0.038233955393718724, "reference variance");
        close(cov.covariance, -0.024457593688362915, "covariance");
        let (pg, pr) = (5.0 / 9.0, 6.0 / 13.0);
        close(
            cov.log_ratio_variance(pg, pr).unwrap(),
            cov.group_variance / (pg * pg) + cov.reference_variance / (pr * pr) - 2.0 * cov.covariance / (pg * pr),
            "log ratio variance",
        );
        close(
            cov.difference_variance(),
            0.05230909922267945 + 0.038233955393718724 + 2.0 * 0.024457593688362915,
            "difference variance",
        );
        assert_eq!(cov.log_ratio_variance(0.0, pr), None);
        assert_eq!(proportion_covariance([paired[0]]), None);
    }

    fn clusters() -> impl proptest::strategy::Strategy<Value = Vec<Tally>> {
        use proptest::prelude::*;
        prop::collection::vec((1u64..12).prop_flat_map(|n| (Just(n), 0..=n)), 1..60)
            .prop_map(|spec| spec.into_iter().map(|(n, successes)| Tally { n, successes }).collect())
    }

    proptest::proptest! {
        #[test]
        fn the_cluster_robust_interval_contains_the_rate_and_the_wilson_interval(clusters in clusters(), confidence in 0.8f64..0.999) {
            let sums = ClusterSums::of(clusters.iter().copied());
            let Tally { n, successes } = sums.total();
            let r = cluster_robust(&sums, confidence).unwrap();
            let rate = successes as f64 / n as f64;
            let (lo, hi) = wilson(successes, n, confidence).unwrap();
            proptest::prop_assert!(0.0 <= r.ci[0] && r.ci[1] <= 1.0);
            proptest::prop_assert!(r.ci[0] <= rate + 1e-12 && rate <= r.ci[1] + 1e-12);
            proptest::prop_assert!(r.ci[0] <= lo + 1e-12 && hi <= r.ci[1] + 1e-12);
            proptest::prop_assert!(r.effective_n <= n as f64 + 1e-9 && r.effective_n >= 1.0 - 1e-9);
            if let Some(v) = r.variance {
                proptest::prop_assert!((v - direct_variance(&clusters)).abs() < 1e-12);
            }
        }
    }
}
