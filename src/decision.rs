//! What a moderation system decided about one case, as recorded in the journal.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hash::Sha256Digest;
use crate::sym::Sym;

/// The outcome of moderating one case.
///
/// `Error` (the system could not be asked or did not answer usably) and
/// `Unsupported` (the system says it cannot moderate this language) are outcomes,
/// not decisions: they are never adverse and are left out of rate denominators,
/// but they are counted and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Label,
    Reduce,
    Demonetize,
    Remove,
    Suspend,
    Unsupported,
    Error,
}

impl Action {
    /// Every action a system can take on content (not the two non-decisions).
    pub const MODERATION: [Action; 6] = [
        Action::Allow,
        Action::Label,
        Action::Reduce,
        Action::Demonetize,
        Action::Remove,
        Action::Suspend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Label => "label",
            Action::Reduce => "reduce",
            Action::Demonetize => "demonetize",
            Action::Remove => "remove",
            Action::Suspend => "suspend",
            Action::Unsupported => "unsupported",
            Action::Error => "error",
        }
    }

    /// Parses a moderation action (not `error` or `unsupported`).
    pub fn parse_moderation(value: &str) -> Option<Action> {
        Action::MODERATION.into_iter().find(|a| a.as_str() == value)
    }

    /// Whether the system actually decided (as opposed to error or unsupported).
    pub fn is_decision(self) -> bool {
        !matches!(self, Action::Error | Action::Unsupported)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the system told the affected user about an action, as found in its response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// Statement of reasons / explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rule or policy clause cited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Whether the system disclosed that the decision was automated (and what it said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    /// Whether the system disclosed that the content was detected by automated means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_detection: Option<bool>,
    /// Where the restriction applies (e.g. country codes), as the notice states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territorial_scope: Option<String>,
    /// Route to appeal: a URL or endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_url: Option<String>,
}

/// How a scoring system turns its score into an action: a score at or above
/// the threshold gets `at_or_above` (the more a score says "violating", the
/// higher it is), a lower one `below`. A target kind whose action is not such a
/// rule (a keyword list, a model that answers with a verdict, per-category
/// thresholds) has none, and its runs have no threshold sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreRule {
    /// The threshold the run used.
    pub threshold: f64,
    /// The action for a score at or above the threshold.
    pub at_or_above: Action,
    /// The action for a score below it.
    pub below: Action,
}

impl ScoreRule {
    /// Score ≥ `threshold` → remove, else allow: the rule of every scoring
    /// target kind.
    pub fn remove_at_or_above(threshold: f64) -> ScoreRule {
        ScoreRule {
            threshold,
            at_or_above: Action::Remove,
            below: Action::Allow,
        }
    }

    /// The action this rule gives `score` at `threshold` (the rule's own or another).
    pub fn action_at(&self, score: f64, threshold: f64) -> Action {
        if score >= threshold {
            self.at_or_above
        } else {
            self.below
        }
    }
}

/// One case's decision: what the reports, gates and appeals read of it.
///
/// A run holds one for every case it has decided, so it is kept small (64
/// bytes): what every decision has is inline, and what only some carry (the
/// scores by attribute, the notice, the messages, the model) is behind one box
/// that a plain decision does without. The case it is about, when it was
/// decided and the raw response are not part of it: the journal writes them
/// beside it ([`DecisionRecord`]), and the [`DecisionIndex`] finds a decision
/// by its case.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Action,
    /// The score compared with the threshold, for scoring systems.
    pub score: OptionalScore,
    /// Milliseconds, saturating at `u32::MAX` (about 49 days).
    pub latency_ms: u32,
    /// Saturating at `u16::MAX`.
    pub attempts: u16,
    /// Whether the response came from the on-disk cache rather than the system.
    pub cache_hit: bool,
    /// What only some decisions carry; `None` when all of it is empty (see
    /// [`DecisionDetails::boxed`]). Read through [`Decision::notice`] and the
    /// other accessors.
    pub details: Option<Box<DecisionDetails>>,
}

/// A score or none, in the eight bytes of the score (an `Option<f64>` takes
/// sixteen). None is one NaN bit pattern, which no computation yields (a NaN a
/// system's answer leads to is the canonical one), so every score, NaN
/// included, is kept as given.
#[derive(Clone, Copy)]
pub struct OptionalScore(f64);

impl OptionalScore {
    /// The bits of "no score": a quiet NaN with a payload of its own.
    const NONE_BITS: u64 = 0x7ff8_5c0e_0000_0000;

    /// No score.
    pub const NONE: OptionalScore = OptionalScore(f64::from_bits(OptionalScore::NONE_BITS));

    /// The score, if there is one.
    pub fn get(self) -> Option<f64> {
        (self.0.to_bits() != OptionalScore::NONE_BITS).then_some(self.0)
    }
}

impl From<Option<f64>> for OptionalScore {
    fn from(score: Option<f64>) -> OptionalScore {
        score.map_or(OptionalScore::NONE, OptionalScore)
    }
}

impl PartialEq for OptionalScore {
    fn eq(&self, other: &OptionalScore) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for OptionalScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// The parts of a [`Decision`] that most decisions lack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionDetails {
    /// Every score the system returned, by attribute.
    pub scores: BTreeMap<String, f64>,
    pub notice: Notice,
    /// Why the case ended as `error` or `unsupported`.
    pub error: Option<String>,
    /// What the system said about a decided case besides its action (e.g. the
    /// custom blocklist entries it matched).
    pub detail: Option<String>,
    /// The model (or model snapshot) that answered, when the system names it.
    pub model: Option<String>,
}

/// The notice of a decision that carries none.
static NO_NOTICE: Notice = Notice {
    decision_id: None,
    reason: None,
    rule: None,
    automated: None,
    automated_detection: None,
    territorial_scope: None,
    appeal_url: None,
};

/// The scores by attribute of a decision that carries none.
static NO_SCORES: BTreeMap<String, f64> = BTreeMap::new();

impl DecisionDetails {
    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
            && self.notice == NO_NOTICE
            && self.error.is_none()
            && self.detail.is_none()
            && self.model.is_none()
    }

    /// The details as a [`Decision`] holds them: boxed, or `None` when empty.
    pub fn boxed(self) -> Option<Box<DecisionDetails>> {
        (!self.is_empty()).then(|| Box::new(self))
    }
}

impl Decision {
    /// Every score the system returned, by attribute.
    pub fn scores(&self) -> &BTreeMap<String, f64> {
        self.details.as_ref().map_or(&NO_SCORES, |d| &d.scores)
    }

    /// What the system told the affected user.
    pub fn notice(&self) -> &Notice {
        self.details.as_ref().map_or(&NO_NOTICE, |d| &d.notice)
    }

    /// Why the case ended as `error` or `unsupported`.
    pub fn error(&self) -> Option<&str> {
        self.details.as_ref()?.error.as_deref()
    }

    /// What the system said about a decided case besides its action.
    pub fn detail(&self) -> Option<&str> {
        self.details.as_ref()?.detail.as_deref()
    }

    /// The model (or model snapshot) that answered, when the system names it.
    pub fn model(&self) -> Option<&str> {
        self.details.as_ref()?.model.as_deref()
    }

    /// Lets go of the scores by attribute (reports use only the score compared
    /// with the threshold), and of the details' box when nothing else is in it.
    pub fn drop_scores(&mut self) {
        if let Some(details) = self.details.take() {
            let details = DecisionDetails {
                scores: BTreeMap::new(),
                ..*details
            };
            self.details = details.boxed();
        }
    }
}

/// A decision line of the journal: the case, its decision and the raw response.
///
/// Written and read with the fields of one flat JSON object, in the order
/// they have always had on disk. The raw response is evidence: it is written,
/// and skipped (never built) when a line is read back, so `response` is
/// always `None` in a record read from a journal; what needs it reads the line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "DecisionLine")]
pub struct DecisionRecord {
    pub case_id: String,
    pub decision: Decision,
    /// When the system decided.
    pub decided_at: DateTime<Utc>,
    /// sha256 of the raw response, when there was one (only `decisions.csv`
    /// shows it, so an index keeps it apart from the decisions).
    pub response_sha256: Option<Sha256Digest>,
    /// The raw response (secrets never included), kept as evidence.
    pub response: Option<serde_json::Value>,
}

/// A decision line as it is written.
#[derive(Serialize)]
struct DecisionLineOut<'a> {
    case_id: &'a str,
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    #[serde(skip_serializing_if = "no_scores")]
    scores: &'a BTreeMap<String, f64>,
    notice: &'a Notice,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    latency_ms: u64,
    attempts: u32,
    decided_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_sha256: Option<Sha256Digest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cache_hit: bool,
}

fn no_scores(scores: &&BTreeMap<String, f64>) -> bool {
    scores.is_empty()
}

/// A decision line as it is read: every field but `response`, which serde
/// skips as it skips any field a struct does not name.
#[derive(Deserialize)]
#[serde(rename = "Decision")]
struct DecisionLine {
    case_id: String,
    action: Action,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    scores: BTreeMap<String, f64>,
    #[serde(default)]
    notice: Notice,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    model: Option<String>,
    latency_ms: u64,
    attempts: u32,
    decided_at: DateTime<Utc>,
    #[serde(default)]
    response_sha256: Option<Sha256Digest>,
    #[serde(default)]
    cache_hit: bool,
}

impl Serialize for DecisionRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let decision = &self.decision;
        DecisionLineOut {
            case_id: &self.case_id,
            action: decision.action,
            score: decision.score.get(),
            scores: decision.scores(),
            notice: decision.notice(),
            error: decision.error(),
            detail: decision.detail(),
            model: decision.model(),
            latency_ms: decision.latency_ms.into(),
            attempts: decision.attempts.into(),
            decided_at: self.decided_at,
            response_sha256: self.response_sha256,
            response: self.response.as_ref(),
            cache_hit: decision.cache_hit,
        }
        .serialize(serializer)
    }
}

impl From<DecisionLine> for DecisionRecord {
    fn from(line: DecisionLine) -> DecisionRecord {
        DecisionRecord {
            case_id: line.case_id,
            decision: Decision {
                action: line.action,
                score: line.score.into(),
                latency_ms: u32::try_from(line.latency_ms).unwrap_or(u32::MAX),
                attempts: u16::try_from(line.attempts).unwrap_or(u16::MAX),
                cache_hit: line.cache_hit,
                details: DecisionDetails {
                    scores: line.scores,
                    notice: line.notice,
                    error: line.error,
                    detail: line.detail,
                    model: line.model,
                }
                .boxed(),
            },
            decided_at: line.decided_at,
            response_sha256: line.response_sha256,
            response: None,
        }
    }
}

/// The decision of every case of a plan, as far as the journal records it, by case id.
///
/// The decisions sit in one vector, in the order their cases were first
/// recorded, beside their case ids; a table indexed by the case id's symbol
/// number finds them, so a case id is held once (interned, as the plan's
/// cases hold it) and a decision costs its own size plus eight bytes.
///
/// The hashes of the responses, which only `decisions.csv` shows, are a
/// column of their own (33 bytes a decision, more than the decision itself),
/// which a report lets go of once that file is written
/// ([`DecisionIndex::forget_response_hashes`]).
#[derive(Debug, Clone, Default)]
pub struct DecisionIndex {
    /// By symbol number: the position of that case's decision, or [`ABSENT`].
    positions: Vec<u32>,
    ids: Vec<Sym>,
    decisions: Vec<Decision>,
    /// By position: the sha256 of the decision's response.
    response_hashes: Vec<Option<Sha256Digest>>,
    /// Whether `response_hashes` was let go of.
    hashes_forgotten: bool,
}

/// The response hashes of an index were asked for after it let go of them.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the hashes of the responses were no longer held when they were needed")]
pub struct HashesForgotten;

/// No decision for the case of this symbol number.
const ABSENT: u32 = u32::MAX;

/// A case id as the index is asked for it: the interned id a case holds
/// (found at once), or any string (found through the interner).
pub trait CaseKey {
    /// The interned id; `None` when no such id was ever interned, so no case
    /// has it.
    fn sym(self) -> Option<Sym>;
}

impl CaseKey for Sym {
    fn sym(self) -> Option<Sym> {
        Some(self)
    }
}

impl CaseKey for &Sym {
    fn sym(self) -> Option<Sym> {
        Some(*self)
    }
}

impl CaseKey for &str {
    fn sym(self) -> Option<Sym> {
        Sym::existing(self)
    }
}

impl CaseKey for &String {
    fn sym(self) -> Option<Sym> {
        Sym::existing(self)
    }
}

impl DecisionIndex {
    /// An empty index with room for `cases` decisions.
    pub fn with_capacity(cases: usize) -> DecisionIndex {
        DecisionIndex {
            positions: Vec::new(),
            ids: Vec::with_capacity(cases),
            decisions: Vec::with_capacity(cases),
            response_hashes: Vec::with_capacity(cases),
            hashes_forgotten: false,
        }
    }

    fn position(&self, case_id: impl CaseKey) -> Option<usize> {
        let at = *self.positions.get(case_id.sym()?.number())?;
        (at != ABSENT).then_some(at as usize)
    }

    /// The decision of the case `case_id`.
    pub fn get(&self, case_id: impl CaseKey) -> Option<&Decision> {
        self.position(case_id).map(|at| &self.decisions[at])
    }

    /// The decision of the case `case_id`, to change it.
    pub fn get_mut(&mut self, case_id: impl CaseKey) -> Option<&mut Decision> {
        self.position(case_id).map(|at| &mut self.decisions[at])
    }

    /// Whether the case `case_id` has a decision.
    pub fn contains_key(&self, case_id: impl CaseKey) -> bool {
        self.position(case_id).is_some()
    }

    /// Records the decision of the case `case_id`, returning the one it replaces.
    pub fn insert(&mut self, case_id: impl Into<Sym>, decision: Decision) -> Option<Decision> {
        self.insert_answered(case_id, decision, None)
    }

    /// Records the decision of the case `case_id` and the sha256 of the
    /// response it was read from, returning the decision it replaces.
    pub fn insert_answered(
        &mut self,
        case_id: impl Into<Sym>,
        decision: Decision,
        response_sha256: Option<Sha256Digest>,
    ) -> Option<Decision> {
        let case_id = case_id.into();
        if let Some(at) = self.position(case_id) {
            if let Some(hash) = self.response_hashes.get_mut(at) {
                *hash = response_sha256;
            }
            return Some(std::mem::replace(&mut self.decisions[at], decision));
        }
        let at = u32::try_from(self.decisions.len())
            .ok()
            .filter(|&at| at != ABSENT)
            .expect("fewer than 2^32 - 1 decisions");
        let number = case_id.number();
        if number >= self.positions.len() {
            // room for every symbol interned so far: all the ids a run's
            // cases have are interned before their decisions are recorded
            self.positions.resize((number + 1).max(Sym::count()), ABSENT);
        }
        self.positions[number] = at;
        self.ids.push(case_id);
        self.decisions.push(decision);
        if !self.hashes_forgotten {
            self.response_hashes.push(response_sha256);
        }
        None
    }

    /// The sha256 of the response the decision of case `case_id` was read
    /// from; an error when the index has let go of the hashes.
    pub fn response_sha256(&self, case_id: impl CaseKey) -> Result<Option<Sha256Digest>, HashesForgotten> {
        if self.hashes_forgotten {
            return Err(HashesForgotten);
        }
        Ok(self
            .position(case_id)
            .and_then(|at| self.response_hashes.get(at).copied().flatten()))
    }

    /// Lets go of the hashes of the responses (once `decisions.csv`, which
    /// shows them, is written): a third of the index's memory.
    pub fn forget_response_hashes(&mut self) {
        self.response_hashes = Vec::new();
        self.hashes_forgotten = true;
    }

    /// Every case id with its decision, in the order they were first recorded.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Decision)> {
        self.ids.iter().map(|id| id.as_str()).zip(&self.decisions)
    }

    /// How many cases have a decision.
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }
}

impl std::ops::Index<&str> for DecisionIndex {
    type Output = Decision;

    /// The decision of the case `case_id`; panics when it has none.
    fn index(&self, case_id: &str) -> &Decision {
        self.get(case_id)
            .unwrap_or_else(|| panic!("no decision for case `{case_id}`"))
    }
}

impl FromIterator<(String, Decision)> for DecisionIndex {
    fn from_iter<I: IntoIterator<Item = (String, Decision)>>(decisions: I) -> DecisionIndex {
        let mut index = DecisionIndex::default();
        for (case_id, decision) in decisions {
            index.insert(case_id, decision);
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_score_keeps_every_score() {
        for score in [
            None,
            Some(0.0),
            Some(-0.0),
            Some(0.75),
            Some(f64::INFINITY),
            Some(f64::MIN_POSITIVE),
        ] {
            assert_eq!(OptionalScore::from(score).get(), score);
        }
        let nan = OptionalScore::from(Some(f64::NAN)).get();
        assert!(nan.is_some_and(f64::is_nan), "{nan:?}");
        assert_ne!(f64::NAN.to_bits(), OptionalScore::NONE_BITS);
    }

    #[test]
    fn response_hashes_follow_their_decisions_until_let_go_of() {
        let decision = |action| Decision {
            action,
            score: OptionalScore::NONE,
            latency_ms: 1,
            attempts: 1,
            cache_hit: false,
            details: None,
        };
        let first: Sha256Digest = "ab".repeat(32).parse().unwrap();
        let second: Sha256Digest = "cd".repeat(32).parse().unwrap();
        let mut index = DecisionIndex::with_capacity(3);
        index.insert_answered("hash-a", decision(Action::Error), Some(first));
        index.insert("hash-b", decision(Action::Allow));
        index.insert_answered("hash-c", decision(Action::Remove), Some(second));
        assert_eq!(index.response_sha256("hash-a").unwrap(), Some(first));
        assert_eq!(index.response_sha256("hash-b").unwrap(), None);
        assert_eq!(index.response_sha256("hash-c").unwrap(), Some(second));
        assert_eq!(index.response_sha256("hash-none").unwrap(), None);
        // a retried error is replaced, hash and all
        index.insert_answered("hash-a", decision(Action::Allow), Some(second));
        assert_eq!(index.response_sha256("hash-a").unwrap(), Some(second));
        assert_eq!(index["hash-a"].action, Action::Allow);
        index.forget_response_hashes();
        assert!(index.response_sha256("hash-c").is_err());
        assert_eq!(index["hash-c"].action, Action::Remove, "the decisions stay");
    }

    #[test]
    fn a_latency_or_attempt_count_beyond_its_field_is_read_as_the_largest() {
        let line = r#"{"case_id":"big","action":"allow","latency_ms":1099511627776,"attempts":70000,"decided_at":"2026-12-07T00:00:00Z"}"#;
        let record: DecisionRecord = serde_json::from_str(line).unwrap();
        assert_eq!(record.decision.latency_ms, u32::MAX);
        assert_eq!(record.decision.attempts, u16::MAX);
        let fits = r#"{"case_id":"small","action":"allow","latency_ms":4294967295,"attempts":65535,"decided_at":"2026-12-07T00:00:00Z"}"#;
        let record: DecisionRecord = serde_json::from_str(fits).unwrap();
        assert_eq!(
            (record.decision.latency_ms, record.decision.attempts),
            (u32::MAX, u16::MAX)
        );
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"case_id":"small","action":"allow","notice":{},"latency_ms":4294967295,"attempts":65535,"decided_at":"2026-12-07T00:00:00Z"}"#,
            "written back as read"
        );
    }

    #[test]
    fn a_decision_stays_small() {
        // Held once per decided case: growing it grows every large run.
        assert!(
            std::mem::size_of::<Decision>() <= 24,
            "a Decision takes {} bytes",
            std::mem::size_of::<Decision>()
        );
    }
}
