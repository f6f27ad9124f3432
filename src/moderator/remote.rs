//! Remote moderation APIs: one [`Moderator`] for every adapter that calls an
//! HTTP API.
//!
//! An adapter ([`HttpApi`]) says how a batch of cases becomes calls and how the
//! answers become verdicts; [`HttpModerator`] makes it a target. Everything else
//! is shared: the transport (redaction, same-origin redirects, classification
//! of failures) in [`super::transport`], the keys in [`super::env`], and
//! batching, retries, timeouts and rate limits in the runner. Answers of a
//! remote API may be cached: the API bills per call.

use super::{AttemptError, BoxFuture, ModerationRequest, Moderator, TargetInfo, Verdict};

/// How one HTTP API is asked about cases.
pub trait HttpApi: Send + Sync {
    /// How many cases one call carries (1: the API takes one text per call).
    fn batch_size(&self) -> usize {
        1
    }

    /// Asks about a batch of at most [`HttpApi::batch_size`] cases; on success,
    /// one verdict per request, in order. An API that takes one text per call
    /// asks about each in turn with [`super::one_by_one`].
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>>;
}

/// A remote API as a target.
pub struct HttpModerator<A> {
    api: A,
    info: TargetInfo,
}

impl<A: HttpApi> HttpModerator<A> {
    /// The API `api`, described (and fingerprinted) by `info`. Each adapter's
    /// module has the constructor that computes them from its configuration.
    pub fn from_parts(api: A, info: TargetInfo) -> Self {
        HttpModerator { api, info }
    }

    /// The adapter.
    pub fn api(&self) -> &A {
        &self.api
    }
}

impl<A: HttpApi> Moderator for HttpModerator<A> {
    fn info(&self) -> TargetInfo {
        self.info.clone()
    }

    fn batch_size(&self) -> usize {
        self.api.batch_size().max(1)
    }

    fn cacheable(&self) -> bool {
        true
    }

    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        self.api.call(batch)
    }
}
