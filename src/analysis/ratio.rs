//! Rate ratios and their confidence intervals.
//!
//! The interval reported for a disparity is MOVER–Wilson (Donner & Zou 2012):
//! the method of variance estimates recovery applied to the two Wilson intervals.
//! It keeps its coverage when a rate is 0 % or 100 %, where the Katz log interval
//! collapses (1 of 1 against 367 of 2,845 gives a Katz interval of 5.61–6.84
//! although Fisher's exact p is 0.16). When the reference rate is 0 the ratio
//! has no finite upper limit, and the interval says so.
//!
//! The Katz log interval is kept for callers that want it, with 0.5 added to
//! every cell of the 2×2 table whenever a cell is empty (a rate of 0 % or
//! 100 %): without that correction it is undefined or degenerate there.

use serde::{Deserialize, Serialize};

use super::interval::wilson_z;

/// Ratio of two rates with its confidence interval (Katz log method).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRatio {
    /// `rate / reference rate` of the observed counts; `None` when the reference
    /// rate is zero (the ratio is undefined or infinite).
    pub ratio: Option<f64>,
    /// `None` only when a sample is empty.
    pub interval: Option<(f64, f64)>,
    /// Whether 0.5 was added to every cell because a cell was empty.
    pub half_cell_corrected: bool,
}

/// Ratio of `a / n1` to `c / n2` with the Katz log interval
/// `exp(ln RR ± z·sqrt(1/a − 1/n1 + 1/c − 1/n2))`.
///
/// When a cell of the table is empty (`a` or `c` is 0, or equals its n), 0.5 is
/// added to every cell (so each n grows by 1) before the interval is computed.
pub fn katz_rate_ratio(a: u64, n1: u64, c: u64, n2: u64, z: f64) -> RateRatio {
    if n1 == 0 || n2 == 0 {
        return RateRatio {
            ratio: None,
            interval: None,
            half_cell_corrected: false,
        };
    }
    let (a_f, n1_f, c_f, n2_f) = (a as f64, n1 as f64, c as f64, n2 as f64);
    let ratio = (c > 0).then(|| (a_f / n1_f) / (c_f / n2_f));
    let corrected = a == 0 || a == n1 || c == 0 || c == n2;
    let shift = if corrected { 0.5 } else { 0.0 };
    let (a_f, n1_f, c_f, n2_f) = (a_f + shift, n1_f + 2.0 * shift, c_f + shift, n2_f + 2.0 * shift);
    let log_ratio = ((a_f / n1_f) / (c_f / n2_f)).ln();
    let se = (1.0 / a_f - 1.0 / n1_f + 1.0 / c_f - 1.0 / n2_f).sqrt();
    RateRatio {
        ratio,
        interval: Some(((log_ratio - z * se).exp(), (log_ratio + z * se).exp())),
        half_cell_corrected: corrected,
    }
}

/// A confidence interval for a rate ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RatioInterval {
    pub lower: f64,
    /// `None`: the interval has no finite upper limit (the reference rate is 0).
    pub upper: Option<f64>,
}

impl RatioInterval {
    /// Whether the interval lies wholly above or wholly below 1.
    pub fn excludes_one(&self) -> bool {
        self.lower > 1.0 || self.upper.is_some_and(|u| u < 1.0)
    }
}

/// MOVER–Wilson interval (Donner & Zou 2012) for the ratio of `a / n1` to
/// `c / n2`, at the critical value `z`.
///
/// With Wilson limits `(l1, u1)` and `(l2, u2)` of the two rates, the limits are
/// the roots of `(p1 − θ·p2)² = (p1 − l1)² + θ²·(u2 − p2)²` (lower) and
/// `(p1 − θ·p2)² = (u1 − p1)² + θ²·(p2 − l2)²` (upper), computed in a form that
/// stays finite when a rate is 0 or 1. A lower limit is never negative. When the
/// reference rate is 0 the upper limit is unbounded; when both rates are 0 (or a
/// sample is empty) there is no interval.
pub fn mover_wilson_rate_ratio(a: u64, n1: u64, c: u64, n2: u64, z: f64) -> Option<RatioInterval> {
    let (l1, u1) = wilson_z(a, n1, z)?;
    let (l2, u2) = wilson_z(c, n2, z)?;
    if a == 0 && c == 0 {
        return None;
    }
    let p1 = a as f64 / n1 as f64;
    let p2 = c as f64 / n2 as f64;
    let b = p1 * p2;
    // lower: A·θ² − 2B·θ + C = 0 with A = u2(2p2 − u2), C = l1(2p1 − l1) ≥ 0; the
    // root wanted is C / (B + √(B² − AC)), which is (B − √(B² − AC)) / A when A ≠ 0.
    let c_lower = l1 * (2.0 * p1 - l1);
    let root = (b * b - u2 * (2.0 * p2 - u2) * c_lower).max(0.0).sqrt();
    let lower = if a == 0 || b + root <= 0.0 {
        0.0
    } else {
        (c_lower / (b + root)).max(0.0)
    };
    // upper: A = l2(2p2 − l2) > 0 whenever the reference rate is above 0.
    let a_upper = l2 * (2.0 * p2 - l2);
    let upper = (c > 0 && a_upper > 0.0).then(|| {
        let c_upper = u1 * (2.0 * p1 - u1);
        (b + (b * b - a_upper * c_upper).max(0.0).sqrt()) / a_upper
    });
    Some(RatioInterval { lower, upper })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::interval::z_critical;

    /// Reference values: Katz log 95 % interval with z = scipy.stats.norm.ppf(0.975),
    /// copied from the project's shared statistics fixtures (`risk_ratio.json`).
    const KATZ: [(u64, u64, u64, u64, f64, f64, f64); 5] = [
        (30, 100, 15, 100, 2.0, 1.1488778125918317, 3.481658324461961),
        (
            12,
            40,
            20,
            400,
            5.999999999999999,
            3.171305364772879,
            11.351792356513808,
        ),
        (5, 50, 5, 50, 1.0, 0.30851698182293347, 3.241312663216471),
        (
            90,
            300,
            30,
            300,
            2.9999999999999996,
            2.049639174088867,
            4.391016776892351,
        ),
        (
            1,
            20,
            9,
            20,
            0.11111111111111112,
            0.015482465225618865,
            0.7973974966155434,
        ),
    ];

    #[test]
    fn katz_matches_reference() {
        let z = z_critical(0.95);
        for (a, n1, c, n2, rr, lo, hi) in KATZ {
            let got = katz_rate_ratio(a, n1, c, n2, z);
            assert!((got.ratio.unwrap() - rr).abs() < 1e-9);
            assert!(!got.half_cell_corrected);
            let (l, h) = got.interval.unwrap();
            assert!((l - lo).abs() < 1e-9, "{a}/{n1} vs {c}/{n2}: {l} vs {lo}");
            assert!((h - hi).abs() < 1e-9, "{a}/{n1} vs {c}/{n2}: {h} vs {hi}");
        }
    }

    /// Reference values: Katz log 95 % interval after adding 0.5 to every cell,
    /// from the project's shared statistics fixtures (`two_proportions.json`,
    /// `ratio_katz_half_cells`): (a, n1, c, n2, lower, upper).
    const KATZ_HALF_CELLS: [(u64, u64, u64, u64, f64, f64); 4] = [
        (1, 1, 367, 2845, 2.5946304947537726, 13.001759049953996),
        (1, 1, 7, 7, 0.3523764160493011, 1.8162395973471093),
        (0, 14, 30, 300, 0.02111606368565512, 5.124810839520943),
        (0, 10, 0, 50, 0.0971532158702797, 221.25739818326366),
    ];

    #[test]
    fn katz_adds_half_to_every_cell_at_0_and_100_percent() {
        let z = z_critical(0.95);
        for (a, n1, c, n2, lo, hi) in KATZ_HALF_CELLS {
            let got = katz_rate_ratio(a, n1, c, n2, z);
            assert!(got.half_cell_corrected);
            let (l, h) = got.interval.unwrap();
            assert!((l - lo).abs() < 1e-9, "{a}/{n1} vs {c}/{n2}: {l} vs {lo}");
            assert!((h - hi).abs() < 1e-9, "{a}/{n1} vs {c}/{n2}: {h} vs {hi}");
        }
        // the uncorrected ratio of the counts is still reported
        let got = katz_rate_ratio(1, 1, 367, 2845, z);
        assert!((got.ratio.unwrap() - 2845.0 / 367.0).abs() < 1e-9);
        assert_eq!(katz_rate_ratio(5, 10, 0, 10, z).ratio, None);
        assert_eq!(katz_rate_ratio(5, 0, 1, 10, z).interval, None);
    }

    /// Reference values: MOVER–Wilson 95 % interval (Donner & Zou 2012) from the
    /// project's shared statistics fixtures (`two_proportions.json`,
    /// `ratio_mover_wilson`): (a, n1, c, n2, lower, upper). The third case's
    /// lower limit is −1.5e-16 there, 0 here.
    const MOVER: [(u64, u64, u64, u64, f64, f64); 7] = [
        (1, 1, 367, 2845, 1.599126791117479, 8.533911564856659),
        (1, 1, 7, 7, 0.20654931437723745, 1.5487798315277321),
        (0, 14, 30, 300, 0.0, 2.250160462305372),
        (33, 196, 335, 2650, 0.9553609431346363, 1.8277320100680248),
        (7, 7, 1, 20, 3.8872322515557505, 112.59424249683704),
        (70, 134, 298, 2712, 3.874598092101485, 5.706468245516472),
        (4, 4, 5, 11, 0.9798421568049597, 4.701176392971856),
    ];

    #[test]
    fn mover_wilson_matches_reference() {
        let z = z_critical(0.95);
        for (a, n1, c, n2, lo, hi) in MOVER {
            let got = mover_wilson_rate_ratio(a, n1, c, n2, z).unwrap();
            assert!(
                (got.lower - lo).abs() < 1e-9,
                "{a}/{n1} vs {c}/{n2}: {} vs {lo}",
                got.lower
            );
            let upper = got.upper.unwrap();
            assert!((upper - hi).abs() < 1e-9, "{a}/{n1} vs {c}/{n2}: {upper} vs {hi}");
        }
    }

    #[test]
    fn mover_wilson_at_a_zero_reference_rate_has_no_upper_limit() {
        let z = z_critical(0.95);
        // both rates 0: the ratio is undefined (the reference fixture has null)
        assert_eq!(mover_wilson_rate_ratio(0, 10, 0, 50, z), None);
        let got = mover_wilson_rate_ratio(3, 10, 0, 50, z).unwrap();
        assert_eq!(got.upper, None);
        assert!(got.lower > 1.0 && got.excludes_one());
        assert_eq!(mover_wilson_rate_ratio(1, 0, 1, 50, z), None);
    }

    #[test]
    fn mover_wilson_at_100_percent_no_longer_collapses() {
        // 1 of 1 against 367 of 2,845: Fisher's exact p = 0.16, and the Katz
        // interval without correction was 5.61–6.84; 1 of 1 against 7 of 7 gave 1.00–1.00.
        let z = z_critical(0.95);
        let one = mover_wilson_rate_ratio(1, 1, 367, 2845, z).unwrap();
        assert!(one.lower < 2.0 && one.upper.unwrap() > 8.0);
        let full = mover_wilson_rate_ratio(1, 1, 7, 7, z).unwrap();
        assert!(full.lower < 0.5 && full.upper.unwrap() > 1.5 && !full.excludes_one());
    }
}
