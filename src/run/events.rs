//! Events the runner emits as it works; the progress bar and other observers
//! subscribe to them.

use std::time::Duration;

use crate::decision::DecisionRecord;

/// Something that happened during a run.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// The run is about to send `pending` of `total` cases (the rest were decided before).
    Started { total: u64, pending: u64 },
    /// A decision was recorded in the journal (as written: with its case).
    Decided(&'a DecisionRecord),
    /// An attempt failed and will be repeated after `wait`.
    Retrying {
        cases: usize,
        attempt: u32,
        wait: Duration,
        reason: &'a str,
    },
    /// The target answered 429 (too many requests): every worker waits `wait`,
    /// and requests now go at `rate` per second (`None`: unlimited).
    RateLimited {
        cases: usize,
        wait: Duration,
        rate: Option<f64>,
    },
    /// Every pending case was decided (or the run was interrupted).
    Finished,
}

/// Receives run events. Implementations must be cheap: they run on the journal's thread.
pub trait RunObserver: Send + Sync {
    fn on_event(&self, event: &RunEvent<'_>);
}

/// An observer that ignores everything.
pub struct Silent;

impl RunObserver for Silent {
    fn on_event(&self, _: &RunEvent<'_>) {}
}
