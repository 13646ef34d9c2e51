//! When a bucket refills, as `RateLimit-Remaining` shows it.
//!
//! Atlas adds a bucket's `refillRate` tokens at intervals of `refillDurationSeconds` ("Atlas
//! Administration API Rate Limits", <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>),
//! so a bucket that is empty now stays empty until the next refill, and a request sent before
//! it is refused, with a `Retry-After` of whole seconds that may outlast the refill itself.
//! When the count a reply reports grows between two replies (the second request sent after
//! the first reply came), a refill came in between; refills seen a whole number of periods
//! apart in windows that agree say when the next ones come. Until several agree, or when
//! Atlas sends no `RateLimit-Remaining` (its page says it may not), nothing is known.

use std::time::Duration;

use tokio::time::Instant;

/// Windows that must agree, one after another, before the refills' timing is trusted.
const AGREEMENTS: u32 = 3;

/// The widest window, as a share of the period, that says when refills come.
const WIDEST: f64 = 0.25;

/// The shortest span a drain rate is measured over.
const MIN_DRAIN_SPAN: Duration = Duration::from_millis(50);

/// One reply's report.
#[derive(Debug, Clone, Copy)]
struct Report {
    sent: Instant,
    received: Instant,
    remaining: u32,
}

/// The refills of one bucket, as far as replies show them.
#[derive(Debug, Clone)]
pub(crate) struct RefillClock {
    period: Duration,
    latest: Option<Report>,
    /// The first report after the latest refill seen: with `latest`, how fast the bucket
    /// drains.
    since_refill: Option<Report>,
    /// A refill came within this window; the others come whole periods before and after.
    window: Option<(Instant, Instant)>,
    /// Windows in a row that agreed with it.
    agreements: u32,
}

impl RefillClock {
    /// A bucket said to refill every `period`.
    pub(crate) fn new(period: Duration) -> Self {
        Self {
            period: period.max(Duration::from_millis(1)),
            latest: None,
            since_refill: None,
            window: None,
            agreements: 0,
        }
    }

    /// The period the bucket is said to refill at.
    pub(crate) fn period(&self) -> Duration {
        self.period
    }

    /// A reply to a request sent at `sent`, received at `now`, reported `remaining` tokens.
    pub(crate) fn report(&mut self, sent: Instant, now: Instant, remaining: u32) {
        let report = Report {
            sent,
            received: now,
            remaining,
        };
        let Some(previous) = self.latest else {
            self.latest = Some(report);
            return;
        };
        // Only a request sent after the previous reply came was counted after it.
        if sent < previous.received {
            return;
        }
        if remaining > previous.remaining {
            self.refill_within(previous.sent, now);
            self.since_refill = Some(report);
        }
        self.latest = Some(report);
    }

    /// A refill came between `from` and `to`.
    fn refill_within(&mut self, from: Instant, to: Instant) {
        let period = self.period.as_secs_f64();
        let agreed = self.window.and_then(|(lo, hi)| {
            // The earlier window moved by the whole periods between the two.
            let periods = (from.saturating_duration_since(lo).as_secs_f64() / period).round();
            if !(1.0..=1e6).contains(&periods) {
                return None;
            }
            let shift = Duration::try_from_secs_f64(periods * period).ok()?;
            let (lo, hi) = (lo.checked_add(shift)?, hi.checked_add(shift)?);
            let (lo, hi) = (lo.max(from), hi.min(to));
            (lo <= hi).then_some((lo, hi))
        });
        match agreed {
            Some(window) => {
                self.window = Some(window);
                self.agreements = self.agreements.saturating_add(1);
            }
            None => {
                self.window = Some((from, to));
                self.agreements = 0;
            }
        }
    }

    /// The tokens left now, as far as the latest report and the pace the bucket has drained
    /// at since the last refill tell, and when that report came.
    pub(crate) fn projected(&self, now: Instant) -> Option<(f64, Instant)> {
        let latest = self.latest?;
        let left = f64::from(latest.remaining);
        let since = now.saturating_duration_since(latest.received).as_secs_f64();
        let drain = self.drain().unwrap_or(0.0);
        Some(((left - drain * since).max(0.0), latest.received))
    }

    /// Tokens per second the bucket's users together have spent since the last refill.
    pub(crate) fn drain(&self) -> Option<f64> {
        let (first, latest) = (self.since_refill?, self.latest?);
        let span = latest.received.checked_duration_since(first.received)?;
        (span >= MIN_DRAIN_SPAN).then(|| {
            f64::from(first.remaining.saturating_sub(latest.remaining)) / span.as_secs_f64()
        })
    }

    /// When the first refill after `since` has surely come, if the refills' timing is known:
    /// several windows agreed and the window is narrow.
    pub(crate) fn next_after(&self, since: Instant) -> Option<Instant> {
        let (lo, hi) = self.window?;
        if self.agreements < AGREEMENTS
            || (hi - lo).as_secs_f64() > WIDEST * self.period.as_secs_f64()
        {
            return None;
        }
        if since < hi {
            return Some(hi);
        }
        let period = self.period.as_secs_f64();
        let behind = since.saturating_duration_since(hi).as_secs_f64();
        let periods = (behind / period).floor() + 1.0;
        hi.checked_add(Duration::try_from_secs_f64((periods * period).min(1e9)).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Replies every 20 ms for `seconds`, from a bucket refilled at each whole second after
    /// `start` + `phase`, counting down between refills.
    fn watch(clock: &mut RefillClock, start: Instant, phase: Duration, seconds: u64) {
        for step in 0..seconds * 50 {
            let sent = start + ms(step * 20);
            let since_refill = (sent - start + ms(1000) - phase).as_millis() % 1000;
            let remaining = 50 - (since_refill / 20) as u32;
            clock.report(sent, sent + ms(2), remaining);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn refills_seen_a_period_apart_tell_when_the_next_comes() {
        let start = Instant::now();
        let mut clock = RefillClock::new(ms(1000));
        watch(&mut clock, start, ms(300), 2);
        assert_eq!(clock.next_after(start), None, "not enough agreement yet");
        watch(&mut clock, start + ms(2000), ms(300), 3);
        let next = clock.next_after(start + ms(5_100)).expect("known");
        let error = next.saturating_duration_since(start + ms(5_300));
        assert!(next >= start + ms(5_300) && error <= ms(25), "{next:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn refills_at_other_times_than_the_period_say_are_never_trusted() {
        let start = Instant::now();
        // Said to refill each second, it refills every 700 ms.
        let mut clock = RefillClock::new(ms(1000));
        let mut remaining = 50;
        for step in 0..500u64 {
            let sent = start + ms(step * 20);
            remaining = if (step * 20) % 700 < 20 {
                50
            } else {
                remaining - 1
            };
            clock.report(sent, sent + ms(2), remaining);
            assert_eq!(clock.next_after(sent), None, "at {step}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn hostile_periods_and_counts_neither_panic_nor_say_anything_odd() {
        let start = Instant::now();
        for period in [Duration::MAX, Duration::ZERO, ms(1)] {
            let mut clock = RefillClock::new(period);
            for step in 0..200u64 {
                let sent = start + ms(step * 10);
                let remaining = if step % 3 == 0 { u32::MAX } else { 0 };
                clock.report(sent, sent + ms(1), remaining);
                if let Some(next) = clock.next_after(sent) {
                    assert!(next >= start, "{next:?}");
                }
                assert!(clock.projected(sent).is_some_and(|(left, _)| left >= 0.0));
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn replies_out_of_order_teach_nothing() {
        let start = Instant::now();
        let mut clock = RefillClock::new(ms(1000));
        clock.report(start + ms(10), start + ms(100), 5);
        // Sent before the first reply came: the server may have counted it first.
        clock.report(start + ms(50), start + ms(120), 8);
        assert!(clock.window.is_none());
    }
}
