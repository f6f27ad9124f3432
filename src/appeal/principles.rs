//! The principles checklist: measured evidence mapped to the Santa Clara
//! Principles 2.0 (notice and appeal) and to the EU Digital Services Act,
//! Art. 17 (statement of reasons) and Art. 20 (internal complaint handling).
//!
//! Each item is `met`, `not_met` or `not_measurable` from this run, with the
//! evidence that decided it. Facts a run cannot observe may be declared in the
//! scenario; such items say `declared`, never `measured`. An item is never `met`
//! on missing evidence: appeals not followed to an outcome, a group never
//! appealed, or too few decided appeals make it `not_measurable`.

use serde::{Deserialize, Serialize};

use super::metrics::{AppealDisparity, AppealMeasure, AppealSlice, Direction, ProbeReport, TimeToDecision};
use super::notice::NoticeCoverage;
use crate::analysis::{AnalysisSettings, Dimension};
use crate::scenario::DeclaredFacts;
use crate::statements::StatementsReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Met,
    NotMet,
    NotMeasurable,
}

/// Where an item's status comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Measured,
    Declared,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChecklistItem {
    /// e.g. "Santa Clara Principles 2.0" or "EU DSA".
    pub framework: String,
    /// e.g. "Notice 2" or "Art. 17(3)(c)".
    pub reference: String,
    pub item: String,
    pub status: ItemStatus,
    pub basis: Basis,
    pub evidence: String,
}

const SCP: &str = "Santa Clara Principles 2.0";
const DSA: &str = "EU DSA";

fn item(
    framework: &str,
    reference: &str,
    text: &str,
    (status, basis, evidence): (ItemStatus, Basis, String),
) -> ChecklistItem {
    ChecklistItem {
        framework: framework.into(),
        reference: reference.into(),
        item: text.into(),
        status,
        basis,
        evidence,
    }
}

/// An element every adverse decision's notice should carry.
fn coverage(notice: &NoticeCoverage, element: &str, what: &str) -> (ItemStatus, Basis, String) {
    if notice.adverse == 0 {
        return (
            ItemStatus::NotMeasurable,
            Basis::None,
            "the system took no adverse action in this run".into(),
        );
    }
    let n = notice.count(element);
    let status = if n == notice.adverse {
        ItemStatus::Met
    } else {
        ItemStatus::NotMet
    };
    (
        status,
        Basis::Measured,
        format!("{n} of {} adverse decisions carried {what}", notice.adverse),
    )
}

fn declared(value: Option<bool>, what: &str) -> (ItemStatus, Basis, String) {
    match value {
        Some(true) => (
            ItemStatus::Met,
            Basis::Declared,
            format!("declared in the scenario: {what}"),
        ),
        Some(false) => (
            ItemStatus::NotMet,
            Basis::Declared,
            format!("declared in the scenario: not {what}"),
        ),
        None => (
            ItemStatus::NotMeasurable,
            Basis::None,
            format!("a run cannot observe whether {what}; the scenario declares nothing"),
        ),
    }
}

fn all(parts: Vec<(ItemStatus, Basis, String)>) -> (ItemStatus, Basis, String) {
    let status = if parts.iter().any(|p| p.0 == ItemStatus::NotMet) {
        ItemStatus::NotMet
    } else if parts.iter().all(|p| p.0 == ItemStatus::Met) {
        ItemStatus::Met
    } else {
        ItemStatus::NotMeasurable
    };
    let basis = if parts.iter().any(|p| p.1 == Basis::Measured) {
        Basis::Measured
    } else if parts.iter().any(|p| p.1 == Basis::Declared) {
        Basis::Declared
    } else {
        Basis::None
    };
    (
        status,
        basis,
        parts.into_iter().map(|p| p.2).collect::<Vec<_>>().join("; "),
    )
}

/// A duration in the unit a reader expects.
fn duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} days", seconds / 86_400.0)
    }
}

/// A Kaplan–Meier percentile: its time, or, when the curve never reached it,
/// "more than" the end of follow-up (the deadline, or less when no appeal was
/// followed that long).
fn percentile(value: Option<f64>, time: &TimeToDecision, deadline: f64) -> String {
    match (value, time.follow_up_secs) {
        (Some(v), _) => duration(v),
        (None, Some(end)) => format!("more than {}", duration(end.min(deadline))),
        (None, None) => "–".into(),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or("–".into(), |r| format!("{:.1} %", r * 100.0))
}

/// An item the evidence would meet, unless appeals are still unfinished.
fn unless_unfinished(
    p: &ProbeReport,
    (status, basis, evidence): (ItemStatus, Basis, String),
) -> (ItemStatus, Basis, String) {
    if status == ItemStatus::Met && p.unfinished > 0 {
        (
            ItemStatus::NotMeasurable,
            Basis::None,
            format!(
                "{evidence}; but {} appeals are not followed to an outcome yet (the run is incomplete)",
                p.unfinished
            ),
        )
    } else {
        (status, basis, evidence)
    }
}

/// The groups whose appeals must be handled alike: languages, target groups
/// and speaker groups (categories of speech are not protected characteristics).
const PROTECTED_DIMENSIONS: [Dimension; 3] = [Dimension::Language, Dimension::TargetGroup, Dimension::SpeakerGroup];

/// Without discrimination between languages and groups (DSA Art. 20(4)).
///
/// `not_met` when any comparison of a language or group differs significantly
/// after correction. Otherwise `met` only when every language and group with
/// wrongful removals has at least `min_n` decided appeals (so each was compared
/// on reversal and time with some power); `not_measurable`, naming them, when a
/// group with wrongful removals has no decided appeal or fewer than `min_n`, or
/// when no two groups could be compared. Groups whose protected posts had no
/// wrongful removals had nothing to appeal: they are named, and block nothing.
fn non_discrimination(p: &ProbeReport, settings: &AnalysisSettings) -> (ItemStatus, Basis, String) {
    let min_n = settings.min_n;
    let in_scope = |d: Dimension| PROTECTED_DIMENSIONS.contains(&d);
    let comparisons: Vec<&AppealDisparity> = p.disparities.iter().filter(|d| in_scope(d.dimension)).collect();
    let significant: Vec<String> = comparisons
        .iter()
        .filter(|d| d.significant)
        .map(|d| describe_disparity(d))
        .collect();
    let groups: Vec<&AppealSlice> = p.slices.iter().filter(|s| in_scope(s.dimension)).collect();
    let undecided: Vec<String> = groups
        .iter()
        .filter(|s| s.wrongful_removals > 0 && s.decided == 0)
        .map(|s| {
            format!(
                "{} {} ({} wrongful removals, {} appealed, none decided)",
                s.dimension.as_str(),
                s.value,
                s.wrongful_removals,
                s.selected
            )
        })
        .collect();
    let underpowered: Vec<String> = groups
        .iter()
        .filter(|s| s.wrongful_removals > 0 && s.decided > 0 && s.decided < min_n)
        .map(|s| format!("{} {} ({})", s.dimension.as_str(), s.value, s.decided))
        .collect();
    let nothing_to_appeal: Vec<String> = groups
        .iter()
        .filter(|s| s.wrongful_removals == 0)
        .map(|s| format!("{} {}", s.dimension.as_str(), s.value))
        .collect();
    let mut gaps = Vec::new();
    if !undecided.is_empty() {
        gaps.push(format!("no decided appeal in {}", undecided.join(", ")));
    }
    if !underpowered.is_empty() {
        gaps.push(format!(
            "fewer than {min_n} decided appeals (the minimum n) in {}",
            underpowered.join(", ")
        ));
    }
    let mut notes = Vec::new();
    if !nothing_to_appeal.is_empty() {
        notes.push(format!(
            "{} had no wrongful removals, so nothing to appeal",
            nothing_to_appeal.join(", ")
        ));
    }
    let with_notes = |mut parts: Vec<String>| {
        parts.extend(notes.iter().cloned());
        parts.join("; ")
    };
    if !significant.is_empty() {
        let mut parts = vec![format!(
            "significant differences ({} of {} comparisons, α = {}, {} correction): {}",
            significant.len(),
            comparisons.len(),
            settings.alpha,
            settings.correction.name(),
            significant.join("; ")
        )];
        parts.extend(gaps.into_iter().map(|g| format!("not measured: {g}")));
        return (ItemStatus::NotMet, Basis::Measured, with_notes(parts));
    }
    if !gaps.is_empty() {
        let mut parts = vec![format!(
            "met only with at least {min_n} decided appeals in every language and group with wrongful removals"
        )];
        parts.extend(gaps);
        return (ItemStatus::NotMeasurable, Basis::None, with_notes(parts));
    }
    if comparisons.is_empty() {
        return (
            ItemStatus::NotMeasurable,
            Basis::None,
            with_notes(vec!["no two languages or groups had appeals to compare".into()]),
        );
    }
    (
        ItemStatus::Met,
        Basis::Measured,
        with_notes(vec![format!(
            "every language and group with wrongful removals had at least {min_n} decided appeals; no significant difference in reversal (among decided appeals or by the deadline, Fisher) or time to decision (log-rank) across {} comparisons (α = {}, {} correction)",
            comparisons.len(),
            settings.alpha,
            settings.correction.name()
        )]),
    )
}

/// One significant comparison, for the evidence.
fn describe_disparity(d: &AppealDisparity) -> String {
    let what = match d.measure {
        AppealMeasure::ReversalAmongDecided => format!(
            "reversal among decided appeals {} against {} for {}",
            percent(d.value),
            percent(d.reference_value),
            d.reference
        ),
        AppealMeasure::ReversalWithinDeadline => format!(
            "reversal by the deadline {} against {} for {}",
            percent(d.value),
            percent(d.reference_value),
            d.reference
        ),
        AppealMeasure::TimeToDecision => format!(
            "{} to decide than {}: {} of {} decided by the deadline against {} of {}, log-rank",
            match d.direction {
                Direction::Higher => "slower",
                Direction::Lower => "faster",
                Direction::Same => "no faster or slower",
            },
            d.reference,
            d.group_events,
            d.group_n,
            d.reference_events,
            d.reference_n
        ),
    };
    let p = match d.p_adjusted {
        None => "not tested".to_string(),
        Some(p) if p < 0.0001 => "adjusted p < 0.0001".to_string(),
        Some(p) => format!("adjusted p = {p:.4}"),
    };
    format!("{} {} ({what}; {p})", d.dimension.as_str(), d.group)
}

/// Builds the checklist.
pub fn checklist(
    notice: &NoticeCoverage,
    probe: Option<&ProbeReport>,
    statements: Option<&StatementsReport>,
    facts: &DeclaredFacts,
    settings: &AnalysisSettings,
) -> Vec<ChecklistItem> {
    let no_route = notice.adverse > 0 && notice.with_appeal_route == 0 && probe.is_none_or(|p| p.filed == 0);
    let appeal_available = match probe {
        Some(p) if p.selected > 0 => {
            let ok = p.filed == p.selected;
            (
                if ok { ItemStatus::Met } else { ItemStatus::NotMet },
                Basis::Measured,
                format!(
                    "{} of {} appeals against wrongful removals could be filed electronically",
                    p.filed, p.selected
                ),
            )
        }
        _ if no_route => (
            ItemStatus::NotMet,
            Basis::Measured,
            format!(
                "none of the {} adverse decisions offered a route to appeal",
                notice.adverse
            ),
        ),
        _ => coverage(notice, "with_appeal_route", "a route to appeal"),
    };
    let needs_appeals = |f: &dyn Fn(&ProbeReport) -> (ItemStatus, Basis, String)| match probe {
        Some(p) if p.decided > 0 || p.pending_at_deadline > 0 => unless_unfinished(p, f(p)),
        _ if no_route => (
            ItemStatus::NotMet,
            Basis::Measured,
            "no route to appeal exists, so no appeal can be decided".into(),
        ),
        Some(_) => (
            ItemStatus::NotMeasurable,
            Basis::None,
            "no appeal was decided in this run".into(),
        ),
        None => (
            ItemStatus::NotMeasurable,
            Basis::None,
            "the scenario does not probe the appeal process".into(),
        ),
    };
    let reasoned = needs_appeals(&|p| {
        if p.decided == 0 {
            return (
                ItemStatus::NotMeasurable,
                Basis::None,
                format!(
                    "no appeal was decided by the deadline ({} pending), so no decision's reasoning could be read",
                    p.pending_at_deadline
                ),
            );
        }
        let ok = p.decisions_with_reason == p.decided;
        (
            if ok { ItemStatus::Met } else { ItemStatus::NotMet },
            Basis::Measured,
            format!(
                "{} of {} appeal decisions came with reasoning",
                p.decisions_with_reason, p.decided
            ),
        )
    });
    let reversed = needs_appeals(&|p| {
        let ok = p.decided > 0 && p.reversed == p.decided && p.pending_at_deadline == 0;
        (
            if ok { ItemStatus::Met } else { ItemStatus::NotMet },
            Basis::Measured,
            format!(
                "{} of {} appeals against removals of protected speech were reversed by the deadline ({}); {} of the {} decided were reversed ({}); {} still pending at the deadline",
                p.reversed,
                p.followed,
                percent(p.reversal_within_deadline),
                p.reversed,
                p.decided,
                percent(p.reversal_rate),
                p.pending_at_deadline
            ),
        )
    });
    let timely = needs_appeals(&|p| {
        let time = &p.time_to_decision;
        (
            if p.pending_at_deadline == 0 {
                ItemStatus::Met
            } else {
                ItemStatus::NotMet
            },
            Basis::Measured,
            format!(
                "{} appeals undecided at the deadline of {}; time to decision (Kaplan–Meier, {} of {} appeals censored) median {}, 90th percentile {}",
                p.pending_at_deadline,
                duration(p.deadline_secs),
                time.censored,
                time.n,
                percentile(time.median_secs, time, p.deadline_secs),
                percentile(time.p90_secs, time, p.deadline_secs)
            ),
        )
    });
    let non_discriminatory = needs_appeals(&|p| non_discrimination(p, settings));
    let window = match facts.appeal_window_days {
        Some(days) if days >= 183 => (
            ItemStatus::Met,
            Basis::Declared,
            format!("declared: appeals possible for {days} days"),
        ),
        Some(days) => (
            ItemStatus::NotMet,
            Basis::Declared,
            format!("declared: appeals possible for only {days} days"),
        ),
        None => (
            ItemStatus::NotMeasurable,
            Basis::None,
            "the appeal window cannot be observed in a run; the scenario declares none".into(),
        ),
    };
    let statements_complete = match statements {
        Some(s) => (
            if s.valid == s.statements && s.statements > 0 {
                ItemStatus::Met
            } else {
                ItemStatus::NotMet
            },
            Basis::Measured,
            format!(
                "{} of {} statements of reasons have every required field with an allowed value",
                s.valid, s.statements
            ),
        ),
        None => (
            ItemStatus::NotMeasurable,
            Basis::None,
            "the scenario gives no statements of reasons to check".into(),
        ),
    };
    vec![
        item(
            SCP,
            "Notice",
            "The notice identifies the decision (a decision id)",
            coverage(notice, "with_decision_id", "a decision id"),
        ),
        item(
            SCP,
            "Notice",
            "The notice names the specific rule violated",
            coverage(notice, "with_rule", "the rule applied"),
        ),
        item(
            SCP,
            "Notice",
            "The notice says how the content was detected, including automated detection",
            coverage(
                notice,
                "with_automated_detection_flag",
                "a disclosure of automated detection",
            ),
        ),
        item(
            SCP,
            "Notice",
            "The notice says whether a state actor was involved",
            declared(facts.state_actor_disclosure, "notices disclose state involvement"),
        ),
        item(
            SCP,
            "Notice",
            "The notice explains how to appeal",
            coverage(notice, "with_appeal_route", "a route to appeal"),
        ),
        item(
            SCP,
            "Notice",
            "The notice is in the user's language",
            declared(facts.notice_in_user_language, "notices are in the user's language"),
        ),
        item(
            SCP,
            "Appeal",
            "Every restriction can be appealed",
            appeal_available.clone(),
        ),
        item(
            SCP,
            "Appeal 1",
            "Appeals are reviewed by a person not involved in the initial decision",
            declared(facts.human_review, "appeals are reviewed by a person"),
        ),
        item(
            SCP,
            "Appeal 2",
            "The appellant can add information",
            declared(facts.can_add_information, "appellants can add information"),
        ),
        item(
            SCP,
            "Appeal 3",
            "The appellant is told the result, with the reasoning",
            reasoned.clone(),
        ),
        item(
            DSA,
            "Art. 17(1)",
            "A statement of reasons accompanies every restriction",
            coverage(notice, "with_reason", "a statement of reasons"),
        ),
        item(
            DSA,
            "Art. 17(3)(a)",
            "The statement gives the restriction's territorial scope",
            coverage(notice, "with_territorial_scope", "the territorial scope"),
        ),
        item(
            DSA,
            "Art. 17(3)(c)",
            "The statement says whether automated means were used in detection and in the decision",
            all(vec![
                coverage(
                    notice,
                    "with_automated_detection_flag",
                    "a disclosure of automated detection",
                ),
                coverage(notice, "with_automated_flag", "a disclosure of automated decision"),
            ]),
        ),
        item(
            DSA,
            "Art. 17(3)(e)",
            "The statement cites the terms-of-service clause relied on",
            coverage(notice, "with_rule", "the rule applied"),
        ),
        item(
            DSA,
            "Art. 17(3)(f)",
            "The statement gives the redress available",
            coverage(notice, "with_appeal_route", "a route to appeal"),
        ),
        item(
            DSA,
            "Art. 17 / 24(5)",
            "Statements of reasons are complete (Transparency Database fields)",
            statements_complete,
        ),
        item(
            DSA,
            "Art. 20(1)",
            "An internal complaint-handling system is available electronically",
            appeal_available,
        ),
        item(
            DSA,
            "Art. 20(1)",
            "Complaints are possible for at least six months",
            window,
        ),
        item(
            DSA,
            "Art. 20(1)",
            "Complaints are free of charge",
            declared(facts.free_of_charge, "appeals are free of charge"),
        ),
        item(DSA, "Art. 20(4)", "Complaints are handled in a timely manner", timely),
        item(
            DSA,
            "Art. 20(4)",
            "Complaints are handled without discrimination between languages and groups",
            non_discriminatory,
        ),
        item(
            DSA,
            "Art. 20(4)",
            "Decisions found wrong are reversed without undue delay",
            reversed,
        ),
        item(
            DSA,
            "Art. 20(5)",
            "The complainant gets a reasoned decision and information on out-of-court settlement",
            all(vec![
                reasoned,
                declared(
                    facts.out_of_court_settlement_info,
                    "decisions inform about out-of-court settlement",
                ),
            ]),
        ),
        item(
            DSA,
            "Art. 20(6)",
            "Decisions are not taken solely by automated means",
            declared(facts.human_review, "appeals are reviewed by a person"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appeal::metrics::AppealTest;
    use crate::appeal::{Sampling, SamplingMethod};

    fn time(events: u64, censored: u64) -> TimeToDecision {
        TimeToDecision {
            n: events + censored,
            events,
            censored,
            censored_at_deadline: censored,
            follow_up_secs: Some(2.0),
            median_secs: (events > censored).then_some(0.3),
            p90_secs: (censored == 0).then_some(0.5),
            curve: Vec::new(),
        }
    }

    /// A language with this many wrongful removals, appeals selected, decided and pending.
    fn language(value: &str, wrongful_removals: u64, selected: u64, decided: u64, pending: u64) -> AppealSlice {
        AppealSlice {
            dimension: Dimension::Language,
            value: value.into(),
            wrongful_removals,
            selected,
            filed: selected,
            failed: 0,
            decided,
            reversed: 0,
            pending_at_deadline: pending,
            followed: decided + pending,
            reversal_rate: None,
            reversal_ci: None,
            reversal_within_deadline: None,
            reversal_within_deadline_ci: None,
            time_to_decision: time(decided, pending),
            small_sample: false,
        }
    }

    fn comparison(group: &str, significant: bool) -> AppealDisparity {
        AppealDisparity {
            dimension: Dimension::Language,
            group: group.into(),
            reference: "all others".into(),
            measure: AppealMeasure::TimeToDecision,
            test: AppealTest::LogRank,
            group_n: 40,
            reference_n: 40,
            group_events: 10,
            reference_events: 40,
            value: None,
            reference_value: Some(0.3),
            ratio: None,
            ratio_ci: None,
            group_expected_events: Some(25.0),
            decision_rate_ratio: Some(0.2),
            statistic: Some(30.0),
            direction: Direction::Higher,
            tested: true,
            p_value: Some(if significant { 1e-6 } else { 0.4 }),
            p_adjusted: Some(if significant { 1e-5 } else { 0.8 }),
            significant,
            small_sample: false,
        }
    }

    fn probe(slices: Vec<AppealSlice>, disparities: Vec<AppealDisparity>) -> ProbeReport {
        let sum = |f: fn(&AppealSlice) -> u64| slices.iter().map(f).sum::<u64>();
        ProbeReport {
            wrongful_removals: sum(|s| s.wrongful_removals),
            sampling: Sampling {
                method: SamplingMethod::All,
                seed: 0,
                share: 1.0,
                max_appeals: None,
                budget: sum(|s| s.selected),
                strata: Vec::new(),
            },
            deadline_secs: 2.0,
            selected: sum(|s| s.selected),
            filed: sum(|s| s.filed),
            failed: 0,
            decided: sum(|s| s.decided),
            reversed: 0,
            upheld: sum(|s| s.decided),
            pending_at_deadline: sum(|s| s.pending_at_deadline),
            unfinished: 0,
            followed: sum(|s| s.followed),
            reversal_rate: None,
            reversal_ci: None,
            reversal_within_deadline: None,
            reversal_within_deadline_ci: None,
            time_to_decision: time(sum(|s| s.decided), sum(|s| s.pending_at_deadline)),
            decisions_with_reason: sum(|s| s.decided),
            slices,
            disparities,
            failures: Vec::new(),
        }
    }

    fn settings() -> AnalysisSettings {
        AnalysisSettings::default()
    }

    #[test]
    fn a_significant_difference_is_not_met_even_where_a_group_is_unmeasured() {
        let p = probe(
            vec![
                language("en", 40, 40, 10, 30),
                language("es", 40, 40, 40, 0),
                language("ar", 3, 0, 0, 0),
            ],
            vec![comparison("en", true), comparison("es", true)],
        );
        let (status, basis, evidence) = non_discrimination(&p, &settings());
        assert_eq!((status, basis), (ItemStatus::NotMet, Basis::Measured));
        assert!(
            evidence.contains("language en (slower to decide than all others: 10 of 40"),
            "{evidence}"
        );
        assert!(evidence.contains("adjusted p < 0.0001"), "{evidence}");
        assert!(
            evidence.contains("not measured: no decided appeal in language ar"),
            "{evidence}"
        );
    }

    #[test]
    fn a_group_without_decided_appeals_or_below_min_n_is_not_measurable() {
        let unappealed = probe(
            vec![
                language("en", 40, 40, 40, 0),
                language("es", 40, 40, 40, 0),
                language("ar", 3, 0, 0, 0),
            ],
            vec![comparison("en", false), comparison("es", false)],
        );
        let (status, _, evidence) = non_discrimination(&unappealed, &settings());
        assert_eq!(status, ItemStatus::NotMeasurable, "{evidence}");
        assert!(
            evidence.contains("no decided appeal in language ar (3 wrongful removals, 0 appealed, none decided)"),
            "{evidence}"
        );
        let thin = probe(
            vec![language("en", 40, 40, 40, 0), language("es", 40, 12, 12, 0)],
            vec![comparison("en", false), comparison("es", false)],
        );
        let (status, _, evidence) = non_discrimination(&thin, &settings());
        assert_eq!(status, ItemStatus::NotMeasurable, "{evidence}");
        assert!(
            evidence.contains("fewer than 30 decided appeals (the minimum n) in language es (12)"),
            "{evidence}"
        );
    }

    #[test]
    fn met_needs_every_group_with_wrongful_removals_measured_and_names_those_without() {
        let p = probe(
            vec![
                language("en", 40, 40, 40, 0),
                language("es", 0, 0, 0, 0),
                language("ar", 35, 35, 35, 0),
            ],
            vec![comparison("en", false), comparison("ar", false)],
        );
        let (status, basis, evidence) = non_discrimination(&p, &settings());
        assert_eq!((status, basis), (ItemStatus::Met, Basis::Measured), "{evidence}");
        assert!(evidence.contains("across 2 comparisons"), "{evidence}");
        assert!(
            evidence.contains("language es had no wrongful removals, so nothing to appeal"),
            "{evidence}"
        );
        let alone = probe(vec![language("en", 40, 40, 40, 0)], Vec::new());
        assert_eq!(non_discrimination(&alone, &settings()).0, ItemStatus::NotMeasurable);
    }

    #[test]
    fn appeal_items_are_not_met_on_missing_evidence() {
        let item = |items: &[ChecklistItem], text: &str| {
            items.iter().find(|i| i.item.contains(text)).map(|i| i.status).unwrap()
        };
        let notice = NoticeCoverage {
            adverse: 40,
            with_appeal_route: 40,
            ..NoticeCoverage::default()
        };
        let facts = DeclaredFacts::default();
        // every appeal pending: nothing decided, so no reasoning could be read
        let pending = probe(vec![language("en", 40, 40, 0, 40)], Vec::new());
        let items = checklist(&notice, Some(&pending), None, &facts, &settings());
        assert_eq!(item(&items, "told the result"), ItemStatus::NotMeasurable);
        assert_eq!(item(&items, "timely"), ItemStatus::NotMet);
        assert_eq!(item(&items, "without discrimination"), ItemStatus::NotMeasurable);
        // decided in time so far, but some appeals are not followed to an outcome yet
        let mut unfinished = probe(vec![language("en", 40, 40, 30, 0)], Vec::new());
        unfinished.unfinished = 10;
        let items = checklist(&notice, Some(&unfinished), None, &facts, &settings());
        assert_eq!(item(&items, "timely"), ItemStatus::NotMeasurable);
        assert_eq!(item(&items, "told the result"), ItemStatus::NotMeasurable);
        unfinished.unfinished = 0;
        let items = checklist(&notice, Some(&unfinished), None, &facts, &settings());
        assert_eq!(item(&items, "timely"), ItemStatus::Met);
        assert_eq!(item(&items, "told the result"), ItemStatus::Met);
    }
}
