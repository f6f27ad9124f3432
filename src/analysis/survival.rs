//! Time to an event when some subjects are still waiting at the end of
//! follow-up: the Kaplan–Meier estimator and the log-rank test.
//!
//! An appeal still undecided at the audit's deadline has not "no time": its
//! time is known to exceed the moment it was last seen undecided. Dropping
//! such appeals makes a slow queue look fast (its fastest appeals are the only
//! ones left) and drops a group whose appeals were all undecided from every
//! comparison. Kaplan & Meier (1958) keep them as *censored* observations: each
//! counts in the risk set until it was last seen, and the estimated share still
//! undecided, S(t), falls only at decisions. The log-rank test (Mantel 1966;
//! Peto & Peto 1972) compares two groups' curves, censored appeals included.
//!
//! Conventions follow lifelines (`KaplanMeierFitter`, `logrank_test`): at a
//! time with both decisions and censorings, the censored appeals are still at
//! risk; the time by which a share `p` was decided is the first time with
//! S(t) ≤ 1 − p, and is not reached (`None`) when S stays above that.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Slack when comparing S(t) with a threshold: a product of ratios equal to
/// 1/2 in exact arithmetic may land just above it in floating point.
const SURVIVAL_TOLERANCE: f64 = 1e-12;

/// How long one subject was followed, and whether the event happened then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowUp {
    /// Seconds from the start (filing) to the event, or to the last time the
    /// subject was seen without it.
    pub seconds: f64,
    /// The event (a decision) happened at `seconds`; otherwise censored there.
    pub event: bool,
}

impl FollowUp {
    pub fn event(seconds: f64) -> FollowUp {
        FollowUp { seconds, event: true }
    }

    pub fn censored(seconds: f64) -> FollowUp {
        FollowUp { seconds, event: false }
    }
}

/// One distinct time of the Kaplan–Meier estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub seconds: f64,
    /// Subjects followed at least this long.
    pub at_risk: u64,
    pub events: u64,
    pub censored: u64,
    /// Estimated share without the event just after this time.
    pub survival: f64,
}

/// The Kaplan–Meier estimate of one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanMeier {
    pub n: u64,
    pub events: u64,
    pub censored: u64,
    /// One step per distinct time, in time order.
    pub steps: Vec<Step>,
}

impl KaplanMeier {
    /// Fits the estimator; follow-ups with a time that is not a finite number are left out.
    pub fn fit(follow_ups: &[FollowUp]) -> KaplanMeier {
        let mut sorted: Vec<FollowUp> = follow_ups.iter().copied().filter(|f| f.seconds.is_finite()).collect();
        sorted.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let n = sorted.len() as u64;
        let mut at_risk = n;
        let mut survival = 1.0;
        let mut steps = Vec::new();
        for group in sorted.chunk_by(|a, b| a.seconds == b.seconds) {
            let events = group.iter().filter(|f| f.event).count() as u64;
            let censored = group.len() as u64 - events;
            survival *= 1.0 - events as f64 / at_risk as f64;
            steps.push(Step {
                seconds: group[0].seconds,
                at_risk,
                events,
                censored,
                survival,
            });
            at_risk -= group.len() as u64;
        }
        let events = steps.iter().map(|s| s.events).sum();
        KaplanMeier {
            n,
            events,
            censored: n - events,
            steps,
        }
    }

    /// The time by which a share `p` (0–1) had the event: the first time with
    /// S(t) ≤ 1 − p; `None` when the estimate never falls that far.
    pub fn time_to_share(&self, p: f64) -> Option<f64> {
        let threshold = 1.0 - p;
        self.steps
            .iter()
            .find(|s| s.events > 0 && s.survival <= threshold + SURVIVAL_TOLERANCE)
            .map(|s| s.seconds)
    }

    /// The median time to the event (half had it); `None` when not reached.
    pub fn median(&self) -> Option<f64> {
        self.time_to_share(0.5)
    }

    /// The longest follow-up (event or censoring); `None` for an empty sample.
    pub fn last_seconds(&self) -> Option<f64> {
        self.steps.last().map(|s| s.seconds)
    }

    /// The curve as `[seconds, S(t)]` points: `[0, 1]`, then one per distinct
    /// time (lifelines' `survival_function_`).
    pub fn curve(&self) -> Vec<[f64; 2]> {
        let mut points = vec![[0.0, 1.0]];
        points.extend(
            self.steps
                .iter()
                .filter(|s| s.seconds > 0.0 || s.events > 0)
                .map(|s| [s.seconds, s.survival]),
        );
        points
    }
}

/// Whether a group's events came sooner or later than under equal hazards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Fewer events than expected: the group waits longer.
    Later,
    /// More events than expected.
    Sooner,
    /// As many as expected.
    AsExpected,
}

/// The log-rank test of one sample against another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRank {
    /// χ² statistic with one degree of freedom.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Events observed in the first and the second sample.
    pub observed: [u64; 2],
    /// Events expected in each if both had the same hazard.
    pub expected: [f64; 2],
}

impl LogRank {
    /// Whether the first sample's events came later or sooner than expected.
    pub fn timing(&self) -> Timing {
        let difference = self.observed[0] as f64 - self.expected[0];
        if difference.abs() < 1e-9 {
            Timing::AsExpected
        } else if difference < 0.0 {
            Timing::Later
        } else {
            Timing::Sooner
        }
    }

    /// The ratio of event rates (hazards) of the first sample to the second,
    /// estimated as (O₁/E₁)/(O₂/E₂) (Peto); `None` when an expectation is 0 or
    /// the second sample had no event.
    pub fn hazard_ratio(&self) -> Option<f64> {
        let [o1, o2] = self.observed.map(|o| o as f64);
        let [e1, e2] = self.expected;
        (e1 > 0.0 && e2 > 0.0 && o2 > 0.0).then(|| (o1 / e1) / (o2 / e2))
    }
}

/// The log-rank test of `a` against `b`, with the hypergeometric variance at
/// tied times (as lifelines `logrank_test`); `None` when either sample is empty
/// or no event happened at a time when both were at risk.
pub fn log_rank(a: &[FollowUp], b: &[FollowUp]) -> Option<LogRank> {
    let mut all: Vec<(f64, bool, usize)> = a
        .iter()
        .map(|f| (f, 0))
        .chain(b.iter().map(|f| (f, 1)))
        .filter(|(f, _)| f.seconds.is_finite())
        .map(|(f, sample)| (f.seconds, f.event, sample))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut at_risk = [0u64; 2];
    for (_, _, sample) in &all {
        at_risk[*sample] += 1;
    }
    if at_risk.contains(&0) {
        return None;
    }
    let mut observed = [0u64; 2];
    let mut expected = [0.0f64; 2];
    let mut variance = 0.0;
    for group in all.chunk_by(|x, y| x.0 == y.0) {
        let mut events = [0u64; 2];
        let mut leaving = [0u64; 2];
        for &(_, event, sample) in group {
            events[sample] += u64::from(event);
            leaving[sample] += 1;
        }
        let d = (events[0] + events[1]) as f64;
        let n = (at_risk[0] + at_risk[1]) as f64;
        if d > 0.0 {
            let (n1, n2) = (at_risk[0] as f64, at_risk[1] as f64);
            expected[0] += d * n1 / n;
            expected[1] += d * n2 / n;
            if n > 1.0 {
                variance += d * (n1 / n) * (n2 / n) * (n - d) / (n - 1.0);
            }
        }
        observed[0] += events[0];
        observed[1] += events[1];
        at_risk[0] -= leaving[0];
        at_risk[1] -= leaving[1];
    }
    if variance <= 0.0 {
        return None;
    }
    let statistic = (observed[0] as f64 - expected[0]).powi(2) / variance;
    let chi2 = ChiSquared::new(1.0).expect("one degree of freedom is a valid χ² distribution");
    Some(LogRank {
        statistic,
        p_value: chi2.sf(statistic),
        observed,
        expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: lifelines `KaplanMeierFitter` (`survival_function_`,
    /// `median_survival_time_`, `percentile(0.10)`) and `logrank_test`, for two
    /// groups of appeal times with a 2 s deadline; group B's appeals undecided at
    /// the deadline are censored at 2.0.
    const GROUP_A: [f64; 22] = [
        0.554, 0.057, 0.653, 1.373, 0.974, 0.195, 0.576, 0.254, 0.088, 1.1, 0.215, 0.187, 0.293, 0.207, 0.519, 0.467,
        0.683, 0.233, 1.198, 0.197, 0.413, 0.651,
    ];
    const GROUP_B: [(f64, bool); 12] = [
        (2.0, false),
        (2.0, false),
        (0.319, true),
        (2.0, false),
        (2.0, false),
        (2.0, false),
        (2.0, false),
        (0.627, true),
        (2.0, false),
        (2.0, false),
        (2.0, false),
        (2.0, false),
    ];
    /// lifelines `survival_function_` of group A at each time (every appeal decided).
    const CURVE_A: [(f64, f64); 23] = [
        (0.0, 1.0),
        (0.057, 0.9545454545454544),
        (0.088, 0.9090909090909087),
        (0.187, 0.8636363636363633),
        (0.195, 0.8181818181818179),
        (0.197, 0.7727272727272726),
        (0.207, 0.7272727272727271),
        (0.215, 0.6818181818181817),
        (0.233, 0.6363636363636361),
        (0.254, 0.5909090909090908),
        (0.293, 0.5454545454545454),
        (0.413, 0.49999999999999994),
        (0.467, 0.45454545454545453),
        (0.519, 0.40909090909090906),
        (0.554, 0.3636363636363635),
        (0.576, 0.31818181818181807),
        (0.651, 0.27272727272727265),
        (0.653, 0.2272727272727272),
        (0.683, 0.18181818181818177),
        (0.974, 0.13636363636363635),
        (1.1, 0.0909090909090909),
        (1.198, 0.04545454545454544),
        (1.373, 0.0),
    ];

    fn group_a() -> Vec<FollowUp> {
        GROUP_A.iter().map(|&t| FollowUp::event(t)).collect()
    }

    fn group_b() -> Vec<FollowUp> {
        GROUP_B
            .iter()
            .map(|&(seconds, event)| FollowUp { seconds, event })
            .collect()
    }

    #[test]
    fn kaplan_meier_matches_lifelines() {
        let a = KaplanMeier::fit(&group_a());
        assert_eq!((a.n, a.events, a.censored), (22, 22, 0));
        let curve = a.curve();
        assert_eq!(curve.len(), CURVE_A.len());
        for (point, (t, s)) in curve.iter().zip(CURVE_A) {
            assert_eq!(point[0], t);
            assert!((point[1] - s).abs() < 1e-12, "{point:?} against ({t}, {s})");
        }
        assert_eq!(a.median(), Some(0.413));
        assert_eq!(a.time_to_share(0.9), Some(1.1));

        let b = KaplanMeier::fit(&group_b());
        assert_eq!((b.n, b.events, b.censored), (12, 2, 10));
        let expected = [
            [0.0, 1.0],
            [0.319, 0.9166666666666667],
            [0.627, 0.8333333333333335],
            [2.0, 0.8333333333333335],
        ];
        for (point, reference) in b.curve().iter().zip(expected) {
            assert_eq!(point[0], reference[0]);
            assert!((point[1] - reference[1]).abs() < 1e-12);
        }
        assert_eq!(b.curve().len(), 4);
        assert_eq!(b.median(), None, "lifelines: inf");
        assert_eq!(b.time_to_share(0.9), None, "lifelines: inf");
        assert_eq!(b.last_seconds(), Some(2.0));
    }

    #[test]
    fn log_rank_matches_lifelines() {
        let test = log_rank(&group_a(), &group_b()).unwrap();
        assert!((test.statistic - 22.08645931312473).abs() < 1e-9, "{test:?}");
        assert!((test.p_value - 2.606417979505163e-06).abs() < 1e-12, "{test:?}");
        assert_eq!(test.observed, [22, 2]);
        assert_eq!(test.timing(), Timing::Sooner);
        let reverse = log_rank(&group_b(), &group_a()).unwrap();
        assert!((reverse.statistic - test.statistic).abs() < 1e-9);
        assert_eq!(reverse.timing(), Timing::Later);
        assert!(reverse.hazard_ratio().unwrap() < 0.2);
    }

    #[test]
    fn censoring_keeps_the_slow_percentiles_honest() {
        // 22 decided quickly and 12 undecided at the deadline: the quantiles of
        // the decided alone would put the 90th percentile near 1.1 s.
        let mut all = group_a();
        all.extend((0..12).map(|_| FollowUp::censored(2.0)));
        let km = KaplanMeier::fit(&all);
        assert_eq!((km.n, km.events, km.censored), (34, 22, 12));
        assert_eq!(km.time_to_share(0.9), None);
        assert!(km.median().is_some_and(|m| m < 1.0));
    }

    #[test]
    fn empty_and_degenerate_samples() {
        let empty = KaplanMeier::fit(&[]);
        assert_eq!((empty.n, empty.median(), empty.last_seconds()), (0, None, None));
        assert_eq!(empty.curve(), vec![[0.0, 1.0]]);
        assert!(log_rank(&[], &group_a()).is_none());
        let all_censored = [FollowUp::censored(2.0), FollowUp::censored(2.0)];
        assert!(
            log_rank(&all_censored, &all_censored).is_none(),
            "no event: nothing to compare"
        );
        let nan = KaplanMeier::fit(&[FollowUp::event(f64::NAN), FollowUp::event(1.0)]);
        assert_eq!(nan.n, 1);
    }

    #[test]
    fn events_and_censorings_at_the_same_time_keep_the_censored_at_risk() {
        let km = KaplanMeier::fit(&[FollowUp::event(1.0), FollowUp::censored(1.0), FollowUp::event(2.0)]);
        assert!((km.steps[0].survival - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(km.steps[1].at_risk, 1);
        assert_eq!(km.steps[1].survival, 0.0);
    }

    proptest::proptest! {
        #[test]
        fn the_curve_falls_from_one_and_censoring_only_delays(
            times in proptest::collection::vec((0u32..50, proptest::bool::ANY), 1..60),
        ) {
            let follow_ups: Vec<FollowUp> = times
                .iter()
                .map(|&(t, event)| FollowUp { seconds: f64::from(t), event })
                .collect();
            let km = KaplanMeier::fit(&follow_ups);
            let curve = km.curve();
            proptest::prop_assert!(curve.windows(2).all(|w| w[1][1] <= w[0][1] + 1e-12 && w[1][0] >= w[0][0]));
            proptest::prop_assert!(curve.iter().all(|p| (0.0..=1.0).contains(&p[1])));
            if let (Some(median), Some(p90)) = (km.median(), km.time_to_share(0.9)) {
                proptest::prop_assert!(median <= p90);
            }
            // treating every censored time as a decision can only make the quantiles earlier
            let all_decided: Vec<FollowUp> = follow_ups.iter().map(|f| FollowUp::event(f.seconds)).collect();
            let uncensored = KaplanMeier::fit(&all_decided);
            if let Some(median) = km.median() {
                proptest::prop_assert!(uncensored.median().is_some_and(|m| m <= median));
            }
        }
    }
}
