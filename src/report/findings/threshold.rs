//! Findings about a scoring system at other thresholds than it ran at: that a
//! report is a re-analysis at another threshold (said first, so that no rate
//! is read as what the system did), and the per-language thresholds that
//! would equalise over-removal while holding detection — a what-if from the
//! stored scores, never applied.

use super::{Evidence, Finding, FindingKind, GroupRate, GroupThreshold, Thresholds};
use crate::analysis::sweep::{Equalising, Sweep};
use crate::analysis::{Dimension, Measure};
use crate::report::summary::{join_and, prose_language_name};
use crate::report::{Report, count_of, percent, threshold_text};

/// Languages a sentence names before it refers to the table for the rest.
const NAMED_LANGUAGES: usize = 6;

/// Kept cases the evidence of a re-analysis names.
const NAMED_KEPT_CASES: usize = 20;

/// The first finding of a re-analysis at another threshold.
pub(super) fn reanalysis(report: &Report) -> Option<Finding> {
    let o = report.settings.threshold_override.as_ref()?;
    let mut text = format!(
        "{} {} re-derived ({} of them now decided differently).",
        o.statement,
        count_of(o.rederived, "decided case was", "decided cases were"),
        o.changed
    );
    if o.kept > 0 {
        text.push_str(&format!(
            " {} recorded action: no score, or an action the score does not explain.",
            count_of(o.kept, "decided case keeps its", "decided cases keep their"),
        ));
    }
    let kept = report.sweep.as_ref().map_or(&[][..], |s| &s.kept[..]);
    let named: Vec<String> = kept
        .iter()
        .take(NAMED_KEPT_CASES)
        .map(|k| format!("{} ({})", k.case_id, k.reason.text()))
        .collect();
    let note = (!named.is_empty()).then(|| {
        let more = kept.len().saturating_sub(NAMED_KEPT_CASES);
        let more = if more > 0 {
            format!(" and {more} more (results.json `sweep.kept`)")
        } else {
            String::new()
        };
        format!("kept as recorded: {}{more}", named.join(", "))
    });
    Some(Finding::new(
        "threshold.reanalysis",
        FindingKind::Threshold,
        text,
        Evidence {
            thresholds: Some(Thresholds {
                run: o.run_threshold,
                operating: Some(o.threshold),
                groups: Vec::new(),
            }),
            counts: [
                ("rederived".to_string(), o.rederived),
                ("changed".to_string(), o.changed),
                ("kept".to_string(), o.kept),
            ]
            .into(),
            note,
            ..Evidence::default()
        },
    ))
}

/// The findings of a run's threshold sweep.
pub(super) fn findings(report: &Report) -> Vec<Finding> {
    let Some(sweep) = &report.sweep else {
        return Vec::new();
    };
    sweep
        .equalising
        .as_ref()
        .map(|e| equalising(sweep, e, report.settings.min_n))
        .into_iter()
        .collect()
}

/// "English 0.4", or "Hausa above every score".
fn language_at(language: &str, threshold: Option<f64>) -> String {
    let name = prose_language_name(language);
    match threshold {
        Some(t) => format!("{name} {}", threshold_text(t)),
        None => format!("{name} above every score"),
    }
}

fn equalising(sweep: &Sweep, e: &Equalising, min_n: u64) -> Finding {
    let mut named: Vec<String> = e
        .languages
        .iter()
        .take(NAMED_LANGUAGES)
        .map(|l| language_at(&l.language, l.threshold))
        .collect();
    if e.languages.len() > NAMED_LANGUAGES {
        named.push(format!(
            "{} other languages (see “Thresholds that would equalise over-removal”)",
            e.languages.len() - NAMED_LANGUAGES
        ));
    }
    let rates_now = e
        .languages
        .iter()
        .map(|l| l.protected_adverse_now as f64 / l.protected_n as f64);
    let lowest = rates_now.clone().fold(f64::INFINITY, f64::min);
    let highest = rates_now.fold(f64::NEG_INFINITY, f64::max);
    let now = if lowest == highest {
        percent(lowest)
    } else {
        format!("{} to {}", percent(lowest), percent(highest))
    };
    let operating = threshold_text(sweep.operating_threshold);
    let unchanged = e
        .languages
        .iter()
        .all(|l| l.threshold == Some(sweep.operating_threshold));
    let text = if unchanged {
        format!(
            "Thresholds per language would not bring every language's over-removal below {} without losing detection — a re-analysis of the stored scores, not applied: {operating} is already, for every language, the lowest threshold that keeps its over-removal at or below that (now {now}), with overall detection at {}.",
            percent(e.over_removal_rate),
            percent(e.overall_detection_now),
        )
    } else {
        format!(
            "One threshold per language would equalise over-removal without losing detection — a re-analysis of the stored scores, not applied: at {} instead of {operating} for all, no language's over-removal would exceed {} (now {now}) and overall detection would be {} (now {}).",
            join_and(&named),
            percent(e.over_removal_rate),
            percent(e.overall_detection),
            percent(e.overall_detection_now),
        )
    };
    let small: Vec<String> = e
        .languages
        .iter()
        .filter(|l| l.small_sample)
        .map(|l| prose_language_name(&l.language))
        .collect();
    let mut note = format!(
        "the lowest common over-removal at which overall detection stays at least at its level at threshold {}; each language gets the lowest threshold at which its over-removal is at most that; overall over-removal would be {} (now {})",
        threshold_text(sweep.operating_threshold),
        percent(e.overall_over_removal),
        percent(e.overall_over_removal_now)
    );
    if !small.is_empty() {
        note.push_str(&format!(
            "; fewer than {min_n} protected posts, so their thresholds rest on few posts: {}",
            join_and(&small)
        ));
    }
    let protected_n: u64 = e.languages.iter().map(|l| l.protected_n).sum();
    let protected_adverse: u64 = e.languages.iter().map(|l| l.protected_adverse).sum();
    Finding::new(
        "threshold.equalising",
        FindingKind::Threshold,
        text,
        Evidence {
            measure: Some(Measure::OverRemoval),
            dimension: Some(Dimension::Language),
            n: Some(protected_n),
            count: Some(protected_adverse),
            rate: Some(e.over_removal_rate),
            thresholds: Some(Thresholds {
                run: sweep.rule.threshold,
                operating: (sweep.operating_threshold != sweep.rule.threshold).then_some(sweep.operating_threshold),
                groups: e
                    .languages
                    .iter()
                    .map(|l| GroupThreshold {
                        group: l.language.clone(),
                        threshold: l.threshold,
                        protected: GroupRate::new(&l.language, l.protected_adverse, l.protected_n),
                        violating: GroupRate::new(&l.language, l.violating_adverse, l.violating_n),
                    })
                    .collect(),
            }),
            note: Some(note),
            ..Evidence::default()
        },
    )
}
