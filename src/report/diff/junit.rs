//! The comparison's `junit.xml`: with a regression gate, one test case per
//! over-removal slice the gate checked, failing where over-removal regressed
//! and listing the cases newly removed there; without one, a single passing
//! case. Text is made visible (see [`for_document`]) before the XML writer
//! escapes it.

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::view::status_line;
use super::{Flip, RunDiff};
use crate::corpus::Label;
use crate::gates::GateStatus;
use crate::report::visible::for_document;

/// Most newly removed cases a failing test case lists.
const MAX_CASES_PER_SLICE: usize = 100;

/// Renders the comparison's JUnit XML.
pub fn render_junit(diff: &RunDiff) -> String {
    let mut suite = TestSuite::new(format!(
        "modaudit diff: {} → {}",
        for_document(&diff.a.run_id),
        for_document(&diff.b.run_id)
    ));
    match &diff.gate {
        None => {
            let mut case = TestCase::new("compared", TestCaseStatus::success());
            case.set_classname("modaudit.diff");
            case.set_system_out(for_document(&status_line(diff)));
            suite.add_test_case(case);
        }
        Some(gate) if gate.status == GateStatus::NotMeasurable => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message("no protected case was decided in both runs")
                .set_type("gate not measurable");
            let mut case = TestCase::new("over_removal.overall", status);
            case.set_classname("modaudit.diff.max_regression");
            suite.add_test_case(case);
        }
        Some(gate) => {
            for check in &gate.checked {
                let detail = for_document(&check.detail).into_owned();
                let status = if check.regressed {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(detail.clone()).set_type("regression");
                    status
                } else {
                    TestCaseStatus::success()
                };
                let mut case = TestCase::new(for_document(&check.slice), status);
                case.set_classname("modaudit.diff.max_regression");
                let mut out = detail;
                if check.regressed {
                    out.push_str(&newly_removed(diff, check.dimension, &check.value));
                }
                case.set_system_out(out);
                suite.add_test_case(case);
            }
        }
    }
    let mut junit = JunitReport::new("modaudit diff");
    junit.add_test_suite(suite);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot serialise the JUnit report: {e} -->\n"))
}

/// The protected cases of a slice that run B newly removed, one per line.
fn newly_removed(diff: &RunDiff, dimension: crate::analysis::Dimension, value: &str) -> String {
    let cases: Vec<_> = diff
        .flips
        .iter()
        .filter(|f| f.flip == Flip::NewlyAdverse && f.label == Label::Protected && f.in_slice(dimension, value))
        .collect();
    let mut out = format!("\nProtected cases newly adverse in run B ({}):", cases.len());
    for case in cases.iter().take(MAX_CASES_PER_SLICE) {
        out.push_str(&format!(
            "\n{} [{}] {} → {}: {}",
            for_document(&case.case_id),
            for_document(&case.lang),
            case.a,
            case.b,
            for_document(&case.text).replace(['\n', '\r'], " ")
        ));
    }
    if cases.len() > MAX_CASES_PER_SLICE {
        out.push_str(&format!(
            "\n… and {} more in diff.json",
            cases.len() - MAX_CASES_PER_SLICE
        ));
    }
    out
}
