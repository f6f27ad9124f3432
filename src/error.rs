//! The library's top-level error, and the exit code each kind of failure maps to.

use std::path::PathBuf;

use crate::case_text::TextError;
use crate::diagnostic::Diagnostics;
use crate::exit;
use crate::moderator::SetupError;
use crate::moderator::env::EnvError;
use crate::moderator::library::InProcessTarget;
use crate::shard::ShardError;

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid scenario, corpus, journal or other input: located problems.
    #[error("{0}")]
    Invalid(#[from] Diagnostics),
    /// Another process holds the run directory.
    #[error("{}: the run directory is in use by another modaudit process{}", path.display(), holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    RunDirBusy { path: PathBuf, holder: Option<String> },
    /// The run directory cannot be used as asked (exists already, or holds no run).
    #[error("{}: {message}", path.display())]
    RunDir { path: PathBuf, message: String },
    /// An environment variable the target or the appeal API needs is not set.
    #[error("environment variable {variable} is not set (the scenario names it in `{key}`)")]
    MissingSecret { variable: String, key: String },
    /// An environment variable the scenario names holds a value that cannot be used.
    #[error("environment variable {variable} (named by scenario key `{key}`) {problem}")]
    BadEnvironment {
        variable: String,
        key: String,
        problem: String,
    },
    /// The target could not be set up.
    #[error("cannot set up the target: {0}")]
    Target(String),
    /// The scenario's target is a system inside a program, which only the
    /// library can run.
    #[error(transparent)]
    InProcessTarget(#[from] InProcessTarget),
    /// Reading or writing a file of the run failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A run to compare has cases no decision was recorded for.
    #[error("{}: the run is incomplete ({pending} cases undecided); finish it with `modaudit run --resume {}` before comparing it", dir.display(), dir.display())]
    IncompleteRun { dir: PathBuf, pending: u64 },
    /// Two runs cannot be compared (their cases differ, or none is in both).
    #[error("{0}")]
    NotComparable(String),
    /// A run cannot be re-analysed as asked (its target has no score rule,
    /// the threshold is not a number, or the output would overwrite a run).
    #[error("{}: {message}", path.display())]
    Reanalysis { path: PathBuf, message: String },
    /// What was asked applies to a run (or scenario) of one target, and this
    /// one has several (`[[targets]]`).
    #[error("{}: {message}", path.display())]
    SeveralTargets { path: PathBuf, message: String },
    /// The run was interrupted before every case was decided.
    #[error("the run was interrupted with {pending} cases undecided; continue it with `modaudit run --resume {}`", dir.display())]
    Interrupted { dir: PathBuf, pending: u64 },
    /// The text of a case cannot be read back from its corpus file: the file
    /// changed (or went away) since it was loaded.
    #[error(transparent)]
    CaseText(#[from] TextError),
    /// Shards cannot be run or merged as asked (boxed: the error stays small).
    #[error(transparent)]
    Shard(Box<ShardError>),
}

impl Error {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_)
            | Error::RunDirBusy { .. }
            | Error::RunDir { .. }
            | Error::Reanalysis { .. }
            | Error::MissingSecret { .. }
            | Error::BadEnvironment { .. }
            | Error::InProcessTarget(_)
            | Error::SeveralTargets { .. }
            | Error::NotComparable(_) => exit::BAD_INPUT,
            Error::Shard(e) => e.exit_code(),
            Error::Target(_)
            | Error::Io { .. }
            | Error::CaseText(_)
            | Error::Interrupted { .. }
            | Error::IncompleteRun { .. } => exit::RUN_INCOMPLETE,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

impl From<EnvError> for Error {
    fn from(error: EnvError) -> Self {
        match error {
            EnvError::Missing { variable, key } => Error::MissingSecret { variable, key },
            EnvError::Invalid { variable, key, problem } => Error::BadEnvironment { variable, key, problem },
        }
    }
}

impl From<ShardError> for Error {
    fn from(error: ShardError) -> Self {
        Error::Shard(Box::new(error))
    }
}

impl From<SetupError> for Error {
    fn from(error: SetupError) -> Self {
        match error {
            SetupError::Env(e) => e.into(),
            SetupError::File { path, source } => Error::Io { path, source },
            SetupError::Build(message) => Error::Target(message),
            SetupError::Lexicon(e) => Error::Target(e.to_string()),
            SetupError::InProcess(e) => Error::InProcessTarget(e),
        }
    }
}
