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
    pub latency_ms: u64,
    pub attempts: u32,
    /// sha256 of the raw response body, when there was one.
    pub response_sha256: Option<Sha256Digest>,
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
            latency_ms: decision.latency_ms,
            attempts: decision.attempts,
            decided_at: self.decided_at,
            response_sha256: decision.response_sha256,
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
                latency_ms: line.latency_ms,
                attempts: line.attempts,
                response_sha256: line.response_sha256,
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
#[derive(Debug, Clone, Default)]
pub struct DecisionIndex {
    /// By symbol number: the position of that case's decision, or [`ABSENT`].
    positions: Vec<u32>,
    ids: Vec<Sym>,
    decisions: Vec<Decision>,
}

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
        let case_id = case_id.into();
        if let Some(previous) = self.get_mut(case_id) {
            return Some(std::mem::replace(previous, decision));
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
        None
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
    fn a_decision_stays_small() {
        // Held once per decided case: growing it grows every large run.
        assert!(
            std::mem::size_of::<Decision>() <= 64,
            "a Decision takes {} bytes",
            std::mem::size_of::<Decision>()
        );
    }
}
