//! Rate limiting as Atlas describes it ("Atlas Administration API Rate Limits",
//! <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>): every endpoint belongs to an
//! endpoint set and a scope (organization, project, user or IP address); requests to the
//! same set and scope share one token bucket that holds at most `capacity` tokens and gains
//! `refill_rate` tokens every `refill_period`. Each request takes a token; an empty bucket
//! answers 429 with `Retry-After` and a `RATE_LIMITED_TOKEN_BUCKET` body shaped like the
//! page's example. Replies may carry `RateLimit-Limit` (capacity) and `RateLimit-Remaining`
//! (tokens left); the page says Atlas may omit them, and so may the simulator.
//!
//! The page's table gives this API two sets, and the simulator meters with both unless told
//! otherwise ([`RateLimit::documented_project`], [`RateLimit::documented_organization`]), so
//! that a client meets Atlas's limits in every test, not only in those that think of them.
//! The rest are test modes: a fixed window ([`RateLimit::fixed_window`]), other clients
//! spending the same buckets ([`BackgroundConsumer`]), and the other shapes a refusal can
//! take ([`RateLimitBody`], [`RateLimitHeaders`]).

mod background;
mod bucket;
mod limit;
mod reply;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::Response;

pub use background::BackgroundConsumer;
use bucket::Bucket;
pub(crate) use bucket::Tally;
pub use limit::{RateLimit, RateScope};
pub use reply::{RateLimitBody, RateLimitHeaders};
pub(crate) use reply::{Refusal, Replies};

/// Who and what one request is about, to find its buckets.
pub(crate) struct Subject<'a> {
    pub(crate) endpoint: &'static str,
    pub(crate) org: Option<&'a str>,
    pub(crate) group: Option<&'a str>,
    pub(crate) user: &'a str,
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

/// The buckets of every set and scope, who else spends them, and what replies say.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// The simulator's organization, which every project belongs to.
    home_org: String,
    limits: Vec<RateLimit>,
    consumers: Vec<BackgroundConsumer>,
    buckets: HashMap<(usize, String), Bucket>,
    replies: Replies,
    refused: usize,
    background: Tally,
}

impl Meter {
    pub(crate) fn new(
        home_org: String,
        limits: Vec<RateLimit>,
        consumers: Vec<BackgroundConsumer>,
        replies: Replies,
    ) -> Self {
        Self {
            home_org,
            limits,
            consumers,
            replies,
            ..Self::default()
        }
    }

    /// How many requests were refused with 429 so far.
    pub(crate) fn refused(&self) -> usize {
        self.refused
    }

    /// The background consumers' requests served and refused up to `now`.
    pub(crate) fn background(&mut self, now: Duration) -> Tally {
        for ((i, _), bucket) in &mut self.buckets {
            bucket.settle(&self.limits[*i], &self.consumers, now, &mut self.background);
        }
        self.background
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
            let consumers = &self.consumers;
            let bucket = self.buckets.entry(key.clone()).or_insert_with(|| {
                let spenders = (0..consumers.len()).filter(|&c| consumers[c].spends(limit, &key.1));
                Bucket::new(limit, consumers, spenders, now)
            });
            bucket.settle(limit, consumers, now, &mut self.background);
        }
        for key in &keys {
            let limit = &self.limits[key.0];
            let bucket = &self.buckets[key];
            if bucket.tokens == 0 {
                self.refused += 1;
                let (refill_rate, period) = limit.step();
                return Metered::Refused(Refusal {
                    set: limit.name.clone(),
                    retry_after_secs: bucket.retry_after(limit, now),
                    capacity: limit.capacity,
                    refill_rate,
                    refill_period_secs: period.as_secs().max(1),
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

    /// Adds `RateLimit-Limit` / `RateLimit-Remaining` to a reply, when replies carry them.
    pub(crate) fn annotate(&self, headers: &mut HeaderMap, limit: u32, remaining: u32) {
        self.replies.annotate(headers, limit, remaining);
    }

    /// The 429 for `refusal`, with the configured body and headers.
    pub(crate) fn refuse(&self, refusal: &Refusal) -> Response {
        self.replies.refuse(refusal)
    }
}

fn scope_key(scope: RateScope, s: &Subject<'_>, home_org: &str) -> String {
    match scope {
        RateScope::Organization => s.org.unwrap_or(home_org).to_owned(),
        RateScope::Project => s.group.unwrap_or("").to_owned(),
        RateScope::User => s.user.to_owned(),
        RateScope::Ip => "127.0.0.1".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(group: &str) -> Subject<'_> {
        Subject {
            endpoint: "get_migration",
            org: None,
            group: Some(group),
            user: "key",
        }
    }

    fn org_subject(org: &str) -> Subject<'_> {
        Subject {
            endpoint: "list_source_projects",
            org: Some(org),
            group: None,
            user: "key",
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn meter(limits: Vec<RateLimit>, consumers: Vec<BackgroundConsumer>) -> Meter {
        Meter::new("home".into(), limits, consumers, Replies::default())
    }

    #[test]
    fn a_bucket_empties_then_refills_by_whole_periods() {
        let limit = RateLimit::new("reads", RateScope::Project)
            .capacity(3)
            .refill(2, secs(10));
        let mut meter = meter(vec![limit], vec![]);
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
            .endpoints([atlas_migration_sys::operations::CREATE_MIGRATION]);
        let mut meter = meter(vec![limit], vec![]);
        assert!(matches!(meter.take(&subject("a"), secs(0)), Metered::Free));
    }

    #[test]
    fn an_org_level_path_is_metered_per_org_id() {
        let limit = RateLimit::documented_organization().capacity(1);
        let mut meter = meter(vec![limit], vec![]);
        assert!(matches!(
            meter.take(&org_subject("o1"), secs(0)),
            Metered::Allowed { .. }
        ));
        assert!(matches!(
            meter.take(&org_subject("o1"), secs(0)),
            Metered::Refused(_)
        ));
        assert!(matches!(
            meter.take(&org_subject("o2"), secs(0)),
            Metered::Allowed { .. }
        ));
        assert!(meter.buckets.contains_key(&(0, "o1".to_owned())));
        assert!(meter.buckets.contains_key(&(0, "o2".to_owned())));
    }

    #[test]
    fn background_requests_come_before_a_request_at_the_same_instant() {
        let limit = RateLimit::new("p", RateScope::Project)
            .capacity(2)
            .refill(2, secs(10));
        let mut meter = meter(vec![limit], vec![BackgroundConsumer::per_second(1)]);
        assert!(matches!(
            meter.take(&subject("a"), secs(0)),
            Metered::Allowed { remaining: 1, .. }
        ));
        // The background's request at 1 s took the last token.
        assert!(matches!(
            meter.take(&subject("a"), secs(1)),
            Metered::Refused(_)
        ));
        assert_eq!(
            meter.background(secs(3)),
            Tally {
                served: 1,
                refused: 2
            }
        );
        assert_eq!(
            meter.refused(),
            1,
            "background refusals are not the client's"
        );
    }
}
