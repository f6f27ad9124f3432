//! The report as a reader sees it: titled sections of prose, tables and chart
//! data, built once from the [`Report`] and rendered by both the Markdown and the
//! HTML renderer, so the two never disagree.

use std::borrow::Cow;

use serde::Serialize;

use super::sweep_view::{self, CurveChart};
use super::visible::for_document;
use super::{Report, Status, count_of, language_name, percent, percent_interval};
use crate::analysis::auc::AucInterval;
use crate::analysis::cluster::ClusterRobust;
use crate::analysis::ratio::RatioInterval;
use crate::analysis::{
    ALL_OTHERS, Dimension, Disparity, FamilyMode, IntervalNoteCode, KindFlips, Measure, ReferenceMode, Slice,
    StratifiedCheck,
};
use crate::appeal::NOTICE_ELEMENTS;
use crate::corpus::Characteristic;
use crate::gates::GateStatus;

/// Most flipped counterfactual families listed in a report.
const MAX_FAMILIES_LISTED: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub title: String,
    pub status: String,
    /// The summary's paragraphs, each a list of sentences.
    pub summary: Vec<Vec<Sentence>>,
    /// The evidence of every sentence, numbered as the sentences are.
    pub evidence: Vec<EvidenceItem>,
    pub facts: Vec<(String, String)>,
    pub sections: Vec<Section>,
}

/// A sentence of the summary and the number of its evidence item.
#[derive(Debug, Clone, Serialize)]
pub struct Sentence {
    pub number: usize,
    pub text: String,
}

/// What one sentence of the summary rests on.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceItem {
    pub number: usize,
    /// The finding's id.
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub table: Option<Table>,
    pub chart: Option<Chart>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub headers: Vec<String>,
    /// Whether each column holds numbers (right-aligned).
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

/// Data for a chart in the HTML report.
#[derive(Debug, Clone, Serialize)]
pub enum Chart {
    /// Rates with interval whiskers: over-removal (and detection where measured).
    Rates(Vec<RateRow>),
    /// Rate ratios with intervals on a log scale.
    Forest(Vec<ForestRow>),
    /// Over-removal against detection across thresholds, one line per group.
    Curves(CurveChart),
}

#[derive(Debug, Clone, Serialize)]
pub struct RateRow {
    pub label: String,
    pub over_removal: Option<Bar>,
    pub detection: Option<Bar>,
}

/// One rate bar with its interval.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub rate: f64,
    pub ci: Option<[f64; 2]>,
    /// Fewer cases than the minimum n: drawn faded and marked †.
    pub small_sample: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ForestRow {
    pub label: String,
    pub ratio: Option<f64>,
    pub ci: Option<[f64; 2]>,
    pub significant: bool,
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

/// Builds the reader's view of a report.
pub fn build_view(report: &Report) -> View {
    let status = match report.outcome.status {
        Status::Passed if report.gates.is_empty() => "Completed. No gates were set.".to_string(),
        Status::Passed => format!("Completed. All {} gates passed.", report.gates.len()),
        Status::GatesFailed => {
            let failed = report.failed_gates();
            format!(
                "Completed. {} of {} gates failed: {}.",
                failed.len(),
                report.gates.len(),
                failed.join(", ")
            )
        }
        Status::Incomplete => format!(
            "Incomplete: {} cases undecided, {} ended in error ({} of cases; the error budget is {}).",
            report.totals.pending,
            report.totals.errors,
            percent(report.outcome.error_rate),
            percent(report.outcome.error_budget)
        ),
    };
    let mut sections = vec![limitations_section(report)];
    sections.extend(report.baseline.as_ref().map(super::diff::baseline_section));
    for (dimension, id, title) in [
        (
            Dimension::Language,
            "language",
            "Over-removal and detection by language",
        ),
        (Dimension::Category, "category", "By category of speech"),
        (
            Dimension::TargetGroup,
            "target-group",
            "By target group (who the post is about)",
        ),
        (
            Dimension::SpeakerGroup,
            "speaker-group",
            "By speaker group (dialect of the writer)",
        ),
        (
            Dimension::LanguageXTargetGroup,
            "language-x-target-group",
            "By language and target group",
        ),
        (
            Dimension::Characteristic,
            "characteristic",
            "By protected characteristic",
        ),
        (
            Dimension::LanguageXCharacteristic,
            "language-x-characteristic",
            "By language and protected characteristic",
        ),
    ] {
        if let Some(s) = slice_section(report, dimension, id, title) {
            sections.push(s);
        }
    }
    sections.push(disparity_section(report, Measure::OverRemoval));
    if report.disparities.iter().any(|d| d.measure == Measure::Detection) {
        sections.push(disparity_section(report, Measure::Detection));
    }
    sections.extend(dimension_tests_section(report));
    sections.extend(stratified_section(report));
    if let Some(s) = score_bias_section(report) {
        sections.push(s);
    }
    sections.extend(sweep_view::sections(report));
    sections.extend(counterfactual_sections(report));
    sections.extend(perturbation_sections(report));
    sections.push(notice_section(report));
    if let Some(s) = appeals_section(report) {
        sections.push(s);
    }
    if let Some(s) = appeals_by_group_section(report) {
        sections.push(s);
    }
    if let Some(s) = statements_section(report) {
        sections.push(s);
    }
    sections.push(checklist_section(report));
    if let Some(s) = problems_section(report) {
        sections.push(s);
    }
    sections.push(gates_section(report));
    sections.push(method_section(report));
    let (summary, evidence) = summary_and_evidence(report);
    let reanalysis = report
        .settings
        .threshold_override
        .as_ref()
        .map(|o| format!(" — re-analysis at threshold {}", super::threshold_text(o.threshold)))
        .unwrap_or_default();
    let mut view = View {
        title: format!("Moderation audit: {}{reanalysis}", report.run.scenario),
        status,
        summary,
        evidence,
        facts: facts(report),
        sections,
    };
    view.show_acting_characters();
    view
}

impl View {
    /// Makes every control, bidi control and non-character in the view's text
    /// visible (see [`for_document`]), whichever part of the report it came from,
    /// so neither renderer can display text other than what it holds.
    fn show_acting_characters(&mut self) {
        let texts = [&mut self.title, &mut self.status]
            .into_iter()
            .chain(self.summary.iter_mut().flatten().map(|s| &mut s.text))
            .chain(self.evidence.iter_mut().flat_map(|e| [&mut e.id, &mut e.text]))
            .chain(self.facts.iter_mut().flat_map(|(key, value)| [key, value]));
        texts.for_each(make_visible);
        for section in &mut self.sections {
            let Section {
                id,
                title,
                paragraphs,
                table,
                chart,
            } = section;
            [id, title]
                .into_iter()
                .chain(paragraphs.iter_mut())
                .for_each(make_visible);
            if let Some(table) = table {
                table
                    .headers
                    .iter_mut()
                    .chain(table.rows.iter_mut().flatten())
                    .for_each(make_visible);
            }
            match chart {
                Some(Chart::Rates(rows)) => rows.iter_mut().for_each(|r| make_visible(&mut r.label)),
                Some(Chart::Forest(rows)) => rows.iter_mut().for_each(|r| make_visible(&mut r.label)),
                Some(Chart::Curves(chart)) => chart.lines.iter_mut().for_each(|l| make_visible(&mut l.label)),
                None => {}
            }
        }
    }
}

/// The summary's paragraphs (findings grouped by what they are about) and the
/// numbered evidence of each sentence.
fn summary_and_evidence(report: &Report) -> (Vec<Vec<Sentence>>, Vec<EvidenceItem>) {
    let mut paragraphs: Vec<Vec<Sentence>> = Vec::new();
    let mut evidence = Vec::new();
    let mut last_paragraph = None;
    for (i, finding) in report.findings.iter().enumerate() {
        let number = i + 1;
        let paragraph = finding.kind.paragraph();
        if last_paragraph != Some(paragraph) {
            paragraphs.push(Vec::new());
            last_paragraph = Some(paragraph);
        }
        if let Some(current) = paragraphs.last_mut() {
            current.push(Sentence {
                number,
                text: finding.text.clone(),
            });
        }
        evidence.push(EvidenceItem {
            number,
            id: finding.id.clone(),
            text: finding.evidence.describe(),
        });
    }
    (paragraphs, evidence)
}

fn limitations_section(report: &Report) -> Section {
    let mut s = section("limitations", "Limitations");
    s.paragraphs
        .push("What this run cannot show, drawn from the run itself.".into());
    s.paragraphs.extend(report.limitations.iter().map(|l| l.text.clone()));
    s
}

fn make_visible(text: &mut String) {
    if let Cow::Owned(shown) = for_document(text) {
        *text = shown;
    }
}

fn facts(report: &Report) -> Vec<(String, String)> {
    let mut facts = vec![
        (
            "System audited".to_string(),
            format!("{} — target kind {}", report.run.target_description, report.run.target),
        ),
        ("Scenario".into(), report.run.scenario.clone()),
    ];
    for note in &report.run.target_notes {
        facts.push(("Note on the system".into(), note.clone()));
    }
    match report.run.model_snapshots.len() {
        0 => {}
        1 => facts.push(("Model that answered".into(), report.run.model_snapshots_text())),
        _ => facts.push((
            "Models that answered".into(),
            format!(
                "{} — the system's model changed during the run: compare the cases by the model column of decisions.csv",
                report.run.model_snapshots_text()
            ),
        )),
    }
    facts.extend([("Run".into(), report.run.id.clone())]);
    for c in &report.corpora {
        let mut value = format!("{} {} ({})", c.name, c.version, c.license);
        if c.review_status.is_empty() {
            value.push_str(" — no review status declared");
        } else {
            let entries: Vec<String> = c
                .review_status
                .iter()
                .map(|r| format!("{}: {}", r.languages.join(", "), r.status))
                .collect();
            value.push_str(&format!(" — review status: {}", entries.join("; ")));
        }
        facts.push(("Corpus".into(), value));
    }
    if let Some(filter) = report.settings.review_filter {
        facts.push(("Review filter".into(), filter.as_str().to_string()));
    }
    let t = &report.totals;
    facts.push((
        "Cases".into(),
        format!(
            "{} ({} protected, {} violating); {} decided, {}, {} unsupported, {} pending",
            t.cases,
            t.protected,
            t.violating,
            t.decided,
            count_of(t.errors, "error", "errors"),
            t.unsupported,
            t.pending
        ),
    ));
    if let Some(p) = &report.perturbation {
        let variants: u64 = p.transforms.iter().map(|t| t.counts.variants).sum();
        facts.push((
            "Edited variants".into(),
            format!(
                "{variants} of the cases above, made by [perturb] (seed {}) and measured against their originals only",
                p.seed
            ),
        ));
    }
    let adverse: Vec<&str> = report.settings.adverse_actions.iter().map(|a| a.as_str()).collect();
    facts.push(("Counted as adverse".into(), adverse.join(", ")));
    if let Some(rule) = &report.settings.score_rule {
        facts.push((
            "Score rule".into(),
            format!(
                "score ≥ {} → {}, otherwise {}",
                super::threshold_text(rule.threshold),
                rule.at_or_above,
                rule.below
            ),
        ));
    }
    if let Some(o) = &report.settings.threshold_override {
        facts.push(("Operating point".into(), o.statement.clone()));
    }
    facts.push((
        "Started / finished".into(),
        format!(
            "{} / {}",
            report.run.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            report.run.finished_at.map_or("not finished".into(), |f| f
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        ),
    ));
    if let Some(limiting) = &report.run.rate_limiting {
        facts.push(("Rate limiting".into(), super::rate_limiting_text(limiting)));
    }
    facts.push(("modaudit version".into(), report.run.tool_version.clone()));
    facts
}

fn display_value(dimension: Dimension, value: &str) -> String {
    match dimension {
        Dimension::Language => language_name(value),
        Dimension::LanguageXTargetGroup => match value.split_once(" × ") {
            Some((lang, group)) => format!("{} × {group}", language_name(lang)),
            None => value.to_string(),
        },
        Dimension::Characteristic => characteristic_name(value),
        Dimension::LanguageXCharacteristic => match value.split_once(" × ") {
            Some((lang, characteristic)) => {
                format!("{} × {}", language_name(lang), characteristic_name(characteristic))
            }
            None => value.to_string(),
        },
        _ => value.to_string(),
    }
}

/// What a reader must know about the groups of a dimension that come from the
/// taxonomy of groups.
fn taxonomy_paragraphs(report: &Report, dimension: Dimension) -> Vec<String> {
    match dimension {
        Dimension::TargetGroup | Dimension::LanguageXTargetGroup => vec![
            "Groups are named by their canonical name in the taxonomy of groups: the other names corpora write for a group \
             (its aliases, such as `ahmadiyya` for `ahmadis`) count as that group. A name the taxonomy does not list stays as written."
                .to_string(),
        ],
        Dimension::Characteristic | Dimension::LanguageXCharacteristic => {
            let mut paragraphs = vec![
                "Each post counts under the protected characteristics of the group it is about, from the taxonomy of groups. A post \
                 about a group with several characteristics counts under each of them (posts about Jewish people under religion or \
                 belief and under ethnicity or national origin), so the rows overlap and do not add up to the total; posts about no \
                 group, or about a group the taxonomy does not list, count under none."
                    .to_string(),
            ];
            if dimension == Dimension::Characteristic && !report.characteristic_groups.is_empty() {
                let lists: Vec<String> = report
                    .characteristic_groups
                    .iter()
                    .map(|c| format!("{}: {}", c.characteristic.title(), c.groups.join(", ")))
                    .collect();
                paragraphs.push(format!("The groups under each: {}.", lists.join("; ")));
            }
            paragraphs
        }
        _ => Vec::new(),
    }
}

/// "religion or belief" for `religion_or_belief`; the value itself otherwise.
fn characteristic_name(value: &str) -> String {
    Characteristic::parse(value).map_or_else(|| value.to_string(), |c| c.title().to_string())
}

fn slice_section(report: &Report, dimension: Dimension, id: &str, title: &str) -> Option<Section> {
    let slices: Vec<&Slice> = report.slices.iter().filter(|s| s.dimension == dimension).collect();
    if slices.is_empty() {
        return None;
    }
    let min_n = report.settings.min_n;
    let mut s = section(id, title);
    s.paragraphs.push(format!(
        "Over-removal is the share of protected posts that met adverse action; detection is the share of violating posts that did. \
         Intervals are {:.0} % Wilson intervals, which count every post as independent evidence. Posts of one template family (or one \
         declared cluster) are near-identical and tend to be treated alike, so each rate also has a cluster-robust interval, with its \
         design effect in brackets: how many times the clustering inflates the variance (the interval uses the sample size divided by it, \
         never more than the sample). Rows marked “small n” have fewer than {min_n} protected cases, and faded bars marked † \
         fewer than {min_n} cases: read them with caution.",
        report.settings.confidence * 100.0
    ));
    s.paragraphs.extend(taxonomy_paragraphs(report, dimension));
    let rows = slices
        .iter()
        .map(|sl| {
            let mut note = Vec::new();
            if sl.small_sample && sl.protected_n > 0 {
                note.push("small n".to_string());
            }
            if sl.errors > 0 {
                note.push(count_of(sl.errors, "error", "errors"));
            }
            if sl.unsupported > 0 {
                note.push(format!("{} unsupported", sl.unsupported));
            }
            vec![
                display_value(dimension, &sl.value),
                sl.protected_n.to_string(),
                sl.protected_adverse.to_string(),
                sl.over_removal_rate.map_or("–".into(), percent),
                percent_interval(sl.over_removal_ci),
                cluster_robust_interval(sl.over_removal_cluster_robust.as_ref()),
                sl.violating_n.to_string(),
                sl.violating_adverse.to_string(),
                sl.detection_rate.map_or("–".into(), percent),
                percent_interval(sl.detection_ci),
                cluster_robust_interval(sl.detection_cluster_robust.as_ref()),
                note.join(", "),
            ]
        })
        .collect();
    s.table = Some(Table {
        headers: [
            "Group",
            "Protected n",
            "Actioned",
            "Over-removal",
            "CI",
            "Cluster-robust CI (deff)",
            "Violating n",
            "Actioned",
            "Detection",
            "CI",
            "Cluster-robust CI (deff)",
            "Note",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, true, true, true, true, true, true, true, true, true, true, false],
        rows,
    });
    if !matches!(
        dimension,
        Dimension::LanguageXTargetGroup | Dimension::LanguageXCharacteristic
    ) {
        s.chart = Some(Chart::Rates(
            slices
                .iter()
                .map(|sl| RateRow {
                    label: display_value(dimension, &sl.value),
                    over_removal: sl.over_removal_rate.map(|rate| Bar {
                        rate,
                        ci: sl.over_removal_ci,
                        small_sample: sl.small_sample,
                    }),
                    detection: sl.detection_rate.map(|rate| Bar {
                        rate,
                        ci: sl.detection_ci,
                        small_sample: sl.detection_small_sample,
                    }),
                })
                .collect(),
        ));
    }
    Some(s)
}

fn reference_name(dimension: Dimension, reference: &str) -> String {
    if dimension == Dimension::Language && reference != ALL_OTHERS {
        language_name(reference)
    } else {
        reference.to_string()
    }
}

fn ratio_interval(ci: Option<RatioInterval>) -> String {
    match ci {
        Some(RatioInterval {
            lower,
            upper: Some(upper),
        }) => format!("{lower:.2}–{upper:.2}"),
        Some(RatioInterval { lower, upper: None }) => format!("{lower:.2}–∞"),
        None => "–".into(),
    }
}

/// A cluster-robust interval with its design effect, e.g. `8.7–21.7 % (2.91)`.
fn cluster_robust_interval(robust: Option<&ClusterRobust>) -> String {
    match robust {
        Some(r) => format!(
            "{} ({})",
            percent_interval(Some(r.ci)),
            r.design_effect.map_or("–".into(), |d| format!("{d:.2}"))
        ),
        None => "–".into(),
    }
}

fn points_interval(ci: Option<[f64; 2]>) -> String {
    ci.map_or("–".into(), |[lo, hi]| {
        format!("{:+.1} to {:+.1}", lo * 100.0, hi * 100.0)
    })
}

/// The note column of a disparity: what keeps its intervals from being misread,
/// and the outcome of the stratified check.
fn disparity_note(d: &Disparity) -> String {
    let mut notes = Vec::new();
    if let Some(note) = &d.interval_note {
        notes.push(match note.code {
            IntervalNoteCode::ExcludesOnlyBeforeCorrection => {
                "only the unadjusted CI excludes parity: not significant after correction"
            }
            IntervalNoteCode::IntervalAndTestDisagree => "interval and exact test disagree at the margin",
            IntervalNoteCode::SignificantSimultaneousIncludesParity => {
                "significant, but the simultaneous CI includes parity"
            }
            IntervalNoteCode::NotTested => "not tested: the CI is descriptive only",
        });
    }
    let stratified = d.stratified.as_ref().map(|st| match st.survives {
        Some(true) => "survives stratification".to_string(),
        Some(false) => format!(
            "not significant within strata (MH OR {}, p = {})",
            st.odds_ratio.map_or("–".into(), |v| format!("{v:.2}")),
            st.cmh_p_value.map_or("–".into(), format_p)
        ),
        None => "cannot be checked within strata".to_string(),
    });
    let mut out: Vec<String> = notes.into_iter().map(String::from).collect();
    out.extend(stratified);
    if d.small_sample && d.tested {
        out.push("small reference n".into());
    }
    out.join("; ")
}

fn disparity_section(report: &Report, measure: Measure) -> Section {
    let (id, title, rate_of) = match measure {
        Measure::OverRemoval => (
            "disparities",
            "Disparities in over-removal between groups",
            "over-removal rate (adverse action on protected posts)",
        ),
        Measure::Detection => (
            "detection-disparities",
            "Disparities in detection between groups",
            "detection rate (adverse action on violating posts, equal opportunity)",
        ),
    };
    let mut s = section(id, title);
    let settings = &report.settings;
    let confidence = settings.confidence * 100.0;
    let families = match settings.families {
        FamilyMode::PerDimension => {
            "each dimension (languages, target groups, kinds of speech, speaker groups, protected characteristics) is its own family"
        }
        FamilyMode::Pooled => "all dimensions form one family",
    };
    let rows: Vec<&Disparity> = report.disparities.iter().filter(|d| d.measure == measure).collect();
    s.paragraphs.push(format!(
        "Each group's {rate_of} is compared with its reference (the table “Tests per dimension” says which reference each dimension uses): \
         rate ratio with a {confidence:.0} % MOVER–Wilson interval, difference in percentage points with Newcombe's {confidence:.0} % hybrid score interval, \
         two-sided Fisher exact p, and p adjusted with the {} method within its family ({families}). A gap is called significant when the adjusted p is below α = {}. \
         The unadjusted interval speaks for one comparison alone; the simultaneous interval (Bonferroni, confidence 1 − α/m for a family of m comparisons) \
         holds for the whole family at once and is the one to read beside the adjusted test. Groups with fewer than {} cases are described but not tested.",
        settings.correction.name(),
        settings.alpha,
        settings.min_n
    ));
    s.paragraphs.push(
        "“Detectable ratio” is the smallest increase the comparison had an 80 % chance to detect at the family's per-comparison level α/m \
         (Cohen's h, normal approximation): when a gap is not significant, a gap smaller than that could have gone unseen."
            .into(),
    );
    if rows.is_empty() {
        s.paragraphs
            .push("No comparison could be made (no dimension has two groups with decided cases).".into());
        return s;
    }
    let mut rows = rows;
    rows.sort_by(|a, b| {
        b.significant
            .cmp(&a.significant)
            .then_with(|| b.tested.cmp(&a.tested))
            .then_with(|| {
                a.p_adjusted
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.p_adjusted.unwrap_or(f64::INFINITY))
            })
            .then_with(|| a.dimension.cmp(&b.dimension))
            .then_with(|| a.group.cmp(&b.group))
    });
    s.table = Some(Table {
        headers: vec![
            "Dimension".into(),
            "Group".into(),
            "Reference".into(),
            "Rate".into(),
            "Reference rate".into(),
            "Ratio".into(),
            format!("Ratio CI, unadjusted {confidence:.0} %"),
            "Ratio CI, simultaneous (1 − α/m)".into(),
            format!("Difference (pp) and unadjusted {confidence:.0} % CI"),
            "p".into(),
            "p adjusted".into(),
            "Significant".into(),
            "Detectable ratio".into(),
            "Note".into(),
        ],
        numeric: vec![
            false, false, false, true, true, true, true, true, true, true, true, false, true, false,
        ],
        rows: rows
            .iter()
            .map(|d| {
                vec![
                    d.dimension.title().to_string(),
                    display_value(d.dimension, &d.group),
                    reference_name(d.dimension, &d.reference),
                    format!("{} ({}/{})", percent(d.rate), d.group_adverse, d.group_n),
                    format!(
                        "{} ({}/{})",
                        percent(d.reference_rate),
                        d.reference_adverse,
                        d.reference_n
                    ),
                    d.ratio.map_or("∞".into(), |r| format!("{r:.2}")),
                    ratio_interval(d.ratio_ci),
                    ratio_interval(d.ratio_ci_simultaneous),
                    format!("{:+.1} ({})", d.difference * 100.0, points_interval(d.difference_ci)),
                    d.p_value.map_or("–".into(), format_p),
                    d.p_adjusted.map_or("–".into(), format_p),
                    match (d.tested, d.significant) {
                        (false, _) => format!("not tested (fewer than {} cases)", settings.min_n),
                        (true, true) => "yes".into(),
                        (true, false) => "no".into(),
                    },
                    d.min_detectable
                        .as_ref()
                        .map_or("–".into(), |m| match (m.increase.ratio, m.increase.rate) {
                            (Some(ratio), _) => format!("{ratio:.2}"),
                            (None, Some(rate)) => format!("rate {}", percent(rate)),
                            (None, None) => "none".into(),
                        }),
                    disparity_note(d),
                ]
            })
            .collect(),
    });
    let forest: Vec<ForestRow> = rows
        .iter()
        .filter(|d| d.tested && d.ratio.is_some())
        .take(40)
        .map(|d| ForestRow {
            label: format!("{}: {}", d.dimension.title(), display_value(d.dimension, &d.group)),
            ratio: d.ratio,
            ci: d
                .ratio_ci_simultaneous
                .map(|ci| [ci.lower, ci.upper.unwrap_or(f64::INFINITY)]),
            significant: d.significant,
        })
        .collect();
    if !forest.is_empty() {
        s.paragraphs
            .push("The chart shows the tested comparisons with their simultaneous intervals.".into());
        s.chart = Some(Chart::Forest(forest));
    }
    s
}

fn dimension_tests_section(report: &Report) -> Option<Section> {
    if report.dimension_comparisons.is_empty() {
        return None;
    }
    let settings = &report.settings;
    let mut s = section("dimension-tests", "Tests per dimension");
    s.paragraphs.push(format!(
        "For each measure and dimension: the reference the groups were compared with (“rest”: all other cases of the dimension; “fixed”: a named group; \
         “lowest”: the group with the lowest rate among those with at least {} cases), how many comparisons were tested, the family they were \
         corrected in ({} method, α = {}) with its m and the confidence of its simultaneous intervals, and an omnibus χ² test of homogeneity across \
         the groups with at least {} cases: whether the groups' rates differ at all, without a family of pairwise tests.",
        settings.min_n,
        settings.correction.name(),
        settings.alpha,
        settings.min_n
    ));
    s.table = Some(Table {
        headers: [
            "Measure",
            "Dimension",
            "Reference",
            "Comparisons",
            "Family",
            "m",
            "Simultaneous level",
            "Significant",
            "Omnibus χ²",
            "Omnibus p",
            "Note",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, false, false, false, false, true, true, true, true, true, false],
        rows: report
            .dimension_comparisons
            .iter()
            .map(|c| {
                let family = c
                    .family
                    .as_ref()
                    .and_then(|name| report.families.iter().find(|f| &f.name == name));
                let reference = match (&c.reference, c.reference_mode) {
                    (Some(r), ReferenceMode::Rest) => format!("{r} (rest)"),
                    (Some(r), ReferenceMode::Fixed) => format!("{} (fixed)", reference_name(c.dimension, r)),
                    (Some(r), ReferenceMode::Lowest) => format!("{} (lowest rate)", reference_name(c.dimension, r)),
                    (None, mode) => format!("none ({})", mode.as_str()),
                };
                let mut notes: Vec<String> = c.note.iter().cloned().collect();
                if let Some(note) = c.omnibus.as_ref().and_then(|o| o.note.clone()) {
                    notes.push(note);
                }
                if c.omnibus.is_none() && !c.groups_share_cases {
                    notes.push(format!(
                        "fewer than two groups with at least {} cases: no omnibus test",
                        settings.min_n
                    ));
                }
                vec![
                    c.measure.title().to_string(),
                    c.dimension.title().to_string(),
                    reference,
                    format!("{} tested, {} described", c.tested, c.not_tested),
                    c.family.clone().unwrap_or_else(|| "–".into()),
                    family.map_or("–".into(), |f| f.m.to_string()),
                    family.map_or("–".into(), |f| format!("{:.2} %", f.simultaneous_confidence * 100.0)),
                    c.significant.to_string(),
                    c.omnibus.as_ref().map_or("–".into(), |o| match o.statistic {
                        Some(x) => format!("χ²({}) = {x:.2}, {} groups", o.df, o.groups),
                        None => format!("–, {} groups", o.groups),
                    }),
                    c.omnibus.as_ref().and_then(|o| o.p_value).map_or("–".into(), format_p),
                    notes.join("; "),
                ]
            })
            .collect(),
    });
    Some(s)
}

fn stratified_section(report: &Report) -> Option<Section> {
    let checked: Vec<(&Disparity, &StratifiedCheck)> = report
        .disparities
        .iter()
        .filter_map(|d| d.stratified.as_ref().map(|st| (d, st)))
        .collect();
    if checked.is_empty() {
        return None;
    }
    let mut s = section("stratified", "Significant disparities checked within strata");
    s.paragraphs.push(format!(
        "A group can show a higher rate only because its cases are of kinds the system acts on more often (reclaimed terms, say). Each significant \
         disparity between target groups, speaker groups or languages is therefore re-examined within strata of the kind of speech (and, for groups of \
         people, the language): the Mantel–Haenszel common odds ratio with its Robins–Breslow–Greenland {:.0} % interval, the continuity-corrected \
         Cochran–Mantel–Haenszel test and the Breslow–Day test of equal odds ratios across strata. Strata without cases of both the group and its \
         reference contribute nothing. The disparity survives when the CMH p is below the family's level α/m and the group fares worse (or better) within \
         strata as it does overall.",
        report.settings.confidence * 100.0
    ));
    s.table = Some(Table {
        headers: [
            "Measure",
            "Dimension",
            "Group",
            "Crude ratio",
            "Crude OR",
            "MH OR (CI)",
            "CMH p",
            "Breslow–Day p",
            "Strata used",
            "Most over-represented kind of speech",
            "Survives",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, false, false, true, true, true, true, true, true, false, false],
        rows: checked
            .iter()
            .map(|(d, st)| {
                let number = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.2}"));
                vec![
                    d.measure.title().to_string(),
                    d.dimension.title().to_string(),
                    display_value(d.dimension, &d.group),
                    number(st.crude_rate_ratio),
                    number(st.crude_odds_ratio),
                    format!(
                        "{} ({})",
                        number(st.odds_ratio),
                        st.odds_ratio_ci
                            .map_or("–".into(), |[lo, hi]| format!("{lo:.2}–{hi:.2}"))
                    ),
                    st.cmh_p_value.map_or("–".into(), format_p),
                    st.breslow_day_p_value.map_or("–".into(), format_p),
                    format!("{} of {}", st.strata_used, st.strata),
                    st.largest_imbalance.as_ref().map_or("–".into(), |i| {
                        format!(
                            "{}: {} of the group, {} of the reference",
                            i.value,
                            percent(i.group_share),
                            percent(i.reference_share)
                        )
                    }),
                    match st.survives {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => "cannot tell".into(),
                    },
                ]
            })
            .collect(),
    });
    Some(s)
}

fn score_bias_section(report: &Report) -> Option<Section> {
    let bias = report.score_bias.as_ref()?;
    let mut s = section("score-bias", "Score-based bias");
    let auc = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.3}"));
    s.paragraphs.push(format!(
        "For the {} decided cases that came with a score, ROC AUC separates violating from protected posts (1 is perfect, 0.5 is chance). \
         Per target group (Borkan et al. 2019): subgroup AUC within the group; BPSN AUC — the group's protected posts against other groups' violating \
         ones, low when benign posts about the group score like hate; BNSP AUC — the group's violating posts against other protected posts. \
         Overall AUC {}; power means (p = −5) {} / {} / {}; final bias metric {}.",
        bias.scored_cases,
        auc_with_ci(bias.overall_auc, bias.overall_auc_interval.as_ref()),
        auc(bias.power_means.subgroup_auc),
        auc(bias.power_means.bpsn_auc),
        auc(bias.power_means.bnsp_auc),
        auc(bias.final_bias_metric)
    ));
    s.paragraphs.push(format!(
        "Intervals are {:.0} % DeLong intervals. An AUC whose interval reaches down to 0.5 is no evidence that the scores separate the two sides; \
         the Note column names those. With perfect separation DeLong's variance is zero and no interval is shown; such an AUC counts as \
         separating only when so clean a split would arise by chance no more than once in {:.0} tries. Groups with fewer than \
         {} scored cases are marked small n and left out of the power means and the final bias metric ({} of {} groups enter them).",
        report.settings.confidence * 100.0,
        2.0 / (1.0 - report.settings.confidence),
        bias.min_n,
        bias.groups_in_means,
        bias.groups.len()
    ));
    s.table = Some(Table {
        headers: [
            "Target group",
            "Scored",
            "Violating",
            "Protected",
            "Subgroup AUC (CI)",
            "BPSN AUC (CI)",
            "BNSP AUC (CI)",
            "Note",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, true, true, true, true, true, true, false],
        rows: bias
            .groups
            .iter()
            .map(|g| {
                let mut note = Vec::new();
                if g.small_sample {
                    note.push("small n, not in the power means".to_string());
                }
                let not_separating: Vec<&str> = [
                    ("subgroup", &g.subgroup_auc_interval),
                    ("BPSN", &g.bpsn_auc_interval),
                    ("BNSP", &g.bnsp_auc_interval),
                ]
                .into_iter()
                .filter(|(_, interval)| interval.as_ref().is_some_and(|i| !i.separates))
                .map(|(name, _)| name)
                .collect();
                if !not_separating.is_empty() {
                    note.push(format!("not above chance: {}", not_separating.join(", ")));
                }
                vec![
                    g.group.clone(),
                    g.n.to_string(),
                    g.positives.to_string(),
                    g.negatives.to_string(),
                    auc_with_ci(g.subgroup_auc, g.subgroup_auc_interval.as_ref()),
                    auc_with_ci(g.bpsn_auc, g.bpsn_auc_interval.as_ref()),
                    auc_with_ci(g.bnsp_auc, g.bnsp_auc_interval.as_ref()),
                    note.join("; "),
                ]
            })
            .collect(),
    });
    Some(s)
}

/// An AUC with its interval, e.g. `0.514 (0.149–0.879)`.
fn auc_with_ci(value: Option<f64>, interval: Option<&AucInterval>) -> String {
    match (value, interval.and_then(|i| i.ci)) {
        (None, _) => "–".into(),
        (Some(v), Some([lo, hi])) => format!("{v:.3} ({lo:.3}–{hi:.3})"),
        (Some(v), None) => format!("{v:.3} (no interval)"),
    }
}

fn format_p(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

fn counterfactual_sections(report: &Report) -> Vec<Section> {
    let cf = &report.counterfactual;
    let mut s = section("counterfactual", "Counterfactual consistency");
    if cf.by_kind.is_empty() {
        s.paragraphs.push(
            "The corpora hold no counterfactual families (cases sharing a `pair_id`) with two or more decided members."
                .into(),
        );
        return vec![s];
    }
    s.paragraphs.push(format!(
        "A counterfactual family is a set of posts that differ only in the group named (a group swap, as template expansions are) or in the \
         dialect or script of the writer (dialect variants). A consistent system treats every member alike. Families are counted by kind, \
         because a dialect paraphrase is not an otherwise identical post, and both per family (a family flips when its members were not all \
         treated alike) and per pair of members (a pair flips when exactly one of the two met adverse action), because a family of ten with one \
         member actioned is one flip of one family but nine of 45 pairs. Intervals are {:.0} % Wilson intervals; pairs of one family are not \
         independent, so the pair rate also has a cluster-robust interval with families as clusters (design effect in brackets). \
         Over all kinds, {} of {} families were treated inconsistently.",
        report.settings.confidence * 100.0,
        cf.flipped,
        cf.families
    ));
    if report.perturbation.is_some() {
        s.paragraphs.push(
            "Each case edited by `[perturb]` forms a perturbation family with its edited variants (those that keep its label); these \
             families have their own row and are left out of the count over all kinds."
                .into(),
        );
    }
    for kind in &cf.by_kind {
        if let Some(sentence) = concentration_sentence(kind) {
            s.paragraphs.push(sentence);
        }
    }
    let rate = |rate: Option<f64>, ci: Option<[f64; 2]>| {
        format!("{} ({})", rate.map_or("–".into(), percent), percent_interval(ci))
    };
    s.table = Some(Table {
        headers: [
            "Kind",
            "Families",
            "Flipped",
            "Family flip rate (CI)",
            "Pairs",
            "Flipped pairs",
            "Pair flip rate (CI)",
            "Cluster-robust CI (deff)",
            "Family sizes (members: families)",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, true, true, true, true, true, true, true, false],
        rows: cf
            .by_kind
            .iter()
            .map(|k| {
                vec![
                    k.kind.title().to_string(),
                    k.families.to_string(),
                    k.flipped_families.to_string(),
                    rate(k.family_flip_rate, k.family_flip_ci),
                    k.pairs.to_string(),
                    k.flipped_pairs.to_string(),
                    rate(k.pair_flip_rate, k.pair_flip_ci),
                    cluster_robust_interval(k.pair_flip_cluster_robust.as_ref()),
                    k.family_sizes
                        .iter()
                        .map(|size| format!("{}: {} ({} flipped)", size.members, size.families, size.flipped))
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect(),
    });
    let mut sections = vec![s];
    if !cf.flipped_families.is_empty() {
        sections.push(flips_by_group_section(report));
        sections.push(flipped_families_section(report));
    }
    sections
}

/// "In group swaps, the member about muslims was the actioned one in 3 of the 3
/// flipped families (7 of 8 flipped pairs)."
fn concentration_sentence(kind: &KindFlips) -> Option<String> {
    let top = kind.members.first().filter(|m| m.adverse_side_of_flipped_pairs > 0)?;
    let value = top.value.as_deref().unwrap_or("no group");
    let who = match kind.kind {
        crate::corpus::FamilyKind::GroupSwap => format!("the member about {value}"),
        crate::corpus::FamilyKind::Dialect => format!("the member written in {value}"),
        _ => format!("the member marked {value}"),
    };
    Some(format!(
        "{}: {who} was the actioned one in {} of the {} flipped families ({} of {} flipped pairs).",
        kind.kind.title(),
        top.adverse_in_flipped_families,
        kind.flipped_families,
        top.adverse_side_of_flipped_pairs,
        kind.flipped_pairs
    ))
}

fn flips_by_group_section(report: &Report) -> Section {
    let mut s = section("counterfactual-groups", "Who was on the actioned side of a flip");
    s.paragraphs.push(
        "For each group (the target group in group swaps, the writer's dialect in dialect families): its members in families of that kind, \
         how many were actioned, in how many flipped families one of them was the actioned member, and on which side of the flipped pairs it was. \
         A group that is almost always the actioned side points at what the system reacts to."
            .into(),
    );
    s.table = Some(Table {
        headers: [
            "Kind",
            "Group",
            "Members",
            "Actioned",
            "Flipped families, actioned",
            "Flipped pairs, actioned side",
            "Flipped pairs, left-alone side",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, false, true, true, true, true, true],
        rows: report
            .counterfactual
            .by_kind
            .iter()
            .flat_map(|k| {
                k.members
                    .iter()
                    .filter(|m| m.adverse_side_of_flipped_pairs + m.allowed_side_of_flipped_pairs > 0)
                    .map(move |m| {
                        vec![
                            k.kind.title().to_string(),
                            m.value.clone().unwrap_or_else(|| "–".into()),
                            m.members.to_string(),
                            m.actioned.to_string(),
                            m.adverse_in_flipped_families.to_string(),
                            m.adverse_side_of_flipped_pairs.to_string(),
                            m.allowed_side_of_flipped_pairs.to_string(),
                        ]
                    })
            })
            .collect(),
    });
    s
}

fn flipped_families_section(report: &Report) -> Section {
    let cf = &report.counterfactual;
    let mut s = section("counterfactual-families", "Flipped counterfactual families");
    if cf.flipped_families.len() > MAX_FAMILIES_LISTED {
        s.paragraphs.push(format!(
            "The first {MAX_FAMILIES_LISTED} are listed; `results.json` has all of them."
        ));
    }
    let member = |m: &crate::analysis::Member| match &m.group {
        Some(g) => format!("{} ({g})", m.case_id),
        None => m.case_id.to_string(),
    };
    s.table = Some(Table {
        headers: ["Family", "Kind", "Label", "Category", "Actioned", "Not actioned"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false; 6],
        rows: cf
            .flipped_families
            .iter()
            .take(MAX_FAMILIES_LISTED)
            .map(|f| {
                vec![
                    f.pair_id.to_string(),
                    f.kind.title().to_string(),
                    f.label.to_string(),
                    f.category.to_string(),
                    f.adverse.iter().map(member).collect::<Vec<_>>().join(", "),
                    f.not_adverse.iter().map(member).collect::<Vec<_>>().join(", "),
                ]
            })
            .collect(),
    });
    s
}

/// Robustness to evasion: what `[perturb]` made, evasion and instability per
/// transform and language, and the directional check with its violations.
fn perturbation_sections(report: &Report) -> Vec<Section> {
    let Some(p) = &report.perturbation else {
        return Vec::new();
    };
    let confidence = report.settings.confidence * 100.0;
    let mut made = section("perturbation", "Robustness to evasion");
    made.paragraphs.push(format!(
        "The scenario's `[perturb]` table edited cases the way people get past filters, each edit a new case (`<id>~<transform>`) linked to its \
         original in `decisions.csv` (`perturbation_of`, `transform`; the original is its family's `pair_id`). The edits are seeded (seed {}): \
         the same scenario makes the same variants. Variants are measured against their originals only; every other rate of this report is \
         about the corpus cases. An edit that does not apply to a text (leetspeak to Arabic script, stripping accents from a text without \
         any) makes no variant and is counted as not applicable.",
        p.seed
    ));
    made.paragraphs.push(format!(
        "Evasion is the share of violating posts met with adverse action whose edited variant was not; instability, the share of protected \
         posts decided differently once edited; both with {confidence:.0} % Wilson intervals over pairs whose original and variant were both decided. \
         Edits of one original are not independent of each other, so transforms are not pooled or ranked."
    ));
    made.table = Some(Table {
        headers: ["Transform", "Keeps", "Originals", "Variants", "Not applicable"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false, false, true, true, true],
        rows: p
            .transforms
            .iter()
            .map(|t| {
                vec![
                    t.transform.title().to_string(),
                    t.transform.invariant().to_string(),
                    t.counts.originals.to_string(),
                    t.counts.variants.to_string(),
                    t.counts.not_applicable.to_string(),
                ]
            })
            .collect(),
    });
    let mut sections = vec![made];
    let rate_rows = |rates: &[crate::analysis::TransformRates], only_variant: &str| -> Table {
        let row = |transform: &str, language: String, r: &crate::analysis::PairRate| {
            vec![
                transform.to_string(),
                language,
                r.pairs.to_string(),
                r.n.to_string(),
                r.count.to_string(),
                r.rate.map_or("–".into(), percent),
                percent_interval(r.ci),
                r.variant_only_adverse.to_string(),
            ]
        };
        Table {
            headers: [
                "Transform",
                "Language",
                "Pairs",
                "n",
                "Count",
                "Rate",
                "CI",
                only_variant,
            ]
            .map(String::from)
            .to_vec(),
            numeric: vec![false, false, true, true, true, true, true, true],
            rows: rates
                .iter()
                .flat_map(|t| {
                    std::iter::once(row(t.transform.title(), "all".into(), &t.overall)).chain(
                        t.by_language
                            .iter()
                            .map(|l| row(t.transform.title(), language_name(&l.language), &l.rate)),
                    )
                })
                .collect(),
        }
    };
    if !p.results.evasion.is_empty() {
        let mut s = section(
            "perturbation-evasion",
            "Evasion: violating posts that got through once edited",
        );
        s.paragraphs.push(
            "n is the number of violating originals the system met with adverse action (with a decided variant); count, how many of their \
             variants it left alone. The last column counts originals it missed whose variant it caught."
                .into(),
        );
        s.table = Some(rate_rows(&p.results.evasion, "Caught only once edited"));
        sections.push(s);
    }
    if !p.results.instability.is_empty() {
        let mut s = section(
            "perturbation-instability",
            "Instability: protected posts decided differently once edited",
        );
        s.paragraphs.push(
            "n is the number of protected originals with a decided variant; count, how many were decided differently. The last column counts \
             variants actioned while their original was left up."
                .into(),
        );
        s.table = Some(rate_rows(&p.results.instability, "Actioned only once edited"));
        sections.push(s);
    }
    if let Some(d) = &p.results.directional {
        let mut s = section(
            "perturbation-directional",
            "Quoted to condemn: never harsher than the post",
        );
        s.paragraphs.push(format!(
            "Each violating post was also quoted inside a sentence that condemns and reports it, written per language: protected counter-speech. \
             A system may remove both or neither, or leave the quotation up; it should not act on the quotation while leaving the post itself up. \
             Of {} pairs, {} were such violations ({}, {confidence:.0} % CI {}); in {} the system acted on both.",
            d.overall.n,
            d.overall.count,
            d.overall.rate.map_or("–".into(), percent),
            percent_interval(d.overall.ci),
            d.overall.both_adverse
        ));
        if !d.examples.is_empty() {
            s.paragraphs.push(format!(
                "Violations (post allowed, quotation actioned){}: {}.",
                if d.overall.count as usize > d.examples.len() {
                    format!(", the first {}", d.examples.len())
                } else {
                    String::new()
                },
                d.examples
                    .iter()
                    .map(|e| format!("`{}` → `{}`", e.original, e.variant))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s.table = Some(Table {
            headers: [
                "Language",
                "Pairs",
                "Quotation actioned, post not",
                "Rate",
                "CI",
                "Both actioned",
            ]
            .map(String::from)
            .to_vec(),
            numeric: vec![false, true, true, true, true, true],
            rows: d
                .by_language
                .iter()
                .map(|l| {
                    vec![
                        language_name(&l.language),
                        l.rate.n.to_string(),
                        l.rate.count.to_string(),
                        l.rate.rate.map_or("–".into(), percent),
                        percent_interval(l.rate.ci),
                        l.rate.both_adverse.to_string(),
                    ]
                })
                .collect(),
        });
        sections.push(s);
    }
    sections
}

fn notice_section(report: &Report) -> Section {
    let n = &report.notice;
    let mut s = section("notice", "Notice and appeal");
    if n.adverse == 0 {
        s.paragraphs
            .push("The system took no adverse action in this run, so there were no notices to assess.".into());
        return s;
    }
    s.paragraphs.push(format!(
        "For each of the {} adverse decisions, the audit recorded whether the system's answer carried each element of a notice \
         that the Santa Clara Principles and Article 17 of the EU Digital Services Act expect.",
        n.adverse
    ));
    if n.with_appeal_route == 0 {
        s.paragraphs.push(
            "No route to appeal exists in this system's answers: a person whose lawful post was removed would not be told how to contest it."
                .into(),
        );
    }
    s.table = Some(Table {
        headers: ["Element", "Present in", "Share"].map(String::from).to_vec(),
        numeric: vec![false, true, true],
        rows: NOTICE_ELEMENTS
            .iter()
            .map(|(key, name)| {
                vec![
                    capitalise(name),
                    format!("{} of {}", n.count(key), n.adverse),
                    n.share(key).map_or("–".into(), percent),
                ]
            })
            .collect(),
    });
    s
}

fn seconds(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(s) if s < 120.0 => format!("{s:.1} s"),
        Some(s) if s < 7200.0 => format!("{:.1} min", s / 60.0),
        Some(s) if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        Some(s) => format!("{:.1} days", s / 86_400.0),
    }
}

/// A Kaplan–Meier percentile of time to decision, or, when the curve did not
/// reach it, "more than" the end of follow-up (the deadline, or less when no
/// appeal was followed that long).
fn percentile(value: Option<f64>, time: &crate::appeal::TimeToDecision, deadline: f64) -> String {
    match (value, time.follow_up_secs) {
        (Some(v), _) => seconds(Some(v)),
        (None, Some(end)) => format!("more than {}", seconds(Some(end.min(deadline)))),
        (None, None) => "–".into(),
    }
}

fn appeals_section(report: &Report) -> Option<Section> {
    use crate::appeal::{AppealMeasure, SamplingMethod};
    let p = report.appeal.probe.as_ref()?;
    let mut s = section("appeals", "Appeals");
    let sampled = match p.sampling.method {
        SamplingMethod::All => String::new(),
        SamplingMethod::StratifiedByLanguage => format!(
            ", a random sample (seed {}) stratified by language: {}",
            p.sampling.seed,
            p.sampling
                .strata
                .iter()
                .map(|st| format!(
                    "{} {} of {}",
                    language_name(&st.language),
                    st.selected,
                    st.wrongful_removals
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    s.paragraphs.push(format!(
        "The audit appealed {} of the {} wrongful removals (adverse decisions on protected posts){sampled}, through the platform's appeal API, and \
         followed each appeal until it was decided or the deadline of {} passed.",
        p.selected,
        p.wrongful_removals,
        seconds(Some(p.deadline_secs))
    ));
    s.paragraphs.push(format!(
        "Reversal is counted two ways, with {:.0} % Wilson intervals: among decided appeals (conditional on a decision by the deadline), and by \
         the deadline among all appeals followed to it, where an appeal still pending counts as not reversed. Time to decision runs from filing \
         to the platform's decision; it is estimated by Kaplan–Meier with appeals still pending at the deadline censored there (not dropped), \
         and “more than t” means the percentile was not reached by t, the end of follow-up.",
        report.settings.confidence * 100.0
    ));
    if p.unfinished > 0 {
        s.paragraphs.push(format!(
            "{} appeals have not been followed to an outcome yet: the run is incomplete, and they are left out of the time to decision.",
            p.unfinished
        ));
    }
    let time = &p.time_to_decision;
    let mut rows = vec![
        vec!["Appeals selected".into(), p.selected.to_string()],
        vec!["Filed (acknowledged by the platform)".into(), p.filed.to_string()],
        vec!["Could not be filed or followed".into(), p.failed.to_string()],
        vec!["Decided".into(), p.decided.to_string()],
        vec!["Reversed".into(), p.reversed.to_string()],
        vec!["Upheld".into(), p.upheld.to_string()],
        vec![
            "Still pending at the deadline".into(),
            p.pending_at_deadline.to_string(),
        ],
        vec![
            "Reversed, among decided appeals".into(),
            format!(
                "{} ({})",
                p.reversal_rate.map_or("–".into(), percent),
                percent_interval(p.reversal_ci)
            ),
        ],
        vec![
            "Reversed by the deadline, among all followed".into(),
            format!(
                "{} ({})",
                p.reversal_within_deadline.map_or("–".into(), percent),
                percent_interval(p.reversal_within_deadline_ci)
            ),
        ],
        vec![
            "Time to decision, median".into(),
            percentile(time.median_secs, time, p.deadline_secs),
        ],
        vec![
            "Time to decision, 90th percentile".into(),
            percentile(time.p90_secs, time, p.deadline_secs),
        ],
        vec![
            "Censored (undecided when last seen)".into(),
            format!("{} of {}", time.censored, time.n),
        ],
        vec![
            "Decisions that came with reasoning".into(),
            format!("{} of {}", p.decisions_with_reason, p.decided),
        ],
    ];
    for (reason, n) in &p.failures {
        rows.push(vec![format!("Failed: {reason}"), n.to_string()]);
    }
    s.table = Some(Table {
        headers: vec!["".into(), "".into()],
        numeric: vec![false, true],
        rows,
    });
    let mut disparities: Vec<&crate::appeal::AppealDisparity> = p.disparities.iter().collect();
    disparities.sort_by(|a, b| {
        b.significant.cmp(&a.significant).then_with(|| {
            a.p_adjusted
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.p_adjusted.unwrap_or(f64::INFINITY))
        })
    });
    let median = |v: Option<f64>| v.map_or("not reached".into(), |v| seconds(Some(v)));
    let disparity_rows: Vec<String> = disparities
        .iter()
        .filter(|d| d.significant)
        .map(|d| {
            let rate = |v: Option<f64>| v.map_or("–".into(), percent);
            let (what, value, reference, test) = match d.measure {
                AppealMeasure::ReversalAmongDecided => (
                    "reversal among decided appeals",
                    rate(d.value),
                    rate(d.reference_value),
                    "Fisher",
                ),
                AppealMeasure::ReversalWithinDeadline => (
                    "reversal by the deadline",
                    rate(d.value),
                    rate(d.reference_value),
                    "Fisher",
                ),
                AppealMeasure::TimeToDecision => (
                    "median time to decision",
                    format!("{} ({} of {} decided)", median(d.value), d.group_events, d.group_n),
                    format!(
                        "{} ({} of {} decided)",
                        median(d.reference_value),
                        d.reference_events,
                        d.reference_n
                    ),
                    "log-rank",
                ),
            };
            let ratio = d.ratio.map_or(String::new(), |r| format!("{r:.2}×, "));
            let p_value = d.p_adjusted.map_or("–".into(), format_p);
            let p_value = if p_value.starts_with('<') {
                format!("adjusted p {p_value}")
            } else {
                format!("adjusted p = {p_value}")
            };
            format!(
                "{} {}: {what} {value} against {reference} for {} ({ratio}{test}, {p_value})",
                d.dimension.title(),
                display_value(d.dimension, &d.group),
                d.reference,
            )
        })
        .collect();
    if disparity_rows.is_empty() {
        s.paragraphs.push(format!(
            "No significant difference in reversal (Fisher) or time to decision (log-rank) between languages, groups or categories ({} comparisons, {} correction).",
            p.disparities.len(),
            report.settings.correction.name()
        ));
    } else {
        s.paragraphs.push(format!(
            "Significant differences ({} comparisons, {} correction, α = {}): {}.",
            p.disparities.len(),
            report.settings.correction.name(),
            report.settings.alpha,
            disparity_rows.join("; ")
        ));
    }
    Some(s)
}

fn appeals_by_group_section(report: &Report) -> Option<Section> {
    let p = report.appeal.probe.as_ref()?;
    if p.slices.is_empty() {
        return None;
    }
    let mut s = section("appeals-by-group", "Appeals by language, group and category");
    s.table = Some(Table {
        headers: [
            "Group",
            "Wrongful removals",
            "Selected",
            "Decided",
            "Pending at deadline",
            "Reversed, of decided (CI)",
            "Reversed by deadline, of followed (CI)",
            "Median time",
            "90th percentile",
            "Note",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, true, true, true, true, true, true, true, true, false],
        rows: p
            .slices
            .iter()
            .map(|sl| {
                let time = &sl.time_to_decision;
                let note = if sl.wrongful_removals == 0 {
                    "nothing to appeal"
                } else if sl.selected == 0 {
                    "not sampled"
                } else if sl.decided == 0 {
                    "none decided"
                } else if sl.small_sample {
                    "small n"
                } else {
                    ""
                };
                vec![
                    format!("{}: {}", sl.dimension.title(), display_value(sl.dimension, &sl.value)),
                    sl.wrongful_removals.to_string(),
                    sl.selected.to_string(),
                    sl.decided.to_string(),
                    sl.pending_at_deadline.to_string(),
                    format!(
                        "{} ({})",
                        sl.reversal_rate.map_or("–".into(), percent),
                        percent_interval(sl.reversal_ci)
                    ),
                    format!(
                        "{} ({})",
                        sl.reversal_within_deadline.map_or("–".into(), percent),
                        percent_interval(sl.reversal_within_deadline_ci)
                    ),
                    percentile(time.median_secs, time, p.deadline_secs),
                    percentile(time.p90_secs, time, p.deadline_secs),
                    note.into(),
                ]
            })
            .collect(),
    });
    Some(s)
}

fn statements_section(report: &Report) -> Option<Section> {
    let st = report.appeal.statements.as_ref()?;
    let mut s = section("statements", "Statements of reasons");
    s.paragraphs.push(format!(
        "{} of {} statements of reasons in the file have every required field of the EU DSA Transparency Database with an allowed value.",
        st.valid, st.statements
    ));
    if let Some(j) = &st.join {
        s.paragraphs.push(format!(
            "Of the {} adverse decisions that carried a decision id, {} have a statement of reasons with that id; {} statements match no decision of this run.",
            j.decisions_with_id, j.matched, j.statements_without_decision
        ));
    }
    let values = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    };
    s.paragraphs.push(format!(
        "Disclosure of automation — automated_detection: {}; automated_decision: {}.",
        values(&st.automated_detection),
        values(&st.automated_decision)
    ));
    if !st.fields.is_empty() {
        s.table = Some(Table {
            headers: ["Field", "Missing", "Invalid", "Examples"].map(String::from).to_vec(),
            numeric: vec![false, true, true, false],
            rows: st
                .fields
                .iter()
                .map(|f| {
                    vec![
                        f.field.clone(),
                        f.missing.to_string(),
                        f.invalid.to_string(),
                        f.examples.join("; "),
                    ]
                })
                .collect(),
        });
    }
    Some(s)
}

fn checklist_section(report: &Report) -> Section {
    use crate::appeal::ItemStatus;
    let mut s = section("checklist", "Principles checklist");
    let items = &report.appeal.checklist;
    let count = |status: ItemStatus| items.iter().filter(|i| i.status == status).count();
    s.paragraphs.push(format!(
        "The evidence of this run mapped to the notice and appeal items of the Santa Clara Principles 2.0 and to Articles 17 and 20 of the EU Digital \
         Services Act: {} met, {} not met, {} not measurable from this run. Items marked “declared” rest on facts the scenario declares, not on \
         measurement.",
        count(ItemStatus::Met),
        count(ItemStatus::NotMet),
        count(ItemStatus::NotMeasurable)
    ));
    s.table = Some(Table {
        headers: ["Framework", "Reference", "Item", "Status", "Basis", "Evidence"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false; 6],
        rows: items
            .iter()
            .map(|i| {
                vec![
                    i.framework.clone(),
                    i.reference.clone(),
                    i.item.clone(),
                    match i.status {
                        ItemStatus::Met => "met".into(),
                        ItemStatus::NotMet => "NOT MET".into(),
                        ItemStatus::NotMeasurable => "not measurable".into(),
                    },
                    match i.basis {
                        crate::appeal::Basis::Measured => "measured".into(),
                        crate::appeal::Basis::Declared => "declared".into(),
                        crate::appeal::Basis::None => "–".into(),
                    },
                    i.evidence.clone(),
                ]
            })
            .collect(),
    });
    s
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn problems_section(report: &Report) -> Option<Section> {
    if report.unsupported.is_empty() && report.errors.is_empty() {
        return None;
    }
    let mut s = section("problems", "Unsupported languages and errors");
    s.paragraphs.push(
        "Cases the system declared it cannot moderate, and cases that could not be decided, are counted here and left out of every rate."
            .into(),
    );
    let mut rows = Vec::new();
    for u in &report.unsupported {
        rows.push(vec![
            "unsupported".into(),
            language_name(&u.language),
            u.cases.to_string(),
            u.reason.clone(),
        ]);
    }
    for e in &report.errors {
        rows.push(vec![
            "error".into(),
            format!("e.g. {}", e.example_case),
            e.cases.to_string(),
            e.reason.clone(),
        ]);
    }
    s.table = Some(Table {
        headers: ["Outcome", "Where", "Cases", "Reason"].map(String::from).to_vec(),
        numeric: vec![false, false, true, false],
        rows,
    });
    Some(s)
}

fn gates_section(report: &Report) -> Section {
    let mut s = section("gates", "Gates");
    if report.gates.is_empty() {
        s.paragraphs.push("The scenario sets no gates.".into());
        return s;
    }
    s.table = Some(Table {
        headers: ["Gate", "Threshold", "Measured", "Result", "Detail"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false, true, true, false, false],
        rows: report
            .gates
            .iter()
            .map(|g| {
                vec![
                    g.name.clone(),
                    format!("{:.4}", g.threshold),
                    g.value.map_or("–".into(), |v| format!("{v:.4}")),
                    match g.status {
                        GateStatus::Passed => "passed".into(),
                        GateStatus::Failed => "FAILED".into(),
                        GateStatus::NotMeasurable => "NOT MEASURABLE".into(),
                    },
                    g.detail.clone(),
                ]
            })
            .collect(),
    });
    s
}

fn method_section(report: &Report) -> Section {
    let mut s = section("method", "Method and reproduction");
    s.paragraphs.push(format!(
        "Every case of the corpora was sent to the system once (retrying only transient failures) and its decision recorded in `journal.jsonl`. \
         Cases that ended in error or that the system could not moderate are excluded from rates. \
         Rates carry {:.0} % Wilson score intervals and cluster-robust intervals that count each template family or declared cluster as one \
         cluster (sandwich variance; Kish design effect; Wilson interval at the effective sample size); rate ratios carry MOVER–Wilson \
         intervals and differences Newcombe's hybrid score intervals; group differences are tested with Fisher's exact test and corrected for \
         multiple comparisons with the {} method within each family ({}), with Bonferroni simultaneous intervals beside the unadjusted ones; \
         AUCs carry DeLong intervals. Slices with fewer than {} cases are flagged as small samples, and such groups are described but not \
         tested. Significant disparities between groups of people and languages are re-examined within strata of kind of speech \
         (Mantel–Haenszel).",
        report.settings.confidence * 100.0,
        report.settings.correction.name(),
        match report.settings.families {
            FamilyMode::PerDimension => "one per measure and dimension",
            FamilyMode::Pooled => "one per measure",
        },
        report.settings.min_n
    ));
    s.paragraphs.push(format!(
        "`manifest.json` records the sha256 of the scenario ({}) and of every corpus file, the system's fingerprint and the tool version; \
         `modaudit report <run directory>` rebuilds every output from the journal.",
        &report.run.scenario_sha256.get(..12).unwrap_or_default()
    ));
    s
}
