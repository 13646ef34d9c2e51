//! What the client knows of one Atlas token bucket, and whether its next request may go now.
//!
//! Atlas describes its buckets ("Atlas Administration API Rate Limits",
//! <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>): `capacity` tokens, refilled
//! by `refillRate` every `refillDurationSeconds`, one token per request, 429 with
//! `Retry-After` when empty. The page asks clients to wait at least `Retry-After` and then
//! "significantly longer" after each further failure. The bucket is shared with every other
//! caller of the organization, so the client paces at the rate its
//! [controller](super::controller) has learned the bucket gives *it*, spends tokens that
//! `RateLimit-Remaining` reports as a burst when the server says so, and after a refusal sends
//! nothing before `Retry-After` has passed. When replies have shown when the bucket refills
//! ([`RefillClock`]) and that it is all but empty, the next request waits for the refill
//! instead of being refused.
//!
//! Nothing is reserved ahead: a caller asks at the moment it would send, so a caller that
//! gives up takes nothing with it (see [`Governor::admit`](super::Governor::admit)).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::controller::Controller;
use super::estimate::BucketSize;
use super::refill::RefillClock;

/// The most a run of refusals stretches a wait beyond `Retry-After` (2^5 = 32×).
const MAX_STRIKE_DOUBLINGS: u32 = 5;

/// The shortest wait after a refusal, whatever `Retry-After` says (even 0).
const MIN_REFUSAL_WAIT: Duration = Duration::from_millis(100);

/// The longest any single budget wait may be, whatever a server says.
pub(crate) const MAX_BUDGET_WAIT: Duration = Duration::from_secs(3600);

/// The share of a bucket's refill rate (estimated, or stated by a refusal) the client paces
/// at, at most: Atlas refills whole batches at intervals whose phase the client cannot see.
const PACE_SHARE: f64 = 0.95;

/// The share of a paced slot added at random, so clients do not send in lockstep.
const SLOT_JITTER: f64 = 0.1;

/// How far behind the pace a bucket may fall and catch up (a burst of this much of the
/// pace): callers come in waves (polls, steps), and an unused slot is otherwise lost.
const PACE_CREDIT: Duration = Duration::from_secs(1);

/// The share of a refusal's wait added at random on top, so clients refused together do not
/// come back together.
const REFUSAL_JITTER: f64 = 0.2;

/// A cold bucket's tokens are spent as a burst only down to this share of its capacity (and
/// never below one period's refill, see [`Bucket::reserve`]): the rest is left to paced
/// requests and to the bucket's other users.
const BURST_RESERVE: f64 = 0.25;

/// Requests in flight at most while spending a burst: if the bucket is smaller than the
/// estimate or others have spent it, the first refusal finds few requests behind it.
const BURST_IN_FLIGHT: u32 = 4;

/// How long after a refill's expected time a request held for it goes, as a share of the
/// refill period.
const REFILL_MARGIN: f64 = 0.01;

/// A bucket that runs dry this share of its refill period early was asked for more than it
/// gives, by its users together; running dry later is using it to the full.
const OVERDRAWN: f64 = 0.1;

/// Whether a request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Now: the request has been counted.
    Now,
    /// Not before this time: ask again then (or when a reply teaches something).
    At(Instant),
}

/// One bucket as far as the client can tell.
#[derive(Debug)]
pub(crate) struct Bucket {
    controller: Controller,
    /// Requests admitted and not yet finished.
    pub(crate) in_flight: u32,
    /// Callers waiting for their turn here.
    pub(crate) waiting: u32,
    /// Callers queue here in order; only the first waits for the bucket.
    pub(crate) turnstile: Arc<tokio::sync::Mutex<()>>,
    /// Wakes the first caller when a reply changes what it waits for.
    pub(crate) wake: Arc<Notify>,
    /// Tokens of a cold bucket left to spend as a burst: the estimate's, less what was sent
    /// and what replies (`RateLimit-Remaining`, a refusal) say is gone.
    tokens: Option<f64>,
    /// Tokens the bucket holds at most (`RateLimit-Limit`, a refusal's detail, or the
    /// estimate).
    pub(crate) capacity: Option<u32>,
    /// The tokens one refill period adds, as estimated.
    refill_per_period: Option<f64>,
    /// Tokens left at the last reply that said (`RateLimit-Remaining`).
    pub(crate) remaining: Option<u32>,
    /// When the bucket refills, once replies have shown it (with an estimated period).
    refills: Option<RefillClock>,
    /// The bucket's whole refill, tokens per second, when a refusal's detail stated it.
    pub(crate) stated_rate: Option<f64>,
    /// When the next paced request may go.
    next_slot: Instant,
    /// No request before this (`Retry-After`, stretched by repeated refusals).
    pub(crate) blocked_until: Instant,
    /// Refusals in a row, one per episode.
    pub(crate) strikes: u32,
    /// When the latest refusal was learned.
    refused_at: Option<Instant>,
    /// Refusals (429, or 503 with `Retry-After`) seen here in all.
    pub(crate) refusals: u64,
    /// Time callers spent waiting for budget here.
    pub(crate) waited: Duration,
}

/// What a reply taught about its bucket.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Lesson {
    pub(crate) capacity: Option<u32>,
    pub(crate) remaining: Option<u32>,
    /// The bucket's whole refill, tokens per second (a refusal's detail).
    pub(crate) rate: Option<f64>,
    /// The reply's `Retry-After`.
    pub(crate) retry_after: Option<Duration>,
    /// Whether the reply refused the request for want of budget: a 429, or a 503 with
    /// `Retry-After`.
    pub(crate) refused: bool,
}

impl Bucket {
    /// A bucket nothing has been heard of, sized by the client's estimate (if any).
    pub(crate) fn new(now: Instant, estimate: Option<BucketSize>) -> Self {
        Self {
            // Just under the estimate's refill, and growing from there while Atlas accepts:
            // the estimate is where to start, not a limit (a server may give more).
            controller: Controller::new(estimate.map(|e| e.rate * PACE_SHARE), now),
            in_flight: 0,
            waiting: 0,
            turnstile: Arc::new(tokio::sync::Mutex::new(())),
            wake: Arc::new(Notify::new()),
            tokens: estimate.map(|e| f64::from(e.capacity)),
            capacity: estimate.map(|e| e.capacity),
            refill_per_period: estimate.map(|e| e.refill_per_period()),
            remaining: None,
            refills: estimate.map(|e| RefillClock::new(e.period)),
            stated_rate: None,
            next_slot: now,
            blocked_until: now,
            strikes: 0,
            refused_at: None,
            refusals: 0,
            waited: Duration::ZERO,
        }
    }

    /// Whether one request may go now; if so it is counted (in flight, a token spent).
    /// `draw` in `[0, 1)` places a wait within its jitter.
    pub(crate) fn take_turn(&mut self, now: Instant, draw: f64) -> Turn {
        if now < self.blocked_until {
            return Turn::At(self.blocked_until);
        }
        if let Some(refill) = self.empty_until(now) {
            if self.next_slot < refill {
                self.overdrawn(now, refill);
            }
            // The pace resumes at the refill, with no slots to catch up on: a burst there
            // from every client that waited would overdraw it.
            self.next_slot = self.next_slot.max(refill);
            return Turn::At(refill);
        }
        let burst = self.tokens.is_some_and(|t| t >= 1.0 + self.reserve())
            && self.in_flight < BURST_IN_FLIGHT;
        if !burst && let Some(interval) = self.interval(now) {
            if self.next_slot > now {
                let jitter = interval.mul_f64(SLOT_JITTER * unit(draw));
                return Turn::At(self.next_slot + jitter);
            }
            // From the slot, not from now: slots left unused for want of callers (or the
            // jitter that woke one late) may be caught up, up to a second's worth.
            let credit = interval.max(PACE_CREDIT);
            let from = self.next_slot.max(now.checked_sub(credit).unwrap_or(now));
            self.next_slot = from.checked_add(interval).unwrap_or(now);
        }
        if let Some(t) = self.tokens.as_mut() {
            *t = (*t - 1.0).max(0.0);
        }
        self.in_flight = self.in_flight.saturating_add(1);
        self.controller.sent(now);
        Turn::Now
    }

    /// When the bucket, last reported all but empty, refills, if that is known and still
    /// ahead: a request sent before then would be refused, and its `Retry-After` (whole
    /// seconds) may outlast the refill.
    fn empty_until(&self, now: Instant) -> Option<Instant> {
        let clock = self.refills.as_ref()?;
        let (left, at) = clock.projected(now)?;
        // Tokens this client's own requests in flight may take, and one more.
        let spoken_for = f64::from(self.in_flight.saturating_add(1));
        if left > spoken_for {
            return None;
        }
        let refill = clock.next_after(at)?;
        // Just after it, not at it: the two clocks differ by a little.
        let refill = refill.checked_add(clock.period().mul_f64(REFILL_MARGIN))?;
        (refill > now).then_some(refill)
    }

    /// The bucket ran dry before the refill at `refill`: all its users together asked it
    /// for more than it gives. A client spending more of it than all the others together
    /// asks for less, in proportion, so that users that do not adapt (a script, another
    /// tool) keep what they spend; clients that all wait for refills as this one does share
    /// the bucket by their paces, and it is used to the full.
    fn overdrawn(&mut self, now: Instant, refill: Instant) {
        let Some(clock) = self.refills.as_ref() else {
            return;
        };
        // While it sends, a client sends at its pace; the drain was measured while it sent.
        let (Some(drain), Some(own)) = (clock.drain(), self.controller.rate(now)) else {
            return;
        };
        let short = refill.saturating_duration_since(now).as_secs_f64()
            / clock.period().as_secs_f64().max(1e-3);
        if short > OVERDRAWN && own > drain - own {
            self.controller.overdrawn(now, short);
        }
    }

    /// How long a caller that joins `waiting` others here may expect to wait, at least.
    pub(crate) fn expected_wait(&mut self, now: Instant) -> Duration {
        let blocked = self.blocked_until.saturating_duration_since(now);
        let paced = self.interval(now).map_or(Duration::ZERO, |interval| {
            interval.saturating_mul(self.waiting) + self.next_slot.saturating_duration_since(now)
        });
        blocked.max(paced).min(MAX_BUDGET_WAIT)
    }

    /// A request admitted here was never sent (its caller gave up after its turn): give
    /// its slot and token back.
    pub(crate) fn unsend(&mut self, now: Instant) {
        self.finish();
        if let Some(interval) = self.interval(now)
            && self.next_slot > now
        {
            self.next_slot = self.next_slot.checked_sub(interval).unwrap_or(now).max(now);
        }
        if let Some(t) = self.tokens.as_mut() {
            *t += 1.0;
        }
    }

    /// A request admitted here is finished (replied, failed or abandoned).
    pub(crate) fn finish(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// The wake-up to send after a change here, when someone waits for one (everyone who
    /// listens is counted in `waiting` first; with nobody waiting, sending costs a lock).
    pub(crate) fn wake_if_waiting(&self) -> Option<Arc<Notify>> {
        (self.waiting > 0).then(|| self.wake.clone())
    }

    /// Whether nothing about this bucket matters any more (it may be forgotten).
    pub(crate) fn is_idle(&self, now: Instant) -> bool {
        self.in_flight == 0
            && self.waiting == 0
            && self.strikes == 0
            && self.blocked_until <= now
            && self.next_slot <= now
    }

    /// The rate the client paces at here now (requests per second), if it paces.
    pub(crate) fn pace(&mut self, now: Instant) -> Option<f64> {
        self.controller.rate(now)
    }

    /// The time between paced requests.
    fn interval(&mut self, now: Instant) -> Option<Duration> {
        let rate = self.controller.rate(now)?;
        Some(Duration::from_secs_f64(
            (1.0 / rate).min(MAX_BUDGET_WAIT.as_secs_f64()),
        ))
    }

    /// Reported tokens left alone by a burst: a share of the capacity, and at least one
    /// period's refill. Pacing at the refill rate spends a period's refill within the period,
    /// but a bucket that refills in batches (as Atlas describes its buckets: `refillRate`
    /// every `refillDurationSeconds`) may add it only at the period's end; the reserve pays
    /// for the pace until then, so a burst and the pace after it never overdraw a bucket
    /// whatever the refill's phase.
    fn reserve(&self) -> f64 {
        let share = f64::from(self.capacity.unwrap_or(1)) * BURST_RESERVE;
        share.max(self.refill_per_period.unwrap_or(0.0)).max(1.0)
    }

    /// Learns from the reply to a request sent at `sent`; `draw` in `[0, 1)` places the
    /// jitter after a refusal.
    pub(crate) fn learn(&mut self, lesson: Lesson, sent: Instant, now: Instant, draw: f64) {
        if let Some(c) = lesson.capacity.filter(|c| *c > 0) {
            self.capacity = Some(c);
        }
        if let Some(rate) = lesson.rate.filter(|r| r.is_finite() && *r > 0.0) {
            self.stated_rate = Some(rate);
            self.controller.cap(rate * PACE_SHARE);
        }
        self.remaining = lesson.remaining.or(self.remaining);
        if let (Some(left), Some(clock)) = (lesson.remaining, self.refills.as_mut()) {
            clock.report(sent, now, left);
        }
        if let (Some(left), Some(tokens)) = (lesson.remaining, self.tokens.as_mut()) {
            // Others admitted since this request may have spent some of what it reports.
            let others = f64::from(self.in_flight.saturating_sub(1));
            *tokens = tokens.min((f64::from(left) - others).max(0.0));
        }
        if lesson.refused {
            self.refuse(lesson.retry_after, sent, now, draw);
            return;
        }
        self.controller.accepted(now);
        if self.refused_at.is_none_or(|at| sent > at) {
            self.strikes = 0;
        }
        if lesson.remaining == Some(0) {
            // The bucket ran dry without refusing yet: ease off before it does.
            self.controller.ease(now, sent);
        }
        if let Some(after) = lesson.retry_after {
            // A Retry-After on another reply is honoured as a floor, unstretched.
            self.blocked_until = self.blocked_until.max(now + after.min(MAX_BUDGET_WAIT));
        }
    }

    /// A refusal of a request sent at `sent`: nothing more before `Retry-After` (longer
    /// after repeated refusals, with jitter), and a slower pace from then on.
    fn refuse(&mut self, retry_after: Option<Duration>, sent: Instant, now: Instant, draw: f64) {
        self.refusals = self.refusals.saturating_add(1);
        self.tokens = Some(0.0);
        // Requests already in flight when a refusal was learned are refused with it: one
        // episode, one strike.
        if self.refused_at.is_none_or(|at| sent > at) {
            self.strikes = self.strikes.saturating_add(1);
        }
        self.refused_at = Some(now);
        self.controller.cut(now, sent, draw);
        let floor = retry_after
            .unwrap_or(Duration::from_secs(1))
            .max(MIN_REFUSAL_WAIT);
        let stretch = 1u32 << self.strikes.saturating_sub(1).min(MAX_STRIKE_DOUBLINGS);
        let wait = floor.saturating_mul(stretch).min(MAX_BUDGET_WAIT);
        let jitter = wait.mul_f64(REFUSAL_JITTER * unit(draw));
        let until = now + wait.saturating_add(jitter).min(MAX_BUDGET_WAIT);
        self.blocked_until = self.blocked_until.max(until);
        self.next_slot = self.next_slot.max(self.blocked_until);
    }
}

/// `draw` as a number in `[0, 1]` (0 when it is not a number).
fn unit(draw: f64) -> f64 {
    if draw.is_finite() {
        draw.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn size(capacity: u32, rate: f64) -> Option<BucketSize> {
        Some(BucketSize {
            capacity,
            rate,
            period: Duration::from_secs(1),
        })
    }

    /// Asks for a turn at `now`; returns `None` when the request went.
    fn wait_at(b: &mut Bucket, now: Instant) -> Option<Instant> {
        match b.take_turn(now, 0.0) {
            Turn::Now => {
                b.finish();
                None
            }
            Turn::At(at) => Some(at),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_estimate_nothing_waits() {
        let now = Instant::now();
        let mut b = Bucket::new(now, None);
        for _ in 0..100 {
            assert_eq!(wait_at(&mut b, now), None);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_estimated_burst_goes_a_few_at_a_time_then_the_pace_holds() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(20, 2.0));
        for _ in 0..BURST_IN_FLIGHT {
            assert_eq!(b.take_turn(now, 0.0), Turn::Now);
        }
        assert_eq!(b.take_turn(now, 0.0), Turn::Now, "a paced one");
        assert!(
            matches!(b.take_turn(now, 0.0), Turn::At(_)),
            "no more in flight on the estimate's word alone"
        );
        for _ in 0..=BURST_IN_FLIGHT {
            b.finish();
        }
        // 20 estimated, 5 kept in reserve: 15 in all, then one every half second.
        let mut sent = BURST_IN_FLIGHT + 1;
        while wait_at(&mut b, now).is_none() {
            sent += 1;
        }
        assert_eq!(sent, 15);
        let next = wait_at(&mut b, now).unwrap();
        assert!(next > now && next <= now + secs(0.5 * 1.1), "{next:?}");
    }

    /// Sends as fast as `b` allows for `span`, each request finished at once; returns how
    /// many went.
    fn sent_within(b: &mut Bucket, from: Instant, span: Duration, step: Duration) -> u32 {
        let mut sent = 0;
        let mut now = from;
        while now < from + span {
            while wait_at(b, now).is_none() {
                sent += 1;
            }
            now += step;
        }
        sent
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_and_the_pace_after_it_fit_in_a_bucket_refilled_in_batches() {
        // Refilled only at each period's end, a bucket supplies its capacity alone in the
        // first period: the burst plus the pace must not spend more.
        let now = Instant::now();
        let one_second = BucketSize {
            capacity: 50,
            rate: 50.0,
            period: secs(1.0),
        };
        let mut b = Bucket::new(now, Some(one_second));
        let sent = sent_within(&mut b, now, secs(1.0), secs(0.001));
        assert!(sent <= 50, "{sent} sent in the first second");
        assert!(sent >= 45, "and still close to the refill: {sent}");
        // Atlas's project set: 1,200, refilled by 500 every 60 s. The burst leaves a
        // period's refill in the bucket for the pace.
        let atlas = BucketSize {
            capacity: 1_200,
            rate: 500.0 / 60.0,
            period: secs(60.0),
        };
        let mut b = Bucket::new(now, Some(atlas));
        let mut at_once = 0;
        while wait_at(&mut b, now).is_none() {
            at_once += 1;
        }
        assert_eq!(at_once, 1_200 - 500);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_reported_empty_waits_for_its_refill_then_paces_without_a_burst() {
        let start = Instant::now();
        let mut b = Bucket::new(start, size(50, 50.0));
        // Replies every 20 ms from a bucket refilled at 300 ms past each second, counting
        // down from 50 between refills; the last says 1 token is left, 20 ms before a refill.
        for step in 0..=264u64 {
            let sent = start + secs(0.02 * step as f64);
            let since_refill = (step * 20 + 700) % 1000;
            let lesson = Lesson {
                capacity: Some(50),
                remaining: Some(50 - (since_refill / 20) as u32),
                ..Lesson::default()
            };
            b.learn(lesson, sent, sent + secs(0.002), 0.0);
        }
        let now = start + secs(5.285);
        let Turn::At(refill) = b.take_turn(now, 0.0) else {
            panic!("sent into an empty bucket");
        };
        assert!(
            refill >= start + secs(5.3) && refill <= start + secs(5.33),
            "waits for the refill at 5.3 s: {:?}",
            refill - start
        );
        assert_eq!(b.take_turn(refill, 0.0), Turn::Now);
        b.finish();
        assert!(
            matches!(b.take_turn(refill, 0.0), Turn::At(_)),
            "the time waited is no credit for a burst"
        );
    }

    /// Replies every 16 ms for 5.1 s from a bucket of 50 refilled at 300 ms past each
    /// second and spent by everyone together in 800 ms; the last says 1 token is left, 200 ms
    /// before a refill.
    fn replay_a_bucket_drained_early(b: &mut Bucket, start: Instant) {
        for step in 0..=318u64 {
            let at = step * 16;
            let since_refill = (at + 700) % 1000;
            let left = 50u64.saturating_sub(since_refill / 16).max(1);
            let sent = start + secs(at as f64 / 1000.0);
            let lesson = Lesson {
                capacity: Some(50),
                remaining: Some(left as u32),
                ..Lesson::default()
            };
            b.learn(lesson, sent, sent + secs(0.002), 0.0);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_spending_most_of_a_bucket_that_runs_dry_early_slows_others_do_not() {
        let start = Instant::now();
        let now = start + secs(5.1);
        // Pacing at 47.5 of the 62.5 a second the bucket is spent at: it takes the most.
        let mut greedy = Bucket::new(start, size(50, 50.0));
        replay_a_bucket_drained_early(&mut greedy, start);
        let before = greedy.pace(now).unwrap();
        assert!(matches!(greedy.take_turn(now, 0.0), Turn::At(_)));
        let after = greedy.pace(now).unwrap();
        assert!(after < before * 0.9, "{before} -> {after}");
        // Pacing at 9.5 of it: the others take the most, and all wait for the refill.
        let mut modest = Bucket::new(start, size(50, 10.0));
        replay_a_bucket_drained_early(&mut modest, start);
        let before = modest.pace(now).unwrap();
        assert!(matches!(modest.take_turn(now, 0.0), Turn::At(_)));
        assert_eq!(modest.pace(now).unwrap(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn reported_tokens_lower_the_burst_never_raise_it() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(100, 1.0));
        let reported = |b: &mut Bucket, left| {
            let lesson = Lesson {
                capacity: Some(100),
                remaining: Some(left),
                ..Lesson::default()
            };
            b.learn(lesson, now, now, 0.0);
        };
        reported(&mut b, 30);
        assert_eq!(b.tokens, Some(30.0));
        reported(&mut b, 90);
        assert_eq!(
            b.tokens,
            Some(30.0),
            "what everyone sees is not this client's to spend"
        );
        let mut sent = 0;
        while wait_at(&mut b, now).is_none() {
            sent += 1;
        }
        assert_eq!(sent, 5 + 1, "down to the reserve of 25, and one paced");
        let mut learned_only = Bucket::new(now, None);
        reported(&mut learned_only, 50);
        assert_eq!(learned_only.tokens, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_blocks_for_retry_after_longer_after_each_repeat() {
        let now = Instant::now();
        let mut b = Bucket::new(now, None);
        let refused = Lesson {
            refused: true,
            retry_after: Some(secs(10.0)),
            ..Lesson::default()
        };
        b.learn(refused, now, now, 0.0);
        assert_eq!(b.blocked_until - now, secs(10.0));
        assert_eq!(wait_at(&mut b, now + secs(1.0)), Some(now + secs(10.0)));
        let t1 = now + secs(10.0);
        b.learn(refused, t1, t1, 0.0);
        assert_eq!(b.blocked_until - t1, secs(20.0), "second refusal doubles");
        let t2 = t1 + secs(20.0);
        b.learn(refused, t2, t2, 0.99);
        let wait = b.blocked_until - t2;
        assert!(wait > secs(40.0) && wait < secs(48.0), "jittered: {wait:?}");
        assert_eq!((b.strikes, b.refusals), (3, 3));
        let t3 = t2 + secs(50.0);
        b.learn(Lesson::default(), t3, t3, 0.0);
        assert_eq!(b.strikes, 0, "a success ends the run");
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_when_refused_belong_to_the_same_episode() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(100, 10.0));
        let refused = Lesson {
            refused: true,
            retry_after: Some(secs(1.0)),
            ..Lesson::default()
        };
        let later = now + secs(0.01);
        b.learn(refused, now, later, 0.0);
        let pace = b.pace(later).unwrap();
        for _ in 0..63 {
            b.learn(refused, now, later + secs(0.001), 0.0);
        }
        assert_eq!(b.strikes, 1, "one episode");
        assert_eq!(b.refusals, 64);
        assert!(b.blocked_until - later <= secs(1.01), "not stretched");
        assert_eq!(b.pace(later).unwrap(), pace, "cut once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_slows_the_pace() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(10, 10.0));
        let before = b.pace(now).unwrap();
        b.learn(
            Lesson {
                refused: true,
                ..Lesson::default()
            },
            now,
            now,
            0.0,
        );
        let after = b.pace(now).unwrap();
        assert!(after < before * 0.75, "{before} -> {after}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stated_refill_rate_caps_the_pace() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(1_200, 8.0));
        b.learn(
            Lesson {
                rate: Some(2.0),
                refused: true,
                retry_after: Some(secs(1.0)),
                ..Lesson::default()
            },
            now,
            now,
            0.0,
        );
        assert!(b.pace(now + secs(60.0)).unwrap() <= 2.0 * PACE_SHARE);
        assert_eq!(b.stated_rate, Some(2.0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_bucket_reported_on_a_success_eases_the_pace() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(50, 10.0));
        let before = b.pace(now).unwrap();
        b.learn(
            Lesson {
                remaining: Some(0),
                ..Lesson::default()
            },
            now,
            now,
            0.0,
        );
        let after = b.pace(now).unwrap();
        assert!(
            after < before && after > before * 0.9,
            "eased, not cut: {after}"
        );
        assert_eq!(b.blocked_until, now, "no block either");
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_given_back_frees_its_slot() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(1, 1.0));
        assert_eq!(b.take_turn(now, 0.0), Turn::Now);
        b.unsend(now);
        assert_eq!(b.in_flight, 0);
        assert_eq!(wait_at(&mut b, now), None, "the slot is free again");
    }

    #[tokio::test(start_paused = true)]
    async fn hostile_numbers_neither_panic_nor_wait_forever() {
        let now = Instant::now();
        let mut b = Bucket::new(now, size(u32::MAX, f64::MAX));
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
                f64::NAN,
            );
            if let Some(at) = wait_at(&mut b, now) {
                assert!(at <= now + MAX_BUDGET_WAIT + secs(3600.0));
            }
            assert!(b.expected_wait(now) <= MAX_BUDGET_WAIT);
        }
    }
}
