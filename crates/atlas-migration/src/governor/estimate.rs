//! [`RateLimits`]: what the client assumes about Atlas's buckets before any reply has said
//! more, and what share of them it may spend.
//!
//! Atlas publishes the endpoint sets of this API ("Atlas Administration API Rate Limits",
//! <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>, table updated 2026-02-23): the
//! five project operations share one GROUP-scoped set of 1,200 requests refilled by 500 every
//! 60 s; the three organization operations one ORGANIZATION-scoped set of 500 refilled by 250
//! every 60 s. Every caller with that organization's keys spends the same buckets (other
//! replicas, other services, the Atlas CLI, Terraform), so these numbers are only where the
//! governor starts: it then follows what the buckets actually give this client.

use std::time::Duration;

/// One bucket's published size: `capacity` requests, refilled by `refill` every `period`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BucketSize {
    pub(crate) capacity: u32,
    /// Requests per second.
    pub(crate) rate: f64,
    /// How often the refill comes: Atlas adds `refillRate` tokens every
    /// `refillDurationSeconds`, so the refill may come as one batch at the period's end.
    pub(crate) period: Duration,
}

impl BucketSize {
    fn new(capacity: u32, refill: u32, period: Duration) -> Self {
        let period = period.max(Duration::from_millis(1));
        Self {
            capacity: capacity.max(1),
            rate: f64::from(refill.max(1)) / period.as_secs_f64(),
            period,
        }
    }

    /// The tokens one period adds.
    pub(crate) fn refill_per_period(&self) -> f64 {
        self.rate * self.period.as_secs_f64()
    }
}

/// How the client paces itself against Atlas's rate limits: the bucket sizes it starts from
/// and the share of each bucket it aims for. Set with
/// [`ClientBuilder::rate_limits`](crate::ClientBuilder::rate_limits).
///
/// The governor needs none of this to be right. It paces each project and organization from
/// the estimate, speeds up while Atlas keeps accepting, and slows down multiplicatively on
/// every 429 (or 503 with `Retry-After`), so clients that share a bucket without knowing of
/// each other settle on fair shares of it. `RateLimit-*` headers and a refusal's numbers,
/// when Atlas sends them, only make it converge faster.
///
/// ```
/// use std::time::Duration;
/// use atlas_migration::{Client, RateLimits};
///
/// // Four replicas of one service share the organization's buckets: start each at a quarter.
/// let limits = RateLimits::documented().share(0.25);
/// let builder = Client::builder().rate_limits(limits);
///
/// // A test server with small, fast buckets.
/// let fast = RateLimits::documented().project(50, 50, Duration::from_secs(1));
/// # let _ = (builder, fast);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RateLimits {
    pub(crate) project: Option<BucketSize>,
    pub(crate) organization: Option<BucketSize>,
    pub(crate) share: f64,
}

impl Default for RateLimits {
    /// [`RateLimits::documented`].
    fn default() -> Self {
        Self::documented()
    }
}

impl RateLimits {
    /// Atlas's published sets for this API, the whole of each bucket for this client.
    ///
    /// ```
    /// let limits = atlas_migration::RateLimits::documented();
    /// # let _ = limits;
    /// ```
    pub fn documented() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            project: Some(BucketSize::new(1_200, 500, minute)),
            organization: Some(BucketSize::new(500, 250, minute)),
            share: 1.0,
        }
    }

    /// No starting estimate: requests are not paced until Atlas first refuses one, and from
    /// then on follow what the refusals teach. For servers known not to meter, or to measure
    /// the client without pacing.
    ///
    /// ```
    /// let limits = atlas_migration::RateLimits::learned_only();
    /// # let _ = limits;
    /// ```
    pub fn learned_only() -> Self {
        Self {
            project: None,
            organization: None,
            share: 1.0,
        }
    }

    /// The size of each project's bucket: `capacity` requests, refilled by `refill` every
    /// `period` (at least 1 request and 1 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = atlas_migration::RateLimits::documented().project(100, 10, Duration::from_secs(1));
    /// # let _ = limits;
    /// ```
    pub fn project(mut self, capacity: u32, refill: u32, period: Duration) -> Self {
        self.project = Some(BucketSize::new(capacity, refill, period));
        self
    }

    /// The size of each organization's bucket, as for [`project`](Self::project).
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = atlas_migration::RateLimits::documented().organization(500, 250, Duration::from_secs(60));
    /// # let _ = limits;
    /// ```
    pub fn organization(mut self, capacity: u32, refill: u32, period: Duration) -> Self {
        self.organization = Some(BucketSize::new(capacity, refill, period));
        self
    }

    /// The share of each bucket this client starts from, in `(0, 1]` (default 1): with `n`
    /// replicas that spend the same organization's budget, `1 / n` avoids a first round of
    /// 429s. Only a start: each client still adapts to what it is given. Values outside the
    /// range are clamped (non-numbers count as 1).
    ///
    /// ```
    /// let limits = atlas_migration::RateLimits::documented().share(0.5);
    /// # let _ = limits;
    /// ```
    pub fn share(mut self, share: f64) -> Self {
        self.share = if share.is_finite() {
            share.clamp(0.001, 1.0)
        } else {
            1.0
        };
        self
    }

    /// The starting size of the bucket a scope (`groups/<id>`, `orgs/<id>`) counts against,
    /// scaled to this client's share.
    pub(crate) fn starting_size(&self, scope: &str) -> Option<BucketSize> {
        let size = if scope.starts_with("orgs/") {
            self.organization
        } else {
            self.project
        }?;
        Some(BucketSize {
            capacity: ((f64::from(size.capacity) * self.share) as u32).max(1),
            rate: size.rate * self.share,
            period: size.period,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_sets_by_scope_and_share() {
        let limits = RateLimits::documented();
        let project = limits.starting_size("groups/abc").unwrap();
        assert_eq!(project.capacity, 1_200);
        assert!((project.rate - 500.0 / 60.0).abs() < 1e-9);
        let org = limits.starting_size("orgs/abc").unwrap();
        assert_eq!(org.capacity, 500);
        let quarter = limits.share(0.25).starting_size("groups/abc").unwrap();
        assert_eq!(quarter.capacity, 300);
        assert!((quarter.rate - 125.0 / 60.0).abs() < 1e-9);
        assert_eq!(RateLimits::learned_only().starting_size("groups/a"), None);
        assert_eq!(RateLimits::documented().share(f64::NAN).share, 1.0);
        assert_eq!(RateLimits::documented().share(-3.0).share, 0.001);
    }
}
