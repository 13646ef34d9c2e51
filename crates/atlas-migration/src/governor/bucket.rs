//! What the client knows of one Atlas token bucket, and when its next request may go.
//!
//! Atlas describes its buckets ("Atlas Administration API Rate Limits",
//! <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>): `capacity` tokens, refilled
//! by `refillRate` every `refillDurationSeconds`, one token per request, 429 with
//! `Retry-After` when empty. The page asks clients to wait at least `Retry-After` and then
//! "significantly longer" after each further failure. The client mirrors a bucket once it
//! has learned its refill rate, spacing requests with the generic cell rate algorithm: each
//! request reserves the next slot, so callers queue in order instead of racing for a token,
//! and never in lockstep.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The most a run of 429s stretches a wait beyond `Retry-After` (2^5 = 32×).
const MAX_STRIKE_DOUBLINGS: u32 = 5;

/// The longest any single budget wait may be, whatever a server says.
pub(crate) const MAX_BUDGET_WAIT: Duration = Duration::from_secs(3600);

/// The share of a refused wait added at random on top when the refill rate is unknown, so
/// callers refused together come back spread over as long again.
const REFUSAL_JITTER: f64 = 1.0;

/// The share of the learned refill rate the client uses: Atlas refills whole batches at
/// intervals whose phase the client cannot see, so pacing at the full rate would meet an
/// empty bucket now and then.
const PACE_SHARE: f64 = 0.95;

/// The share of a slot added at random on top of a paced wait.
const SLOT_JITTER: f64 = 0.1;

/// Requests in flight to a scope nobody has heard from, at most, while waiting for the
/// first reply to say whether (and how) the scope is metered; and how long to hold the rest.
const FIRST_REPLY_IN_FLIGHT: u32 = 8;
const FIRST_REPLY_GRACE: Duration = Duration::from_secs(2);

/// What replies have said about metering here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Knowledge {
    /// No reply yet.
    Unknown,
    /// Replies came without any rate-limit header or 429 (Atlas may omit the headers).
    Silent,
    /// A reply carried rate-limit headers, or was a 429.
    Metered,
}

/// Whether a request may go (at the given time) or must wait for a reply to teach more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Send at this time.
    At(Instant),
    /// The bucket is known to be empty (or nothing is known yet) while requests are in
    /// flight: wait for one of their replies.
    AwaitReply,
}

/// One bucket as far as the client can tell.
#[derive(Debug)]
pub(crate) struct Bucket {
    knowledge: Knowledge,
    /// Requests admitted and not yet finished.
    pub(crate) in_flight: u32,
    /// Tokens the server has left, as far as the latest `RateLimit-Remaining` and the
    /// requests sent since tell (used only while the refill rate is unknown).
    tokens: Option<f64>,
    /// When the request whose reply last set `tokens` was sent.
    tokens_sent: Option<Instant>,
    /// When the first request here was admitted.
    first_admitted: Option<Instant>,
    /// Wakes requests held for a reply (`Turn::AwaitReply`) when one finishes or teaches.
    pub(crate) wake: Arc<Notify>,
    /// Tokens the bucket holds at most (`RateLimit-Limit`, or the 429's detail).
    pub(crate) capacity: Option<u32>,
    /// Tokens left at the last reply (`RateLimit-Remaining`).
    pub(crate) remaining: Option<u32>,
    /// Tokens per second, learned from a 429's detail.
    pub(crate) rate: Option<f64>,
    /// Theoretical arrival time of the next request (generic cell rate algorithm).
    tat: Instant,
    /// No request before this (a 429's `Retry-After`, stretched by repeated refusals).
    pub(crate) blocked_until: Instant,
    /// 429s in a row, counting one per episode: refusals of requests sent before the
    /// previous refusal was learned belong to it.
    pub(crate) strikes: u32,
    /// When the latest refusal was learned.
    refused_at: Option<Instant>,
    /// 429s seen on this bucket in all.
    pub(crate) refusals: u64,
    /// Time callers spent waiting for budget here.
    pub(crate) waited: Duration,
}

/// What a 429 or a reply's headers taught.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Lesson {
    pub(crate) capacity: Option<u32>,
    pub(crate) remaining: Option<u32>,
    /// Tokens per second.
    pub(crate) rate: Option<f64>,
    /// The reply's `Retry-After`.
    pub(crate) retry_after: Option<Duration>,
    /// Whether the reply was a 429.
    pub(crate) refused: bool,
}

impl Bucket {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            knowledge: Knowledge::Unknown,
            in_flight: 0,
            tokens: None,
            tokens_sent: None,
            first_admitted: None,
            wake: Arc::new(Notify::new()),
            capacity: None,
            remaining: None,
            rate: None,
            tat: now,
            blocked_until: now,
            strikes: 0,
            refused_at: None,
            refusals: 0,
            waited: Duration::ZERO,
        }
    }

    /// Admits one request: when it may be sent, or that it must wait for a reply first.
    ///
    /// While the refill rate is unknown, the tokens the server reported are spent one request
    /// each; once they are gone (or before anything is known, for a short while) requests go
    /// a few at a time, so that a cold fleet does not throw its first burst at an empty bucket.
    /// One request always goes when none is in flight: its reply teaches the rest.
    pub(crate) fn take_turn(&mut self, now: Instant, draw: f64) -> Turn {
        if self.interval().is_none() && self.blocked_until <= now && self.in_flight > 0 {
            let hold = match self.knowledge {
                Knowledge::Unknown => {
                    self.in_flight >= FIRST_REPLY_IN_FLIGHT
                        && self
                            .first_admitted
                            .is_some_and(|first| now < first + FIRST_REPLY_GRACE)
                }
                Knowledge::Metered => self.tokens.is_some_and(|t| t < 1.0),
                Knowledge::Silent => false,
            };
            if hold {
                return Turn::AwaitReply;
            }
        }
        if let Some(t) = self.tokens.as_mut() {
            *t = (*t - 1.0).max(0.0);
        }
        self.in_flight = self.in_flight.saturating_add(1);
        self.first_admitted.get_or_insert(now);
        Turn::At(self.reserve(now, draw))
    }

    /// A request admitted here is finished (replied, failed or abandoned).
    pub(crate) fn finish(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Reserves the next slot for one request and says when it may be sent. `draw` in
    /// `[0, 1)` places it within the jitter of a refused wait.
    fn reserve(&mut self, now: Instant, draw: f64) -> Instant {
        let draw = if draw.is_finite() {
            draw.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let start = now.max(self.blocked_until);
        let at = match self.interval() {
            // A known rate: the next slot, plus up to a tenth of a slot of jitter.
            Some(interval) => {
                let tolerance =
                    interval.saturating_mul(self.capacity.unwrap_or(1).saturating_sub(1));
                let tat = self.tat.max(start);
                self.tat = tat.checked_add(interval).unwrap_or(tat);
                let slot = tat.checked_sub(tolerance).unwrap_or(start).max(start);
                if slot > now {
                    slot + interval.mul_f64(SLOT_JITTER * draw)
                } else {
                    slot
                }
            }
            // An unknown rate after a refusal: spread the returns over part of the wait.
            None if start > now => {
                start
                    + start
                        .saturating_duration_since(now)
                        .mul_f64(REFUSAL_JITTER * draw)
            }
            None => start,
        };
        at.min(now + MAX_BUDGET_WAIT)
    }

    /// Whether nothing about this bucket matters any more (it may be forgotten).
    pub(crate) fn is_idle(&self, now: Instant) -> bool {
        self.in_flight == 0 && self.strikes == 0 && self.blocked_until <= now && self.tat <= now
    }

    /// The time between paced requests once the refill rate is known: a token's refill
    /// time at [`PACE_SHARE`] of the rate.
    fn interval(&self) -> Option<Duration> {
        let rate = self.rate.filter(|r| r.is_finite() && *r > 0.0)? * PACE_SHARE;
        Some(Duration::from_secs_f64(
            (1.0 / rate).min(MAX_BUDGET_WAIT.as_secs_f64()),
        ))
    }

    /// Learns from the reply to a request sent at `sent`.
    pub(crate) fn learn(&mut self, lesson: Lesson, sent: Instant, now: Instant) {
        if let Some(c) = lesson.capacity.filter(|c| *c > 0) {
            self.capacity = Some(c);
        }
        if let Some(rate) = lesson.rate.filter(|r| r.is_finite() && *r > 0.0) {
            self.rate = Some(rate);
        }
        self.remaining = lesson.remaining.or(self.remaining);
        if lesson.refused || lesson.capacity.is_some() || lesson.remaining.is_some() {
            self.knowledge = Knowledge::Metered;
        } else if self.knowledge == Knowledge::Unknown {
            self.knowledge = Knowledge::Silent;
        }
        if let Some(left) = lesson.remaining {
            // Others admitted since this request may have spent some of what it reports; and
            // a reply overtaken by a newer one may only lower the estimate.
            let others = f64::from(self.in_flight.saturating_sub(1));
            let estimate = (f64::from(left) - others).max(0.0);
            if self.tokens_sent.is_none_or(|newest| sent >= newest) {
                self.tokens = Some(estimate);
                self.tokens_sent = Some(sent);
            } else {
                self.tokens = Some(self.tokens.map_or(estimate, |t| t.min(estimate)));
            }
        }
        if lesson.refused {
            self.tokens = Some(0.0);
        }
        if lesson.refused {
            self.refusals = self.refusals.saturating_add(1);
            // Requests already in flight when a refusal was learned are refused with it: one
            // episode, one strike.
            if self.refused_at.is_none_or(|at| sent > at) {
                self.strikes = self.strikes.saturating_add(1);
            }
            self.refused_at = Some(now);
            let floor = lesson.retry_after.unwrap_or(Duration::from_secs(1));
            let stretch = 1u32 << self.strikes.saturating_sub(1).min(MAX_STRIKE_DOUBLINGS);
            let wait = floor.saturating_mul(stretch).min(MAX_BUDGET_WAIT);
            self.blocked_until = self.blocked_until.max(now + wait);
            // After a refusal the bucket is empty: no burst when the block lifts.
            if let Some(interval) = self.interval() {
                let tolerance =
                    interval.saturating_mul(self.capacity.unwrap_or(1).saturating_sub(1));
                self.tat = self.tat.max(self.blocked_until + tolerance);
            }
            return;
        }
        if self.refused_at.is_none_or(|at| sent > at) {
            self.strikes = 0;
        }
        if let Some(after) = lesson.retry_after {
            // A Retry-After on another reply (e.g. 503) is honoured as a floor, unstretched.
            self.blocked_until = self.blocked_until.max(now + after.min(MAX_BUDGET_WAIT));
        }
        // The server's count of tokens left bounds how early the next slot may be.
        if let (Some(interval), Some(capacity), Some(left)) =
            (self.interval(), self.capacity, lesson.remaining)
        {
            let owed = interval.saturating_mul(capacity.saturating_sub(left));
            self.tat = self.tat.max(now + owed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Admits one request that must be given a time, and finishes it at once.
    fn admitted_at(b: &mut Bucket, now: Instant, draw: f64) -> Instant {
        let Turn::At(at) = b.take_turn(now, draw) else {
            panic!("held for a reply");
        };
        b.finish();
        at
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_buckets_do_not_delay() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        for _ in 0..100 {
            assert_eq!(admitted_at(&mut b, now, 0.5), now);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_learned_bucket_allows_its_burst_then_paces_at_the_refill_rate() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        b.learn(
            Lesson {
                capacity: Some(3),
                rate: Some(2.0),
                ..Lesson::default()
            },
            now,
            now,
        );
        let at: Vec<_> = (0..6)
            .map(|_| admitted_at(&mut b, now, 0.0) - now)
            .collect();
        let slot = secs(1.0 / (2.0 * PACE_SHARE));
        assert_eq!(
            at,
            [0, 0, 0, 1, 2, 3].map(|k| slot * k),
            "a tenth below the rate"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_for_retry_after_and_longer_after_each_repeat() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        let refused = Lesson {
            refused: true,
            retry_after: Some(secs(10.0)),
            ..Lesson::default()
        };
        b.learn(refused, now, now);
        assert_eq!(b.blocked_until - now, secs(10.0));
        // Sent after the block lifted, refused again: twice as long, then four times.
        let t1 = now + secs(10.0);
        b.learn(refused, t1, t1);
        assert_eq!(b.blocked_until - t1, secs(20.0), "second refusal doubles");
        let t2 = t1 + secs(20.0);
        b.learn(refused, t2, t2 + secs(0.1));
        assert_eq!(b.blocked_until - (t2 + secs(0.1)), secs(40.0));
        assert_eq!((b.strikes, b.refusals), (3, 3));
        let t3 = t2 + secs(41.0);
        b.learn(Lesson::default(), t3, t3);
        assert_eq!(b.strikes, 0, "a success ends the run");
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_when_refused_belong_to_the_same_episode() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        let refused = Lesson {
            refused: true,
            retry_after: Some(secs(1.0)),
            ..Lesson::default()
        };
        let later = now + secs(0.01);
        b.learn(refused, now, later);
        for _ in 0..63 {
            // Sent before the first refusal was learned.
            b.learn(refused, now, later + secs(0.001));
        }
        assert_eq!(b.strikes, 1, "one episode");
        assert_eq!(b.refusals, 64);
        assert!(
            b.blocked_until - later <= secs(1.01),
            "not stretched 2^63 times"
        );
        // A success of a request sent before the refusal does not end the episode.
        b.learn(Lesson::default(), now, later);
        assert_eq!(b.strikes, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn callers_refused_together_return_spread_over_the_slots() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        b.learn(
            Lesson {
                refused: true,
                retry_after: Some(secs(1.0)),
                capacity: Some(10),
                rate: Some(10.0),
                ..Lesson::default()
            },
            now,
            now,
        );
        let at: Vec<_> = (0..20)
            .map(|_| admitted_at(&mut b, now, 0.0) - now)
            .collect();
        assert_eq!(at[0], secs(1.0), "not before Retry-After");
        let slot = secs(1.0 / (10.0 * PACE_SHARE));
        for pair in at.windows(2) {
            assert_eq!(pair[1] - pair[0], slot, "one slot per refill interval");
        }
        let jittered = admitted_at(&mut b, now, 0.99) - now;
        let expected = secs(1.0) + slot * 20;
        assert!(
            jittered > expected && jittered < expected + slot / 10,
            "{jittered:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_known_rate_refused_callers_are_spread_over_as_long_again() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        b.learn(
            Lesson {
                refused: true,
                retry_after: Some(secs(10.0)),
                ..Lesson::default()
            },
            now,
            now,
        );
        assert_eq!(admitted_at(&mut b, now, 0.0) - now, secs(10.0));
        assert_eq!(admitted_at(&mut b, now, 0.5) - now, secs(15.0));
        assert_eq!(admitted_at(&mut b, now, 0.999_999) - now, secs(19.999_99));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cold_scope_sends_a_few_requests_until_a_reply_says_more() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        for _ in 0..FIRST_REPLY_IN_FLIGHT {
            assert_eq!(b.take_turn(now, 0.0), Turn::At(now));
        }
        assert_eq!(
            b.take_turn(now, 0.0),
            Turn::AwaitReply,
            "a few before a reply"
        );
        // The first reply: 10 of 50 tokens left, rate unknown; 7 others still in flight.
        let metered = Lesson {
            capacity: Some(50),
            remaining: Some(10),
            ..Lesson::default()
        };
        b.learn(metered, now, now);
        for _ in 0..FIRST_REPLY_IN_FLIGHT {
            b.finish();
        }
        for _ in 0..3 {
            assert_eq!(b.take_turn(now, 0.0), Turn::At(now));
        }
        assert_eq!(
            b.take_turn(now, 0.0),
            Turn::AwaitReply,
            "the reported tokens are spent"
        );
        for _ in 0..3 {
            b.finish();
        }
        assert_eq!(
            b.take_turn(now, 0.0),
            Turn::At(now),
            "nothing in flight: one goes to learn"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_scope_that_replies_without_headers_is_not_held() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        assert_eq!(b.take_turn(now, 0.0), Turn::At(now));
        b.learn(Lesson::default(), now, now);
        for _ in 0..100 {
            assert_eq!(b.take_turn(now, 0.0), Turn::At(now));
        }
        let later = now + secs(3.0);
        let mut cold = Bucket::new(now);
        for _ in 0..FIRST_REPLY_IN_FLIGHT {
            assert_eq!(cold.take_turn(now, 0.0), Turn::At(now));
        }
        assert_eq!(
            cold.take_turn(later, 0.0),
            Turn::At(later),
            "no reply within the grace: go"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hostile_numbers_neither_panic_nor_wait_forever() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        for rate in [f64::NAN, f64::INFINITY, 0.0, -1.0, 1e-300, 1e300] {
            b.learn(
                Lesson {
                    rate: Some(rate),
                    capacity: Some(u32::MAX),
                    remaining: Some(0),
                    retry_after: Some(Duration::MAX),
                    refused: true,
                },
                now,
                now,
            );
            assert!(admitted_at(&mut b, now, 0.99) <= now + MAX_BUDGET_WAIT);
        }
    }
}
