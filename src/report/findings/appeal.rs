//! Notice and appeal: the notice elements adverse decisions carried, what
//! appeals achieved and how fast (Kaplan–Meier, appeals pending at the
//! deadline censored there), tested and significant differences between
//! groups only, and the principles checklist.

use super::{Evidence, Finding, FindingKind, Interval, Times, id_part};
use crate::analysis::ratio::RatioInterval;
use crate::appeal::{AppealDisparity, AppealMeasure, AppealTest, Direction, ItemStatus, NOTICE_ELEMENTS, ProbeReport};
use crate::report::summary::{human_seconds, join_and, join_or, p_text, posts_of, rate_interval_text, reference_of};
use crate::report::{Report, percent};

pub(super) fn findings(report: &Report) -> Vec<Finding> {
    let mut out = vec![notice(report)];
    if let Some(probe) = &report.appeal.probe {
        out.extend(outcome(probe, report.settings.confidence));
        out.extend(disparities(probe, report.settings.confidence));
    }
    out.push(checklist(report));
    out
}

fn notice(report: &Report) -> Finding {
    let n = &report.notice;
    let counts = NOTICE_ELEMENTS
        .iter()
        .map(|(key, _)| (key.to_string(), n.count(key)))
        .chain([("adverse".to_string(), n.adverse)])
        .collect();
    let evidence = Evidence {
        n: Some(n.adverse),
        count: Some(n.with_appeal_route),
        counts,
        ..Evidence::default()
    };
    if n.adverse == 0 {
        return Finding::new(
            "notice.coverage",
            FindingKind::Notice,
            "The system took no adverse action, so its notices could not be assessed.".into(),
            evidence,
        );
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
    Finding::new("notice.coverage", FindingKind::Notice, sentence, evidence)
}

fn times(probe: &ProbeReport) -> Times {
    let t = &probe.time_to_decision;
    Times {
        method: "kaplan_meier".into(),
        median_secs: t.median_secs,
        p90_secs: t.p90_secs,
        deadline_secs: probe.deadline_secs,
        events: t.events,
        censored: t.censored,
        censored_at_deadline: t.censored_at_deadline,
    }
}

/// "half were decided within 2.0 hours and 90 % within 5.0 hours"; a share
/// not reached by the deadline is said to take longer than the deadline.
fn times_text(t: &Times) -> String {
    let deadline = format!("the deadline of {}", human_seconds(t.deadline_secs));
    let decided = match (t.median_secs, t.p90_secs) {
        (Some(median), Some(p90)) => format!(
            "half were decided within {} and 90 % within {}",
            human_seconds(median),
            human_seconds(p90)
        ),
        (Some(median), None) => format!(
            "half were decided within {}, but fewer than 90 % by {deadline}",
            human_seconds(median)
        ),
        (None, _) => format!("fewer than half were decided by {deadline}"),
    };
    format!(
        "{decided} (Kaplan–Meier estimate; appeals still pending at the deadline count as undecided, not as dropped)"
    )
}

fn outcome(probe: &ProbeReport, confidence: f64) -> Option<Finding> {
    let t = times(probe);
    let interval = probe.reversal_ci.map(|ci| Interval::new("wilson", confidence, ci));
    let text = if probe.decided > 0 {
        format!(
            "When the audit appealed {} wrongful removals, {} of the {} appeals decided reinstated the post ({}, {:.0} % CI {}); {}; {} were still pending at the deadline and {} could not be filed.",
            probe.selected,
            probe.reversed,
            probe.decided,
            percent(probe.reversal_rate.unwrap_or(0.0)),
            confidence * 100.0,
            interval.as_ref().map_or("–".into(), rate_interval_text),
            times_text(&t),
            probe.pending_at_deadline,
            probe.failed
        )
    } else if probe.selected > 0 {
        format!(
            "The audit appealed {} wrongful removals; none was decided within the {} deadline ({} still pending at the deadline, {} could not be filed).",
            probe.selected,
            human_seconds(probe.deadline_secs),
            probe.pending_at_deadline,
            probe.failed
        )
    } else {
        return None;
    };
    Some(Finding::new(
        "appeal.outcome",
        FindingKind::Appeal,
        text,
        Evidence {
            n: Some(probe.decided),
            count: Some(probe.reversed),
            rate: probe.reversal_rate,
            interval,
            times: Some(t),
            counts: [
                ("selected".to_string(), probe.selected),
                ("filed".to_string(), probe.filed),
                ("failed".to_string(), probe.failed),
                ("pending_at_deadline".to_string(), probe.pending_at_deadline),
            ]
            .into(),
            ..Evidence::default()
        },
    ))
}

/// For each measure, the significant tested difference of largest size.
fn disparities(probe: &ProbeReport, confidence: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    for measure in [
        AppealMeasure::TimeToDecision,
        AppealMeasure::ReversalWithinDeadline,
        AppealMeasure::ReversalAmongDecided,
    ] {
        // a median not reached (ratio unknown) is the slowest of all
        let size = |d: &AppealDisparity| match d.measure {
            AppealMeasure::TimeToDecision => d.ratio.unwrap_or(f64::INFINITY),
            _ => d.ratio.unwrap_or(0.0),
        };
        let worst = probe
            .disparities
            .iter()
            .filter(|d| d.tested && d.significant && d.measure == measure)
            .max_by(|a, b| size(a).total_cmp(&size(b)));
        if let Some(d) = worst {
            out.push(disparity(d, confidence));
        }
    }
    out
}

fn measure_key(measure: AppealMeasure) -> &'static str {
    match measure {
        AppealMeasure::TimeToDecision => "time_to_decision",
        AppealMeasure::ReversalWithinDeadline => "reversal_within_deadline",
        AppealMeasure::ReversalAmongDecided => "reversal_among_decided",
    }
}

fn disparity(d: &AppealDisparity, confidence: f64) -> Finding {
    let appeals = format!("Appeals of {}", posts_of(d.dimension, &d.group));
    let reference = format!("appeals of {}", reference_of(d.dimension, &d.reference));
    let test = match d.test {
        AppealTest::LogRank => "log-rank test",
        AppealTest::FisherExact => "Fisher's exact test",
    };
    let p = p_text("adjusted p", d.p_adjusted.unwrap_or(1.0));
    let text = match (d.measure, d.ratio, d.value, d.reference_value) {
        (AppealMeasure::TimeToDecision, Some(ratio), Some(value), Some(reference_value)) => format!(
            "{appeals} took {ratio:.1} times as long to decide as {reference} (median {} against {}; {test}, {p}).",
            human_seconds(value),
            human_seconds(reference_value)
        ),
        (AppealMeasure::TimeToDecision, ..) => format!(
            "{appeals} were decided significantly {} than {reference}: {} of {} were decided before the deadline, against {} of {} ({test}, {p}).",
            if d.direction == Direction::Lower {
                "faster"
            } else {
                "more slowly"
            },
            d.group_events,
            d.group_n,
            d.reference_events,
            d.reference_n
        ),
        (measure, ratio, value, reference_value) => format!(
            "{appeals} were reversed {} at {} the rate of {reference} ({} against {}; {test}, {p}).",
            if measure == AppealMeasure::ReversalWithinDeadline {
                "by the deadline"
            } else {
                "when decided"
            },
            ratio.map_or("a different rate from".into(), |r| format!("{r:.1} times")),
            percent(value.unwrap_or(0.0)),
            percent(reference_value.unwrap_or(0.0))
        ),
    };
    Finding::new(
        format!(
            "appeal.{}.{}.{}",
            measure_key(d.measure),
            d.dimension.as_str(),
            id_part(&d.group)
        ),
        FindingKind::Appeal,
        text,
        Evidence {
            dimension: Some(d.dimension),
            group: Some(d.group.clone()),
            reference: Some(d.reference.clone()),
            n: Some(d.group_n),
            count: Some(d.group_events),
            reference_n: Some(d.reference_n),
            reference_count: Some(d.reference_events),
            ratio: d.ratio,
            ratio_interval: d.ratio_ci.map(|RatioInterval { lower, upper }| Interval {
                lower,
                upper,
                method: "mover_wilson".into(),
                confidence,
            }),
            test: Some(
                match d.test {
                    AppealTest::LogRank => "log_rank",
                    AppealTest::FisherExact => "fisher_exact_two_sided",
                }
                .into(),
            ),
            statistic: d.statistic,
            p: d.p_value,
            p_adjusted: d.p_adjusted,
            note: Some(format!("measure {}", measure_key(d.measure))),
            ..Evidence::default()
        },
    )
}

fn checklist(report: &Report) -> Finding {
    let items = &report.appeal.checklist;
    let count = |s: ItemStatus| items.iter().filter(|i| i.status == s).count() as u64;
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
    Finding::new(
        "checklist.principles",
        FindingKind::Checklist,
        sentence,
        Evidence {
            n: Some(items.len() as u64),
            counts: [
                ("met".to_string(), count(ItemStatus::Met)),
                ("not_met".to_string(), count(ItemStatus::NotMet)),
                ("not_measurable".to_string(), count(ItemStatus::NotMeasurable)),
            ]
            .into(),
            ..Evidence::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Dimension;

    #[test]
    fn an_appeal_disparity_names_its_group_once_and_gives_its_test() {
        let d = AppealDisparity {
            dimension: Dimension::TargetGroup,
            group: "lesbians".into(),
            reference: crate::analysis::ALL_OTHERS.into(),
            measure: AppealMeasure::TimeToDecision,
            test: AppealTest::LogRank,
            group_n: 40,
            reference_n: 200,
            group_events: 30,
            reference_events: 190,
            value: Some(7200.0),
            reference_value: Some(2400.0),
            ratio: Some(3.0),
            ratio_ci: None,
            group_expected_events: Some(35.0),
            decision_rate_ratio: Some(0.5),
            statistic: Some(12.0),
            direction: Direction::Higher,
            tested: true,
            p_value: Some(0.0005),
            p_adjusted: Some(0.004),
            significant: true,
            small_sample: false,
        };
        let f = disparity(&d, 0.95);
        assert_eq!(
            f.text,
            "Appeals of posts about lesbians took 3.0 times as long to decide as appeals of posts about other groups (median 2.0 hours against 40.0 minutes; log-rank test, adjusted p = 0.0040)."
        );
        assert_eq!(f.id, "appeal.time_to_decision.target_group.lesbians");
        assert_eq!(f.evidence.p_adjusted, Some(0.004));
    }

    #[test]
    fn times_not_reached_by_the_deadline_are_said_to_exceed_it() {
        let t = |median, p90| Times {
            method: "kaplan_meier".into(),
            median_secs: median,
            p90_secs: p90,
            deadline_secs: 86_400.0 * 7.0,
            events: 10,
            censored: 10,
            censored_at_deadline: 10,
        };
        assert!(
            times_text(&t(Some(7200.0), Some(36_000.0)))
                .starts_with("half were decided within 2.0 hours and 90 % within 10.0 hours")
        );
        assert!(
            times_text(&t(Some(7200.0), None))
                .starts_with("half were decided within 2.0 hours, but fewer than 90 % by the deadline of 7.0 days")
        );
        assert!(times_text(&t(None, None)).starts_with("fewer than half were decided by the deadline of 7.0 days"));
    }
}
