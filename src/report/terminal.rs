//! The short summary printed to the terminal when a run ends: the headline
//! findings, each only as far as its evidence goes (no language is "worst"
//! unless the tests single it out). Each value from the scenario or the system
//! stays on its own line ([`for_terminal_line`]), so a name cannot make up
//! lines of the summary; the CLI escapes the rest when it prints.

use std::path::Path;

use super::findings::{Finding, FindingKind, Review};
use super::summary::{group_name, nouns, p_text, rate_interval_text};
use super::visible::for_terminal_line;
use super::{Report, Status, count_of, percent, threshold_text};
use crate::analysis::Dimension;

/// Renders the terminal summary of a run written to `dir`.
pub fn render_terminal(report: &Report, dir: &Path) -> String {
    let mut out = format!(
        "modaudit · {} · {}\n",
        for_terminal_line(&report.run.scenario),
        for_terminal_line(&report.run.target_description)
    );
    if let Some(o) = &report.settings.threshold_override {
        out.push_str(&format!(
            "  re-analysis   at threshold {}, not what the system did (it ran at {}): {} re-derived from stored scores, {} kept\n",
            threshold_text(o.threshold),
            threshold_text(o.run_threshold),
            count_of(o.rederived, "case", "cases"),
            o.kept
        ));
    }
    for note in &report.run.target_notes {
        out.push_str(&format!("  note          {}\n", for_terminal_line(note)));
    }
    if report.run.model_snapshots.len() > 1 {
        out.push_str(&format!(
            "  models        {} — the model changed during the run\n",
            for_terminal_line(&report.run.model_snapshots_text())
        ));
    }
    if let Some(corpus) = review_line(report) {
        out.push_str(&format!("  corpus        {}\n", for_terminal_line(&corpus)));
    }
    if let Some(o) = report.slices.iter().find(|s| s.dimension == Dimension::Overall) {
        out.push_str(&format!(
            "  over-removal  {} of {} protected cases ({}, CI {})\n",
            o.protected_adverse,
            o.protected_n,
            o.over_removal_rate.map_or("–".into(), percent),
            quoted_interval(report, "overall.over_removal")
        ));
        out.push_str(&format!(
            "  detection     {} of {} violating cases ({}, CI {})\n",
            o.violating_adverse,
            o.violating_n,
            o.detection_rate.map_or("–".into(), percent),
            quoted_interval(report, "overall.detection")
        ));
    }
    out.push_str(&headline_findings(report));
    if let Some(baseline) = &report.baseline {
        out.push_str(&super::diff::baseline_line(baseline));
    }
    if let Some(p) = &report.perturbation {
        let evaded: Vec<String> = p
            .results
            .evasion
            .iter()
            .filter(|t| t.overall.n > 0)
            .map(|t| format!("{} {} of {}", t.transform.as_str(), t.overall.count, t.overall.n))
            .collect();
        if !evaded.is_empty() {
            out.push_str(&format!("  evasion       {}\n", evaded.join(" · ")));
        }
        if let Some(d) = &p.results.directional {
            out.push_str(&format!(
                "  quoted        {} of {} quotations actioned while their post was not\n",
                d.overall.count, d.overall.n
            ));
        }
    }
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

/// The interval the summary quotes for a finding (cluster-robust where there is one).
pub(super) fn quoted_interval(report: &Report, id: &str) -> String {
    report
        .findings
        .iter()
        .find(|f| f.id == id)
        .and_then(|f| f.evidence.interval.as_ref())
        .map_or("–".into(), rate_interval_text)
}

/// The corpus's declared review status when it is not "reviewed".
pub(super) fn review_line(report: &Report) -> Option<String> {
    let mut statuses: Vec<String> = Vec::new();
    for c in &report.corpora {
        if c.review_status.is_empty() {
            statuses.push(format!("{}: no review status declared", c.name));
        }
        for r in c.review_status.iter().filter(|r| r.review != Review::Reviewed) {
            if !statuses.contains(&r.status) {
                statuses.push(r.status.clone());
            }
        }
    }
    (!statuses.is_empty()).then(|| format!("not reviewed: {} (rates are not prevalence)", statuses.join("; ")))
}

fn of_kind(report: &Report, kind: FindingKind) -> impl Iterator<Item = &Finding> {
    report.findings.iter().filter(move |f| f.kind == kind)
}

/// The groups lines: an extreme language only where the tests support it, the
/// disparities counted by dimension, and those adjustment removes.
fn headline_findings(report: &Report) -> String {
    let mut out = String::new();
    let language = |f: &&Finding| f.evidence.dimension == Some(Dimension::Language);
    for f in of_kind(report, FindingKind::Extreme).filter(language) {
        let e = &f.evidence;
        let side = if f.id.ends_with(".most") {
            "most removed "
        } else {
            "least removed"
        };
        let tied = match e.tied_with.len() {
            0 => String::new(),
            k => format!(" · not distinguishable from {}", count_of(k as u64, "other", "others")),
        };
        out.push_str(&format!(
            "  {side} {} ({} of {}, {}){tied}\n",
            for_terminal_line(&group_name(Dimension::Language, e.group.as_deref().unwrap_or_default())),
            e.rate.map_or("–".into(), percent),
            e.n.unwrap_or(0),
            p_text("adjusted p", e.p_adjusted.unwrap_or(1.0))
        ));
    }
    for f in of_kind(report, FindingKind::NoExtreme).filter(language) {
        let omnibus = f
            .evidence
            .omnibus
            .as_ref()
            .and_then(|o| o.p)
            .map_or("no test possible".into(), |p| format!("χ² {}", p_text("p", p)));
        out.push_str(&format!("  languages     not distinguishable ({omnibus})\n"));
    }
    let mut parts = Vec::new();
    for dimension in crate::analysis::Dimension::COMPARED {
        let found: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.evidence.dimension == Some(dimension))
            .collect();
        if let Some(f) = found.iter().find(|f| f.kind == FindingKind::Disparity) {
            let count = |key: &str| f.evidence.counts.get(key).copied().unwrap_or(0);
            parts.push(format!(
                "{}: {} higher, {} lower of {}",
                nouns(dimension).1,
                count("significantly_higher"),
                count("significantly_lower"),
                count("tested")
            ));
        } else if let Some(f) = found.iter().find(|f| f.kind == FindingKind::NoDisparity) {
            let detectable = f
                .evidence
                .min_detectable
                .as_ref()
                .and_then(|d| d.ratio)
                .map_or(String::new(), |[lo, hi]| {
                    format!(", detectable ratio ≥ {lo:.1}–{hi:.1}")
                });
            parts.push(format!(
                "{}: none of {}{detectable}",
                nouns(dimension).1,
                f.evidence.counts.get("tested").copied().unwrap_or(0)
            ));
        }
    }
    if !parts.is_empty() {
        out.push_str(&format!(
            "  disparities   significant in over-removal · {}\n",
            for_terminal_line(&parts.join(" · "))
        ));
    }
    for f in of_kind(report, FindingKind::Confounded) {
        let e = &f.evidence;
        out.push_str(&format!(
            "  confounded    {}: not significant within kinds of speech{}\n",
            for_terminal_line(&group_name(
                e.dimension.unwrap_or(Dimension::TargetGroup),
                e.group.as_deref().unwrap_or_default()
            )),
            if e.dimension == Some(Dimension::Language) {
                ""
            } else {
                " and languages"
            }
        ));
    }
    out
}
