//! What a run cannot show, generated from the run: how far the corpus was
//! reviewed, the groups too small to test, what the system could not decide,
//! that the classifier is not the platform's whole pipeline, that overall
//! rates depend on the corpus's mix, that template families are near-identical
//! posts, and that every finding is about this corpus, this configuration and
//! this date. The two a reader must meet first (review status, and that the
//! rates are no prevalence estimate) open the summary in short form.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Evidence, Finding, FindingKind, GroupRate};
use crate::analysis::{Dimension, Measure};
use crate::report::summary::{groups_of, humanise, join_and, prose_language_name};
use crate::report::{CorpusSummary, Report, percent};

/// One limitation of the run, for the report's Limitations section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Limitation {
    /// Stable, e.g. `limitation.review_status`.
    pub id: String,
    pub text: String,
    pub evidence: Evidence,
}

/// How far a language's cases are reviewed: read from a corpus's free-text
/// `review_status`, or counted from reviewers' records where it has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// The status says the cases were reviewed (and says nothing of a draft
    /// or of review still to come); or reviewers answered every case.
    Reviewed,
    /// Reviewers answered some of the cases but not all (from records only).
    PartlyReviewed,
    /// The status says the cases are drafted, unreviewed or awaiting review;
    /// or reviewers answered none of them.
    Unreviewed,
    /// The status says neither.
    Unclear,
}

impl Review {
    /// Reads a declared review status: words of a draft or of review still to
    /// come make it unreviewed; otherwise "reviewed", "validated" or
    /// "verified" make it reviewed.
    pub fn of(status: &str) -> Review {
        let status = status.to_lowercase();
        const PENDING: [&str; 10] = [
            "draft",
            "machine",
            "await",
            "unreviewed",
            "not reviewed",
            "not yet",
            "pending",
            "no review",
            "unverified",
            "to be reviewed",
        ];
        const DONE: [&str; 3] = ["reviewed", "validated", "verified"];
        if PENDING.iter().any(|w| status.contains(w)) {
            Review::Unreviewed
        } else if DONE.iter().any(|w| status.contains(w)) {
            Review::Reviewed
        } else {
            Review::Unclear
        }
    }
}

/// The run's languages by primary subtag, as the language slices show them.
fn run_languages(report: &Report) -> BTreeSet<String> {
    report
        .slices
        .iter()
        .filter(|s| s.dimension == Dimension::Language)
        .map(|s| primary(&s.value))
        .collect()
}

fn primary(tag: &str) -> String {
    tag.split('-').next().unwrap_or(tag).to_lowercase()
}

/// The languages of `tags` for prose: "all 13 languages", or their names.
fn languages_text(tags: &BTreeSet<String>, all: &BTreeSet<String>) -> String {
    if !all.is_empty() && all.is_subset(tags) {
        return if all.len() == 1 {
            format!(
                "its one language, {}",
                prose_language_name(all.iter().next().map_or("", |s| s))
            )
        } else if all.len() == 2 {
            "both its languages".to_string()
        } else {
            format!("all {} languages", all.len())
        };
    }
    let names: Vec<String> = tags.iter().map(|t| prose_language_name(t)).collect();
    join_and(&names)
}

/// The corpora and languages whose cases are not known to be reviewed.
struct NotReviewed {
    /// Declared status → languages (primary subtags) with that status.
    by_status: BTreeMap<String, BTreeSet<String>>,
    /// What reviewers' records show of languages not wholly reviewed, e.g.
    /// "reviewers have answered 4 of the 12 Swahili posts".
    recorded: Vec<String>,
    all_unreviewed: bool,
    /// Corpora with no provenance at all.
    undeclared: Vec<String>,
}

fn not_reviewed(corpora: &[CorpusSummary]) -> NotReviewed {
    let mut by_status: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut recorded = Vec::new();
    let mut all_unreviewed = true;
    let mut undeclared = Vec::new();
    for c in corpora {
        if c.review_status.is_empty() {
            undeclared.push(c.name.clone());
        }
        for entry in c.review_status.iter().filter(|e| e.review != Review::Reviewed) {
            all_unreviewed &= entry.review == Review::Unreviewed;
            match &entry.recorded {
                Some(r) => recorded.push(format!(
                    "reviewers have answered {} of the {} {} posts",
                    r.run.reviewed(),
                    r.run.total(),
                    prose_language_name(&r.language)
                )),
                None => {
                    by_status
                        .entry(entry.status.clone())
                        .or_default()
                        .extend(entry.languages.iter().map(|l| primary(l)));
                }
            }
        }
    }
    NotReviewed {
        by_status,
        recorded,
        all_unreviewed,
        undeclared,
    }
}

fn review_evidence(corpora: &[CorpusSummary]) -> Evidence {
    let mut counts = BTreeMap::new();
    for c in corpora {
        for entry in &c.review_status {
            let key = match entry.review {
                Review::Reviewed => "languages_reviewed",
                Review::PartlyReviewed => "languages_partly_reviewed",
                Review::Unreviewed => "languages_unreviewed",
                Review::Unclear => "languages_unclear",
            };
            *counts.entry(key.to_string()).or_insert(0) += entry.languages.len() as u64;
            if let Some(r) = &entry.recorded {
                for (key, n) in [
                    ("posts_confirmed", r.run.confirmed),
                    ("posts_disputed", r.run.disputed),
                    ("posts_corrected", r.run.corrected),
                    ("posts_unreviewed", r.run.unreviewed),
                ] {
                    *counts.entry(key.to_string()).or_insert(0) += n;
                }
            }
        }
    }
    counts.insert(
        "corpora_without_review_status".into(),
        corpora.iter().filter(|c| c.review_status.is_empty()).count() as u64,
    );
    Evidence {
        counts,
        note: Some(
            corpora
                .iter()
                .map(|c| {
                    let mut entries: Vec<String> = by_status(c)
                        .into_iter()
                        .map(|(status, languages)| format!("{status} ({})", languages.join(", ")))
                        .collect();
                    entries.extend(
                        c.review_status
                            .iter()
                            .filter(|e| e.recorded.is_some())
                            .map(|e| format!("{} ({})", e.status, e.languages.join(", "))),
                    );
                    format!(
                        "{} {}: {}",
                        c.name,
                        c.version,
                        if entries.is_empty() {
                            "no review status declared".into()
                        } else {
                            entries.join("; ")
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        ..Evidence::default()
    }
}

/// A corpus's declared statuses (not those from reviewers' records), each
/// with the languages it covers, in the order the corpus declares them.
fn by_status(c: &CorpusSummary) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for entry in c.review_status.iter().filter(|e| e.recorded.is_none()) {
        match out.iter_mut().find(|(status, _)| *status == entry.status) {
            Some((_, languages)) => languages.extend(entry.languages.iter().cloned()),
            None => out.push((entry.status.clone(), entry.languages.clone())),
        }
    }
    out
}

/// The short review-status sentence of the summary; `None` when every corpus
/// declares its cases reviewed.
fn review_sentence(report: &Report) -> Option<String> {
    let nr = not_reviewed(&report.corpora);
    if nr.by_status.is_empty() && nr.recorded.is_empty() && nr.undeclared.is_empty() {
        return None;
    }
    let all = run_languages(report);
    let mut parts: Vec<String> = nr
        .by_status
        .iter()
        .map(|(status, tags)| format!("“{status}” for {}", languages_text(tags, &all)))
        .collect();
    let declared = if parts.is_empty() {
        String::new()
    } else {
        let who = if report.corpora.len() == 1 {
            "the corpus declares"
        } else {
            "the corpora declare"
        };
        format!("{who} {}", join_and(&std::mem::take(&mut parts)))
    };
    let undeclared = (!nr.undeclared.is_empty()).then(|| {
        let names: Vec<String> = nr.undeclared.iter().map(|n| format!("“{n}”")).collect();
        format!(
            "{} {} {} not declare whether {} posts and labels were reviewed",
            if names.len() == 1 { "corpus" } else { "corpora" },
            join_and(&names),
            if names.len() == 1 { "does" } else { "do" },
            if names.len() == 1 { "its" } else { "their" }
        )
    });
    let opening = if nr.all_unreviewed && nr.undeclared.is_empty() {
        "The test posts and their labels have not yet been reviewed"
    } else {
        "The test posts and their labels are not known to have been reviewed"
    };
    let recorded = (!nr.recorded.is_empty()).then(|| join_and(&nr.recorded));
    let details: Vec<String> = [Some(declared).filter(|d| !d.is_empty()), recorded, undeclared]
        .into_iter()
        .flatten()
        .collect();
    Some(format!(
        "{opening}: {}; whether a post is protected or violating is the corpus authors' judgement.",
        details.join("; ")
    ))
}

/// The limitations that open the summary.
pub(super) fn summary_findings(report: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(text) = review_sentence(report) {
        out.push(Finding::new(
            "limitation.review_status",
            FindingKind::Limitation,
            text,
            review_evidence(&report.corpora),
        ));
    }
    if report.totals.protected + report.totals.violating > 0 {
        out.push(Finding::new(
            "limitation.not_prevalence",
            FindingKind::Limitation,
            "The rates depend on this corpus's mix of kinds of speech and are not estimates of how often the platform restricts lawful speech."
                .into(),
            mix_evidence(report),
        ));
    }
    out
}

fn mix_evidence(report: &Report) -> Evidence {
    let categories: Vec<_> = report
        .slices
        .iter()
        .filter(|s| s.dimension == Dimension::Category && s.protected_n > 0)
        .collect();
    let protected: u64 = categories.iter().map(|s| s.protected_n).sum();
    let mut groups: Vec<GroupRate> = categories
        .iter()
        .map(|s| GroupRate::new(&s.value, s.protected_n, protected))
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.group.cmp(&b.group)));
    Evidence {
        n: Some(protected),
        groups,
        note: Some("each kind of speech's share of the decided protected posts".into()),
        ..Evidence::default()
    }
}

/// Every limitation of a run, for its own section.
pub fn limitations(report: &Report) -> Vec<Limitation> {
    let mut out = Vec::new();
    let mut add = |id: &str, text: String, evidence: Evidence| {
        out.push(Limitation {
            id: id.into(),
            text,
            evidence,
        })
    };
    add(
        "limitation.review_status",
        review_text(report),
        review_evidence(&report.corpora),
    );
    if let Some((text, evidence)) = small_samples(report) {
        add("limitation.small_samples", text, evidence);
    }
    if !report.unsupported.is_empty() {
        let parts: Vec<String> = report
            .unsupported
            .iter()
            .map(super::coverage::unsupported_cases)
            .collect();
        add(
            "limitation.unsupported",
            format!(
                "The system declared it could not moderate {}. They are left out of every rate, so the rates say nothing about how it treats them.",
                join_and(&parts)
            ),
            Evidence {
                count: Some(report.totals.unsupported),
                groups: report
                    .unsupported
                    .iter()
                    .map(|u| GroupRate::new(&u.language, u.cases, u.language_cases))
                    .collect(),
                ..Evidence::default()
            },
        );
    }
    if report.totals.errors > 0 {
        add(
            "limitation.errors",
            format!(
                "{} of {} cases ended in error; they are left out of every rate, and if errors fall more on some groups than on others, those groups' rates rest on fewer cases than the corpus holds.",
                report.totals.errors, report.totals.cases
            ),
            Evidence {
                n: Some(report.totals.cases),
                count: Some(report.totals.errors),
                ..Evidence::default()
            },
        );
    }
    if report.totals.pending > 0 {
        add(
            "limitation.incomplete",
            format!(
                "The run is incomplete: {} of {} cases are undecided, and every rate is of the cases decided so far.",
                report.totals.pending, report.totals.cases
            ),
            Evidence {
                n: Some(report.totals.cases),
                count: Some(report.totals.pending),
                ..Evidence::default()
            },
        );
    }
    add(
        "limitation.pipeline",
        format!(
            "The audit sees only what the {} answered for each post. A platform's whole moderation pipeline — human review, user reports, appeals, ranking and reach — may treat the same post differently, and nothing here measures it.",
            report.run.target_description
        ),
        Evidence {
            n: Some(report.totals.decided),
            note: Some("one automated decision per post".into()),
            ..Evidence::default()
        },
    );
    add(
        "limitation.not_prevalence",
        prevalence_text(report),
        mix_evidence(report),
    );
    if let Some((text, evidence)) = template_families(report) {
        add("limitation.template_families", text, evidence);
    }
    let date = report.run.started_at.format("%Y-%m-%d").to_string();
    let corpora: Vec<String> = report
        .corpora
        .iter()
        .map(|c| format!("{} {}", c.name, c.version))
        .collect();
    let adverse: Vec<&str> = report.settings.adverse_actions.iter().map(|a| a.as_str()).collect();
    add(
        "limitation.scope",
        format!(
            "Every finding is about this corpus ({}), the {} as configured for this run on {date}, and the scenario's settings (α = {}, minimum n {}, adverse actions: {}). Systems and their settings change; a later run may differ.",
            join_and(&corpora),
            report.run.target_description,
            report.settings.alpha,
            report.settings.min_n,
            adverse.join(", ")
        ),
        Evidence {
            n: Some(report.totals.cases),
            note: Some(format!("run date {date}")),
            ..Evidence::default()
        },
    );
    out
}

fn review_text(report: &Report) -> String {
    let mut parts = Vec::new();
    for c in &report.corpora {
        if c.review_status.is_empty() {
            parts.push(format!("{} {} declares no review status", c.name, c.version));
            continue;
        }
        let mut entries: Vec<String> = by_status(c)
            .into_iter()
            .map(|(status, languages)| {
                let names: Vec<String> = languages.iter().map(|l| prose_language_name(l)).collect();
                format!("{}: “{status}”", join_and(&names))
            })
            .collect();
        entries.extend(c.review_status.iter().filter(|e| e.recorded.is_some()).map(|e| {
            format!(
                "{}: {}",
                join_and(&e.languages.iter().map(|l| prose_language_name(l)).collect::<Vec<_>>()),
                e.status
            )
        }));
        parts.push(format!("{} {} — {}", c.name, c.version, entries.join("; ")));
    }
    let any_recorded = report
        .corpora
        .iter()
        .flat_map(|c| &c.review_status)
        .any(|s| s.recorded.is_some());
    let (source, rule) = if any_recorded {
        (
            "as each corpus declares it or, where reviewers' records exist, as they show it",
            " A post is confirmed when every reviewer of its text gave its label, kept its kind of speech, found it natural and corrected nothing, and disputed when one did not.",
        )
    } else {
        ("as each corpus declares it", "")
    };
    let filter = super::review::filter_sentence(report).map_or(String::new(), |s| format!(" {s}"));
    let caveat = match review_sentence(report) {
        Some(_) => {
            " Posts and labels that native speakers have not reviewed may read unnaturally, be mislabelled, or miss how a community really speaks; a finding about one language is only as good as that language's cases."
        }
        None => "",
    };
    format!(
        "How far the test posts and their labels were reviewed, {source}: {}.{rule}{filter}{caveat}",
        parts.join("; ")
    )
}

fn small_samples(report: &Report) -> Option<(String, Evidence)> {
    let records: Vec<_> = report
        .dimension_comparisons
        .iter()
        .filter(|c| c.measure == Measure::OverRemoval && c.not_tested > 0)
        .collect();
    if records.is_empty() {
        return None;
    }
    let parts: Vec<String> = records
        .iter()
        .map(|c| {
            format!(
                "{} of {}",
                c.not_tested,
                groups_of(c.dimension, c.tested + c.not_tested)
            )
        })
        .collect();
    let counts = records
        .iter()
        .map(|c| (format!("not_tested.{}", c.dimension.as_str()), c.not_tested as u64))
        .collect();
    Some((
        format!(
            "Groups with fewer than {} decided protected posts are described but not tested: {}. Their rates carry wide intervals, and no claim is made about them.",
            report.settings.min_n,
            join_and(&parts)
        ),
        Evidence {
            counts,
            note: Some(format!("minimum n {}", report.settings.min_n)),
            ..Evidence::default()
        },
    ))
}

fn prevalence_text(report: &Report) -> String {
    let mix = mix_evidence(report);
    let largest: Vec<String> = mix
        .groups
        .iter()
        .take(3)
        .map(|g| format!("{} {}", humanise(&g.group), percent(g.rate.unwrap_or(0.0))))
        .collect();
    let shares = if largest.is_empty() {
        String::new()
    } else {
        format!(" (the largest kinds of protected speech: {})", join_and(&largest))
    };
    format!(
        "The corpus holds the kinds of speech its authors chose to probe known weaknesses, in the proportions they chose{shares}. The overall rates depend on that mix: they are not estimates of how often the platform restricts lawful speech, and an overall rate is comparable only with a run on the same corpus. Compare groups and kinds of speech within the run instead."
    )
}

fn template_families(report: &Report) -> Option<(String, Evidence)> {
    let cf = &report.counterfactual;
    let overall = report.slices.iter().find(|s| s.dimension == Dimension::Overall);
    let design_effect = overall
        .and_then(|o| o.over_removal_cluster_robust.as_ref())
        .and_then(|r| r.design_effect);
    // the families of edited variants (`[perturb]`) hold no corpus posts beyond their originals
    let edited = report.perturbation.is_some();
    let members: u64 = cf
        .by_kind
        .iter()
        .filter(|k| !(edited && k.kind == crate::corpus::FamilyKind::Perturbation))
        .flat_map(|k| &k.family_sizes)
        .map(|s| s.members * s.families)
        .sum();
    if cf.families == 0 && design_effect.is_none_or(|d| d <= 1.0) {
        return None;
    }
    let deff = design_effect.map_or(String::new(), |d| {
        format!(" (design effect of the overall over-removal rate: {d:.2})")
    });
    Some((
        format!(
            "{members} decided posts belong to {} template families or clusters of near-identical texts, which a system tends to treat alike: they are not independent evidence. Every rate therefore also carries a cluster-robust interval{deff}, and the summary quotes it. The disparity tests (Fisher's exact) count posts as independent, so where families are large their p-values may be too small.",
            cf.families
        ),
        Evidence {
            n: Some(members),
            counts: [("families".to_string(), cf.families)].into(),
            note: design_effect.map(|d| format!("design effect {d:.4}")),
            ..Evidence::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_review_statuses_are_read_conservatively() {
        assert_eq!(
            Review::of("machine-drafted, awaiting native-speaker review"),
            Review::Unreviewed
        );
        assert_eq!(Review::of("not yet reviewed"), Review::Unreviewed);
        assert_eq!(Review::of("reviewed by native speakers from X, 2026"), Review::Reviewed);
        assert_eq!(Review::of("published, peer-reviewed test suite"), Review::Reviewed);
        assert_eq!(Review::of("test fixture"), Review::Unclear);
        assert_eq!(Review::of("as published by the source"), Review::Unclear);
    }
}
