//! [`ThrottleStatus`]: what a client's rate governor knows, for dashboards and logs.

use std::time::Duration;

use tokio::time::Instant;

use super::bucket::Bucket;

/// A snapshot of a client's rate governor, from [`Client::throttle_status`](crate::Client::throttle_status).
///
/// ```no_run
/// # fn f(client: atlas_migration::Client) {
/// let status = client.throttle_status();
/// println!(
///     "{} of {} requests in flight; {} 429s; {:?} spent waiting for budget",
///     status.in_flight, status.max_in_flight, status.refusals, status.waited
/// );
/// for bucket in &status.buckets {
///     println!("{}: {:?} of {:?} left", bucket.scope, bucket.remaining, bucket.capacity);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ThrottleStatus {
    /// One entry per project or organization the client has talked to (recently).
    pub buckets: Vec<RateLimitStatus>,
    /// Requests in flight now.
    pub in_flight: usize,
    /// The most requests the client keeps in flight.
    pub max_in_flight: usize,
    /// Refusals (429s, and 503s with `Retry-After`) seen since the client was built.
    pub refusals: u64,
    /// Requests that waited for budget before being sent.
    pub waits: u64,
    /// Time those requests spent waiting, in all (only time actually waited: a caller that
    /// gave up counts what it waited until then).
    pub waited: Duration,
}

/// What the client knows of one Atlas rate-limit bucket (one project or organization).
///
/// ```no_run
/// # fn f(b: &atlas_migration::RateLimitStatus) {
/// if let Some(until) = b.blocked_for { println!("{} paused for {until:?}", b.scope); }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RateLimitStatus {
    /// `groups/<id>` or `orgs/<id>`.
    pub scope: String,
    /// The bucket's capacity, once a reply said (`RateLimit-Limit` or a 429's detail).
    pub capacity: Option<u32>,
    /// Tokens left at the latest reply that said (`RateLimit-Remaining`).
    pub remaining: Option<u32>,
    /// The bucket's whole refill in tokens per second, once a refusal's detail said.
    pub refill_per_second: Option<f64>,
    /// The rate this client paces itself at here now, in requests per second (`None`: not
    /// paced, as with [`RateLimits::learned_only`](crate::RateLimits::learned_only) before
    /// a refusal). It falls on each refusal and climbs back while Atlas keeps accepting.
    pub pace_per_second: Option<f64>,
    /// How much longer requests here are held after a 429 (`Retry-After`, stretched by
    /// repeated refusals).
    pub blocked_for: Option<Duration>,
    /// Refusals seen here (429s, and 503s with `Retry-After`).
    pub refusals: u64,
    /// Time requests here spent waiting for budget, in all.
    pub waited: Duration,
}

pub(super) fn of(scope: &str, b: &mut Bucket, now: Instant) -> RateLimitStatus {
    let blocked = b.blocked_until.saturating_duration_since(now);
    RateLimitStatus {
        scope: scope.to_owned(),
        capacity: b.capacity,
        remaining: b.remaining,
        refill_per_second: b.stated_rate,
        pace_per_second: b.pace(now),
        blocked_for: (!blocked.is_zero()).then_some(blocked),
        refusals: b.refusals,
        waited: b.waited,
    }
}
