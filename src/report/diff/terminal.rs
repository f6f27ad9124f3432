//! The comparison printed on the terminal: the headline changes, the slices
//! that changed significantly, the flipped cases and the gate. Each value from
//! a corpus or a system stays on its own line ([`for_terminal_line`]); the CLI
//! escapes the rest when it prints.

use std::path::Path;

use super::view::{model_snapshots, slice_name, status_line};
use super::{BaselineComparison, Flip, RunDiff, SliceChange, adjusted_p_clause, signed_points};
use crate::analysis::{Dimension, Measure};
use crate::gates::GateStatus;
use crate::report::visible::for_terminal_line;
use crate::report::{count_of, percent};

/// Most flipped cases listed on the terminal.
const MAX_CASES_SHOWN: usize = 50;

/// Renders the terminal summary of a comparison; `written` is the directory
/// the files went to, if any.
pub fn render_terminal(diff: &RunDiff, written: Option<&Path>) -> String {
    let line = |text: &str| for_terminal_line(text).into_owned();
    let mut out = format!(
        "modaudit diff · A {} ({}) → B {} ({})\n",
        line(&diff.a.run_id),
        line(&diff.a.target_description),
        line(&diff.b.run_id),
        line(&diff.b.target_description)
    );
    for note in &diff.system.notes {
        out.push_str(&format!("  system        {}\n", line(note)));
    }
    if !diff.system.same_model_snapshots {
        out.push_str(&format!("  models A      {}\n", line(&model_snapshots(&diff.a))));
        out.push_str(&format!("  models B      {}\n", line(&model_snapshots(&diff.b))));
    }
    out.push_str(&format!(
        "  cases         {} compared",
        count_of(diff.corpus.compared, "case", "cases")
    ));
    if diff.corpus.left_out.total() > 0 {
        out.push_str(&format!("; left out: {}", diff.corpus.left_out));
    }
    out.push('\n');
    for (measure, name) in [
        (Measure::OverRemoval, "over-removal"),
        (Measure::Detection, "detection   "),
    ] {
        if let Some(s) = diff
            .slices
            .iter()
            .find(|s| s.measure == measure && s.dimension == Dimension::Overall)
        {
            out.push_str(&format!("  {name}  {}\n", change_text(s)));
        }
    }
    let significant: Vec<&SliceChange> = diff
        .slices
        .iter()
        .filter(|s| s.significant && s.dimension != Dimension::Overall)
        .collect();
    if !significant.is_empty() {
        out.push_str("  significant changes by slice:\n");
        for s in significant {
            out.push_str(&format!(
                "    {} · {}  {}\n",
                s.measure.title(),
                line(&slice_name(s.dimension, &s.value)),
                change_text(s)
            ));
        }
    }
    let counts = &diff.flip_counts;
    out.push_str(&format!(
        "  flipped       protected: {} newly adverse, {} no longer · violating: {} newly adverse, {} no longer\n",
        counts.protected_newly_adverse,
        counts.protected_no_longer_adverse,
        counts.violating_newly_adverse,
        counts.violating_no_longer_adverse
    ));
    for flip in diff.flips.iter().take(MAX_CASES_SHOWN) {
        out.push_str(&format!(
            "    {} {} [{}, {}] {} → {}: {}\n",
            match flip.flip {
                Flip::NewlyAdverse => "+",
                Flip::NoLongerAdverse => "-",
            },
            line(&flip.case_id),
            line(&flip.lang),
            flip.label,
            flip.a,
            flip.b,
            line(&flip.text)
        ));
    }
    if diff.flips.len() > MAX_CASES_SHOWN {
        out.push_str(&format!(
            "    … and {} more (every one in diff.json, diff.md and diff.html with --out)\n",
            diff.flips.len() - MAX_CASES_SHOWN
        ));
    }
    if counts.outcome_changes > 0 {
        out.push_str(&format!(
            "  errors        {} changed to or from error or unsupported\n",
            count_of(counts.outcome_changes, "case", "cases")
        ));
    }
    if let Some(gate) = &diff.gate {
        let result = match gate.status {
            GateStatus::Passed => "passed".to_string(),
            GateStatus::NotMeasurable => "NOT MEASURABLE".to_string(),
            GateStatus::Failed => format!(
                "FAILED ({})",
                gate.regressions()
                    .map(|c| line(&c.slice))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        out.push_str(&format!(
            "  gate          over-removal may rise by at most {:.1} points{}: {result}\n",
            gate.max_regression * 100.0,
            if gate.strict { " (strict)" } else { "" }
        ));
    }
    out.push_str(&format!("{}\n", line(&status_line(diff))));
    if let Some(dir) = written {
        out.push_str(&format!(
            "comparison: {}  [exit {}]\n",
            line(&dir.join("diff.md").display().to_string()),
            diff.exit_code
        ));
    }
    out
}

/// "10.0 % → 25.0 % (+15.0 points, interval +9.3 to +20.6; p < 0.0001) over 200 cases".
fn change_text(s: &SliceChange) -> String {
    let rate = |r: Option<f64>| r.map_or("–".into(), percent);
    let interval = s.change_ci.map_or(String::new(), |[lo, hi]| {
        format!(", interval {:+.1} to {:+.1}", lo * 100.0, hi * 100.0)
    });
    let p = if s.p_adjusted.is_some() {
        format!("; {}", adjusted_p_clause(s.p_adjusted))
    } else {
        String::new()
    };
    format!(
        "{} → {} ({}{interval}{p}) over {}",
        rate(s.a.rate),
        rate(s.b.rate),
        s.change.map_or("–".into(), signed_points),
        count_of(s.n, "case", "cases")
    )
}

/// The run summary's line on the change since the baseline.
pub fn baseline_line(comparison: &BaselineComparison) -> String {
    let overall = comparison
        .slices
        .iter()
        .find(|s| s.measure == Measure::OverRemoval && s.dimension == Dimension::Overall);
    let mut out = format!(
        "  baseline      {}: over-removal {}; {} protected newly adverse, {} no longer\n",
        for_terminal_line(&comparison.baseline.run_id),
        overall.map_or("not measurable".into(), change_text),
        comparison.flip_counts.protected_newly_adverse,
        comparison.flip_counts.protected_no_longer_adverse
    );
    if !comparison.system.same_model_snapshots && comparison.system.same_fingerprint {
        out.push_str(&format!(
            "  models        {}\n",
            for_terminal_line(&comparison.system.notes.join(" "))
        ));
    }
    out
}
