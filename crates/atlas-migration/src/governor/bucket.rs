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

use std::time::Duration;

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
const PACE_SHARE: f64 = 0.9;

/// The share of a slot added at random on top of a paced wait.
const SLOT_JITTER: f64 = 0.1;

/// One bucket as far as the client can tell.
#[derive(Debug)]
pub(crate) struct Bucket {
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

    /// Reserves the next slot for one request and says when it may be sent. `draw` in
    /// `[0, 1)` places it within the jitter of a refused wait.
    pub(crate) fn reserve(&mut self, now: Instant, draw: f64) -> Instant {
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
        self.strikes == 0 && self.blocked_until <= now && self.tat <= now
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

    #[tokio::test(start_paused = true)]
    async fn unknown_buckets_do_not_delay() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        for _ in 0..100 {
            assert_eq!(b.reserve(now, 0.5), now);
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
        let at: Vec<_> = (0..6).map(|_| b.reserve(now, 0.0) - now).collect();
        let slot = secs(1.0 / (2.0 * PACE_SHARE));
        assert_eq!(at, [0, 0, 0, 1, 2, 3].map(|k| slot * k), "a tenth below the rate");
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
        let at: Vec<_> = (0..20).map(|_| b.reserve(now, 0.0) - now).collect();
        assert_eq!(at[0], secs(1.0), "not before Retry-After");
        let slot = secs(1.0 / (10.0 * PACE_SHARE));
        for pair in at.windows(2) {
            assert_eq!(pair[1] - pair[0], slot, "one slot per refill interval");
        }
        let jittered = b.reserve(now, 0.99) - now;
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
        assert_eq!(b.reserve(now, 0.0) - now, secs(10.0));
        assert_eq!(b.reserve(now, 0.5) - now, secs(15.0));
        assert_eq!(b.reserve(now, 0.999_999) - now, secs(19.999_99));
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
            assert!(b.reserve(now, 0.99) <= now + MAX_BUDGET_WAIT);
        }
    }
}
