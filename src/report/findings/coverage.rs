//! What the system could not, or did not yet, decide: languages it declared
//! it cannot moderate (counted against every case of that language), cases
//! that ended in error, and cases still pending.

use super::{Evidence, Finding, FindingKind, GroupRate};
use crate::report::summary::{join_and, prose_language_name};
use crate::report::{Report, UnsupportedLanguage, count_of};

/// "5 of the 10 Arabic cases", "all 3 Hausa cases", "the only Spanish case".
pub(super) fn unsupported_cases(u: &UnsupportedLanguage) -> String {
    let name = prose_language_name(&u.language);
    match (u.cases == u.language_cases, u.language_cases) {
        (true, 1) => format!("the only {name} case"),
        (true, n) => format!("all {n} {name} cases"),
        (false, n) => format!("{} of the {n} {name} cases", u.cases),
    }
}

pub(super) fn findings(report: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    if !report.unsupported.is_empty() {
        let parts: Vec<String> = report.unsupported.iter().map(unsupported_cases).collect();
        let total: u64 = report.unsupported.iter().map(|u| u.cases).sum();
        out.push(Finding::new(
            "coverage.unsupported",
            FindingKind::Coverage,
            format!(
                "The system declared it could not moderate {}; {} left out of every rate.",
                join_and(&parts),
                if total == 1 { "that case is" } else { "those cases are" }
            ),
            Evidence {
                n: Some(report.totals.cases),
                count: Some(report.totals.unsupported),
                groups: report
                    .unsupported
                    .iter()
                    .map(|u| GroupRate::new(&u.language, u.cases, u.language_cases))
                    .collect(),
                ..Evidence::default()
            },
        ));
    }
    let t = &report.totals;
    if t.errors > 0 {
        out.push(Finding::new(
            "coverage.errors",
            FindingKind::Coverage,
            format!(
                "{} of {} cases could not be decided because of errors; they are left out of every rate.",
                t.errors, t.cases
            ),
            Evidence {
                n: Some(t.cases),
                count: Some(t.errors),
                rate: (t.cases > 0).then(|| t.errors as f64 / t.cases as f64),
                counts: report.errors.iter().map(|e| (e.reason.clone(), e.cases)).collect(),
                ..Evidence::default()
            },
        ));
    }
    if t.pending > 0 {
        out.push(Finding::new(
            "coverage.incomplete",
            FindingKind::Coverage,
            format!(
                "The run is incomplete: {} of {} cases have not been decided yet.",
                t.pending, t.cases
            ),
            Evidence {
                n: Some(t.cases),
                count: Some(t.pending),
                note: Some(format!(
                    "{} decided so far",
                    count_of(t.decided, "case was", "cases were")
                )),
                ..Evidence::default()
            },
        ));
    }
    out
}
