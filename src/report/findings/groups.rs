//! Findings about groups, one dimension at a time (languages, kinds of speech,
//! groups of people, speaker groups), for over-removal:
//!
//! - languages and kinds of speech get an extreme ("removed most often") only
//!   where the dimension's χ² test of homogeneity is significant and the
//!   group's own corrected comparison is significant in that direction; the
//!   groups the extreme cannot be told apart from are named (Fisher's exact
//!   test of the extreme against each other group, Bonferroni over those
//!   tests). Otherwise: not distinguishable, with the observed range.
//! - every dimension gets its significant disparities, counted by what the
//!   groups are, led by the largest ratio among comparisons with the minimum n
//!   on both sides, each followed by a confounded finding when the check
//!   within strata of kind of speech (and language) does not hold; or, when
//!   none is significant, the ratios its comparisons could have detected.
//! - protected characteristics get findings only when one of them gathers
//!   several groups of people; otherwise they would repeat the groups' findings.

use std::cmp::Ordering;

use super::{Detectable, Evidence, Finding, FindingKind, GroupRate, Interval, Omnibus, Share, Stratified, id_part};
use crate::analysis::fisher::fisher_exact_two_sided;
use crate::analysis::homogeneity::Homogeneity;
use crate::analysis::{Dimension, DimensionComparison, Disparity, Family, Measure, Slice, StratifiedCheck};
use crate::report::summary::{
    group_name, groups_of, join_and, nouns, p_text, posts_of, ratio_interval_text, reference_of,
};
use crate::report::{Report, percent};

/// Dimensions whose groups are ranked (most and least often removed).
const RANKED: [Dimension; 2] = [Dimension::Language, Dimension::Category];

/// Most disparities named per dimension and direction; the rest are counted.
const MAX_NAMED: usize = 3;

/// Most groups named as indistinguishable from an extreme one.
const MAX_TIED_NAMED: usize = 4;

/// What the findings of one dimension draw on.
struct Dim<'a> {
    report: &'a Report,
    dimension: Dimension,
    record: &'a DimensionComparison,
    family: Option<&'a Family>,
    /// Over-removal slices with at least the minimum n, lowest rate first.
    ranked: Vec<&'a Slice>,
    /// Tested over-removal comparisons.
    tested: Vec<&'a Disparity>,
}

impl<'a> Dim<'a> {
    fn of(report: &'a Report, dimension: Dimension) -> Option<Dim<'a>> {
        let record = report
            .dimension_comparisons
            .iter()
            .find(|c| c.measure == Measure::OverRemoval && c.dimension == dimension)?;
        let family = record
            .family
            .as_ref()
            .and_then(|name| report.families.iter().find(|f| &f.name == name));
        let mut ranked: Vec<&Slice> = report
            .slices
            .iter()
            .filter(|s| s.dimension == dimension && s.protected_n >= report.settings.min_n)
            .collect();
        ranked.sort_by(|a, b| {
            a.over_removal_rate
                .unwrap_or(0.0)
                .total_cmp(&b.over_removal_rate.unwrap_or(0.0))
                .then_with(|| a.value.cmp(&b.value))
        });
        let tested = report
            .disparities
            .iter()
            .filter(|d| d.measure == Measure::OverRemoval && d.dimension == dimension && d.tested)
            .collect();
        Some(Dim {
            report,
            dimension,
            record,
            family,
            ranked,
            tested,
        })
    }

    fn alpha(&self) -> f64 {
        self.report.settings.alpha
    }

    fn min_n(&self) -> u64 {
        self.report.settings.min_n
    }

    fn key(&self) -> &'static str {
        self.dimension.as_str()
    }

    fn omnibus(&self) -> Option<Omnibus> {
        self.record.omnibus.as_ref().map(omnibus_of)
    }

    /// "Holm correction over 13 languages, α = 0.05".
    fn correction_text(&self) -> String {
        let m = self.family.map_or(self.tested.len(), |f| f.m);
        let settings = &self.report.settings;
        format!(
            "{} correction over {} comparisons, α = {}",
            settings.correction.name(),
            m,
            settings.alpha
        )
    }

    fn comparison(&self, group: &str) -> Option<&'a Disparity> {
        self.tested.iter().copied().find(|d| d.group == group)
    }

    fn base_evidence(&self) -> Evidence {
        Evidence {
            measure: Some(Measure::OverRemoval),
            dimension: Some(self.dimension),
            family: self.family.map(|f| f.name.clone()),
            m: self.family.map(|f| f.m),
            correction: Some(self.report.settings.correction),
            alpha: Some(self.alpha()),
            ..Evidence::default()
        }
    }
}

/// Every group finding, dimension by dimension.
pub(super) fn findings(report: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    for dimension in Dimension::COMPARED {
        let Some(dim) = Dim::of(report, dimension) else {
            continue;
        };
        if dimension == Dimension::Characteristic && report.characteristic_groups.iter().all(|c| c.groups.len() < 2) {
            continue;
        }
        if RANKED.contains(&dimension) {
            out.extend(extremes(&dim));
        } else if dim.tested.is_empty() {
            out.extend(untestable(&dim));
        }
        out.extend(disparities(&dim));
    }
    out
}

fn omnibus_of(h: &Homogeneity) -> Omnibus {
    Omnibus {
        test: h.test.clone(),
        groups: h.groups,
        df: h.df,
        statistic: h.statistic,
        p: h.p_value,
        small_expected: h.small_expected,
    }
}

fn slice_rate(s: &Slice) -> GroupRate {
    GroupRate::new(&s.value, s.protected_adverse, s.protected_n)
}

/// "French (7.3 %, 13 of 178)".
fn described(dimension: Dimension, s: &Slice) -> String {
    format!(
        "{} ({}, {} of {})",
        group_name(dimension, &s.value),
        percent(s.over_removal_rate.unwrap_or(0.0)),
        s.protected_adverse,
        s.protected_n
    )
}

/// "χ²(12) = 18.32, p = 0.1063".
fn omnibus_text(o: &Omnibus) -> String {
    match (o.statistic, o.p) {
        (Some(x), Some(p)) => format!("χ²({}) = {x:.2}, {}", o.df, p_text("p", p)),
        _ => "no χ² test was possible".into(),
    }
}

/// The groups of a dimension, when fewer than two have the minimum n: they
/// cannot be compared with one another.
fn untestable(dim: &Dim<'_>) -> Option<Finding> {
    let groups: Vec<&Slice> = dim
        .report
        .slices
        .iter()
        .filter(|s| s.dimension == dim.dimension && s.protected_n > 0)
        .collect();
    if groups.len() < 2 {
        return None;
    }
    let largest = groups.iter().map(|s| s.protected_n).max().unwrap_or(0);
    let which = if dim.ranked.is_empty() {
        "none has"
    } else {
        "only one has"
    };
    Some(Finding::new(
        format!("no_extreme.{}", dim.key()),
        FindingKind::NoExtreme,
        format!(
            "The {} in the corpus cannot be compared with one another: {which} the {} decided protected posts a test needs (the largest has {largest}).",
            groups_of(dim.dimension, groups.len()),
            dim.min_n()
        ),
        Evidence {
            groups: groups.iter().map(|s| slice_rate(s)).collect(),
            counts: [
                ("groups".to_string(), groups.len() as u64),
                ("groups_with_min_n".to_string(), dim.ranked.len() as u64),
            ]
            .into(),
            note: Some(format!(
                "groups need at least {} protected posts to be tested",
                dim.min_n()
            )),
            ..dim.base_evidence()
        },
    ))
}

/// The most and least often removed group of a ranked dimension, or why none
/// can be named.
fn extremes(dim: &Dim<'_>) -> Vec<Finding> {
    let ranked = &dim.ranked;
    if ranked.len() < 2 {
        return untestable(dim).into_iter().collect();
    }
    let omnibus = dim.omnibus();
    let omnibus_significant = omnibus.as_ref().and_then(|o| o.p).is_some_and(|p| p < dim.alpha());
    let lowest = ranked[0];
    let highest = ranked[ranked.len() - 1];
    let mut out = Vec::new();
    if omnibus_significant {
        for (slice, higher) in [(highest, true), (lowest, false)] {
            let Some(d) = dim.comparison(&slice.value) else {
                continue;
            };
            let in_direction = if higher { d.difference > 0.0 } else { d.difference < 0.0 };
            if d.significant && in_direction {
                out.push(extreme(dim, slice, d, higher, omnibus.clone()));
            }
        }
    }
    if out.is_empty() {
        out.push(not_distinguishable(dim, lowest, highest, omnibus, omnibus_significant));
    }
    out
}

fn not_distinguishable(
    dim: &Dim<'_>,
    lowest: &Slice,
    highest: &Slice,
    omnibus: Option<Omnibus>,
    omnibus_significant: bool,
) -> Finding {
    let d = dim.dimension;
    let k = dim.ranked.len();
    let range = format!(
        "over-removal ranged from {} to {}",
        described(d, lowest),
        described(d, highest)
    );
    let text = match &omnibus {
        Some(o) if omnibus_significant => format!(
            "Over-removal differed between the {} with at least {} protected posts ({}), but neither the highest nor the lowest rate stands out from the rest after correction: {range}.",
            groups_of(d, k),
            dim.min_n(),
            omnibus_text(o)
        ),
        Some(o) if o.p.is_some() => format!(
            "The {} with at least {} protected posts are not distinguishable at this sample size: {range}, and a χ² test of homogeneity finds no significant difference between them ({}).",
            groups_of(d, k),
            dim.min_n(),
            omnibus_text(o)
        ),
        _ => format!(
            "The {} with at least {} protected posts are not distinguishable: {range}, and no test between them was possible.",
            groups_of(d, k),
            dim.min_n()
        ),
    };
    Finding::new(
        format!("no_extreme.{}", dim.key()),
        FindingKind::NoExtreme,
        text,
        Evidence {
            omnibus,
            groups: vec![slice_rate(lowest), slice_rate(highest)],
            counts: [("groups_with_min_n".to_string(), k as u64)].into(),
            note: omnibus_significant.then(|| {
                "the omnibus test is significant, but neither extreme group's comparison is significant after correction in its direction".to_string()
            }),
            ..dim.base_evidence()
        },
    )
}

/// The groups of `ranked` that Fisher's exact test does not separate from
/// `extreme`, Bonferroni over the comparisons made.
fn tied_with(dim: &Dim<'_>, extreme: &Slice) -> (Vec<GroupRate>, f64) {
    let others: Vec<&Slice> = dim
        .ranked
        .iter()
        .copied()
        .filter(|s| s.value != extreme.value)
        .collect();
    let level = dim.alpha() / others.len().max(1) as f64;
    let table = |s: &Slice| [s.protected_adverse, s.protected_n - s.protected_adverse];
    let mut tied: Vec<GroupRate> = others
        .iter()
        .filter_map(|s| {
            let p = fisher_exact_two_sided([table(extreme), table(s)]);
            (p >= level).then(|| GroupRate {
                p: Some(p),
                ..slice_rate(s)
            })
        })
        .collect();
    let distance = |g: &GroupRate| (g.rate.unwrap_or(0.0) - extreme.over_removal_rate.unwrap_or(0.0)).abs();
    tied.sort_by(|a, b| distance(a).total_cmp(&distance(b)).then_with(|| a.group.cmp(&b.group)));
    (tied, level)
}

fn extreme(dim: &Dim<'_>, slice: &Slice, d: &Disparity, higher: bool, omnibus: Option<Omnibus>) -> Finding {
    let dimension = dim.dimension;
    let (tied, level) = tied_with(dim, slice);
    let (side, comparison) = if higher { ("most", "more") } else { ("least", "less") };
    let claim = if tied.is_empty() {
        format!("were removed {side} often")
    } else {
        format!("were among those removed {side} often")
    };
    let mut text = format!(
        "Among the {} with at least {} protected posts, {} {claim} ({}, {} of {}; significantly {comparison} often than {}, {}).",
        groups_of(dimension, dim.ranked.len()),
        dim.min_n(),
        posts_of(dimension, &slice.value),
        percent(d.rate),
        d.group_adverse,
        d.group_n,
        reference_of(dimension, &d.reference),
        p_text("adjusted p", d.p_adjusted.unwrap_or(1.0)),
    );
    if !tied.is_empty() {
        let mut names: Vec<String> = tied
            .iter()
            .take(MAX_TIED_NAMED)
            .map(|g| {
                format!(
                    "{} ({})",
                    group_name(dimension, &g.group),
                    percent(g.rate.unwrap_or(0.0))
                )
            })
            .collect();
        if tied.len() > MAX_TIED_NAMED {
            names.push(format!("{} more", tied.len() - MAX_TIED_NAMED));
        }
        text.pop();
        text.push_str(&format!(
            ", but not distinguishably {comparison} often than {}.",
            join_and(&names)
        ));
    }
    Finding::new(
        format!("extreme.{}.{side}", dim.key()),
        FindingKind::Extreme,
        text,
        Evidence {
            omnibus,
            tied_with: tied,
            note: Some(format!(
                "groups tied with the extreme one: Fisher's exact test of each against it is not significant at α/{} = {level:.4} (Bonferroni over those tests)",
                dim.ranked.len() - 1
            )),
            ..comparison_evidence(dim, d)
        },
    )
}

/// The evidence of one tested comparison.
fn comparison_evidence(dim: &Dim<'_>, d: &Disparity) -> Evidence {
    let confidence = dim.report.settings.confidence;
    Evidence {
        group: Some(d.group.clone()),
        reference: Some(d.reference.clone()),
        n: Some(d.group_n),
        count: Some(d.group_adverse),
        rate: Some(d.rate),
        interval: d.rate_ci.map(|ci| Interval::new("wilson", confidence, ci)),
        reference_n: Some(d.reference_n),
        reference_count: Some(d.reference_adverse),
        reference_rate: Some(d.reference_rate),
        ratio: d.ratio,
        ratio_interval: d.ratio_ci.map(|ci| Interval {
            lower: ci.lower,
            upper: ci.upper,
            method: "mover_wilson".into(),
            confidence,
        }),
        test: Some("fisher_exact_two_sided".into()),
        p: d.p_value,
        p_adjusted: d.p_adjusted,
        stratified: d.stratified.as_ref().map(|st| stratified_of(st, confidence)),
        ..dim.base_evidence()
    }
}

fn stratified_of(st: &StratifiedCheck, confidence: f64) -> Stratified {
    Stratified {
        strata_by: st.strata_by.clone(),
        strata: st.strata,
        strata_used: st.strata_used,
        odds_ratio: st.odds_ratio,
        odds_ratio_interval: st
            .odds_ratio_ci
            .map(|ci| Interval::new("robins_breslow_greenland", confidence, ci)),
        test: "cochran_mantel_haenszel".into(),
        p: st.cmh_p_value,
        alpha: st.alpha,
        survives: st.survives,
        over_represented: st.largest_imbalance.as_ref().map(|i| Share {
            category: i.value.clone(),
            group_share: i.group_share,
            reference_share: i.reference_share,
        }),
    }
}

/// Orders disparities to name: comparisons with the minimum n on both sides
/// first, then by the size of the gap (largest ratio for increases, smallest
/// for decreases; an unbounded ratio is the largest).
fn by_gap(higher: bool) -> impl Fn(&&Disparity, &&Disparity) -> Ordering {
    move |a, b| {
        let size = |d: &Disparity| match (d.ratio, higher) {
            (Some(r), true) => r,
            (None, true) => f64::INFINITY,
            (Some(r), false) => -r,
            (None, false) => f64::NEG_INFINITY,
        };
        a.small_sample
            .cmp(&b.small_sample)
            .then_with(|| size(b).total_cmp(&size(a)))
            .then_with(|| a.group.cmp(&b.group))
    }
}

/// What adjusting for the mix of cases did, for the disparity sentence.
fn stratified_clause(d: &Disparity) -> &'static str {
    let by_language = d.dimension != Dimension::Language;
    match (d.stratified.as_ref().map(|s| s.survives), by_language) {
        (Some(Some(true)), true) => ", and the gap remains among posts of the same kind of speech and language",
        (Some(Some(true)), false) => ", and the gap remains among posts of the same kind of speech",
        (Some(Some(false)), true) => ", but not once the kind of speech and language are taken into account",
        (Some(Some(false)), false) => ", but not once the kind of speech is taken into account",
        (Some(None), _) => "; it could not be checked among posts of the same kind of speech",
        (None, _) => "",
    }
}

/// "posts about lesbians were removed 2.78 times as often as posts about other
/// groups (n = 32: 43.8 % against 15.8 %; ratio 95 % CI 1.90–3.94; adjusted p = 0.0026)".
fn gap_clause(dim: &Dim<'_>, d: &Disparity) -> String {
    let reference = reference_of(d.dimension, &d.reference);
    let how = match (d.ratio, d.difference > 0.0) {
        (Some(r), true) => format!("{r:.2} times as often as {reference}"),
        (None, true) => format!("more often, while {reference} never were"),
        (Some(r), false) => format!("less often than {reference}, at {r:.2} times their rate"),
        (None, false) => format!("less often than {reference}"),
    };
    let small = if d.small_sample {
        format!(", fewer than {} on one side", dim.min_n())
    } else {
        String::new()
    };
    let ci = d.ratio_ci.map_or(String::new(), |ci| {
        let interval = Interval {
            lower: ci.lower,
            upper: ci.upper,
            method: "mover_wilson".into(),
            confidence: dim.report.settings.confidence,
        };
        format!(
            "; ratio {:.0} % CI {}",
            interval.confidence * 100.0,
            ratio_interval_text(&interval)
        )
    });
    format!(
        "{} were removed {how} (n = {}{small}: {} against {}{ci}; {}){}",
        posts_of(d.dimension, &d.group),
        d.group_n,
        percent(d.rate),
        percent(d.reference_rate),
        p_text("adjusted p", d.p_adjusted.unwrap_or(1.0)),
        stratified_clause(d)
    )
}

/// The text with its first letter capitalised, past an opening quotation mark.
fn capitalised(text: &str) -> String {
    let mut done = false;
    text.chars()
        .flat_map(|c| {
            if done || c == '“' {
                vec![c]
            } else {
                done = true;
                c.to_uppercase().collect()
            }
        })
        .collect()
}

/// "posts about 2 of the 15 groups of people tested", "4 of the 13 kinds of
/// speech tested", "protected posts in one of the 13 languages tested".
fn subject_count(dimension: Dimension, k: usize, tested: usize) -> String {
    let (_, many) = nouns(dimension);
    let groups = if k == 1 {
        format!("one of the {tested} {many} tested")
    } else {
        format!("{k} of the {tested} {many} tested")
    };
    match dimension {
        Dimension::Language => format!("protected posts in {groups}"),
        Dimension::TargetGroup => format!("posts about {groups}"),
        Dimension::SpeakerGroup => format!("posts by {groups}"),
        Dimension::Characteristic => format!("posts about groups defined by {groups}"),
        Dimension::Category
        | Dimension::LanguageXTargetGroup
        | Dimension::LanguageXCharacteristic
        | Dimension::Overall => groups,
    }
}

/// The disparities of one dimension, or the finding that there are none.
fn disparities(dim: &Dim<'_>) -> Vec<Finding> {
    if dim.tested.is_empty() {
        return Vec::new();
    }
    let mut higher: Vec<&Disparity> = dim
        .tested
        .iter()
        .copied()
        .filter(|d| d.significant && d.difference > 0.0)
        .collect();
    let mut lower: Vec<&Disparity> = dim
        .tested
        .iter()
        .copied()
        .filter(|d| d.significant && d.difference < 0.0)
        .collect();
    if higher.is_empty() && lower.is_empty() {
        return vec![no_disparity(dim)];
    }
    higher.sort_by(by_gap(true));
    lower.sort_by(by_gap(false));
    let named_higher = !higher.is_empty();
    let named = if named_higher { &higher } else { &lower };
    let reference = reference_of(
        dim.dimension,
        dim.record.reference.as_deref().unwrap_or(crate::analysis::ALL_OTHERS),
    );
    let k = named.len();
    // "one of the 13 kinds of speech was"; posts (about, in, by one of …) were
    let verb = if k == 1 && dim.dimension == Dimension::Category {
        "was"
    } else {
        "were"
    };
    let mut count = format!(
        "{} {verb} removed significantly {} often than {reference}",
        subject_count(dim.dimension, k, dim.tested.len()),
        if named_higher { "more" } else { "less" }
    );
    if named_higher && !lower.is_empty() {
        count.push_str(&format!(", {} significantly less often", lower.len()));
    }
    let shown = named.len().min(MAX_NAMED);
    let lead = if named.len() > MAX_NAMED {
        format!("The {shown} largest gaps: ")
    } else if named.len() > 1 {
        "The largest gap: ".to_string()
    } else {
        String::new()
    };
    let counts = [
        ("tested".to_string(), dim.tested.len() as u64),
        ("significantly_higher".to_string(), higher.len() as u64),
        ("significantly_lower".to_string(), lower.len() as u64),
    ];
    let mut out = Vec::new();
    for (i, d) in named.iter().take(MAX_NAMED).enumerate() {
        let text = if i == 0 {
            let gap = gap_clause(dim, d);
            format!(
                "{} ({}). {lead}{}.",
                capitalised(&count),
                dim.correction_text(),
                if lead.is_empty() { capitalised(&gap) } else { gap }
            )
        } else {
            format!("{}.", capitalised(&gap_clause(dim, d)))
        };
        out.push(Finding::new(
            format!("disparity.{}.{}", dim.key(), id_part(&d.group)),
            FindingKind::Disparity,
            text,
            Evidence {
                counts: counts.clone().into(),
                ..comparison_evidence(dim, d)
            },
        ));
        out.extend(confounded(dim, d));
    }
    out
}

/// A disparity that the check within strata does not confirm.
fn confounded(dim: &Dim<'_>, d: &Disparity) -> Option<Finding> {
    let st = d.stratified.as_ref().filter(|st| st.survives == Some(false))?;
    let adjusted_for = if d.dimension == Dimension::Language {
        "the kind of speech"
    } else {
        "the kind of speech and language"
    };
    let confidence = dim.report.settings.confidence;
    let odds = match (st.odds_ratio, st.odds_ratio_ci) {
        (Some(or), Some([lo, hi])) => format!(
            "Mantel–Haenszel odds ratio {or:.2}, {:.0} % CI {lo:.2}–{hi:.2}; ",
            confidence * 100.0
        ),
        (Some(or), None) => format!("Mantel–Haenszel odds ratio {or:.2}; "),
        _ => String::new(),
    };
    let mut text = format!(
        "After adjusting for {adjusted_for}, the gap for {} is no longer significant ({odds}{})",
        posts_of(d.dimension, &d.group),
        p_text("CMH p", st.cmh_p_value.unwrap_or(1.0))
    );
    if let Some(mix) = &st.largest_imbalance {
        text.push_str(&format!(
            ": {:.0} % of them are {}, against {:.0} % of {}",
            mix.group_share * 100.0,
            posts_of(Dimension::Category, &mix.value),
            mix.reference_share * 100.0,
            reference_of(d.dimension, &d.reference)
        ));
        let removed_more = dim.report.disparities.iter().any(|c| {
            c.measure == Measure::OverRemoval
                && c.dimension == Dimension::Category
                && c.group == mix.value
                && c.significant
                && c.difference > 0.0
        });
        if removed_more {
            text.push_str(&format!(
                ", and {} are removed significantly more often whatever they are about",
                posts_of(Dimension::Category, &mix.value)
            ));
        }
    }
    text.push('.');
    Some(Finding::new(
        format!("confounded.{}.{}", dim.key(), id_part(&d.group)),
        FindingKind::Confounded,
        text,
        comparison_evidence(dim, d),
    ))
}

/// No significant disparity in a dimension, with the ratios its comparisons
/// could have detected.
fn no_disparity(dim: &Dim<'_>) -> Finding {
    let ratios: Vec<f64> = dim
        .tested
        .iter()
        .filter_map(|d| d.min_detectable.as_ref()?.increase.ratio)
        .collect();
    let rates: Vec<f64> = dim
        .tested
        .iter()
        .filter_map(|d| d.min_detectable.as_ref()?.increase.rate)
        .collect();
    let range = |values: &[f64]| -> Option<[f64; 2]> {
        let lo = values.iter().copied().reduce(f64::min)?;
        let hi = values.iter().copied().reduce(f64::max)?;
        Some([lo, hi])
    };
    let first = dim.tested.iter().find_map(|d| d.min_detectable.as_ref());
    let power = first.map_or(crate::analysis::power::POWER, |m| m.power);
    let per_comparison = first.map_or(dim.alpha(), |m| m.alpha);
    let detectable = Detectable {
        ratio: range(&ratios),
        rate: range(&rates),
        power,
        alpha: per_comparison,
        method: first.map_or("cohen_h_normal".into(), |m| m.method.clone()),
        comparisons: dim.tested.len(),
    };
    let about = |[lo, hi]: [f64; 2], show: &dyn Fn(f64) -> String| {
        if show(lo) == show(hi) {
            show(lo)
        } else {
            format!("{}–{}", show(lo), show(hi))
        }
    };
    let could = match (detectable.ratio, detectable.rate) {
        (Some(r), _) => format!(
            "at these sample sizes only ratios above about {} could reliably have been detected",
            about(r, &|x| format!("{x:.1}"))
        ),
        (None, Some(r)) => format!(
            "at these sample sizes only rates above about {} could reliably have been detected",
            about(r, &|x| percent(x))
        ),
        (None, None) => "at these sample sizes no difference could reliably have been detected".into(),
    };
    let mut text = format!(
        "For none of the {} tested did over-removal differ significantly from {} ({}); {could} (power {:.0} % at α/m = {:.4}).",
        groups_of(dim.dimension, dim.tested.len()),
        reference_of(
            dim.dimension,
            dim.record.reference.as_deref().unwrap_or(crate::analysis::ALL_OTHERS)
        ),
        dim.correction_text(),
        power * 100.0,
        per_comparison
    );
    if dim.record.not_tested > 0 {
        text.push_str(&format!(
            " {} with fewer than {} protected posts {} described but not tested.",
            capitalised(&groups_of(dim.dimension, dim.record.not_tested)),
            dim.min_n(),
            if dim.record.not_tested == 1 { "was" } else { "were" }
        ));
    }
    Finding::new(
        format!("no_disparity.{}", dim.key()),
        FindingKind::NoDisparity,
        text,
        Evidence {
            reference: dim.record.reference.clone(),
            test: Some("fisher_exact_two_sided".into()),
            min_detectable: Some(detectable),
            omnibus: dim.omnibus(),
            counts: [
                ("tested".to_string(), dim.tested.len() as u64),
                ("not_tested".to_string(), dim.record.not_tested as u64),
                ("significant".to_string(), 0),
            ]
            .into(),
            ..dim.base_evidence()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ReferenceMode;

    fn disparity(group: &str, ratio: f64, small_sample: bool) -> Disparity {
        Disparity {
            measure: Measure::OverRemoval,
            dimension: Dimension::TargetGroup,
            group: group.into(),
            reference: crate::analysis::ALL_OTHERS.into(),
            reference_mode: ReferenceMode::Rest,
            family: None,
            group_n: if small_sample { 7 } else { 60 },
            group_adverse: 1,
            reference_n: 100,
            reference_adverse: 10,
            rate: 0.1 * ratio,
            rate_ci: None,
            reference_rate: 0.1,
            reference_rate_ci: None,
            ratio: Some(ratio),
            ratio_ci: None,
            ratio_ci_simultaneous: None,
            difference: 0.1 * ratio - 0.1,
            difference_ci: None,
            difference_ci_simultaneous: None,
            tested: true,
            not_tested_reason: None,
            p_value: Some(0.001),
            p_adjusted: Some(0.01),
            significant: true,
            small_sample,
            interval_note: None,
            min_detectable: None,
            stratified: None,
        }
    }

    #[test]
    fn the_lead_disparity_is_never_a_small_sample_when_another_has_the_minimum_n() {
        let small = disparity("small", 7.8, true);
        let large = disparity("large", 2.6, false);
        let larger = disparity("larger", 2.8, false);
        let mut higher = [&small, &large, &larger];
        higher.sort_by(by_gap(true));
        let order: Vec<&str> = higher.iter().map(|d| d.group.as_str()).collect();
        assert_eq!(order, ["larger", "large", "small"]);
        let (low, lower) = (disparity("low", 0.2, false), disparity("lower", 0.1, false));
        let mut decreases = [&low, &lower];
        decreases.sort_by(by_gap(false));
        assert_eq!(decreases[0].group, "lower");
    }

    #[test]
    fn sentences_start_with_a_capital_even_after_a_quotation_mark() {
        assert_eq!(capitalised("“counter speech” posts"), "“Counter speech” posts");
        assert_eq!(capitalised("posts about x"), "Posts about x");
        assert_eq!(capitalised("4 of the 13"), "4 of the 13");
    }
}
