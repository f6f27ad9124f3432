//! `junit.xml`: one test case per gate, so CI systems show which gate failed and
//! why. A run that could not complete adds a failing `run_completed` case.
//!
//! The file stays well-formed XML 1.0 whatever text it carries: characters XML
//! forbids (most C0 controls, U+FFFE, U+FFFF) and those that act rather than
//! show are written as a visible `<U+XXXX>` (see [`for_document`]), which the
//! XML writer then escapes like any other `<`.

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::visible::for_document;
use super::{Report, Status};

/// Renders the JUnit XML report.
pub fn render_junit(report: &Report) -> String {
    let mut suite = TestSuite::new(format!("modaudit gates: {}", for_document(&report.run.scenario)));
    for gate in &report.gates {
        let status = if gate.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(for_document(&gate.detail)).set_type("gate failed");
            status
        };
        let mut case = TestCase::new(for_document(&gate.name), status);
        case.set_classname("modaudit.gates");
        case.set_system_out(for_document(&gate.detail));
        suite.add_test_case(case);
    }
    if report.outcome.status == Status::Incomplete {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(format!(
                "{} cases undecided, {} errors ({:.1} % of cases; budget {:.1} %)",
                report.totals.pending,
                report.totals.errors,
                report.outcome.error_rate * 100.0,
                report.outcome.error_budget * 100.0
            ))
            .set_type("run incomplete");
        let mut case = TestCase::new("run_completed", status);
        case.set_classname("modaudit.run");
        suite.add_test_case(case);
    }
    let mut junit = JunitReport::new("modaudit");
    junit.add_test_suite(suite);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot serialise the JUnit report: {e} -->\n"))
}
