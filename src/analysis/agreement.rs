//! Agreement between raters on nominal categories: how far native-speaker
//! reviewers agree with a corpus's proposed labels and with each other.
//!
//! - Cohen's κ (Cohen 1960) for two raters of the same items, with the
//!   asymptotic standard error of Fleiss, Cohen & Everitt (1969), the
//!   `std_kappa` of statsmodels' `cohens_kappa`; its interval is κ ± z·SE,
//!   kept within [−1, 1].
//! - Fleiss' κ (Fleiss 1971) for any fixed number of raters per item
//!   (statsmodels' `fleiss_kappa`, method `fleiss`).
//! - Krippendorff's α for nominal data (Krippendorff 2004, 2011), which allows
//!   any number of raters and missing ratings: items rated once carry no
//!   pairable value and drop out (the `krippendorff` package's `alpha`,
//!   `level_of_measurement="nominal"`).
//!
//! Fleiss' κ and Krippendorff's α have no standard analytic interval that
//! holds away from the null, so [`bootstrap_interval`] resamples the items
//! with replacement (a seeded SplitMix64 stream: the same seed gives the same
//! interval) and takes percentiles with linear interpolation, as numpy's
//! default `quantile` does.
//!
//! Every function returns `None` when its statistic is undefined: no items,
//! or every rating in one category (the chance agreement is then 1).
//! Categories are indices `0..k`; callers map their labels to them.

use serde::{Deserialize, Serialize};

use super::interval::z_critical;

/// A nominal category, as an index.
pub type Category = usize;

/// Cohen's κ of two raters over the same items.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CohenKappa {
    pub kappa: f64,
    /// Asymptotic standard error (Fleiss, Cohen & Everitt 1969).
    pub se: f64,
    /// Items rated by both.
    pub n: u64,
    /// Share of items on which the two agree.
    pub observed: f64,
    /// Agreement expected by chance from each rater's own category shares.
    pub expected: f64,
}

impl CohenKappa {
    /// κ ± z·SE at this confidence, kept within [−1, 1].
    pub fn interval(&self, confidence: f64) -> [f64; 2] {
        let half = z_critical(confidence) * self.se;
        [(self.kappa - half).max(-1.0), (self.kappa + half).min(1.0)]
    }
}

/// Cohen's κ of the pairs `(first rater, second rater)`, one per item.
pub fn cohen_kappa(pairs: &[(Category, Category)]) -> Option<CohenKappa> {
    let k = pairs.iter().map(|&(a, b)| a.max(b) + 1).max()?;
    let n = pairs.len() as f64;
    let mut table = vec![vec![0.0; k]; k];
    for &(a, b) in pairs {
        table[a][b] += 1.0 / n;
    }
    let rows: Vec<f64> = table.iter().map(|row| row.iter().sum()).collect();
    let columns: Vec<f64> = (0..k).map(|j| table.iter().map(|row| row[j]).sum()).collect();
    let observed: f64 = (0..k).map(|i| table[i][i]).sum();
    let expected: f64 = (0..k).map(|i| rows[i] * columns[i]).sum();
    if expected >= 1.0 - 1e-12 {
        return None;
    }
    let kappa = (observed - expected) / (1.0 - expected);
    let mut diagonal = 0.0;
    let mut off_diagonal = 0.0;
    for i in 0..k {
        for j in 0..k {
            if i == j {
                diagonal += table[i][i] * (1.0 - (rows[i] + columns[i]) * (1.0 - kappa)).powi(2);
            } else {
                off_diagonal += table[i][j] * (columns[i] + rows[j]).powi(2);
            }
        }
    }
    let variance = (diagonal + (1.0 - kappa).powi(2) * off_diagonal - (kappa - expected * (1.0 - kappa)).powi(2))
        / ((1.0 - expected).powi(2) * n);
    Some(CohenKappa {
        kappa,
        se: variance.max(0.0).sqrt(),
        n: pairs.len() as u64,
        observed,
        expected,
    })
}

/// Fleiss' κ of items that each carry the same number (two or more) of
/// ratings; `None` when the numbers differ, fewer than two, or there are no
/// items.
pub fn fleiss_kappa(items: &[Vec<Category>]) -> Option<f64> {
    let m = items.first()?.len();
    if m < 2 || items.iter().any(|ratings| ratings.len() != m) {
        return None;
    }
    let k = items.iter().flatten().max()? + 1;
    let mut totals = vec![0u64; k];
    let mut agreement = 0.0;
    for ratings in items {
        let mut counts = vec![0u64; k];
        for &c in ratings {
            counts[c] += 1;
            totals[c] += 1;
        }
        let squares: u64 = counts.iter().map(|n| n * n).sum();
        agreement += (squares - m as u64) as f64 / (m * (m - 1)) as f64;
    }
    let observed = agreement / items.len() as f64;
    let all = (items.len() * m) as f64;
    let expected: f64 = totals.iter().map(|&t| (t as f64 / all).powi(2)).sum();
    if expected >= 1.0 - 1e-12 {
        return None;
    }
    Some((observed - expected) / (1.0 - expected))
}

/// Krippendorff's α for nominal categories; each item lists the ratings it
/// received (missing ones left out). Items with fewer than two ratings drop
/// out.
pub fn krippendorff_alpha_nominal(items: &[Vec<Category>]) -> Option<f64> {
    let k = items.iter().flatten().max()? + 1;
    // coincidences: each ordered pair of ratings of one item, weighted 1/(m − 1)
    let mut coincidences = vec![vec![0.0; k]; k];
    for ratings in items.iter().filter(|r| r.len() >= 2) {
        let weight = 1.0 / (ratings.len() - 1) as f64;
        for (i, &a) in ratings.iter().enumerate() {
            for (j, &b) in ratings.iter().enumerate() {
                if i != j {
                    coincidences[a][b] += weight;
                }
            }
        }
    }
    let margins: Vec<f64> = coincidences.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = margins.iter().sum();
    let mut disagreement = 0.0;
    let mut chance = 0.0;
    for a in 0..k {
        for b in (0..k).filter(|&b| b != a) {
            disagreement += coincidences[a][b];
            chance += margins[a] * margins[b];
        }
    }
    if n < 2.0 || chance <= 0.0 {
        return None;
    }
    Some(1.0 - (n - 1.0) * disagreement / chance)
}

/// How a bootstrap interval is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bootstrap {
    pub seed: u64,
    pub resamples: u32,
    pub confidence: f64,
}

/// A percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInterval {
    pub lower: f64,
    pub upper: f64,
    /// Resamples in which the statistic was defined (the others are left out).
    pub resamples: u32,
}

/// Percentile interval of `statistic` over resamples of `items` items drawn
/// with replacement; `statistic` gets the indices of one resample. `None`
/// when there are no items or the statistic is undefined in every resample.
pub fn bootstrap_interval(
    items: usize,
    statistic: impl Fn(&[usize]) -> Option<f64>,
    settings: Bootstrap,
) -> Option<BootstrapInterval> {
    if items == 0 {
        return None;
    }
    let mut random = SplitMix64(settings.seed);
    let mut values = Vec::with_capacity(settings.resamples as usize);
    let mut indices = vec![0usize; items];
    for _ in 0..settings.resamples {
        for index in indices.iter_mut() {
            *index = random.below(items);
        }
        if let Some(value) = statistic(&indices).filter(|v| v.is_finite()) {
            values.push(value);
        }
    }
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - settings.confidence) / 2.0;
    Some(BootstrapInterval {
        lower: quantile(&values, tail),
        upper: quantile(&values, 1.0 - tail),
        resamples: values.len() as u32,
    })
}

/// The `q` quantile of sorted values, interpolating linearly between order
/// statistics (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, well-mixed stream,
/// enough for resampling and reproducible from its seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (Lemire's multiply-shift).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Data and reference values from tests/reference/agreement.py:
    // scikit-learn 1.9 `cohen_kappa_score`, statsmodels 0.15 `cohens_kappa`
    // (`std_kappa`) and `fleiss_kappa` (method "fleiss"), krippendorff 0.9
    // `alpha` (nominal, NaN = missing).
    const A: &str = "100000000000100101101000001111";
    const B: &str = "110000010100100101101110001011";
    const C: &str = "110100010000100111101101101101";
    const X: &str = "12100211001221000201";
    const Y: &str = "12100211021021000200";

    fn ratings(s: &str) -> Vec<Category> {
        s.bytes().map(|b| usize::from(b - b'0')).collect()
    }

    fn pairs(a: &str, b: &str) -> Vec<(Category, Category)> {
        ratings(a).into_iter().zip(ratings(b)).collect()
    }

    /// Items of several raters, a rating left out where `missing(rater, item)`.
    fn items(raters: &[&str], missing: impl Fn(usize, usize) -> bool) -> Vec<Vec<Category>> {
        let columns: Vec<Vec<Category>> = raters.iter().map(|r| ratings(r)).collect();
        (0..columns[0].len())
            .map(|i| {
                columns
                    .iter()
                    .enumerate()
                    .filter(|(r, _)| !missing(*r, i))
                    .map(|(_, c)| c[i])
                    .collect()
            })
            .collect()
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}");
    }

    #[test]
    fn cohen_kappa_and_its_standard_error_match_sklearn_and_statsmodels() {
        let ab = cohen_kappa(&pairs(A, B)).unwrap();
        close(ab.kappa, 0.5909090909090909, "κ A B");
        close(ab.se, 0.14351549613175332, "SE A B");
        assert_eq!(ab.n, 30);
        let xy = cohen_kappa(&pairs(X, Y)).unwrap();
        close(xy.kappa, 0.7701149425287357, "κ X Y, three categories");
        close(xy.se, 0.12240369943071153, "SE X Y");
        let [lower, upper] = xy.interval(0.95);
        close(
            lower,
            0.7701149425287357 - 1.959963984540054 * 0.12240369943071153,
            "lower",
        );
        assert_eq!(upper, 1.0, "kept within [−1, 1]");
    }

    #[test]
    fn fleiss_kappa_matches_statsmodels() {
        close(
            fleiss_kappa(&items(&[A, B, C], |_, _| false)).unwrap(),
            0.5049999999999994,
            "Fleiss A B C",
        );
        assert_eq!(fleiss_kappa(&items(&[A, B, C], |r, i| r == 2 && i == 0)), None);
    }

    #[test]
    fn krippendorff_alpha_matches_the_krippendorff_package() {
        let none = |_: usize, _: usize| false;
        close(
            krippendorff_alpha_nominal(&items(&[A, B, C], none)).unwrap(),
            0.5105,
            "α A B C",
        );
        close(
            krippendorff_alpha_nominal(&items(&[A, B], none)).unwrap(),
            0.5902777777777778,
            "α A B",
        );
        close(
            krippendorff_alpha_nominal(&items(&[X, Y], none)).unwrap(),
            0.7754318618042226,
            "α X Y",
        );
        let missing = |r: usize, i: usize| (r == 1 && (i == 3 || i == 17)) || (r == 2 && i.is_multiple_of(5));
        close(
            krippendorff_alpha_nominal(&items(&[A, B, C], missing)).unwrap(),
            0.4619565217391304,
            "α with missing ratings",
        );
    }

    #[test]
    fn undefined_statistics_are_none() {
        assert_eq!(cohen_kappa(&[]), None);
        assert_eq!(
            cohen_kappa(&[(1, 1), (1, 1)]),
            None,
            "one category: chance agreement is 1"
        );
        assert_eq!(fleiss_kappa(&[]), None);
        assert_eq!(fleiss_kappa(&[vec![0, 0], vec![0, 0]]), None);
        assert_eq!(
            krippendorff_alpha_nominal(&[vec![0], vec![1]]),
            None,
            "nothing pairable"
        );
        assert_eq!(krippendorff_alpha_nominal(&[vec![1, 1], vec![1, 1, 1]]), None);
        let perfect = krippendorff_alpha_nominal(&[vec![0, 0], vec![1, 1, 1], vec![0]]).unwrap();
        close(perfect, 1.0, "perfect agreement, a lone rating ignored");
    }

    #[test]
    fn the_bootstrap_is_seeded_and_brackets_the_estimate() {
        let data = items(&[A, B, C], |_, _| false);
        let alpha = |indices: &[usize]| {
            let resample: Vec<Vec<Category>> = indices.iter().map(|&i| data[i].clone()).collect();
            krippendorff_alpha_nominal(&resample)
        };
        let settings = Bootstrap {
            seed: 7,
            resamples: 500,
            confidence: 0.95,
        };
        let first = bootstrap_interval(data.len(), alpha, settings).unwrap();
        assert_eq!(bootstrap_interval(data.len(), alpha, settings), Some(first));
        assert!(first.lower < 0.5105 && 0.5105 < first.upper, "{first:?}");
        assert!(first.resamples > 450);
        let other = bootstrap_interval(data.len(), alpha, Bootstrap { seed: 8, ..settings }).unwrap();
        assert_ne!(first, other, "another seed, another draw");
        assert_eq!(bootstrap_interval(0, alpha, settings), None);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75, "numpy's linear rule");
    }
}
