//! Appeal metrics: availability of a route to appeal, what became of the
//! appeals filed, the reversal rate among wrongful removals, the time to a
//! decision, and whether reversal and time differ across languages and groups.
//!
//! An appeal still pending at the deadline is evidence, not a gap. Time to
//! decision is a Kaplan–Meier estimate with such appeals censored (a median or
//! 90th percentile the curve does not reach is `None`: beyond the follow-up),
//! and groups are compared by the log-rank test, so a group whose appeals were
//! all pending stays in the comparison. Reversal is reported two ways: among
//! decided appeals (conditional on a decision by the deadline) and by the
//! deadline among all appeals followed to it (pending = not reversed by then).
//! Comparisons with at least the minimum n on both sides are tested and
//! corrected within the family of one measure and one dimension.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::sampling::{Sampling, selected, wrongful_removals};
use crate::journal::appeal::{AppealIndex, AppealResult, AppealState};

use crate::analysis::fisher::fisher_exact_two_sided;
use crate::analysis::interval::z_critical;
use crate::analysis::ratio::{RatioInterval, mover_wilson_rate_ratio};
use crate::analysis::survival::{FollowUp, KaplanMeier, Timing, log_rank};
use crate::analysis::{ALL_OTHERS, AnalysisSettings, Dimension, rate_with_interval};
use crate::corpus::{Case, Label};
use crate::decision::{Decision, DecisionIndex};
use crate::scenario::Plan;

/// Time from filing to decision, estimated by Kaplan–Meier: an appeal still
/// undecided at the deadline (or lost after filing) is censored when last seen
/// undecided, not dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimeToDecision {
    /// Appeals in the estimate: filed and followed to a decision, to the
    /// deadline, or until their status could no longer be read. Appeals of an
    /// interrupted run not yet followed to an outcome are left out.
    pub n: u64,
    /// Appeals decided (the events).
    pub events: u64,
    /// Appeals undecided when last seen.
    pub censored: u64,
    /// Of those, appeals still pending at the deadline (the rest were lost
    /// after filing, censored when their status could no longer be read).
    pub censored_at_deadline: u64,
    /// The longest follow-up, in seconds: a percentile not reached is beyond it.
    pub follow_up_secs: Option<f64>,
    /// Time by which half were decided; `None`: not reached by the end of follow-up.
    pub median_secs: Option<f64>,
    /// Time by which 90 % were decided; `None`: not reached by the end of follow-up.
    pub p90_secs: Option<f64>,
    /// The Kaplan–Meier curve: `[seconds, share still undecided]` from `[0, 1]`.
    pub curve: Vec<[f64; 2]>,
}

impl TimeToDecision {
    fn of(follow_ups: &[FollowUp], censored_at_deadline: u64) -> Self {
        let km = KaplanMeier::fit(follow_ups);
        TimeToDecision {
            n: km.n,
            events: km.events,
            censored: km.censored,
            censored_at_deadline,
            follow_up_secs: km.last_seconds(),
            median_secs: km.median(),
            p90_secs: km.time_to_share(0.9),
            curve: km.curve(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProbeReport {
    /// Adverse decisions on protected cases.
    pub wrongful_removals: u64,
    /// How the appeals were chosen among them.
    pub sampling: Sampling,
    /// How long each appeal was followed before it counted as pending.
    pub deadline_secs: f64,
    /// Appeals the run set out to file (all wrongful removals, or a sample).
    pub selected: u64,
    /// Appeals the platform acknowledged.
    pub filed: u64,
    /// Appeals that could not be filed or followed.
    pub failed: u64,
    /// Appeals decided before the deadline.
    pub decided: u64,
    pub reversed: u64,
    pub upheld: u64,
    pub pending_at_deadline: u64,
    /// Appeals not yet followed to an outcome (an interrupted run).
    pub unfinished: u64,
    /// Appeals whose state at the deadline is known: decided or still pending.
    pub followed: u64,
    /// Reversed among decided appeals: conditional on a decision by the deadline.
    pub reversal_rate: Option<f64>,
    pub reversal_ci: Option<[f64; 2]>,
    /// Reversed by the deadline among the appeals followed to it (an appeal
    /// still pending counts as not reversed by the deadline).
    pub reversal_within_deadline: Option<f64>,
    pub reversal_within_deadline_ci: Option<[f64; 2]>,
    pub time_to_decision: TimeToDecision,
    /// Decided appeals whose decision came with reasoning.
    pub decisions_with_reason: u64,
    /// Every group of protected cases, those without wrongful removals included.
    pub slices: Vec<AppealSlice>,
    /// One family: corrected together, every measure, dimension and group.
    pub disparities: Vec<AppealDisparity>,
    /// Why appeals failed, most frequent first.
    pub failures: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AppealSlice {
    pub dimension: Dimension,
    pub value: String,
    /// Wrongful removals in this group; 0 when its protected posts were all left up.
    pub wrongful_removals: u64,
    /// Appeals the run set out to file in this group.
    pub selected: u64,
    /// Appeals the platform acknowledged.
    pub filed: u64,
    /// Appeals that could not be filed or followed.
    pub failed: u64,
    pub decided: u64,
    pub reversed: u64,
    pub pending_at_deadline: u64,
    /// Decided or still pending at the deadline.
    pub followed: u64,
    /// Reversed among decided appeals.
    pub reversal_rate: Option<f64>,
    pub reversal_ci: Option<[f64; 2]>,
    /// Reversed by the deadline among appeals followed to it.
    pub reversal_within_deadline: Option<f64>,
    pub reversal_within_deadline_ci: Option<[f64; 2]>,
    pub time_to_decision: TimeToDecision,
    /// Fewer decided appeals than the minimum n.
    pub small_sample: bool,
}

/// What is compared between a group and its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealMeasure {
    /// Reversed among decided appeals (conditional on a decision by the deadline).
    ReversalAmongDecided,
    /// Reversed by the deadline among appeals followed to it.
    ReversalWithinDeadline,
    /// Time from filing to decision, censored at the deadline.
    TimeToDecision,
}

/// The test behind a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealTest {
    /// Fisher's exact test, two-sided, on the 2×2 table of reversed and not.
    FisherExact,
    /// The log-rank test (χ², one degree of freedom) on the censored times.
    LogRank,
}

/// Where the group stands against its reference on the measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A higher reversal rate, or a longer time to decision (fewer decisions than expected).
    Higher,
    Lower,
    Same,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AppealDisparity {
    pub dimension: Dimension,
    pub group: String,
    pub reference: String,
    pub measure: AppealMeasure,
    pub test: AppealTest,
    /// Appeals compared: decided (reversal among decided) or followed (the other measures).
    pub group_n: u64,
    pub reference_n: u64,
    /// Appeals reversed (reversal measures) or decided (time).
    pub group_events: u64,
    pub reference_events: u64,
    /// Reversal rate, or Kaplan–Meier median seconds to decision (`None`: not
    /// reached by the end of follow-up).
    pub value: Option<f64>,
    pub reference_value: Option<f64>,
    /// `value / reference_value`, when both are known and the reference is not 0.
    pub ratio: Option<f64>,
    /// MOVER–Wilson interval (reversal rates only), unadjusted.
    pub ratio_ci: Option<RatioInterval>,
    /// Log-rank only: decisions expected in the group if it were decided at the reference's pace.
    pub group_expected_events: Option<f64>,
    /// Log-rank only: the group's rate of decision relative to the reference's,
    /// (O/E of the group) / (O/E of the reference); below 1, slower.
    pub decision_rate_ratio: Option<f64>,
    /// Log-rank only: the χ² statistic.
    pub statistic: Option<f64>,
    pub direction: Direction,
    /// Whether the comparison was tested: both sides have at least the minimum n
    /// of appeals. Smaller comparisons are described, not tested, and are left
    /// out of the correction family.
    pub tested: bool,
    /// Unadjusted p-value (`None` when not tested).
    pub p_value: Option<f64>,
    /// After correction within the family of this measure and dimension.
    pub p_adjusted: Option<f64>,
    pub significant: bool,
    /// Fewer than the minimum n of appeals on either side.
    pub small_sample: bool,
}

/// Compares appeal outcomes of these dimensions.
pub(super) const APPEAL_DIMENSIONS: [Dimension; 4] = [
    Dimension::Language,
    Dimension::TargetGroup,
    Dimension::SpeakerGroup,
    Dimension::Category,
];

/// One selected appeal: its case and how far it got.
struct Appealed<'a> {
    case: &'a Case,
    /// The platform acknowledged it.
    filed: bool,
    result: Option<AppealResult>,
    /// Its time to decision, or to when it was last seen undecided.
    follow_up: Option<FollowUp>,
    /// Decided, with the platform's reasoning.
    with_reason: bool,
    /// Why it failed, if it did.
    error: Option<&'a str>,
}

impl<'a> Appealed<'a> {
    fn of(case: &'a Case, state: Option<&'a AppealState>) -> Self {
        let outcome = state.and_then(|s| s.outcome.as_ref());
        let result = outcome.map(|o| o.result);
        Appealed {
            case,
            filed: state.is_some_and(|s| s.filed.is_some()),
            result,
            follow_up: state.and_then(follow_up),
            with_reason: matches!(result, Some(AppealResult::Reversed | AppealResult::Upheld))
                && outcome
                    .and_then(|o| o.reason.as_deref())
                    .is_some_and(|r| !r.trim().is_empty()),
            error: outcome
                .filter(|o| o.result == AppealResult::Failed)
                .and_then(|o| o.error.as_deref()),
        }
    }
}

/// The time an appeal was followed: to its decision (an event), or to when it
/// was last seen undecided — at the deadline, or when its status could no
/// longer be read (censored). An appeal never filed has none; nor has one of an
/// interrupted run without an outcome yet, since the journal records no poll
/// after the filing (leaving it out is censoring it at filing).
fn follow_up(state: &AppealState) -> Option<FollowUp> {
    let filed = state.filed.as_ref()?;
    let outcome = state.outcome.as_ref()?;
    let since_filing = || ((outcome.observed_at - filed.filed_at).num_milliseconds() as f64 / 1000.0).max(0.0);
    Some(match outcome.result {
        AppealResult::Reversed | AppealResult::Upheld => FollowUp::event(outcome.seconds.unwrap_or_else(since_filing)),
        AppealResult::Pending | AppealResult::Failed => FollowUp::censored(since_filing()),
    })
}

/// What became of a set of selected appeals: the one count behind the totals
/// and every per-group slice, so that they always agree.
struct AppealCounts {
    selected: u64,
    filed: u64,
    failed: u64,
    reversed: u64,
    upheld: u64,
    pending_at_deadline: u64,
    unfinished: u64,
    decisions_with_reason: u64,
    follow_ups: Vec<FollowUp>,
}

impl AppealCounts {
    fn of<'a, 'c: 'a>(appealed: impl IntoIterator<Item = &'a Appealed<'c>>) -> AppealCounts {
        let mut counts = AppealCounts {
            selected: 0,
            filed: 0,
            failed: 0,
            reversed: 0,
            upheld: 0,
            pending_at_deadline: 0,
            unfinished: 0,
            decisions_with_reason: 0,
            follow_ups: Vec::new(),
        };
        for a in appealed {
            counts.selected += 1;
            counts.filed += u64::from(a.filed);
            counts.decisions_with_reason += u64::from(a.with_reason);
            match a.result {
                Some(AppealResult::Reversed) => counts.reversed += 1,
                Some(AppealResult::Upheld) => counts.upheld += 1,
                Some(AppealResult::Pending) => counts.pending_at_deadline += 1,
                Some(AppealResult::Failed) => counts.failed += 1,
                None => counts.unfinished += 1,
            }
            counts.follow_ups.extend(a.follow_up);
        }
        counts
    }

    /// Appeals decided (reversed or upheld) before the deadline.
    fn decided(&self) -> u64 {
        self.reversed + self.upheld
    }

    /// Appeals whose state at the deadline is known.
    fn followed(&self) -> u64 {
        self.decided() + self.pending_at_deadline
    }

    fn time_to_decision(&self) -> TimeToDecision {
        TimeToDecision::of(&self.follow_ups, self.pending_at_deadline)
    }
}

pub(super) fn probe_report(plan: &Plan, decisions: &DecisionIndex, appeals: &AppealIndex) -> ProbeReport {
    let appeal = plan.appeal.as_ref().expect("probing is configured");
    let wrongful = wrongful_removals(plan, decisions);
    let selection = selected(plan, decisions, appeals);
    let appealed: Vec<Appealed<'_>> = selection
        .chosen
        .iter()
        .map(|(case, _)| Appealed::of(case, appeals.get(case.id.as_str())))
        .collect();
    let counts = AppealCounts::of(&appealed);
    let confidence = plan.analysis.confidence;
    let (reversal_rate, reversal_ci) = rate_with_interval(counts.reversed, counts.decided(), confidence);
    let (reversal_within_deadline, reversal_within_deadline_ci) =
        rate_with_interval(counts.reversed, counts.followed(), confidence);
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for error in appealed.iter().filter_map(|a| a.error) {
        *failures.entry(error.to_string()).or_default() += 1;
    }
    let mut failures: Vec<(String, u64)> = failures.into_iter().collect();
    failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ProbeReport {
        wrongful_removals: wrongful.len() as u64,
        sampling: selection.sampling,
        deadline_secs: appeal.deadline.as_secs_f64(),
        selected: counts.selected,
        filed: counts.filed,
        failed: counts.failed,
        decided: counts.decided(),
        reversed: counts.reversed,
        upheld: counts.upheld,
        pending_at_deadline: counts.pending_at_deadline,
        unfinished: counts.unfinished,
        followed: counts.followed(),
        reversal_rate,
        reversal_ci,
        reversal_within_deadline,
        reversal_within_deadline_ci,
        time_to_decision: counts.time_to_decision(),
        decisions_with_reason: counts.decisions_with_reason,
        slices: slices(plan, &wrongful, &appealed),
        disparities: disparities(plan, &appealed),
        failures,
    }
}

/// One slice per group of protected cases in each dimension, with or without
/// wrongful removals.
fn slices(plan: &Plan, wrongful: &[(&Case, &Decision)], appealed: &[Appealed<'_>]) -> Vec<AppealSlice> {
    let confidence = plan.analysis.confidence;
    let mut out = Vec::new();
    for dimension in APPEAL_DIMENSIONS {
        let mut groups: BTreeMap<String, (u64, Vec<&Appealed<'_>>)> = plan
            .cases
            .iter()
            .filter(|c| c.label == Label::Protected)
            .filter_map(|c| dimension.value_of(c))
            .map(|v| (v.into_owned(), (0, Vec::new())))
            .collect();
        for (case, _) in wrongful {
            if let Some(v) = dimension.value_of(case) {
                groups.entry(v.into_owned()).or_default().0 += 1;
            }
        }
        for a in appealed {
            if let Some(v) = dimension.value_of(a.case) {
                groups.entry(v.into_owned()).or_default().1.push(a);
            }
        }
        for (value, (wrongful_removals, members)) in groups {
            let counts = AppealCounts::of(members);
            let (reversal_rate, reversal_ci) = rate_with_interval(counts.reversed, counts.decided(), confidence);
            let (reversal_within_deadline, reversal_within_deadline_ci) =
                rate_with_interval(counts.reversed, counts.followed(), confidence);
            out.push(AppealSlice {
                dimension,
                value,
                wrongful_removals,
                selected: counts.selected,
                filed: counts.filed,
                failed: counts.failed,
                decided: counts.decided(),
                reversed: counts.reversed,
                pending_at_deadline: counts.pending_at_deadline,
                followed: counts.followed(),
                reversal_rate,
                reversal_ci,
                reversal_within_deadline,
                reversal_within_deadline_ci,
                time_to_decision: counts.time_to_decision(),
                small_sample: counts.decided() < plan.analysis.min_n,
            });
        }
    }
    out
}

/// A group and what it is compared with.
struct Pair<'s> {
    dimension: Dimension,
    group: &'s str,
    reference: &'s str,
}

impl Pair<'_> {
    /// Reversed of `n` in the group against the reference, by Fisher's exact test.
    fn reversal(
        &self,
        measure: AppealMeasure,
        (ga, gn): (u64, u64),
        (ra, rn): (u64, u64),
        settings: &AnalysisSettings,
    ) -> AppealDisparity {
        let small_sample = gn < settings.min_n || rn < settings.min_n;
        AppealDisparity {
            dimension: self.dimension,
            group: self.group.to_string(),
            reference: self.reference.to_string(),
            measure,
            test: AppealTest::FisherExact,
            group_n: gn,
            reference_n: rn,
            group_events: ga,
            reference_events: ra,
            value: Some(ga as f64 / gn as f64),
            reference_value: Some(ra as f64 / rn as f64),
            ratio: (ra > 0).then(|| (ga as f64 / gn as f64) / (ra as f64 / rn as f64)),
            ratio_ci: mover_wilson_rate_ratio(ga, gn, ra, rn, z_critical(settings.confidence)),
            group_expected_events: None,
            decision_rate_ratio: None,
            statistic: None,
            direction: match (ga * rn).cmp(&(ra * gn)) {
                std::cmp::Ordering::Greater => Direction::Higher,
                std::cmp::Ordering::Less => Direction::Lower,
                std::cmp::Ordering::Equal => Direction::Same,
            },
            tested: !small_sample,
            p_value: (!small_sample).then(|| fisher_exact_two_sided([[ga, gn - ga], [ra, rn - ra]])),
            p_adjusted: None,
            significant: false,
            small_sample,
        }
    }

    /// Time to decision of the group against the reference, by the log-rank test.
    fn time(&self, group: &[FollowUp], reference: &[FollowUp], settings: &AnalysisSettings) -> Option<AppealDisparity> {
        let test = log_rank(group, reference)?;
        let (gm, rm) = (KaplanMeier::fit(group).median(), KaplanMeier::fit(reference).median());
        let (gn, rn) = (group.len() as u64, reference.len() as u64);
        let small_sample = gn < settings.min_n || rn < settings.min_n;
        Some(AppealDisparity {
            dimension: self.dimension,
            group: self.group.to_string(),
            reference: self.reference.to_string(),
            measure: AppealMeasure::TimeToDecision,
            test: AppealTest::LogRank,
            group_n: gn,
            reference_n: rn,
            group_events: test.observed[0],
            reference_events: test.observed[1],
            value: gm,
            reference_value: rm,
            ratio: gm.zip(rm).filter(|(_, r)| *r > 0.0).map(|(g, r)| g / r),
            ratio_ci: None,
            group_expected_events: Some(test.expected[0]),
            decision_rate_ratio: test.hazard_ratio(),
            statistic: Some(test.statistic),
            direction: match test.timing() {
                Timing::Later => Direction::Higher,
                Timing::Sooner => Direction::Lower,
                Timing::AsExpected => Direction::Same,
            },
            tested: !small_sample,
            p_value: (!small_sample).then_some(test.p_value),
            p_adjusted: None,
            significant: false,
            small_sample,
        })
    }
}

/// Every group against its reference on reversal (among decided, and by the
/// deadline) and on time to decision. Comparisons with at least the minimum n
/// of appeals on both sides are tested; p-values are adjusted within the family
/// of one measure and one dimension, as over-removal's are.
fn disparities(plan: &Plan, appealed: &[Appealed<'_>]) -> Vec<AppealDisparity> {
    let settings = &plan.analysis;
    let mut out = Vec::new();
    for dimension in APPEAL_DIMENSIONS {
        let values: BTreeSet<String> = appealed
            .iter()
            .filter_map(|a| dimension.value_of(a.case).map(Cow::into_owned))
            .collect();
        let reference = settings.references.get(&dimension);
        for group in &values {
            if reference == Some(group) {
                continue;
            }
            let in_group = |a: &&Appealed<'_>| dimension.value_of(a.case).as_deref() == Some(group.as_str());
            let in_reference = |a: &&Appealed<'_>| match reference {
                Some(r) => dimension.value_of(a.case).as_deref() == Some(r.as_str()),
                None => dimension.value_of(a.case).is_some_and(|v| v.as_ref() != group.as_str()),
            };
            let g = AppealCounts::of(appealed.iter().filter(in_group));
            let r = AppealCounts::of(appealed.iter().filter(in_reference));
            let reference_name = reference.map_or(ALL_OTHERS, String::as_str);
            let pair = Pair {
                dimension,
                group,
                reference: reference_name,
            };
            if g.decided() > 0 && r.decided() > 0 {
                out.push(pair.reversal(
                    AppealMeasure::ReversalAmongDecided,
                    (g.reversed, g.decided()),
                    (r.reversed, r.decided()),
                    settings,
                ));
            }
            if g.followed() > 0 && r.followed() > 0 {
                out.push(pair.reversal(
                    AppealMeasure::ReversalWithinDeadline,
                    (g.reversed, g.followed()),
                    (r.reversed, r.followed()),
                    settings,
                ));
            }
            out.extend(pair.time(&g.follow_ups, &r.follow_ups, settings));
        }
    }
    let families: BTreeSet<(AppealMeasure, Dimension)> = out.iter().map(|d| (d.measure, d.dimension)).collect();
    for family in families {
        let members: Vec<usize> = (0..out.len())
            .filter(|&i| (out[i].measure, out[i].dimension) == family)
            .filter(|&i| out[i].p_value.is_some())
            .collect();
        let p: Vec<f64> = members.iter().filter_map(|&i| out[i].p_value).collect();
        for (&i, adjusted) in members.iter().zip(settings.correction.adjust(&p)) {
            out[i].p_adjusted = Some(adjusted);
            out[i].significant = adjusted < settings.alpha;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::appeal::{AppealFiled, AppealOutcome};

    fn state(filed: bool, outcome: Option<(AppealResult, i64, Option<f64>)>) -> AppealState {
        let filed_at = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        AppealState {
            intent: None,
            filed: filed.then(|| AppealFiled {
                case_id: "c".into(),
                appeal_id: "A-1".into(),
                filed_at,
                response: None,
            }),
            outcome: outcome.map(|(result, after_ms, seconds)| AppealOutcome {
                case_id: "c".into(),
                result,
                decided_at: None,
                observed_at: filed_at + Duration::milliseconds(after_ms),
                seconds,
                reason: None,
                error: None,
                response: None,
            }),
        }
    }

    #[test]
    fn appeals_are_censored_when_last_seen_undecided() {
        assert_eq!(
            follow_up(&state(true, Some((AppealResult::Reversed, 900, Some(0.8))))),
            Some(FollowUp::event(0.8)),
            "decided: the platform's time"
        );
        assert_eq!(
            follow_up(&state(true, Some((AppealResult::Pending, 2_040, None)))),
            Some(FollowUp::censored(2.04)),
            "pending at the deadline: censored when last polled"
        );
        assert_eq!(
            follow_up(&state(true, Some((AppealResult::Failed, 700, None)))),
            Some(FollowUp::censored(0.7)),
            "lost after filing: censored when its status could no longer be read"
        );
        assert_eq!(follow_up(&state(true, None)), None, "unfinished: no poll is journaled");
        assert_eq!(
            follow_up(&state(false, Some((AppealResult::Failed, 10, None)))),
            None,
            "never filed"
        );
    }

    #[test]
    fn pending_appeals_keep_the_percentiles_honest() {
        let mut follow_ups: Vec<FollowUp> = (0..22).map(|i| FollowUp::event(0.1 + f64::from(i) * 0.05)).collect();
        follow_ups.extend((0..12).map(|_| FollowUp::censored(2.0)));
        let time = TimeToDecision::of(&follow_ups, 12);
        assert_eq!((time.n, time.events, time.censored), (34, 22, 12));
        assert_eq!(time.p90_secs, None, "12 of 34 were still pending at 2 s");
        assert_eq!(time.follow_up_secs, Some(2.0));
        assert!(time.median_secs.is_some());
    }
}
