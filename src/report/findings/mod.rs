//! The claims ledger: every sentence of the plain-language summary is the text
//! of a [`Finding`] whose [`Evidence`] (test, n, interval, adjusted p …) is
//! written beside it in `results.json`, and a finding is made only when its
//! evidence supports it:
//!
//! - a group is called most or least affected only when its dimension's
//!   omnibus test is significant and its own comparison is significant after
//!   correction in that direction; otherwise the groups are "not
//!   distinguishable at this sample size", with the observed range;
//! - disparities say what kind of group they compare (a language, a group of
//!   people, a kind of speech, a speaker group), lead with the largest ratio
//!   among comparisons with enough cases on both sides, and say when
//!   adjustment for the kind of speech removes them;
//! - "no disparity" always comes with the ratio that could have been detected;
//! - the corpus's review status and what the rates are not (a prevalence
//!   estimate) open the summary; the full [`Limitation`]s have a section;
//! - where reviewers' records exist, they give the review status, and the
//!   summary says what a review filter left out and whether the significant
//!   disparities survive leaving out the posts reviewers dispute.
//!
//! The summary is [`super::summary::sentences`] of these findings, in order.

mod appeal;
mod consistency;
mod coverage;
mod evidence;
mod groups;
mod limitations;
mod rates;
pub mod review;
mod robustness;
mod threshold;

use serde::{Deserialize, Serialize};

use super::Report;

pub use evidence::{
    Detectable, Evidence, GroupRate, GroupThreshold, Interval, Omnibus, Share, Stratified, Thresholds, Times,
};
pub use limitations::{Limitation, Review, limitations};

/// One claim of the summary with the numbers it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// Stable across runs of the same scenario, e.g. `overall.over_removal`,
    /// `extreme.language.most`, `disparity.target_group.lesbians`.
    pub id: String,
    pub kind: FindingKind,
    /// The sentence (or two) of the summary.
    pub text: String,
    pub evidence: Evidence,
}

impl Finding {
    fn new(id: impl Into<String>, kind: FindingKind, text: String, evidence: Evidence) -> Finding {
        Finding {
            id: id.into(),
            kind,
            text,
            evidence,
        }
    }
}

/// What a finding claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The overall over-removal rate.
    Overall,
    /// The overall detection rate.
    Detection,
    /// The group removed most (or least) often, where the tests separate it.
    Extreme,
    /// The groups of a dimension cannot be told apart (or not tested at all).
    NoExtreme,
    /// A group removed significantly more (or less) often than its reference.
    Disparity,
    /// No group of a dimension differs significantly, with what was detectable.
    NoDisparity,
    /// A significant disparity that adjustment for the kind of speech removes.
    Confounded,
    /// Counterfactual flips of one kind of family.
    Flip,
    /// What the system's scores separate.
    Score,
    /// Violating posts that got through once edited (`[perturb]`), or edits
    /// that made no variant.
    Evasion,
    /// Protected posts decided differently once edited.
    Instability,
    /// Posts quoted to condemn them treated more harshly than the posts.
    Directional,
    /// A scoring system at another threshold than it ran at: a re-analysis,
    /// or thresholds that would change what it does (never applied).
    Threshold,
    /// The notice given with adverse decisions.
    Notice,
    /// Appeal outcomes, times and disparities.
    Appeal,
    /// The Santa Clara Principles and DSA checklist.
    Checklist,
    /// Cases the system could not or did not decide.
    Coverage,
    /// Whether findings survive leaving out posts reviewers dispute.
    Robustness,
    /// What the run cannot show.
    Limitation,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Overall => "overall",
            FindingKind::Detection => "detection",
            FindingKind::Extreme => "extreme",
            FindingKind::NoExtreme => "no_extreme",
            FindingKind::Disparity => "disparity",
            FindingKind::NoDisparity => "no_disparity",
            FindingKind::Confounded => "confounded",
            FindingKind::Flip => "flip",
            FindingKind::Score => "score",
            FindingKind::Evasion => "evasion",
            FindingKind::Instability => "instability",
            FindingKind::Directional => "directional",
            FindingKind::Threshold => "threshold",
            FindingKind::Notice => "notice",
            FindingKind::Appeal => "appeal",
            FindingKind::Checklist => "checklist",
            FindingKind::Coverage => "coverage",
            FindingKind::Robustness => "robustness",
            FindingKind::Limitation => "limitation",
        }
    }

    /// The paragraph of the summary a finding of this kind belongs to: the
    /// overall rates and what they are (0), the groups (1), consistency,
    /// scores and thresholds (2), robustness to evasion (5, which follows
    /// them), notice and appeal (3), what could not be decided (4). A
    /// re-analysis at another threshold is said first, in a paragraph of its own.
    pub fn paragraph(self) -> usize {
        match self {
            FindingKind::Overall | FindingKind::Detection | FindingKind::Limitation => 0,
            FindingKind::Extreme
            | FindingKind::NoExtreme
            | FindingKind::Disparity
            | FindingKind::NoDisparity
            | FindingKind::Confounded
            | FindingKind::Robustness => 1,
            FindingKind::Flip | FindingKind::Score | FindingKind::Threshold => 2,
            FindingKind::Evasion | FindingKind::Instability | FindingKind::Directional => 5,
            FindingKind::Notice | FindingKind::Appeal | FindingKind::Checklist => 3,
            FindingKind::Coverage => 4,
        }
    }
}

/// Every finding of a report, in summary order; a re-analysis at another
/// threshold says so first.
pub fn findings(report: &Report) -> Vec<Finding> {
    let mut out: Vec<Finding> = threshold::reanalysis(report).into_iter().collect();
    out.extend(rates::findings(report));
    out.extend(limitations::summary_findings(report));
    out.extend(review::filter_finding(report));
    out.extend(groups::findings(report));
    out.extend(review::robustness_finding(report));
    out.extend(consistency::findings(report));
    out.extend(robustness::findings(report));
    out.extend(threshold::findings(report));
    out.extend(appeal::findings(report));
    out.extend(coverage::findings(report));
    out
}

/// A value as a part of a finding id: letters, digits, `_` and `-` kept, any
/// other character `_`, so an id never carries markup or backticks.
fn id_part(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_no_markup() {
        assert_eq!(id_part("zh-Hans"), "zh-Hans");
        assert_eq!(id_part("<b>bold</b>"), "_b_bold__b_");
        assert_eq!(id_part("a`b c"), "a_b_c");
    }
}
