//! Rate limiting as Atlas describes it ("Atlas Administration API Rate Limits",
//! <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>): every endpoint belongs to an
//! endpoint set and a scope (organization, project, user or IP address); requests to the
//! same set and scope share one token bucket that holds at most `capacity` tokens and gains
//! `refill_rate` tokens every `refill_period`. Each request takes a token; an empty bucket
//! answers 429 with `Retry-After` and a `RATE_LIMITED_TOKEN_BUCKET` body shaped like the
//! page's example. Replies may carry `RateLimit-Limit` (capacity) and `RateLimit-Remaining`
//! (tokens left); the page says Atlas may omit them, and so may the simulator.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::endpoint::Endpoint;

/// Whose requests share a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateScope {
    /// All requests about one organization (an org-level path's `orgId`; a project-level
    /// path counts towards the simulator's organization).
    Organization,
    /// All requests about one project (`groupId`; org-level paths share one bucket).
    Project,
    /// All requests of one API key or service account.
    User,
    /// All requests from one address (on loopback: all requests).
    Ip,
}

/// One endpoint set's bucket: which endpoints share it, per what scope, and its size.
///
/// ```
/// use std::time::Duration;
/// use atlas_migration_sim::{RateLimit, RateScope};
/// use atlas_migration_sim::operations::{GET_PUSH_MIGRATION, GET_VALIDATION_STATUS};
///
/// // Reads of a project: 10 requests, refilled by 5 every 60 s (the page's example numbers).
/// let reads = RateLimit::new("project reads", RateScope::Project)
///     .endpoints([GET_PUSH_MIGRATION, GET_VALIDATION_STATUS])
///     .capacity(10)
///     .refill(5, Duration::from_secs(60));
/// # let _ = reads;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    name: String,
    scope: RateScope,
    endpoints: Option<Vec<Endpoint>>,
    capacity: u32,
    refill_rate: u32,
    refill_period: Duration,
}

impl RateLimit {
    /// An endpoint set named `name` (used in the 429's detail), metered per `scope`, over
    /// every API operation until [`endpoints`](Self::endpoints) narrows it; 100 requests,
    /// refilled by 10 every second until told otherwise.
    pub fn new(name: impl Into<String>, scope: RateScope) -> Self {
        Self {
            name: name.into(),
            scope,
            endpoints: None,
            capacity: 100,
            refill_rate: 10,
            refill_period: Duration::from_secs(1),
        }
    }

    /// Only these API operations belong to the set.
    pub fn endpoints<E: Into<Endpoint>>(mut self, endpoints: impl IntoIterator<Item = E>) -> Self {
        self.endpoints = Some(endpoints.into_iter().map(Into::into).collect());
        self
    }

    /// The most tokens the bucket holds (and starts with); at least 1.
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// `tokens` are added every `period` (at least 1 token, at least 1 ms).
    pub fn refill(mut self, tokens: u32, period: Duration) -> Self {
        self.refill_rate = tokens.max(1);
        self.refill_period = period.max(Duration::from_millis(1));
        self
    }

    fn covers(&self, endpoint: &str) -> bool {
        match &self.endpoints {
            Some(endpoints) => endpoints.iter().any(|e| e.name() == endpoint),
            None => true,
        }
    }
}

/// Who and what one request is about, to find its buckets.
pub(crate) struct Subject<'a> {
    pub(crate) endpoint: &'static str,
    pub(crate) org: Option<&'a str>,
    pub(crate) group: Option<&'a str>,
    pub(crate) user: &'a str,
}

#[derive(Debug)]
struct Bucket {
    tokens: u32,
    /// When the last refill happened (simulated time).
    refilled_at: Duration,
}

/// What metering decided for one request.
#[derive(Debug)]
pub(crate) enum Metered {
    /// Not in any endpoint set.
    Free,
    /// A token was taken; the reply should say how many are left (of the tightest set).
    Allowed { limit: u32, remaining: u32 },
    /// The bucket is empty: answer this.
    Refused(Refusal),
}

#[derive(Debug)]
pub(crate) struct Refusal {
    set: String,
    retry_after_secs: u64,
    capacity: u32,
    refill_rate: u32,
    refill_period_secs: u64,
}

/// The buckets of every set and scope, and whether replies carry the headers.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// The simulator's organization, which every project belongs to.
    home_org: String,
    limits: Vec<RateLimit>,
    buckets: HashMap<(usize, String), Bucket>,
    omit_headers: bool,
    refused: usize,
}

impl Meter {
    pub(crate) fn new(home_org: String, limits: Vec<RateLimit>, omit_headers: bool) -> Self {
        Self {
            home_org,
            limits,
            omit_headers,
            ..Self::default()
        }
    }

    /// How many requests were refused with 429 so far.
    pub(crate) fn refused(&self) -> usize {
        self.refused
    }

    /// Takes a token from every bucket the request belongs to, or refuses it (taking
    /// nothing) when one is empty.
    pub(crate) fn take(&mut self, subject: &Subject<'_>, now: Duration) -> Metered {
        let keys: Vec<(usize, String)> = self
            .limits
            .iter()
            .enumerate()
            .filter(|(_, l)| l.covers(subject.endpoint))
            .map(|(i, l)| (i, scope_key(l.scope, subject, &self.home_org)))
            .collect();
        if keys.is_empty() {
            return Metered::Free;
        }
        for key in &keys {
            let limit = &self.limits[key.0];
            let bucket = self.buckets.entry(key.clone()).or_insert(Bucket {
                tokens: limit.capacity,
                refilled_at: now,
            });
            refill(bucket, limit, now);
            if bucket.tokens == 0 {
                self.refused += 1;
                return Metered::Refused(Refusal {
                    set: limit.name.clone(),
                    retry_after_secs: until_next_refill(bucket, limit, now),
                    capacity: limit.capacity,
                    refill_rate: limit.refill_rate,
                    refill_period_secs: limit.refill_period.as_secs().max(1),
                });
            }
        }
        let mut tightest: Option<(u32, u32)> = None;
        for key in &keys {
            let limit = self.limits[key.0].capacity;
            if let Some(bucket) = self.buckets.get_mut(key) {
                bucket.tokens -= 1;
                if tightest.is_none_or(|(_, r)| bucket.tokens < r) {
                    tightest = Some((limit, bucket.tokens));
                }
            }
        }
        let (limit, remaining) = tightest.unwrap_or((0, 0));
        Metered::Allowed { limit, remaining }
    }

    /// Adds `RateLimit-Limit` / `RateLimit-Remaining` to a reply, unless told to omit them.
    pub(crate) fn annotate(&self, headers: &mut HeaderMap, limit: u32, remaining: u32) {
        if self.omit_headers {
            return;
        }
        headers.insert(RATE_LIMIT_LIMIT.clone(), HeaderValue::from(limit));
        headers.insert(RATE_LIMIT_REMAINING.clone(), HeaderValue::from(remaining));
    }

    /// The 429 for `refusal`, shaped like the example on Atlas's rate-limit page (which
    /// names the endpoint set where the simulator puts the set's name).
    pub(crate) fn refuse(&self, refusal: &Refusal) -> Response {
        let set = &refusal.set;
        let body = json!({
            "detail": format!(
                "Rate limit exceeded for {set}. Please retry after {} seconds. Request capacity: {}. Refill rate: {} per {} seconds.",
                refusal.retry_after_secs, refusal.capacity, refusal.refill_rate, refusal.refill_period_secs
            ),
            "error": 429,
            "errorCode": "RATE_LIMITED_TOKEN_BUCKET",
            "parameters": [set, refusal.retry_after_secs, refusal.capacity, refusal.refill_rate, refusal.refill_period_secs],
            "reason": "Too Many Requests",
        });
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(refusal.retry_after_secs),
        );
        if !self.omit_headers {
            headers.insert(
                RATE_LIMIT_LIMIT.clone(),
                HeaderValue::from(refusal.capacity),
            );
            headers.insert(RATE_LIMIT_REMAINING.clone(), HeaderValue::from(0u32));
        }
        resp
    }
}

static RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");

fn scope_key(scope: RateScope, s: &Subject<'_>, home_org: &str) -> String {
    match scope {
        RateScope::Organization => s.org.unwrap_or(home_org).to_owned(),
        RateScope::Project => s.group.unwrap_or("").to_owned(),
        RateScope::User => s.user.to_owned(),
        RateScope::Ip => "127.0.0.1".to_owned(),
    }
}

/// Adds the tokens of every whole period since the last refill, up to capacity.
fn refill(bucket: &mut Bucket, limit: &RateLimit, now: Duration) {
    let periods = periods_between(bucket.refilled_at, now, limit.refill_period);
    if periods == 0 {
        return;
    }
    let added = periods.saturating_mul(u64::from(limit.refill_rate));
    bucket.tokens = u64::from(bucket.tokens)
        .saturating_add(added)
        .min(u64::from(limit.capacity)) as u32;
    bucket.refilled_at += limit.refill_period * u32::try_from(periods).unwrap_or(u32::MAX);
}

fn periods_between(from: Duration, to: Duration, period: Duration) -> u64 {
    let elapsed = to.saturating_sub(from).as_nanos();
    u64::try_from(elapsed / period.as_nanos().max(1)).unwrap_or(u64::MAX)
}

/// Whole seconds (at least 1) until the next refill.
fn until_next_refill(bucket: &Bucket, limit: &RateLimit, now: Duration) -> u64 {
    let next = bucket.refilled_at + limit.refill_period;
    let wait = next.saturating_sub(now);
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(group: &str) -> Subject<'_> {
        Subject {
            endpoint: "get_push_migration",
            org: None,
            group: Some(group),
            user: "key",
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_bucket_empties_then_refills_by_whole_periods() {
        let limit = RateLimit::new("reads", RateScope::Project)
            .capacity(3)
            .refill(2, secs(10));
        let mut meter = Meter::new("org".into(), vec![limit], false);
        for remaining in [2, 1, 0] {
            match meter.take(&subject("a"), secs(0)) {
                Metered::Allowed {
                    limit,
                    remaining: r,
                } => assert_eq!((limit, r), (3, remaining)),
                other => panic!("{other:?}"),
            }
        }
        match meter.take(&subject("a"), secs(4)) {
            Metered::Refused(r) => assert_eq!(r.retry_after_secs, 6),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(meter.take(&subject("b"), secs(4)), Metered::Allowed { .. }),
            "another project has its own bucket"
        );
        assert!(matches!(
            meter.take(&subject("a"), secs(10)),
            Metered::Allowed { remaining: 1, .. }
        ));
        assert!(
            matches!(
                meter.take(&subject("a"), secs(35)),
                Metered::Allowed { remaining: 2, .. }
            ),
            "refills stop at capacity"
        );
        assert_eq!(meter.refused(), 1);
    }

    #[test]
    fn endpoints_outside_every_set_are_free() {
        let limit = RateLimit::new("creates", RateScope::Project)
            .endpoints([atlas_migration_sys::operations::CREATE_PUSH_MIGRATION]);
        let mut meter = Meter::new("org".into(), vec![limit], true);
        assert!(matches!(meter.take(&subject("a"), secs(0)), Metered::Free));
    }
}
