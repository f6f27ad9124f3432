//! `modaudit corpus review status`: per corpus language, how many cases
//! reviewers have answered, how far they agree with the proposed labels and
//! with each other, and which cases they dispute.
//!
//! Agreement is about labels (protected or violating), over current reviews
//! only (those of the case's present text):
//!
//! - with the proposed label, per reviewer and over every review: the share
//!   of reviews that give the case's label (Wilson interval) and Cohen's κ of
//!   the review's label against the case's (asymptotic interval);
//! - between reviewers, when a language has two or more: Cohen's κ over the
//!   cases both of two reviewers answered (asymptotic interval); Fleiss' κ
//!   over the cases every one of three or more reviewers answered; and
//!   always Krippendorff's α (nominal) over every case with two or more
//!   answers, missing answers allowed. Fleiss' κ and α carry a percentile
//!   bootstrap interval over cases, seeded (`--seed`).
//!
//! See [`crate::analysis::agreement`] for the statistics and their sources.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::agreement::{
    Bootstrap, BootstrapInterval, Category, CohenKappa, bootstrap_interval, cohen_kappa, fleiss_kappa,
    krippendorff_alpha_nominal,
};
use crate::analysis::interval::wilson;
use crate::corpus::review::{CaseReview, CaseStatus, Reason, StatusCounts, declared_language, review_cases};
use crate::corpus::{Case, Corpus, Label, TextError, canonical_language_tag};
use crate::diagnostic::excerpt;
use crate::visible::for_terminal_line;

/// Confidence level of every interval of the status.
pub const REVIEW_CONFIDENCE: f64 = 0.95;
/// Resamples of each bootstrap interval.
pub const BOOTSTRAP_RESAMPLES: u32 = 2000;

/// The review status of a corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewStatusReport {
    pub corpus: String,
    pub version: String,
    pub confidence: f64,
    pub bootstrap: Bootstrap,
    /// The reviews files read, relative to the corpus directory.
    pub review_files: Vec<String>,
    /// Reviews of case ids the corpus no longer has.
    pub orphan_reviews: u64,
    pub languages: Vec<LanguageStatus>,
}

/// The review status of one corpus language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageStatus {
    pub language: String,
    pub cases: u64,
    /// Cases with at least one current review.
    pub reviewed: u64,
    /// Current reviews.
    pub reviews: u64,
    /// Reviews of a text the case no longer has.
    pub outdated_reviews: u64,
    /// How many cases have how many current reviews (one or more).
    pub reviewers_per_case: Vec<ReviewersPerCase>,
    pub status: StatusCounts,
    /// Each reviewer's agreement with the proposed labels.
    pub with_proposed: Vec<ProposedAgreement>,
    /// Every current review's agreement with the proposed labels.
    pub with_proposed_all: Option<ProposedAgreement>,
    /// Agreement between reviewers, when there are two or more.
    pub between_reviewers: Option<BetweenReviewers>,
    pub disputed: Vec<DisputedCase>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewersPerCase {
    pub reviewers: u64,
    pub cases: u64,
}

/// How often reviews give the proposed label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedAgreement {
    /// The reviewer; `None` for every review together.
    pub reviewer: Option<String>,
    pub reviews: u64,
    pub agreeing: u64,
    pub share: f64,
    /// Wilson interval of the share.
    pub share_ci: Option<[f64; 2]>,
    /// Cohen's κ of the reviews' labels against the proposed ones (undefined
    /// when every label, proposed and given, is the same).
    pub kappa: Option<KappaEstimate>,
}

/// Cohen's κ with its asymptotic interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KappaEstimate {
    pub kappa: f64,
    pub se: f64,
    pub n: u64,
    pub observed: f64,
    pub expected: f64,
    pub ci: [f64; 2],
}

impl KappaEstimate {
    fn of(kappa: CohenKappa) -> KappaEstimate {
        KappaEstimate {
            kappa: kappa.kappa,
            se: kappa.se,
            n: kappa.n,
            observed: kappa.observed,
            expected: kappa.expected,
            ci: kappa.interval(REVIEW_CONFIDENCE),
        }
    }
}

/// Agreement between the reviewers of a language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BetweenReviewers {
    pub reviewers: Vec<String>,
    /// Cohen's κ, for exactly two reviewers, over the cases both answered.
    pub cohen: Option<KappaEstimate>,
    /// Fleiss' κ, for three or more, over the cases every one answered.
    pub fleiss: Option<BootstrappedStatistic>,
    /// Krippendorff's α (nominal) over every case with two or more answers.
    pub krippendorff: Option<BootstrappedAlpha>,
}

/// Fleiss' κ with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrappedStatistic {
    pub kappa: f64,
    pub cases: u64,
    pub ci: Option<BootstrapInterval>,
}

/// Krippendorff's α with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrappedAlpha {
    pub alpha: f64,
    pub cases: u64,
    pub ci: Option<BootstrapInterval>,
}

/// A disputed case, with why and what each reviewer answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisputedCase {
    pub id: String,
    pub proposed_label: Label,
    pub category: String,
    pub reasons: Vec<Reason>,
    pub reviews: Vec<Answer>,
}

/// One reviewer's answers about a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub reviewer: String,
    pub label: Label,
    pub category: Option<String>,
    pub natural: bool,
    pub corrected_text: Option<String>,
    pub comment: String,
}

fn category(label: Label) -> Category {
    match label {
        Label::Protected => 0,
        Label::Violating => 1,
    }
}

/// The review status of every language of a corpus; bootstrap intervals are
/// drawn with `seed`. Fails when a reviewed case's text cannot be read back
/// from its corpus file.
pub fn review_status(corpus: &Corpus, seed: u64) -> Result<ReviewStatusReport, TextError> {
    let bootstrap = Bootstrap {
        seed,
        resamples: BOOTSTRAP_RESAMPLES,
        confidence: REVIEW_CONFIDENCE,
    };
    let declared: Vec<String> = corpus
        .manifest
        .languages
        .iter()
        .map(|l| canonical_language_tag(l).unwrap_or_else(|_| l.clone()))
        .collect();
    let (reviewed, orphans) = review_cases(corpus)?;
    let mut by_language: BTreeMap<String, Vec<(&Case, CaseReview<'_>)>> = BTreeMap::new();
    for (case, review) in reviewed {
        by_language
            .entry(declared_language(&declared, &case.lang))
            .or_default()
            .push((case, review));
    }
    let order = |language: &String| declared.iter().position(|d| d == language).unwrap_or(usize::MAX);
    let mut languages: Vec<LanguageStatus> = by_language
        .into_iter()
        .map(|(language, cases)| language_status(language, &cases, bootstrap))
        .collect();
    languages.sort_by_key(|l| order(&l.language));
    Ok(ReviewStatusReport {
        corpus: corpus.manifest.name.clone(),
        version: corpus.manifest.version.clone(),
        confidence: REVIEW_CONFIDENCE,
        bootstrap,
        review_files: corpus
            .files
            .iter()
            .filter(|f| f.path.starts_with(&format!("{}/", crate::corpus::review::REVIEWS_DIR)))
            .map(|f| f.path.clone())
            .collect(),
        orphan_reviews: orphans.len() as u64,
        languages,
    })
}

fn language_status(language: String, cases: &[(&Case, CaseReview<'_>)], bootstrap: Bootstrap) -> LanguageStatus {
    let mut status = StatusCounts::default();
    let mut per_case: BTreeMap<u64, u64> = BTreeMap::new();
    let mut reviewers: BTreeSet<&str> = BTreeSet::new();
    let mut outdated = 0;
    for (_, review) in cases {
        status.add(review.status);
        outdated += review.outdated.len() as u64;
        if !review.current.is_empty() {
            *per_case.entry(review.current.len() as u64).or_default() += 1;
        }
        reviewers.extend(review.current.iter().map(|r| r.reviewer.as_str()));
    }
    let agreement_of = |reviewer: Option<&str>, pairs: Vec<(Label, Label)>| {
        let n = pairs.len() as u64;
        let agreeing = pairs.iter().filter(|(p, r)| p == r).count() as u64;
        let kappa_pairs: Vec<(Category, Category)> = pairs.iter().map(|&(p, r)| (category(p), category(r))).collect();
        ProposedAgreement {
            reviewer: reviewer.map(String::from),
            reviews: n,
            agreeing,
            share: agreeing as f64 / n as f64,
            share_ci: wilson(agreeing, n, REVIEW_CONFIDENCE).map(|(lo, hi)| [lo, hi]),
            kappa: cohen_kappa(&kappa_pairs).map(KappaEstimate::of),
        }
    };
    let pairs_of = |who: Option<&str>| -> Vec<(Label, Label)> {
        cases
            .iter()
            .flat_map(|(case, review)| {
                review
                    .current
                    .iter()
                    .filter(move |r| who.is_none_or(|w| r.reviewer == w))
                    .map(move |r| (case.label, r.label))
            })
            .collect()
    };
    let with_proposed: Vec<ProposedAgreement> = reviewers
        .iter()
        .map(|who| agreement_of(Some(who), pairs_of(Some(who))))
        .collect();
    let all = pairs_of(None);
    let with_proposed_all = (!all.is_empty()).then(|| agreement_of(None, all));
    let reviewer_list: Vec<String> = reviewers.iter().map(|r| r.to_string()).collect();
    LanguageStatus {
        language,
        cases: cases.len() as u64,
        reviewed: status.reviewed(),
        reviews: cases.iter().map(|(_, r)| r.current.len() as u64).sum(),
        outdated_reviews: outdated,
        reviewers_per_case: per_case
            .into_iter()
            .map(|(reviewers, cases)| ReviewersPerCase { reviewers, cases })
            .collect(),
        status,
        with_proposed,
        with_proposed_all,
        between_reviewers: (reviewer_list.len() >= 2).then(|| between(&reviewer_list, cases, bootstrap)),
        disputed: cases
            .iter()
            .filter(|(_, r)| r.status == CaseStatus::Disputed)
            .map(|(case, review)| DisputedCase {
                id: case.id.to_string(),
                proposed_label: case.label,
                category: case.category.to_string(),
                reasons: review.reasons.iter().copied().collect(),
                reviews: review
                    .current
                    .iter()
                    .map(|r| Answer {
                        reviewer: r.reviewer.clone(),
                        label: r.label,
                        category: r.category.clone(),
                        natural: r.natural,
                        corrected_text: r.corrected_text.clone(),
                        comment: r.comment.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn between(reviewers: &[String], cases: &[(&Case, CaseReview<'_>)], bootstrap: Bootstrap) -> BetweenReviewers {
    // each case's answers, by reviewer (None where a reviewer gave none)
    let table: Vec<Vec<Option<Category>>> = cases
        .iter()
        .map(|(_, review)| {
            reviewers
                .iter()
                .map(|who| {
                    review
                        .current
                        .iter()
                        .find(|r| &r.reviewer == who)
                        .map(|r| category(r.label))
                })
                .collect()
        })
        .collect();
    let complete: Vec<Vec<Category>> = table
        .iter()
        .filter(|row| row.iter().all(Option::is_some))
        .map(|row| row.iter().flatten().copied().collect())
        .collect();
    let cohen = (reviewers.len() == 2)
        .then(|| {
            let pairs: Vec<(Category, Category)> = complete.iter().map(|row| (row[0], row[1])).collect();
            cohen_kappa(&pairs).map(KappaEstimate::of)
        })
        .flatten();
    let fleiss = (reviewers.len() >= 3)
        .then(|| {
            fleiss_kappa(&complete).map(|kappa| BootstrappedStatistic {
                kappa,
                cases: complete.len() as u64,
                ci: bootstrap_interval(
                    complete.len(),
                    |indices| fleiss_kappa(&indices.iter().map(|&i| complete[i].clone()).collect::<Vec<_>>()),
                    bootstrap,
                ),
            })
        })
        .flatten();
    let pairable: Vec<Vec<Category>> = table
        .iter()
        .map(|row| row.iter().flatten().copied().collect::<Vec<_>>())
        .filter(|answers| answers.len() >= 2)
        .collect();
    let krippendorff = krippendorff_alpha_nominal(&pairable).map(|alpha| BootstrappedAlpha {
        alpha,
        cases: pairable.len() as u64,
        ci: bootstrap_interval(
            pairable.len(),
            |indices| krippendorff_alpha_nominal(&indices.iter().map(|&i| pairable[i].clone()).collect::<Vec<_>>()),
            bootstrap,
        ),
    });
    BetweenReviewers {
        reviewers: reviewers.to_vec(),
        cohen,
        fleiss,
        krippendorff,
    }
}

/// A value from a file, on one line and of bounded length.
fn shown(value: &str) -> String {
    for_terminal_line(&excerpt(value)).into_owned()
}

fn kappa_text(k: &KappaEstimate) -> String {
    format!(
        "{:.3} ({:.0} % CI {:.3} to {:.3}; asymptotic SE {:.3})",
        k.kappa,
        REVIEW_CONFIDENCE * 100.0,
        k.ci[0],
        k.ci[1],
        k.se
    )
}

fn bootstrap_text(ci: Option<BootstrapInterval>, cases: u64, bootstrap: Bootstrap) -> String {
    match ci {
        Some(ci) => format!(
            "{:.0} % CI {:.3} to {:.3}; bootstrap over {cases} cases, {} of {} resamples defined, seed {}",
            bootstrap.confidence * 100.0,
            ci.lower,
            ci.upper,
            ci.resamples,
            bootstrap.resamples,
            bootstrap.seed
        ),
        None => "no interval: undefined in every resample".into(),
    }
}

/// The status as text for a person.
pub fn render_review_status(report: &ReviewStatusReport) -> String {
    let mut out = format!(
        "corpus `{}` {}: ",
        for_terminal_line(&report.corpus),
        for_terminal_line(&report.version)
    );
    if report.review_files.is_empty() {
        out.push_str("no reviews yet (export a sheet with `modaudit corpus review export`)\n");
    } else {
        let files: Vec<String> = report.review_files.iter().map(|f| shown(f)).collect();
        out.push_str(&format!("reviews in {}\n", files.join(", ")));
    }
    if report.orphan_reviews > 0 {
        out.push_str(&format!(
            "{} reviews name cases the corpus no longer has; they are left out\n",
            report.orphan_reviews
        ));
    }
    for l in &report.languages {
        out.push('\n');
        render_language(&mut out, l, report.bootstrap);
    }
    out
}

fn render_language(out: &mut String, l: &LanguageStatus, bootstrap: Bootstrap) {
    let per_case: Vec<String> = l
        .reviewers_per_case
        .iter()
        .map(|r| {
            format!(
                "{} by {}",
                r.cases,
                crate::plural::count_of(r.reviewers, "reviewer", "reviewers")
            )
        })
        .collect();
    out.push_str(&format!(
        "{}: {}, {} reviewed{}{}\n",
        shown(&l.language),
        crate::plural::count_of(l.cases, "case", "cases"),
        l.reviewed,
        if per_case.is_empty() {
            String::new()
        } else {
            format!(" ({})", per_case.join(", "))
        },
        if l.outdated_reviews > 0 {
            format!("; {} reviews of texts since changed", l.outdated_reviews)
        } else {
            String::new()
        }
    ));
    let s = &l.status;
    out.push_str(&format!(
        "  status: {} confirmed, {} disputed, {} corrected, {} unreviewed\n",
        s.confirmed, s.disputed, s.corrected, s.unreviewed
    ));
    if l.reviews == 0 {
        return;
    }
    out.push_str("  agreement with the proposed label:\n");
    for a in l.with_proposed.iter().chain(&l.with_proposed_all) {
        let who = a.reviewer.as_deref().map_or("every review".to_string(), shown);
        let ci = a.share_ci.map_or(String::new(), |[lo, hi]| {
            format!(
                ", {:.0} % CI {:.1}–{:.1} %",
                REVIEW_CONFIDENCE * 100.0,
                lo * 100.0,
                hi * 100.0
            )
        });
        let kappa = a
            .kappa
            .as_ref()
            .map_or("Cohen's κ undefined (one label throughout)".into(), |k| {
                format!("Cohen's κ {}", kappa_text(k))
            });
        out.push_str(&format!(
            "    {who}: {} of {} ({:.1} %{ci}); {kappa}\n",
            a.agreeing,
            a.reviews,
            a.share * 100.0
        ));
    }
    if let Some(b) = &l.between_reviewers {
        let names: Vec<String> = b.reviewers.iter().map(|r| shown(r)).collect();
        out.push_str(&format!("  agreement between reviewers ({}):\n", names.join(", ")));
        if b.reviewers.len() == 2 {
            match &b.cohen {
                Some(k) => out.push_str(&format!(
                    "    Cohen's κ {}, over {} cases both answered\n",
                    kappa_text(k),
                    k.n
                )),
                None => out.push_str("    Cohen's κ undefined (no case both answered, or one label throughout)\n"),
            }
        } else {
            match &b.fleiss {
                Some(f) => out.push_str(&format!(
                    "    Fleiss' κ {:.3} ({}), over the cases every reviewer answered\n",
                    f.kappa,
                    bootstrap_text(f.ci, f.cases, bootstrap)
                )),
                None => {
                    out.push_str("    Fleiss' κ undefined (no case every reviewer answered, or one label throughout)\n")
                }
            }
        }
        match &b.krippendorff {
            Some(a) => out.push_str(&format!(
                "    Krippendorff's α {:.3} ({})\n",
                a.alpha,
                bootstrap_text(a.ci, a.cases, bootstrap)
            )),
            None => {
                out.push_str("    Krippendorff's α undefined (no case with two answers, or one label throughout)\n")
            }
        }
    }
    if !l.disputed.is_empty() {
        out.push_str(&format!("  disputed ({}):\n", l.disputed.len()));
        for d in &l.disputed {
            let reasons: Vec<&str> = d.reasons.iter().map(|r| reason_text(*r)).collect();
            out.push_str(&format!(
                "    {} ({}, {}): {}\n",
                shown(&d.id),
                d.proposed_label,
                shown(&d.category),
                reasons.join(", ")
            ));
            for a in &d.reviews {
                let mut parts = vec![a.label.to_string()];
                if let Some(c) = &a.category {
                    parts.push(format!("kind of speech {}", shown(c)));
                }
                parts.push(if a.natural { "natural" } else { "not natural" }.into());
                if let Some(t) = &a.corrected_text {
                    parts.push(format!("corrected text “{}”", shown(t)));
                }
                if !a.comment.trim().is_empty() {
                    parts.push(format!("comment “{}”", shown(&a.comment)));
                }
                out.push_str(&format!("      {}: {}\n", shown(&a.reviewer), parts.join("; ")));
            }
        }
    }
}

fn reason_text(reason: Reason) -> &'static str {
    match reason {
        Reason::Label => "another label",
        Reason::ReviewersDisagree => "reviewers disagree",
        Reason::Category => "another kind of speech",
        Reason::NotNatural => "not natural",
        Reason::CorrectedText => "corrected text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::review::ReviewRecord;
    use crate::corpus::{CorpusManifest, Label};
    use crate::hash::sha256_hex;

    // Three reviewers' labels (1 = violating) of 30 cases, and their
    // reference values, from tests/reference/agreement.py (statsmodels
    // `fleiss_kappa`, krippendorff `alpha`, nominal).
    const A: &str = "100000000000100101101000001111";
    const B: &str = "110000010100100101101110001011";
    const C: &str = "110100010000100111101101101101";

    fn corpus(missing: impl Fn(usize, usize) -> bool) -> Corpus {
        let cases: Vec<Case> = (0..30)
            .map(|i| Case {
                id: format!("c{i:02}").into(),
                lang: "sw".into(),
                text: format!("maandishi {i}").into(),
                label: Label::Protected,
                category: "counter_speech".into(),
                target_group: None,
                characteristics: Default::default(),
                speaker_group: None,
                pair_id: None,
                notes: Default::default(),
                metadata: Default::default(),
            })
            .collect();
        let mut reviews = Vec::new();
        for (r, (reviewer, labels)) in [("a", A), ("b", B), ("c", C)].into_iter().enumerate() {
            for (i, bit) in labels.bytes().enumerate() {
                if missing(r, i) {
                    continue;
                }
                reviews.push(ReviewRecord {
                    case_id: cases[i].id.to_string(),
                    reviewer: reviewer.into(),
                    reviewed_on: chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap(),
                    text_sha256: sha256_hex(cases[i].text().unwrap().as_bytes()),
                    label: if bit == b'1' {
                        Label::Violating
                    } else {
                        Label::Protected
                    },
                    category: None,
                    natural: true,
                    corrected_text: None,
                    comment: String::new(),
                });
            }
        }
        Corpus {
            dir: ".".into(),
            manifest: CorpusManifest {
                name: "t".into(),
                version: "1".into(),
                description: String::new(),
                license: String::new(),
                languages: vec!["sw".into()],
                files: vec![],
                templates: vec![],
                provenance: vec![],
                source: None,
            },
            cases,
            files: vec![],
            reviews,
        }
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}");
    }

    #[test]
    fn three_reviewers_get_fleiss_kappa_and_krippendorff_alpha() {
        let status = review_status(&corpus(|_, _| false), 0).unwrap();
        let sw = &status.languages[0];
        let between = sw.between_reviewers.as_ref().unwrap();
        assert_eq!(between.cohen, None, "three reviewers: Fleiss' κ, not Cohen's");
        let fleiss = between.fleiss.unwrap();
        close(fleiss.kappa, 0.5049999999999994, "Fleiss' κ");
        assert_eq!(fleiss.cases, 30);
        let ci = fleiss.ci.unwrap();
        assert!(ci.lower < fleiss.kappa && fleiss.kappa < ci.upper, "{ci:?}");
        close(between.krippendorff.unwrap().alpha, 0.5105, "Krippendorff's α");
        assert_eq!(
            sw.reviewers_per_case,
            vec![ReviewersPerCase {
                reviewers: 3,
                cases: 30
            }]
        );
        assert_eq!(review_status(&corpus(|_, _| false), 0).unwrap(), status, "seeded");
    }

    #[test]
    fn missing_answers_leave_fleiss_to_the_complete_cases_and_alpha_to_all() {
        let missing = |r: usize, i: usize| (r == 1 && (i == 3 || i == 17)) || (r == 2 && i.is_multiple_of(5));
        let status = review_status(&corpus(missing), 0).unwrap();
        let between = status.languages[0].between_reviewers.clone().unwrap();
        close(
            between.krippendorff.unwrap().alpha,
            0.4619565217391304,
            "α with missing answers",
        );
        assert_eq!(between.krippendorff.unwrap().cases, 30);
        assert_eq!(
            between.fleiss.unwrap().cases,
            22,
            "30 less 6 without c's answer, less 2 without b's"
        );
    }
}
