//! Confidence intervals for proportions.

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
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z = z_critical(confidence);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denominator;
    let half_width = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denominator;
    Some((
        (center - half_width).clamp(0.0, 1.0),
        (center + half_width).clamp(0.0, 1.0),
    ))
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
    }
}
