//! What the reviewers' records say about a run: how far each language's
//! posts were reviewed (replacing the corpus's hand-written review status
//! where records exist), what the scenario's review filter left out, and —
//! when the run includes posts reviewers dispute — whether its significant
//! disparities survive leaving those posts out.
//!
//! The last check runs the disparity tests a second time on the run's
//! posts minus the disputed ones (same settings, same corrections) and
//! compares which comparisons are significant in each.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Evidence, Finding, FindingKind, GroupRate, Review};
use crate::analysis::{Dimension, Disparity, Measure, Observation, compare};
use crate::corpus::review::{LanguageReview, ReviewFilter, StatusCounts};
use crate::report::Report;
use crate::report::summary::{group_name, join_and, prose_language_name};
use crate::scenario::Plan;

/// Whether the significant disparities survive leaving out disputed posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewRobustness {
    /// Posts of the run that reviewers dispute, left out for the check.
    pub disputed: u64,
    /// Every comparison significant with or without the disputed posts.
    pub disparities: Vec<RobustDisparity>,
}

/// One comparison, tested with and without the disputed posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RobustDisparity {
    pub measure: Measure,
    pub dimension: Dimension,
    pub group: String,
    pub reference: String,
    /// Adjusted p-value with every post, and without the disputed ones
    /// (`None` where the comparison was not tested).
    pub p_adjusted: Option<f64>,
    pub p_adjusted_without_disputed: Option<f64>,
    pub significant: bool,
    pub significant_without_disputed: bool,
    /// The group's posts and adverse actions without the disputed posts.
    pub group_n_without_disputed: u64,
    pub group_adverse_without_disputed: u64,
}

impl RobustDisparity {
    fn name(&self) -> String {
        let measure = match self.measure {
            Measure::OverRemoval => "over-removal",
            Measure::Detection => "detection",
        };
        format!("{measure} of {}", group_posts(self.dimension, &self.group))
    }
}

fn group_posts(dimension: Dimension, value: &str) -> String {
    let name = group_name(dimension, value);
    match dimension {
        Dimension::Language => format!("posts in {name}"),
        Dimension::Category => format!("“{name}” posts"),
        Dimension::TargetGroup => format!("posts about {name}"),
        Dimension::SpeakerGroup => format!("posts by the speaker group “{name}”"),
        Dimension::Characteristic => format!("posts about groups defined by {name}"),
        Dimension::LanguageXTargetGroup | Dimension::LanguageXCharacteristic | Dimension::Overall => {
            format!("posts of “{name}”")
        }
    }
}

/// The check, when the run includes disputed posts and others: `None` when
/// it has none of one or the other.
pub fn robustness(
    plan: &Plan,
    observations: &[Observation<'_>],
    disparities: &[Disparity],
) -> Option<ReviewRobustness> {
    let is_disputed = |o: &&Observation<'_>| plan.disputed_cases.contains(o.case.id.as_str());
    // counted before anything is copied: most runs have no disputed posts
    let disputed = observations.iter().filter(is_disputed).count();
    if disputed == 0 || disputed == observations.len() {
        return None;
    }
    let without: Vec<Observation<'_>> = observations.iter().filter(|o| !is_disputed(o)).cloned().collect();
    let disputed = disputed as u64;
    let again = compare(&without, &plan.analysis).disparities;
    let key = |d: &Disparity| (d.measure, d.dimension, d.group.clone(), d.reference.clone());
    let keys: BTreeSet<_> = disparities
        .iter()
        .chain(&again)
        .filter(|d| d.significant)
        .map(key)
        .collect();
    let find =
        |list: &[Disparity], k: &(Measure, Dimension, String, String)| list.iter().find(|d| key(d) == *k).cloned();
    let disparities = keys
        .into_iter()
        .map(|k| {
            let with = find(disparities, &k);
            let without = find(&again, &k);
            RobustDisparity {
                p_adjusted: with.as_ref().and_then(|d| d.p_adjusted),
                p_adjusted_without_disputed: without.as_ref().and_then(|d| d.p_adjusted),
                significant: with.as_ref().is_some_and(|d| d.significant),
                significant_without_disputed: without.as_ref().is_some_and(|d| d.significant),
                group_n_without_disputed: without.as_ref().map_or(0, |d| d.group_n),
                group_adverse_without_disputed: without.as_ref().map_or(0, |d| d.group_adverse),
                measure: k.0,
                dimension: k.1,
                group: k.2,
                reference: k.3,
            }
        })
        .collect();
    Some(ReviewRobustness { disputed, disparities })
}

/// How far review records show a language's posts in the run reviewed (a
/// language the review filter left out entirely has none unreviewed).
pub fn review_of(recorded: &LanguageReview) -> Review {
    let run = &recorded.run;
    if run.reviewed() == run.total() {
        Review::Reviewed
    } else if run.reviewed() == 0 {
        Review::Unreviewed
    } else {
        Review::PartlyReviewed
    }
}

/// "reviewer records (amina, baraka): 6 of 6 posts confirmed" — the review
/// status a language's records give, in the place of a declared one.
pub fn recorded_status_text(recorded: &LanguageReview) -> String {
    let run = &recorded.run;
    let who = if recorded.reviewers.is_empty() {
        String::new()
    } else {
        format!(" ({})", recorded.reviewers.join(", "))
    };
    if run.total() == 0 {
        return format!(
            "reviewer records{who}: none of its posts is in the run ({} left out by the review filter)",
            recorded.left_out.total()
        );
    }
    format!(
        "reviewer records{who}: {} of {} posts confirmed{}",
        run.confirmed,
        run.total(),
        others(run)
    )
}

/// ", 2 disputed, 1 corrected and awaiting review, 3 unreviewed" (the
/// non-zero ones).
fn others(counts: &StatusCounts) -> String {
    [
        (counts.disputed, "disputed"),
        (counts.corrected, "corrected and awaiting review"),
        (counts.unreviewed, "unreviewed"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!(", {n} {what}"))
    .collect()
}

/// Review records of every language of the run, with their language.
fn recorded(report: &Report) -> Vec<&LanguageReview> {
    report
        .corpora
        .iter()
        .flat_map(|c| &c.review_status)
        .filter_map(|s| s.recorded.as_ref())
        .collect()
}

/// What the scenario's review filter left out, as a sentence.
pub(super) fn filter_sentence(report: &Report) -> Option<String> {
    let filter = report.settings.review_filter?;
    let mut left_out = StatusCounts::default();
    let mut by_language: Vec<String> = Vec::new();
    for r in recorded(report) {
        left_out.confirmed += r.left_out.confirmed;
        left_out.disputed += r.left_out.disputed;
        left_out.corrected += r.left_out.corrected;
        left_out.unreviewed += r.left_out.unreviewed;
        if r.left_out.total() > 0 {
            by_language.push(format!("{} {}", prose_language_name(&r.language), r.left_out.total()));
        }
    }
    let languages = if by_language.len() > 1 {
        format!(" ({})", by_language.join(", "))
    } else {
        String::new()
    };
    let total = left_out.total();
    Some(match filter {
        ReviewFilter::ExcludeDisputed if total == 0 => {
            "The scenario leaves out posts that reviewers dispute; none of the run's posts is disputed.".into()
        }
        ReviewFilter::ExcludeDisputed => format!(
            "The scenario's review filter left out the {} that reviewers disputed{languages}; every rate is of the remaining posts.",
            posts(total)
        ),
        ReviewFilter::Confirmed if total == 0 => {
            "The scenario keeps only posts that reviewers confirmed, and reviewers confirmed every one.".into()
        }
        ReviewFilter::Confirmed => {
            let parts = others(&left_out);
            format!(
                "The scenario keeps only posts that reviewers confirmed: its review filter left out the {} that reviewers have not confirmed{languages} ({}); every rate is of the confirmed posts.",
                posts(total),
                parts.trim_start_matches(", ")
            )
        }
    })
}

fn posts(n: u64) -> String {
    if n == 1 { "1 post".into() } else { format!("{n} posts") }
}

/// The sentence on disputed posts kept in the run.
fn robustness_sentence(r: &ReviewRobustness) -> String {
    let opening = format!("Leaving out the {} that reviewers disputed", posts(r.disputed));
    let significant: Vec<&RobustDisparity> = r.disparities.iter().filter(|d| d.significant).collect();
    let remain: Vec<String> = significant
        .iter()
        .filter(|d| d.significant_without_disputed)
        .map(|d| d.name())
        .collect();
    let lost: Vec<String> = significant
        .iter()
        .filter(|d| !d.significant_without_disputed)
        .map(|d| d.name())
        .collect();
    let new: Vec<String> = r
        .disparities
        .iter()
        .filter(|d| !d.significant && d.significant_without_disputed)
        .map(RobustDisparity::name)
        .collect();
    let verb = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    let mut text = if significant.is_empty() {
        if new.is_empty() {
            format!("{opening} changes nothing: no disparity is significant with or without them")
        } else {
            format!(
                "{opening}, {} {} significant",
                join_and(&new),
                verb(new.len(), "becomes", "become")
            )
        }
    } else if lost.is_empty() && remain.len() == 1 {
        format!(
            "{opening}, the significant disparity ({}) remains significant",
            remain[0]
        )
    } else if lost.is_empty() {
        format!(
            "{opening}, all {} significant disparities remain significant ({})",
            remain.len(),
            join_and(&remain)
        )
    } else if remain.is_empty() && lost.len() == 1 {
        format!("{opening}, {} is no longer significant", lost[0])
    } else if remain.is_empty() {
        format!(
            "{opening}, none of the {} significant disparities remains significant: {} are no longer significant",
            lost.len(),
            join_and(&lost)
        )
    } else {
        format!(
            "{opening}, {} of the {} significant disparities {} significant ({}); {} {} no longer significant",
            remain.len(),
            significant.len(),
            verb(remain.len(), "remains", "remain"),
            join_and(&remain),
            join_and(&lost),
            verb(lost.len(), "is", "are")
        )
    };
    if !significant.is_empty() && !new.is_empty() {
        text.push_str(&format!(
            "; {} {} significant",
            join_and(&new),
            verb(new.len(), "becomes", "become")
        ));
    }
    format!("{text}.")
}

/// What the scenario's review filter left out (opening the summary).
pub(super) fn filter_finding(report: &Report) -> Option<Finding> {
    let text = filter_sentence(report)?;
    let mut counts = std::collections::BTreeMap::new();
    for r in recorded(report) {
        for (status, n) in [
            ("left_out_confirmed", r.left_out.confirmed),
            ("left_out_disputed", r.left_out.disputed),
            ("left_out_corrected", r.left_out.corrected),
            ("left_out_unreviewed", r.left_out.unreviewed),
        ] {
            *counts.entry(status.to_string()).or_insert(0) += n;
        }
    }
    Some(Finding::new(
        "limitation.review_filter",
        FindingKind::Limitation,
        text,
        Evidence {
            counts,
            note: report
                .settings
                .review_filter
                .map(|f| format!("[filter] review = \"{}\"", f.as_str())),
            ..Evidence::default()
        },
    ))
}

/// Whether the significant disparities survive leaving out disputed posts.
pub(super) fn robustness_finding(report: &Report) -> Option<Finding> {
    let r = report.review_robustness.as_ref()?;
    Some(Finding::new(
        "review.disputed",
        FindingKind::Robustness,
        robustness_sentence(r),
        Evidence {
            counts: [
                ("disputed".to_string(), r.disputed),
                (
                    "significant".to_string(),
                    r.disparities.iter().filter(|d| d.significant).count() as u64,
                ),
                (
                    "significant_without_disputed".to_string(),
                    r.disparities.iter().filter(|d| d.significant_without_disputed).count() as u64,
                ),
            ]
            .into(),
            groups: r
                .disparities
                .iter()
                .map(|d| GroupRate {
                    p: d.p_adjusted_without_disputed,
                    ..GroupRate::new(
                        &format!("{} {} ({})", d.dimension.as_str(), d.group, d.measure.as_str()),
                        d.group_adverse_without_disputed,
                        d.group_n_without_disputed,
                    )
                })
                .collect(),
            alpha: Some(report.settings.alpha),
            note: Some("disparity tests repeated without the disputed posts; p is adjusted, without them".into()),
            ..Evidence::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disparity(group: &str, with: bool, without: bool) -> RobustDisparity {
        RobustDisparity {
            measure: Measure::OverRemoval,
            dimension: Dimension::TargetGroup,
            group: group.into(),
            reference: "all others".into(),
            p_adjusted: None,
            p_adjusted_without_disputed: None,
            significant: with,
            significant_without_disputed: without,
            group_n_without_disputed: 0,
            group_adverse_without_disputed: 0,
        }
    }

    #[test]
    fn records_give_the_review_status() {
        let counts = |confirmed, disputed, unreviewed| StatusCounts {
            confirmed,
            disputed,
            corrected: 0,
            unreviewed,
        };
        let language = |run, left_out| LanguageReview {
            language: "sw".into(),
            run,
            left_out,
            reviewers: vec!["amina".into()],
        };
        let all = language(counts(5, 1, 0), counts(0, 0, 0));
        assert_eq!(review_of(&all), Review::Reviewed);
        assert_eq!(
            recorded_status_text(&all),
            "reviewer records (amina): 5 of 6 posts confirmed, 1 disputed"
        );
        assert_eq!(
            review_of(&language(counts(2, 0, 4), counts(0, 0, 0))),
            Review::PartlyReviewed
        );
        assert_eq!(
            review_of(&language(counts(0, 0, 4), counts(0, 0, 0))),
            Review::Unreviewed
        );
        let none_kept = language(counts(0, 0, 0), counts(0, 2, 3));
        assert_eq!(review_of(&none_kept), Review::Reviewed);
        assert_eq!(
            recorded_status_text(&none_kept),
            "reviewer records (amina): none of its posts is in the run (5 left out by the review filter)"
        );
    }

    #[test]
    fn the_sentence_names_what_remains_and_what_does_not() {
        let r = |disparities| ReviewRobustness {
            disputed: 3,
            disparities,
        };
        let opening = "Leaving out the 3 posts that reviewers disputed";
        assert_eq!(
            robustness_sentence(&r(vec![
                disparity("women", true, true),
                disparity("refugees", true, false)
            ])),
            format!(
                "{opening}, 1 of the 2 significant disparities remains significant (over-removal of posts about women); over-removal of posts about refugees is no longer significant."
            )
        );
        assert_eq!(
            robustness_sentence(&r(vec![disparity("women", true, true)])),
            format!("{opening}, the significant disparity (over-removal of posts about women) remains significant.")
        );
        assert_eq!(
            robustness_sentence(&r(vec![disparity("women", true, false), disparity("men", true, false)])),
            format!(
                "{opening}, none of the 2 significant disparities remains significant: over-removal of posts about women and over-removal of posts about men are no longer significant."
            )
        );
        assert_eq!(
            robustness_sentence(&r(vec![])),
            format!("{opening} changes nothing: no disparity is significant with or without them.")
        );
        assert_eq!(
            robustness_sentence(&r(vec![disparity("women", false, true)])),
            format!("{opening}, over-removal of posts about women becomes significant.")
        );
        assert_eq!(
            robustness_sentence(&r(vec![disparity("women", true, true), disparity("men", false, true)])),
            format!(
                "{opening}, the significant disparity (over-removal of posts about women) remains significant; over-removal of posts about men becomes significant."
            )
        );
    }
}
