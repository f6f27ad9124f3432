//! Rank-based comparison of durations (time to an appeal decision): the
//! two-sided Mann–Whitney U test, and quantiles.

use statrs::stats_tests::Alternative;
use statrs::stats_tests::mannwhitneyu::{MannWhitneyUMethod, mannwhitneyu};

/// Two-sided Mann–Whitney U p-value of `x` against `y`; `None` when either is empty.
///
/// The method is chosen as SciPy's `method="auto"` does: exact when both samples
/// have at most 8 values and there are no ties, otherwise the normal
/// approximation with tie and continuity corrections.
pub fn mann_whitney_two_sided(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let mut all: Vec<f64> = x.iter().chain(y).copied().collect();
    all.sort_by(f64::total_cmp);
    let ties = all.windows(2).any(|w| w[0] == w[1]);
    if x.len() <= 8 && y.len() <= 8 && !ties {
        return Some(exact_two_sided(x, y));
    }
    mannwhitneyu(
        x,
        y,
        MannWhitneyUMethod::AsymptoticInclContinuityCorrection,
        Alternative::TwoSided,
    )
    .ok()
    .map(|(_, p)| p)
}

/// Exact two-sided p-value without ties: `2 · P(U ≥ max(U₁, U₂))` under the null,
/// from the count of rank arrangements giving each U. (statrs' exact branch
/// depends on the order of its arguments, so it is not used.)
fn exact_two_sided(x: &[f64], y: &[f64]) -> f64 {
    let (n1, n2) = (x.len(), y.len());
    let u1: usize = x.iter().map(|a| y.iter().filter(|b| a > *b).count()).sum();
    let u_max = u1.max(n1 * n2 - u1);
    // counts[i][j][u]: arrangements of i x-values and j y-values with U = u
    let mut counts = vec![vec![Vec::<f64>::new(); n2 + 1]; n1 + 1];
    for i in 0..=n1 {
        for j in 0..=n2 {
            let mut row = vec![0.0; i * j + 1];
            if i == 0 || j == 0 {
                row[0] = 1.0;
            } else {
                // the largest value is an x (adds j to U) or a y
                for (u, c) in counts[i - 1][j].iter().enumerate() {
                    row[u + j] += c;
                }
                for (u, c) in counts[i][j - 1].iter().enumerate() {
                    row[u] += c;
                }
            }
            counts[i][j] = row;
        }
    }
    let distribution = &counts[n1][n2];
    let total: f64 = distribution.iter().sum();
    let tail: f64 = distribution[u_max..].iter().sum();
    (2.0 * tail / total).min(1.0)
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

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((quantile(&ten, 0.9).unwrap() - 9.1).abs() < 1e-12);
        assert_eq!(quantile(&[], 0.5), None);
    }
}
