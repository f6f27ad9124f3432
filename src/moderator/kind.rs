//! What a kind of target is: the two traits each kind's module implements, and
//! [`TargetSpec`], the checked configuration a plan holds.
//!
//! A kind's module owns everything about it: its raw table (a serde struct that
//! rejects unknown keys), its defaults and checks ([`TargetKind`]), the
//! environment variables and local files it needs, and how it becomes a
//! [`Moderator`] ([`TargetConfig`]) — whose fingerprint and description it
//! computes. [`super::registry`] lists the kinds.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::check::Checks;
use super::env::{self, EnvError, EnvUse};
use super::transport::Secret;
use super::{Moderator, SetupError};
use crate::decision::ScoreRule;

/// A kind of target: how its `[target]` table is read and checked. It is
/// implemented by the kind's checked configuration.
pub trait TargetKind: TargetConfig + Sized + 'static {
    /// The `kind` that selects it in a scenario, e.g. `openai`.
    const NAME: &'static str;

    /// The `[target]` table as written, without `kind`: a serde struct with
    /// `#[serde(deny_unknown_fields)]`, whose JSON Schema describes the kind's
    /// keys in the scenario schema.
    type Raw: DeserializeOwned + schemars::JsonSchema;

    /// Fills in the defaults and checks every value, recording each problem
    /// against its key; `None` when the configuration cannot be used.
    fn check(raw: Self::Raw, checks: &mut Checks<'_>) -> Option<Self>;
}

/// A checked target configuration: what the target needs to run, and how it
/// becomes a moderator.
pub trait TargetConfig: fmt::Debug + Send + Sync {
    /// Environment variables the target needs, with the scenario key that names
    /// each and whether its value is a secret; they are all checked before the
    /// first request.
    fn required_env(&self) -> Vec<EnvUse>;

    /// Local files the target runs or reads (a program and the absolute paths
    /// among its arguments, a recording), which reports name without their location.
    fn local_files(&self) -> Vec<&Path>;

    /// Builds the moderator, reading its secrets through `setup`.
    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError>;

    /// How the target's action follows from its score, when it does so by a
    /// single threshold (`None` for a keyword list, a model that answers with
    /// a verdict, per-category thresholds …): what a threshold sweep and a
    /// re-analysis at another threshold rest on.
    fn score_rule(&self) -> Option<ScoreRule>;

    /// The configuration without the data it loaded only to answer (a
    /// recording's rows), for a plan whose cases are all asked: its
    /// fingerprint, description and files stay those of this one. `None` when
    /// it holds no such data.
    fn without_answers(&self) -> Option<Arc<dyn TargetConfig>> {
        None
    }
}

/// What building a moderator may use besides its configuration.
pub struct Setup<'a> {
    /// Reads an environment variable the configuration names (`None` when unset).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Ids of the cases the run asks about.
    pub case_ids: &'a [&'a str],
    /// How long the run waits for one answer (`run.timeout_secs`), for a
    /// target that times its requests itself.
    pub timeout: std::time::Duration,
}

impl Setup<'_> {
    /// Reads the key in the environment variable `api_key_env` names.
    pub fn api_key(&self, variable: &str) -> Result<Secret, EnvError> {
        env::read_key(variable, env::API_KEY_ENV, self.env)
    }
}

/// The target of a plan: a checked configuration of one kind.
#[derive(Clone)]
pub struct TargetSpec {
    kind: &'static str,
    config: Arc<dyn TargetConfig>,
}

impl TargetSpec {
    /// The target `config` of kind `K` (the registry makes these from a
    /// scenario; a program may make one itself).
    pub fn new<K: TargetKind>(config: K) -> Self {
        TargetSpec {
            kind: K::NAME,
            config: Arc::new(config),
        }
    }

    /// The scenario's `kind`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// See [`TargetConfig::required_env`].
    pub fn required_env(&self) -> Vec<EnvUse> {
        self.config.required_env()
    }

    /// See [`TargetConfig::local_files`].
    pub fn local_files(&self) -> Vec<&Path> {
        self.config.local_files()
    }

    /// See [`TargetConfig::build`].
    pub fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        self.config.build(setup)
    }

    /// See [`TargetConfig::score_rule`].
    pub fn score_rule(&self) -> Option<ScoreRule> {
        self.config.score_rule()
    }

    /// Lets go of the data the target loaded only to answer (see
    /// [`TargetConfig::without_answers`]), once no case is left to ask about.
    pub fn drop_answers(&mut self) {
        if let Some(config) = self.config.without_answers() {
            self.config = config;
        }
    }
}

impl fmt::Debug for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetSpec")
            .field("kind", &self.kind)
            .field("config", &self.config)
            .finish()
    }
}
