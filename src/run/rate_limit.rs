//! Global rate limits on requests to the target: per second and per minute,
//! with no bursts, so that requests are evenly spaced and no window of the
//! server's clock sees more than the limit. Every attempt (retries included)
//! waits its turn before its timeout starts.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Spacing is widened by this factor so that network jitter never lets the
/// server see one request too many in any window.
const SAFETY_MARGIN: f64 = 1.02;

/// The limits of one run.
pub struct RateLimit {
    limiters: Vec<DefaultDirectRateLimiter>,
}

impl RateLimit {
    /// `None` when no limit is set.
    pub fn new(per_second: Option<f64>, per_minute: Option<f64>) -> Option<Self> {
        let periods = [per_second.map(|r| 1.0 / r), per_minute.map(|r| 60.0 / r)];
        let limiters: Vec<DefaultDirectRateLimiter> = periods
            .into_iter()
            .flatten()
            .filter_map(|seconds| Quota::with_period(Duration::from_secs_f64(seconds * SAFETY_MARGIN)))
            .map(|quota| RateLimiter::direct(quota.allow_burst(NonZeroU32::MIN)))
            .collect();
        (!limiters.is_empty()).then_some(RateLimit { limiters })
    }

    /// Waits until every limit allows one more request.
    pub async fn until_ready(&self) {
        for limiter in &self.limiters {
            limiter.until_ready().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_spaced_by_the_limit() {
        let limit = RateLimit::new(Some(20.0), None).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..5 {
            limit.until_ready().await;
        }
        // the first goes at once, the other four 50 ms (+2 %) apart
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
        assert!(RateLimit::new(None, None).is_none());
    }
}
