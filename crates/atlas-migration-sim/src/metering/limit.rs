//! [`RateLimit`] and [`RateScope`]: which requests share a bucket, how big it is and how it
//! fills again. The two documented sets of this API come from the table on Atlas's
//! rate-limit page ("Atlas Administration API Rate Limits",
//! <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>); the fixed window is a test
//! mode for servers and gateways that count requests per window instead.

use std::time::Duration;

use atlas_migration_sys::operations::{
    CREATE_LINK_TOKEN, CREATE_MIGRATION, CUTOVER, DELETE_LINK_TOKENS, GET_MIGRATION,
    GET_VALIDATION, LIST_SOURCE_PROJECTS, VALIDATE_MIGRATION,
};

use crate::endpoint::Endpoint;

/// Whose requests share a bucket.
///
/// ```
/// use atlas_migration_sim::{RateLimit, RateScope};
///
/// let per_key = RateLimit::new("per API key", RateScope::User);
/// # let _ = per_key;
/// ```
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

/// How a bucket fills again once requests have taken from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// Atlas's token bucket: `rate` tokens every `period`, counted from the bucket's first
    /// request, up to the capacity.
    TokenBucket { rate: u32, period: Duration },
    /// Full again at every multiple of `window` since the simulator started.
    FixedWindow { window: Duration },
}

/// One endpoint set's bucket: which endpoints share it, per what scope, and its size.
///
/// Every request of the set takes one token; an empty bucket answers 429. By default the
/// bucket is Atlas's token bucket ([`capacity`](Self::capacity) tokens, [`refill`](Self::refill)
/// tokens added every period); [`fixed_window`](Self::fixed_window) makes it count requests
/// per window instead.
///
/// ```
/// use std::time::Duration;
/// use atlas_migration_sim::{RateLimit, RateScope};
/// use atlas_migration_sim::operations::{GET_MIGRATION, GET_VALIDATION};
///
/// // Reads of a project: 10 requests, refilled by 5 every 60 s (the page's example numbers).
/// let reads = RateLimit::new("project reads", RateScope::Project)
///     .endpoints([GET_MIGRATION, GET_VALIDATION])
///     .capacity(10)
///     .refill(5, Duration::from_secs(60));
/// # let _ = reads;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub(super) name: String,
    pub(super) scope: RateScope,
    endpoints: Option<Vec<Endpoint>>,
    pub(super) capacity: u32,
    pub(super) algorithm: Algorithm,
}

impl RateLimit {
    /// An endpoint set named `name` (used in the 429's detail), metered per `scope`, over
    /// every API operation until [`endpoints`](Self::endpoints) narrows it; 100 requests,
    /// refilled by 10 every second until told otherwise.
    ///
    /// ```
    /// use atlas_migration_sim::{RateLimit, RateScope};
    ///
    /// let everything = RateLimit::new("all", RateScope::Ip);
    /// # let _ = everything;
    /// ```
    pub fn new(name: impl Into<String>, scope: RateScope) -> Self {
        Self {
            name: name.into(),
            scope,
            endpoints: None,
            capacity: 100,
            algorithm: Algorithm::TokenBucket {
                rate: 10,
                period: Duration::from_secs(1),
            },
        }
    }

    /// The set Atlas documents (rate-limit page, table updated 2026-02-23) for the five
    /// project operations of this API (validate, get validation, create migration, get
    /// migration, cutover): one bucket per project
    /// (`groupId`), capacity 1,200, refilled by 500 every 60 s, named
    /// `api/atlas/v2/groups`. Part of the simulator's default metering.
    ///
    /// Tests that want to reach the limit quickly keep the set and shrink the numbers:
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration_sim::{RateLimit, Simulator};
    ///
    /// let fast = RateLimit::documented_project()
    ///     .capacity(50)
    ///     .refill(50, Duration::from_secs(1));
    /// let builder = Simulator::builder()
    ///     .rate_limit(fast)
    ///     .rate_limit(RateLimit::documented_organization());
    /// # let _ = builder;
    /// ```
    pub fn documented_project() -> Self {
        Self::new("api/atlas/v2/groups", RateScope::Project)
            .endpoints([
                VALIDATE_MIGRATION,
                GET_VALIDATION,
                CREATE_MIGRATION,
                GET_MIGRATION,
                CUTOVER,
            ])
            .capacity(1_200)
            .refill(500, Duration::from_secs(60))
    }

    /// The set Atlas documents (rate-limit page, table updated 2026-02-23) for the three
    /// organization operations of this API (create and delete link tokens, list source
    /// projects): one bucket per organization (the
    /// path's `orgId`), capacity 500, refilled by 250 every 60 s, named
    /// `api/atlas/v2/orgs`. Part of the simulator's default metering.
    ///
    /// ```
    /// use atlas_migration_sim::RateLimit;
    ///
    /// let orgs = RateLimit::documented_organization();
    /// # let _ = orgs;
    /// ```
    pub fn documented_organization() -> Self {
        Self::new("api/atlas/v2/orgs", RateScope::Organization)
            .endpoints([CREATE_LINK_TOKEN, DELETE_LINK_TOKENS, LIST_SOURCE_PROJECTS])
            .capacity(500)
            .refill(250, Duration::from_secs(60))
    }

    /// Only these API operations belong to the set.
    ///
    /// ```
    /// use atlas_migration_sim::{RateLimit, RateScope};
    /// use atlas_migration_sim::operations::CUTOVER;
    ///
    /// let cutovers = RateLimit::new("cutovers", RateScope::Project).endpoints([CUTOVER]);
    /// # let _ = cutovers;
    /// ```
    pub fn endpoints<E: Into<Endpoint>>(mut self, endpoints: impl IntoIterator<Item = E>) -> Self {
        self.endpoints = Some(endpoints.into_iter().map(Into::into).collect());
        self
    }

    /// The most tokens the bucket holds (and starts with), or with a
    /// [fixed window](Self::fixed_window) the most requests per window; at least 1.
    ///
    /// ```
    /// use atlas_migration_sim::{RateLimit, RateScope};
    ///
    /// let small = RateLimit::new("small", RateScope::Project).capacity(3);
    /// # let _ = small;
    /// ```
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// A token bucket: `tokens` are added every `period` (at least 1 token, at least 1 ms),
    /// counted from the bucket's first request. Replaces a fixed window.
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration_sim::{RateLimit, RateScope};
    ///
    /// let slow = RateLimit::new("slow", RateScope::Project).refill(1, Duration::from_secs(5));
    /// # let _ = slow;
    /// ```
    pub fn refill(mut self, tokens: u32, period: Duration) -> Self {
        self.algorithm = Algorithm::TokenBucket {
            rate: tokens.max(1),
            period: period.max(Duration::from_millis(1)),
        };
        self
    }

    /// A fixed window instead of a token bucket: at most `requests` (at least 1) in each
    /// window of `window` (at least 1 ms), windows starting at multiples of `window` since
    /// the simulator started. A refused request gets `Retry-After` = the whole seconds,
    /// rounded up and at least 1, until its window ends. Atlas meters with token buckets;
    /// this models gateways that count per window. The 429 keeps the configured
    /// [body](crate::RateLimitBody), reporting a window as a refill of `requests` per
    /// `window`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration_sim::{RateLimit, RateScope};
    ///
    /// let per_second = RateLimit::new("gateway", RateScope::Ip)
    ///     .fixed_window(100, Duration::from_secs(1));
    /// # let _ = per_second;
    /// ```
    pub fn fixed_window(mut self, requests: u32, window: Duration) -> Self {
        self.capacity = requests.max(1);
        self.algorithm = Algorithm::FixedWindow {
            window: window.max(Duration::from_millis(1)),
        };
        self
    }

    /// Whether requests to the operation named `endpoint` belong to the set.
    pub(super) fn covers(&self, endpoint: &str) -> bool {
        match &self.endpoints {
            Some(endpoints) => endpoints.iter().any(|e| e.name() == endpoint),
            None => true,
        }
    }

    /// The tokens a bucket gains at each boundary (up to capacity) and the time between
    /// boundaries: a refill, or a new window that restores the whole capacity.
    pub(super) fn step(&self) -> (u32, Duration) {
        match self.algorithm {
            Algorithm::TokenBucket { rate, period } => (rate, period),
            Algorithm::FixedWindow { window } => (self.capacity, window),
        }
    }

    /// Where the boundaries of a bucket first used at `now` are counted from: `now` for a
    /// token bucket, the start of the current window for a fixed window.
    pub(super) fn origin(&self, now: Duration) -> Duration {
        match self.algorithm {
            Algorithm::TokenBucket { .. } => now,
            Algorithm::FixedWindow { window } => {
                let n = now.as_nanos() / window.as_nanos();
                times(window, u64::try_from(n).unwrap_or(u64::MAX))
            }
        }
    }
}

/// `period` times `n`, saturating.
pub(super) fn times(period: Duration, n: u64) -> Duration {
    let nanos = period.as_nanos().saturating_mul(u128::from(n));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_sets_cover_the_operations_of_their_scope() {
        let project = RateLimit::documented_project();
        let org = RateLimit::documented_organization();
        for op in atlas_migration_sys::operations::OPERATIONS {
            let project_level = op.path.starts_with("/api/atlas/v2/groups/");
            assert_eq!(project.covers(op.name), project_level, "{}", op.name);
            assert_eq!(org.covers(op.name), !project_level, "{}", op.name);
        }
        assert_eq!(
            (project.capacity, project.step()),
            (1_200, (500, Duration::from_secs(60)))
        );
        assert_eq!(
            (org.capacity, org.step()),
            (500, (250, Duration::from_secs(60)))
        );
        assert_eq!(
            (project.scope, org.scope),
            (RateScope::Project, RateScope::Organization)
        );
    }

    #[test]
    fn a_fixed_window_starts_at_a_multiple_of_its_length() {
        let w = RateLimit::new("w", RateScope::Ip).fixed_window(5, Duration::from_secs(10));
        assert_eq!(
            w.origin(Duration::from_millis(23_500)),
            Duration::from_secs(20)
        );
        assert_eq!(w.step(), (5, Duration::from_secs(10)));
        let b = w.refill(2, Duration::from_secs(3));
        assert_eq!(
            b.origin(Duration::from_millis(23_500)),
            Duration::from_millis(23_500)
        );
        assert_eq!(b.capacity, 5, "switching back keeps the capacity");
    }
}
