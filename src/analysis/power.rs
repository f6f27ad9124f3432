//! Power: the smallest difference a comparison could have detected.
//!
//! "No significant disparity" is evidence of absence only when the comparison
//! could have seen one. For a group of `n` cases compared with a reference of
//! `n_ref` cases at rate `p₀`, the minimum detectable rate is the rate `p₁` at
//! which a two-sided test at level α has the wanted power, under the normal
//! approximation on Cohen's h (Cohen 1988), `h = 2·asin√p₁ − 2·asin√p₀`:
//!
//! `power(h) = Φ(h·√n_eff − z₁₋α/₂) + Φ(−h·√n_eff − z₁₋α/₂)` with
//! `n_eff = 1 / (1/n + 1/n_ref)`,
//!
//! as statsmodels' `NormalIndPower().power(proportion_effectsize(p₁, p₀), n,
//! alpha, ratio = n_ref / n)`. The equation is solved for h, then inverted:
//! `p₁ = sin²(asin√p₀ ± h/2)`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Power at which the minimum detectable effect is computed.
pub const POWER: f64 = 0.8;

/// The smallest rate in one direction that the comparison would detect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Detectable {
    /// The group rate detectable with the given power; `None` when no rate is.
    pub rate: Option<f64>,
    /// `rate / reference rate`; `None` when the rate is, or the reference rate is 0.
    pub ratio: Option<f64>,
    /// Why `rate` or `ratio` is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Minimum detectable rates above and below the reference rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MinimumDetectable {
    /// `cohen_h_normal`: normal approximation on Cohen's h, two-sided.
    pub method: String,
    pub power: f64,
    /// The two-sided significance level per comparison used here.
    pub alpha: f64,
    /// Where `alpha` comes from, e.g. "Bonferroni: α/m = 0.05/13 within over_removal/language".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_basis: Option<String>,
    /// A group rate above the reference rate.
    pub increase: Detectable,
    /// A group rate below the reference rate.
    pub decrease: Detectable,
}

/// Two-sided power of the normal test on Cohen's h.
fn power_of(h: f64, n_eff: f64, critical: f64) -> f64 {
    let standard = Normal::standard();
    let shift = h * n_eff.sqrt();
    standard.sf(critical - shift) + standard.cdf(-critical - shift)
}

/// Cohen's h at which the comparison reaches `power`, by bisection on the
/// monotone power curve (h ∈ (0, π]); `None` when not even h = π reaches it.
fn detectable_h(n: u64, n_ref: u64, alpha: f64, power: f64) -> Option<f64> {
    if n == 0 || n_ref == 0 {
        return None;
    }
    let n_eff = 1.0 / (1.0 / n as f64 + 1.0 / n_ref as f64);
    let critical = Normal::standard().inverse_cdf(1.0 - alpha / 2.0);
    let (mut low, mut high) = (0.0, std::f64::consts::PI);
    if power_of(high, n_eff, critical) < power {
        return None;
    }
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if power_of(middle, n_eff, critical) < power {
            low = middle;
        } else {
            high = middle;
        }
        if high - low <= f64::EPSILON * high {
            break;
        }
    }
    Some(0.5 * (low + high))
}

/// The minimum detectable rates for a group of `n` cases against a reference of
/// `n_ref` cases at `reference_rate`, two-sided at `alpha` with power `power`.
pub fn minimum_detectable(reference_rate: f64, n: u64, n_ref: u64, alpha: f64, power: f64) -> MinimumDetectable {
    let h = detectable_h(n, n_ref, alpha, power);
    let base = reference_rate.clamp(0.0, 1.0).sqrt().asin();
    let direction = |sign: f64| -> Detectable {
        let Some(h) = h else {
            return Detectable {
                rate: None,
                ratio: None,
                note: Some(format!(
                    "with {n} and {n_ref} cases no difference in rate is detectable with power {power}"
                )),
            };
        };
        let angle = base + sign * h / 2.0;
        if !(0.0..=std::f64::consts::FRAC_PI_2).contains(&angle) {
            return Detectable {
                rate: None,
                ratio: None,
                note: Some(if sign > 0.0 {
                    format!("even a rate of 100 % would not be detected with power {power} at this n")
                } else {
                    format!("even a rate of 0 % would not be detected with power {power} at this n")
                }),
            };
        }
        let rate = angle.sin().powi(2);
        let ratio = (reference_rate > 0.0).then(|| rate / reference_rate);
        Detectable {
            rate: Some(rate),
            ratio,
            note: ratio
                .is_none()
                .then(|| "the reference rate is 0, so no ratio is defined".to_string()),
        }
    };
    MinimumDetectable {
        method: "cohen_h_normal".into(),
        power,
        alpha,
        alpha_basis: None,
        increase: direction(1.0),
        decrease: direction(-1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: statsmodels 0.15 `NormalIndPower().power` with
    /// `effect_size = proportion_effectsize(p2, p1)`, `nobs1` = group n,
    /// `ratio` = reference n / group n, two-sided, solved for the smallest
    /// p2 > p1 with power 0.8 by scipy `brentq`; copied from the project's
    /// shared statistics fixtures (`power.json`):
    /// (reference rate, group n, reference n, alpha, rate, ratio).
    const MINIMUM_DETECTABLE: [(f64, u64, u64, f64, f64, f64); 4] = [
        (0.11, 196, 2650, 0.05, 0.18277976837000434, 1.6616342579091303),
        (0.11, 14, 2832, 0.05, 0.42821733259791095, 3.8928848417991904),
        (0.05, 100, 100, 0.05, 0.16896928633471175, 3.379385726694235),
        (
            0.129,
            321,
            2525,
            0.002631578947368421,
            0.2144081443419334,
            1.6620786383095612,
        ),
    ];

    #[test]
    fn matches_statsmodels() {
        for (p0, n, n_ref, alpha, rate, ratio) in MINIMUM_DETECTABLE {
            let got = minimum_detectable(p0, n, n_ref, alpha, POWER);
            let up = &got.increase;
            assert!((up.rate.unwrap() - rate).abs() < 1e-9, "{n}: {:?} vs {rate}", up.rate);
            assert!(
                (up.ratio.unwrap() - ratio).abs() < 1e-9,
                "{n}: {:?} vs {ratio}",
                up.ratio
            );
            assert_eq!(got.alpha, alpha);
        }
    }

    #[test]
    fn the_power_at_the_detectable_rate_is_the_power_asked_for() {
        let got = minimum_detectable(0.3, 50, 400, 0.01, POWER);
        let critical = Normal::standard().inverse_cdf(1.0 - 0.01 / 2.0);
        let n_eff = 1.0 / (1.0 / 50.0 + 1.0 / 400.0);
        for rate in [got.increase.rate.unwrap(), got.decrease.rate.unwrap()] {
            let h = (2.0 * rate.sqrt().asin() - 2.0 * 0.3f64.sqrt().asin()).abs();
            assert!((power_of(h, n_eff, critical) - POWER).abs() < 1e-9);
        }
        assert!(got.decrease.rate.unwrap() < 0.3 && got.increase.rate.unwrap() > 0.3);
    }

    #[test]
    fn says_when_nothing_is_detectable() {
        // a single case against a high reference rate: not even 100 % is detectable
        let got = minimum_detectable(0.6, 1, 2000, 0.05, POWER);
        assert_eq!(got.increase.rate, None);
        assert!(got.increase.note.as_deref().unwrap().contains("100 %"));
        // a zero reference rate has a detectable rate but no ratio
        let got = minimum_detectable(0.0, 200, 2000, 0.05, POWER);
        assert!(got.increase.rate.unwrap() > 0.0);
        assert_eq!(got.increase.ratio, None);
        assert!(got.increase.note.is_some());
        assert_eq!(got.decrease.rate, None);
        assert_eq!(minimum_detectable(0.1, 0, 10, 0.05, POWER).increase.rate, None);
    }
}
