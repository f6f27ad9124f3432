//! One running copy of the program, with its cases in flight.
//!
//! Three tasks serve a copy. The writer sends every request queued for it in
//! as few writes as it can. The reader matches each answer line to the case it
//! names by `id`, whatever the order. The supervisor watches for the copy
//! failing: the program exiting, its output ending or making no sense, a write
//! failing, or a stall — no answer for the run's timeout while a case waits,
//! counted from the later of that case's request and the program's previous
//! answer, so that a case queued inside a program that answers one case at a
//! time is not timed out while the program keeps answering.
//!
//! A failure with one case in flight is that case's failed attempt, as if
//! nothing had been written ahead. With several in flight nobody can tell
//! which case caused it: each of them is handed a [`Reservation`] to be asked
//! again alone, and none is charged an attempt.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

use super::answer::{excerpt, parse_line, verdict_from_answer};
use super::group::{GroupWatchdog, ProcessGroup};
use super::pool::{Pool, Reservation};
use crate::moderator::{AttemptError, ModerationRequest, Verdict};

/// Longest answer line accepted from a program.
const MAX_LINE_BYTES: usize = 1 << 20;
/// Lines of the program's stderr kept to explain a crash.
const STDERR_TAIL_LINES: usize = 5;
/// How long answers written just before the program exited may take to arrive.
const EXIT_GRACE: Duration = Duration::from_millis(100);
/// How long a program whose output ended may take to exit, for its exit status.
const EXIT_STATUS_WAIT: Duration = Duration::from_millis(500);
/// Time the stderr reader gets to collect a crashed program's last words.
const STDERR_SETTLE: Duration = Duration::from_millis(20);
/// Bytes read from the program's output at once.
const READ_BUFFER_BYTES: usize = 1 << 16;

/// What a case in flight hears back.
// The answer is the common case and moves once, through a oneshot channel's
// own allocation; boxing it would add an allocation per case.
#[allow(clippy::large_enum_variant)]
pub(super) enum Delivery {
    /// The program's answer, or the failed attempt charged to the case.
    Answer(Result<Verdict, AttemptError>),
    /// The copy failed with other cases in flight: ask again, alone, on the
    /// lane the reservation holds.
    AskAlone(Reservation),
}

/// How to start a copy of the program, and what every copy shares.
pub(super) struct Launcher {
    pub program: std::path::PathBuf,
    pub args: Vec<String>,
    pub cwd: std::path::PathBuf,
    pub threshold: Option<f64>,
    pub timeout: Duration,
    /// Started with the first copy of the program.
    pub watchdog: OnceLock<Result<Arc<GroupWatchdog>, String>>,
}

/// A running copy, as its lane holds it. Dropping it retires the copy: the
/// program and every process it started are killed.
pub(super) struct Copy {
    shared: Arc<Shared>,
    /// Dropped with the copy, which tells the supervisor to stop.
    _retire: oneshot::Sender<()>,
}

/// What the copy's tasks and its lane share.
struct Shared {
    state: Mutex<State>,
    /// Set, under the pool's lock, once no case may enter any more.
    dead: AtomicBool,
    /// Cases written and not yet answered (those whose caller is gone included).
    in_flight: AtomicUsize,
    /// Wakes the writer: requests are queued, or the copy is done.
    outbox_ready: Notify,
    /// Wakes cases waiting for room in a lane.
    room: Arc<Notify>,
    group: ProcessGroup,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    threshold: Option<f64>,
}

struct State {
    /// Cases in flight, oldest first.
    pending: VecDeque<Pending>,
    /// Requests not yet written.
    outbox: Vec<u8>,
    /// When the program last wrote a line (or started).
    last_answer: Instant,
}

struct Pending {
    id: String,
    written: Instant,
    reply: oneshot::Sender<Delivery>,
}

/// How a copy failed, as its tasks report it.
enum Fault {
    /// The program's output ended.
    OutputClosed,
    /// The output could not be read (a line over the limit, an I/O error).
    Unreadable(String),
    /// A request could not be written.
    Unwritable(String),
    /// A line that belongs to no case in flight, or that names none while
    /// several are in flight.
    Unmatched(Unmatched),
}

enum Unmatched {
    /// An answer for an id that is not in flight.
    Id(String),
    /// A line that names no case; the error is the line's.
    Line(AttemptError),
}

/// Why the supervisor gave up on a copy.
enum Failure {
    Exited(std::io::Result<ExitStatus>),
    Fault(Fault),
    Stalled,
}

/// The failed attempt a failure is, for the one case in flight.
enum Charge {
    Error(AttemptError),
    AnsweredFor(String),
}

impl Charge {
    fn for_case(self, id: &str) -> AttemptError {
        match self {
            Charge::Error(error) => error,
            Charge::AnsweredFor(answered) => AttemptError::transient(format!(
                "the program answered for id `{}` when asked about `{id}`; it was restarted",
                excerpt(&answered)
            )),
        }
    }
}

impl Copy {
    /// Starts a copy of the program for lane `lane` of `pool`.
    pub(super) fn start(
        launcher: &Launcher,
        pool: Weak<Pool>,
        lane: usize,
        room: Arc<Notify>,
    ) -> Result<Copy, AttemptError> {
        let watchdog = launcher
            .watchdog
            .get_or_init(|| GroupWatchdog::start().map(Arc::new))
            .as_ref()
            .map_err(|e| AttemptError::permanent(e.clone()))?;
        let mut command = Command::new(&launcher.program);
        command
            .args(&launcher.args)
            .current_dir(&launcher.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| AttemptError::transient(format!("cannot start `{}`: {e}", launcher.program.display())))?;
        let group = ProcessGroup::of(&child, watchdog);
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(AttemptError::transient("cannot connect to the program's stdin/stdout"));
        };
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        tokio::spawn(keep_stderr_tail(stderr, Arc::clone(&stderr_tail)));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: VecDeque::new(),
                outbox: Vec::new(),
                last_answer: Instant::now(),
            }),
            dead: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            outbox_ready: Notify::new(),
            room,
            group,
            stderr_tail,
            threshold: launcher.threshold,
        });
        let (faults_tx, faults) = mpsc::unbounded_channel();
        let (retire_tx, retire) = oneshot::channel();
        tokio::spawn(write_requests(Arc::clone(&shared), stdin, faults_tx.clone()));
        tokio::spawn(read_answers(Arc::clone(&shared), stdout, faults_tx));
        tokio::spawn(supervise(Supervisor {
            shared: Arc::clone(&shared),
            child,
            faults,
            retire,
            pool,
            lane,
            timeout: launcher.timeout,
        }));
        Ok(Copy {
            shared,
            _retire: retire_tx,
        })
    }

    /// Whether the copy has failed (no case may enter it).
    pub(super) fn is_dead(&self) -> bool {
        self.shared.dead.load(Ordering::Acquire)
    }

    /// Cases written to the copy and not yet answered.
    pub(super) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Queues the request; `None` when the copy has failed meanwhile.
    pub(super) fn send(
        &self,
        request: &ModerationRequest<'_>,
    ) -> Result<Option<oneshot::Receiver<Delivery>>, AttemptError> {
        let (reply, receiver) = oneshot::channel();
        let mut state = self.shared.lock_state();
        if self.is_dead() {
            return Ok(None);
        }
        let was_empty = state.outbox.is_empty();
        let start = state.outbox.len();
        if let Err(e) = serde_json::to_writer(&mut state.outbox, request) {
            state.outbox.truncate(start);
            return Err(AttemptError::permanent(format!("cannot encode the request: {e}")));
        }
        state.outbox.push(b'\n');
        state.pending.push_back(Pending {
            id: request.id.to_string(),
            written: Instant::now(),
            reply,
        });
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        drop(state);
        if was_empty {
            self.shared.outbox_ready.notify_one();
        }
        Ok(Some(receiver))
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        self.shared.group.kill();
    }
}

impl Shared {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the case out of flight and frees its room in the lane.
    fn settled(&self, mut state: MutexGuard<'_, State>, index: usize) -> Option<Pending> {
        let pending = state.pending.remove(index);
        drop(state);
        if pending.is_some() {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.room.notify_waiters();
        }
        pending
    }

    /// Delivers an answer line to the case it belongs to.
    fn take_answer(&self, line: &[u8]) -> Result<(), Fault> {
        match parse_line(line) {
            Ok(answer) => {
                let mut state = self.lock_state();
                state.last_answer = Instant::now();
                let Some(index) = state.pending.iter().position(|p| p.id == answer.id) else {
                    return Err(Fault::Unmatched(Unmatched::Id(answer.id)));
                };
                if let Some(pending) = self.settled(state, index) {
                    let verdict = verdict_from_answer(answer.value, self.threshold);
                    // A case whose caller is gone (a stop) needs no answer.
                    let _ = pending.reply.send(Delivery::Answer(verdict));
                }
                Ok(())
            }
            Err(error) => {
                let mut state = self.lock_state();
                state.last_answer = Instant::now();
                if state.pending.len() != 1 {
                    return Err(Fault::Unmatched(Unmatched::Line(error)));
                }
                // With one case in flight the line is its answer, and the
                // program is still in step.
                if let Some(pending) = self.settled(state, 0) {
                    let _ = pending.reply.send(Delivery::Answer(Err(error)));
                }
                Ok(())
            }
        }
    }

    /// When the copy counts as stalled if no answer comes: `timeout` after
    /// the later of the oldest case's request and the program's last answer.
    fn stall_deadline(&self, timeout: Duration) -> Option<Instant> {
        let state = self.lock_state();
        let oldest = state.pending.front()?.written;
        Some(oldest.max(state.last_answer) + timeout)
    }
}

/// Writes queued requests, as many at once as are waiting.
async fn write_requests(shared: Arc<Shared>, mut stdin: ChildStdin, faults: mpsc::UnboundedSender<Fault>) {
    let mut batch = Vec::new();
    loop {
        shared.outbox_ready.notified().await;
        if shared.dead.load(Ordering::Acquire) {
            return;
        }
        // Cases woken by the same batch of answers queue their requests now:
        // letting them run first sends them in one write.
        tokio::task::yield_now().await;
        std::mem::swap(&mut shared.lock_state().outbox, &mut batch);
        if batch.is_empty() {
            continue;
        }
        if let Err(e) = stdin.write_all(&batch).await {
            let _ = faults.send(Fault::Unwritable(e.to_string()));
            return;
        }
        batch.clear();
    }
}

/// Reads answer lines and hands each to its case, until the output ends or a
/// line cannot be placed.
async fn read_answers(shared: Arc<Shared>, stdout: ChildStdout, faults: mpsc::UnboundedSender<Fault>) {
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, stdout);
    let mut line = Vec::new();
    let fault = loop {
        match read_answer(&mut reader, &mut line).await {
            Ok(true) => {}
            Ok(false) => break Fault::OutputClosed,
            Err(e) => break Fault::Unreadable(e.to_string()),
        }
        if let Err(fault) = shared.take_answer(&line) {
            break fault;
        }
    };
    let _ = faults.send(fault);
}

/// What the supervisor of a copy owns.
struct Supervisor {
    shared: Arc<Shared>,
    child: Child,
    faults: mpsc::UnboundedReceiver<Fault>,
    retire: oneshot::Receiver<()>,
    pool: Weak<Pool>,
    lane: usize,
    timeout: Duration,
}

/// Watches the copy until it fails or is retired, then settles the cases in
/// flight and ends the program.
async fn supervise(mut s: Supervisor) {
    let failure = loop {
        let deadline = s
            .shared
            .stall_deadline(s.timeout)
            .unwrap_or_else(|| Instant::now() + s.timeout);
        tokio::select! {
            _ = &mut s.retire => {
                s.retired();
                s.end().await;
                return;
            }
            status = s.child.wait() => break Failure::Exited(status),
            Some(fault) = s.faults.recv() => break Failure::Fault(fault),
            () = tokio::time::sleep_until(deadline) => {
                if s.shared.stall_deadline(s.timeout).is_some_and(|d| d <= Instant::now()) {
                    break Failure::Stalled;
                }
            }
        }
    };
    let reservations = s.stop_admitting();
    let charge = s.charge(failure).await;
    s.end().await;
    s.settle(charge, reservations);
}

impl Supervisor {
    /// Marks the copy dead, under the pool's lock so that no case enters the
    /// lane in between, and reserves the lane for the cases in flight to be
    /// asked again alone (when there are several).
    fn stop_admitting(&self) -> Vec<Reservation> {
        let mark = || {
            let state = self.shared.lock_state();
            self.shared.dead.store(true, Ordering::Release);
            state.pending.len()
        };
        let reservations = match self.pool.upgrade() {
            Some(pool) => pool.reserve_after(self.lane, mark),
            None => {
                mark();
                Vec::new()
            }
        };
        self.shared.outbox_ready.notify_one();
        reservations
    }

    /// The lane let go of the copy: no case may enter it, and those still in
    /// flight (whose callers are gone) hear that it was retired.
    fn retired(&self) {
        let cases: Vec<Pending> = {
            let mut state = self.shared.lock_state();
            self.shared.dead.store(true, Ordering::Release);
            state.pending.drain(..).collect()
        };
        self.shared.in_flight.store(0, Ordering::Release);
        self.shared.outbox_ready.notify_one();
        drop(cases);
    }

    /// The failed attempt `failure` is for a case alone in flight. Waits for
    /// answers written before the program exited, and for its exit status.
    async fn charge(&mut self, failure: Failure) -> Charge {
        let (what, status) = match failure {
            Failure::Stalled => return Charge::Error(AttemptError::timed_out(self.timeout)),
            Failure::Fault(Fault::Unreadable(e)) => {
                return Charge::Error(AttemptError::transient(format!(
                    "could not read the program's answer: {e}"
                )));
            }
            Failure::Fault(Fault::Unmatched(Unmatched::Id(id))) => return Charge::AnsweredFor(id),
            Failure::Fault(Fault::Unmatched(Unmatched::Line(error))) => return Charge::Error(error),
            Failure::Exited(status) => {
                // A process the program started may hold its output open: its
                // exit is the sign, not the end of its output.
                self.answers_written_before_exit().await;
                ("the program stopped before answering".to_string(), Some(status))
            }
            Failure::Fault(Fault::OutputClosed) => ("the program closed its output before answering".to_string(), None),
            Failure::Fault(Fault::Unwritable(e)) => {
                self.answers_written_before_exit().await;
                (format!("could not write to the program ({e})"), None)
            }
        };
        let status = match status {
            Some(status) => Some(status),
            None => tokio::time::timeout(EXIT_STATUS_WAIT, self.child.wait()).await.ok(),
        };
        let status = match status {
            Some(Ok(status)) => format!("exited with {status}"),
            Some(Err(e)) => format!("state unknown ({e})"),
            None => "is still running".to_string(),
        };
        tokio::time::sleep(STDERR_SETTLE).await;
        let tail: Vec<String> = self
            .shared
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
        Charge::Error(AttemptError::transient(message))
    }

    /// Lets the reader deliver what the program wrote before it went: until
    /// its output ends or [`EXIT_GRACE`] passes.
    async fn answers_written_before_exit(&mut self) {
        let reader_done = async {
            while let Some(fault) = self.faults.recv().await {
                if !matches!(fault, Fault::Unwritable(_)) {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(EXIT_GRACE, reader_done).await;
    }

    /// Kills the program and every process it started, and reaps it.
    async fn end(&mut self) {
        self.shared.group.kill();
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Hands each case still in flight its outcome: the charge when it is
    /// alone, a turn to be asked again alone otherwise.
    fn settle(&self, charge: Charge, reservations: Vec<Reservation>) {
        let mut cases: Vec<Pending> = self.shared.lock_state().pending.drain(..).collect();
        self.shared.in_flight.store(0, Ordering::Release);
        self.shared.room.notify_waiters();
        if cases.len() == 1
            && let Some(case) = cases.pop()
        {
            let error = charge.for_case(&case.id);
            let _ = case.reply.send(Delivery::Answer(Err(error)));
            return;
        }
        // Never fewer reservations than cases: cases only leave flight once
        // the copy is dead. A case without one would hear the copy retired.
        for (case, reservation) in cases.into_iter().zip(reservations) {
            let _ = case.reply.send(Delivery::AskAlone(reservation));
        }
    }
}

/// Reads the next answer line into `line`, skipping blank ones; `false` when
/// the output ends.
async fn read_answer<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R, line: &mut Vec<u8>) -> std::io::Result<bool> {
    loop {
        if !read_bounded_line(reader, MAX_LINE_BYTES, line).await? {
            return Ok(false);
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            return Ok(true);
        }
    }
}

async fn keep_stderr_tail(stderr: impl AsyncRead + Unpin, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(stderr);
    let mut bytes = Vec::new();
    while let Ok(true) = read_bounded_line(&mut reader, 4096, &mut bytes).await {
        let line = String::from_utf8_lossy(&bytes).trim_end().to_string();
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// Reads one `\n`-terminated line of at most `limit` bytes into `buf`; `false`
/// at end of input. A longer line is cut at `limit` and the rest of it is
/// consumed on the next call as its own line — callers treat any line over the
/// limit as an error.
async fn read_bounded_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    buf.clear();
    let n = (&mut *reader).take(limit as u64).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') && buf.len() >= limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("answer line longer than {limit} bytes"),
        ));
    }
    Ok(true)
}
