//! Fisher's exact test on 2×2 tables.
//!
//! The two-sided p-value sums the hypergeometric probabilities of every table with
//! the same margins that is no more likely than the observed one (with a relative
//! tolerance of 1e-7 for ties, as R does).
//!
//! Tables of at most `DIRECT_SUM_MAX_CASES` (1,000) cases sum every table's
//! probability, each from `statrs`' log-binomial coefficients: cheap at that
//! size, and their p-values stay what they have always been, to the last bit.
//! Larger tables would cost one log-binomial per possible table (a hundred
//! thousand at a million cases), each losing digits to `ln n!`: there the two
//! tails are found by binary search on accurate probabilities and summed outwards
//! from their first table with the ratio between neighbours, as SciPy does
//! (see the `discrete` module): O(log n + √n) per test, within 1e-12 of the exact
//! p-value.

use statrs::function::factorial::ln_binomial;

use super::discrete::{DIRECT_SUM_MAX_CASES, Hypergeometric};

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
    if total <= DIRECT_SUM_MAX_CASES {
        direct_sum(table)
    } else {
        let dist = Hypergeometric::new(total, row1, col1).expect("the margins are parts of the total");
        tails_beyond_the_observed(&dist, a)
    }
}

/// The two-sided p-value as the sum over every table with the table's margins.
fn direct_sum(table: [[u64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table;
    let row1 = a + b;
    let row2 = c + d;
    let col1 = a + c;
    let total = row1 + row2;
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

/// The two-sided p-value as two tails. The probabilities rise to the mode and
/// fall after it, so the tables no more likely than the observed one are a
/// lower tail up to some count and an upper tail from some count on: each end
/// is found by binary search, each tail summed from there outwards.
fn tails_beyond_the_observed(dist: &Hypergeometric, observed: u64) -> f64 {
    let ln_threshold = dist.ln_pmf(observed) + TIE_TOLERANCE.ln_1p();
    let included = |x: u64| dist.ln_pmf(x) <= ln_threshold;
    let (low, high) = dist.support();
    let mode = dist.mode();
    if included(mode) {
        // every table at least as extreme: exactly 1
        return 1.0;
    }
    // the included counts run from `low` up to a boundary below the mode, and
    // from a boundary above it up to `high`
    let lower = included(low).then(|| dist.lower_tail(last_included(low, mode, included)));
    let upper = included(high).then(|| dist.upper_tail(last_included(high, mode, included)));
    (lower.unwrap_or(0.0) + upper.unwrap_or(0.0)).min(1.0)
}

/// Searching from `inside` (included) towards `outside` (not included), the
/// last included count before the boundary, for a `included` that holds on
/// one side of a single boundary between them.
fn last_included(mut inside: u64, mut outside: u64, included: impl Fn(u64) -> bool) -> u64 {
    while inside.abs_diff(outside) > 1 {
        let middle = inside.min(outside) + inside.abs_diff(outside) / 2;
        if included(middle) {
            inside = middle;
        } else {
            outside = middle;
        }
    }
    inside
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

    /// Reference values: the exact two-sided p-value (ties within a relative
    /// 1e-7 included), summed over every table with mpmath 1.3 at 60 digits
    /// from `loggamma`. SciPy 1.17's `fisher_exact` is itself off by up to 6e-11
    /// on these (1.0903839332240762e-11 for the sixth).
    const LARGE: [([[u64; 2]; 2], f64); 13] = [
        ([[1200, 8800], [9000, 81000]], 8.546458978635096e-10),
        ([[10050, 89950], [90000, 810000]], 0.6171530040281822),
        ([[0, 5000], [40, 4960]], 1.6819797920561473e-12),
        ([[3, 17], [100000, 899980]], 0.4446560037935699),
        ([[41, 959], [30, 970]], 0.22665835940607545),
        ([[5200, 44800], [90000, 860000]], 1.0903839331565652e-11),
        ([[19932, 13255], [46555, 20258]], 1.0552734447834742e-199),
        ([[32, 3370], [21, 16577]], 1.6028105068239361e-12),
        ([[138, 128], [2961, 1773]], 0.0005703334934450914),
        // equally likely tables on both sides (symmetric margins)
        ([[480, 520], [520, 480]], 0.08111006057913338),
        ([[600, 1400], [600, 1400]], 1.0),
        ([[1, 1000], [0, 1]], 1.0),
        ([[2, 999], [0, 2000]], 0.11118516050205487),
    ];

    #[test]
    fn large_tables_match_high_precision_sums() {
        for (table, expected) in LARGE {
            let p = fisher_exact_two_sided(table);
            assert!((p - expected).abs() <= 1e-12 * expected, "{table:?}: {p} vs {expected}");
        }
        // below the smallest f64 (2.8e-351 exactly)
        assert_eq!(fisher_exact_two_sided([[300, 700], [9000, 990000]]), 0.0);
    }

    /// The tails found by binary search and summed outwards against the plain
    /// sum over every table of the same probabilities, for tables of 1,001 to
    /// 101,000 cases with counts within a few standard deviations of the
    /// expected one (where p-values are large enough to matter); and against
    /// the table-by-table sum of log-binomials, to the 1e-9 that one keeps at
    /// these sizes (its `ln n!` alone carries about n·1e-16).
    #[test]
    fn tails_match_the_sum_over_every_table() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for _ in 0..40 {
            let total = 1001 + next(100_000);
            let row1 = 1 + next(total - 1);
            let col1 = 1 + next(total - 1);
            let dist = Hypergeometric::new(total, row1, col1).unwrap();
            let (low, high) = dist.support();
            let (n, k, draws) = (total as f64, row1 as f64, col1 as f64);
            let sd = (draws * (k / n) * (1.0 - k / n) * (n - draws) / (n - 1.0)).sqrt();
            let offset = (next(801) as f64 / 100.0 - 4.0) * sd;
            let a = (dist.mode() as f64 + offset).round().clamp(low as f64, high as f64) as u64;
            let table = [[a, row1 - a], [col1 - a, total - row1 + a - col1]];
            let ln_threshold = dist.ln_pmf(a) + TIE_TOLERANCE.ln_1p();
            let every_table: f64 = (low..=high)
                .map(|x| dist.ln_pmf(x))
                .filter(|&ln_px| ln_px <= ln_threshold)
                .map(f64::exp)
                .sum();
            let p = fisher_exact_two_sided(table);
            assert!(
                (p - every_table.min(1.0)).abs() <= 1e-12 * p,
                "{table:?}: {p} vs {every_table}"
            );
            let log_binomials = direct_sum(table);
            assert!(
                (p - log_binomials).abs() <= 1e-9 * p,
                "{table:?}: {p} vs {log_binomials}"
            );
        }
    }
}
