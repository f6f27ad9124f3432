//! Native-speaker review of a corpus's cases: sheets and offline forms to
//! fill in, reviewers' answers recorded beside the cases, and each case's
//! review status.
//!
//! A reviewer answers, for each case: the label they would give, the kind of
//! speech if they would name it otherwise, whether the text reads naturally
//! to a native speaker (yes/no), a corrected text, and a comment. `modaudit
//! corpus review import` records the answers in `reviews/<reviewer>.csv`
//! inside the corpus directory, one file per reviewer, with the date and the
//! sha256 of the case text reviewed. The loader reads every `reviews/*.csv`
//! with the corpus (validating them, and hashing them among its files, so a
//! run's manifest records which reviews it used); the case files are never
//! changed by a review.
//!
//! A review is *current* while the case's text still has the sha256 it
//! recorded; once the text changes, the review is *outdated*. A current
//! review *objects* when its label differs from the case's label, it names
//! another kind of speech, it says the text is not natural, or it gives a
//! corrected text. A case is then:
//!
//! - `confirmed`: at least one current review, and none objects;
//! - `disputed`: a current review objects (two reviewers who disagree with
//!   each other cannot both agree with the case, so their disagreement makes
//!   it disputed too);
//! - `corrected`: no current review, and the case's text is the corrected
//!   text an earlier review proposed — the correction was applied and the new
//!   text awaits review;
//! - `unreviewed`: anything else (no review, or only outdated ones).
//!
//! A label changed to the one reviewers gave needs no new review: their
//! current reviews now agree, and the case is confirmed.

mod form;
mod import;
mod records;
mod sheet;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use super::{Case, Corpus, Label, TextError, language_covered_by};
use crate::hash::sha256_hex;

pub use form::review_form;
pub use import::{ReviewImport, ReviewImportSummary, import_reviews};
pub use records::{REVIEW_COLUMNS, ReviewRecord, load_reviews};
pub use sheet::{ReviewExport, SHEET_COLUMNS, SheetRequest, SheetRow, export_review, sheet_csv, sheet_rows};

/// The directory of a corpus that holds the reviews, one file per reviewer.
pub const REVIEWS_DIR: &str = "reviews";

/// Whether `id` can name a reviewer (and their file): 1 to 64 lower-case
/// ASCII letters, digits, `-` and `_`, starting with a letter or digit.
pub fn reviewer_id_problem(id: &str) -> Option<String> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    (!valid).then(|| {
        format!(
            "reviewer id `{}` must be 1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter or digit",
            crate::diagnostic::excerpt(id)
        )
    })
}

/// The review status of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Unreviewed,
    Confirmed,
    Disputed,
    Corrected,
}

/// Why a case is disputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A reviewer gives another label than the case's.
    Label,
    /// The reviewers give different labels or kinds of speech.
    ReviewersDisagree,
    /// A reviewer names another kind of speech.
    Category,
    /// A reviewer says the text does not read naturally.
    NotNatural,
    /// A reviewer gives a corrected text.
    CorrectedText,
}

/// Which reviewed cases a scenario keeps (`[filter] review`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewFilter {
    /// Only confirmed cases.
    Confirmed,
    /// Every case but the disputed ones.
    ExcludeDisputed,
}

impl ReviewFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewFilter::Confirmed => "confirmed",
            ReviewFilter::ExcludeDisputed => "exclude_disputed",
        }
    }

    /// Whether a case with this status passes.
    pub fn keeps(self, status: CaseStatus) -> bool {
        match self {
            ReviewFilter::Confirmed => status == CaseStatus::Confirmed,
            ReviewFilter::ExcludeDisputed => status != CaseStatus::Disputed,
        }
    }
}

/// A case's reviews and the status they give it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseReview<'a> {
    pub status: CaseStatus,
    /// Reviews of the case's current text, by reviewer id.
    pub current: Vec<&'a ReviewRecord>,
    /// Reviews of an earlier text.
    pub outdated: Vec<&'a ReviewRecord>,
    /// Why it is disputed (empty unless it is).
    pub reasons: BTreeSet<Reason>,
}

/// The status of `case` given every review of it (in any order). The text
/// is read only when the case has reviews.
pub fn review_case<'a>(case: &Case, reviews: &[&'a ReviewRecord]) -> Result<CaseReview<'a>, TextError> {
    let text = if reviews.is_empty() {
        Cow::Borrowed("")
    } else {
        case.text()?
    };
    let sha = sha256_hex(text.as_bytes());
    let (mut current, mut outdated): (Vec<&ReviewRecord>, Vec<&ReviewRecord>) =
        reviews.iter().partition(|r| r.text_sha256 == sha);
    current.sort_by(|a, b| a.reviewer.cmp(&b.reviewer));
    outdated.sort_by(|a, b| a.reviewer.cmp(&b.reviewer));
    let mut reasons = BTreeSet::new();
    for review in &current {
        if review.label != case.label {
            reasons.insert(Reason::Label);
        }
        if review.category.as_ref().is_some_and(|c| *c != case.category) {
            reasons.insert(Reason::Category);
        }
        if !review.natural {
            reasons.insert(Reason::NotNatural);
        }
        if review.corrected_text.is_some() {
            reasons.insert(Reason::CorrectedText);
        }
    }
    let answers: BTreeSet<(Label, &str)> = current
        .iter()
        .map(|r| (r.label, r.category.as_deref().unwrap_or(&case.category)))
        .collect();
    if answers.len() > 1 {
        reasons.insert(Reason::ReviewersDisagree);
    }
    let status = if !current.is_empty() {
        if reasons.is_empty() {
            CaseStatus::Confirmed
        } else {
            CaseStatus::Disputed
        }
    } else if outdated.iter().any(|r| r.corrected_text.as_deref() == Some(&*text)) {
        CaseStatus::Corrected
    } else {
        CaseStatus::Unreviewed
    };
    Ok(CaseReview {
        status,
        current,
        outdated,
        reasons,
    })
}

/// Each case of a corpus with its reviews, and the reviews of no case.
pub type ReviewedCases<'a> = (Vec<(&'a Case, CaseReview<'a>)>, Vec<&'a ReviewRecord>);

/// Every case of a corpus with its reviews, in corpus order; reviews of ids
/// that are no case of the corpus are returned apart.
///
/// Fails when the text of a reviewed case cannot be read back from its file.
pub fn review_cases(corpus: &Corpus) -> Result<ReviewedCases<'_>, TextError> {
    let mut by_case: HashMap<&str, Vec<&ReviewRecord>> = HashMap::new();
    for record in &corpus.reviews {
        by_case.entry(record.case_id.as_str()).or_default().push(record);
    }
    let reviewed: Vec<(&Case, CaseReview<'_>)> = corpus
        .cases
        .iter()
        .map(|case| {
            let reviews = by_case.remove(case.id.as_str()).unwrap_or_default();
            review_case(case, &reviews).map(|review| (case, review))
        })
        .collect::<Result<_, _>>()?;
    let mut orphans: Vec<&ReviewRecord> = by_case.into_values().flatten().collect();
    orphans.sort_by(|a, b| (&a.case_id, &a.reviewer).cmp(&(&b.case_id, &b.reviewer)));
    Ok((reviewed, orphans))
}

/// The corpus language (as `corpus.toml` declares it) a case belongs to: the
/// first declared language that covers its tag, else its own tag.
pub fn declared_language(declared: &[String], lang: &str) -> String {
    declared
        .iter()
        .find(|d| language_covered_by(lang, d))
        .cloned()
        .unwrap_or_else(|| lang.to_string())
}

/// Cases by review status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusCounts {
    pub confirmed: u64,
    pub disputed: u64,
    pub corrected: u64,
    pub unreviewed: u64,
}

impl StatusCounts {
    pub fn add(&mut self, status: CaseStatus) {
        match status {
            CaseStatus::Confirmed => self.confirmed += 1,
            CaseStatus::Disputed => self.disputed += 1,
            CaseStatus::Corrected => self.corrected += 1,
            CaseStatus::Unreviewed => self.unreviewed += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.confirmed + self.disputed + self.corrected + self.unreviewed
    }

    /// Cases with at least one current review.
    pub fn reviewed(&self) -> u64 {
        self.confirmed + self.disputed
    }
}

/// The review records of one corpus language, as a run uses them: the
/// statuses of the run's cases, and of those the scenario's review filter
/// left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LanguageReview {
    /// As the corpus declares it.
    pub language: String,
    /// The run's cases of this language, by status.
    pub run: StatusCounts,
    /// Cases of this language the scenario's other filters keep but its
    /// review filter leaves out, by status.
    pub left_out: StatusCounts,
    /// Reviewers with a current review of one of the run's cases.
    pub reviewers: Vec<String>,
}

/// What a plan needs of a corpus's reviews: each case's status and language,
/// and which languages have review records at all.
#[derive(Debug, Clone, Default)]
pub struct ReviewIndex {
    cases: HashMap<String, IndexedCase>,
    /// Corpus languages with a review of at least one of their cases.
    languages: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct IndexedCase {
    language: String,
    status: CaseStatus,
    reviewers: Vec<String>,
}

impl ReviewIndex {
    /// Fails when the text of a reviewed case cannot be read back from its file.
    pub fn of(corpus: &Corpus) -> Result<ReviewIndex, TextError> {
        if corpus.reviews.is_empty() {
            return Ok(ReviewIndex::default());
        }
        let declared: Vec<String> = corpus
            .manifest
            .languages
            .iter()
            .map(|l| super::canonical_language_tag(l).unwrap_or_else(|_| l.clone()))
            .collect();
        let (reviewed, _) = review_cases(corpus)?;
        let mut index = ReviewIndex::default();
        for (case, review) in reviewed {
            let language = declared_language(&declared, &case.lang);
            if !review.current.is_empty() || !review.outdated.is_empty() {
                index.languages.insert(language.clone());
            }
            index.cases.insert(
                case.id.to_string(),
                IndexedCase {
                    language,
                    status: review.status,
                    reviewers: review.current.iter().map(|r| r.reviewer.clone()).collect(),
                },
            );
        }
        Ok(index)
    }

    /// Whether any case of the corpus has a review.
    pub fn has_records(&self) -> bool {
        !self.languages.is_empty()
    }

    /// The status of a case of this corpus (`None` for another corpus's
    /// case, or for every case of a corpus without reviews).
    pub fn status(&self, case_id: &str) -> Option<CaseStatus> {
        self.cases.get(case_id).map(|c| c.status)
    }

    /// The languages with review records, summarised over `in_scope` (this
    /// corpus's cases that the scenario's other filters keep), of which those
    /// `kept` are the run's.
    pub fn summarise(&self, in_scope: &[&Case], kept: impl Fn(&Case) -> bool) -> Vec<LanguageReview> {
        let mut out: BTreeMap<&str, (StatusCounts, StatusCounts, BTreeSet<&str>)> = BTreeMap::new();
        for case in in_scope {
            let Some(indexed) = self.cases.get(case.id.as_str()) else {
                continue;
            };
            if !self.languages.contains(&indexed.language) {
                continue;
            }
            let entry = out.entry(indexed.language.as_str()).or_default();
            if kept(case) {
                entry.0.add(indexed.status);
                entry.2.extend(indexed.reviewers.iter().map(String::as_str));
            } else {
                entry.1.add(indexed.status);
            }
        }
        out.into_iter()
            .map(|(language, (run, left_out, reviewers))| LanguageReview {
                language: language.to_string(),
                run,
                left_out,
                reviewers: reviewers.into_iter().map(String::from).collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(text: &str, label: Label) -> Case {
        Case {
            id: "c1".into(),
            lang: "sw".into(),
            text: text.into(),
            label,
            category: "counter_speech".into(),
            target_group: None,
            characteristics: Default::default(),
            speaker_group: None,
            pair_id: None,
            notes: Default::default(),
            metadata: Default::default(),
        }
    }

    fn review(reviewer: &str, text: &str, label: Label) -> ReviewRecord {
        ReviewRecord {
            case_id: "c1".into(),
            reviewer: reviewer.into(),
            reviewed_on: chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap(),
            text_sha256: sha256_hex(text.as_bytes()),
            label,
            category: None,
            natural: true,
            corrected_text: None,
            comment: String::new(),
        }
    }

    fn status(case: &Case, reviews: &[&ReviewRecord]) -> (CaseStatus, Vec<Reason>) {
        let review = review_case(case, reviews).unwrap();
        (review.status, review.reasons.into_iter().collect())
    }

    #[test]
    fn the_status_rule() {
        let c = case("asili", Label::Protected);
        assert_eq!(status(&c, &[]), (CaseStatus::Unreviewed, vec![]));
        let agree = review("a", "asili", Label::Protected);
        assert_eq!(status(&c, &[&agree]), (CaseStatus::Confirmed, vec![]));
        let other = review("b", "asili", Label::Violating);
        assert_eq!(
            status(&c, &[&agree, &other]),
            (CaseStatus::Disputed, vec![Reason::Label, Reason::ReviewersDisagree])
        );
        let unnatural = ReviewRecord {
            natural: false,
            ..agree.clone()
        };
        assert_eq!(status(&c, &[&unnatural]).1, vec![Reason::NotNatural]);
        let same_category = ReviewRecord {
            category: Some("counter_speech".into()),
            ..agree.clone()
        };
        assert_eq!(
            status(&c, &[&agree, &same_category]).0,
            CaseStatus::Confirmed,
            "naming the case's own kind of speech is agreeing"
        );
        let recategorised = ReviewRecord {
            category: Some("quotation".into()),
            ..agree.clone()
        };
        assert_eq!(status(&c, &[&recategorised]).1, vec![Reason::Category]);
        let correcting = ReviewRecord {
            corrected_text: Some("bora".into()),
            ..agree.clone()
        };
        assert_eq!(status(&c, &[&correcting]).1, vec![Reason::CorrectedText]);
        // the correction applied: the old review is outdated, the case corrected
        let applied = case("bora", Label::Protected);
        assert_eq!(status(&applied, &[&correcting]).0, CaseStatus::Corrected);
        // and confirmed once someone reviews the new text
        let new = review("b", "bora", Label::Protected);
        assert_eq!(status(&applied, &[&correcting, &new]).0, CaseStatus::Confirmed);
        // a text changed otherwise leaves only outdated reviews: unreviewed
        let changed = case("nyingine", Label::Protected);
        assert_eq!(status(&changed, &[&agree]).0, CaseStatus::Unreviewed);
        // a label changed to the reviewers' needs no new review
        let relabelled = case("asili", Label::Violating);
        assert_eq!(status(&relabelled, &[&other]).0, CaseStatus::Confirmed);
    }

    #[test]
    fn filters_keep_what_they_say() {
        use CaseStatus::*;
        let kept = |f: ReviewFilter| {
            [Unreviewed, Confirmed, Disputed, Corrected]
                .into_iter()
                .filter(|s| f.keeps(*s))
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(ReviewFilter::Confirmed), vec![Confirmed]);
        assert_eq!(
            kept(ReviewFilter::ExcludeDisputed),
            vec![Unreviewed, Confirmed, Corrected]
        );
    }

    #[test]
    fn reviewer_ids_are_safe_file_names() {
        assert_eq!(reviewer_id_problem("amina"), None);
        assert_eq!(reviewer_id_problem("org-2_a"), None);
        for bad in ["", "../x", "Amina", "a b", "-a", "a.b", &"a".repeat(65)] {
            assert!(reviewer_id_problem(bad).is_some(), "{bad}");
        }
    }
}
