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
//! A program that crashes, answers for the wrong id or with a line that is not
//! JSON, or hangs past the run's timeout, produces a failed attempt; the runner
//! retries transient failures and records an `error` decision when they persist.
//! A crashed, hung or confused program is killed and started afresh. A program
//! that exits without answering is reported as crashed at once, even when a
//! process it started still holds its output open.
//!
//! On Unix each copy of the program runs in its own process group, and the whole
//! group (the program and every process it started) is killed when the copy is
//! dropped — and when modaudit ends, however it ends: a small watchdog (a
//! `/bin/sh` loop in a process group of its own) kills every group still listed
//! once the pipe only modaudit holds open closes, which happens even when
//! modaudit is killed with SIGKILL.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use super::check::Checks;
use super::env::EnvUse;
use super::kind::{Setup, TargetConfig, TargetKind};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint, one_by_one,
};
use crate::decision::{Action, Notice, ScoreRule};
use crate::hash::sha256_hex;

/// Longest answer line accepted from a program.
const MAX_LINE_BYTES: usize = 1 << 20;
/// Lines of the program's stderr kept to explain a crash.
const STDERR_TAIL_LINES: usize = 5;
/// How long an answer written just before the program exited may take to arrive.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// `[target]` with `kind = "command"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCommand {
    /// Program and arguments, e.g. `["python3", "model.py"]`.
    command: Vec<String>,
    /// Copies of the program to run side by side (default 1).
    processes: Option<usize>,
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

    fn build(&self, _: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        Ok(Arc::new(CommandTarget::new(self.clone())?))
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

/// A running copy of the program.
struct Worker {
    /// Held so that dropping the worker kills the process.
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// Held so that dropping the worker kills every process the program started.
    _group: ProcessGroup,
}

/// The command target: a pool of program processes.
pub struct CommandTarget {
    spec: CommandSpec,
    idle: tokio::sync::Mutex<Vec<Worker>>,
    slots: Semaphore,
    info: TargetInfo,
    /// Started with the first copy of the program.
    watchdog: std::sync::OnceLock<Result<Arc<GroupWatchdog>, String>>,
}

impl CommandTarget {
    /// Sets up the target; reads the program (and any argument that names a
    /// file) to fingerprint it.
    pub fn new(spec: CommandSpec) -> Result<Self, SetupError> {
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
        Ok(CommandTarget {
            slots: Semaphore::new(spec.processes.max(1)),
            idle: tokio::sync::Mutex::new(Vec::new()),
            spec,
            info,
            watchdog: std::sync::OnceLock::new(),
        })
    }

    fn spawn(&self) -> Result<Worker, AttemptError> {
        let watchdog = self
            .watchdog
            .get_or_init(|| GroupWatchdog::start().map(Arc::new))
            .as_ref()
            .map_err(|e| AttemptError::permanent(e.clone()))?;
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .current_dir(&self.spec.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| AttemptError::transient(format!("cannot start `{}`: {e}", self.spec.program.display())))?;
        let group = ProcessGroup::of(&child, watchdog);
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(AttemptError::transient("cannot connect to the program's stdin/stdout"));
        };
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        tokio::spawn(keep_stderr_tail(stderr, Arc::clone(&stderr_tail)));
        Ok(Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr_tail,
            _group: group,
        })
    }

    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| AttemptError::permanent("the command target was shut down"))?;
        let popped = self.idle.lock().await.pop();
        let mut worker = match popped {
            Some(w) => w,
            None => self.spawn()?,
        };
        // If this future is dropped (timeout), the worker is dropped with it and
        // the process killed; the next request starts a fresh one.
        let (outcome, keep) = exchange(&mut worker, request, self.spec.threshold).await;
        if keep {
            self.idle.lock().await.push(worker);
        }
        outcome
    }
}

impl Moderator for CommandTarget {
    fn info(&self) -> TargetInfo {
        self.info.clone()
    }

    fn max_in_flight(&self) -> Option<usize> {
        Some(self.spec.processes.max(1))
    }

    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

/// Sends one request and reads its answer. The flag says whether the worker is
/// still in step with us and may be reused.
async fn exchange(
    worker: &mut Worker,
    request: &ModerationRequest<'_>,
    threshold: Option<f64>,
) -> (Result<Verdict, AttemptError>, bool) {
    let mut line = match serde_json::to_string(&serde_json::json!({
        "id": request.id,
        "lang": request.lang,
        "text": request.text,
    })) {
        Ok(l) => l,
        Err(e) => {
            return (
                Err(AttemptError::permanent(format!("cannot encode the request: {e}"))),
                true,
            );
        }
    };
    line.push('\n');
    if let Err(e) = write_line(&mut worker.stdin, line.as_bytes()).await {
        return (
            Err(exited(worker, &format!("could not write to the program ({e})")).await),
            false,
        );
    }
    let heard = {
        let answer = read_answer(&mut worker.stdout);
        tokio::pin!(answer);
        tokio::select! {
            biased;
            line = &mut answer => Some(line),
            // A process the program started may hold its output open: its exit
            // is the sign, not the end of its output.
            Ok(_) = worker.child.wait() => tokio::time::timeout(EXIT_GRACE, &mut answer).await.ok(),
        }
    };
    let answer = match heard {
        Some(Ok(Some(bytes))) => bytes,
        Some(Ok(None)) => {
            return (
                Err(exited(worker, "the program closed its output before answering").await),
                false,
            );
        }
        Some(Err(e)) => {
            return (
                Err(AttemptError::transient(format!(
                    "could not read the program's answer: {e}"
                ))),
                false,
            );
        }
        None => {
            return (Err(exited(worker, "the program stopped before answering").await), false);
        }
    };
    let text = match std::str::from_utf8(&answer) {
        Ok(t) => t.trim_end(),
        Err(_) => {
            return (
                Err(AttemptError::permanent(
                    "the program answered with a line that is not UTF-8",
                )),
                true,
            );
        }
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return (
                Err(AttemptError::permanent(format!(
                    "the program answered with a line that is not JSON ({e}): {}",
                    excerpt(text)
                ))),
                true,
            );
        }
    };
    match value.get("id").and_then(Value::as_str) {
        Some(id) if id == request.id => {}
        Some(id) => {
            return (
                Err(AttemptError::transient(format!(
                    "the program answered for id `{}` when asked about `{}`; it was restarted",
                    excerpt(id),
                    request.id
                ))),
                false,
            );
        }
        None => {
            return (
                Err(AttemptError::permanent(format!(
                    "the program's answer has no string `id`: {}",
                    excerpt(text)
                ))),
                true,
            );
        }
    }
    (verdict_from_answer(value, threshold), true)
}

/// Interprets a well-formed answer line.
fn verdict_from_answer(value: Value, threshold: Option<f64>) -> Result<Verdict, AttemptError> {
    let string = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let score = match value.get("score") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64().filter(|s| s.is_finite()) {
            Some(s) => Some(s),
            None => {
                return Err(AttemptError::permanent(format!("`score` is not a number: {v}")));
            }
        },
    };
    let mut scores = BTreeMap::new();
    if let Some(map) = value.get("scores").and_then(Value::as_object) {
        for (k, v) in map {
            match v.as_f64().filter(|s| s.is_finite()) {
                Some(s) => {
                    scores.insert(k.clone(), s);
                }
                None => {
                    return Err(AttemptError::permanent(format!("`scores.{k}` is not a number: {v}")));
                }
            }
        }
    }
    if let Some(s) = score {
        scores.entry("score".to_string()).or_insert(s);
    }
    let action = match value.get("action") {
        None | Some(Value::Null) => match (score, threshold) {
            (Some(s), Some(t)) => action_from_score(s, t),
            (Some(_), None) => {
                return Err(AttemptError::permanent(
                    "the program answered a score but no action, and the scenario sets no `threshold`",
                ));
            }
            (None, _) => {
                return Err(AttemptError::permanent(
                    "the program's answer has neither `action` nor `score`",
                ));
            }
        },
        Some(Value::String(a)) if a == "unsupported" => Action::Unsupported,
        Some(Value::String(a)) => match Action::parse_moderation(a) {
            Some(action) => action,
            None => {
                return Err(AttemptError::permanent(format!(
                    "unknown action `{}` (expected allow, label, reduce, demonetize, remove, suspend or unsupported)",
                    excerpt(a)
                )));
            }
        },
        Some(other) => {
            return Err(AttemptError::permanent(format!("`action` is not a string: {other}")));
        }
    };
    let flag = |key: &str| match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(AttemptError::permanent(format!(
            "`{key}` is not true or false: {other}"
        ))),
    };
    let automated = flag("automated")?;
    let automated_detection = flag("automated_detection")?;
    Ok(Verdict {
        action: Some(action),
        score,
        scores,
        notice: Notice {
            decision_id: string("decision_id"),
            reason: string("reason"),
            rule: string("rule"),
            automated,
            automated_detection,
            territorial_scope: string("territorial_scope"),
            appeal_url: string("appeal_url"),
        },
        detail: (action == Action::Unsupported)
            .then(|| string("reason").unwrap_or_else(|| "the program declined the case".into())),
        response: Some(value),
        ..Verdict::default()
    })
}

/// Reads the next answer line, skipping blank ones; `None` when the output ends.
async fn read_answer<R: tokio::io::AsyncBufRead + Unpin>(stdout: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        match read_bounded_line(stdout, MAX_LINE_BYTES).await? {
            Some(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            line => return Ok(line),
        }
    }
}

async fn write_line(stdin: &mut ChildStdin, bytes: &[u8]) -> std::io::Result<()> {
    stdin.write_all(bytes).await?;
    stdin.flush().await
}

/// A failure explained by the program having exited, with its status and last stderr lines.
async fn exited(worker: &mut Worker, what: &str) -> AttemptError {
    let status = match tokio::time::timeout(std::time::Duration::from_millis(500), worker.child.wait()).await {
        Ok(Ok(status)) => format!("exited with {status}"),
        Ok(Err(e)) => format!("state unknown ({e})"),
        Err(_) => "is still running".to_string(),
    };
    // Give the stderr reader a moment to collect the last words.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let tail: Vec<String> = worker
        .stderr_tail
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .collect();
    let mut message = format!("{what}; the program {status}");
    if !tail.is_empty() {
        message.push_str(&format!("; its stderr ended with: {}", excerpt(&tail.join(" | "))));
    }
    AttemptError::transient(message)
}

async fn keep_stderr_tail(stderr: impl AsyncRead + Unpin, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(stderr);
    while let Ok(Some(bytes)) = read_bounded_line(&mut reader, 4096).await {
        let line = String::from_utf8_lossy(&bytes).trim_end().to_string();
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// Reads one `\n`-terminated line of at most `limit` bytes; `None` at end of input.
/// A longer line is cut at `limit` and the rest of it is consumed on the next call
/// as its own line — callers treat any line over the limit as an error.
async fn read_bounded_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = (&mut *reader).take(limit as u64).read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && buf.len() >= limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("answer line longer than {limit} bytes"),
        ));
    }
    Ok(Some(buf))
}

/// The process group one copy of the program runs in; dropping it kills every
/// process in it.
#[cfg(unix)]
struct ProcessGroup {
    id: Option<u32>,
    watchdog: Arc<GroupWatchdog>,
}

#[cfg(unix)]
impl ProcessGroup {
    /// The group `child` leads (it was spawned with `process_group(0)`), now
    /// watched over.
    fn of(child: &Child, watchdog: &Arc<GroupWatchdog>) -> Self {
        let id = child.id();
        if let Some(id) = id {
            watchdog.tell(&format!("watch {id}"));
        }
        ProcessGroup {
            id,
            watchdog: Arc::clone(watchdog),
        }
    }
}

#[cfg(unix)]
impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.watchdog.tell(&format!("kill {id}"));
        }
    }
}

/// Kills the process groups of the program's copies: one by one when asked,
/// and all that are left when modaudit ends, however it ends.
///
/// It is a `/bin/sh` loop in a process group of its own (so a Ctrl-C at the
/// terminal does not reach it) reading `watch ID` and `kill ID` lines from a
/// pipe whose writing end only modaudit holds. The kernel closes that pipe when
/// modaudit exits, crashes or is killed with SIGKILL; the loop then kills every
/// group still listed and exits.
#[cfg(unix)]
struct GroupWatchdog {
    input: Mutex<Option<std::process::ChildStdin>>,
    process: std::process::Child,
}

#[cfg(unix)]
const WATCHDOG_SCRIPT: &str = r#"groups=''
while read -r verb group; do
  case "$verb" in
    watch) groups="$groups $group" ;;
    kill)
      kill -s KILL -- "-$group" 2>/dev/null
      kept=''
      for g in $groups; do [ "$g" = "$group" ] || kept="$kept $g"; done
      groups=$kept ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
"#;

#[cfg(unix)]
impl GroupWatchdog {
    fn start() -> Result<Self, String> {
        use std::os::unix::process::CommandExt;
        let cannot =
            |e: &dyn std::fmt::Display| format!("cannot start /bin/sh to watch over the program's processes: {e}");
        let mut process = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| cannot(&e))?;
        let input = process.stdin.take().ok_or_else(|| cannot(&"no pipe to its input"))?;
        Ok(GroupWatchdog {
            input: Mutex::new(Some(input)),
            process,
        })
    }

    /// Sends one line (short enough to be written at once).
    fn tell(&self, line: &str) {
        use std::io::Write;
        let mut input = self.input.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pipe) = input.as_mut() {
            // A watchdog that is gone cannot be helped; the program's own
            // process is still killed when its worker is dropped.
            let _ = pipe.write_all(format!("{line}\n").as_bytes());
        }
    }
}

#[cfg(unix)]
impl Drop for GroupWatchdog {
    fn drop(&mut self) {
        // Closing its input makes it kill what is left and exit at once; reap it.
        drop(self.input.get_mut().unwrap_or_else(|e| e.into_inner()).take());
        let _ = self.process.wait();
    }
}

/// Without process groups, the program's own process is all that is killed.
#[cfg(not(unix))]
struct ProcessGroup;

#[cfg(not(unix))]
impl ProcessGroup {
    fn of(_: &Child, _: &Arc<GroupWatchdog>) -> Self {
        ProcessGroup
    }
}

#[cfg(not(unix))]
struct GroupWatchdog;

#[cfg(not(unix))]
impl GroupWatchdog {
    fn start() -> Result<Self, String> {
        Ok(GroupWatchdog)
    }
}

/// A short, single-line excerpt of untrusted text for error messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() > MAX {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_action_score_and_notice() {
        let v = verdict_from_answer(
            serde_json::json!({"id": "a", "action": "remove", "score": 0.9, "reason": "hate", "automated": true, "appeal_url": "https://x"}),
            None,
        )
        .unwrap();
        assert_eq!(v.action, Some(Action::Remove));
        assert_eq!(v.score, Some(0.9));
        assert_eq!(v.notice.automated, Some(true));
        assert_eq!(v.notice.appeal_url.as_deref(), Some("https://x"));
        assert_eq!(v.notice.rule, None);
    }

    #[test]
    fn score_only_needs_a_threshold() {
        let answer = serde_json::json!({"id": "a", "score": 0.7});
        assert_eq!(
            verdict_from_answer(answer.clone(), Some(0.5)).unwrap().action,
            Some(Action::Remove)
        );
        assert_eq!(
            verdict_from_answer(answer.clone(), Some(0.8)).unwrap().action,
            Some(Action::Allow)
        );
        assert!(
            verdict_from_answer(answer, None)
                .unwrap_err()
                .message
                .contains("threshold")
        );
    }

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
            threshold: Some(0.5),
        };
        let first = CommandTarget::new(spec.clone()).unwrap().info().fingerprint;
        assert_eq!(
            first,
            "a795bed29a4e01e9ccc36f689b95c9912a61bb37b419306ad26a7f3eaf0e72fa"
        );
        std::fs::write(dir.path().join("weights.bin"), "w2").unwrap();
        assert_ne!(CommandTarget::new(spec.clone()).unwrap().info().fingerprint, first);
        std::fs::remove_file(dir.path().join("model")).unwrap();
        assert!(matches!(CommandTarget::new(spec), Err(SetupError::File { .. })));
    }

    #[test]
    fn unknown_action_is_a_permanent_error() {
        let e = verdict_from_answer(serde_json::json!({"id": "a", "action": "nuke"}), None).unwrap_err();
        assert!(!e.is_retryable());
        assert!(e.message.contains("unknown action `nuke`"));
    }
}
