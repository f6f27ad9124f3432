//! Multiple-comparison corrections of p-values.
//!
//! Holm (1979) and Bonferroni control the family-wise error rate;
//! Benjamini–Hochberg (1995) controls the false discovery rate for independent
//! or positively dependent tests, and Benjamini–Yekutieli (2001) under any
//! dependence (at the price of a factor `1 + 1/2 + … + 1/m`).

use serde::{Deserialize, Serialize};

/// How p-values of many comparisons in one run are adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Holm–Bonferroni step-down (controls the family-wise error rate).
    #[default]
    Holm,
    /// Bonferroni (controls the family-wise error rate; more conservative than Holm).
    Bonferroni,
    /// Benjamini–Hochberg (controls the false discovery rate).
    BenjaminiHochberg,
    /// Benjamini–Yekutieli (controls the false discovery rate under any dependence).
    BenjaminiYekutieli,
    /// No adjustment.
    None,
}

impl Correction {
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        match self {
            Correction::Holm => holm(p),
            Correction::Bonferroni => bonferroni(p),
            Correction::BenjaminiHochberg => benjamini_hochberg(p),
            Correction::BenjaminiYekutieli => benjamini_yekutieli(p),
            Correction::None => p.to_vec(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Correction::Holm => "Holm",
            Correction::Bonferroni => "Bonferroni",
            Correction::BenjaminiHochberg => "Benjamini–Hochberg",
            Correction::BenjaminiYekutieli => "Benjamini–Yekutieli",
            Correction::None => "none",
        }
    }
}

fn ascending_order(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]).then(i.cmp(&j)));
    order
}

/// Holm step-down adjusted p-values (as statsmodels `multipletests(method="holm")`).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut adjusted = vec![0.0; m];
    let mut running_max: f64 = 0.0;
    for (rank, &i) in ascending_order(p).iter().enumerate() {
        running_max = running_max.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running_max;
    }
    adjusted
}

/// Bonferroni adjusted p-values.
pub fn bonferroni(p: &[f64]) -> Vec<f64> {
    let m = p.len() as f64;
    p.iter().map(|&x| (x * m).min(1.0)).collect()
}

/// Benjamini–Hochberg adjusted p-values (as statsmodels `multipletests(method="fdr_bh")`).
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    step_up(p, 1.0)
}

/// Benjamini–Yekutieli adjusted p-values (as statsmodels `multipletests(method="fdr_by")`):
/// Benjamini–Hochberg with `m` multiplied by `1 + 1/2 + … + 1/m`.
pub fn benjamini_yekutieli(p: &[f64]) -> Vec<f64> {
    let harmonic: f64 = (1..=p.len()).map(|i| 1.0 / i as f64).sum();
    step_up(p, harmonic)
}

/// The step-up adjustment `min over j ≥ rank of p(j) · m · factor / j`, capped at 1.
fn step_up(p: &[f64], factor: f64) -> Vec<f64> {
    let m = p.len();
    let mut adjusted = vec![0.0; m];
    let mut running_min: f64 = 1.0;
    let order = ascending_order(p);
    for (rank, &i) in order.iter().enumerate().rev() {
        running_min = running_min.min(p[i] * m as f64 * factor / (rank + 1) as f64);
        adjusted[i] = running_min.min(1.0);
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-9, "{a:?} vs {b:?}");
        }
    }

    /// Reference values: statsmodels 0.15 `multipletests` (holm, bonferroni, fdr_bh),
    /// copied from the project's shared statistics fixtures (`corrections.json`).
    #[test]
    fn matches_statsmodels() {
        let p = [0.2, 0.5, 0.01, 0.049, 0.001, 0.3];
        close(&holm(&p), &[0.6, 0.6, 0.05, 0.196, 0.006, 0.6]);
        close(&bonferroni(&p), &[1.0, 1.0, 0.06, 0.294, 0.006, 1.0]);
        close(&benjamini_hochberg(&p), &[0.3, 0.5, 0.03, 0.098, 0.006, 0.36]);

        let p = [
            0.008820215236393225,
            0.04734621395210055,
            0.013180240657636122,
            0.08658127372718237,
            0.14633937091828927,
            0.10323534211764547,
            0.10648660309108722,
            0.0156463187216322,
            0.16920640529552902,
            0.002487161262978699,
            0.19125585811688933,
            0.10285166529389007,
        ];
        close(
            &holm(&p),
            &[
                0.09702236760032548,
                0.3787697116168044,
                0.13180240657636122,
                0.6060689160902766,
                0.6171099917633405,
                0.6171099917633405,
                0.6171099917633405,
                0.1408168684946898,
                0.6171099917633405,
                0.029845935155744387,
                0.6171099917633405,
                0.6171099917633405,
            ],
        );
        close(
            &benjamini_hochberg(&p),
            &[
                0.04693895616489661,
                0.11363091348504131,
                0.04693895616489661,
                0.14198213745478297,
                0.1756072451019471,
                0.14198213745478297,
                0.14198213745478297,
                0.04693895616489661,
                0.18458880577694076,
                0.02984593515574439,
                0.19125585811688933,
                0.14198213745478297,
            ],
        );
        close(&holm(&[0.0001, 0.0002, 0.9]), &[0.0003, 0.0004, 0.9]);
        close(&benjamini_hochberg(&[0.0001, 0.0002, 0.9]), &[0.0003, 0.0003, 0.9]);
    }

    /// Reference values: statsmodels 0.15 `multipletests(p, method="fdr_by")[1]`,
    /// computed for this test.
    #[test]
    fn benjamini_yekutieli_matches_statsmodels() {
        close(
            &benjamini_yekutieli(&[0.01, 0.04, 0.03, 0.005]),
            &[
                0.04166666666666666,
                0.08333333333333331,
                0.08333333333333331,
                0.04166666666666666,
            ],
        );
        close(
            &benjamini_yekutieli(&[0.2, 0.5, 0.01, 0.049, 0.001, 0.3]),
            &[0.735, 1.0, 0.0735, 0.24009999999999998, 0.0147, 0.8819999999999999],
        );
        close(&benjamini_yekutieli(&[0.0001, 0.0002, 0.9]), &[0.00055, 0.00055, 1.0]);
        assert_eq!(
            Correction::BenjaminiYekutieli.adjust(&[0.01, 0.04]),
            benjamini_yekutieli(&[0.01, 0.04])
        );
    }

    #[test]
    fn empty_input_is_empty() {
        assert!(holm(&[]).is_empty());
        assert!(benjamini_hochberg(&[]).is_empty());
        assert!(benjamini_yekutieli(&[]).is_empty());
    }
}
