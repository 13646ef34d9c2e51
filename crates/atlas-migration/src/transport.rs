//! Sending one operation: the request built from the operation's constant, authentication,
//! retries decided by [`classify`](crate::classify), tracing, and the reply read with a cap.
//!
//! A call flows `ops.rs` (typed inputs → path and body) → [`Transport::send`] (here) →
//! `auth/` (digest or bearer) → reqwest, and back as a [`Reply`] that `ops.rs` decodes once
//! into the generated type and converts (`convert.rs`) into this crate's model.

use std::time::Duration;

use atlas_migration_sys::operations::Operation;
use bytes::Bytes;
use http::header::{HeaderValue, USER_AGENT};
use http::{Method, StatusCode};
use tracing::Instrument;

use crate::auth::{Auth, Failure};
use crate::body::{self, BodyError, MAX_ERROR_BODY};
use crate::classify::{self, Attempt, Decision};
use crate::error::{ApiError, DecodeError, DecodeKind, Error, TransportError};
use crate::governor::{self, Admission, Governor};
use crate::retry::{self, RetryPolicy};

/// A success reply, body read whole.
pub(crate) struct Reply {
    /// The 2xx status.
    pub(crate) status: StatusCode,
    /// The body (empty for 202/204).
    pub(crate) body: Bytes,
}

/// Everything a call needs besides its inputs; shared by all clones of a client.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    /// The base URL without a trailing slash, e.g. `https://cloud.mongodb.com`.
    pub(crate) base_url: String,
    pub(crate) auth: Auth,
    pub(crate) policy: RetryPolicy,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Option<Duration>,
    /// The most bytes of a success reply accepted.
    pub(crate) max_reply_size: usize,
    /// Paces requests to Atlas's rate limits and caps those in flight.
    pub(crate) governor: Governor,
}

impl Transport {
    /// Sends `operation` to `path` (from the operation's path function) with an optional JSON
    /// `body`, retrying what [`classify::decide`] allows. A non-2xx reply after the retries is
    /// [`Error::Api`].
    pub(crate) async fn send(
        &self,
        operation: &'static Operation,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Reply, Error> {
        let span = tracing::info_span!(
            "atlas_migration.call",
            operation = operation.name,
            method = operation.method,
            path = operation.path,
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        self.send_in_span(operation, path, body)
            .instrument(span)
            .await
    }

    async fn send_in_span(
        &self,
        operation: &'static Operation,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Reply, Error> {
        let url = format!("{}{path}", self.base_url);
        let url = reqwest::Url::parse(&url)
            .map_err(|e| Error::invalid_input("path", Some(path), e.to_string()))?;
        let method = Method::from_bytes(operation.method.as_bytes())
            .map_err(|e| Error::invalid_input("method", Some(operation.method), e.to_string()))?;
        let span = tracing::Span::current();
        let started = tokio::time::Instant::now();
        let scope = governor::scope_of(path);
        let outcome = retry::run(
            &self.policy,
            |attempt| {
                span.record("attempt", attempt);
                let request = self.request(operation, method.clone(), url.clone(), body.clone());
                async move {
                    // Budget first (waiting for Atlas's rate limit as learned), then a slot
                    // in flight, held until the reply's body is read.
                    let slot = self
                        .governor
                        .admit(scope, operation)
                        .await
                        .map_err(Failure::Fatal)?;
                    let sent = tokio::time::Instant::now();
                    let out = match self.auth.send(&self.http, request, operation.name).await {
                        Ok(reply) => Ok(Admitted {
                            reply: self.learn(scope, sent, reply).await,
                            _slot: slot,
                        }),
                        Err(e) => Err(e),
                    };
                    let elapsed_ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
                    match &out {
                        Ok(Admitted { reply: r, .. }) => tracing::debug!(
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
            |out| judge(operation, out),
        )
        .await;
        span.record(
            "elapsed_ms",
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        let Admitted { reply, _slot } = match outcome {
            Ok(admitted) => admitted,
            Err(Failure::Transport(e)) => {
                tracing::debug!(error = %e, "call failed");
                return Err(Error::Transport(TransportError::new(e, Some(operation))));
            }
            Err(Failure::Fatal(e) | Failure::Unprocessed(e)) => {
                if let Some(status) = e.status() {
                    span.record("status", status);
                }
                tracing::debug!(error = %e, "call failed");
                return Err(e);
            }
        };
        let status = reply.status();
        span.record("status", status.as_u16());
        if !status.is_success() {
            let headers = reply.headers().clone();
            let body = body::read_capped(reply, MAX_ERROR_BODY).await;
            let error = ApiError::from_reply(status.as_u16(), &headers, &body).during(operation);
            tracing::debug!(error = %error, "call failed");
            return Err(Error::Api(error));
        }
        match body::read_whole(reply, self.max_reply_size).await {
            Ok(body) => Ok(Reply { status, body }),
            Err(BodyError::Transport(e)) => {
                Err(Error::Transport(TransportError::new(e, Some(operation))))
            }
            Err(BodyError::TooLarge) => Err(Error::Decode(
                DecodeError::new(
                    operation.name,
                    Some(status.as_u16()),
                    format!(
                        "the reply is larger than {} bytes (see ClientBuilder::max_reply_size)",
                        self.max_reply_size
                    ),
                    None,
                )
                .of_kind(DecodeKind::TooLarge),
            )),
        }
    }

    /// One attempt's request: the operation's versioned media types, the user agent and the
    /// client's timeout. Built afresh per attempt (the body is shared, not copied).
    fn request(
        &self,
        operation: &'static Operation,
        method: Method,
        url: reqwest::Url,
        body: Option<Bytes>,
    ) -> reqwest::Request {
        let mut request = reqwest::Request::new(method, url);
        if let Some(body) = body {
            *request.body_mut() = Some(body.into());
        }
        atlas_migration_sys::hooks::set_media_types(&mut request, operation);
        request
            .headers_mut()
            .insert(USER_AGENT, self.user_agent.clone());
        *request.timeout_mut() = self.timeout;
        request
    }
}

/// A reply, and the request slot it holds until its body is read.
struct Admitted<'a> {
    reply: reqwest::Response,
    _slot: Admission<'a>,
}

impl Transport {
    /// Lets the governor learn from `reply` to a request sent at `sent` (its rate-limit
    /// headers; for a 429 also the error's detail, which means reading the capped body and
    /// handing back a copy).
    async fn learn(
        &self,
        scope: &str,
        sent: tokio::time::Instant,
        reply: reqwest::Response,
    ) -> reqwest::Response {
        let status = reply.status();
        if status != StatusCode::TOO_MANY_REQUESTS {
            self.governor
                .learn(scope, sent, status.as_u16(), reply.headers(), None);
            return reply;
        }
        let headers = reply.headers().clone();
        let body = body::read_capped(reply, MAX_ERROR_BODY).await;
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("detail")?.as_str().map(str::to_owned));
        self.governor
            .learn(scope, sent, status.as_u16(), &headers, detail.as_deref());
        let mut copy = http::Response::new(body);
        *copy.status_mut() = status;
        *copy.headers_mut() = headers;
        reqwest::Response::from(copy)
    }
}

/// What the retry loop does after one attempt: [`classify::decide`] on what happened.
fn judge(operation: &Operation, out: &Result<Admitted<'_>, Failure>) -> Decision {
    let attempt = match out {
        Ok(Admitted { reply, .. }) => Attempt::Replied {
            status: reply.status().as_u16(),
            headers: reply.headers(),
        },
        Err(Failure::Transport(e)) if e.is_connect() => Attempt::ConnectFailed,
        Err(Failure::Transport(_)) => Attempt::NoReply,
        Err(Failure::Unprocessed(_)) => Attempt::NotProcessed,
        Err(Failure::Fatal(_)) => Attempt::Final,
    };
    classify::decide(operation.idempotent, attempt)
}
