//! Notice and appeal: whether adverse decisions told the affected person what
//! happened and how to contest it; whether appeals reverse wrongful removals,
//! how fast, and equally for every language and group; whether statements of
//! reasons are complete; and how the evidence maps to the Santa Clara
//! Principles and the EU Digital Services Act.

use serde::{Deserialize, Serialize};

use crate::decision::DecisionIndex;
use crate::scenario::{DeclaredFacts, Plan};
use crate::statements::StatementsReport;
use metrics::probe_report;

mod metrics;
mod notice;
mod principles;
mod sampling;

pub use crate::journal::appeal::{AppealFiled, AppealIndex, AppealIntent, AppealOutcome, AppealResult, AppealState};
pub use metrics::{AppealDisparity, AppealMeasure, AppealSlice, AppealTest, Direction, ProbeReport, TimeToDecision};
pub use notice::{NOTICE_ELEMENTS, NoticeCoverage};
pub use principles::{Basis, ChecklistItem, ItemStatus, checklist};
pub use sampling::{Sampling, SamplingMethod, Stratum, selected};

/// Everything `results.json` says about notice and appeal (under `appeal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Availability {
    pub adverse: u64,
    /// Adverse decisions that offered a route to appeal.
    pub with_appeal_route: u64,
    pub share: Option<f64>,
}

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
        &plan.analysis,
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
