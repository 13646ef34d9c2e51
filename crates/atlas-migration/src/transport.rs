//! Sending one operation: the request built from the operation's constant, authentication,
//! retries decided by [`classify`](crate::classify), tracing, and the reply read with a cap.
//!
//! A call flows `ops.rs` (typed inputs → path and body) → [`Transport::send`] (here) →
//! `auth/` (digest or bearer) → reqwest, and back as a [`Reply`] that `ops.rs` decodes once
//! into the generated type and converts (`convert.rs`) into this crate's model.

use std::sync::Arc;
use std::time::Duration;

use atlas_migration_sys::operations::Operation;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, USER_AGENT};
use http::{Method, StatusCode};
use tracing::Instrument;

use crate::auth::{Auth, Failure, Recipe};
use crate::body::{self, BodyError, MAX_ERROR_BODY};
use crate::classify::{self, Attempt, Decision};
use crate::client::CallOverrides;
use crate::error::{ApiError, DecodeError, DecodeKind, Error, Repr, TransportError};
use crate::governor::{self, Admission, ErrorBody, Governor};
use crate::interceptor::{AttemptRequest, AttemptResponse, Interceptor};
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
    /// The base URL parsed once: each call's URL is a copy with the operation's path set,
    /// not the whole URL parsed again (host parsing is most of a parse's cost).
    pub(crate) base: reqwest::Url,
    pub(crate) auth: Auth,
    pub(crate) policy: RetryPolicy,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Option<Duration>,
    /// The most bytes of a success reply accepted.
    pub(crate) max_reply_size: usize,
    /// Paces requests to Atlas's rate limits and caps those in flight.
    pub(crate) governor: Governor,
    /// The caller's interceptors, in the order added.
    pub(crate) interceptors: Vec<Arc<dyn Interceptor>>,
    /// The base URL's host and port, for spans.
    pub(crate) server_address: String,
    pub(crate) server_port: u16,
}

impl Transport {
    /// Sends `operation` to `path` (from the operation's path function) with an optional JSON
    /// `body`, retrying what [`classify::decide`] allows, and turns the reply into `T` with
    /// `decode`, all within the call's span. A non-2xx reply after the retries is an error of
    /// kind [`ErrorKind::Api`](crate::ErrorKind::Api). Whatever fails, the span records it
    /// (`error.type`, ERROR status).
    pub(crate) async fn call<T>(
        &self,
        operation: &'static Operation,
        path: &str,
        body: Option<Bytes>,
        overrides: Option<&CallOverrides>,
        decode: impl FnOnce(Reply) -> Result<T, Error>,
    ) -> Result<T, Error> {
        // Shaped by OpenTelemetry's HTTP client conventions (stable attributes), so that a
        // tracing-to-OpenTelemetry bridge exports a proper client span.
        let span = tracing::info_span!(
            "atlas_migration.call",
            otel.name = %format_args!("{} {}", operation.method, operation.path),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            operation = operation.name,
            http.request.method = operation.method,
            url.template = operation.path,
            server.address = %self.server_address,
            server.port = self.server_port,
            http.request.resend_count = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let recorded = span.clone();
        async move {
            let result = match self.send_in_span(operation, path, body, overrides).await {
                Ok(reply) => {
                    let status = reply.status.as_u16();
                    decode(reply).map_err(|e| {
                        e.map_repr(|r| match r {
                            Repr::Decode(d) => Repr::Decode(d.of_reply(status)),
                            other => other,
                        })
                    })
                }
                Err(e) => Err(e),
            };
            if let Err(e) = &result {
                record_failure(&recorded, e);
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn send_in_span(
        &self,
        operation: &'static Operation,
        path: &str,
        body: Option<Bytes>,
        overrides: Option<&CallOverrides>,
    ) -> Result<Reply, Error> {
        let policy = overrides
            .and_then(|o| o.policy.as_ref())
            .unwrap_or(&self.policy);
        let timeout = overrides.and_then(|o| o.timeout).unwrap_or(self.timeout);
        // Waits inside the call (for budget, a connection slot, a challenge or a token) end
        // by the caller's deadline, when its handle has one.
        let deadline = overrides.and_then(|o| o.deadline);
        let url = self.url_of(path);
        let method = Method::from_bytes(operation.method.as_bytes())
            .map_err(|e| Error::invalid_input("method", Some(operation.method), e.to_string()))?;
        let span = tracing::Span::current();
        let started = tokio::time::Instant::now();
        let scope = governor::scope_of(path);
        let refusals = std::sync::atomic::AtomicU32::new(0);
        let outcome = retry::run(
            policy,
            deadline,
            |attempt| {
                if attempt > 1 {
                    span.record("http.request.resend_count", attempt - 1);
                }
                let added = self.intercepted(operation, attempt);
                let (method, url, body) = (&method, &url, &body);
                let make = move || self.request(operation, timeout, method, url, body, &added);
                let attempt_span = tracing::info_span!(
                    "atlas_migration.attempt",
                    otel.kind = "client",
                    http.request.method = operation.method,
                    url.template = operation.path,
                    http.request.resend_count = tracing::field::Empty,
                    http.response.status_code = tracing::field::Empty,
                    error.type = tracing::field::Empty,
                );
                if attempt > 1 {
                    attempt_span.record("http.request.resend_count", attempt - 1);
                }
                let recorded = attempt_span.clone();
                async move {
                    // Budget first (waiting for Atlas's rate limit as learned), then a slot
                    // in flight, held until the reply's body is read.
                    let slot = self
                        .governor
                        .admit(scope, operation, deadline)
                        .await
                        .map_err(Failure::Fatal)?;
                    let sent = tokio::time::Instant::now();
                    let recipe = Recipe {
                        url,
                        timeout,
                        make: &make,
                    };
                    let out = match self
                        .auth
                        .send(&self.http, &recipe, operation.name, deadline)
                        .await
                    {
                        Ok(reply) => {
                            let mut slot = slot;
                            Ok(Admitted {
                                reply: self.learn(&mut slot, sent, reply).await,
                                _slot: slot,
                            })
                        }
                        Err(e @ Failure::Unprocessed(_)) => {
                            slot.not_sent();
                            Err(e)
                        }
                        Err(e) => Err(e),
                    };
                    let elapsed = sent.elapsed();
                    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
                    let (status, error_type) = attempt_result(&out);
                    if let Some(status) = status {
                        recorded.record("http.response.status_code", status);
                    }
                    if let Some(kind) = &error_type {
                        recorded.record("error.type", kind.as_str());
                    }
                    let outcome = match (&error_type, status) {
                        (Some(kind), _) => kind.as_str(),
                        (None, Some(_)) => "ok",
                        (None, None) => "unknown",
                    };
                    crate::telemetry::attempt(operation.name, attempt, outcome, elapsed);
                    for interceptor in &self.interceptors {
                        interceptor.on_response(&AttemptResponse {
                            operation: operation.name,
                            attempt,
                            status,
                            elapsed,
                            error_type: error_type.as_deref(),
                        });
                    }
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
                .instrument(attempt_span)
            },
            |out| {
                let decision = judge(operation, out);
                if matches!(decision, Decision::Repeat { refused: true, .. }) {
                    refusals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                decision
            },
        )
        .await;
        span.record(
            "elapsed_ms",
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        let Admitted { reply, _slot } = match outcome {
            Ok(admitted) => admitted,
            Err(Failure::Transport(e)) => {
                return Err(Error::from(TransportError::new(e, Some(operation))));
            }
            Err(Failure::Fatal(e) | Failure::Unprocessed(e)) => {
                let refusals = refusals.load(std::sync::atomic::Ordering::Relaxed);
                return Err(e.map_repr(|r| match r {
                    Repr::Budget(b) => Repr::Budget(b.after_refusals(refusals)),
                    other => other,
                }));
            }
        };
        let status = reply.status();
        span.record("http.response.status_code", status.as_u16());
        if !status.is_success() {
            let headers = reply.headers().clone();
            let body = Box::pin(body::read_capped(reply, MAX_ERROR_BODY)).await;
            let error = ApiError::from_reply(status.as_u16(), &headers, &body).during(operation);
            return Err(Error::from(error));
        }
        match body::read_whole(reply, self.max_reply_size).await {
            Ok(body) => Ok(Reply { status, body }),
            Err(BodyError::Transport(e)) => {
                Err(Error::from(TransportError::new(e, Some(operation))))
            }
            Err(BodyError::TooLarge) => Err(Error::from(
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

    /// The URL of `path` (from an operation's path function: absolute, no query), under the
    /// base URL's own path if it has one.
    pub(crate) fn url_of(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        if prefix.is_empty() {
            url.set_path(path);
        } else {
            url.set_path(&format!("{prefix}{path}"));
        }
        url
    }

    /// What the interceptors add to one attempt's requests (asked once per attempt, however
    /// often authentication sends it).
    fn intercepted(&self, operation: &'static Operation, attempt: u32) -> HeaderMap {
        let mut added = HeaderMap::new();
        for interceptor in &self.interceptors {
            interceptor.on_request(&mut AttemptRequest {
                operation: operation.name,
                attempt,
                method: operation.method,
                url_template: operation.path,
                headers: &mut added,
            });
        }
        added
    }

    /// One attempt's request: the operation's versioned media types, the user agent, the
    /// interceptors' headers and the client's timeout. Made afresh each time it is sent (the
    /// body is shared, not copied).
    fn request(
        &self,
        operation: &'static Operation,
        timeout: Option<Duration>,
        method: &Method,
        url: &reqwest::Url,
        body: &Option<Bytes>,
        added: &HeaderMap,
    ) -> reqwest::Request {
        let mut request = reqwest::Request::new(method.clone(), url.clone());
        if let Some(body) = body {
            *request.body_mut() = Some(body.clone().into());
        }
        atlas_migration_sys::hooks::set_media_types(
            request.headers_mut(),
            operation,
            body.is_some(),
        );
        request
            .headers_mut()
            .insert(USER_AGENT, self.user_agent.clone());
        *request.timeout_mut() = timeout;
        if !added.is_empty() {
            // Replacing what was set above, all values of a repeated name kept.
            request.headers_mut().extend(added.clone());
        }
        request
    }
}

/// The status and OpenTelemetry `error.type` of one attempt.
fn attempt_result(out: &Result<Admitted<'_>, Failure>) -> (Option<u16>, Option<String>) {
    match out {
        Ok(Admitted { reply, .. }) => {
            let status = reply.status();
            let kind = (status.is_client_error() || status.is_server_error())
                .then(|| status.as_str().to_owned());
            (Some(status.as_u16()), kind)
        }
        Err(Failure::Transport(e)) => (None, Some(transport_error_type(e).to_owned())),
        Err(Failure::Fatal(e) | Failure::Unprocessed(e)) => (e.status(), Some(error_type(e))),
    }
}

fn transport_error_type(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

/// Marks the call's span failed with `e`: the one place every failure of a call (a reply
/// refused, a transport error, a body over the cap, a reply that does not decode or names
/// another resource, a deadline or budget run out, an authentication failure) goes through.
fn record_failure(span: &tracing::Span, e: &Error) {
    if let Some(status) = e.status() {
        span.record("http.response.status_code", status);
    }
    span.record("error.type", error_type(e).as_str());
    span.record("otel.status_code", "ERROR");
    tracing::debug!(parent: span, error = %e, "call failed");
}

/// OpenTelemetry's `error.type` for a failed call: the status code when there is one.
fn error_type(e: &Error) -> String {
    if let Some(status) = e.status().filter(|s| *s >= 400) {
        return status.to_string();
    }
    match e.repr() {
        Repr::Auth(_) => "auth",
        Repr::Transport(t) if t.is_timeout() => "timeout",
        Repr::Transport(t) if t.is_connect() => "connect",
        Repr::Transport(_) => "transport",
        Repr::Decode(d) if d.is_too_large() => "reply_too_large",
        Repr::Decode(d) if d.is_mismatched() => "identity_mismatch",
        Repr::Decode(_) => "decode",
        Repr::Redirect(_) => "redirect",
        Repr::Budget(_) => "rate_limit_budget",
        Repr::InvalidInput(_) => "invalid_input",
        _ => "_OTHER",
    }
    .to_owned()
}

/// A reply, and the request slot it holds until its body is read.
struct Admitted<'a> {
    reply: reqwest::Response,
    _slot: Admission<'a>,
}

impl Transport {
    /// Lets the governor learn from `reply` to a request sent at `sent`: its status and
    /// rate-limit headers; for a 429 or 503 also the error's code and detail, which means
    /// reading the capped body and handing back a copy.
    async fn learn(
        &self,
        admitted: &mut Admission<'_>,
        sent: tokio::time::Instant,
        reply: reqwest::Response,
    ) -> reqwest::Response {
        let status = reply.status();
        if !matches!(status.as_u16(), 429 | 503) {
            self.governor.learn(
                admitted,
                sent,
                status.as_u16(),
                reply.headers(),
                ErrorBody::default(),
            );
            return reply;
        }
        let headers = reply.headers().clone();
        // Boxed: inline, the body read's state would enlarge every call's future.
        let body = Box::pin(body::read_capped(reply, MAX_ERROR_BODY)).await;
        let parsed = serde_json::from_slice::<serde_json::Value>(&body).ok();
        let text = |key| parsed.as_ref()?.get(key)?.as_str();
        self.governor.learn(
            admitted,
            sent,
            status.as_u16(),
            &headers,
            ErrorBody {
                error_code: text("errorCode"),
                detail: text("detail"),
            },
        );
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
