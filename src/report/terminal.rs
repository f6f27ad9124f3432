//! The short summary printed to the terminal when a run ends. Each value from
//! the scenario or the system stays on its own line ([`for_terminal_line`]), so
//! a name cannot make up lines of the summary; the CLI escapes the rest when it
//! prints.

use std::path::Path;

use super::visible::for_terminal_line;
use super::{Report, Status, language_name, percent, percent_interval};
use crate::analysis::Dimension;

/// Renders the terminal summary of a run written to `dir`.
pub fn render_terminal(report: &Report, dir: &Path) -> String {
    let mut out = format!(
        "modaudit · {} · {}\n",
        for_terminal_line(&report.run.scenario),
        for_terminal_line(&report.run.target_description)
    );
    for note in &report.run.target_notes {
        out.push_str(&format!("  note          {}\n", for_terminal_line(note)));
    }
    if report.run.model_snapshots.len() > 1 {
        out.push_str(&format!(
            "  models        {} — the model changed during the run\n",
            for_terminal_line(&report.run.model_snapshots_text())
        ));
    }
    if let Some(o) = report.slices.iter().find(|s| s.dimension == Dimension::Overall) {
        out.push_str(&format!(
            "  over-removal  {} of {} protected cases ({}, CI {})\n",
            o.protected_adverse,
            o.protected_n,
            o.over_removal_rate.map_or("–".into(), percent),
            percent_interval(o.over_removal_ci)
        ));
        out.push_str(&format!(
            "  detection     {} of {} violating cases ({})\n",
            o.violating_adverse,
            o.violating_n,
            o.detection_rate.map_or("–".into(), percent)
        ));
    }
    let worst = report
        .slices
        .iter()
        .filter(|s| s.dimension == Dimension::Language && !s.small_sample)
        .filter_map(|s| s.over_removal_rate.map(|r| (r, s)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((rate, s)) = worst {
        out.push_str(&format!(
            "  worst language {} ({} of {})\n",
            for_terminal_line(&language_name(&s.value)),
            percent(rate),
            s.protected_n
        ));
    }
    let tested: Vec<_> = report
        .disparities
        .iter()
        .filter(|d| d.tested && d.measure == crate::analysis::Measure::OverRemoval)
        .collect();
    out.push_str(&format!(
        "  disparities   {} significant of {} over-removal comparisons\n",
        tested.iter().filter(|d| d.significant).count(),
        tested.len()
    ));
    let n = &report.notice;
    out.push_str(&format!(
        "  notice        {} adverse decisions: {} with a reason, {} with an appeal route\n",
        n.adverse, n.with_reason, n.with_appeal_route
    ));
    if report.totals.errors + report.totals.unsupported + report.totals.pending > 0 {
        out.push_str(&format!(
            "  problems      {} errors, {} unsupported, {} pending\n",
            report.totals.errors, report.totals.unsupported, report.totals.pending
        ));
    }
    if let Some(limiting) = &report.run.rate_limiting {
        out.push_str(&format!(
            "  rate limited  {} answers 429 (too many requests){} · held back {:.1} s\n",
            limiting.responses,
            limiting
                .lowest_rate
                .map_or(String::new(), |rate| format!(" · pace lowered to {rate:.2} requests/s")),
            limiting.waited_secs
        ));
    }
    let failed = report.failed_gates();
    if !report.gates.is_empty() {
        out.push_str(&format!(
            "  gates         {} passed, {} failed",
            report.gates.len() - failed.len(),
            failed.len()
        ));
        if !failed.is_empty() {
            out.push_str(&format!(" ({})", for_terminal_line(&failed.join(", "))));
        }
        out.push('\n');
    }
    let status = match report.outcome.status {
        Status::Passed => "passed",
        Status::GatesFailed => "gates failed",
        Status::Incomplete => "incomplete",
    };
    out.push_str(&format!(
        "report: {}  [{status}, exit {}]\n",
        for_terminal_line(&dir.join("report.md").display().to_string()),
        report.outcome.exit_code
    ));
    out
}
