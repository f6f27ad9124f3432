//! The executor: sends pending cases to the target with bounded concurrency,
//! serves what it can from the response cache, paces every attempt with the
//! target's [`Throttle`], retries transient failures with exponential backoff
//! (honouring the system's own `Retry-After`), waits out rate limiting (429)
//! without using up attempts, bounds every attempt by the timeout, and hands
//! each decision to the journal thread, which writes it before anyone else
//! hears of it (group-committed: the decisions that queued up meanwhile go out
//! in one write).
//!
//! A stop (Ctrl-C) cancels every case in flight where it stands — its request,
//! its retries, its wait for a turn — and the case stays pending for
//! `--resume`: only complete decisions ever reach the journal.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::events::{RunEvent, RunObserver};
use super::rate_limit::Throttle;
use crate::cache::Cache;
use crate::corpus::{Case, TextError};
use crate::decision::{Action, Decision, DecisionDetails, DecisionRecord, OptionalScore};
use crate::error::Error;
use crate::hash::HashingWriter;
use crate::journal::{Journal, Record};
use crate::manifest::RateLimiting;
use crate::moderator::{AttemptError, ModerationRequest, Moderator, Retry, Verdict};
use crate::scenario::{Plan, RunSettings};

/// First backoff delay; doubles with each retry, with jitter.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// Longest backoff delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Most decisions the journal writer gathers into one write…
const MAX_GROUP: usize = 1024;
/// …and how long it lets them gather after a write.
const GATHER: Duration = Duration::from_micros(500);

/// A future that resolves when the run should stop.
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the execution ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Execution {
    pub decided: u64,
    pub interrupted: bool,
    /// What the target's rate limiting cost.
    pub rate_limiting: RateLimiting,
}

/// What every batch of a run shares besides the target.
pub struct Context {
    pub throttle: Throttle,
    pub cache: Option<Cache>,
}

impl Context {
    /// The pace the run's settings ask for, and the cache (if any).
    pub fn new(settings: &RunSettings, cache: Option<Cache>) -> Self {
        Context {
            throttle: Throttle::new(
                settings.requests_per_second,
                settings.requests_per_minute,
                settings.max_retry_after,
            ),
            cache,
        }
    }
}

/// Resolves once `stop` says so (never, if its sender is gone without saying it).
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Decides the cases at `pending` (indices into the plan's cases), journaling
/// every decision, until done or until `stop` turns true.
///
/// The work runs on the runtime's workers: a thread blocked in `block_on` would
/// be woken by a system call each time a case finishes.
pub async fn execute(
    plan: Arc<Plan>,
    pending: Vec<usize>,
    target: Arc<dyn Moderator>,
    cache: Option<Cache>,
    journal: Journal,
    observer: Arc<dyn RunObserver>,
    stop: watch::Receiver<bool>,
) -> Result<Execution, Error> {
    tokio::spawn(hand_out_cases(plan, pending, target, cache, journal, observer, stop))
        .await
        .map_err(|e| Error::Target(format!("the executor failed: {e}")))?
}

/// [`execute`]: as many workers as may be in flight, each taking the next
/// batch of pending cases until none is left, so a case costs no task, no
/// semaphore permit and no copy of its batch's indices.
async fn hand_out_cases(
    plan: Arc<Plan>,
    pending: Vec<usize>,
    target: Arc<dyn Moderator>,
    cache: Option<Cache>,
    journal: Journal,
    observer: Arc<dyn RunObserver>,
    stop: watch::Receiver<bool>,
) -> Result<Execution, Error> {
    let settings = &plan.run;
    let context = Arc::new(Context::new(settings, cache));
    // Never more in flight than the target can serve, so that a timeout never
    // counts time spent queueing inside the adapter; as many as it can serve
    // when the scenario does not say.
    let in_flight = match target.max_in_flight() {
        None => settings.concurrency,
        Some(limit) if settings.concurrency_set => limit.min(settings.concurrency),
        Some(limit) => limit,
    };
    // Room for what a fast target decides while the journal gathers a group,
    // counted in decisions: the channel holds batches, and a decided batch
    // holds its responses until the journal has them.
    let batch_size = target.batch_size().max(1);
    let queued_batches = (in_flight * 2).max(MAX_GROUP).div_ceil(batch_size).max(2);
    let (tx, rx) = mpsc::channel::<Vec<DecisionRecord>>(queued_batches);
    let writer = spawn_journal_writer(journal, rx, Arc::clone(&observer));
    let batches = Arc::new(Batches {
        pending,
        size: batch_size,
        next: AtomicUsize::new(0),
    });
    let workers = in_flight.max(1).min(batches.count());
    let unreadable = Arc::new(FirstError::default());
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let batches = Arc::clone(&batches);
        let plan = Arc::clone(&plan);
        let target = Arc::clone(&target);
        let observer = Arc::clone(&observer);
        let context = Arc::clone(&context);
        let tx = tx.clone();
        let stop = stop.clone();
        let unreadable = Arc::clone(&unreadable);
        tasks.spawn(async move {
            let mut members: Vec<&Case> = Vec::with_capacity(batches.size);
            // A failed journal writer closes the channel; its error is reported below.
            while !*stop.borrow() && !tx.is_closed() && !unreadable.is_set() {
                let Some(batch) = batches.take() else { break };
                members.clear();
                members.extend(batch.iter().map(|&i| &plan.cases[i]));
                // A stop drops the batch where it stands: its cases stay pending.
                let decided = tokio::select! {
                    biased;
                    () = stopped(stop.clone()) => None,
                    decisions = decide_batch(target.as_ref(), &members, &plan.run, &context, observer.as_ref()) => Some(decisions),
                };
                let decisions = match decided {
                    None => break,
                    Some(Ok(decisions)) => decisions,
                    // The batch stays pending; the run stops with the error.
                    Some(Err(error)) => {
                        unreadable.set(error);
                        break;
                    }
                };
                if tx.send(decisions).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| Error::Target(format!("a worker task failed: {e}")))?;
    }
    let decided = writer
        .await
        .map_err(|e| Error::Target(format!("the journal writer failed: {e}")))??;
    if let Some(error) = unreadable.take() {
        return Err(error.into());
    }
    observer.on_event(&RunEvent::Finished);
    let interrupted = *stop.borrow();
    Ok(Execution {
        decided,
        interrupted,
        rate_limiting: context.throttle.rate_limiting(),
    })
}

/// The first case text that could not be read back, which stops every worker.
#[derive(Default)]
struct FirstError {
    set: AtomicBool,
    error: std::sync::Mutex<Option<TextError>>,
}

impl FirstError {
    fn set(&self, error: TextError) {
        let mut slot = self.error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(error);
        self.set.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::Relaxed)
    }

    fn take(&self) -> Option<TextError> {
        self.error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// The pending cases, cut into the target's batches, handed out in order.
struct Batches {
    pending: Vec<usize>,
    size: usize,
    /// The number of the next batch to hand out.
    next: AtomicUsize,
}

impl Batches {
    fn count(&self) -> usize {
        self.pending.len().div_ceil(self.size)
    }

    /// The next batch's case indices, or `None` once all are handed out.
    fn take(&self) -> Option<&[usize]> {
        let start = self.next.fetch_add(1, Ordering::Relaxed).checked_mul(self.size)?;
        let end = start.checked_add(self.size)?.min(self.pending.len());
        self.pending.get(start..end).filter(|batch| !batch.is_empty())
    }
}

/// Runs the journal on a blocking thread: every decision is on disk before its
/// event goes out.
fn spawn_journal_writer(
    journal: Journal,
    rx: mpsc::Receiver<Vec<DecisionRecord>>,
    observer: Arc<dyn RunObserver>,
) -> tokio::task::JoinHandle<Result<u64, Error>> {
    tokio::task::spawn_blocking(move || write_journal(journal, rx, observer.as_ref()))
}

/// Writes every decision that arrives on `rx` to the journal, then tells
/// `observer`; returns how many were written once every sender is gone.
///
/// Group commit: whatever has queued up while the previous write went out (and
/// for [`GATHER`] after it) is written together, in one `write` of up to
/// [`MAX_GROUP`] records, so a fast target costs one system call and one
/// wake-up of this thread per group rather than per decision; a decision waits
/// at most [`GATHER`] longer to be written.
fn write_journal(
    mut journal: Journal,
    mut rx: mpsc::Receiver<Vec<DecisionRecord>>,
    observer: &dyn RunObserver,
) -> Result<u64, Error> {
    let mut written = 0;
    let path = journal.path().to_path_buf();
    let mut group: Vec<Record> = Vec::new();
    while let Some(decisions) = rx.blocking_recv() {
        group.extend(decisions.into_iter().map(Record::Decision));
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(decisions) => group.extend(decisions.into_iter().map(Record::Decision)),
                Err(_) => break,
            }
        }
        journal.append_all(&group).map_err(Error::io(&path))?;
        for record in group.drain(..) {
            if let Record::Decision(decided) = &record {
                observer.on_event(&RunEvent::Decided(decided));
            }
            written += 1;
        }
        std::thread::sleep(GATHER);
    }
    journal.sync().map_err(Error::io(&path))?;
    Ok(written)
}

/// Asks the target about one batch (or serves it from the cache), with rate
/// limit, timeout and retries. A batch the target cannot decide yields
/// `error` decisions with the reason; the batch fails only when the text of
/// one of its cases cannot be read back from its corpus file.
pub async fn decide_batch(
    target: &dyn Moderator,
    cases: &[&Case],
    settings: &RunSettings,
    context: &Context,
    observer: &dyn RunObserver,
) -> Result<Vec<DecisionRecord>, TextError> {
    let texts = cases.iter().map(|case| case.text()).collect::<Result<Vec<_>, _>>()?;
    let Some(cache) = &context.cache else {
        let requests: Vec<ModerationRequest<'_>> = cases.iter().zip(&texts).map(|(c, t)| request_of(c, t)).collect();
        return Ok(ask(target, cases, &requests, settings, context, observer).await);
    };
    let mut decisions = Vec::with_capacity(cases.len());
    let mut missed: Vec<&Case> = Vec::with_capacity(cases.len());
    let mut missed_requests: Vec<ModerationRequest<'_>> = Vec::with_capacity(cases.len());
    for (&case, text) in cases.iter().zip(&texts) {
        let request = request_of(case, text);
        match cache.get(&request) {
            Some(verdict) => {
                let mut decision = decision_from_verdict(&case.id, verdict, 0, 0);
                decision.decision.cache_hit = true;
                decisions.push(decision);
            }
            None => {
                missed.push(case);
                missed_requests.push(request);
            }
        }
    }
    if !missed.is_empty() {
        decisions.extend(ask(target, &missed, &missed_requests, settings, context, observer).await);
    }
    Ok(decisions)
}

fn request_of<'a>(case: &'a Case, text: &'a str) -> ModerationRequest<'a> {
    ModerationRequest {
        id: &case.id,
        lang: &case.lang,
        text,
    }
}

/// What a request waits for between attempts, for progress events.
pub(super) enum Wait<'a> {
    /// The target answered 429: the whole target slows down; no attempt is used up.
    RateLimited { wait: Duration, rate: Option<f64> },
    /// A transient failure; the request is sent again after `wait`.
    Retrying {
        attempt: u32,
        wait: Duration,
        reason: &'a str,
    },
}

/// The outcome of [`retrying`]: the answer, or the last failure's message, and
/// how many attempts were made.
pub(super) struct Attempted<T> {
    pub result: Result<T, AttemptError>,
    pub attempts: u32,
}

/// Sends a request until it is answered, a failure is permanent, transient
/// failures outlast `max_attempts`, or rate limiting outlasts
/// `max_rate_limit_wait`. Every attempt waits for its turn with the target's
/// [`Throttle`] and is bounded by `timeout` (`None` for a call that bounds
/// itself). A rate-limited answer (429) uses
/// up no attempt: it slows the whole target down instead; a `Retry-After` on a
/// transient failure pauses the whole target. Shared by the moderation phase
/// and the appeal prober, so both treat a target alike.
pub(super) async fn retrying<T, F, Fut>(
    throttle: &Throttle,
    settings: &RunSettings,
    timeout: Option<Duration>,
    on_wait: impl Fn(Wait<'_>),
    mut call: F,
) -> Attempted<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(MIN_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(settings.max_attempts.saturating_sub(1) as usize)
        .build();
    let mut attempts: u32 = 0;
    let mut rate_limited: u32 = 0;
    let mut rate_limited_wait = Duration::ZERO;
    let mut held_back_since: Option<Instant> = None;
    let result = loop {
        let permit = throttle.acquire().await;
        if let Some(since) = held_back_since.take() {
            rate_limited_wait += since.elapsed();
        }
        attempts += 1;
        let attempt = call();
        let outcome = match timeout {
            Some(limit) => tokio::time::timeout(limit, attempt)
                .await
                .unwrap_or_else(|_| Err(AttemptError::timed_out(limit))),
            None => attempt.await,
        };
        let error = match outcome {
            Ok(answer) => {
                throttle.succeeded();
                break Ok(answer);
            }
            Err(error) => error,
        };
        match error.retry {
            Retry::Never => break Err(error),
            Retry::RateLimited(retry_after) => {
                rate_limited += 1;
                let wait = throttle.rate_limited(permit, retry_after);
                let bound = settings.max_rate_limit_wait;
                if rate_limited_wait + wait > bound {
                    break Err(AttemptError {
                        message: format!(
                            "{} (rate-limited {rate_limited} times; waiting {} more would pass the {} a case may wait, run.max_rate_limit_wait_secs)",
                            error.message,
                            seconds(wait),
                            seconds(bound)
                        ),
                        retry: error.retry,
                    });
                }
                on_wait(Wait::RateLimited {
                    wait,
                    rate: throttle.rate(),
                });
                held_back_since = Some(Instant::now());
            }
            Retry::After(retry_after) => {
                let Some(delay) = backoff.next() else {
                    break Err(error);
                };
                let wait = match retry_after {
                    Some(hint) => {
                        throttle.pause(hint);
                        hint.max(delay).min(settings.max_retry_after)
                    }
                    None => delay,
                };
                on_wait(Wait::Retrying {
                    attempt: attempts,
                    wait,
                    reason: &error.message,
                });
                tokio::time::sleep(wait).await;
            }
        }
    };
    Attempted { result, attempts }
}

/// Asks the target about a batch of cases (see [`retrying`]) and turns the
/// outcome into one decision per case.
async fn ask(
    target: &dyn Moderator,
    cases: &[&Case],
    requests: &[ModerationRequest<'_>],
    settings: &RunSettings,
    context: &Context,
    observer: &dyn RunObserver,
) -> Vec<DecisionRecord> {
    let timeout = (!target.times_requests_itself()).then_some(settings.timeout);
    let started = Instant::now();
    let on_wait = |wait: Wait<'_>| match wait {
        Wait::RateLimited { wait, rate } => observer.on_event(&RunEvent::RateLimited {
            cases: cases.len(),
            wait,
            rate,
        }),
        Wait::Retrying { attempt, wait, reason } => observer.on_event(&RunEvent::Retrying {
            cases: cases.len(),
            attempt,
            wait,
            reason,
        }),
    };
    let Attempted { result, attempts } = retrying(&context.throttle, settings, timeout, on_wait, || {
        target.moderate(requests)
    })
    .await;
    let result = result.map_err(|error| match error.retry {
        Retry::RateLimited(_) => error.message,
        _ => with_attempts(error.message, attempts),
    });
    // as a decision keeps them: saturating where they outgrow its fields
    let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    let attempts = u16::try_from(attempts).unwrap_or(u16::MAX);
    match result {
        Ok(verdicts) if verdicts.len() == cases.len() => {
            if let Some(cache) = &context.cache {
                for (request, verdict) in requests.iter().zip(&verdicts) {
                    if verdict.action.is_some_and(|a| a != Action::Error) {
                        // A failed write only costs a repeated call later; the decision is journaled regardless.
                        let _ = cache.put(request, verdict);
                    }
                }
            }
            cases
                .iter()
                .zip(verdicts)
                .map(|(case, verdict)| decision_from_verdict(&case.id, verdict, latency_ms, attempts))
                .collect()
        }
        Ok(verdicts) => {
            let message = format!(
                "the target answered {} verdicts for {} cases",
                verdicts.len(),
                cases.len()
            );
            cases
                .iter()
                .map(|c| error_decision(&c.id, &message, latency_ms, attempts))
                .collect()
        }
        Err(message) => cases
            .iter()
            .map(|c| error_decision(&c.id, &message, latency_ms, attempts))
            .collect(),
    }
}

/// A duration for a message: `600 s`, `2.5 s`.
fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// An error message that says how many attempts it took, when more than one.
fn with_attempts(message: String, attempts: u32) -> String {
    if attempts > 1 {
        format!("{message} (after {attempts} attempts)")
    } else {
        message
    }
}

fn decision_from_verdict(case_id: &str, verdict: Verdict, latency_ms: u32, attempts: u16) -> DecisionRecord {
    let response_sha256 = verdict.response.as_ref().and_then(|response| {
        let mut hashed = HashingWriter::new(std::io::sink());
        serde_json::to_writer(&mut hashed, response).ok()?;
        Some(hashed.digest())
    });
    let (action, error, detail) = match verdict.action {
        Some(action @ (Action::Unsupported | Action::Error)) => (action, verdict.detail, None),
        Some(action) => (action, None, verdict.detail),
        None => (Action::Error, Some("the target gave no action".to_string()), None),
    };
    DecisionRecord {
        case_id: case_id.to_string(),
        decision: Decision {
            action,
            score: verdict.score.into(),
            latency_ms,
            attempts,
            cache_hit: false,
            details: DecisionDetails {
                scores: verdict.scores,
                notice: verdict.notice,
                error,
                detail,
                model: verdict.model,
            }
            .boxed(),
        },
        decided_at: chrono::Utc::now(),
        response_sha256,
        response: verdict.response,
    }
}

fn error_decision(case_id: &str, message: &str, latency_ms: u32, attempts: u16) -> DecisionRecord {
    DecisionRecord {
        case_id: case_id.to_string(),
        decision: Decision {
            action: Action::Error,
            score: OptionalScore::NONE,
            latency_ms,
            attempts,
            cache_hit: false,
            details: DecisionDetails {
                error: Some(message.to_string()),
                ..DecisionDetails::default()
            }
            .boxed(),
        },
        decided_at: chrono::Utc::now(),
        response_sha256: None,
        response: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::read_journal;

    fn decision(id: &str) -> DecisionRecord {
        error_decision(id, "unused", 1, 1)
    }

    /// `write` calls this thread has made so far (Linux's per-thread I/O accounting).
    #[cfg(target_os = "linux")]
    fn write_calls() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("syscw: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn decisions_waiting_together_are_written_in_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::journal::JOURNAL_FILE);
        let (journal, _) = Journal::open(&path).unwrap();
        let (tx, rx) = mpsc::channel(64);
        for i in 0..40 {
            tx.try_send(vec![decision(&format!("c{i}"))]).unwrap();
        }
        drop(tx);
        let before = write_calls();
        let written = write_journal(journal, rx, &super::super::Silent).unwrap();
        let writes = write_calls() - before;
        assert_eq!(written, 40);
        assert_eq!(writes, 1, "40 decisions waiting in the queue take one write");
        let (records, _) = read_journal(&path).unwrap();
        let ids: Vec<String> = records
            .into_iter()
            .map(|(_, r)| match r {
                Record::Decision(d) => d.case_id,
                other => panic!("{other:?}"),
            })
            .collect();
        let expected: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        assert_eq!(ids, expected);
    }
}
