//! Probabilities of the binomial and hypergeometric distributions at any
//! number of cases, and their tails, for the exact tests.
//!
//! A probability is computed in O(1) in Loader's saddle-point form (C. Loader,
//! 2000, "Fast and accurate computation of binomial probabilities", the method
//! of R's `dbinom` and `dhyper`): Stirling's series for the error of Stirling's
//! formula, and the deviance `x·ln(x/m) + m − x` as a series where the direct
//! formula would cancel. It keeps nearly full relative precision at a million
//! cases, where a difference of log-factorials (`ln n! − ln k! − ln (n−k)!`)
//! has already lost the last digits of `ln n!` (about 1e-9 of the probability).
//!
//! A tail is summed from its first term outwards with the ratio between
//! neighbouring terms, a few multiplications each. Both distributions are
//! log-concave, so these ratios only shrink going outwards and what is left
//! after a term is at most a geometric series: the sum stops once that bound
//! cannot change it. A tail costs at most a few dozen standard deviations of
//! terms, O(√n), however wide the support.

use std::f64::consts::PI;

/// Exact tests over at most this many cases keep summing every term from
/// log-binomial coefficients: cheap at that size, and their p-values stay what
/// they have always been, to the last bit.
pub const DIRECT_SUM_MAX_CASES: u64 = 1000;

/// What may be left out of a sum, relative to the sum: below its last bit.
const NEGLIGIBLE: f64 = f64::EPSILON / 8.0;

/// `ln √(2π)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Below this, the error of Stirling's formula is computed from `k!` itself
/// (exact in `f64` up to 22!); from here on, five terms of its series are
/// exact to the last bit.
const STIRLING_SERIES_FROM: u64 = 16;

/// `ln k! − ln(√(2πk)·(k/e)^k)`, the error of Stirling's formula, for `k ≥ 1`.
fn stirling_error(k: u64) -> f64 {
    let k_f = k as f64;
    if k < STIRLING_SERIES_FROM {
        let factorial: f64 = (1..=k).map(|i| i as f64).product();
        return factorial.ln() - (k_f + 0.5) * k_f.ln() + k_f - LN_SQRT_2PI;
    }
    // 1/(12k) − 1/(360k³) + 1/(1260k⁵) − 1/(1680k⁷) + 1/(1188k⁹)
    let k2 = k_f * k_f;
    (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / 1188.0 / k2) / k2) / k2) / k2) / k_f
}

/// `x·ln(x/mean) + mean − x` for `x, mean > 0`, the deviance of a count from
/// its mean.
///
/// Within a factor of 3 of the mean it is summed as the series in
/// `v = (x − mean)/(x + mean)`, `(x − mean)·v + 2x·(v³/3 + v⁵/5 + …)`, whose
/// terms shrink by at least `v² < ¼` each; the direct formula would lose the
/// leading digits there, and a lost digit is an error of the probability
/// `e^(−deviance)` itself.
fn deviance(x: f64, mean: f64) -> f64 {
    if (x - mean).abs() >= 0.5 * (x + mean) {
        return x * (x / mean).ln() + mean - x;
    }
    let v = (x - mean) / (x + mean);
    let v2 = v * v;
    let mut sum = (x - mean) * v;
    let mut power = 2.0 * x * v;
    let mut odd = 1.0;
    // ends: each term is at most a quarter of the one before, so one soon
    // no longer changes the sum
    loop {
        power *= v2;
        odd += 2.0;
        let next = sum + power / odd;
        if next == sum {
            return sum;
        }
        sum = next;
    }
}

/// `ln P(X = k)` for `X ~ Binomial(n, p)`, with `q = 1 − p` given by the caller
/// (who knows it without the rounding of `1 − p`).
pub fn ln_binomial_pmf(k: u64, n: u64, p: f64, q: f64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    if p == 0.0 || q == 0.0 {
        let certain = if p == 0.0 { 0 } else { n };
        return if k == certain { 0.0 } else { f64::NEG_INFINITY };
    }
    let n_f = n as f64;
    // n·ln q and n·ln p, each from the one of p and q that keeps its digits
    let ln_q = if p < 0.5 { (-p).ln_1p() } else { q.ln() };
    let ln_p = if q < 0.5 { (-q).ln_1p() } else { p.ln() };
    if k == 0 {
        return n_f * ln_q;
    }
    if k == n {
        return n_f * ln_p;
    }
    let k_f = k as f64;
    let rest = (n - k) as f64;
    let saddle = stirling_error(n)
        - stirling_error(k)
        - stirling_error(n - k)
        - deviance(k_f, n_f * p)
        - deviance(rest, n_f * q);
    let spread = (2.0 * PI).ln() + k_f.ln() + (-k_f / n_f).ln_1p();
    saddle - 0.5 * spread
}

/// The number of successes among `draws` taken without replacement from
/// `population` items of which `successes` are successes: for a 2 × 2 table
/// with fixed margins, the count in its top-left cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hypergeometric {
    population: u64,
    successes: u64,
    draws: u64,
}

impl Hypergeometric {
    /// `None` unless `successes` and `draws` are each at most `population`.
    pub fn new(population: u64, successes: u64, draws: u64) -> Option<Hypergeometric> {
        (successes <= population && draws <= population).then_some(Hypergeometric {
            population,
            successes,
            draws,
        })
    }

    /// The smallest and largest possible counts.
    pub fn support(&self) -> (u64, u64) {
        let failures = self.population - self.successes;
        (self.draws.saturating_sub(failures), self.draws.min(self.successes))
    }

    /// A most likely count: the probabilities rise up to it and fall after it.
    pub fn mode(&self) -> u64 {
        let numerator = (u128::from(self.draws) + 1) * (u128::from(self.successes) + 1);
        let mode = numerator / (u128::from(self.population) + 2);
        let (low, high) = self.support();
        u64::try_from(mode).map_or(high, |m| m.clamp(low, high))
    }

    /// `ln P(X = x)`, from three binomial probabilities at `p = draws/population`
    /// (as R's `dhyper`): `P(x | successes) · P(draws − x | failures) / P(draws | population)`.
    pub fn ln_pmf(&self, x: u64) -> f64 {
        let (low, high) = self.support();
        if x < low || x > high {
            return f64::NEG_INFINITY;
        }
        let population = self.population as f64;
        let p = self.draws as f64 / population;
        let q = (self.population - self.draws) as f64 / population;
        ln_binomial_pmf(x, self.successes, p, q)
            + ln_binomial_pmf(self.draws - x, self.population - self.successes, p, q)
            - ln_binomial_pmf(self.draws, self.population, p, q)
    }

    /// `P(X = x + 1) / P(X = x)` for `low ≤ x < high`.
    fn ratio_up(&self, x: u64) -> f64 {
        let failures_left = (self.population - self.successes + x + 1 - self.draws) as f64;
        ((self.successes - x) as f64 * (self.draws - x) as f64) / ((x + 1) as f64 * failures_left)
    }

    /// `P(X ≤ x)`, summed from `x` downwards.
    pub fn lower_tail(&self, x: u64) -> f64 {
        let (low, high) = self.support();
        let x = x.min(high);
        if x < low {
            return 0.0;
        }
        sum_outwards(self.ln_pmf(x).exp(), x - low + 1, |i| 1.0 / self.ratio_up(x - i))
    }

    /// `P(X ≥ x)`, summed from `x` upwards.
    pub fn upper_tail(&self, x: u64) -> f64 {
        let (low, high) = self.support();
        let x = x.max(low);
        if x > high {
            return 0.0;
        }
        sum_outwards(self.ln_pmf(x).exp(), high - x + 1, |i| self.ratio_up(x + i - 1))
    }
}

/// `P(X ≤ k)` for `X ~ Binomial(n, ½)`, summed from `k` downwards.
pub fn binomial_half_lower_tail(k: u64, n: u64) -> f64 {
    let k = k.min(n);
    let first = ln_binomial_pmf(k, n, 0.5, 0.5).exp();
    // P(X = j − 1) / P(X = j) = j / (n − j + 1)
    sum_outwards(first, k + 1, |i| (k - i + 1) as f64 / (n - k + i) as f64)
}

/// `first` plus the terms after it, `len` terms in all, each term `ratio(i)`
/// times the one before it (`i = 1, 2, …`), for ratios that never grow.
///
/// Stops before term `i` once the rest — at most `term·qᵢ/(1 − qᵢ)`, a
/// geometric series, since no later ratio exceeds `qᵢ` — is negligible.
fn sum_outwards(first: f64, len: u64, ratio: impl Fn(u64) -> f64) -> f64 {
    let mut sum = first;
    let mut term = first;
    for i in 1..len {
        let q = ratio(i);
        if q < 1.0 && term * q <= (1.0 - q) * sum * NEGLIGIBLE {
            break;
        }
        term *= q;
        sum += term;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::function::factorial::ln_binomial;

    /// Relative difference, 0 when both are 0.
    fn relative(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / a.abs().max(b.abs())
        }
    }

    /// Reference values: mpmath 1.3 at 50 digits,
    /// `loggamma(k + 1) - (k + 0.5)·log(k) + k - log(sqrt(2π))`.
    #[test]
    fn stirling_error_matches_high_precision_values() {
        for (k, expected) in [
            (1, 0.08106146679532726),
            (2, 0.0413406959554093),
            (15, 0.005554733551962801),
            (16, 0.0052076559196096404),
            (17, 0.004901395948434738),
            (30, 0.0027776749297526936),
            (100, 0.0008333305556349147),
            (1000, 8.333333055555635e-05),
            (1_000_000, 8.333333333333056e-08),
        ] {
            // what a probability feels is the absolute error (it is a term of its
            // logarithm); the series is also exact relative to itself
            let got = stirling_error(k);
            assert!((got - expected).abs() < 2e-15, "{k}: {got}");
            assert!(
                k < STIRLING_SERIES_FROM || relative(got, expected) < 1e-13,
                "{k}: {got}"
            );
        }
    }

    #[test]
    fn the_deviance_series_and_formula_agree_at_their_border() {
        for (x, mean) in [(30.0, 10.0), (10.0, 30.0), (29.999, 10.0), (3.0e6, 1.0e6), (5.0, 5.0)] {
            let direct: f64 = x * f64::ln(x / mean) + mean - x;
            assert!(relative(deviance(x, mean), direct) < 1e-13, "{x} {mean}");
        }
        assert_eq!(deviance(7.0, 7.0), 0.0);
    }

    /// The binomial probabilities sum to 1 and agree with log-binomials where
    /// those are exact enough (small n).
    #[test]
    fn binomial_probabilities_agree_with_log_binomials() {
        for n in [1u64, 2, 7, 40, 300] {
            for (p, q) in [(0.5, 0.5), (0.1, 0.9), (0.97, 0.030000000000000027)] {
                let mut total = 0.0;
                for k in 0..=n {
                    let fast = ln_binomial_pmf(k, n, p, q);
                    let direct = ln_binomial(n, k) + k as f64 * f64::ln(p) + (n - k) as f64 * f64::ln(q);
                    assert!((fast - direct).abs() < 1e-12 * direct.abs().max(1.0), "{k}/{n} at {p}");
                    total += fast.exp();
                }
                assert!((total - 1.0).abs() < 1e-13, "{n} at {p}: {total}");
            }
        }
        assert_eq!(ln_binomial_pmf(3, 2, 0.5, 0.5), f64::NEG_INFINITY);
        assert_eq!(ln_binomial_pmf(0, 5, 0.0, 1.0), 0.0);
        assert_eq!(ln_binomial_pmf(5, 5, 1.0, 0.0), 0.0);
    }

    #[test]
    fn hypergeometric_tails_add_up() {
        let dist = Hypergeometric::new(60_000, 9_000, 25_000).unwrap();
        let (low, high) = dist.support();
        assert_eq!((low, high), (0, 9_000));
        let mode = dist.mode();
        assert!(dist.ln_pmf(mode) >= dist.ln_pmf(mode - 1) && dist.ln_pmf(mode) >= dist.ln_pmf(mode + 1));
        for x in [mode - 300, mode - 20, mode, mode + 7, mode + 250] {
            let both = dist.lower_tail(x) + dist.upper_tail(x + 1);
            assert!((both - 1.0).abs() < 1e-13, "{x}: {both}");
        }
        assert_eq!(dist.lower_tail(high), dist.upper_tail(low));
        assert_eq!(Hypergeometric::new(10, 11, 3), None);
        // a support that does not start at 0
        let narrow = Hypergeometric::new(10, 8, 5).unwrap();
        assert_eq!(narrow.support(), (3, 5));
        assert!((narrow.lower_tail(5) - 1.0).abs() < 1e-14);
        assert_eq!(narrow.lower_tail(2), 0.0);
    }

    /// Reference values: mpmath 1.3 at 50 digits, `Σ exp(log C(n, j) − n·log 2)`
    /// over j ≤ k.
    #[test]
    fn binomial_half_tails_match_high_precision_sums() {
        for (k, n, expected) in [
            (0u64, 1u64, 0.5),
            (3, 10, 0.171875),
            (5, 10, 0.623046875),
            (40, 100, 0.028443966820490395),
            (480, 1000, 0.10872414660207047),
            (4900, 10_000, 0.023292763852473693),
            (49_000, 100_000, 1.294358019173449e-10),
        ] {
            let tail = binomial_half_lower_tail(k, n);
            assert!(relative(tail, expected) < 1e-13, "{k}/{n}: {tail} vs {expected}");
        }
    }
}
