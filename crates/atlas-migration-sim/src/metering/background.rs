//! [`BackgroundConsumer`]: other clients spending the same buckets as the client under test.
//!
//! Atlas's buckets are shared by everything in their scope ("Atlas Administration API Rate
//! Limits", <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>): another program
//! polling the same project takes from the same tokens. A consumer is such a program,
//! reduced to a steady rate, so that a test can check how a client behaves when it only
//! gets what is left. Its requests never reach the request log or
//! [`Simulator::rate_limited`](crate::Simulator::rate_limited); they are counted apart
//! ([`Simulator::background_served`](crate::Simulator::background_served),
//! [`Simulator::background_refused`](crate::Simulator::background_refused)).

use std::time::Duration;

use super::limit::{RateLimit, RateScope};

/// Another client spending a rate-limit bucket at a steady rate.
///
/// The consumer sends `requests` evenly spaced over every `per`, on the simulator's clock:
/// its k-th request comes at `k × per / requests` after the simulator started. Each one
/// takes a token from every bucket it spends, or is refused (and counted as a background
/// refusal) when the bucket is empty. Requests are charged lazily, whenever the simulator
/// meters a request of that bucket or a background counter is read, in time order with the
/// bucket's refills (a request at the instant of a refill comes after it; one at the instant
/// of a client's request comes before it), so with a manual clock every count is exact. A
/// bucket comes into being, full, at its first metered request; the consumer spends from it
/// from then on.
///
/// By default it spends every project's bucket (each [`RateScope::Project`] set, every
/// `groupId` that has been metered), each at the full rate, as if every project had such a
/// neighbour; [`project`](Self::project), [`organization`](Self::organization),
/// [`scope`](Self::scope) and [`endpoint_set`](Self::endpoint_set) narrow it.
///
/// ```
/// use std::time::Duration;
/// use atlas_migration_sim::{BackgroundConsumer, RateLimit, Simulator};
///
/// // Half of a project's refill goes to someone else.
/// let builder = Simulator::builder()
///     .rate_limit(RateLimit::documented_project().capacity(50).refill(50, Duration::from_secs(1)))
///     .background_consumer(BackgroundConsumer::per_second(25));
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackgroundConsumer {
    requests: u32,
    per: Duration,
    scope: RateScope,
    key: Option<String>,
    set: Option<String>,
}

impl BackgroundConsumer {
    /// `requests` every `per` (at least 1 ns; 0 requests spend nothing), on every project's
    /// buckets.
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration_sim::BackgroundConsumer;
    ///
    /// // Half of the documented project refill (500 per 60 s).
    /// let neighbour = BackgroundConsumer::new(250, Duration::from_secs(60));
    /// # let _ = neighbour;
    /// ```
    pub fn new(requests: u32, per: Duration) -> Self {
        Self {
            requests,
            per: per.max(Duration::from_nanos(1)),
            scope: RateScope::Project,
            key: None,
            set: None,
        }
    }

    /// `requests` every second, on every project's buckets.
    ///
    /// ```
    /// let busy = atlas_migration_sim::BackgroundConsumer::per_second(20);
    /// # let _ = busy;
    /// ```
    pub fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }

    /// Spends only the buckets of this project (`groupId`) in project-scoped sets.
    ///
    /// ```
    /// use atlas_migration_sim::BackgroundConsumer;
    ///
    /// let one = BackgroundConsumer::per_second(5).project("5e2211c17a3e5a48f5497de3");
    /// # let _ = one;
    /// ```
    pub fn project(mut self, group_id: impl Into<String>) -> Self {
        self.scope = RateScope::Project;
        self.key = Some(group_id.into());
        self
    }

    /// Spends only the buckets of this organization (`orgId`) in organization-scoped sets.
    ///
    /// ```
    /// use atlas_migration_sim::BackgroundConsumer;
    ///
    /// let org = BackgroundConsumer::per_second(2).organization("5e2211c17a3e5a48f5497de4");
    /// # let _ = org;
    /// ```
    pub fn organization(mut self, org_id: impl Into<String>) -> Self {
        self.scope = RateScope::Organization;
        self.key = Some(org_id.into());
        self
    }

    /// Spends every bucket of the sets metered per `scope` (any project, organization, key
    /// or address), forgetting a narrower [`project`](Self::project) or
    /// [`organization`](Self::organization).
    ///
    /// ```
    /// use atlas_migration_sim::{BackgroundConsumer, RateScope};
    ///
    /// let every_org = BackgroundConsumer::per_second(1).scope(RateScope::Organization);
    /// # let _ = every_org;
    /// ```
    pub fn scope(mut self, scope: RateScope) -> Self {
        self.scope = scope;
        self.key = None;
        self
    }

    /// Spends only the sets with this name (see [`RateLimit::new`]), e.g.
    /// `api/atlas/v2/groups`.
    ///
    /// ```
    /// use atlas_migration_sim::BackgroundConsumer;
    ///
    /// let reads = BackgroundConsumer::per_second(3).endpoint_set("api/atlas/v2/groups");
    /// # let _ = reads;
    /// ```
    pub fn endpoint_set(mut self, name: impl Into<String>) -> Self {
        self.set = Some(name.into());
        self
    }

    /// Whether the consumer spends the bucket of `limit` for the scope key `key`.
    pub(super) fn spends(&self, limit: &RateLimit, key: &str) -> bool {
        limit.scope == self.scope
            && self.key.as_deref().is_none_or(|k| k == key)
            && self.set.as_deref().is_none_or(|s| s == limit.name)
    }

    /// How many requests it has sent at or before `t`.
    pub(super) fn sent_by(&self, t: Duration) -> u64 {
        let (num, den) = self.scaled(t);
        saturate(num / den)
    }

    /// How many requests it has sent strictly before `t`.
    pub(super) fn sent_before(&self, t: Duration) -> u64 {
        let (num, den) = self.scaled(t);
        saturate(num.div_ceil(den).saturating_sub(1))
    }

    /// How many requests it sends in any span of `span` that is a whole number of its
    /// request intervals, or `None` when `span` is not.
    pub(super) fn sent_in(&self, span: Duration) -> Option<u64> {
        let (num, den) = self.scaled(span);
        (num % den == 0).then(|| saturate(num / den))
    }

    /// The fewest whole `period`s after which its requests fall the same way again.
    pub(super) fn cycle(&self, period: Duration) -> u128 {
        let (num, den) = self.scaled(period);
        if num == 0 {
            return 1;
        }
        den / gcd(num, den)
    }

    /// `t × requests` over `per`, in nanoseconds.
    fn scaled(&self, t: Duration) -> (u128, u128) {
        (
            t.as_nanos().saturating_mul(u128::from(self.requests)),
            self.per.as_nanos(),
        )
    }
}

fn saturate(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

pub(super) fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn requests_are_evenly_spaced_from_the_start() {
        let c = BackgroundConsumer::per_second(4); // at 250 ms, 500 ms, ...
        assert_eq!(c.sent_by(ms(0)), 0);
        assert_eq!(c.sent_by(ms(249)), 0);
        assert_eq!(c.sent_by(ms(250)), 1);
        assert_eq!(c.sent_before(ms(250)), 0);
        assert_eq!(c.sent_before(ms(251)), 1);
        assert_eq!(c.sent_by(ms(1000)), 4);
        assert_eq!(c.sent_before(ms(1000)), 3);
        assert_eq!(c.sent_in(ms(1000)), Some(4));
        assert_eq!(c.sent_in(ms(100)), None);
        assert_eq!(c.cycle(ms(1000)), 1);
        assert_eq!(c.cycle(ms(100)), 5, "five 100 ms periods hold two requests");
        assert_eq!(BackgroundConsumer::per_second(0).sent_by(ms(5000)), 0);
    }

    #[test]
    fn narrowing_picks_buckets_by_scope_key_and_set() {
        let project = RateLimit::documented_project();
        let org = RateLimit::documented_organization();
        let all = BackgroundConsumer::per_second(1);
        assert!(all.spends(&project, "a") && all.spends(&project, "b"));
        assert!(!all.spends(&org, "o"));
        let one = all.clone().project("a");
        assert!(one.spends(&project, "a") && !one.spends(&project, "b"));
        let o = all.clone().organization("o");
        assert!(o.spends(&org, "o") && !o.spends(&project, "o"));
        assert!(!all.endpoint_set("other").spends(&project, "a"));
    }
}
