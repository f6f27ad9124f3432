//! GitHub Actions: a compact Markdown summary for the job's summary page (the
//! file `GITHUB_STEP_SUMMARY` names) and an `::error` workflow command per
//! failing gate, which the runner shows as an annotation.
//!
//! Both carry text from corpora, scenarios and the audited system. In the
//! summary it is escaped as in `report.md`. A workflow command is one line the
//! runner parses, so every value is first made one visible line (as on a
//! terminal) and then escaped by GitHub's rules: `%`, `\r` and `\n` in the
//! message, and `:` and `,` as well in a property. A value can then neither end
//! the command early nor start a command of its own.
//!
//! A run with a `[baseline]` adds the slices where it is worse than its
//! baseline: over-removal that rose or detection that fell, significantly after
//! correction, and every slice the regression gate found regressed.

use std::collections::BTreeSet;

use super::diff::{BaselineComparison, adjusted_p_clause, signed_points, slice_name};
use super::findings::Review;
use super::markdown::{code_span_content, escape};
use super::terminal::{quoted_interval, review_line};
use super::visible::{for_document, for_terminal_line};
use super::{Report, Status, percent};
use crate::analysis::{Dimension, Measure};
use crate::gates::{GateResult, GateStatus};

/// One measure that got worse than in the baseline run, as the summary shows it.
#[derive(Debug, Clone, PartialEq)]
struct Regression {
    /// What got worse, e.g. "Over-removal · Language: French (fr)".
    measure: String,
    /// Its rate in the baseline run.
    baseline: String,
    /// Its rate in this run.
    current: String,
    /// The change and the test that shows it.
    evidence: String,
}

/// The Markdown step summary of a run whose report is `report_file`: its gates,
/// its headline rates with their intervals, the corpora's review status, and
/// — when the run was compared with a baseline — the regressions found.
pub fn render_step_summary(report: &Report, report_file: &str) -> String {
    let status = match report.outcome.status {
        Status::Passed => "✅ passed",
        Status::GatesFailed => "❌ gates failed",
        Status::Incomplete => "⚠️ incomplete",
    };
    let mut out = format!(
        "### modaudit: {} — {status}\n\n{} · {} cases · run {}\n\n",
        text(&report.run.scenario),
        text(&report.run.target_description),
        report.totals.cases,
        code(&report.run.id)
    );
    out.push_str(&gates_table(&report.gates));
    out.push_str(&rates_table(report));
    out.push_str(&format!("**Review:** {}\n\n", text(&review_text(report))));
    if let Some(baseline) = &report.baseline {
        out.push_str(&regressions_section(&baseline.baseline.run_id, &regressions(baseline)));
    }
    out.push_str(&format!("Full report: {}\n\n", code(report_file)));
    out
}

fn gates_table(gates: &[GateResult]) -> String {
    if gates.is_empty() {
        return "The scenario sets no gates.\n\n".into();
    }
    let mut out = String::from("| Gate | Threshold | Value | Status |\n| --- | ---: | ---: | --- |\n");
    for gate in gates {
        out.push_str(&format!(
            "| {} | {}{:.4} | {} | {} |\n",
            text(&gate.name),
            bound(&gate.name),
            gate.threshold,
            gate.value.map_or("–".into(), |v| format!("{v:.4}")),
            match gate.status {
                GateStatus::Passed => "✅ passed",
                GateStatus::Failed => "❌ failed",
                GateStatus::NotMeasurable => "❌ not measurable",
            }
        ));
    }
    out.push('\n');
    out
}

/// "≤ " for a maximum, "≥ " for a minimum (gate names say which).
fn bound(name: &str) -> &'static str {
    if name.starts_with("max_") {
        "≤ "
    } else if name.starts_with("min_") {
        "≥ "
    } else {
        ""
    }
}

fn rates_table(report: &Report) -> String {
    let Some(overall) = report.slices.iter().find(|s| s.dimension == Dimension::Overall) else {
        return String::new();
    };
    let confidence = report
        .findings
        .iter()
        .find(|f| f.id == "overall.over_removal")
        .and_then(|f| f.evidence.interval.as_ref())
        .map_or(report.settings.confidence, |i| i.confidence);
    let mut out = format!(
        "| Rate | Value | Cases | {:.0} % CI |\n| --- | ---: | ---: | ---: |\n",
        confidence * 100.0
    );
    for (what, rate, count, n, finding) in [
        (
            "Over-removal of protected cases",
            overall.over_removal_rate,
            overall.protected_adverse,
            overall.protected_n,
            "overall.over_removal",
        ),
        (
            "Detection of violating cases",
            overall.detection_rate,
            overall.violating_adverse,
            overall.violating_n,
            "overall.detection",
        ),
    ] {
        out.push_str(&format!(
            "| {what} | {} | {count} of {n} | {} |\n",
            rate.map_or("–".into(), percent),
            quoted_interval(report, finding)
        ));
    }
    out.push('\n');
    out
}

fn review_text(report: &Report) -> String {
    review_line(report).unwrap_or_else(|| {
        let reviewed = report
            .corpora
            .iter()
            .all(|c| c.review_status.iter().all(|r| r.review == Review::Reviewed));
        if reviewed {
            "every corpus declares its cases reviewed".into()
        } else {
            "no corpus declares a review status".into()
        }
    })
}

/// The slices where the run is worse than its baseline: over-removal that rose
/// or detection that fell, significantly after correction, and every slice the
/// regression gate found regressed (on point estimates alone when strict).
fn regressions(baseline: &BaselineComparison) -> Vec<Regression> {
    let gated: BTreeSet<&str> = baseline
        .gate
        .iter()
        .flat_map(|gate| gate.regressions())
        .map(|check| check.slice.as_str())
        .collect();
    let rate = |rate: Option<f64>| rate.map_or("–".into(), percent);
    baseline
        .slices
        .iter()
        .filter(|s| {
            let worse = s.change.is_some_and(|change| match s.measure {
                Measure::OverRemoval => change > 0.0,
                Measure::Detection => change < 0.0,
            });
            (s.significant && worse) || gated.contains(s.key().as_str())
        })
        .map(|s| Regression {
            measure: format!(
                "{} · {}",
                match s.measure {
                    Measure::OverRemoval => "Over-removal",
                    Measure::Detection => "Detection",
                },
                slice_name(s.dimension, &s.value)
            ),
            baseline: rate(s.a.rate),
            current: rate(s.b.rate),
            evidence: format!(
                "{}{}, {}, n = {}",
                s.change.map_or("–".into(), signed_points),
                s.change_ci.map_or(String::new(), |[lo, hi]| format!(
                    " ({:+.1} to {:+.1})",
                    lo * 100.0,
                    hi * 100.0
                )),
                adjusted_p_clause(s.p_adjusted),
                s.n
            ),
        })
        .collect()
}

fn regressions_section(baseline_run: &str, regressions: &[Regression]) -> String {
    if regressions.is_empty() {
        return format!("**Baseline** {}: no regression.\n\n", code(baseline_run));
    }
    let mut out = format!(
        "#### Regressions against the baseline {}\n\n| Measure | Baseline | This run | Evidence |\n| --- | ---: | ---: | --- |\n",
        code(baseline_run)
    );
    for r in regressions {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            text(&r.measure),
            text(&r.baseline),
            text(&r.current),
            text(&r.evidence)
        ));
    }
    out.push('\n');
    out
}

/// Text from anywhere, for the summary: hidden characters shown, Markdown escaped.
fn text(value: &str) -> String {
    escape(&for_document(value))
}

/// A code span that its content cannot close.
fn code(value: &str) -> String {
    format!("`{}`", code_span_content(&for_document(value)))
}

/// One `::error` workflow command per gate that failed or could not be
/// measured, and one when the run is incomplete; each on its own line.
pub fn render_annotations(report: &Report) -> String {
    let scenario = &report.run.scenario;
    let mut out = String::new();
    for gate in report.gates.iter().filter(|g| !g.passed) {
        let what = match gate.status {
            GateStatus::NotMeasurable => "could not be measured",
            GateStatus::Passed | GateStatus::Failed => "failed",
        };
        out.push_str(&error_command(
            &format!("{scenario}: gate {} {what}", gate.name),
            &gate.detail,
        ));
    }
    if report.outcome.status == Status::Incomplete {
        out.push_str(&error_command(
            &format!("{scenario}: run incomplete"),
            &format!(
                "{} cases undecided, {} ended in error ({} of cases; the error budget is {})",
                report.totals.pending,
                report.totals.errors,
                percent(report.outcome.error_rate),
                percent(report.outcome.error_budget)
            ),
        ));
    }
    out
}

/// `::error title=TITLE::MESSAGE` and a line feed.
fn error_command(title: &str, message: &str) -> String {
    format!(
        "::error title={}::{}\n",
        escape_property(&for_terminal_line(title)),
        escape_data(&for_terminal_line(message))
    )
}

/// A workflow command's message, escaped as GitHub's runner unescapes it.
pub fn escape_data(value: &str) -> String {
    value.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: as [`escape_data`], and `:` and `,`,
/// which end a property, too.
pub fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_values_are_escaped_percent_first() {
        assert_eq!(escape_data("100%\r\n::x"), "100%25%0D%0A::x");
        assert_eq!(escape_property("a:b,c%3A\n"), "a%3Ab%2Cc%253A%0A");
    }

    #[test]
    fn an_error_command_is_one_line_whatever_its_text() {
        let line = error_command("t: x,\n::warning::y", "m\r\n::add-mask::z\u{1b}[2J");
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            line.starts_with("::error title=t%3A x%2C\\n%3A%3Awarning%3A%3Ay::m\\r\\n::add-mask::z\\x1b[2J"),
            "{line}"
        );
    }

    #[test]
    fn bounds_follow_the_gate_name() {
        assert_eq!(bound("max_error_rate"), "≤ ");
        assert_eq!(bound("min_detection_rate"), "≥ ");
        assert_eq!(bound("other"), "");
    }

    #[test]
    fn regressions_are_escaped_table_rows() {
        let rows = [Regression {
            measure: "over-removal | language = x\n# h".into(),
            baseline: "10.0 %".into(),
            current: "<b>25.0 %</b>".into(),
            evidence: "p = 0.01".into(),
        }];
        let section = regressions_section("run`x", &rows);
        assert!(
            section.starts_with("#### Regressions against the baseline `runx`\n"),
            "{section}"
        );
        assert!(
            section.contains("| over-removal \\| language = x # h | 10.0 % | &lt;b&gt;25.0 %&lt;/b&gt; | p = 0.01 |"),
            "{section}"
        );
        assert_eq!(regressions_section("a", &[]), "**Baseline** `a`: no regression.\n\n");
    }
}
