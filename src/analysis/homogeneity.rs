//! Omnibus test of one dimension: do the groups' rates differ at all?
//!
//! Pearson's χ² test of homogeneity on the k×2 table of adverse / not adverse
//! counts per group, as `scipy.stats.chi2_contingency` computes it by default
//! (Yates' continuity correction only when there is one degree of freedom).
//! One test per dimension answers "do the languages differ?" without a family
//! of pairwise comparisons; its approximation is poor when expected counts are
//! small, which the result records (Cochran's rule: every expected count ≥ 5).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Expected counts below this make the χ² approximation doubtful.
pub const SMALL_EXPECTED: f64 = 5.0;

/// The χ² test of homogeneity across the groups of a dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Homogeneity {
    /// `chi_square_homogeneity`.
    pub test: String,
    /// Groups in the table (those with at least the minimum n).
    pub groups: usize,
    pub df: usize,
    /// `None` when every case, or none, met adverse action (no test is possible).
    pub statistic: Option<f64>,
    pub p_value: Option<f64>,
    /// Whether Yates' correction was applied (one degree of freedom).
    pub continuity_correction: bool,
    /// Smallest expected count of the table.
    pub min_expected: f64,
    /// Cells with an expected count below 5.
    pub cells_expected_below_5: usize,
    /// Some expected count is below 5: the p-value is approximate at best.
    pub small_expected: bool,
    /// What limits the result, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// χ² test of homogeneity of `(adverse, n)` rates; `None` with fewer than two groups.
pub fn chi_square_homogeneity(groups: &[(u64, u64)]) -> Option<Homogeneity> {
    if groups.len() < 2 || groups.iter().any(|&(_, n)| n == 0) {
        return None;
    }
    let total: f64 = groups.iter().map(|&(_, n)| n as f64).sum();
    let adverse: f64 = groups.iter().map(|&(a, _)| a as f64).sum();
    let df = groups.len() - 1;
    let column_totals = [adverse, total - adverse];
    let mut expected_cells = Vec::with_capacity(groups.len() * 2);
    for &(a, n) in groups {
        let observed = [a as f64, (n - a) as f64];
        for (o, column) in observed.into_iter().zip(column_totals) {
            expected_cells.push((o, n as f64 * column / total));
        }
    }
    let min_expected = expected_cells.iter().map(|&(_, e)| e).fold(f64::INFINITY, f64::min);
    let cells_expected_below_5 = expected_cells.iter().filter(|&&(_, e)| e < SMALL_EXPECTED).count();
    let continuity_correction = df == 1;
    let degenerate = column_totals.contains(&0.0);
    let statistic = (!degenerate).then(|| {
        expected_cells
            .iter()
            .map(|&(o, e)| {
                let deviation = if continuity_correction {
                    (e - o).signum() * (e - o).abs().min(0.5) + o - e
                } else {
                    o - e
                };
                deviation * deviation / e
            })
            .sum::<f64>()
    });
    let p_value = statistic.and_then(|x| Some(ChiSquared::new(df as f64).ok()?.sf(x)));
    let small_expected = cells_expected_below_5 > 0;
    let note = if degenerate {
        Some(if adverse == 0.0 {
            "no case met adverse action in any group, so the rates cannot differ".to_string()
        } else {
            "every case met adverse action in every group, so the rates cannot differ".to_string()
        })
    } else if small_expected {
        Some(format!(
            "{cells_expected_below_5} of {} expected counts are below 5 (smallest {min_expected:.2}): the χ² approximation is unreliable",
            expected_cells.len()
        ))
    } else {
        None
    };
    Some(Homogeneity {
        test: "chi_square_homogeneity".into(),
        groups: groups.len(),
        df,
        statistic,
        p_value,
        continuity_correction,
        min_expected,
        cells_expected_below_5,
        small_expected,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: scipy 1.17 `scipy.stats.chi2_contingency(table)` (default
    /// `correction=True`, applied only when dof = 1): statistic, p-value, dof,
    /// smallest expected frequency; computed for this test.
    #[test]
    fn matches_scipy() {
        // (groups as (adverse, n), statistic, p, dof, smallest expected count)
        type Case<'a> = (&'a [(u64, u64)], f64, f64, usize, f64);
        let cases: [Case<'_>; 4] = [
            (&[(30, 100), (15, 100), (15, 100)], 9.375, 0.009209681603968142, 2, 20.0),
            (
                &[(10, 100), (12, 100), (20, 100), (5, 50)],
                5.406923671090513,
                0.14431281894845205,
                3,
                6.714285714285714,
            ),
            (&[(3, 13), (1, 13)], 0.2954545454545454, 0.5867461457276832, 1, 2.0),
            (
                &[(2, 10), (0, 9), (1, 8)],
                1.940625,
                0.37896459316197767,
                2,
                0.8888888888888888,
            ),
        ];
        for (groups, statistic, p, df, min_expected) in cases {
            let got = chi_square_homogeneity(groups).unwrap();
            assert!((got.statistic.unwrap() - statistic).abs() < 1e-9, "{groups:?}");
            assert!((got.p_value.unwrap() - p).abs() < 1e-9, "{groups:?}");
            assert!((got.min_expected - min_expected).abs() < 1e-9, "{groups:?}");
            assert_eq!((got.df, got.groups), (df, groups.len()));
            assert_eq!(got.continuity_correction, df == 1);
        }
    }

    #[test]
    fn flags_small_expected_counts_and_degenerate_tables() {
        let got = chi_square_homogeneity(&[(2, 10), (0, 9), (1, 8)]).unwrap();
        assert!(got.small_expected);
        assert_eq!(got.cells_expected_below_5, 3);
        assert!(got.note.unwrap().contains("below 5"));
        let none = chi_square_homogeneity(&[(0, 10), (0, 20)]).unwrap();
        assert_eq!((none.statistic, none.p_value), (None, None));
        assert!(none.note.unwrap().contains("no case"));
        assert_eq!(chi_square_homogeneity(&[(1, 10)]), None);
    }
}
