//! The principles checklist: measured evidence mapped to the Santa Clara
//! Principles 2.0 (notice and appeal) and to the EU Digital Services Act,
//! Art. 17 (statement of reasons) and Art. 20 (internal complaint handling).
//!
//! Each item is `met`, `not_met` or `not_measurable` from this run, with the
//! evidence that decided it. Facts a run cannot observe may be declared in the
//! scenario; such items say `declared`, never `measured`.

use serde::{Deserialize, Serialize};

use super::metrics::{AppealMeasure, ProbeReport};
use super::notice::NoticeCoverage;
use super::statements::StatementsReport;
use crate::scenario::DeclaredFacts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Met,
    NotMet,
    NotMeasurable,
}

/// Where an item's status comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Measured,
    Declared,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Builds the checklist.
pub fn checklist(
    notice: &NoticeCoverage,
    probe: Option<&ProbeReport>,
    statements: Option<&StatementsReport>,
    facts: &DeclaredFacts,
    alpha: f64,
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
        Some(p) if p.decided > 0 || p.pending_at_deadline > 0 => f(p),
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
        let ok = p.decided > 0 && p.decisions_with_reason == p.decided;
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
        let rate = p.reversal_rate.map_or("–".into(), |r| format!("{:.1} %", r * 100.0));
        (
            if ok { ItemStatus::Met } else { ItemStatus::NotMet },
            Basis::Measured,
            format!(
                "{} of {} decided appeals against removals of protected speech were reversed ({rate}); {} still pending at the deadline",
                p.reversed, p.decided, p.pending_at_deadline
            ),
        )
    });
    let timely = needs_appeals(&|p| {
        let median = p
            .time_to_decision
            .median_secs
            .map_or("–".into(), |m| format!("{m:.1} s"));
        let p90 = p.time_to_decision.p90_secs.map_or("–".into(), |m| format!("{m:.1} s"));
        (
            if p.pending_at_deadline == 0 {
                ItemStatus::Met
            } else {
                ItemStatus::NotMet
            },
            Basis::Measured,
            format!(
                "{} appeals undecided at the deadline; time to decision median {median}, 90th percentile {p90}",
                p.pending_at_deadline
            ),
        )
    });
    let non_discriminatory = needs_appeals(&|p| {
        let significant: Vec<String> = p
            .disparities
            .iter()
            .filter(|d| d.significant)
            .map(|d| {
                let what = match d.measure {
                    AppealMeasure::ReversalRate => "reversal rate",
                    AppealMeasure::TimeToDecision => "time to decision",
                };
                format!(
                    "{} {} ({what} {:.2}× {}, adjusted p = {:.4})",
                    d.dimension.as_str(),
                    d.group,
                    d.ratio.unwrap_or(f64::NAN),
                    d.reference,
                    d.p_adjusted
                )
            })
            .collect();
        if p.disparities.is_empty() {
            (
                ItemStatus::NotMeasurable,
                Basis::None,
                "too few decided appeals to compare groups".into(),
            )
        } else if significant.is_empty() {
            (
                ItemStatus::Met,
                Basis::Measured,
                format!(
                    "no significant difference in reversal rate or time across {} comparisons (α = {alpha})",
                    p.disparities.len()
                ),
            )
        } else {
            (
                ItemStatus::NotMet,
                Basis::Measured,
                format!("significant differences: {}", significant.join("; ")),
            )
        }
    });
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
