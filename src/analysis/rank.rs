//! Rank-based comparison of durations (time to an appeal decision): the
//! two-sided Mann–Whitney U test, and quantiles.

use statrs::distribution::{ContinuousCDF, Normal};

use super::auc::{TieBlock, tie_blocks_of};

/// Largest sample size for which SciPy's `method="auto"` uses the exact
/// distribution (when the other sample is of any size and there are no ties).
const EXACT_MAX_SMALLER_SAMPLE: usize = 8;

/// Two-sided Mann–Whitney U p-value of `x` against `y`; `None` when either is empty.
///
/// The method is chosen as SciPy's `mannwhitneyu(method="auto")` does: exact when
/// either sample has at most 8 values and there are no ties, otherwise the
/// normal approximation with tie and continuity corrections. The one departure:
/// where the number of arrangements outgrows 128 bits (8 values against more
/// than 226,220) the normal approximation is used, which at that size is
/// far more precise than any decision resting on it needs.
pub fn mann_whitney_two_sided(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let blocks = tie_blocks_of(x, y);
    let ties = blocks.iter().any(|b| b.positives + b.negatives > 1);
    if x.len().min(y.len()) <= EXACT_MAX_SMALLER_SAMPLE
        && !ties
        && let Some(p) = exact_two_sided(x, y)
    {
        return Some(p);
    }
    Some(asymptotic_two_sided(&blocks))
}

/// The normal approximation with tie and continuity corrections, from the runs
/// of tied values of x (`positives`) and y (`negatives`), as SciPy computes it:
/// U from the rank sum with ties given their average rank, and
/// `2 · sf((max(U₁, U₂) − n₁n₂/2 − ½) / σ)` with σ corrected for ties. The runs
/// come from one sort, as the AUC's do (statrs' version compares every pair of
/// values first, which does not finish for hundreds of thousands of durations).
fn asymptotic_two_sided(blocks: &[TieBlock]) -> f64 {
    let n1 = blocks.iter().map(|b| b.positives).sum::<u64>() as f64;
    let n2 = blocks.iter().map(|b| b.negatives).sum::<u64>() as f64;
    let (mut rank_sum_x, mut tie_term) = (0.0, 0.0);
    let mut start = 0.0;
    for tied in blocks {
        let t = (tied.positives + tied.negatives) as f64;
        // the average of ranks start + 1 … start + t
        rank_sum_x += (start + (t + 1.0) / 2.0) * tied.positives as f64;
        tie_term += t * t * t - t;
        start += t;
    }
    let n = n1 + n2;
    let u1 = rank_sum_x - n1 * (n1 + 1.0) / 2.0;
    let u = u1.max(n1 * n2 - u1);
    // (every value tied leaves σ = 0, and a rounding error must not make it NaN)
    let sigma = (n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0))))
        .max(0.0)
        .sqrt();
    let z = (u - n1 * n2 / 2.0 - 0.5) / sigma;
    (2.0 * Normal::standard().sf(z)).clamp(0.0, 1.0)
}

/// Exact two-sided p-value without ties: `2 · P(U ≥ max(U₁, U₂))` under the null;
/// `None` when the counts do not fit in 128 bits.
/// (statrs' exact branch depends on the order of its arguments, so it is not used.)
fn exact_two_sided(x: &[f64], y: &[f64]) -> Option<f64> {
    let (n1, n2) = (x.len(), y.len());
    let u1: usize = x.iter().map(|a| y.iter().filter(|b| a > *b).count()).sum();
    let u_max = u1.max(n1 * n2 - u1);
    let (m, n) = (n1.min(n2), n1.max(n2));
    // every count on the way is at most C(m + n, m)
    if !fits_in_i128(m, n) {
        return None;
    }
    let distribution = u_arrangements(m, n)?;
    let total: f64 = distribution.iter().sum();
    let tail: f64 = distribution[u_max..].iter().sum();
    Some((2.0 * tail / total).min(1.0))
}

/// Whether C(m + n, m) fits in an `i128`.
fn fits_in_i128(m: usize, n: usize) -> bool {
    // C(n + i, i) = C(n + i − 1, i − 1) · (n + i) / i, dividing first: with
    // g = gcd(c, i), i / g divides n + i because the result is a whole number
    (1..=m as u128)
        .try_fold(1u128, |c, i| {
            let g = gcd(c, i);
            (c / g).checked_mul((n as u128 + i) / (i / g))
        })
        .is_some_and(|c| c <= i128::MAX as u128)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How many arrangements of `m` values of one sample and `n` of the other give
/// each U = 0 … m·n: the coefficients of the Gaussian binomial coefficient
/// `[m + n choose m]_q = ∏ᵢ₌₁..ₘ (1 − q^(n+i)) / (1 − q^i)`.
///
/// Each factor is applied as one multiplication and one division of a
/// polynomial of degree at most m·n, so the work is O(m²·n): fast for a small
/// sample (≤ 8 values) against one of hundreds or thousands. Counts are kept
/// exactly in `i128` (every intermediate product is itself a Gaussian binomial
/// coefficient, at most C(m + n, m)) and converted to `f64` at the end; `None`
/// when one would not fit.
fn u_arrangements(m: usize, n: usize) -> Option<Vec<f64>> {
    let mut poly = vec![0i128; m * n + 1];
    poly[0] = 1;
    for i in 1..=m {
        // multiply by (1 − q^(n+i)); the degree so far is (i − 1)·n
        for k in ((n + i)..=(i * n)).rev() {
            poly[k] = poly[k].checked_sub(poly[k - n - i])?;
        }
        // divide by (1 − q^i): running sums with stride i
        for k in i..=(i * n) {
            poly[k] = poly[k].checked_add(poly[k - i])?;
        }
    }
    Some(poly.into_iter().map(|c| c as f64).collect())
}

/// The `q` quantile (0–1) of `values` with linear interpolation (NumPy's default).
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: scipy 1.17 `scipy.stats.mannwhitneyu(x, y, alternative="two-sided")`
    /// and `numpy.median` / `numpy.percentile`, computed for this test.
    #[test]
    fn matches_scipy() {
        let x = [1.2, 1.25, 1.3, 1.22, 1.28, 1.31];
        let y = [0.4, 0.42, 0.41, 0.45, 0.39, 0.44, 0.5, 0.43, 0.38, 0.47, 0.46, 0.41];
        assert!((mann_whitney_two_sided(&x, &y).unwrap() - 0.0008791354707530649).abs() < 1e-9);
        let a = [
            3.1, 2.5, 4.4, 3.9, 2.2, 5.0, 4.1, 3.3, 2.9, 3.6, 4.8, 2.7, 3.0, 4.2, 3.8, 2.4, 4.6, 3.5, 3.7, 2.8, 4.0,
            3.2, 2.6, 4.3, 3.4,
        ];
        let b = [
            1.9, 2.3, 2.8, 1.5, 2.1, 3.0, 1.7, 2.6, 2.2, 1.8, 2.4, 2.9, 1.6, 2.0, 2.5, 3.1, 1.4, 2.7, 2.35, 1.95, 2.15,
            2.45, 2.05, 1.85, 2.55, 2.65, 1.75, 2.25, 2.85, 1.65,
        ];
        assert!((mann_whitney_two_sided(&a, &b).unwrap() - 9.180387625758535e-08).abs() < 1e-9);
        let c = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0];
        let d = [2.0, 3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 7.0];
        assert!((mann_whitney_two_sided(&c, &d).unwrap() - 0.025279736885893914).abs() < 1e-9);
        let e = [1.1, 2.3, 3.5, 7.7];
        let f = [4.2, 5.1, 6.3, 0.5, 8.8];
        assert!((mann_whitney_two_sided(&e, &f).unwrap() - 0.5555555555555556).abs() < 1e-9);
        assert!((mann_whitney_two_sided(&f, &e).unwrap() - 0.5555555555555556).abs() < 1e-9);
        // scipy: mannwhitneyu([1, 2, 3], [4, 5, 6, 7]) → 0.05714285714285714 (exact)
        assert!(
            (mann_whitney_two_sided(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0]).unwrap() - 0.05714285714285714).abs()
                < 1e-9
        );
        assert_eq!(mann_whitney_two_sided(&[], &f), None);
    }

    /// Reference values: scipy 1.17 `scipy.stats.mannwhitneyu(x, y, alternative="two-sided")`
    /// with its default `method="auto"`, copied from the project's shared statistics
    /// fixtures (`mann_whitney.json`): exact whenever either sample has at most 8
    /// values and there are no ties, even when the other sample is larger.
    #[test]
    fn exact_when_either_sample_is_small() {
        let x = [5.956, 6.958, 7.957, 8.959];
        let y = [
            1.499, 0.999, 2.499, 1.999, 3.956, 4.457, 3.456, 2.954, 5.458, 4.957, 3.289,
        ];
        for (a, b) in [(&x[..], &y[..]), (&y[..], &x[..])] {
            let p = mann_whitney_two_sided(a, b).unwrap();
            assert!((p - 0.0014652014652014652).abs() < 1e-12, "{p}");
        }
        let small = [1.0, 2.0, 3.0];
        let large: Vec<f64> = (4..=13).map(f64::from).collect();
        assert!((mann_whitney_two_sided(&small, &large).unwrap() - 0.006993006993006993).abs() < 1e-12);
        // ties: asymptotic with continuity correction
        let tied = [1.5, 2.5, 2.5, 4.0];
        let other = [3.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        assert!((mann_whitney_two_sided(&tied, &other).unwrap() - 0.010787449254670366).abs() < 1e-9);
    }

    /// Reference values: scipy 1.17 `mannwhitneyu(x, y, alternative="two-sided")`
    /// with `y = [i * 0.01 + 0.005 for i in range(300)]`, computed for this test.
    #[test]
    fn exact_against_hundreds_of_values() {
        let y: Vec<f64> = (0..300).map(|i| f64::from(i) * 0.01 + 0.005).collect();
        let x = [0.1, 0.52, 0.731, 1.2, 1.95, 2.0];
        let p = mann_whitney_two_sided(&x, &y).unwrap();
        assert!((p - 0.25190405397053967).abs() < 1e-12, "{p}");
        let x = [2.9, 2.95, 2.97, 2.991, 2.999, 3.1, 3.2, 3.3];
        for p in [
            mann_whitney_two_sided(&x, &y).unwrap(),
            mann_whitney_two_sided(&y, &x).unwrap(),
        ] {
            assert!((p / 1.8170410902377076e-12 - 1.0).abs() < 1e-9, "{p}");
        }
        // the count of arrangements sums to C(m + n, m)
        let counts = u_arrangements(3, 10).unwrap();
        assert_eq!(counts.iter().sum::<f64>(), 286.0);
        assert_eq!(counts.len(), 31);
    }

    #[test]
    fn counts_too_large_for_128_bits_are_not_computed_exactly() {
        // C(200,008, 8) ≈ 6.35e37 fits in an i128 (max ≈ 1.70e38); C(300,008, 8) ≈ 1.63e39 does not
        assert!(fits_in_i128(8, 200_000));
        assert!(!fits_in_i128(8, 300_000));
        // the last size that fits, found with Python's exact math.comb
        assert!(fits_in_i128(8, 226_220) && !fits_in_i128(8, 226_221));
        // a count that overflows on the way is refused, not wrapped
        assert!(u_arrangements(100, 100).is_none());

        // too many arrangements: the caller uses the normal approximation
        let y: Vec<f64> = (0..226_221).map(|i| f64::from(i) + 0.5).collect();
        let x = [
            10.0, 50_000.0, 90_000.0, 120_000.0, 170_000.0, 199_000.0, 210_000.0, 220_000.0,
        ];
        assert_eq!(exact_two_sided(&x, &y), None);
        assert!(exact_two_sided(&x, &y[..300]).is_some());
        // the approximation, ranked by a sort, against the textbook formula
        // (no ties) computed here from U counted pair by pair
        let p = mann_whitney_two_sided(&x, &y).unwrap();
        let (n1, n2): (f64, f64) = (8.0, y.len() as f64);
        let u1: f64 = x.iter().map(|a| y.iter().filter(|b| a > *b).count() as f64).sum();
        let sd = (n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt();
        let z = ((u1 - n1 * n2 / 2.0).abs() - 0.5) / sd;
        let expected = statrs::function::erf::erfc(z / std::f64::consts::SQRT_2);
        assert!((p / expected - 1.0).abs() < 1e-9, "{p} vs {expected}");
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((quantile(&ten, 0.9).unwrap() - 9.1).abs() < 1e-12);
        assert_eq!(quantile(&[], 0.5), None);
    }
}
