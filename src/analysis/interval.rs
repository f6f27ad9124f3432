//! Confidence intervals for proportions and for the difference of two
//! proportions.
//!
//! Rates carry Wilson score intervals. Differences carry Newcombe's hybrid score
//! interval (Newcombe 1998, method 10), which combines the two Wilson intervals
//! and, unlike the Wald interval, stays inside [−1, 1] and keeps its coverage at
//! rates of 0 % and 100 %.

use statrs::distribution::{ContinuousCDF, Normal};

/// Two-sided standard-normal critical value for `confidence` (0.95 → 1.959964…).
pub fn z_critical(confidence: f64) -> f64 {
    let standard = Normal::standard();
    standard.inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// Wilson score interval for `successes` out of `n`, or `None` when `n` is 0.
///
/// Same formula as statsmodels' `proportion_confint(method="wilson")`, clamped to [0, 1].
pub fn wilson(successes: u64, n: u64, confidence: f64) -> Option<(f64, f64)> {
    wilson_z(successes, n, z_critical(confidence))
}

/// Wilson score interval for `successes` out of `n` at the critical value `z`.
pub fn wilson_z(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denominator;
    let half_width = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denominator;
    Some((
        (center - half_width).clamp(0.0, 1.0),
        (center + half_width).clamp(0.0, 1.0),
    ))
}

/// Newcombe's hybrid score interval (1998, method 10) for the difference
/// `a / n1 − c / n2`, at the critical value `z`; `None` when a sample is empty.
///
/// Same as statsmodels' `confint_proportions_2indep(compare="diff", method="newcomb")`.
pub fn newcombe_difference(a: u64, n1: u64, c: u64, n2: u64, z: f64) -> Option<(f64, f64)> {
    let (l1, u1) = wilson_z(a, n1, z)?;
    let (l2, u2) = wilson_z(c, n2, z)?;
    let p1 = a as f64 / n1 as f64;
    let p2 = c as f64 / n2 as f64;
    let difference = p1 - p2;
    let lower = difference - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let upper = difference + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((lower.max(-1.0), upper.min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: statsmodels 0.15 `proportion_confint(count, nobs, alpha, method="wilson")`
    /// (copied from the project's shared statistics fixtures, `intervals.json`).
    const WILSON: [(u64, u64, f64, f64, f64); 14] = [
        (0, 1, 0.95, 0.0, 0.7934506856227626),
        (0, 10, 0.90, 0.0, 0.2129419700834071),
        (1, 10, 0.95, 0.017876213095072896, 0.4041500267952385),
        (5, 10, 0.90, 0.26927182113826714, 0.7307281788617328),
        (10, 10, 0.95, 0.7224672001371107, 0.9999999999999999),
        (3, 27, 0.95, 0.038520348283098374, 0.2805780081827982),
        (17, 250, 0.95, 0.04288591857836033, 0.10618925218570377),
        (0, 400, 0.95, 8.673617379884035e-19, 0.009512294334296508),
        (399, 400, 0.90, 0.9888731041463915, 0.9994420717170075),
        (123, 1000, 0.95, 0.10407414325107295, 0.1448112326470356),
        (1, 3, 0.95, 0.06149194472039621, 0.7923403991979522),
        (50, 51, 0.95, 0.8969543127385502, 0.9965303073589391),
        (7, 7, 0.90, 0.7212373045474578, 1.0),
        (123, 1000, 0.90, 0.10692639310384754, 0.14110808229893185),
    ];

    #[test]
    fn wilson_matches_statsmodels() {
        for (x, n, conf, lo, hi) in WILSON {
            let (l, h) = wilson(x, n, conf).unwrap();
            assert!((l - lo).abs() < 1e-9, "lower {x}/{n} @ {conf}: {l} vs {lo}");
            assert!((h - hi).abs() < 1e-9, "upper {x}/{n} @ {conf}: {h} vs {hi}");
        }
    }

    #[test]
    fn z_matches_scipy() {
        // scipy.stats.norm.ppf(0.975)
        assert!((z_critical(0.95) - 1.959963984540054).abs() < 1e-12);
    }

    #[test]
    fn empty_sample_has_no_interval() {
        assert_eq!(wilson(0, 0, 0.95), None);
        assert_eq!(newcombe_difference(0, 0, 1, 2, 1.96), None);
    }

    /// Reference values: statsmodels 0.15
    /// `confint_proportions_2indep(a, n1, c, n2, compare="diff", method="newcomb", alpha)`
    /// (the 95 % ones copied from the project's shared statistics fixtures,
    /// `two_proportions.json`; the last one computed for this test with alpha = 0.05 / 4).
    const NEWCOMBE: [(u64, u64, u64, u64, f64, f64, f64); 7] = [
        (1, 1, 367, 2845, 0.05, 0.07744752305718428, 0.8828204402635151),
        (1, 1, 7, 7, 0.05, -0.7934506856227626, 0.3543304350666875),
        (0, 14, 30, 300, 0.05, -0.13916646238462152, 0.11726197421984286),
        (7, 7, 1, 20, 0.05, 0.5497564761442646, 0.9911185511992046),
        (0, 10, 0, 50, 0.05, -0.07134759913335874, 0.27753279986288926),
        (70, 134, 298, 2712, 0.05, 0.3275944250183756, 0.4960278025295187),
        (33, 196, 335, 2650, 0.0125, -0.0168433312044219, 0.1201954792358165),
    ];

    #[test]
    fn newcombe_matches_statsmodels() {
        for (a, n1, c, n2, alpha, lo, hi) in NEWCOMBE {
            let (l, h) = newcombe_difference(a, n1, c, n2, z_critical(1.0 - alpha)).unwrap();
            assert!((l - lo).abs() < 1e-9, "lower {a}/{n1} vs {c}/{n2}: {l} vs {lo}");
            assert!((h - hi).abs() < 1e-9, "upper {a}/{n1} vs {c}/{n2}: {h} vs {hi}");
        }
    }
}
