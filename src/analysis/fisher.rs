//! Fisher's exact test on 2×2 tables.
//!
//! The two-sided p-value sums the hypergeometric probabilities of every table with
//! the same margins that is no more likely than the observed one (with a relative
//! tolerance of 1e-7 for ties, as R does). Table probabilities are computed in
//! log space with `statrs`' log-binomial coefficients, so large tables neither
//! overflow nor underflow.

use statrs::function::factorial::ln_binomial;

/// Relative tolerance under which two table probabilities count as equal.
const TIE_TOLERANCE: f64 = 1e-7;

/// Two-sided p-value of Fisher's exact test for `[[a, b], [c, d]]`.
pub fn fisher_exact_two_sided(table: [[u64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table;
    let row1 = a + b;
    let row2 = c + d;
    let col1 = a + c;
    let total = row1 + row2;
    if row1 == 0 || row2 == 0 || col1 == 0 || col1 == total {
        return 1.0;
    }
    // ln P(X = x) for X ~ Hypergeometric(total, row1, col1)
    let ln_denominator = ln_binomial(total, col1);
    let ln_pmf = |x: u64| ln_binomial(row1, x) + ln_binomial(row2, col1 - x) - ln_denominator;
    let ln_observed = ln_pmf(a);
    let ln_threshold = ln_observed + TIE_TOLERANCE.ln_1p();
    let low = col1.saturating_sub(row2);
    let high = col1.min(row1);
    let mut included = 0;
    let p: f64 = (low..=high)
        .map(ln_pmf)
        .filter(|&ln_px| ln_px <= ln_threshold)
        .inspect(|_| included += 1)
        .map(f64::exp)
        .sum();
    // every table at least as extreme: exactly 1, not 1 less rounding
    if included == high - low + 1 { 1.0 } else { p.min(1.0) }
}

/// Sample odds ratio `a·d / (b·c)`, or `None` when it is undefined or infinite.
pub fn odds_ratio(table: [[u64; 2]; 2]) -> Option<f64> {
    let [[a, b], [c, d]] = table;
    let denominator = (b * c) as f64;
    (denominator > 0.0).then(|| (a * d) as f64 / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: scipy 1.17 `scipy.stats.fisher_exact(table)` (two-sided),
    /// copied from the project's shared statistics fixtures (`two_by_two.json`).
    const FISHER: [([[u64; 2]; 2], f64, Option<f64>); 9] = [
        ([[3, 5], [4, 50]], 0.039707492465292815, Some(7.5)),
        ([[0, 10], [5, 5]], 0.032507739938080496, Some(0.0)),
        ([[10, 0], [0, 10]], 1.082508822446903e-05, None),
        ([[12, 88], [4, 96]], 0.06519694306245737, Some(3.272727272727273)),
        ([[1, 1], [1, 1]], 1.0, Some(1.0)),
        ([[40, 160], [20, 180]], 0.0074192372767549215, Some(2.25)),
        ([[0, 30], [0, 30]], 1.0, None),
        ([[7, 3], [2, 8]], 0.06977851869492736, Some(9.333333333333334)),
        ([[150, 850], [100, 900]], 0.0008950875386906894, Some(1.588235294117647)),
    ];

    #[test]
    fn matches_scipy() {
        for (table, p, or) in FISHER {
            let got = fisher_exact_two_sided(table);
            assert!((got - p).abs() < 1e-9, "{table:?}: {got} vs {p}");
            match (odds_ratio(table), or) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "{table:?} odds ratio"),
                (None, None) => {}
                (g, e) => panic!("{table:?}: odds ratio {g:?} vs {e:?}"),
            }
        }
    }

    #[test]
    fn symmetric_under_row_and_column_swaps() {
        for (table, p, _) in FISHER {
            let [[a, b], [c, d]] = table;
            for swapped in [[[c, d], [a, b]], [[b, a], [d, c]], [[a, c], [b, d]]] {
                assert!((fisher_exact_two_sided(swapped) - p).abs() < 1e-9, "{swapped:?}");
            }
        }
    }
}
