//! The [`Executor`] the generated client sends through: authentication, retries, tracing and
//! error capture.
//!
//! `Executor::execute` can only return `reqwest::Result<Response>`, so this crate's own errors
//! (a refused API key, a decoded Atlas error body) travel in a per-call slot: each public
//! method runs its generated call inside [`capture`], the executor [`stash`]es the error there
//! and returns a small synthesized response, and the method reads the slot once the generated
//! call returns. The slot is a `tokio::task_local!`, so concurrent calls never see each
//! other's errors.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

use atlas_migration_sys::hooks::{ExecFuture, Executor};
use atlas_migration_sys::operations::Operation;
use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderValue, USER_AGENT};
use tracing::Instrument;

use crate::auth::{Auth, Failure};
use crate::error::{ApiError, Error, MAX_ERROR_BODY, RetryAfter, is_transient_status};
use crate::retry::{self, RetryPolicy, Verdict};

tokio::task_local! {
    static SLOT: RefCell<Option<Error>>;
}

/// Runs `call` with an empty error slot; returns its output and whatever the executor stashed.
pub(crate) async fn capture<F: Future>(call: F) -> (F::Output, Option<Error>) {
    SLOT.scope(RefCell::new(None), async {
        let out = call.await;
        let stashed = SLOT.with(|s| s.borrow_mut().take());
        (out, stashed)
    })
    .await
}

/// Puts `error` in the current call's slot (no-op outside [`capture`]).
fn stash(error: Error) {
    let _ = SLOT.try_with(|s| *s.borrow_mut() = Some(error));
}

/// A stand-in response whose only job is to end the generated call; the real error is in the
/// slot.
fn placeholder(status: StatusCode) -> reqwest::Response {
    let mut r = http::Response::new(Bytes::new());
    *r.status_mut() = status;
    reqwest::Response::from(r)
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of `reply`'s body; the rest is never buffered.
/// A broken body reads as what arrived before the break.
pub(crate) async fn read_capped(mut reply: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match reply.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

pub(crate) struct AtlasExecutor {
    pub(crate) auth: Auth,
    pub(crate) policy: RetryPolicy,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Option<Duration>,
}

impl Executor for AtlasExecutor {
    fn execute<'a>(
        &'a self,
        http: &'a reqwest::Client,
        request: reqwest::Request,
        operation: &'static Operation,
    ) -> ExecFuture<'a> {
        let span = tracing::info_span!(
            "atlas_migration.call",
            operation = operation.name,
            method = operation.method,
            path = operation.path,
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        Box::pin(self.run(http, request, operation).instrument(span))
    }
}

impl AtlasExecutor {
    async fn run(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        operation: &'static Operation,
    ) -> reqwest::Result<reqwest::Response> {
        request
            .headers_mut()
            .insert(USER_AGENT, self.user_agent.clone());
        if let Some(t) = self.timeout {
            request.timeout_mut().get_or_insert(t);
        }
        let idempotent = operation.method != "POST";
        let started = tokio::time::Instant::now();
        let span = tracing::Span::current();
        let mut template = Some(request);
        let outcome = retry::run(
            &self.policy,
            |attempt| {
                span.record("attempt", attempt);
                // Bodies built by the generated client are buffered, so cloning succeeds; a
                // request that cannot be cloned is sent once.
                let request = match template.as_ref().and_then(reqwest::Request::try_clone) {
                    Some(copy) => Some(copy),
                    None => template.take(),
                };
                async move {
                    let sent = tokio::time::Instant::now();
                    let out = match request {
                        Some(r) => self.auth.send(http, r).await,
                        None => Err(Failure::Fatal(Error::invalid_input(
                            "request",
                            None,
                            "the request body cannot be sent twice",
                        ))),
                    };
                    let elapsed_ms = sent.elapsed().as_millis() as u64;
                    match &out {
                        Ok(r) => tracing::debug!(
                            attempt,
                            status = r.status().as_u16(),
                            elapsed_ms,
                            "attempt finished"
                        ),
                        Err(Failure::Transport(e)) => {
                            tracing::debug!(attempt, elapsed_ms, error = %e, "attempt failed")
                        }
                        Err(Failure::Fatal(e) | Failure::Unprocessed(e)) => {
                            tracing::debug!(attempt, elapsed_ms, error = %e, "attempt failed")
                        }
                    }
                    out
                }
            },
            |out| judge(out, idempotent),
        )
        .await;
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        match outcome {
            Ok(reply) if reply.status().is_success() => {
                span.record("status", reply.status().as_u16());
                Ok(reply)
            }
            Ok(reply) => {
                let status = reply.status();
                span.record("status", status.as_u16());
                let headers = reply.headers().clone();
                let body = read_capped(reply).await;
                let error = ApiError::from_reply(status.as_u16(), &headers, &body);
                tracing::debug!(error = %error, "call failed");
                stash(Error::Api(error));
                Ok(placeholder(status))
            }
            Err(Failure::Transport(e)) => {
                tracing::debug!(error = %e, "call failed");
                Err(e)
            }
            Err(Failure::Fatal(e) | Failure::Unprocessed(e)) => {
                let status = e.status().and_then(|s| StatusCode::from_u16(s).ok());
                if let Some(s) = status {
                    span.record("status", s.as_u16());
                }
                tracing::debug!(error = %e, "call failed");
                stash(e);
                Ok(placeholder(status.unwrap_or(StatusCode::UNAUTHORIZED)))
            }
        }
    }
}

/// Whether an attempt's outcome is worth another attempt.
fn judge(out: &Result<reqwest::Response, Failure>, idempotent: bool) -> Verdict {
    match out {
        Ok(reply) => {
            let status = reply.status().as_u16();
            let retry = if idempotent {
                is_transient_status(status)
            } else {
                status == 429
            };
            if retry {
                Verdict::Retry(RetryAfter::from_headers(reply.headers()).map(|r| r.delay))
            } else {
                Verdict::Done
            }
        }
        // A failed connect never sent the request; an idempotent request may be repeated after
        // any transport failure (timeout, connection dropped before the reply).
        Err(Failure::Transport(e)) => {
            if e.is_connect() || idempotent {
                Verdict::Retry(None)
            } else {
                Verdict::Done
            }
        }
        Err(Failure::Unprocessed(_)) => Verdict::Retry(None),
        Err(Failure::Fatal(_)) => Verdict::Done,
    }
}
