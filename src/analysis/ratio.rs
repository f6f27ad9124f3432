//! Rate ratios with the Katz log interval.

/// Ratio of two rates with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRatio {
    /// `None` when the reference rate is zero (the ratio is undefined or infinite).
    pub ratio: Option<f64>,
    /// `None` when a count is zero: the Katz interval is then undefined.
    pub interval: Option<(f64, f64)>,
}

/// Ratio of `a / n1` to `c / n2` with the Katz log interval
/// `exp(ln RR ± z·sqrt(1/a − 1/n1 + 1/c − 1/n2))`.
pub fn katz_rate_ratio(a: u64, n1: u64, c: u64, n2: u64, z: f64) -> RateRatio {
    if n1 == 0 || n2 == 0 || c == 0 {
        return RateRatio {
            ratio: None,
            interval: None,
        };
    }
    let (a_f, n1_f, c_f, n2_f) = (a as f64, n1 as f64, c as f64, n2 as f64);
    let ratio = (a_f / n1_f) / (c_f / n2_f);
    if a == 0 {
        return RateRatio {
            ratio: Some(ratio),
            interval: None,
        };
    }
    let se = (1.0 / a_f - 1.0 / n1_f + 1.0 / c_f - 1.0 / n2_f).sqrt();
    let log_ratio = ratio.ln();
    RateRatio {
        ratio: Some(ratio),
        interval: Some(((log_ratio - z * se).exp(), (log_ratio + z * se).exp())),
    }
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
            let (l, h) = got.interval.unwrap();
            assert!((l - lo).abs() < 1e-9, "{a}/{n1} vs {c}/{n2}: {l} vs {lo}");
            assert!((h - hi).abs() < 1e-9, "{a}/{n1} vs {c}/{n2}: {h} vs {hi}");
        }
    }

    #[test]
    fn zero_counts_have_no_interval() {
        let z = z_critical(0.95);
        assert_eq!(
            katz_rate_ratio(0, 10, 5, 10, z),
            RateRatio {
                ratio: Some(0.0),
                interval: None
            }
        );
        assert_eq!(
            katz_rate_ratio(5, 10, 0, 10, z),
            RateRatio {
                ratio: None,
                interval: None
            }
        );
    }
}
