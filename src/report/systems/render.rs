//! The renderers of a run of several targets: one view (sections of
//! sentences and tables of plain text) feeds Markdown and HTML, so both say
//! the same; JUnit has a case per gate of each target, and the terminal a
//! short summary. Every text from the scenario or the systems is escaped by
//! the renderer that writes it.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::super::markdown::escape as markdown_escape;
use super::super::visible::{for_document, for_terminal_line};
use super::super::{Status, language_name, percent, percent_interval};
use super::{PairedDifference, SystemsReport, TargetReport};
use crate::analysis::{Dimension, Measure};

/// A cell of a table: text, or the relative path of a file of the run.
enum Cell {
    Text(String),
    Link(String),
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

/// One section of the report.
struct Section {
    title: String,
    sentences: Vec<String>,
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Section {
    fn new(title: impl Into<String>) -> Section {
        Section {
            title: title.into(),
            sentences: Vec::new(),
            header: Vec::new(),
            rows: Vec::new(),
        }
    }
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::GatesFailed => "a gate failed",
        Status::Incomplete => "incomplete",
    }
}

fn rate_text(rate: Option<f64>, ci: Option<[f64; 2]>, adverse: u64, n: u64) -> String {
    match rate {
        Some(rate) => format!("{} ({}), {adverse} of {n}", percent(rate), percent_interval(ci)),
        None => "– (n 0)".into(),
    }
}

fn slice_name(dimension: Dimension, value: &str) -> String {
    match dimension {
        Dimension::Language => language_name(value),
        _ => super::super::summary::group_name(dimension, value),
    }
}

fn p_cell(p: Option<f64>) -> String {
    p.map_or("–".into(), crate::report::diff::format_p)
}

fn difference_cell(d: &PairedDifference) -> String {
    match d.difference {
        Some(difference) => format!(
            "{:+.1} points ({})",
            difference * 100.0,
            d.difference_ci.map_or("–".into(), |[lower, upper]| format!(
                "{:+.1} to {:+.1}",
                lower * 100.0,
                upper * 100.0
            ))
        ),
        None => "–".into(),
    }
}

fn overall_rate(target: &TargetReport, measure: Measure) -> String {
    target
        .report
        .slices
        .iter()
        .find(|s| s.dimension == Dimension::Overall)
        .map_or("–".into(), |s| match measure {
            Measure::OverRemoval => rate_text(
                s.over_removal_rate,
                s.over_removal_ci,
                s.protected_adverse,
                s.protected_n,
            ),
            Measure::Detection => rate_text(s.detection_rate, s.detection_ci, s.violating_adverse, s.violating_n),
        })
}

fn sections(report: &SystemsReport) -> Vec<Section> {
    let mut out = Vec::new();
    let mut systems = Section::new("Systems compared");
    systems.sentences.push(format!(
        "{} systems decided the same {} cases. Each system's full report is in its own directory; over-removal is adverse action on protected posts, detection on violating posts (rate, {} interval, count).",
        report.targets.len(),
        report.run.cases,
        "Wilson"
    ));
    systems.header = ["System", "Target", "Over-removal", "Detection", "Gates", "Report"]
        .map(String::from)
        .to_vec();
    for target in &report.targets {
        let failed = target.report.failed_gates();
        let gates = if target.report.gates.is_empty() {
            "none set".to_string()
        } else if failed.is_empty() {
            "passed".to_string()
        } else {
            format!("failed: {}", failed.join(", "))
        };
        systems.rows.push(vec![
            target.label.clone().into(),
            target.report.run.target_description.clone().into(),
            overall_rate(target, Measure::OverRemoval).into(),
            overall_rate(target, Measure::Detection).into(),
            gates.into(),
            Cell::Link(format!("targets/{}/report.md", target.label)),
        ]);
    }
    out.push(systems);

    for (dimension, by) in [(Dimension::Language, "language"), (Dimension::TargetGroup, "group")] {
        for measure in Measure::ALL {
            let mut section = Section::new(format!("{} by {by}", measure.title()));
            section.header = std::iter::once(by.to_string())
                .chain(report.targets.iter().map(|t| t.label.clone()))
                .collect();
            for rates in report
                .comparison
                .rates
                .iter()
                .filter(|r| r.measure == measure && r.dimension == dimension)
            {
                let mut row: Vec<Cell> = vec![slice_name(dimension, &rates.value).into()];
                row.extend(rates.systems.iter().map(|s| {
                    let small = if s.small_sample && s.n > 0 { " (small n)" } else { "" };
                    Cell::Text(format!("{}{small}", rate_text(s.rate, s.ci, s.adverse, s.n)))
                }));
                section.rows.push(row);
            }
            out.push(section);
        }
    }

    for measure in Measure::ALL {
        let mut section = Section::new(format!(
            "Differences between systems: {}",
            measure.title().to_lowercase()
        ));
        section.sentences.push(
            "Each pair of systems on the posts both decided: the difference of their rates (first minus second, Newcombe's paired interval) and the exact McNemar test of the posts on which they disagree, corrected within each dimension. Slices with fewer posts than the minimum n are described, not tested."
                .into(),
        );
        section.header = [
            "Systems",
            "Slice",
            "n",
            "first only",
            "second only",
            "Difference",
            "p (exact McNemar)",
            "p adjusted",
            "Significant",
        ]
        .map(String::from)
        .to_vec();
        for d in report.comparison.differences.iter().filter(|d| d.measure == measure) {
            let slice = match d.dimension {
                Dimension::Overall => "overall".to_string(),
                dimension => format!("{}: {}", dimension.as_str(), slice_name(dimension, &d.value)),
            };
            section.rows.push(vec![
                format!("{} vs {}", d.a, d.b).into(),
                slice.into(),
                d.n.to_string().into(),
                d.only_a.to_string().into(),
                d.only_b.to_string().into(),
                difference_cell(d).into(),
                p_cell(d.p_value).into(),
                p_cell(d.p_adjusted).into(),
                (if d.significant { "yes" } else { "no" }).to_string().into(),
            ]);
        }
        out.push(section);
    }

    let mut agreement = Section::new("Agreement between systems");
    agreement.sentences.push(
        "Cohen's κ of adverse versus not adverse on every post both systems decided (1: always the same decision; 0: no more often than chance)."
            .into(),
    );
    agreement.header = ["Systems", "n", "Agreement", "κ", "Interval"]
        .map(String::from)
        .to_vec();
    for a in &report.comparison.agreement {
        agreement.rows.push(vec![
            format!("{} vs {}", a.a, a.b).into(),
            a.n.to_string().into(),
            a.observed.map_or("–".into(), percent).into(),
            a.kappa.map_or("–".into(), |k| format!("{k:.3}")).into(),
            a.ci.map_or("–".into(), |[lower, upper]| format!("{lower:.3} to {upper:.3}"))
                .into(),
        ]);
    }
    out.push(agreement);

    let mut unsupported = Section::new("What each system cannot moderate");
    unsupported.header = ["System", "Language", "Cases", "What it said"]
        .map(String::from)
        .to_vec();
    for system in &report.comparison.unsupported {
        if system.languages.is_empty() {
            unsupported
                .sentences
                .push(format!("{} declared no language unsupported.", system.label));
        }
        for language in &system.languages {
            unsupported.rows.push(vec![
                system.label.clone().into(),
                language_name(&language.language).into(),
                format!("{} of {}", language.cases, language.language_cases).into(),
                language.reason.clone().into(),
            ]);
        }
    }
    out.push(unsupported);

    let mut findings = Section::new("Findings");
    findings
        .sentences
        .extend(report.comparison.findings.iter().map(|f| f.text.clone()));
    out.push(findings);
    out
}

fn title(report: &SystemsReport) -> String {
    format!("Comparison of systems: {}", report.run.scenario)
}

fn run_line(report: &SystemsReport) -> String {
    format!(
        "Run {} · status: {} · systems: {}",
        report.run.id,
        status_text(report.outcome.status),
        report
            .targets
            .iter()
            .map(|t| t.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `report.md` of a run of several targets.
pub fn render_systems_markdown(report: &SystemsReport) -> String {
    let mut out = format!(
        "# {}\n\n{}\n",
        markdown_escape(&title(report)),
        markdown_escape(&run_line(report))
    );
    for section in sections(report) {
        out.push_str(&format!("\n## {}\n\n", markdown_escape(&section.title)));
        for sentence in &section.sentences {
            out.push_str(&format!("{}\n\n", markdown_escape(sentence)));
        }
        if section.rows.is_empty() {
            continue;
        }
        let header: Vec<String> = section.header.iter().map(|h| markdown_escape(h)).collect();
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for row in &section.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(text) => markdown_escape(text),
                    Cell::Link(path) => format!("[{0}]({0})", markdown_escape(path)),
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    out
}

/// Text for HTML: the markup characters as entities, and what XML forbids
/// made visible.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in for_document(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `report.html` of a run of several targets: self-contained, no script.
pub fn render_systems_html(report: &SystemsReport) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"modaudit {}\">\n<title>{}</title>\n\
         <style>body {{ font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }} \
         table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }} \
         th, td {{ border-bottom: 1px solid #e4e4e4; padding: .3rem .5rem; text-align: left; }} th {{ background: #f6f6f6; }}</style>\n\
         </head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n",
        html(env!("CARGO_PKG_VERSION")),
        html(&title(report)),
        html(&title(report)),
        html(&run_line(report))
    );
    for section in sections(report) {
        out.push_str(&format!("<section>\n<h2>{}</h2>\n", html(&section.title)));
        for sentence in &section.sentences {
            out.push_str(&format!("<p>{}</p>\n", html(sentence)));
        }
        if !section.rows.is_empty() {
            out.push_str("<table>\n<tr>");
            for h in &section.header {
                out.push_str(&format!("<th>{}</th>", html(h)));
            }
            out.push_str("</tr>\n");
            for row in &section.rows {
                out.push_str("<tr>");
                for cell in row {
                    match cell {
                        Cell::Text(text) => out.push_str(&format!("<td>{}</td>", html(text))),
                        Cell::Link(path) => {
                            let html_path = path.replace("report.md", "report.html");
                            out.push_str(&format!("<td><a href=\"{0}\">{0}</a></td>", html(&html_path)));
                        }
                    }
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// `junit.xml` of a run of several targets: a case per gate of each target
/// (class `modaudit.gates.<label>`), and a failing `run_completed` case per
/// target that could not complete.
pub fn render_systems_junit(report: &SystemsReport) -> String {
    let mut suite = TestSuite::new(format!("modaudit gates: {}", for_document(&report.run.scenario)));
    for target in &report.targets {
        let class = format!("modaudit.gates.{}", target.label);
        for gate in &target.report.gates {
            let status = if gate.passed {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(for_document(&gate.detail)).set_type("gate failed");
                status
            };
            let mut case = TestCase::new(for_document(&gate.name), status);
            case.set_classname(class.as_str());
            case.set_system_out(for_document(&gate.detail));
            suite.add_test_case(case);
        }
        if target.report.outcome.status == Status::Incomplete {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(format!(
                    "{} cases undecided, {} errors",
                    target.report.totals.pending, target.report.totals.errors
                ))
                .set_type("run incomplete");
            let mut case = TestCase::new("run_completed", status);
            case.set_classname(format!("modaudit.run.{}", target.label));
            suite.add_test_case(case);
        }
    }
    let mut junit = JunitReport::new("modaudit");
    junit.add_test_suite(suite);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot serialise the JUnit report: {e} -->\n"))
}

/// The terminal summary of a run of several targets written to `dir`.
pub fn render_systems_terminal(report: &SystemsReport, dir: &Path) -> String {
    let mut out = format!(
        "modaudit · {} · {} systems compared\n",
        for_terminal_line(&report.run.scenario),
        report.targets.len()
    );
    for target in &report.targets {
        out.push_str(&format!(
            "  {}  ({})\n    over-removal  {}\n    detection     {}\n",
            for_terminal_line(&target.label),
            for_terminal_line(&target.report.run.target_description),
            overall_rate(target, Measure::OverRemoval),
            overall_rate(target, Measure::Detection)
        ));
        for gate in &target.report.gates {
            out.push_str(&format!(
                "    gate {} {}\n",
                for_terminal_line(&gate.name),
                if gate.passed { "passed" } else { "FAILED" }
            ));
        }
    }
    for d in report
        .comparison
        .differences
        .iter()
        .filter(|d| d.dimension == Dimension::Overall)
    {
        out.push_str(&format!(
            "  {} vs {}, {}: {} ({})\n",
            for_terminal_line(&d.a),
            for_terminal_line(&d.b),
            d.measure.title().to_lowercase(),
            difference_cell(d),
            d.p_adjusted.map_or_else(
                || "not tested".to_string(),
                |p| crate::report::summary::p_text("exact McNemar p", p)
            )
        ));
    }
    out.push_str(&format!(
        "  status        {}\n  report        {}\n",
        status_text(report.outcome.status),
        for_terminal_line(&dir.join("report.md").display().to_string())
    ));
    out
}
