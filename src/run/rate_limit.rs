//! The pace of requests to one target.
//!
//! Requests are evenly spaced, never sent in bursts, so that no window of the
//! server's clock sees more than the configured limits (`requests_per_second`,
//! `requests_per_minute`): a token bucket that let a full bucket out at once
//! after an idle spell (or after a pause) would break them.
//!
//! When the system answers 429 ("too many requests"), the pace adapts the way
//! TCP's congestion control does (AIMD): the rate is halved — once per round of
//! requests, since the answers to requests already on their way say nothing new
//! — and then recovers by a tenth of the configured rate per second of sending,
//! up to the configured rate and never beyond. A target without a configured
//! rate takes the rate at which the first 429 came as its ceiling. A
//! `Retry-After` (or, for a 429 without one, a pause starting at one second and
//! doubling while 429s follow each other) holds back every worker, not just the
//! one that was told. Every attempt, retries included, waits its turn before its
//! timeout starts.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::manifest::RateLimiting;

/// Spacing is widened by this factor so that network jitter never lets the
/// server see one request too many in any window.
const SAFETY_MARGIN: f64 = 1.02;
/// A 429 multiplies the rate by this.
const DECREASE: f64 = 0.5;
/// The rate recovers by the ceiling per this much time spent sending.
const RECOVERY: Duration = Duration::from_secs(10);
/// The rate never falls below the ceiling divided by this.
const FLOOR_DIVISOR: f64 = 64.0;
/// The pause after a 429 without `Retry-After`; it doubles with each further
/// one until a request succeeds.
const UNHINTED_PAUSE: Duration = Duration::from_secs(1);
/// The sending rate of a target without a configured rate is measured over this window…
const MEASURE_WINDOW: Duration = Duration::from_secs(1);
/// …from at most this many of its latest requests.
const MEASURE_MAX: usize = 4096;

/// A turn to send one request.
#[derive(Debug, Clone, Copy)]
pub struct Permit {
    /// How many times the rate had been lowered when the request went out.
    epoch: u64,
}

/// The shared pace of every request to one target.
pub struct Throttle {
    pace: Mutex<Pace>,
    /// Tells waiting workers that their turns were cancelled (a pause, a lower rate).
    reset: watch::Sender<u64>,
    /// The longest pause one answer may impose.
    max_pause: Duration,
}

impl Throttle {
    /// A pace with the configured limits (none: as fast as the workers go until
    /// the system objects); `max_pause` caps what one `Retry-After` may impose.
    pub fn new(per_second: Option<f64>, per_minute: Option<f64>, max_pause: Duration) -> Self {
        let ceiling = [per_second, per_minute.map(|r| r / 60.0)]
            .into_iter()
            .flatten()
            .filter(|r| r.is_finite() && *r > 0.0)
            .reduce(f64::min);
        Throttle {
            pace: Mutex::new(Pace::new(ceiling, Instant::now())),
            reset: watch::Sender::new(0),
            max_pause,
        }
    }

    fn pace(&self) -> MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this request's turn.
    pub async fn acquire(&self) -> Permit {
        'reserve: loop {
            let (mut wake, generation, mut resets) = {
                let mut pace = self.pace();
                let now = Instant::now();
                let slot = pace.reserve(now);
                if slot <= now {
                    return pace.grant(now);
                }
                // Subscribed under the lock (resets are sent under it), so no
                // reset can slip between the two; only a caller that has to
                // wait pays for the subscription.
                (slot, pace.generation, self.reset.subscribe())
            };
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(wake.into()) => {}
                    _ = resets.changed() => continue 'reserve,
                }
                let mut pace = self.pace();
                if pace.generation != generation {
                    continue 'reserve;
                }
                // A turn taken late pushes the next one back: the spacing holds
                // between the moments requests really go out.
                let now = Instant::now();
                match pace.not_before(now) {
                    Some(later) => wake = later,
                    None => return pace.grant(now),
                }
            }
        }
    }

    /// The answer to the request sent with `permit` was a 429, with the server's
    /// `Retry-After` if it gave one. Returns how long the target now waits.
    pub fn rate_limited(&self, permit: Permit, retry_after: Option<Duration>) -> Duration {
        let now = Instant::now();
        let mut pace = self.pace();
        if pace.rate_limited(now, permit.epoch, retry_after, self.max_pause) {
            self.reset.send_replace(pace.generation);
        }
        pace.paused_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    /// The server asked for a pause (a `Retry-After` on a transient failure).
    pub fn pause(&self, retry_after: Duration) {
        let mut pace = self.pace();
        if pace.pause(Instant::now(), retry_after.min(self.max_pause)) {
            pace.restart();
            self.reset.send_replace(pace.generation);
        }
    }

    /// A request was answered: the rate recovers.
    pub fn succeeded(&self) {
        self.pace().recover(Instant::now());
    }

    /// The current rate in requests per second (`None`: not limited).
    pub fn rate(&self) -> Option<f64> {
        self.pace().rate
    }

    /// What rate limiting has cost so far.
    pub fn rate_limiting(&self) -> RateLimiting {
        self.pace().stats
    }
}

/// The state of a [`Throttle`], as a function of the time it is told.
#[derive(Debug)]
struct Pace {
    /// The highest rate, in requests per second.
    ceiling: Option<f64>,
    /// The current rate; `None` until the first limit.
    rate: Option<f64>,
    /// The earliest turn not yet handed out.
    next_slot: Option<Instant>,
    /// When the latest request went out.
    last_sent: Option<Instant>,
    paused_until: Option<Instant>,
    /// Bumped whenever outstanding turns are cancelled.
    generation: u64,
    /// Bumped whenever the rate is lowered.
    epoch: u64,
    /// Recovery counts the time sending since this instant.
    recovering_since: Instant,
    /// 429s without `Retry-After` since the last success.
    unhinted: u32,
    /// When the latest requests went out, while no rate is set.
    sent: VecDeque<Instant>,
    stats: RateLimiting,
}

impl Pace {
    fn new(ceiling: Option<f64>, now: Instant) -> Self {
        Pace {
            ceiling,
            rate: ceiling,
            next_slot: None,
            last_sent: None,
            paused_until: None,
            generation: 0,
            epoch: 0,
            recovering_since: now,
            unhinted: 0,
            sent: VecDeque::new(),
            stats: RateLimiting::default(),
        }
    }

    /// Hands out the next turn at or after `now`.
    fn reserve(&mut self, now: Instant) -> Instant {
        let mut slot = self.not_before(now).unwrap_or(now);
        if let Some(rate) = self.rate {
            if let Some(next) = self.next_slot {
                slot = slot.max(next);
            }
            self.next_slot = Some(slot + spacing(rate));
        }
        slot
    }

    /// The earliest a request may go out if not now: after the pause, and one
    /// spacing after the latest request.
    fn not_before(&self, now: Instant) -> Option<Instant> {
        let after_last = match (self.rate, self.last_sent) {
            (Some(rate), Some(last)) => Some(last + spacing(rate)),
            _ => None,
        };
        [self.paused_until, after_last]
            .into_iter()
            .flatten()
            .max()
            .filter(|t| *t > now)
    }

    /// A request goes out at `now`.
    fn grant(&mut self, now: Instant) -> Permit {
        self.last_sent = Some(now);
        if let (Some(rate), Some(next)) = (self.rate, self.next_slot) {
            self.next_slot = Some(next.max(now + spacing(rate)));
        }
        if self.rate.is_none() {
            self.sent.push_back(now);
            while self.sent.len() > MEASURE_MAX
                || self
                    .sent
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(*t) > MEASURE_WINDOW)
            {
                self.sent.pop_front();
            }
        }
        Permit { epoch: self.epoch }
    }

    /// A 429 to a request sent in `epoch`; returns whether outstanding turns
    /// must be handed out again.
    fn rate_limited(&mut self, now: Instant, epoch: u64, retry_after: Option<Duration>, max_pause: Duration) -> bool {
        self.stats.responses += 1;
        let mut changed = false;
        if epoch == self.epoch {
            let current = self.rate.unwrap_or_else(|| self.measured_rate(now));
            let ceiling = *self.ceiling.get_or_insert(current);
            let lowered = (current * DECREASE).max(ceiling / FLOOR_DIVISOR);
            self.rate = Some(lowered);
            self.stats.lowest_rate = Some(self.stats.lowest_rate.map_or(lowered, |l| l.min(lowered)));
            self.epoch += 1;
            self.sent.clear();
            changed = true;
        }
        let pause = match retry_after {
            Some(wait) => wait.min(max_pause),
            None => {
                let doubled = UNHINTED_PAUSE.saturating_mul(1 << self.unhinted.min(16));
                self.unhinted = self.unhinted.saturating_add(1);
                doubled.min(max_pause)
            }
        };
        changed |= self.pause(now, pause);
        self.recovering_since = self.recovering_since.max(self.paused_until.unwrap_or(now)).max(now);
        if changed {
            self.restart();
        }
        changed
    }

    /// Holds every request back until `now + length`; returns whether that
    /// extends the current pause. The time added is counted as waited.
    fn pause(&mut self, now: Instant, length: Duration) -> bool {
        let until = now + length;
        let from = self.paused_until.map_or(now, |p| p.max(now));
        if until <= from {
            return false;
        }
        self.stats.waited_secs += (until - from).as_secs_f64();
        self.paused_until = Some(until);
        true
    }

    /// Cancels every outstanding turn; the next one keeps its distance from the last taken.
    fn restart(&mut self) {
        self.generation += 1;
        self.next_slot = match (self.rate, self.last_sent) {
            (Some(rate), Some(last)) => Some(last + spacing(rate)),
            _ => None,
        };
    }

    /// A request succeeded at `now`: the rate climbs back towards the ceiling.
    fn recover(&mut self, now: Instant) {
        self.unhinted = 0;
        let (Some(rate), Some(ceiling)) = (self.rate, self.ceiling) else {
            return;
        };
        let since = self
            .recovering_since
            .max(self.paused_until.unwrap_or(self.recovering_since));
        if rate >= ceiling || now <= since {
            return;
        }
        let gained = ceiling * (now - since).as_secs_f64() / RECOVERY.as_secs_f64();
        self.rate = Some((rate + gained).min(ceiling));
        self.recovering_since = now;
    }

    /// Requests per second over the last window (at least one).
    fn measured_rate(&self, now: Instant) -> f64 {
        let recent = self
            .sent
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= MEASURE_WINDOW)
            .count();
        (recent as f64 / MEASURE_WINDOW.as_secs_f64()).max(1.0)
    }
}

/// The distance between two turns at `rate` requests per second.
fn spacing(rate: f64) -> Duration {
    Duration::from_secs_f64(SAFETY_MARGIN / rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn take(pace: &mut Pace, now: Instant) -> Instant {
        let slot = pace.reserve(now);
        pace.grant(slot);
        slot
    }

    #[test]
    fn turns_are_evenly_spaced_without_a_burst_after_idling() {
        let t0 = Instant::now();
        let mut pace = Pace::new(Some(10.0), t0);
        let slots: Vec<Instant> = (0..4).map(|_| pace.reserve(t0)).collect();
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], spacing(10.0));
        }
        // after a long idle spell, still one at a time
        let later = t0 + Duration::from_secs(60);
        let a = pace.reserve(later);
        let b = pace.reserve(later);
        assert_eq!((a, b - a), (later, spacing(10.0)));
        let mut free = Pace::new(None, t0);
        assert_eq!(free.reserve(t0), t0);
        assert_eq!(free.reserve(t0), t0, "no limit: no spacing");
    }

    #[test]
    fn a_turn_taken_late_pushes_the_next_one_back() {
        let t0 = Instant::now();
        let mut pace = Pace::new(Some(10.0), t0);
        let a = pace.reserve(t0);
        let b = pace.reserve(t0);
        let late = a + 50 * MS;
        pace.grant(late);
        assert_eq!(pace.not_before(b), Some(late + spacing(10.0)));
        assert_eq!(pace.not_before(late + spacing(10.0)), None);
        pace.grant(late + spacing(10.0));
        assert_eq!(
            pace.reserve(late + spacing(10.0)),
            late + 2 * spacing(10.0),
            "later turns keep their distance"
        );
    }

    #[test]
    fn a_429_halves_the_rate_once_per_round_and_pauses_everyone() {
        let t0 = Instant::now();
        let mut pace = Pace::new(Some(10.0), t0);
        let first = take(&mut pace, t0);
        let epoch = pace.epoch;
        assert!(pace.rate_limited(
            first + MS,
            epoch,
            Some(Duration::from_secs(1)),
            Duration::from_secs(120)
        ));
        assert_eq!(pace.rate, Some(5.0));
        // an answer to a request sent before the rate was lowered lowers it no further
        pace.rate_limited(
            first + 2 * MS,
            epoch,
            Some(Duration::from_secs(1)),
            Duration::from_secs(120),
        );
        assert_eq!(pace.rate, Some(5.0));
        assert_eq!(pace.stats.responses, 2);
        assert_eq!(pace.stats.lowest_rate, Some(5.0));
        // nobody goes before the pause ends, then turns are spaced at the new rate
        let next = pace.reserve(first + 10 * MS);
        assert_eq!(next, first + MS + Duration::from_secs(1) + MS);
        assert_eq!(pace.reserve(next) - next, spacing(5.0));
        // the two overlapping pauses count once
        let waited = pace.stats.waited_secs;
        assert!((waited - 1.001).abs() < 1e-9, "{waited}");
    }

    #[test]
    fn the_rate_recovers_additively_up_to_the_ceiling_and_never_below_the_floor() {
        let t0 = Instant::now();
        let mut pace = Pace::new(Some(10.0), t0);
        for _ in 0..20 {
            let epoch = pace.epoch;
            pace.rate_limited(t0, epoch, Some(Duration::ZERO), Duration::from_secs(120));
        }
        assert_eq!(pace.rate, Some(10.0 / FLOOR_DIVISOR));
        pace.rate = Some(5.0);
        pace.recover(t0 + Duration::from_secs(2));
        assert!((pace.rate.unwrap() - 7.0).abs() < 1e-9, "{:?}", pace.rate);
        pace.recover(t0 + Duration::from_secs(60));
        assert_eq!(pace.rate, Some(10.0), "never above the configured rate");
    }

    #[test]
    fn time_spent_paused_does_not_count_as_recovery() {
        let t0 = Instant::now();
        let mut pace = Pace::new(Some(10.0), t0);
        pace.rate_limited(t0, 0, Some(Duration::from_secs(30)), Duration::from_secs(120));
        pace.recover(t0 + Duration::from_secs(31));
        assert!((pace.rate.unwrap() - 6.0).abs() < 1e-9, "{:?}", pace.rate);
    }

    #[test]
    fn without_retry_after_the_pause_doubles_until_a_success() {
        let t0 = Instant::now();
        let mut pace = Pace::new(Some(10.0), t0);
        let max = Duration::from_secs(120);
        pace.rate_limited(t0, 0, None, max);
        assert_eq!(pace.paused_until, Some(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        pace.rate_limited(t1, pace.epoch, None, max);
        assert_eq!(pace.paused_until, Some(t1 + Duration::from_secs(2)));
        pace.recover(t1 + Duration::from_secs(3));
        let t2 = t1 + Duration::from_secs(4);
        pace.rate_limited(t2, pace.epoch, None, max);
        assert_eq!(pace.paused_until, Some(t2 + Duration::from_secs(1)));
        pace.rate_limited(t2, pace.epoch, Some(Duration::from_secs(600)), max);
        assert_eq!(pace.paused_until, Some(t2 + max), "Retry-After is capped");
    }

    #[test]
    fn without_a_configured_rate_the_rate_that_drew_the_429_is_the_ceiling() {
        let t0 = Instant::now();
        let mut pace = Pace::new(None, t0);
        for i in 0..40 {
            let now = t0 + 10 * MS * i;
            pace.reserve(now);
            pace.grant(now);
        }
        pace.rate_limited(t0 + Duration::from_millis(400), 0, None, Duration::from_secs(120));
        assert_eq!(pace.ceiling, Some(40.0));
        assert_eq!(pace.rate, Some(20.0));
    }

    #[test]
    fn turns_handed_out_before_a_pause_are_handed_out_again() {
        let t0 = Instant::now();
        let mut pace = Pace::new(Some(10.0), t0);
        let first = take(&mut pace, t0);
        let stale = pace.reserve(t0);
        let generation = pace.generation;
        pace.rate_limited(
            first,
            pace.epoch,
            Some(Duration::from_secs(1)),
            Duration::from_secs(120),
        );
        assert_ne!(pace.generation, generation, "the stale turn is cancelled");
        let again = pace.reserve(t0);
        assert!(again >= first + Duration::from_secs(1) && again > stale);
    }

    #[tokio::test]
    async fn requests_are_spaced_by_the_limit() {
        let throttle = Throttle::new(Some(20.0), None, Duration::from_secs(120));
        let start = Instant::now();
        for _ in 0..5 {
            throttle.acquire().await;
        }
        // the first goes at once, the other four 50 ms (+2 %) apart
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_pause_holds_back_workers_already_waiting() {
        let throttle = std::sync::Arc::new(Throttle::new(Some(10.0), None, Duration::from_secs(120)));
        let permit = throttle.acquire().await;
        let waiting = {
            let throttle = std::sync::Arc::clone(&throttle);
            tokio::spawn(async move {
                throttle.acquire().await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let told = Instant::now();
        throttle.rate_limited(permit, Some(Duration::from_millis(300)));
        let went = waiting.await.unwrap();
        assert!(went >= told + Duration::from_millis(300), "{:?}", went - told);
    }
}
