//! What the simulator's rate limits put on the wire: the 429's body ([`RateLimitBody`]) and
//! which replies carry `RateLimit-Limit` / `RateLimit-Remaining` ([`RateLimitHeaders`]).
//!
//! Atlas's rate-limit page ("Atlas Administration API Rate Limits",
//! <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>) shows a
//! `RATE_LIMITED_TOKEN_BUCKET` body that names the set and its numbers, and says the two
//! headers may be missing; Atlas's Admin API spec gives an example 429 with `RATE_LIMITED`
//! and no numbers at all (the operations of the pinned subset list no 429). A client has to
//! cope with each, so the simulator can answer each way.
//! `Retry-After` is on every 429 whatever the settings.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The body of a 429 from the simulator's rate limits.
///
/// ```
/// use atlas_migration_sim::{RateLimitBody, Simulator};
///
/// let terse = Simulator::builder().rate_limit_body(RateLimitBody::SpecExample);
/// # let _ = terse;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RateLimitBody {
    /// The shape on Atlas's rate-limit page: `errorCode` `RATE_LIMITED_TOKEN_BUCKET`, a
    /// `detail` of "Rate limit exceeded for {set}. Please retry after {N} seconds. Request
    /// capacity: {C}. Refill rate: {R} per {P} seconds." and those five values as
    /// `parameters`.
    #[default]
    TokenBucket,
    /// The example 429 of Atlas's Admin API spec, verbatim: `{"detail": "(This is just an example, the
    /// exception may not be related to this endpoint)", "error": 429, "errorCode":
    /// "RATE_LIMITED", "reason": "Too Many Requests"}`. It says nothing about the bucket.
    SpecExample,
}

/// Which replies carry `RateLimit-Limit` (capacity) and `RateLimit-Remaining` (tokens
/// left).
///
/// ```
/// use atlas_migration_sim::{RateLimitHeaders, Simulator};
///
/// let only_on_429 = Simulator::builder().rate_limit_headers(RateLimitHeaders::OnRefusals);
/// # let _ = only_on_429;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RateLimitHeaders {
    /// Every reply to a metered request the operation answered, and every 429.
    #[default]
    Always,
    /// Only the 429s (`RateLimit-Remaining: 0`).
    OnRefusals,
    /// None (Atlas "may not always return" them).
    Never,
}

/// What the simulator's rate limits say, as configured.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Replies {
    pub(crate) body: RateLimitBody,
    pub(crate) headers: RateLimitHeaders,
}

/// Why a request was refused: the set and its numbers, for the 429.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(super) set: String,
    pub(super) retry_after_secs: u64,
    pub(super) capacity: u32,
    pub(super) refill_rate: u32,
    pub(super) refill_period_secs: u64,
}

static RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");

/// The spec's example `detail` for a 429.
const SPEC_EXAMPLE_DETAIL: &str =
    "(This is just an example, the exception may not be related to this endpoint)";

impl Replies {
    /// Adds the headers to an answered request's reply, when every reply carries them.
    pub(super) fn annotate(self, headers: &mut HeaderMap, limit: u32, remaining: u32) {
        if self.headers == RateLimitHeaders::Always {
            insert(headers, limit, remaining);
        }
    }

    /// The 429 for `refusal`.
    pub(super) fn refuse(self, refusal: &Refusal) -> Response {
        let body = match self.body {
            RateLimitBody::TokenBucket => {
                let Refusal {
                    set,
                    retry_after_secs: wait,
                    capacity,
                    refill_rate: rate,
                    refill_period_secs: period,
                } = refusal;
                json!({
                    "detail": format!(
                        "Rate limit exceeded for {set}. Please retry after {wait} seconds. \
                         Request capacity: {capacity}. Refill rate: {rate} per {period} seconds."
                    ),
                    "error": 429,
                    "errorCode": "RATE_LIMITED_TOKEN_BUCKET",
                    "parameters": [set, wait, capacity, rate, period],
                    "reason": "Too Many Requests",
                })
            }
            RateLimitBody::SpecExample => json!({
                "detail": SPEC_EXAMPLE_DETAIL,
                "error": 429,
                "errorCode": "RATE_LIMITED",
                "reason": "Too Many Requests",
            }),
        };
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(refusal.retry_after_secs),
        );
        if self.headers != RateLimitHeaders::Never {
            insert(headers, refusal.capacity, 0);
        }
        resp
    }
}

fn insert(headers: &mut HeaderMap, limit: u32, remaining: u32) {
    headers.insert(RATE_LIMIT_LIMIT.clone(), HeaderValue::from(limit));
    headers.insert(RATE_LIMIT_REMAINING.clone(), HeaderValue::from(remaining));
}
