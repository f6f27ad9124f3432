//! Stratified 2×2 analysis: is a disparity still there once the mix of cases
//! is held fixed?
//!
//! A group whose protected posts are mostly of a kind the system removes often
//! (reclaimed terms, say) shows a high over-removal rate even if the system
//! treats the group no differently within each kind. Splitting the cases into
//! strata and pooling the per-stratum comparisons separates the two:
//!
//! - Mantel–Haenszel common odds ratio (Mantel & Haenszel 1959),
//!   `Σ aᵢdᵢ/nᵢ / Σ bᵢcᵢ/nᵢ`, with the Robins–Breslow–Greenland (1986) variance
//!   of its logarithm for the interval;
//! - the Cochran–Mantel–Haenszel test of a common odds ratio of 1, with
//!   continuity correction (0.5 subtracted from `|Σ(aᵢ − E aᵢ)|` when it is at
//!   least 0.5, as R's `mantelhaen.test`; statsmodels subtracts it always);
//! - the Breslow–Day test that the odds ratios of the strata are equal.
//!
//! Tables are `[[a, b], [c, d]]`: group adverse / not adverse, reference adverse
//! / not adverse. Strata where the group or the reference is absent carry no
//! information and are left out; so are strata where every case, or none, met
//! adverse action, for the Breslow–Day test (their expected count is fixed and
//! their variance zero). Same results as statsmodels' `StratifiedTable`
//! (`oddsratio_pooled`, `oddsratio_pooled_confint`, `test_null_odds(correction=True)`,
//! `test_equal_odds`) on tables it accepts.

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// One stratum's 2×2 table.
pub type Table = [[u64; 2]; 2];

/// What the strata say about the comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MantelHaenszel {
    /// Strata in which both the group and the reference are present.
    pub strata_used: usize,
    /// `None` when it is 0, infinite or undefined (Σ aᵢdᵢ/nᵢ or Σ bᵢcᵢ/nᵢ is 0).
    pub odds_ratio: Option<f64>,
    /// Robins–Breslow–Greenland interval of the common odds ratio.
    pub odds_ratio_ci: Option<(f64, f64)>,
    /// `Σ (aᵢ − E aᵢ)`: positive when the group meets adverse action more often
    /// than its reference within strata, negative when less.
    pub observed_minus_expected: f64,
    /// Continuity-corrected CMH statistic (χ², 1 df) and its p-value; `None`
    /// when no stratum has any variance.
    pub cmh_statistic: Option<f64>,
    pub cmh_p_value: Option<f64>,
    /// Breslow–Day statistic, its degrees of freedom and p-value; `None` with
    /// fewer than two informative strata or no finite positive common odds ratio.
    pub breslow_day_statistic: Option<f64>,
    pub breslow_day_df: Option<usize>,
    pub breslow_day_p_value: Option<f64>,
}

struct Cells {
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    n: f64,
}

impl Cells {
    fn of(table: &Table) -> Cells {
        let [[a, b], [c, d]] = *table;
        let [a, b, c, d] = [a, b, c, d].map(|x| x as f64);
        Cells {
            a,
            b,
            c,
            d,
            n: a + b + c + d,
        }
    }

    fn both_rows_present(&self) -> bool {
        self.a + self.b > 0.0 && self.c + self.d > 0.0
    }

    fn both_columns_present(&self) -> bool {
        self.a + self.c > 0.0 && self.b + self.d > 0.0
    }
}

fn chi_square_sf(statistic: f64, df: usize) -> Option<f64> {
    let distribution = ChiSquared::new(df as f64).ok()?;
    Some(distribution.sf(statistic.max(0.0)))
}

/// Mantel–Haenszel analysis of `strata` at the normal critical value `z`.
pub fn mantel_haenszel(strata: &[Table], z: f64) -> MantelHaenszel {
    let cells: Vec<Cells> = strata.iter().map(Cells::of).filter(Cells::both_rows_present).collect();
    let r: f64 = cells.iter().map(|t| t.a * t.d / t.n).sum();
    let s: f64 = cells.iter().map(|t| t.b * t.c / t.n).sum();
    let odds_ratio = (r > 0.0 && s > 0.0).then(|| r / s);
    let odds_ratio_ci = odds_ratio.map(|or| {
        // Robins, Breslow & Greenland (1986)
        let (mut pr, mut ps_qr, mut qs) = (0.0, 0.0, 0.0);
        for t in &cells {
            let p = (t.a + t.d) / t.n;
            let q = (t.b + t.c) / t.n;
            let (ri, si) = (t.a * t.d / t.n, t.b * t.c / t.n);
            pr += p * ri;
            ps_qr += p * si + q * ri;
            qs += q * si;
        }
        let variance = pr / (2.0 * r * r) + ps_qr / (2.0 * r * s) + qs / (2.0 * s * s);
        let half = z * variance.sqrt();
        ((or.ln() - half).exp(), (or.ln() + half).exp())
    });
    let (mut observed_minus_expected, mut variance) = (0.0, 0.0);
    for t in &cells {
        let (row1, row2, col1, col2) = (t.a + t.b, t.c + t.d, t.a + t.c, t.b + t.d);
        observed_minus_expected += t.a - row1 * col1 / t.n;
        if t.n > 1.0 {
            variance += row1 * row2 * col1 * col2 / (t.n * t.n * (t.n - 1.0));
        }
    }
    let cmh_statistic = (variance > 0.0).then(|| {
        let deviation = observed_minus_expected.abs();
        let corrected = if deviation >= 0.5 { deviation - 0.5 } else { deviation };
        corrected * corrected / variance
    });
    let cmh_p_value = cmh_statistic.and_then(|x| chi_square_sf(x, 1));
    let (breslow_day_statistic, breslow_day_df) = match odds_ratio {
        Some(or) if or.is_finite() => breslow_day(&cells, or),
        _ => (None, None),
    };
    let breslow_day_p_value = breslow_day_statistic
        .zip(breslow_day_df)
        .and_then(|(x, df)| chi_square_sf(x, df));
    MantelHaenszel {
        strata_used: cells.len(),
        odds_ratio,
        odds_ratio_ci,
        observed_minus_expected,
        cmh_statistic,
        cmh_p_value,
        breslow_day_statistic,
        breslow_day_df,
        breslow_day_p_value,
    }
}

/// Breslow–Day statistic (without Tarone's adjustment) and its degrees of
/// freedom, over the strata with both columns present.
fn breslow_day(cells: &[Cells], odds_ratio: f64) -> (Option<f64>, Option<usize>) {
    let informative: Vec<&Cells> = cells.iter().filter(|t| t.both_columns_present()).collect();
    if informative.len() < 2 {
        return (None, None);
    }
    let mut statistic = 0.0;
    for t in &informative {
        let (row1, col1, n) = (t.a + t.b, t.a + t.c, t.n);
        // E[a] under the common odds ratio: the root in the feasible range of
        // (1 − OR)·e² + (OR·(row1 + col1) + n − row1 − col1)·e − OR·row1·col1 = 0
        let low = (col1 - (n - row1)).max(0.0);
        let high = row1.min(col1);
        let quadratic = 1.0 - odds_ratio;
        let linear = odds_ratio * (row1 + col1) + (n - row1 - col1);
        let constant = -odds_ratio * row1 * col1;
        let expected = if quadratic.abs() < 1e-12 {
            -constant / linear
        } else {
            let root = (linear * linear - 4.0 * quadratic * constant).max(0.0).sqrt();
            let candidates = [
                (-linear + root) / (2.0 * quadratic),
                (-linear - root) / (2.0 * quadratic),
            ];
            let inside = |e: &f64| *e >= low - 1e-9 && *e <= high + 1e-9;
            match candidates.iter().find(|e| inside(e)) {
                Some(e) => *e,
                None => return (None, None),
            }
        };
        let variance = 1.0
            / (1.0 / expected + 1.0 / (col1 - expected) + 1.0 / (row1 - expected) + 1.0 / (n - row1 - col1 + expected));
        if !(variance.is_finite() && variance > 0.0) {
            return (None, None);
        }
        statistic += (t.a - expected).powi(2) / variance;
    }
    (Some(statistic), Some(informative.len() - 1))
}

/// Sample odds ratio of the pooled table, `None` when undefined or infinite.
pub fn crude_odds_ratio(strata: &[Table]) -> Option<f64> {
    let [[a, b], [c, d]] = strata.iter().fold([[0u64; 2]; 2], |acc, t| {
        [
            [acc[0][0] + t[0][0], acc[0][1] + t[0][1]],
            [acc[1][0] + t[1][0], acc[1][1] + t[1][1]],
        ]
    });
    let denominator = b as f64 * c as f64;
    (denominator > 0.0).then(|| a as f64 * d as f64 / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::interval::z_critical;

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{what}: {a} vs {b}");
    }

    /// Reference values: statsmodels 0.15 `StratifiedTable(strata)`:
    /// `oddsratio_pooled`, `oddsratio_pooled_confint()`,
    /// `test_null_odds(correction=True).pvalue`, `test_equal_odds().pvalue`;
    /// copied from the project's shared statistics fixtures (`mantel_haenszel.json`).
    #[test]
    fn matches_statsmodels() {
        let z = z_critical(0.95);
        let confounded = [[[8, 10], [20, 250]], [[2, 30], [30, 900]], [[1, 5], [12, 300]]];
        let got = mantel_haenszel(&confounded, z);
        close(got.odds_ratio.unwrap(), 5.3659639862559425, "odds ratio");
        let (lo, hi) = got.odds_ratio_ci.unwrap();
        close(lo, 2.5759260907496615, "lower");
        close(hi, 11.177948624067895, "upper");
        close(got.cmh_p_value.unwrap(), 6.284576194337532e-06, "CMH p");
        close(got.breslow_day_p_value.unwrap(), 0.19518436963017005, "Breslow–Day p");
        assert_eq!((got.strata_used, got.breslow_day_df), (3, Some(2)));

        let homogeneous = [[[10, 40], [30, 170]], [[12, 38], [25, 175]], [[9, 41], [28, 172]]];
        let got = mantel_haenszel(&homogeneous, z);
        close(got.odds_ratio.unwrap(), 1.621588841722256, "odds ratio");
        let (lo, hi) = got.odds_ratio_ci.unwrap();
        close(lo, 1.025890432759628, "lower");
        close(hi, 2.5631883168309515, "upper");
        close(got.cmh_p_value.unwrap(), 0.05068025116968866, "CMH p");
        close(got.breslow_day_p_value.unwrap(), 0.6297792545780758, "Breslow–Day p");
    }

    /// The review's example: posts about lesbians against posts about every other
    /// group in the quickstart run, stratified by category × language (the 14
    /// strata holding both groups and both outcomes). Reference values:
    /// statsmodels 0.15 `StratifiedTable(tables)`: `oddsratio_pooled`,
    /// `oddsratio_pooled_confint()`, `test_null_odds(correction=True).pvalue`
    /// (`correction=False` gives the review's 0.244), `test_equal_odds().pvalue`;
    /// computed for this test.
    #[test]
    fn a_confounded_disparity_matches_statsmodels() {
        let tables: [Table; 14] = [
            [[0, 1], [19, 28]],
            [[3, 0], [9, 8]],
            [[0, 1], [7, 22]],
            [[0, 1], [3, 14]],
            [[1, 1], [12, 20]],
            [[3, 2], [9, 4]],
            [[0, 1], [7, 21]],
            [[1, 1], [5, 22]],
            [[0, 1], [1, 15]],
            [[1, 0], [4, 16]],
            [[1, 1], [7, 1]],
            [[1, 0], [1, 8]],
            [[2, 1], [5, 2]],
            [[1, 0], [0, 16]],
        ];
        let got = mantel_haenszel(&tables, z_critical(0.95));
        close(got.odds_ratio.unwrap(), 1.6267907813798865, "odds ratio");
        let (lo, hi) = got.odds_ratio_ci.unwrap();
        close(lo, 0.673908001581682, "lower");
        close(hi, 3.927017100511181, "upper");
        close(got.cmh_p_value.unwrap(), 0.3570800666232685, "CMH p");
        close(got.breslow_day_p_value.unwrap(), 0.029442732775514124, "Breslow–Day p");
        assert_eq!(got.breslow_day_df, Some(13));
    }

    #[test]
    fn strata_without_both_groups_contribute_nothing() {
        let z = z_critical(0.95);
        let tables = [[[8, 10], [20, 250]], [[2, 30], [30, 900]], [[1, 5], [12, 300]]];
        let mut with_empty = tables.to_vec();
        with_empty.push([[0, 0], [40, 60]]);
        with_empty.push([[3, 7], [0, 0]]);
        assert_eq!(mantel_haenszel(&with_empty, z), mantel_haenszel(&tables, z));
        // a stratum where nobody met adverse action changes neither the odds
        // ratio nor the Breslow–Day test
        let mut with_constant = tables.to_vec();
        with_constant.push([[0, 12], [0, 40]]);
        let (a, b) = (mantel_haenszel(&with_constant, z), mantel_haenszel(&tables, z));
        assert_eq!(a.odds_ratio, b.odds_ratio);
        assert_eq!(a.breslow_day_p_value, b.breslow_day_p_value);
        assert_eq!(a.strata_used, 4);
        let nothing = mantel_haenszel(&[[[0, 0], [3, 3]]], z);
        assert_eq!(
            (nothing.strata_used, nothing.odds_ratio, nothing.cmh_p_value),
            (0, None, None)
        );
    }

    #[test]
    fn crude_odds_ratio_pools_the_strata() {
        assert_eq!(
            crude_odds_ratio(&[[[1, 2], [3, 4]], [[1, 2], [3, 4]]]),
            Some(2.0 * 8.0 / (4.0 * 6.0))
        );
        assert_eq!(crude_odds_ratio(&[[[1, 0], [3, 4]]]), None);
    }
}
