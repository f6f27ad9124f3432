//! The evidence of a finding: the numbers its sentence rests on, each field
//! present only where it applies, so a reader (or a test) can check the
//! sentence against its test, n, interval and adjusted p.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::{Correction, Dimension, Measure};
use crate::report::summary::p_text;
use crate::report::threshold_text;

/// The numbers behind one sentence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    /// Over-removal or detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<Dimension>,
    /// The group the sentence is about, as the corpus names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// What it was compared with: a group, or "all others".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Cases (or families, appeals, decisions) the rate is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    /// Of those, how many had the outcome counted (adverse action, a flip, a reversal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// The interval of `rate` (or of `auc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_rate: Option<f64>,
    /// `rate / reference_rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_interval: Option<Interval>,
    /// An area under the ROC curve, and the one it is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_auc: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_interval: Option<Interval>,
    /// Whether the AUC's interval lies above chance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separates: Option<bool>,
    /// The test behind the claim, e.g. `fisher_exact_two_sided`, `log_rank`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// The p-value after correction within `family`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Comparisons in the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
    /// The significance level the adjusted p (or the omnibus p) is held against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// The dimension's χ² test of homogeneity: do its groups differ at all?
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omnibus: Option<Omnibus>,
    /// What the comparisons could have detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_detectable: Option<Detectable>,
    /// The check of a disparity within strata of kind of speech (and language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratified: Option<Stratified>,
    /// Kaplan–Meier times to an appeal decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<Times>,
    /// The thresholds a finding about a scoring system is at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    /// Groups the sentence describes: the observed range, the groups compared,
    /// the group most often on one side of the flips.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRate>,
    /// Groups the extreme one could not be told apart from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tied_with: Vec<GroupRate>,
    /// Named counts (comparisons tested and significant, notice elements, items met …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A confidence interval and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interval {
    pub lower: f64,
    /// `None`: no finite upper limit.
    pub upper: Option<f64>,
    /// e.g. `wilson`, `cluster_robust_wilson`, `mover_wilson`, `delong`.
    pub method: String,
    pub confidence: f64,
}

impl Interval {
    pub fn new(method: &str, confidence: f64, [lower, upper]: [f64; 2]) -> Interval {
        Interval {
            lower,
            upper: Some(upper),
            method: method.into(),
            confidence,
        }
    }
}

/// The χ² test of homogeneity across a dimension's groups with at least the minimum n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Omnibus {
    pub test: String,
    pub groups: usize,
    pub df: usize,
    pub statistic: Option<f64>,
    pub p: Option<f64>,
    /// Some expected count is below 5: the p-value is approximate.
    pub small_expected: bool,
}

/// The smallest effect the comparisons of a family could have detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Detectable {
    /// Lowest and highest minimum detectable ratio (an increase over the
    /// reference rate) over the comparisons.
    pub ratio: Option<[f64; 2]>,
    /// Lowest and highest minimum detectable rate, where no ratio is defined.
    pub rate: Option<[f64; 2]>,
    pub power: f64,
    /// The per-comparison level α/m they are computed at.
    pub alpha: f64,
    /// `cohen_h_normal`.
    pub method: String,
    /// Comparisons the range is over.
    pub comparisons: usize,
}

/// A disparity re-examined within strata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stratified {
    pub strata_by: Vec<Dimension>,
    pub strata: usize,
    pub strata_used: usize,
    /// Mantel–Haenszel common odds ratio.
    pub odds_ratio: Option<f64>,
    /// Robins–Breslow–Greenland interval.
    pub odds_ratio_interval: Option<Interval>,
    /// `cochran_mantel_haenszel`.
    pub test: String,
    pub p: Option<f64>,
    /// The family's α/m.
    pub alpha: f64,
    pub survives: Option<bool>,
    /// The kind of speech over-represented most in the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_represented: Option<Share>,
}

/// How common one kind of speech is in a group and in its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Share {
    pub category: String,
    pub group_share: f64,
    pub reference_share: f64,
}

/// Kaplan–Meier times to decision, censored at the deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Times {
    /// `kaplan_meier`.
    pub method: String,
    /// `None`: not reached by the deadline.
    pub median_secs: Option<f64>,
    pub p90_secs: Option<f64>,
    pub deadline_secs: f64,
    pub events: u64,
    pub censored: u64,
    pub censored_at_deadline: u64,
}

/// The thresholds of a scoring system a finding rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Thresholds {
    /// The threshold the system ran at.
    pub run: f64,
    /// The threshold the report's rates are at, when it is another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating: Option<f64>,
    /// A threshold per group, with what it would give.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupThreshold>,
}

/// One group at a threshold of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupThreshold {
    pub group: String,
    /// `None`: above every score of the group.
    pub threshold: Option<f64>,
    /// Protected posts actioned at that threshold (over-removal).
    pub protected: GroupRate,
    /// Violating posts actioned at that threshold (detection).
    pub violating: GroupRate,
}

/// One group's rate, as a sentence describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupRate {
    pub group: String,
    pub n: u64,
    pub count: u64,
    pub rate: Option<f64>,
    /// A test of this group against the finding's group, where one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
}

impl GroupRate {
    pub fn new(group: &str, count: u64, n: u64) -> GroupRate {
        GroupRate {
            group: group.to_string(),
            n,
            count,
            rate: (n > 0).then(|| count as f64 / n as f64),
            p: None,
        }
    }
}

fn share(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

impl Interval {
    /// "95 % CI 1.90–3.94 (mover_wilson)"; `percent` writes the limits as percentages.
    fn describe(&self, percent: bool) -> String {
        let limits = if percent {
            format!("{:.1}–{:.1} %", self.lower * 100.0, self.upper.unwrap_or(1.0) * 100.0)
        } else {
            format!(
                "{:.2}–{}",
                self.lower,
                self.upper.map_or("∞".into(), |u| format!("{u:.2}"))
            )
        };
        format!("{:.0} % CI {limits} ({})", self.confidence * 100.0, self.method)
    }
}

impl GroupRate {
    /// "3 of 4 (75.0 %)".
    fn describe_counts(&self) -> String {
        let mut out = format!("{} of {}", self.count, self.n);
        if let Some(rate) = self.rate {
            out.push_str(&format!(" ({})", share(rate)));
        }
        out
    }

    fn describe(&self) -> String {
        let mut out = format!("{} {} of {}", self.group, self.count, self.n);
        if let Some(rate) = self.rate {
            out.push_str(&format!(" ({})", share(rate)));
        }
        if let Some(p) = self.p {
            out.push_str(&format!(", {}", p_text("p", p)));
        }
        out
    }
}

impl Evidence {
    /// The evidence in one line for a reader: test, n, interval, adjusted p and
    /// whatever else the finding rests on, in a fixed order.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let what: Vec<String> = [
            self.measure.map(|m| m.as_str().to_string()),
            self.dimension.map(|d| d.as_str().to_string()),
            self.group.as_ref().map(|g| format!("group {g}")),
            self.reference.as_ref().map(|r| format!("against {r}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !what.is_empty() {
            parts.push(what.join(", "));
        }
        match (self.n, self.count) {
            (Some(n), Some(count)) => {
                let mut text = format!("{count} of n = {n}");
                if let Some(rate) = self.rate {
                    text.push_str(&format!(" ({})", share(rate)));
                }
                parts.push(text);
            }
            (Some(n), None) => parts.push(format!("n = {n}")),
            _ => {}
        }
        if let Some(auc) = self.auc {
            parts.push(format!("AUC {auc:.3}"));
        }
        if let Some(interval) = &self.interval {
            parts.push(interval.describe(self.auc.is_none()));
        }
        if let Some(separates) = self.separates {
            parts.push(if separates { "above chance" } else { "not above chance" }.into());
        }
        if let (Some(n), Some(count)) = (self.reference_n, self.reference_count) {
            let rate = self
                .reference_rate
                .map_or(String::new(), |r| format!(" ({})", share(r)));
            parts.push(format!("reference {count} of n = {n}{rate}"));
        }
        if let Some(auc) = self.reference_auc {
            let interval = self
                .reference_interval
                .as_ref()
                .map_or(String::new(), |i| format!(", {}", i.describe(false)));
            parts.push(format!("overall AUC {auc:.3}{interval}"));
        }
        if let Some(ratio) = self.ratio {
            let interval = self
                .ratio_interval
                .as_ref()
                .map_or(String::new(), |i| format!(", {}", i.describe(false)));
            parts.push(format!("ratio {ratio:.2}{interval}"));
        }
        if let Some(test) = &self.test {
            let mut text = format!("test {test}");
            if let Some(x) = self.statistic {
                text.push_str(&format!(", statistic {x:.2}"));
            }
            if let Some(p) = self.p {
                text.push_str(&format!(", {}", p_text("p", p)));
            }
            if let Some(p) = self.p_adjusted {
                text.push_str(&format!(", {}", p_text("adjusted p", p)));
            }
            parts.push(text);
        }
        let family: Vec<String> = [
            self.correction.map(|c| format!("{} correction", c.name())),
            self.family.as_ref().map(|f| format!("within {f}")),
            self.m.map(|m| format!("m = {m}")),
            self.alpha.map(|a| format!("α = {a}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !family.is_empty() {
            parts.push(family.join(", "));
        }
        if let Some(o) = &self.omnibus {
            let result = match (o.statistic, o.p) {
                (Some(x), Some(p)) => format!("χ²({}) = {x:.2}, {}", o.df, p_text("p", p)),
                _ => "not computable".into(),
            };
            let caution = if o.small_expected {
                ", some expected counts below 5"
            } else {
                ""
            };
            parts.push(format!(
                "omnibus {} over {} groups: {result}{caution}",
                o.test, o.groups
            ));
        }
        if let Some(d) = &self.min_detectable {
            let range = |[lo, hi]: [f64; 2], show: &dyn Fn(f64) -> String| format!("{}–{}", show(lo), show(hi));
            let what = match (d.ratio, d.rate) {
                (Some(r), _) => format!("minimum detectable ratio {}", range(r, &|x| format!("{x:.2}"))),
                (None, Some(r)) => format!("minimum detectable rate {}", range(r, &share)),
                (None, None) => "no detectable difference".into(),
            };
            parts.push(format!(
                "{what} ({}, power {:.0} %, α/m = {:.4}, {} comparisons)",
                d.method,
                d.power * 100.0,
                d.alpha,
                d.comparisons
            ));
        }
        if let Some(st) = &self.stratified {
            let by: Vec<&str> = st.strata_by.iter().map(|d| d.as_str()).collect();
            let mut text = format!("stratified by {}", by.join(" × "));
            if let Some(or) = st.odds_ratio {
                text.push_str(&format!(": Mantel–Haenszel OR {or:.2}"));
            }
            if let Some(i) = &st.odds_ratio_interval {
                text.push_str(&format!(", {}", i.describe(false)));
            }
            if let Some(p) = st.p {
                text.push_str(&format!(
                    ", {} {} against α/m = {:.4}",
                    st.test,
                    p_text("p", p),
                    st.alpha
                ));
            }
            text.push_str(&format!(
                ", {} of {} strata used, survives: {}",
                st.strata_used,
                st.strata,
                match st.survives {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "cannot tell",
                }
            ));
            if let Some(mix) = &st.over_represented {
                text.push_str(&format!(
                    ", {} is {} of the group and {} of the reference",
                    mix.category,
                    share(mix.group_share),
                    share(mix.reference_share)
                ));
            }
            parts.push(text);
        }
        if let Some(t) = &self.times {
            let at = |secs: Option<f64>| {
                secs.map_or(format!("> {:.0} s (the deadline)", t.deadline_secs), |s| {
                    format!("{s:.0} s")
                })
            };
            parts.push(format!(
                "{}: median {}, 90th percentile {}; {} decided, {} censored ({} at the deadline)",
                t.method,
                at(t.median_secs),
                at(t.p90_secs),
                t.events,
                t.censored,
                t.censored_at_deadline
            ));
        }
        if let Some(t) = &self.thresholds {
            let mut text = format!("run threshold {}", threshold_text(t.run));
            if let Some(operating) = t.operating {
                text.push_str(&format!(", rates at threshold {}", threshold_text(operating)));
            }
            if !t.groups.is_empty() {
                let groups: Vec<String> = t
                    .groups
                    .iter()
                    .map(|g| {
                        format!(
                            "{} at {}: protected {}, violating {}",
                            g.group,
                            g.threshold.map_or("above every score".into(), threshold_text),
                            g.protected.describe_counts(),
                            g.violating.describe_counts()
                        )
                    })
                    .collect();
                text.push_str(&format!("; thresholds: {}", groups.join("; ")));
            }
            parts.push(text);
        }
        if !self.tied_with.is_empty() {
            let tied: Vec<String> = self.tied_with.iter().map(GroupRate::describe).collect();
            parts.push(format!("not separated from: {}", tied.join(", ")));
        }
        if !self.groups.is_empty() {
            let groups: Vec<String> = self.groups.iter().map(GroupRate::describe).collect();
            parts.push(format!("groups: {}", groups.join(", ")));
        }
        if !self.counts.is_empty() {
            let counts: Vec<String> = self.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            parts.push(format!("counts: {}", counts.join(", ")));
        }
        if let Some(note) = &self.note {
            parts.push(note.clone());
        }
        parts.join("; ")
    }
}
