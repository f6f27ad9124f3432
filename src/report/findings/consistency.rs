//! Counterfactual flips per kind of family, and what the system's scores
//! separate: "separates" only when the AUC's interval lies above chance; a
//! group named as scoring benign posts most like hate only when it has the
//! minimum n and its BPSN interval lies wholly below the overall AUC's.

use super::{Evidence, Finding, FindingKind, GroupRate, Interval};
use crate::analysis::auc::{AucInterval, GroupAuc, ScoreBias};
use crate::analysis::{Counterfactual, KindFlips};
use crate::corpus::FamilyKind;
use crate::report::summary::{humanise, rate_interval_text};
use crate::report::{Report, percent};

pub(super) fn findings(report: &Report) -> Vec<Finding> {
    let confidence = report.settings.confidence;
    let mut out = flips(&report.counterfactual, confidence);
    if let Some(bias) = &report.score_bias {
        out.extend(scores(bias, report.settings.min_n, confidence));
    }
    out
}

/// What a family of each kind is, for prose.
fn families_of(kind: FamilyKind) -> &'static str {
    match kind {
        FamilyKind::GroupSwap => "sets of otherwise identical posts that differ only in the group named",
        FamilyKind::Dialect => "sets of posts that say the same thing in different dialects or scripts",
        FamilyKind::Perturbation => "sets of posts that differ only by small edits of one text",
        FamilyKind::Unclassified => "other sets of counterfactual posts",
    }
}

/// "the version about lgbtq", "the version written in mandarin".
fn version_of(kind: FamilyKind, value: &str) -> String {
    match kind {
        FamilyKind::GroupSwap => format!("the version about {}", humanise(value)),
        FamilyKind::Dialect => format!("the version written in {}", humanise(value)),
        FamilyKind::Perturbation if value == crate::analysis::ORIGINAL => "the original".to_string(),
        FamilyKind::Perturbation if crate::corpus::Transform::parse(value).is_some() => {
            format!("the {} version", humanise(value))
        }
        FamilyKind::Perturbation | FamilyKind::Unclassified => format!("the version of “{}”", humanise(value)),
    }
}

fn flips(cf: &Counterfactual, confidence: f64) -> Vec<Finding> {
    cf.by_kind
        .iter()
        .filter(|k| k.families > 0)
        .map(|k| flip(k, confidence))
        .collect()
}

fn flip(k: &KindFlips, confidence: f64) -> Finding {
    let interval = k.family_flip_ci.map(|ci| Interval::new("wilson", confidence, ci));
    let ci = interval.as_ref().map_or(String::new(), |i| {
        format!(", {:.0} % CI {}", confidence * 100.0, rate_interval_text(i))
    });
    let rate = percent(k.family_flip_rate.unwrap_or(0.0));
    let mut text = if k.flipped_families == 0 {
        format!(
            "The system treated every version alike in all {} {} ({rate}{ci} inconsistent).",
            k.families,
            families_of(k.kind)
        )
    } else {
        format!(
            "In {} of {} {} ({rate}{ci}), the system treated the versions differently",
            k.flipped_families,
            k.families,
            families_of(k.kind)
        )
    };
    let concentrated = k
        .members
        .iter()
        .filter(|m| m.value.is_some())
        .max_by(|a, b| {
            a.adverse_in_flipped_families
                .cmp(&b.adverse_in_flipped_families)
                .then_with(|| b.value.cmp(&a.value))
        })
        .filter(|m| k.flipped_families >= 2 && m.adverse_in_flipped_families * 2 > k.flipped_families);
    let mut groups = Vec::new();
    if k.flipped_families > 0 {
        if let Some(m) = concentrated {
            let value = m.value.as_deref().unwrap_or_default();
            let share = if m.adverse_in_flipped_families == k.flipped_families {
                format!("in all {}", k.flipped_families)
            } else {
                format!("in {} of the {}", m.adverse_in_flipped_families, k.flipped_families)
            };
            text.push_str(&format!(
                "; {share}, {} was the one actioned",
                version_of(k.kind, value)
            ));
            groups.push(GroupRate::new(value, m.adverse_in_flipped_families, k.flipped_families));
        }
        text.push('.');
    }
    Finding::new(
        format!("flip.{}", k.kind.as_str()),
        FindingKind::Flip,
        text,
        Evidence {
            n: Some(k.families),
            count: Some(k.flipped_families),
            rate: k.family_flip_rate,
            interval,
            groups,
            counts: [
                ("pairs".to_string(), k.pairs),
                ("flipped_pairs".to_string(), k.flipped_pairs),
            ]
            .into(),
            note: Some(format!(
                "families of kind {}; a family flips when its decided members were not all treated alike",
                k.kind.as_str()
            )),
            ..Evidence::default()
        },
    )
}

fn auc_interval(interval: Option<&AucInterval>, confidence: f64) -> Option<Interval> {
    interval
        .and_then(|i| i.ci)
        .map(|ci| Interval::new("delong", confidence, ci))
}

/// "AUC 0.74, 95 % CI 0.49–0.98", or "AUC 1.00, no interval".
fn auc_text(name: &str, auc: f64, interval: Option<&Interval>, confidence: f64) -> String {
    match interval {
        Some(i) => format!(
            "{name} {auc:.2}, {:.0} % CI {:.2}–{:.2}",
            confidence * 100.0,
            i.lower,
            i.upper.unwrap_or(1.0)
        ),
        None => format!("{name} {auc:.2}, no interval"),
    }
}

fn scores(bias: &ScoreBias, min_n: u64, confidence: f64) -> Vec<Finding> {
    let Some(overall) = bias.overall_auc else {
        return Vec::new();
    };
    let interval = auc_interval(bias.overall_auc_interval.as_ref(), confidence);
    let separates = bias.overall_auc_interval.as_ref().is_some_and(|i| i.separates);
    let text = if separates {
        format!(
            "Its scores separate violating from protected posts better than chance ({}).",
            auc_text("AUC", overall, interval.as_ref(), confidence)
        )
    } else {
        format!(
            "Its scores do not separate violating from protected posts better than chance at this sample size ({}).",
            auc_text("AUC", overall, interval.as_ref(), confidence)
        )
    };
    let mut out = vec![Finding::new(
        "score.auc",
        FindingKind::Score,
        text,
        Evidence {
            n: Some(bias.scored_cases),
            auc: Some(overall),
            interval: interval.clone(),
            separates: Some(separates),
            test: Some("delong".into()),
            ..Evidence::default()
        },
    )];
    if separates {
        out.extend(lowest_bpsn(bias, overall, interval, min_n, confidence));
    }
    out
}

/// The group whose benign posts score most like hate about others, named only
/// when its BPSN interval lies wholly below the overall AUC's.
fn lowest_bpsn(
    bias: &ScoreBias,
    overall: f64,
    overall_interval: Option<Interval>,
    min_n: u64,
    confidence: f64,
) -> Option<Finding> {
    let eligible: Vec<(&GroupAuc, f64)> = bias
        .groups
        .iter()
        .filter(|g| !g.small_sample && g.n >= min_n)
        .filter_map(|g| Some((g, g.bpsn_auc?)))
        .collect();
    let (group, bpsn) = eligible
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.group.cmp(&b.0.group)))?;
    let interval = auc_interval(group.bpsn_auc_interval.as_ref(), confidence);
    let below = match (&interval, &overall_interval) {
        (Some(g), Some(o)) => g.upper.is_some_and(|upper| upper < o.lower),
        _ => false,
    };
    let name = humanise(&group.group);
    let text = if below {
        format!(
            "Benign posts about {name} score most like violating posts about other groups ({}), below the overall {}.",
            auc_text("BPSN AUC", bpsn, interval.as_ref(), confidence),
            auc_text("AUC", overall, overall_interval.as_ref(), confidence)
        )
    } else {
        format!(
            "No group's benign posts score distinguishably more like violating posts about other groups than the overall AUC suggests at this sample size (lowest: {name}, {}; {} with at least {min_n} scored posts).",
            auc_text("BPSN AUC", bpsn, interval.as_ref(), confidence),
            crate::report::count_of(eligible.len() as u64, "group", "groups")
        )
    };
    Some(Finding::new(
        "score.bpsn.lowest",
        FindingKind::Score,
        text,
        Evidence {
            group: Some(group.group.clone()),
            n: Some(group.n),
            auc: Some(bpsn),
            interval,
            reference_auc: Some(overall),
            reference_interval: overall_interval,
            test: Some("delong".into()),
            counts: [("groups_with_min_n".to_string(), eligible.len() as u64)].into(),
            note: Some("named only when the group's BPSN interval lies wholly below the overall AUC's".into()),
            ..Evidence::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::auc::PowerMeans;

    fn interval(ci: [f64; 2]) -> Option<AucInterval> {
        Some(AucInterval {
            positives: 20,
            negatives: 20,
            variance: Some(0.001),
            ci: Some(ci),
            separates: ci[0] > 0.5,
        })
    }

    fn group(name: &str, n: u64, bpsn: f64, ci: [f64; 2]) -> GroupAuc {
        GroupAuc {
            group: name.into(),
            n,
            positives: n / 2,
            negatives: n / 2,
            small_sample: n < 30,
            subgroup_auc: None,
            bpsn_auc: Some(bpsn),
            bnsp_auc: None,
            subgroup_auc_interval: None,
            bpsn_auc_interval: interval(ci),
            bnsp_auc_interval: None,
        }
    }

    fn bias(groups: Vec<GroupAuc>) -> ScoreBias {
        ScoreBias {
            scored_cases: 400,
            overall_auc: Some(0.85),
            overall_auc_interval: interval([0.80, 0.90]),
            groups,
            min_n: 30,
            groups_in_means: 2,
            power_means: PowerMeans {
                subgroup_auc: None,
                bpsn_auc: None,
                bnsp_auc: None,
            },
            final_bias_metric: None,
        }
    }

    #[test]
    fn the_lowest_bpsn_is_named_only_with_min_n_and_an_interval_below_the_overall() {
        // the small group has the lowest BPSN but is left out; the next is
        // clearly below the overall interval
        let found = scores(
            &bias(vec![
                group("tiny", 8, 0.30, [0.05, 0.55]),
                group("muslims", 60, 0.62, [0.55, 0.70]),
                group("women", 60, 0.84, [0.78, 0.90]),
            ]),
            30,
            0.95,
        );
        let bpsn = &found[1];
        assert!(bpsn.text.starts_with("Benign posts about muslims"), "{}", bpsn.text);
        // an interval overlapping the overall AUC's names no group
        let found = scores(
            &bias(vec![
                group("muslims", 60, 0.74, [0.62, 0.86]),
                group("women", 60, 0.84, [0.78, 0.90]),
            ]),
            30,
            0.95,
        );
        assert!(
            found[1].text.starts_with("No group's benign posts"),
            "{}",
            found[1].text
        );
    }

    #[test]
    fn an_auc_whose_interval_reaches_chance_does_not_separate() {
        let mut b = bias(Vec::new());
        b.overall_auc = Some(0.50);
        b.overall_auc_interval = interval([0.40, 0.60]);
        let found = scores(&b, 30, 0.95);
        assert_eq!(found.len(), 1);
        assert!(found[0].text.contains("do not separate"), "{}", found[0].text);
    }
}
