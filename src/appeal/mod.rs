//! Notice and appeal: whether adverse decisions told the affected person what
//! happened and how to contest it; whether appeals reverse wrongful removals,
//! how fast, and equally for every language and group; whether statements of
//! reasons are complete; and how the evidence maps to the Santa Clara
//! Principles and the EU Digital Services Act.

mod metrics;
mod notice;
mod principles;
mod probe;
mod records;
mod sampling;
pub mod statements;

pub use metrics::{
    AppealDisparity, AppealMeasure, AppealReport, AppealSlice, AppealTest, Availability, Direction, ProbeReport,
    TimeToDecision, appeal_report,
};
pub use notice::{NOTICE_ELEMENTS, NoticeCoverage};
pub use principles::{Basis, ChecklistItem, ItemStatus, checklist};
pub use probe::{ProbeSettings, probe_appeals};
pub use records::{AppealFiled, AppealIndex, AppealIntent, AppealOutcome, AppealResult, AppealState};
pub use sampling::{Sampling, SamplingMethod, Stratum};
