//! The terminal progress bar: decided, errors, retries, rate-limited answers
//! and current rate.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::events::{RunEvent, RunObserver};
use crate::decision::Action;

/// A progress bar on stderr; draws nothing when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    errors: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

impl Progress {
    pub fn new(on_terminal: bool) -> Self {
        let target = if on_terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} decided · {msg} · {per_sec} (eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar,
            errors: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    fn update_message(&self) {
        let mut message = format!(
            "{} errors · {} retries",
            self.errors.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed)
        );
        let rate_limited = self.rate_limited.load(Ordering::Relaxed);
        if rate_limited > 0 {
            message.push_str(&format!(" · {rate_limited} rate-limited"));
        }
        self.bar.set_message(message);
    }
}

impl RunObserver for Progress {
    fn on_event(&self, event: &RunEvent<'_>) {
        match event {
            RunEvent::Started { total, pending } => {
                self.bar.set_length(*total);
                self.bar.set_position(total - pending);
                self.bar.reset_eta();
                self.update_message();
            }
            RunEvent::Decided(decided) => {
                if decided.decision.action == Action::Error {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    self.update_message();
                }
                self.bar.inc(1);
            }
            RunEvent::Retrying { .. } => {
                self.retries.fetch_add(1, Ordering::Relaxed);
                self.update_message();
            }
            RunEvent::RateLimited { .. } => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                self.update_message();
            }
            RunEvent::Finished => self.bar.finish_and_clear(),
        }
    }
}
