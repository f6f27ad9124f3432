//! The plain-language summary at the top of every report: sentences a journalist
//! could quote, each carrying its own n so none overstates the evidence.

use super::{Report, percent, percent_interval};
use crate::analysis::{Dimension, Measure, Slice};
use crate::appeal::NOTICE_ELEMENTS;

/// English names of common languages, for readers who do not know BCP 47 tags.
const LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("am", "Amharic"),
    ("ar", "Arabic"),
    ("bn", "Bengali"),
    ("de", "German"),
    ("en", "English"),
    ("es", "Spanish"),
    ("fa", "Persian"),
    ("fr", "French"),
    ("ha", "Hausa"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("id", "Indonesian"),
    ("it", "Italian"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("ms", "Malay"),
    ("my", "Burmese"),
    ("nl", "Dutch"),
    ("pa", "Punjabi"),
    ("pl", "Polish"),
    ("pt", "Portuguese"),
    ("ru", "Russian"),
    ("sw", "Swahili"),
    ("ta", "Tamil"),
    ("th", "Thai"),
    ("tl", "Tagalog"),
    ("tr", "Turkish"),
    ("uk", "Ukrainian"),
    ("ur", "Urdu"),
    ("vi", "Vietnamese"),
    ("yo", "Yoruba"),
    ("zh", "Mandarin Chinese"),
];

/// "Arabic (ar)" for a known tag, the tag itself otherwise.
pub fn language_name(tag: &str) -> String {
    match plain_language_name(tag) {
        Some(name) => format!("{name} ({tag})"),
        None => tag.to_string(),
    }
}

/// The English name of a language, for prose: "Arabic", or "Arabic (ar-EG)" for
/// a regional tag; the tag itself when unknown.
pub fn prose_language_name(tag: &str) -> String {
    match plain_language_name(tag) {
        Some(name) if !tag.contains('-') => name.to_string(),
        _ => language_name(tag),
    }
}

fn plain_language_name(tag: &str) -> Option<&'static str> {
    let primary = tag.split('-').next().unwrap_or(tag);
    LANGUAGE_NAMES
        .iter()
        .find(|(t, _)| *t == primary)
        .map(|(_, name)| *name)
}

fn humanise(category: &str) -> String {
    category.replace('_', " ")
}

fn small(slice: &Slice) -> &'static str {
    if slice.small_sample { " — a small sample" } else { "" }
}

/// The summary sentences of a report.
pub fn sentences(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let overall = report.slices.iter().find(|s| s.dimension == Dimension::Overall);
    let target = &report.run.target_description;
    if let Some(o) = overall {
        match o.over_removal_rate {
            Some(rate) => out.push(format!(
                "Of {} protected posts — lawful speech such as counter-speech, news reporting and reclaimed terms — {} ({}, {:.0} % CI {}) were removed or otherwise restricted by the {}{}.",
                o.protected_n,
                o.protected_adverse,
                percent(rate),
                report.settings.confidence * 100.0,
                percent_interval(o.over_removal_ci),
                target,
                small(o),
            )),
            None => out.push("No protected post was decided, so over-removal could not be measured.".into()),
        }
        if let Some(rate) = o.detection_rate {
            out.push(format!(
                "For comparison, it acted on {} of {} clearly violating posts ({}).",
                o.violating_adverse,
                o.violating_n,
                percent(rate)
            ));
        }
    }
    out.extend(extremes(report, Dimension::Language, prose_language_name));
    out.extend(extremes(report, Dimension::Category, humanise));
    out.push(disparity_sentence(report));
    if let Some(bias) = &report.score_bias {
        let worst = bias
            .groups
            .iter()
            .filter_map(|g| g.bpsn_auc.map(|a| (a, g)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let separates = bias.overall_auc_interval.as_ref().is_some_and(|i| i.separates);
        if let (Some(overall), false) = (bias.overall_auc, separates) {
            out.push(format!(
                "Its scores do not separate violating from protected posts better than chance at this sample size (AUC {overall:.2}, {:.0} % CI {}).",
                report.settings.confidence * 100.0,
                bias.overall_auc_interval
                    .as_ref()
                    .and_then(|i| i.ci)
                    .map_or("not estimable".into(), |[lo, hi]| format!("{lo:.2}–{hi:.2}"))
            ));
        } else if let (Some(overall), Some((bpsn, group))) = (bias.overall_auc, worst) {
            out.push(format!(
                "Its scores separate violating from protected posts with an AUC of {overall:.2}; the lowest BPSN AUC, {bpsn:.2}, is for posts about {} — benign posts about that group score most like hateful posts about others.",
                humanise(&group.group)
            ));
        }
    }
    let cf = &report.counterfactual;
    if cf.families > 0 {
        out.push(format!(
            "In {} of {} sets of otherwise identical posts that differ only in the group named or the dialect used, the system treated the versions differently.",
            cf.flipped, cf.families
        ));
    }
    out.push(notice_sentence(report));
    out.extend(appeal_sentences(report));
    if !report.unsupported.is_empty() {
        let langs: Vec<String> = report
            .unsupported
            .iter()
            .map(|u| format!("{} ({} cases)", prose_language_name(&u.language), u.cases))
            .collect();
        out.push(format!(
            "The system could not moderate these languages at all: {}.",
            langs.join(", ")
        ));
    }
    if report.totals.errors > 0 {
        out.push(format!(
            "{} of {} cases could not be decided because of errors; they are left out of every rate.",
            report.totals.errors, report.totals.cases
        ));
    }
    if report.totals.pending > 0 {
        out.push(format!(
            "The run is incomplete: {} of {} cases have not been decided yet.",
            report.totals.pending, report.totals.cases
        ));
    }
    out
}

/// The most and least affected groups of a dimension, among slices with enough cases.
fn extremes(report: &Report, dimension: Dimension, name: impl Fn(&str) -> String) -> Option<String> {
    let mut candidates: Vec<&Slice> = report
        .slices
        .iter()
        .filter(|s| s.dimension == dimension && s.protected_n > 0 && !s.small_sample)
        .collect();
    if candidates.len() < 2 {
        return None;
    }
    candidates.sort_by(|a, b| {
        b.over_removal_rate
            .unwrap_or(0.0)
            .total_cmp(&a.over_removal_rate.unwrap_or(0.0))
            .then_with(|| a.value.cmp(&b.value))
    });
    let describe = |s: &Slice| {
        format!(
            "{} ({}, {} of {})",
            name(&s.value),
            percent(s.over_removal_rate.unwrap_or(0.0)),
            s.protected_adverse,
            s.protected_n
        )
    };
    let top = describe(candidates[0]);
    let bottom = describe(candidates[candidates.len() - 1]);
    let min_n = report.settings.min_n;
    Some(if dimension == Dimension::Language {
        format!(
            "Among languages with at least {min_n} protected cases, protected speech was removed most often in {top} and least often in {bottom}."
        )
    } else {
        format!(
            "Among kinds of protected speech with at least {min_n} cases, the most affected was {top} and the least affected {bottom}."
        )
    })
}

fn disparity_sentence(report: &Report) -> String {
    let correction = report.settings.correction.name();
    let tested: Vec<_> = report
        .disparities
        .iter()
        .filter(|d| d.tested && d.measure == Measure::OverRemoval)
        .collect();
    let mut significant: Vec<_> = tested.iter().filter(|d| d.significant && d.difference > 0.0).collect();
    if significant.is_empty() {
        return format!(
            "No group's protected speech was removed significantly more often than the rest ({} comparisons, {correction} correction, α = {}).",
            tested.len(),
            report.settings.alpha
        );
    }
    significant.sort_by(|a, b| {
        b.ratio
            .unwrap_or(f64::INFINITY)
            .total_cmp(&a.ratio.unwrap_or(f64::INFINITY))
    });
    let d = significant[0];
    let ratio = match d.ratio {
        Some(r) => format!("{r:.1} times"),
        None => "many times (the reference rate is zero)".into(),
    };
    let who = match d.dimension {
        Dimension::Language => prose_language_name(&d.group),
        _ => humanise(&d.group),
    };
    let groups = match significant.len() {
        1 => "One group".to_string(),
        n => format!("{n} groups"),
    };
    format!(
        "{groups} had protected speech removed significantly more often than the rest ({correction} correction, α = {}); the largest gap: {} ({}) at {} the rate of {} ({} vs {}).",
        report.settings.alpha,
        who,
        d.dimension.title().to_lowercase(),
        ratio,
        d.reference,
        percent(d.rate),
        percent(d.reference_rate)
    )
}

fn notice_sentence(report: &Report) -> String {
    let n = &report.notice;
    if n.adverse == 0 {
        return "The system took no adverse action, so its notices could not be assessed.".into();
    }
    let mut sentence = if n.with_appeal_route == 0 {
        format!(
            "None of its {} adverse decisions offered any route to appeal.",
            n.adverse
        )
    } else {
        format!(
            "{} of its {} adverse decisions offered a route to appeal.",
            n.with_appeal_route, n.adverse
        )
    };
    let others = NOTICE_ELEMENTS.iter().filter(|(key, _)| *key != "with_appeal_route");
    let given: Vec<String> = others
        .clone()
        .filter(|(key, _)| n.count(key) > 0)
        .map(|(key, name)| format!("{} {name}", n.count(key)))
        .collect();
    let missing: Vec<&str> = others
        .filter(|(key, _)| n.count(key) == 0)
        .map(|(_, name)| *name)
        .collect();
    if let Some((first, rest)) = given.split_first() {
        let (count, name) = first.split_once(' ').unwrap_or((first, ""));
        let mut list = vec![format!("{count} carried {name}")];
        list.extend(rest.iter().cloned());
        sentence.push_str(&format!(" Of those decisions, {}.", join_and(&list)));
    }
    if !missing.is_empty() {
        sentence.push_str(&format!(" None carried {}.", join_or(&missing)));
    }
    sentence
}

fn appeal_sentences(report: &Report) -> Vec<String> {
    use crate::appeal::{AppealMeasure, ItemStatus};
    let mut out = Vec::new();
    if let Some(p) = &report.appeal.probe {
        if p.decided > 0 {
            let median = p
                .time_to_decision
                .median_secs
                .map_or(String::new(), |m| format!(", in a median of {}", human_seconds(m)));
            out.push(format!(
                "When the audit appealed {} wrongful removals, {} of the {} appeals decided reinstated the post ({}, {:.0} % CI {}){median}; {} were still pending at the deadline and {} could not be filed.",
                p.selected,
                p.reversed,
                p.decided,
                percent(p.reversal_rate.unwrap_or(0.0)),
                report.settings.confidence * 100.0,
                percent_interval(p.reversal_ci),
                p.pending_at_deadline,
                p.failed
            ));
        } else if p.selected > 0 {
            out.push(format!(
                "The audit appealed {} wrongful removals; none was decided ({} still pending at the deadline, {} could not be filed).",
                p.selected, p.pending_at_deadline, p.failed
            ));
        }
        for measure in [
            AppealMeasure::TimeToDecision,
            AppealMeasure::ReversalWithinDeadline,
            AppealMeasure::ReversalAmongDecided,
        ] {
            // a median not reached (ratio unknown) is the slowest of all
            let worst = p
                .disparities
                .iter()
                .filter(|d| d.significant && d.measure == measure)
                .max_by(|a, b| {
                    let key = |d: &&crate::appeal::AppealDisparity| match d.measure {
                        AppealMeasure::TimeToDecision => d.ratio.unwrap_or(f64::INFINITY),
                        _ => d.ratio.unwrap_or(0.0),
                    };
                    key(a).total_cmp(&key(b))
                });
            if let Some(d) = worst {
                let who = match d.dimension {
                    Dimension::Language => prose_language_name(&d.group),
                    _ => humanise(&d.group),
                };
                let group = format!("Appeals in the {} group “{who}”", d.dimension.title().to_lowercase());
                out.push(match (measure, d.ratio, d.value, d.reference_value) {
                    (AppealMeasure::TimeToDecision, Some(ratio), Some(value), Some(reference)) => format!(
                        "{group} took {ratio:.1} times as long to decide as those of {} (median {} against {}), a significant difference.",
                        d.reference,
                        human_seconds(value),
                        human_seconds(reference)
                    ),
                    (AppealMeasure::TimeToDecision, ..) => format!(
                        "{group} were decided significantly {} than those of {}: {} of {} were decided before the deadline, against {} of {}.",
                        if d.direction == crate::appeal::Direction::Lower { "faster" } else { "more slowly" },
                        d.reference,
                        d.group_events,
                        d.group_n,
                        d.reference_events,
                        d.reference_n
                    ),
                    (_, ratio, value, reference) => format!(
                        "{group} were reversed {} at {} the rate of {} ({} against {}), a significant difference.",
                        if measure == AppealMeasure::ReversalWithinDeadline {
                            "by the deadline"
                        } else {
                            "when decided"
                        },
                        ratio.map_or("a different rate from".into(), |r| format!("{r:.1} times")),
                        d.reference,
                        percent(value.unwrap_or(0.0)),
                        percent(reference.unwrap_or(0.0))
                    ),
                });
            }
        }
    }
    let items = &report.appeal.checklist;
    let count = |s: ItemStatus| items.iter().filter(|i| i.status == s).count();
    let no_route = report.notice.adverse > 0
        && report.notice.with_appeal_route == 0
        && report.appeal.probe.as_ref().is_none_or(|p| p.filed == 0);
    let mut sentence = format!(
        "Against the {} notice-and-appeal items of the Santa Clara Principles and the EU Digital Services Act, the evidence of this run meets {}, fails {} and cannot measure {}",
        items.len(),
        count(ItemStatus::Met),
        count(ItemStatus::NotMet),
        count(ItemStatus::NotMeasurable)
    );
    if no_route {
        sentence.push_str(
            "; because no route to appeal exists, the appeal items a run can measure (availability, a reasoned outcome, reversal, timeliness) are not met",
        );
    }
    sentence.push('.');
    out.push(sentence);
    out
}

fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} seconds")
    } else if s < 7200.0 {
        format!("{:.1} minutes", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} hours", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}
