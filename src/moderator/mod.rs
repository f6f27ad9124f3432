//! Moderators: the moderation systems under audit (a scenario's `[target]`),
//! behind one trait, [`Moderator`].
//!
//! An adapter turns a batch of cases into the system's wire format, calls it once,
//! and turns the answer into one [`Verdict`] per case. It neither retries nor
//! times out: the runner does both, the same way for every adapter, and turns a
//! failure that outlasts the retries into an `error` decision.
//!
//! Each kind of target is one module here — its raw table, checks, required
//! environment, fingerprint, description and construction ([`kind`]) — listed
//! once in [`registry`]. Shared plumbing lives once: the HTTP transport with its
//! redaction ([`transport`]), keys and `${NAME}` references ([`mod@env`]), one
//! moderator for every HTTP API ([`remote`]), the checks of a table ([`check`]).
//! A caller's own system is any `Arc<dyn Moderator>` (see [`library`]).

pub mod aws;
pub mod azure;
pub mod check;
pub mod classify;
mod command;
pub mod env;
pub mod google;
pub mod guard;
pub mod hive;
pub mod http;
mod keyword;
pub mod kind;
pub mod library;
pub mod openai;
pub mod perspective;
pub mod registry;
pub mod remote;
pub mod replay;
pub mod tei;
pub mod transport;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::decision::{Action, Notice, ScoreRule};
use crate::hash::{canonical_json, sha256_hex};

pub use command::{CommandSpec, CommandTarget};
pub use keyword::{KeywordFilter, KeywordSpec, LexiconError, LexiconSource, builtin_lexicon_languages};
pub use kind::{Setup, TargetConfig, TargetKind, TargetSpec};

/// A boxed future, so that [`Moderator`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an adapter is asked about one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModerationRequest<'a> {
    pub id: &'a str,
    pub lang: &'a str,
    pub text: &'a str,
}

/// What the system answered about one case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Verdict {
    /// A moderation action, or `Unsupported` when the system declines the language.
    pub action: Option<Action>,
    pub score: Option<f64>,
    pub scores: BTreeMap<String, f64>,
    pub notice: Notice,
    /// Why the outcome is `error` or `unsupported`; for a decided case, what
    /// the system said about it besides its action (e.g. the custom blocklist
    /// entries it matched).
    pub detail: Option<String>,
    /// The model (or model snapshot) that answered, when the system names it,
    /// so that a model changing under an audit shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The raw answer, kept as evidence (never containing secrets).
    pub response: Option<serde_json::Value>,
}

impl Verdict {
    /// A case that failed inside an otherwise successful batch; it is not retried.
    pub fn failed(reason: impl Into<String>) -> Self {
        Verdict {
            action: Some(Action::Error),
            detail: Some(reason.into()),
            ..Verdict::default()
        }
    }
}

/// A failed attempt at a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptError {
    pub message: String,
    pub retry: Retry,
}

/// Whether a failed attempt is worth repeating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Retry {
    /// The same request will fail the same way (bad request, unreadable answer).
    Never,
    /// A transient failure; the system may have said how long to wait.
    After(Option<Duration>),
    /// The system is receiving too many requests (HTTP 429): slow down and ask
    /// again. This uses up no attempt; the system may have said how long to wait.
    RateLimited(Option<Duration>),
}

impl AttemptError {
    pub fn permanent(message: impl std::fmt::Display) -> Self {
        AttemptError {
            message: message.to_string(),
            retry: Retry::Never,
        }
    }

    pub fn transient(message: impl std::fmt::Display) -> Self {
        AttemptError {
            message: message.to_string(),
            retry: Retry::After(None),
        }
    }

    /// The attempt got no answer within `timeout`; the runner retries it.
    pub fn timed_out(timeout: Duration) -> Self {
        AttemptError::transient(format!("no answer within {:.1} s (timeout)", timeout.as_secs_f64()))
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self.retry, Retry::After(_) | Retry::RateLimited(_))
    }
}

/// Why a target could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A value the scenario names in the environment is missing or unusable.
    #[error(transparent)]
    Env(#[from] env::EnvError),
    /// A file the target's answers depend on cannot be read.
    #[error("{}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A keyword list cannot be used.
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
    /// The HTTP client or another part of the adapter could not be built.
    #[error("{0}")]
    Build(String),
    /// The target is a system inside the calling program: only the library
    /// can run it, given the system.
    #[error(transparent)]
    InProcess(#[from] library::InProcessTarget),
}

/// Version of the fingerprints' form. Bump it when what a fingerprint covers,
/// or how an adapter turns the same settings into requests, changes: cached
/// answers and runs made before then no longer match.
pub const FINGERPRINT_VERSION: u32 = 1;

/// The versioned envelope every fingerprint hashes.
#[derive(Serialize)]
struct Fingerprinted<'a, T: Serialize> {
    fingerprint_version: u32,
    kind: &'a str,
    target: &'a T,
}

/// The fingerprint of a target: sha256 of the canonical JSON of
/// `{"fingerprint_version", "kind", "target"}`, where `target` is a
/// serializable description of everything that determines its answers and
/// nothing secret (see [`mod@env`] for what counts as a secret).
pub fn fingerprint<T: Serialize>(kind: &str, target: &T) -> String {
    let envelope = Fingerprinted {
        fingerprint_version: FINGERPRINT_VERSION,
        kind,
        target,
    };
    let value = serde_json::to_value(&envelope)
        .expect("fingerprint descriptions are plain structs whose maps have string keys");
    sha256_hex(canonical_json(&value).as_bytes())
}

/// A description of a target for manifests and reports: what was audited,
/// never how to authenticate to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// The scenario's `kind`, e.g. `builtin:keyword`.
    pub kind: String,
    /// One line a reader understands, e.g. "keyword filter (en: 41 terms, es: 38 terms)".
    pub description: String,
    /// sha256 over everything that determines the target's answers (not secrets).
    pub fingerprint: String,
    /// Whether the system's own answers can carry notice fields; a classifier
    /// (as opposed to a platform) never tells a user anything.
    pub gives_notice: bool,
    /// Things a reader of the report must know about the target (e.g. recorded
    /// decisions that match no case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A moderation system under audit.
pub trait Moderator: Send + Sync {
    fn info(&self) -> TargetInfo;

    /// How many cases one call may carry (1 unless the system batches).
    fn batch_size(&self) -> usize {
        1
    }

    /// How many calls the target can serve at once, if it is limited (e.g. by the
    /// number of processes it runs). The runner never has more in flight, so a
    /// call's timeout never includes time spent queueing inside the adapter.
    fn max_in_flight(&self) -> Option<usize> {
        None
    }

    /// Whether the target bounds each request by the run's timeout itself
    /// (given to it as [`Setup::timeout`]); the runner then leaves its calls
    /// unbounded. A target that writes requests ahead to a program knows what
    /// the runner cannot: when the program could start on a request, from
    /// which its time counts.
    fn times_requests_itself(&self) -> bool {
        false
    }

    /// Whether answers may be kept in the on-disk cache (remote systems that bill
    /// per call); a re-run is then served from the cache.
    fn cacheable(&self) -> bool {
        false
    }

    /// Asks the system about a batch of at most [`Moderator::batch_size`] cases.
    /// On success the result holds one verdict per request, in order.
    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>>;
}

/// Asks about each request of a batch in turn, for systems that take one text
/// per call; the first failure fails the batch (the runner then retries it).
pub fn one_by_one<'a, F, Fut>(
    batch: &'a [ModerationRequest<'a>],
    ask: F,
) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>>
where
    F: Fn(&'a ModerationRequest<'a>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Verdict, AttemptError>> + Send + 'a,
{
    Box::pin(async move {
        let mut verdicts = Vec::with_capacity(batch.len());
        for request in batch {
            verdicts.push(ask(request).await?);
        }
        Ok(verdicts)
    })
}

/// Maps a score to an action with a threshold (score ≥ threshold → remove):
/// [`ScoreRule::remove_at_or_above`], which a kind that decides this way
/// reports as its [`TargetConfig::score_rule`].
pub fn action_from_score(score: f64, threshold: f64) -> Action {
    ScoreRule::remove_at_or_above(threshold).action_at(score, threshold)
}
