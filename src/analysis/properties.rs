//! Property tests: invariants the statistics must hold for any input.

use proptest::prelude::*;

use super::correction::{benjamini_hochberg, benjamini_yekutieli, bonferroni, holm};
use super::fisher::fisher_exact_two_sided;
use super::interval::{newcombe_difference, wilson, z_critical};
use super::ratio::{katz_rate_ratio, mover_wilson_rate_ratio};

fn sample() -> impl Strategy<Value = (u64, u64)> {
    (1u64..5000).prop_flat_map(|n| (0..=n, Just(n)))
}

proptest! {
    #[test]
    fn a_wilson_interval_lies_in_0_1_and_contains_its_rate((x, n) in sample(), confidence in 0.8f64..0.999) {
        let (lo, hi) = wilson(x, n, confidence).unwrap();
        let rate = x as f64 / n as f64;
        prop_assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
        prop_assert!(lo <= rate + 1e-12 && rate <= hi + 1e-12);
    }

    #[test]
    fn a_wider_confidence_gives_a_wider_interval((x, n) in sample()) {
        let (lo90, hi90) = wilson(x, n, 0.90).unwrap();
        let (lo99, hi99) = wilson(x, n, 0.99).unwrap();
        prop_assert!(lo99 <= lo90 + 1e-12 && hi90 <= hi99 + 1e-12);
    }

    #[test]
    fn fisher_p_is_a_probability_and_symmetric(a in 0u64..60, b in 0u64..60, c in 0u64..60, d in 0u64..60) {
        let p = fisher_exact_two_sided([[a, b], [c, d]]);
        prop_assert!(p > 0.0 && p <= 1.0);
        prop_assert!((p - fisher_exact_two_sided([[c, d], [a, b]])).abs() < 1e-9);
        prop_assert!((p - fisher_exact_two_sided([[a, c], [b, d]])).abs() < 1e-9);
    }

    #[test]
    fn a_katz_interval_contains_its_ratio((a, n1) in sample(), (c, n2) in sample()) {
        let rr = katz_rate_ratio(a, n1, c, n2, z_critical(0.95));
        let (lo, hi) = rr.interval.expect("both samples are non-empty");
        prop_assert!(lo > 0.0 && lo < hi);
        if let (Some(ratio), false) = (rr.ratio, rr.half_cell_corrected) {
            prop_assert!(lo <= ratio * (1.0 + 1e-12) && ratio <= hi * (1.0 + 1e-12));
        }
    }

    #[test]
    fn a_mover_wilson_interval_contains_its_ratio((a, n1) in sample(), (c, n2) in sample(), confidence in 0.8f64..0.9999) {
        let Some(interval) = mover_wilson_rate_ratio(a, n1, c, n2, z_critical(confidence)) else {
            prop_assert!(a == 0 && c == 0);
            return Ok(());
        };
        let ratio = (a as f64 / n1 as f64) / (c as f64 / n2 as f64);
        prop_assert!(interval.lower >= 0.0);
        prop_assert!(interval.lower <= ratio * (1.0 + 1e-9) + 1e-12);
        match interval.upper {
            Some(upper) => prop_assert!(ratio <= upper * (1.0 + 1e-9) && upper.is_finite()),
            None => prop_assert_eq!(c, 0),
        }
    }

    #[test]
    fn a_newcombe_interval_contains_its_difference((a, n1) in sample(), (c, n2) in sample(), confidence in 0.8f64..0.9999) {
        let (lo, hi) = newcombe_difference(a, n1, c, n2, z_critical(confidence)).expect("both samples are non-empty");
        let difference = a as f64 / n1 as f64 - c as f64 / n2 as f64;
        prop_assert!((-1.0..=1.0).contains(&lo) && (-1.0..=1.0).contains(&hi));
        prop_assert!(lo <= difference + 1e-12 && difference <= hi + 1e-12);
    }

    #[test]
    fn adjusted_p_values_are_bounded_ordered_and_no_smaller(p in prop::collection::vec(0.0f64..=1.0, 0..40)) {
        for adjusted in [holm(&p), bonferroni(&p), benjamini_hochberg(&p), benjamini_yekutieli(&p)] {
            prop_assert_eq!(adjusted.len(), p.len());
            for (raw, adj) in p.iter().zip(&adjusted) {
                prop_assert!(*adj >= *raw - 1e-15 && *adj <= 1.0);
            }
            // adjustment preserves the order of the raw p-values
            for i in 0..p.len() {
                for j in 0..p.len() {
                    if p[i] < p[j] {
                        prop_assert!(adjusted[i] <= adjusted[j] + 1e-15);
                    }
                }
            }
        }
        // Holm is never more conservative than Bonferroni, BH never more than Holm
        // nor than BY
        let (h, b, bh, by) = (holm(&p), bonferroni(&p), benjamini_hochberg(&p), benjamini_yekutieli(&p));
        for i in 0..p.len() {
            prop_assert!(h[i] <= b[i] + 1e-15 && bh[i] <= h[i] + 1e-15 && bh[i] <= by[i] + 1e-15);
        }
    }
}
