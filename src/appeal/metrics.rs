//! Appeal metrics: availability of a route to appeal, what became of the
//! appeals filed, the reversal rate among wrongful removals, the time to a
//! decision, and whether reversal and time differ across languages and groups —
//! tested and corrected the same way as over-removal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::notice::NoticeCoverage;
use super::principles::{ChecklistItem, checklist};
use super::records::{AppealIndex, AppealResult};
use super::statements::StatementsReport;
use crate::analysis::fisher::fisher_exact_two_sided;
use crate::analysis::interval::z_critical;
use crate::analysis::rank::{mann_whitney_two_sided, quantile};
use crate::analysis::ratio::katz_rate_ratio;
use crate::analysis::{ALL_OTHERS, Dimension, rate_with_interval};
use crate::corpus::Case;
use crate::decision::DecisionIndex;
use crate::scenario::{DeclaredFacts, Plan};

/// Everything `results.json` says about notice and appeal (under `appeal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealReport {
    pub availability: Availability,
    /// Coverage of each notice element among adverse decisions.
    pub notice: NoticeCoverage,
    /// What the appeal phase found; `None` when the scenario probes no appeal API.
    pub probe: Option<ProbeReport>,
    pub statements: Option<StatementsReport>,
    pub declared: DeclaredFacts,
    pub checklist: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    pub adverse: u64,
    /// Adverse decisions that offered a route to appeal.
    pub with_appeal_route: u64,
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    pub n: u64,
    pub median_secs: Option<f64>,
    pub p90_secs: Option<f64>,
}

impl Durations {
    fn of(seconds: &[f64]) -> Self {
        Durations {
            n: seconds.len() as u64,
            median_secs: quantile(seconds, 0.5),
            p90_secs: quantile(seconds, 0.9),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Adverse decisions on protected cases.
    pub wrongful_removals: u64,
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
    /// Reversed among decided appeals.
    pub reversal_rate: Option<f64>,
    pub reversal_ci: Option<[f64; 2]>,
    pub time_to_decision: Durations,
    /// Decided appeals whose decision came with reasoning.
    pub decisions_with_reason: u64,
    pub slices: Vec<AppealSlice>,
    pub disparities: Vec<AppealDisparity>,
    /// Why appeals failed, most frequent first.
    pub failures: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealSlice {
    pub dimension: Dimension,
    pub value: String,
    /// Appeals the run set out to file in this group.
    pub selected: u64,
    /// Appeals the platform acknowledged.
    pub filed: u64,
    /// Appeals that could not be filed or followed.
    pub failed: u64,
    pub decided: u64,
    pub reversed: u64,
    pub reversal_rate: Option<f64>,
    pub reversal_ci: Option<[f64; 2]>,
    pub time_to_decision: Durations,
    pub small_sample: bool,
}

/// What is compared between a group and its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealMeasure {
    ReversalRate,
    TimeToDecision,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealDisparity {
    pub dimension: Dimension,
    pub group: String,
    pub reference: String,
    pub measure: AppealMeasure,
    pub group_n: u64,
    pub reference_n: u64,
    /// Reversal rate, or median seconds to decision.
    pub value: f64,
    pub reference_value: f64,
    /// `value / reference_value`.
    pub ratio: Option<f64>,
    /// Katz interval (reversal rates only).
    pub ratio_ci: Option<[f64; 2]>,
    /// Fisher exact (reversal) or Mann–Whitney U (time), two-sided.
    pub p_value: f64,
    pub p_adjusted: f64,
    pub significant: bool,
    pub small_sample: bool,
}

/// Compares appeal outcomes of these dimensions.
const APPEAL_DIMENSIONS: [Dimension; 3] = [Dimension::Language, Dimension::TargetGroup, Dimension::Category];

/// Builds the notice-and-appeal part of the report.
pub fn appeal_report(
    plan: &Plan,
    decisions: &DecisionIndex,
    appeals: &AppealIndex,
    notice: &NoticeCoverage,
    statements: Option<StatementsReport>,
) -> AppealReport {
    let availability = Availability {
        adverse: notice.adverse,
        with_appeal_route: notice.with_appeal_route,
        share: notice.share("with_appeal_route"),
    };
    let probe = plan.appeal.as_ref().map(|_| probe_report(plan, decisions, appeals));
    let checklist = checklist(
        notice,
        probe.as_ref(),
        statements.as_ref(),
        &plan.declared,
        plan.analysis.alpha,
    );
    AppealReport {
        availability,
        notice: notice.clone(),
        probe,
        statements,
        declared: plan.declared.clone(),
        checklist,
    }
}

/// One selected appeal: its case and how far it got.
struct Appealed<'a> {
    case: &'a Case,
    /// The platform acknowledged it.
    filed: bool,
    result: Option<AppealResult>,
    seconds: Option<f64>,
    /// Decided, with the platform's reasoning.
    with_reason: bool,
    /// Why it failed, if it did.
    error: Option<&'a str>,
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
    /// Seconds from filing to decision of every decided appeal that has them.
    times: Vec<f64>,
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
            times: Vec::new(),
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
            counts.times.extend(a.seconds);
        }
        counts
    }

    /// Appeals decided (reversed or upheld) before the deadline.
    fn decided(&self) -> u64 {
        self.reversed + self.upheld
    }
}

fn probe_report(plan: &Plan, decisions: &DecisionIndex, appeals: &AppealIndex) -> ProbeReport {
    let appeal = plan.appeal.as_ref().expect("probing is configured");
    let wrongful = super::probe::wrongful_removals(plan, decisions);
    let wrongful_removals = wrongful.len() as u64;
    let chosen = super::probe::selected(plan, appeal, wrongful);
    let appealed: Vec<Appealed<'_>> = chosen
        .iter()
        .map(|(case, _)| {
            let state = appeals.get(&case.id);
            let outcome = state.and_then(|s| s.outcome.as_ref());
            let result = outcome.map(|o| o.result);
            Appealed {
                case,
                filed: state.is_some_and(|s| s.filed.is_some()),
                result,
                seconds: outcome.and_then(|o| o.seconds),
                with_reason: matches!(result, Some(AppealResult::Reversed | AppealResult::Upheld))
                    && outcome
                        .and_then(|o| o.reason.as_deref())
                        .is_some_and(|r| !r.trim().is_empty()),
                error: outcome
                    .filter(|o| o.result == AppealResult::Failed)
                    .and_then(|o| o.error.as_deref()),
            }
        })
        .collect();
    let counts = AppealCounts::of(&appealed);
    let decided = counts.decided();
    let (reversal_rate, reversal_ci) = rate_with_interval(counts.reversed, decided, plan.analysis.confidence);
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for error in appealed.iter().filter_map(|a| a.error) {
        *failures.entry(error.to_string()).or_default() += 1;
    }
    let mut failures: Vec<(String, u64)> = failures.into_iter().collect();
    failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ProbeReport {
        wrongful_removals,
        selected: counts.selected,
        filed: counts.filed,
        failed: counts.failed,
        decided,
        reversed: counts.reversed,
        upheld: counts.upheld,
        pending_at_deadline: counts.pending_at_deadline,
        unfinished: counts.unfinished,
        reversal_rate,
        reversal_ci,
        time_to_decision: Durations::of(&counts.times),
        decisions_with_reason: counts.decisions_with_reason,
        slices: slices(plan, &appealed),
        disparities: disparities(plan, &appealed),
        failures,
    }
}

fn slices(plan: &Plan, appealed: &[Appealed<'_>]) -> Vec<AppealSlice> {
    let mut out = Vec::new();
    for dimension in APPEAL_DIMENSIONS {
        let mut groups: BTreeMap<String, Vec<&Appealed<'_>>> = BTreeMap::new();
        for a in appealed {
            if let Some(v) = dimension.value_of(a.case) {
                groups.entry(v).or_default().push(a);
            }
        }
        for (value, members) in groups {
            let counts = AppealCounts::of(members);
            let decided = counts.decided();
            let (reversal_rate, reversal_ci) = rate_with_interval(counts.reversed, decided, plan.analysis.confidence);
            out.push(AppealSlice {
                dimension,
                value,
                selected: counts.selected,
                filed: counts.filed,
                failed: counts.failed,
                decided,
                reversed: counts.reversed,
                reversal_rate,
                reversal_ci,
                time_to_decision: Durations::of(&counts.times),
                small_sample: decided < plan.analysis.min_n,
            });
        }
    }
    out
}

fn disparities(plan: &Plan, appealed: &[Appealed<'_>]) -> Vec<AppealDisparity> {
    let z = z_critical(plan.analysis.confidence);
    let min_n = plan.analysis.min_n;
    let mut out = Vec::new();
    for dimension in APPEAL_DIMENSIONS {
        let values: std::collections::BTreeSet<String> =
            appealed.iter().filter_map(|a| dimension.value_of(a.case)).collect();
        let reference = plan.analysis.references.get(&dimension);
        for group in &values {
            if reference == Some(group) {
                continue;
            }
            let in_group = |a: &&Appealed<'_>| dimension.value_of(a.case).as_ref() == Some(group);
            let in_reference = |a: &&Appealed<'_>| match reference {
                Some(r) => dimension.value_of(a.case).as_ref() == Some(r),
                None => dimension.value_of(a.case).is_some_and(|v| &v != group),
            };
            let decided = |a: &&Appealed<'_>| matches!(a.result, Some(AppealResult::Reversed | AppealResult::Upheld));
            let g: Vec<&Appealed<'_>> = appealed.iter().filter(in_group).filter(decided).collect();
            let r: Vec<&Appealed<'_>> = appealed.iter().filter(in_reference).filter(decided).collect();
            if g.is_empty() || r.is_empty() {
                continue;
            }
            let reference_name = reference.cloned().unwrap_or_else(|| ALL_OTHERS.to_string());
            let (gn, rn) = (g.len() as u64, r.len() as u64);
            let reversed = |members: &[&Appealed<'_>]| {
                members
                    .iter()
                    .filter(|a| a.result == Some(AppealResult::Reversed))
                    .count() as u64
            };
            let (ga, ra) = (reversed(&g), reversed(&r));
            let rr = katz_rate_ratio(ga, gn, ra, rn, z);
            out.push(AppealDisparity {
                dimension,
                group: group.clone(),
                reference: reference_name.clone(),
                measure: AppealMeasure::ReversalRate,
                group_n: gn,
                reference_n: rn,
                value: ga as f64 / gn as f64,
                reference_value: ra as f64 / rn as f64,
                ratio: rr.ratio,
                ratio_ci: rr.interval.map(|(lo, hi)| [lo, hi]),
                p_value: fisher_exact_two_sided([[ga, gn - ga], [ra, rn - ra]]),
                p_adjusted: 1.0,
                significant: false,
                small_sample: gn < min_n || rn < min_n,
            });
            let gt: Vec<f64> = g.iter().filter_map(|a| a.seconds).collect();
            let rt: Vec<f64> = r.iter().filter_map(|a| a.seconds).collect();
            if let (Some(p), Some(gm), Some(rm)) =
                (mann_whitney_two_sided(&gt, &rt), quantile(&gt, 0.5), quantile(&rt, 0.5))
            {
                out.push(AppealDisparity {
                    dimension,
                    group: group.clone(),
                    reference: reference_name,
                    measure: AppealMeasure::TimeToDecision,
                    group_n: gt.len() as u64,
                    reference_n: rt.len() as u64,
                    value: gm,
                    reference_value: rm,
                    ratio: (rm > 0.0).then(|| gm / rm),
                    ratio_ci: None,
                    p_value: p,
                    p_adjusted: 1.0,
                    significant: false,
                    small_sample: (gt.len() as u64) < min_n || (rt.len() as u64) < min_n,
                });
            }
        }
    }
    let p: Vec<f64> = out.iter().map(|d| d.p_value).collect();
    for (d, adjusted) in out.iter_mut().zip(plan.analysis.correction.adjust(&p)) {
        d.p_adjusted = adjusted;
        d.significant = adjusted < plan.analysis.alpha;
    }
    out
}
