//! The comparison as a reader sees it: facts, titled sections of prose and
//! tables, built once and rendered by both `diff.md` and `diff.html`.
//! Corpus text and the systems' words are made visible (see
//! [`for_document`]) here; each renderer then escapes for its medium.

use std::borrow::Cow;

use serde::Serialize;

use super::{
    BaselineComparison, Flip, RunDiff, RunSide, SliceChange, adjusted_p_clause, format_p, points, signed_points,
};
use crate::analysis::{Dimension, Measure};
use crate::gates::GateStatus;
use crate::report::view::{Section, Table};
use crate::report::visible::for_document;
use crate::report::{count_of, language_name, percent};

/// Most flipped cases listed in `diff.md` and `diff.html` (`diff.json` lists all).
pub const MAX_CASES_LISTED: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct DiffView {
    pub title: String,
    pub status: String,
    pub facts: Vec<(String, String)>,
    pub sections: Vec<Section>,
}

fn section(id: &str, title: &str) -> Section {
    Section {
        id: id.into(),
        title: title.into(),
        paragraphs: Vec::new(),
        table: None,
        chart: None,
    }
}

/// Builds the reader's view of a comparison.
pub fn build_view(diff: &RunDiff) -> DiffView {
    let mut sections = vec![systems_section(diff), cases_section(diff)];
    sections.push(slices_section(diff, Measure::OverRemoval));
    sections.push(slices_section(diff, Measure::Detection));
    if let Some(s) = gate_section(diff) {
        sections.push(s);
    }
    sections.push(flips_section(diff));
    if !diff.outcome_changes.is_empty() {
        sections.push(outcome_changes_section(diff));
    }
    sections.push(method_section(diff));
    let mut view = DiffView {
        title: format!("Run comparison: {} → {}", diff.a.run_id, diff.b.run_id),
        status: status_line(diff),
        facts: facts(diff),
        sections,
    };
    view.show_acting_characters();
    view
}

impl DiffView {
    /// Makes every control, bidi control and non-character visible, whichever
    /// part of the comparison it came from.
    fn show_acting_characters(&mut self) {
        let texts = [&mut self.title, &mut self.status]
            .into_iter()
            .chain(self.facts.iter_mut().flat_map(|(key, value)| [key, value]));
        texts.for_each(make_visible);
        for section in &mut self.sections {
            [&mut section.id, &mut section.title]
                .into_iter()
                .chain(section.paragraphs.iter_mut())
                .for_each(make_visible);
            if let Some(table) = &mut section.table {
                table
                    .headers
                    .iter_mut()
                    .chain(table.rows.iter_mut().flatten())
                    .for_each(make_visible);
            }
        }
    }
}

fn make_visible(text: &mut String) {
    if let Cow::Owned(shown) = for_document(text) {
        *text = shown;
    }
}

/// The one line that says how the comparison came out.
pub fn status_line(diff: &RunDiff) -> String {
    let overall = diff
        .slices
        .iter()
        .find(|s| s.measure == Measure::OverRemoval && s.dimension == Dimension::Overall);
    let overall_text = overall.map_or_else(
        || "no protected case was decided in both runs".to_string(),
        |s| {
            format!(
                "over-removal went from {} to {} ({})",
                rate(s.a.rate),
                rate(s.b.rate),
                s.change.map_or("–".into(), signed_points)
            )
        },
    );
    match &diff.gate {
        None => format!("No regression gate set; {overall_text}."),
        Some(gate) => match gate.status {
            GateStatus::Passed => format!("No regression beyond {}: {overall_text}.", points(gate.max_regression)),
            GateStatus::NotMeasurable => {
                "Regression gate not measurable: no protected case was decided in both runs.".to_string()
            }
            GateStatus::Failed => {
                let regressed: Vec<String> = gate
                    .regressions()
                    .map(|c| {
                        format!(
                            "{} ({})",
                            slice_name(c.dimension, &c.value),
                            c.change.map_or("–".into(), signed_points)
                        )
                    })
                    .collect();
                format!(
                    "Regression: over-removal rose by more than {} in {}: {}.",
                    points(gate.max_regression),
                    count_of(regressed.len() as u64, "slice", "slices"),
                    regressed.join(", ")
                )
            }
        },
    }
}

fn facts(diff: &RunDiff) -> Vec<(String, String)> {
    let mut facts = Vec::new();
    for (name, side) in [("A", &diff.a), ("B", &diff.b)] {
        facts.push((
            format!("Run {name}"),
            format!("{} — scenario {}, in {}", side.run_id, side.scenario, side.dir),
        ));
        facts.push((
            format!("System {name}"),
            format!(
                "{} — target kind {}, fingerprint {}",
                side.target_description, side.target_kind, side.target_fingerprint
            ),
        ));
        facts.push((format!("Models {name}"), model_snapshots(side)));
        facts.push((
            format!("Cases of {name} read from"),
            side.case_source.describe().to_string(),
        ));
    }
    facts.push((
        "Compared".into(),
        format!(
            "{} identical in both runs",
            count_of(diff.corpus.compared, "case", "cases")
        ),
    ));
    facts.push((
        "Settings".into(),
        format!(
            "{:.0} % intervals; α = {} after {} correction within each dimension; minimum n {} (from {})",
            diff.settings.confidence * 100.0,
            diff.settings.alpha,
            diff.settings.correction.name(),
            diff.settings.min_n,
            diff.settings.from
        ),
    ));
    facts
}

/// "omni-moderation-2024-09-26 (378 cases)", or "none named".
pub fn model_snapshots(side: &RunSide) -> String {
    if side.model_snapshots.is_empty() {
        return "none named in the system's answers".into();
    }
    side.model_snapshots
        .iter()
        .map(|m| format!("{} ({})", m.model, count_of(m.cases, "case", "cases")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn systems_section(diff: &RunDiff) -> Section {
    let mut s = section("systems", "The systems compared");
    s.paragraphs.extend(diff.system.notes.iter().cloned());
    s
}

fn cases_section(diff: &RunDiff) -> Section {
    let corpus = &diff.corpus;
    let mut s = section("cases", "Cases compared");
    s.paragraphs.push(format!(
        "{} compared: the same id, text and label in both runs. Slices use run B's language, category and groups.",
        count_of(corpus.compared, "case", "cases")
    ));
    if corpus.left_out.total() > 0 {
        s.paragraphs
            .push(format!("Left out because the corpora differ: {}.", corpus.left_out));
    }
    if corpus.reannotated > 0 {
        s.paragraphs.push(format!(
            "{} had a different language, category or group in run A.",
            count_of(corpus.reannotated, "compared case", "compared cases")
        ));
    }
    if corpus.not_decided_in_both > 0 {
        s.paragraphs.push(format!(
            "{} ended in error or unsupported in at least one run and is in no rate.",
            count_of(corpus.not_decided_in_both, "compared case", "compared cases")
        ));
    }
    s
}

/// "Overall", "Language: Arabic (ar)", "Category: counter_speech".
pub fn slice_name(dimension: Dimension, value: &str) -> String {
    match dimension {
        Dimension::Overall => "Overall".into(),
        Dimension::Language => format!("Language: {}", language_name(value)),
        other => format!("{}: {value}", other.title()),
    }
}

fn rate(rate: Option<f64>) -> String {
    rate.map_or("–".into(), percent)
}

fn change_interval(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("{:+.1} to {:+.1}", lo * 100.0, hi * 100.0),
        None => "–".into(),
    }
}

fn slices_section(diff: &RunDiff, measure: Measure) -> Section {
    let (id, title, cases, newly, no_longer) = match measure {
        Measure::OverRemoval => (
            "over-removal",
            "Over-removal of protected speech, by slice",
            "protected",
            "Newly removed",
            "No longer removed",
        ),
        Measure::Detection => (
            "detection",
            "Detection of violating content, by slice",
            "violating",
            "Newly actioned",
            "No longer actioned",
        ),
    };
    let mut s = section(id, title);
    let slices: Vec<&SliceChange> = diff.slices.iter().filter(|s| s.measure == measure).collect();
    if slices.is_empty() {
        s.paragraphs.push(format!("No {cases} case is in both runs."));
        return s;
    }
    s.paragraphs.push(format!(
        "Rates over the {cases} cases both runs decided. The change is run B's rate minus run A's, in percentage points, \
         with its {:.0} % interval for paired proportions (Newcombe 1998, method 10); p is the exact McNemar test on the \
         cases whose decision flipped, adjusted ({}) across the slices of each dimension. Slices with fewer than {} cases \
         are described but not tested.",
        diff.settings.confidence * 100.0,
        diff.settings.correction.name(),
        diff.settings.min_n
    ));
    s.table = Some(Table {
        headers: [
            "Slice",
            "n",
            "Run A",
            "Run B",
            "Change (points)",
            "Interval (points)",
            newly,
            no_longer,
            "p (adjusted)",
            "Note",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, true, true, true, true, true, true, true, true, false],
        rows: slices
            .iter()
            .map(|s| {
                vec![
                    slice_name(s.dimension, &s.value),
                    s.n.to_string(),
                    format!("{} ({})", rate(s.a.rate), s.a.adverse),
                    format!("{} ({})", rate(s.b.rate), s.b.adverse),
                    s.change.map_or("–".into(), |c| format!("{:+.1}", c * 100.0)),
                    change_interval(s.change_ci),
                    s.newly_adverse.to_string(),
                    s.no_longer_adverse.to_string(),
                    s.p_adjusted.map_or("–".into(), format_p),
                    slice_note(s),
                ]
            })
            .collect(),
    });
    s
}

fn slice_note(s: &SliceChange) -> String {
    if s.n == 0 {
        "no case decided in both runs".into()
    } else if s.p_value.is_none() {
        "small sample, not tested".into()
    } else if s.significant {
        "significant".into()
    } else {
        String::new()
    }
}

fn gate_section(diff: &RunDiff) -> Option<Section> {
    let gate = diff.gate.as_ref()?;
    let mut s = section("gate", "Regression gate");
    s.paragraphs.push(format!(
        "Over-removal may rise by at most {} overall and in every slice with at least {} cases{}.",
        points(gate.max_regression),
        diff.settings.min_n,
        if gate.strict {
            ", judged on the point estimates alone (strict)"
        } else {
            "; a larger rise fails the gate when it is significant after correction"
        }
    ));
    s.table = Some(Table {
        headers: ["Slice", "n", "Change (points)", "p (adjusted)", "Result", "Detail"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false, true, true, true, false, false],
        rows: gate
            .checked
            .iter()
            .map(|c| {
                vec![
                    slice_name(c.dimension, &c.value),
                    c.n.to_string(),
                    c.change.map_or("–".into(), |v| format!("{:+.1}", v * 100.0)),
                    c.p_adjusted.map_or("–".into(), format_p),
                    if c.regressed {
                        "REGRESSED".into()
                    } else {
                        "passed".into()
                    },
                    c.detail.clone(),
                ]
            })
            .collect(),
    });
    Some(s)
}

fn flips_section(diff: &RunDiff) -> Section {
    let counts = &diff.flip_counts;
    let mut s = section("flips", "Decisions that flipped");
    s.paragraphs.push(format!(
        "Protected cases: {} newly adverse in run B, {} no longer adverse. Violating cases: {} newly adverse, {} no longer adverse.",
        counts.protected_newly_adverse,
        counts.protected_no_longer_adverse,
        counts.violating_newly_adverse,
        counts.violating_no_longer_adverse
    ));
    if diff.flips.is_empty() {
        s.paragraphs.push("No decision flipped.".into());
        return s;
    }
    if diff.flips.len() > MAX_CASES_LISTED {
        s.paragraphs.push(format!(
            "The first {MAX_CASES_LISTED} are listed; diff.json lists all {}.",
            diff.flips.len()
        ));
    }
    s.table = Some(Table {
        headers: [
            "Flip", "Case", "Language", "Label", "Category", "Run A", "Run B", "Text",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false; 8],
        rows: diff
            .flips
            .iter()
            .take(MAX_CASES_LISTED)
            .map(|f| {
                vec![
                    match f.flip {
                        Flip::NewlyAdverse => "newly adverse".into(),
                        Flip::NoLongerAdverse => "no longer adverse".into(),
                    },
                    f.case_id.clone(),
                    f.lang.clone(),
                    f.label.to_string(),
                    f.category.clone(),
                    f.a.to_string(),
                    f.b.to_string(),
                    f.text.clone(),
                ]
            })
            .collect(),
    });
    s
}

fn outcome_changes_section(diff: &RunDiff) -> Section {
    let mut s = section("outcome-changes", "Errors and unsupported languages that changed");
    s.paragraphs.push(format!(
        "{} ended in error or unsupported in one run and otherwise in the other; they are in no rate.",
        count_of(diff.outcome_changes.len() as u64, "case", "cases")
    ));
    if diff.outcome_changes.len() > MAX_CASES_LISTED {
        s.paragraphs.push(format!(
            "The first {MAX_CASES_LISTED} are listed; diff.json lists all {}.",
            diff.outcome_changes.len()
        ));
    }
    s.table = Some(Table {
        headers: ["Case", "Language", "Label", "Run A", "Run B", "Text"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false; 6],
        rows: diff
            .outcome_changes
            .iter()
            .take(MAX_CASES_LISTED)
            .map(|c| {
                vec![
                    c.case_id.clone(),
                    c.lang.clone(),
                    c.label.to_string(),
                    c.a.to_string(),
                    c.b.to_string(),
                    c.text.clone(),
                ]
            })
            .collect(),
    });
    s
}

fn method_section(diff: &RunDiff) -> Section {
    let mut s = section("method", "Method");
    s.paragraphs.push(format!(
        "Both runs decided the same cases, so the comparison is paired: each case counts once, adverse or not in each run. \
         The change in a rate carries Newcombe's hybrid score interval for the difference of paired proportions \
         (Newcombe 1998, \"Improved confidence intervals for the difference between binomial proportions based on paired data\", \
         Statistics in Medicine 17:2635–2650, method 10). Whether a rate changed at all is tested with the exact McNemar test \
         (a two-sided binomial test of the flipped cases against one half), and the p-values of each measure and dimension \
         are corrected together with the {} method. Template families are not treated as clusters here.",
        diff.settings.correction.name()
    ));
    s.paragraphs.push(
        "Rebuild this comparison with `modaudit diff RUN_A RUN_B`; every decision is in each run's journal.jsonl."
            .into(),
    );
    s
}

/// The run report's "Change since the baseline" section.
pub fn baseline_section(comparison: &BaselineComparison) -> Section {
    let mut s = section("baseline", "Change since the baseline");
    let baseline = &comparison.baseline;
    s.paragraphs.push(format!(
        "Compared with the baseline run {} ({}, {}) on {} identical in both runs.",
        baseline.run_id,
        baseline.target_description,
        baseline.dir,
        count_of(comparison.corpus.compared, "case", "cases")
    ));
    s.paragraphs.extend(comparison.system.notes.iter().cloned());
    if comparison.corpus.left_out.total() > 0 {
        s.paragraphs.push(format!(
            "Left out because the corpora differ: {}.",
            comparison.corpus.left_out
        ));
    }
    for (measure, what) in [
        (Measure::OverRemoval, "Over-removal of protected speech"),
        (Measure::Detection, "Detection of violating content"),
    ] {
        if let Some(overall) = comparison
            .slices
            .iter()
            .find(|s| s.measure == measure && s.dimension == Dimension::Overall)
        {
            s.paragraphs.push(format!(
                "{what} went from {} in the baseline to {} in this run ({}, interval {} points; {}) over {}.",
                rate(overall.a.rate),
                rate(overall.b.rate),
                overall.change.map_or("–".into(), signed_points),
                change_interval(overall.change_ci),
                adjusted_p_clause(overall.p_adjusted),
                count_of(overall.n, "case", "cases")
            ));
        }
    }
    let counts = &comparison.flip_counts;
    s.paragraphs.push(format!(
        "{} newly adverse in this run and {} no longer adverse.",
        count_of(
            counts.protected_newly_adverse,
            "protected case is",
            "protected cases are"
        ),
        counts.protected_no_longer_adverse
    ));
    if let Some(gate) = &comparison.gate {
        let result = gate.as_gate_result();
        s.paragraphs.push(format!(
            "Regression gate (at most {}{}): {} — {}.",
            points(gate.max_regression),
            if gate.strict { ", strict" } else { "" },
            match gate.status {
                GateStatus::Passed => "passed",
                GateStatus::Failed => "FAILED",
                GateStatus::NotMeasurable => "NOT MEASURABLE",
            },
            result.detail
        ));
    }
    s.paragraphs.push(format!(
        "Every slice and every flipped case are in {}.",
        comparison.files.join(", ")
    ));
    let changed: Vec<&SliceChange> = comparison
        .slices
        .iter()
        .filter(|s| {
            s.dimension != Dimension::Overall
                && (s.significant
                    || comparison
                        .gate
                        .as_ref()
                        .is_some_and(|g| g.regressions().any(|c| c.slice == s.key())))
        })
        .collect();
    if !changed.is_empty() {
        s.table = Some(Table {
            headers: [
                "Measure",
                "Slice",
                "n",
                "Baseline",
                "This run",
                "Change (points)",
                "Interval (points)",
                "p (adjusted)",
            ]
            .map(String::from)
            .to_vec(),
            numeric: vec![false, false, true, true, true, true, true, true],
            rows: changed
                .iter()
                .map(|s| {
                    vec![
                        s.measure.title().to_string(),
                        slice_name(s.dimension, &s.value),
                        s.n.to_string(),
                        rate(s.a.rate),
                        rate(s.b.rate),
                        s.change.map_or("–".into(), |c| format!("{:+.1}", c * 100.0)),
                        change_interval(s.change_ci),
                        s.p_adjusted.map_or("–".into(), format_p),
                    ]
                })
                .collect(),
        });
    }
    s
}
