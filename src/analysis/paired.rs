//! Paired comparisons: the same cases decided twice (two runs, or two systems),
//! each case adverse or not in each. Only the discordant cases — adverse in one
//! and not the other — carry information about the change.
//!
//! The change in a rate gets Newcombe's hybrid score interval for the
//! difference of paired proportions (Newcombe 1998, "Improved confidence
//! intervals for the difference between binomial proportions based on paired
//! data", Statistics in Medicine 17:2635–2650, method 10): the Wilson intervals
//! of the two rates, combined with the correlation between the paired
//! decisions. Whether there is a change at all gets the exact McNemar test: a
//! two-sided binomial test of the discordant cases against one half.

use serde::{Deserialize, Serialize};
use statrs::function::factorial::ln_binomial;

use super::discrete::{DIRECT_SUM_MAX_CASES, binomial_half_lower_tail};
use super::interval::wilson_z;

/// The 2 × 2 table of paired decisions: how many cases were adverse in both
/// runs, only in the first (A), only in the second (B), or in neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PairedTable {
    pub both: u64,
    /// Adverse in A, not in B: no longer adverse.
    pub only_a: u64,
    /// Adverse in B, not in A: newly adverse.
    pub only_b: u64,
    pub neither: u64,
}

impl PairedTable {
    /// Adds one case: whether it was adverse in A and in B.
    pub fn add(&mut self, adverse_a: bool, adverse_b: bool) {
        match (adverse_a, adverse_b) {
            (true, true) => self.both += 1,
            (true, false) => self.only_a += 1,
            (false, true) => self.only_b += 1,
            (false, false) => self.neither += 1,
        }
    }

    /// Cases in the table.
    pub fn n(&self) -> u64 {
        self.both + self.only_a + self.only_b + self.neither
    }

    /// Cases adverse in A.
    pub fn adverse_a(&self) -> u64 {
        self.both + self.only_a
    }

    /// Cases adverse in B.
    pub fn adverse_b(&self) -> u64 {
        self.both + self.only_b
    }

    /// The change in the adverse rate from A to B, `None` on an empty table.
    pub fn difference(&self) -> Option<f64> {
        let n = self.n();
        (n > 0).then(|| (self.only_b as f64 - self.only_a as f64) / n as f64)
    }
}

/// Two-sided exact McNemar p-value: the probability, under no change, of
/// discordant cases split at least as unevenly as `only_a` : `only_b`
/// (binomial with p = ½, doubled, capped at 1).
///
/// Up to `DIRECT_SUM_MAX_CASES` (1,000) discordant cases every term of the tail is
/// summed in log space, from log-binomial coefficients; beyond that the tail
/// is summed outwards from its largest term with the ratio between neighbours,
/// O(√n) terms, each as exact as the first (see the `discrete` module).
///
/// Same as statsmodels' `mcnemar([[·, only_a], [only_b, ·]], exact=True)`.
pub fn mcnemar_exact(only_a: u64, only_b: u64) -> f64 {
    let n = only_a + only_b;
    if n == 0 {
        return 1.0;
    }
    let smaller = only_a.min(only_b);
    if n > DIRECT_SUM_MAX_CASES {
        return (2.0 * binomial_half_lower_tail(smaller, n)).min(1.0);
    }
    let ln_half_n = n as f64 * std::f64::consts::LN_2;
    let ln_terms: Vec<f64> = (0..=smaller).map(|k| ln_binomial(n, k) - ln_half_n).collect();
    let largest = ln_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ln_tail = largest + ln_terms.iter().map(|t| (t - largest).exp()).sum::<f64>().ln();
    (2.0 * ln_tail.exp()).min(1.0)
}

/// Newcombe's interval (1998, paired data, method 10) for the change in the
/// adverse rate from A to B, `(only_b − only_a) / n`, at the critical value
/// `z`; `None` on an empty table.
///
/// Each rate gets its Wilson interval (no continuity correction); they are
/// combined with φ, the correlation of the paired decisions, as the paper
/// estimates it: 0 when a margin is empty, and with `n/2` taken off a
/// positive `AD − BC` (0 when that leaves nothing).
pub fn newcombe_paired(table: &PairedTable, z: f64) -> Option<(f64, f64)> {
    let n = table.n();
    let (lower_b, upper_b) = wilson_z(table.adverse_b(), n, z)?;
    let (lower_a, upper_a) = wilson_z(table.adverse_a(), n, z)?;
    let n_f = n as f64;
    let rate_b = table.adverse_b() as f64 / n_f;
    let rate_a = table.adverse_a() as f64 / n_f;
    let phi = correlation(table);
    let difference = rate_b - rate_a;
    let below =
        (rate_b - lower_b).powi(2) - 2.0 * phi * (rate_b - lower_b) * (upper_a - rate_a) + (upper_a - rate_a).powi(2);
    let above =
        (rate_a - lower_a).powi(2) - 2.0 * phi * (rate_a - lower_a) * (upper_b - rate_b) + (upper_b - rate_b).powi(2);
    Some((
        (difference - below.max(0.0).sqrt()).max(-1.0),
        (difference + above.max(0.0).sqrt()).min(1.0),
    ))
}

/// φ as method 10 estimates it. With B as the first measurement: A = both,
/// B = only B, C = only A, D = neither.
fn correlation(table: &PairedTable) -> f64 {
    let margins = [
        table.adverse_b(),
        table.n() - table.adverse_b(),
        table.adverse_a(),
        table.n() - table.adverse_a(),
    ];
    if margins.contains(&0) {
        return 0.0;
    }
    let cross = table.both as f64 * table.neither as f64 - table.only_b as f64 * table.only_a as f64;
    let half_n = table.n() as f64 / 2.0;
    let corrected = if cross > half_n {
        cross - half_n
    } else if cross >= 0.0 {
        0.0
    } else {
        cross
    };
    corrected / margins.iter().map(|&m| m as f64).product::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::interval::z_critical;

    /// Reference values: statsmodels 0.15
    /// `statsmodels.stats.contingency_tables.mcnemar([[0, b], [c, 0]], exact=True).pvalue`;
    /// the first seven copied from the project's shared statistics fixtures
    /// (`mcnemar.json`), the last three computed for this test.
    const MCNEMAR: [(u64, u64, f64); 10] = [
        (0, 30, 1.862645149230957e-09),
        (3, 30, 1.4011748135089874e-06),
        (10, 12, 0.8318119049072266),
        (0, 0, 1.0),
        (1, 0, 1.0),
        (25, 5, 0.0003249142318964005),
        (40, 60, 0.05688793364098089),
        (500, 560, 0.06990955946026937),
        (0, 1, 1.0),
        (7, 7, 1.0),
    ];

    #[test]
    fn mcnemar_matches_statsmodels() {
        for (only_a, only_b, expected) in MCNEMAR {
            let p = mcnemar_exact(only_a, only_b);
            assert!(
                (p - expected).abs() <= 1e-9 * expected.max(1e-300) + 1e-15,
                "{only_a} vs {only_b}: {p} vs {expected}"
            );
            assert_eq!(p, mcnemar_exact(only_b, only_a), "symmetric");
        }
    }

    /// Reference values: mpmath 1.3 at 50 digits, `2·Σ exp(log C(n, j) − n·log 2)`
    /// over j ≤ min(b, c), capped at 1 (statsmodels 0.15 gives 9.116949314541157e-05
    /// for the first).
    #[test]
    fn mcnemar_at_large_n_matches_high_precision_sums() {
        for (only_a, only_b, expected) in [
            (5000, 5400, 9.116949314540886e-05),
            (100_000, 100_310, 0.4899363936069375),
            (700, 800, 0.010559255466711544),
            (250, 251, 1.0),
        ] {
            let p = mcnemar_exact(only_a, only_b);
            assert!((p - expected).abs() <= 1e-12 * expected, "{only_a} vs {only_b}: {p}");
            assert_eq!(p, mcnemar_exact(only_b, only_a), "symmetric");
        }
        // below the smallest f64 (5.0e-6017 exactly)
        assert_eq!(mcnemar_exact(1, 20_000), 0.0);
    }

    /// Past 1,000 discordant cases the tail is summed outwards from its largest
    /// term; it agrees with the log-space sum of every term to the precision
    /// that sum keeps there.
    #[test]
    fn mcnemar_paths_agree_where_they_meet() {
        for (only_a, only_b) in [(400, 601), (480, 521), (300, 800), (500, 501)] {
            let n: u64 = only_a + only_b;
            let direct: f64 = (0..=only_a)
                .map(|k| (ln_binomial(n, k) - n as f64 * std::f64::consts::LN_2).exp())
                .sum();
            let p = mcnemar_exact(only_a, only_b);
            assert!(
                (p - (2.0 * direct).min(1.0)).abs() <= 1e-11 * p,
                "{only_a} vs {only_b}: {p}"
            );
        }
    }

    /// Reference values: Newcombe (1998, paired data) method 10 computed from
    /// the paper's formula in Python 3 (statsmodels 0.15
    /// `proportion_confint(method="wilson")` for the two marginal intervals),
    /// as `(a, b, c, d, alpha, lower, upper)` with a = both, b = first only,
    /// c = second only, d = neither and the difference first − second. The
    /// snippet reproduces Fagerland, Lydersen & Laake's `contingencytables`
    /// (`Newcombe_square_and_add_CI_paired_2x2`, Cavo et al. 2012: −0.1186 to
    /// −0.0046) and the paper's example (36, 12, 2, 0): 0.0569 to 0.3404.
    const NEWCOMBE_PAIRED: [(u64, u64, u64, u64, f64, f64, f64); 11] = [
        (59, 6, 16, 80, 0.05, -0.11862119563870999, -0.004625113933050047),
        (1, 1, 7, 12, 0.05, -0.506920226686141, -0.025559124164859837),
        (36, 12, 2, 0, 0.05, 0.05692958400323875, 0.3404276029749408),
        (0, 0, 30, 170, 0.05, -0.2060557928416666, -0.10317613491785382),
        (0, 30, 0, 170, 0.05, 0.10317613491785382, 0.2060557928416666),
        (100, 0, 0, 100, 0.05, -0.009707040325780738, 0.009707040325780738),
        (0, 0, 0, 10, 0.05, -0.27753279986288926, 0.27753279986288926),
        (40, 3, 30, 127, 0.05, -0.18912101850935958, -0.08090439094332402),
        (5, 10, 12, 73, 0.05, -0.11557081845993122, 0.07549764097214792),
        (0, 0, 30, 170, 0.0125, -0.22358600266425516, -0.08948564530182354),
        (1000, 25, 40, 8935, 0.05, -0.0031275891256223832, 0.00011359462660607959),
    ];

    #[test]
    fn newcombe_paired_matches_the_papers_formula() {
        for (a, b, c, d, alpha, lower, upper) in NEWCOMBE_PAIRED {
            // The reference's first measurement is B here: its "first only" is
            // our "only B".
            let table = PairedTable {
                both: a,
                only_b: b,
                only_a: c,
                neither: d,
            };
            let (l, u) = newcombe_paired(&table, z_critical(1.0 - alpha)).unwrap();
            assert!((l - lower).abs() < 1e-9, "lower {a},{b},{c},{d}: {l} vs {lower}");
            assert!((u - upper).abs() < 1e-9, "upper {a},{b},{c},{d}: {u} vs {upper}");
            let difference = table.difference().unwrap();
            assert!(l <= difference && difference <= u);
        }
    }

    #[test]
    fn an_empty_table_has_no_interval() {
        assert_eq!(newcombe_paired(&PairedTable::default(), 1.96), None);
        assert_eq!(PairedTable::default().difference(), None);
    }

    #[test]
    fn tables_count_each_pair_once() {
        let mut table = PairedTable::default();
        for (a, b) in [
            (true, true),
            (true, false),
            (false, true),
            (false, true),
            (false, false),
        ] {
            table.add(a, b);
        }
        assert_eq!(table.n(), 5);
        assert_eq!((table.adverse_a(), table.adverse_b()), (2, 3));
        assert_eq!(table.difference(), Some(0.2));
    }
}
