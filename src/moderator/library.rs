//! `library`: a moderation system inside the caller's own program, audited
//! through the library with `modaudit::run::run_with_moderator`, which is given
//! the system as an `Arc<dyn Moderator>`.
//!
//! The scenario only names the system (`label`); its description and
//! fingerprint are what the caller's [`Moderator::info`] says. The command line
//! has no such system to ask, so it refuses to run the scenario, saying how to.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::check::Checks;
use super::env::EnvUse;
use super::kind::{Setup, TargetConfig, TargetKind};
use super::{Moderator, SetupError};
use crate::decision::ScoreRule;

/// `[target]` with `kind = "library"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLibrary {
    /// What the system is, e.g. `our classifier v3`.
    label: String,
}

/// A system the calling program supplies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryConfig {
    /// What the system is, as the scenario names it.
    pub label: String,
}

impl TargetKind for LibraryConfig {
    const NAME: &'static str = "library";
    type Raw = RawLibrary;

    fn check(raw: RawLibrary, checks: &mut Checks<'_>) -> Option<Self> {
        let label = raw.label.trim().to_string();
        if label.is_empty() {
            checks.problem(&["label"], "name the system under audit, e.g. \"our classifier v3\"");
        }
        Some(LibraryConfig { label })
    }
}

impl TargetConfig for LibraryConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        Vec::new()
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    /// There is nothing to build: the caller supplies the system.
    fn build(&self, _: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        Err(InProcessTarget {
            label: self.label.clone(),
        }
        .into())
    }

    /// The caller's system is unknown to the scenario.
    fn score_rule(&self) -> Option<ScoreRule> {
        None
    }
}

/// A `library` target asked for where there is no caller to supply it (the
/// command line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the target `{label}` is a moderation system inside a program (kind \"library\"); the command line cannot run it: audit it from that program with `modaudit::run::run_with_moderator`"
)]
pub struct InProcessTarget {
    /// The scenario's `label` for the system.
    pub label: String,
}
