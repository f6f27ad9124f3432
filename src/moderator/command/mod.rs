//! `command`: a local program that moderates, speaking JSON Lines over stdio, so
//! any local model can be audited.
//!
//! For each case modaudit writes one line to the program's stdin:
//! `{"id": "…", "lang": "…", "text": "…"}` and reads one line from its stdout:
//! `{"id": "…", "action": "remove", "score": 0.93, "reason": "…", "rule": "…",
//! "decision_id": "…", "automated": true, "automated_detection": true,
//! "territorial_scope": "EU", "appeal_url": "…"}` where only `id` and
//! one of `action` / `score` are required (`action` may also be `unsupported`).
//!
//! Requests are written ahead: up to `window` cases are in flight on each copy
//! of the program at once ([`pool`]), and answers are matched to cases by `id`,
//! in whatever order they come ([`copy`]). A program that answers one case at a
//! time in order simply finds the next request waiting.
//!
//! A program that crashes, answers for the wrong id or with a line that is not
//! JSON, or stalls past the run's timeout, fails the attempt of the case in
//! flight; the runner retries transient failures and records an `error`
//! decision when they persist. When several cases were in flight, nobody can
//! tell which one the program failed on: each is asked again alone, without
//! using up an attempt, so that only the case that fails on its own is charged
//! — the same decisions as if nothing had been written ahead. A crashed, hung
//! or confused program is killed and started afresh. A program that exits
//! without answering is reported as crashed at once, even when a process it
//! started still holds its output open.
//!
//! The target times its cases itself ([`Moderator::times_requests_itself`]):
//! a case times out when the program gives no answer for the run's timeout
//! while the case waits, counted from the later of its request and the
//! program's previous answer — not from when the runner queued it, and not
//! while a program that answers in order is busy with the cases before it.
//!
//! Each copy runs in its own process group, killed with it ([`group`]).

mod answer;
mod copy;
mod group;
mod pool;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::check::Checks;
use super::env::EnvUse;
use super::kind::{Setup, TargetConfig, TargetKind};
use super::{BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, fingerprint, one_by_one};
use crate::decision::ScoreRule;
use crate::hash::sha256_hex;
use crate::moderator::AttemptError;
use copy::Launcher;
use pool::Pool;

/// Cases written ahead to each copy of the program when the scenario does not
/// say (`window`): enough that a fast program always finds requests waiting,
/// while each copy holds little.
pub const DEFAULT_WINDOW: usize = 64;
/// Largest `window` accepted.
pub const MAX_WINDOW: usize = 1024;

/// `[target]` with `kind = "command"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCommand {
    /// Program and arguments, e.g. `["python3", "model.py"]`.
    command: Vec<String>,
    /// Copies of the program to run side by side (default 1).
    processes: Option<usize>,
    /// Cases written ahead to each copy before its answers come back (default 64).
    window: Option<usize>,
    /// For programs answering a score only: score ≥ threshold → remove.
    threshold: Option<f64>,
}

/// How to start the program, from the scenario's `[target]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// Resolved path of the program.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Working directory: the scenario's directory.
    pub cwd: PathBuf,
    /// How many copies of the program to run side by side.
    pub processes: usize,
    /// How many cases are written ahead to each copy at most.
    pub window: usize,
    /// For programs that answer with a score only: score ≥ threshold → remove.
    pub threshold: Option<f64>,
}

impl TargetKind for CommandSpec {
    const NAME: &'static str = "command";
    type Raw = RawCommand;

    fn check(raw: RawCommand, checks: &mut Checks<'_>) -> Option<Self> {
        let Some((program, args)) = raw.command.split_first() else {
            checks.problem(
                &["command"],
                "give the program to run, e.g. [\"python3\", \"model.py\"]",
            );
            return None;
        };
        let processes = raw.processes.unwrap_or(1);
        checks.count_within(&["processes"], processes, 1..=256);
        let window = raw.window.unwrap_or(DEFAULT_WINDOW);
        checks.count_within(&["window"], window, 1..=MAX_WINDOW);
        if raw.threshold.is_some_and(|t| !t.is_finite()) {
            checks.problem(&["threshold"], "must be a number");
        }
        let Some(resolved) = find_program(program, checks.base_dir()) else {
            checks.problem(
                &["command"],
                format!("program `{program}` not found (relative paths resolve against the scenario's directory; bare names are looked up in PATH)"),
            );
            return None;
        };
        Some(CommandSpec {
            program: resolved,
            args: args.to_vec(),
            cwd: checks.base_dir().to_path_buf(),
            processes,
            window,
            threshold: raw.threshold,
        })
    }
}

impl TargetConfig for CommandSpec {
    fn required_env(&self) -> Vec<EnvUse> {
        Vec::new()
    }

    /// The program, and the absolute paths among its arguments.
    fn local_files(&self) -> Vec<&Path> {
        std::iter::once(self.program.as_path())
            .chain(self.args.iter().map(Path::new).filter(|p| p.is_absolute()))
            .collect()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        Ok(Arc::new(CommandTarget::new(self.clone(), setup.timeout)?))
    }

    /// With a `threshold`, a score the program answers without an action is
    /// compared with it; an action the program answers is its own.
    fn score_rule(&self) -> Option<ScoreRule> {
        self.threshold.map(ScoreRule::remove_at_or_above)
    }
}

/// Resolves a program: a path (with a separator) against `base`, a bare name in PATH.
fn find_program(program: &str, base: &Path) -> Option<PathBuf> {
    let candidate = Path::new(program);
    if candidate.components().count() > 1 || candidate.is_absolute() {
        let path = if candidate.is_absolute() {
            candidate.to_path_buf()
        } else {
            base.join(candidate)
        };
        return path.is_file().then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// What the fingerprint of a `command` target covers: the program's content
/// (not where it is installed), its arguments with the content of each that
/// names a file (so `["python3", "model.py"]` changes with `model.py`), and
/// the threshold.
#[derive(Serialize)]
struct CommandFingerprint<'a> {
    program_sha256: String,
    args: Vec<ArgFingerprint<'a>>,
    threshold: Option<f64>,
}

#[derive(Serialize)]
struct ArgFingerprint<'a> {
    arg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_sha256: Option<String>,
}

/// The command target: copies of the program, each with a window of cases in flight.
pub struct CommandTarget {
    pool: Arc<Pool>,
    in_flight: usize,
    info: TargetInfo,
}

impl CommandTarget {
    /// Sets up the target; reads the program (and any argument that names a
    /// file) to fingerprint it. `timeout` is how long the program may go
    /// without answering while a case waits (the run's `timeout_secs`).
    pub fn new(spec: CommandSpec, timeout: Duration) -> Result<Self, SetupError> {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|source| SetupError::File {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut args = Vec::with_capacity(spec.args.len());
        for arg in &spec.args {
            let path = spec.cwd.join(arg);
            let file_sha256 = if path.is_file() {
                Some(sha256_hex(&read(&path)?))
            } else {
                None
            };
            args.push(ArgFingerprint { arg, file_sha256 });
        }
        let fingerprint = fingerprint(
            CommandSpec::NAME,
            &CommandFingerprint {
                program_sha256: sha256_hex(&read(&spec.program)?),
                args,
                threshold: spec.threshold,
            },
        );
        let mut words = vec![spec.program.display().to_string()];
        words.extend(spec.args.iter().cloned());
        let info = TargetInfo {
            kind: CommandSpec::NAME.into(),
            description: format!("local program `{}`", words.join(" ")),
            fingerprint,
            gives_notice: true,
            notes: Vec::new(),
        };
        let processes = spec.processes.max(1);
        let window = spec.window.max(1);
        let launcher = Launcher {
            program: spec.program,
            args: spec.args,
            cwd: spec.cwd,
            threshold: spec.threshold,
            timeout,
            watchdog: OnceLock::new(),
        };
        Ok(CommandTarget {
            pool: Pool::new(processes, window, launcher),
            in_flight: processes.saturating_mul(window),
            info,
        })
    }

    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        self.pool.ask(request).await
    }
}

impl Moderator for CommandTarget {
    fn info(&self) -> TargetInfo {
        self.info.clone()
    }

    /// Every copy's window.
    fn max_in_flight(&self) -> Option<usize> {
        Some(self.in_flight)
    }

    fn times_requests_itself(&self) -> bool {
        true
    }

    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_pinned_and_follows_the_files_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model"), "#!/bin/sh\necho model\n").unwrap();
        std::fs::write(dir.path().join("weights.bin"), "w1").unwrap();
        let spec = CommandSpec {
            program: dir.path().join("model"),
            args: vec!["weights.bin".into(), "--fast".into()],
            cwd: dir.path().to_path_buf(),
            processes: 2,
            window: 8,
            threshold: Some(0.5),
        };
        let timeout = Duration::from_secs(1);
        let first = CommandTarget::new(spec.clone(), timeout).unwrap().info().fingerprint;
        assert_eq!(
            first,
            "a795bed29a4e01e9ccc36f689b95c9912a61bb37b419306ad26a7f3eaf0e72fa"
        );
        let wider = CommandSpec {
            window: 64,
            ..spec.clone()
        };
        assert_eq!(
            CommandTarget::new(wider, timeout).unwrap().info().fingerprint,
            first,
            "how many cases are written ahead does not change the answers"
        );
        std::fs::write(dir.path().join("weights.bin"), "w2").unwrap();
        assert_ne!(
            CommandTarget::new(spec.clone(), timeout).unwrap().info().fingerprint,
            first
        );
        std::fs::remove_file(dir.path().join("model")).unwrap();
        assert!(matches!(
            CommandTarget::new(spec, timeout),
            Err(SetupError::File { .. })
        ));
    }
}
