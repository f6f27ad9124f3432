//! The threshold sweep as a reader sees it: over-removal against detection
//! across thresholds (charts by language and by target group), the
//! disparities that start or stop being significant as the threshold moves,
//! and the per-language thresholds that would equalise over-removal. Part of
//! the view model (see [`super::view`]), rendered by both renderers.

use serde::Serialize;

use super::view::{Chart, Section, Table};
use super::{Report, count_of, language_name, percent, threshold_text};
use crate::analysis::sweep::{Curve, MAX_CURVE_POINTS, SignificanceState, SignificanceTrack, Sweep};
use crate::analysis::{Dimension, FamilyMode, ReferenceMode};
use crate::decision::ScoreRule;

/// Cases kept as recorded that the report names before it refers to `results.json`.
const NAMED_KEPT_CASES: usize = 50;

/// Changes of one comparison's significance listed in a table cell.
const LISTED_CHANGES: usize = 6;

/// Over-removal against detection across thresholds, one line per group.
#[derive(Debug, Clone, Serialize)]
pub struct CurveChart {
    /// The file the chart is also written to, which the Markdown report shows.
    pub file: String,
    pub lines: Vec<CurveLine>,
    /// The run's threshold, marked on every line.
    pub run_threshold: f64,
    /// The threshold of a re-analysis, marked too.
    pub operating_threshold: Option<f64>,
}

/// One group's curve.
#[derive(Debug, Clone, Serialize)]
pub struct CurveLine {
    pub label: String,
    /// `[over-removal, detection]` from the lowest threshold to the highest.
    pub points: Vec<[f64; 2]>,
    /// The point at the run's threshold.
    pub run_point: Option<[f64; 2]>,
    /// The point at a re-analysis's threshold.
    pub operating_point: Option<[f64; 2]>,
    /// The overall line, drawn heavier.
    pub overall: bool,
    /// Fewer protected posts than the minimum n: drawn dashed and marked †.
    pub small_sample: bool,
}

/// The sections of a scoring run's threshold sweep (none for other runs).
pub(super) fn sections(report: &Report) -> Vec<Section> {
    let Some(sweep) = &report.sweep else {
        return Vec::new();
    };
    let mut out = vec![curves_section(report, sweep)];
    if let Some(chart) = curve_chart(sweep, Dimension::TargetGroup) {
        out.push(Section {
            id: "threshold-sweep-target-group".into(),
            title: "Over-removal and detection across thresholds, by target group".into(),
            paragraphs: vec![format!(
                "As above, for each target group with at least {} decided protected posts (who the post is about).",
                report.settings.min_n
            )],
            table: None,
            chart: Some(Chart::Curves(chart)),
        });
    }
    if !sweep.significance.is_empty() {
        out.push(significance_section(report, sweep));
    }
    if sweep.equalising.is_some() {
        out.push(equalising_section(sweep, report.settings.min_n));
    }
    out
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

/// "score ≥ threshold → remove, otherwise allow".
fn rule_text(rule: &ScoreRule) -> String {
    format!("score ≥ threshold → {}, otherwise {}", rule.at_or_above, rule.below)
}

fn group_label(dimension: Dimension, group: &str) -> String {
    match dimension {
        Dimension::Language => language_name(group),
        Dimension::Overall => "All posts".into(),
        _ => group.to_string(),
    }
}

/// The operating threshold, when the report is a re-analysis at another one.
fn reanalysed(sweep: &Sweep) -> Option<f64> {
    (sweep.operating_threshold != sweep.rule.threshold).then_some(sweep.operating_threshold)
}

fn curves_section(report: &Report, sweep: &Sweep) -> Section {
    let mut s = section("threshold-sweep", "Over-removal and detection across thresholds");
    let run = threshold_text(sweep.rule.threshold);
    let reanalysis = reanalysed(sweep)
        .map(|t| format!("; this report re-analyses it at {}", threshold_text(t)))
        .unwrap_or_default();
    let square = if reanalysed(sweep).is_some() {
        ", the square this re-analysis's"
    } else {
        ""
    };
    s.paragraphs.push(format!(
        "The system acts on a post when its score reaches a threshold ({}). This run used {run}{reanalysis}. \
         Every threshold gives another over-removal rate and another detection rate, so the chart follows each language \
         from the lowest threshold (top right: the most posts actioned) to the highest (bottom left), computed from the \
         scores stored in the run without asking the system again. The dot on each line marks the run's threshold{square}; \
         dashed lines marked † have fewer than {} decided protected posts.",
        rule_text(&sweep.rule),
        report.settings.min_n
    ));
    let mut moved = format!(
        "{} move with the threshold.",
        count_of(sweep.swept_cases, "decided case", "decided cases")
    );
    if !sweep.kept.is_empty() {
        let named: Vec<String> = sweep
            .kept
            .iter()
            .take(NAMED_KEPT_CASES)
            .map(|k| format!("{} ({})", k.case_id, k.reason.text()))
            .collect();
        let more = sweep.kept.len().saturating_sub(NAMED_KEPT_CASES);
        moved.push_str(&format!(
            " {} recorded action at every threshold: {}{}.",
            count_of(
                sweep.kept.len() as u64,
                "decided case keeps its",
                "decided cases keep their"
            ),
            named.join(", "),
            if more > 0 {
                format!(", and {more} more (`results.json`, `sweep.kept`)")
            } else {
                String::new()
            }
        ));
    }
    s.paragraphs.push(moved);
    s.paragraphs.push(format!(
        "Curves are computed at {} thresholds (every distinct score, or at most {MAX_CURVE_POINTS} of them chosen by quantile). \
         The table gives each group at the run's threshold{}; `results.json` (`sweep.curves`) has every point.",
        sweep.thresholds.len(),
        reanalysed(sweep)
            .map(|t| format!(" and at {}", threshold_text(t)))
            .unwrap_or_default()
    ));
    let rate = |rates: &[f64], i: usize| rates.get(i).map_or("–".into(), |r| percent(*r));
    let mut headers = vec![
        "Dimension".to_string(),
        "Group".into(),
        "Protected n".into(),
        "Violating n".into(),
        format!("Over-removal at {run}"),
        format!("Detection at {run}"),
    ];
    if let Some(t) = reanalysed(sweep) {
        headers.push(format!("Over-removal at {}", threshold_text(t)));
        headers.push(format!("Detection at {}", threshold_text(t)));
    }
    headers.push("Note".into());
    let mut numeric = vec![false; headers.len()];
    numeric[2..headers.len() - 1].iter_mut().for_each(|n| *n = true);
    let rows = sweep
        .curves
        .iter()
        .map(|c| {
            let mut row = vec![
                c.dimension.title().to_string(),
                group_label(c.dimension, &c.group),
                c.protected_n.to_string(),
                c.violating_n.to_string(),
                rate(&c.over_removal_rate, sweep.rule_index),
                rate(&c.detection_rate, sweep.rule_index),
            ];
            if reanalysed(sweep).is_some() {
                row.push(rate(&c.over_removal_rate, sweep.operating_index));
                row.push(rate(&c.detection_rate, sweep.operating_index));
            }
            row.push(if c.small_sample && c.dimension != Dimension::Overall {
                "small n".into()
            } else {
                String::new()
            });
            row
        })
        .collect();
    s.table = Some(Table { headers, numeric, rows });
    s.chart = curve_chart(sweep, Dimension::Language).map(Chart::Curves);
    s
}

/// The chart of one dimension's curves with the overall curve; `None` when
/// no group of the dimension has both protected and violating posts.
fn curve_chart(sweep: &Sweep, dimension: Dimension) -> Option<CurveChart> {
    let line = |c: &Curve| -> Option<CurveLine> {
        if c.over_removal_rate.is_empty() || c.detection_rate.is_empty() {
            return None;
        }
        let point = |i: usize| Some([*c.over_removal_rate.get(i)?, *c.detection_rate.get(i)?]);
        Some(CurveLine {
            label: group_label(c.dimension, &c.group),
            points: c
                .over_removal_rate
                .iter()
                .zip(&c.detection_rate)
                .map(|(&x, &y)| [x, y])
                .collect(),
            run_point: point(sweep.rule_index),
            operating_point: reanalysed(sweep).and_then(|_| point(sweep.operating_index)),
            overall: c.dimension == Dimension::Overall,
            small_sample: c.small_sample && c.dimension != Dimension::Overall,
        })
    };
    let groups: Vec<CurveLine> = sweep
        .curves
        .iter()
        .filter(|c| c.dimension == dimension)
        .filter_map(line)
        .collect();
    if groups.is_empty() {
        return None;
    }
    let overall = sweep
        .curves
        .iter()
        .filter(|c| c.dimension == Dimension::Overall)
        .filter_map(line);
    Some(CurveChart {
        file: format!("threshold-sweep-{}.svg", dimension.as_str().replace('_', "-")),
        lines: overall.chain(groups).collect(),
        run_threshold: sweep.rule.threshold,
        operating_threshold: reanalysed(sweep),
    })
}

/// The thresholds where a comparison is significant, as runs of the grid:
/// "0.41–0.62 (higher)".
fn significant_runs(track: &SignificanceTrack, grid: &[f64]) -> Vec<String> {
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    for i in 0..=track.states.len() {
        let state = track.states.get(i).copied();
        let continues = match (start, state) {
            (Some(s), Some(state)) => state == track.states[s],
            _ => false,
        };
        if continues {
            continue;
        }
        if let Some(s) = start.take() {
            let first = threshold_text(grid[s]);
            let range = if s == i - 1 {
                first
            } else {
                format!("{first}–{}", threshold_text(grid[i - 1]))
            };
            let side = if track.states[s] == SignificanceState::Higher {
                "higher"
            } else {
                "lower"
            };
            runs.push(format!("{range} ({side})"));
        }
        if state.is_some_and(SignificanceState::significant) {
            start = Some(i);
        }
    }
    runs
}

fn state_at(track: &SignificanceTrack, grid: &[f64], threshold: f64) -> String {
    grid.iter()
        .position(|&t| t == threshold)
        .and_then(|i| track.states.get(i))
        .map_or("–".into(), |s| s.text().to_string())
}

fn significance_section(report: &Report, sweep: &Sweep) -> Section {
    let settings = &report.settings;
    let grid = &sweep.significance_thresholds;
    let mut s = section("threshold-significance", "Disparities across thresholds");
    let families = match settings.families {
        FamilyMode::PerDimension => "within each dimension's family",
        FamilyMode::Pooled => "within one family across dimensions",
    };
    let (low, high) = (
        grid.first().copied().unwrap_or_default(),
        grid.last().copied().unwrap_or_default(),
    );
    s.paragraphs.push(format!(
        "Each comparison of a language or a target group with its reference was repeated at {} thresholds from {} to {} \
         (the distinct scores, or an even grid over their range, and the run's threshold) with the tests and corrections of the \
         main analysis: Fisher's exact test, {} correction {families}, α = {}, groups with fewer than {} cases described but not tested. \
         A disparity that is significant at one threshold may not be at another: the table lists every comparison significant at some \
         threshold, where it is, and where it starts or stops being significant (between two neighbouring thresholds of the grid).",
        grid.len(),
        threshold_text(low),
        threshold_text(high),
        settings.correction.name(),
        settings.alpha,
        settings.min_n
    ));
    if settings.reference_mode == ReferenceMode::Lowest {
        s.paragraphs.push(
            "Each dimension's reference is the group with the lowest rate, which may be another group at another threshold."
                .into(),
        );
    }
    let listed: Vec<&SignificanceTrack> = sweep
        .significance
        .iter()
        .filter(|t| t.states.iter().any(|s| s.significant()))
        .collect();
    let never = sweep.significance.len() - listed.len();
    s.paragraphs.push(if listed.is_empty() {
        format!(
            "None of the {} comparisons is significant at any threshold tested.",
            sweep.significance.len()
        )
    } else {
        format!(
            "{} significant at no threshold tested.",
            count_of(never as u64, "other comparison is", "other comparisons are")
        )
    });
    if listed.is_empty() {
        return s;
    }
    let run = threshold_text(sweep.rule.threshold);
    let mut headers = vec![
        "Measure".to_string(),
        "Dimension".into(),
        "Group".into(),
        format!("At {run}"),
    ];
    if let Some(t) = reanalysed(sweep) {
        headers.push(format!("At {}", threshold_text(t)));
    }
    headers.extend(["Significant at".to_string(), "Changes as the threshold rises".into()]);
    let numeric = vec![false; headers.len()];
    let rows = listed
        .iter()
        .map(|t| {
            let mut row = vec![
                t.measure.title().to_string(),
                t.dimension.title().to_string(),
                group_label(t.dimension, &t.group),
                state_at(t, grid, sweep.rule.threshold),
            ];
            if let Some(op) = reanalysed(sweep) {
                row.push(state_at(t, grid, op));
            }
            row.push(significant_runs(t, grid).join("; "));
            let mut changes: Vec<String> = t
                .changes
                .iter()
                .take(LISTED_CHANGES)
                .map(|c| {
                    format!(
                        "{} → {} between {} and {}",
                        c.from.text(),
                        c.to.text(),
                        threshold_text(c.from_threshold),
                        threshold_text(c.to_threshold)
                    )
                })
                .collect();
            if t.changes.len() > LISTED_CHANGES {
                changes.push(format!("{} more", t.changes.len() - LISTED_CHANGES));
            }
            row.push(changes.join("; "));
            row
        })
        .collect();
    s.table = Some(Table { headers, numeric, rows });
    s
}

fn equalising_section(sweep: &Sweep, min_n: u64) -> Section {
    let mut s = section("threshold-equalising", "Thresholds that would equalise over-removal");
    let Some(e) = &sweep.equalising else {
        return s;
    };
    let now = threshold_text(sweep.operating_threshold);
    s.paragraphs.push(format!(
        "A what-if from the stored scores, never applied: one threshold per language, chosen so that no language's over-removal \
         exceeds one common rate while overall detection stays at least at its level at threshold {now} ({}). The common rate is the \
         lowest for which that holds ({}); each language gets the lowest threshold at which its over-removal is at most that rate, \
         so it detects as much as it can. Overall detection would be {} and overall over-removal {} (now {}).",
        percent(e.overall_detection_now),
        percent(e.over_removal_rate),
        percent(e.overall_detection),
        percent(e.overall_over_removal),
        percent(e.overall_over_removal_now),
    ));
    if e.languages.iter().any(|l| l.small_sample) {
        s.paragraphs.push(format!(
            "Languages marked small n have fewer than {min_n} decided protected posts: their thresholds rest on few posts."
        ));
    }
    let share = |count: u64, n: u64| {
        if n == 0 {
            "–".to_string()
        } else {
            format!("{} ({count}/{n})", percent(count as f64 / n as f64))
        }
    };
    s.table = Some(Table {
        headers: [
            "Language",
            "Threshold now",
            "Equalising threshold",
            "Over-removal now",
            "Over-removal",
            "Detection now",
            "Detection",
            "Note",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, true, true, true, true, true, true, false],
        rows: e
            .languages
            .iter()
            .map(|l| {
                vec![
                    language_name(&l.language),
                    now.clone(),
                    l.threshold.map_or("above every score".into(), threshold_text),
                    share(l.protected_adverse_now, l.protected_n),
                    share(l.protected_adverse, l.protected_n),
                    share(l.violating_adverse_now, l.violating_n),
                    share(l.violating_adverse, l.violating_n),
                    if l.small_sample {
                        "small n".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect(),
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Measure;

    #[test]
    fn significant_runs_read_as_ranges() {
        use SignificanceState::{Higher as H, Lower as L, NotSignificant as N};
        let grid = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        let track = SignificanceTrack {
            measure: Measure::OverRemoval,
            dimension: Dimension::Language,
            group: "en".into(),
            states: vec![N, H, H, N, L, H],
            p_adjusted: vec![None; 6],
            changes: Vec::new(),
        };
        assert_eq!(
            significant_runs(&track, &grid),
            ["0.2–0.3 (higher)", "0.5 (lower)", "0.6 (higher)"]
        );
        assert_eq!(state_at(&track, &grid, 0.2), "significantly higher");
        assert_eq!(state_at(&track, &grid, 0.25), "–");
    }
}
