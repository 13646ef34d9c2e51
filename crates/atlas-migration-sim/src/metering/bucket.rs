//! One bucket's tokens over simulated time: refills (or new windows) at its boundaries, and
//! the requests of [background consumers](super::BackgroundConsumer) in time order with
//! them. Everything is computed from the clock when the bucket is next looked at, so a
//! manual clock gives exact counts however far it jumps.

use std::time::Duration;

use super::background::BackgroundConsumer;
use super::limit::{RateLimit, times};

/// Requests of background consumers, served and refused.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) served: u64,
    pub(crate) refused: u64,
}

/// The longest repeating pattern of background requests (in boundaries) that
/// [`Bucket::settle`] looks for a steady state over; longer ones are walked through.
const LONGEST_CYCLE: u128 = 4096;

#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) tokens: u32,
    /// The last boundary (refill or window start) passed, in simulated time.
    mark: Duration,
    /// The consumers that spend this bucket: their index and how many of their requests
    /// have been charged.
    spenders: Vec<(usize, u64)>,
}

impl Bucket {
    /// A full bucket for `limit`, first used at `now`, spent by `consumers[i]` for each `i`
    /// in `spenders` from now on.
    pub(super) fn new(
        limit: &RateLimit,
        consumers: &[BackgroundConsumer],
        spenders: impl IntoIterator<Item = usize>,
        now: Duration,
    ) -> Self {
        Self {
            tokens: limit.capacity,
            mark: limit.origin(now),
            spenders: spenders
                .into_iter()
                .map(|i| (i, consumers[i].sent_by(now)))
                .collect(),
        }
    }

    /// Brings the bucket to `now`: every boundary up to `now`, and every background request
    /// sent by `now`, in time order; counts the background's outcomes in `tally`.
    pub(super) fn settle(
        &mut self,
        limit: &RateLimit,
        consumers: &[BackgroundConsumer],
        now: Duration,
        tally: &mut Tally,
    ) {
        let (add, period) = limit.step();
        if self.spenders.is_empty() {
            let n = periods_between(self.mark, now, period);
            self.refill(limit, add, n);
            self.mark += times(period, n);
            return;
        }
        let cycle = self.cycle(consumers, period);
        let mut boundaries = 0u64;
        // The bucket and the tally at the last cycle's start: when a whole cycle leaves the
        // bucket as it found it, every later cycle does the same, and they are skipped.
        let mut cycle_start: Option<(u32, Tally)> = None;
        loop {
            let next = self.mark + period;
            if next > now {
                break;
            }
            self.spend(consumers, |c| c.sent_before(next), tally);
            self.refill(limit, add, 1);
            self.mark = next;
            boundaries += 1;
            let Some(cycle) = cycle else { continue };
            if !boundaries.is_multiple_of(cycle) {
                continue;
            }
            if let Some((tokens, before)) = cycle_start
                && tokens == self.tokens
            {
                let skip = periods_between(self.mark, now, period) / cycle;
                let span = times(period, cycle);
                let served = tally.served - before.served;
                let refused = tally.refused - before.refused;
                tally.served = tally.served.saturating_add(served.saturating_mul(skip));
                tally.refused = tally.refused.saturating_add(refused.saturating_mul(skip));
                for (i, charged) in &mut self.spenders {
                    let per_cycle = consumers[*i].sent_in(span).unwrap_or(0);
                    *charged = charged.saturating_add(per_cycle.saturating_mul(skip));
                }
                self.mark += times(span, skip);
            }
            cycle_start = Some((self.tokens, *tally));
        }
        self.spend(consumers, |c| c.sent_by(now), tally);
    }

    /// Whole seconds (at least 1) until the next boundary.
    pub(super) fn retry_after(&self, limit: &RateLimit, now: Duration) -> u64 {
        let next = self.mark + limit.step().1;
        let wait = next.saturating_sub(now);
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }

    /// Adds `n` boundaries' worth of tokens, up to capacity.
    fn refill(&mut self, limit: &RateLimit, add: u32, n: u64) {
        let added = n.saturating_mul(u64::from(add));
        self.tokens = u64::from(self.tokens)
            .saturating_add(added)
            .min(u64::from(limit.capacity)) as u32;
    }

    /// Charges every spender's requests up to `sent(consumer)`.
    fn spend(
        &mut self,
        consumers: &[BackgroundConsumer],
        sent: impl Fn(&BackgroundConsumer) -> u64,
        tally: &mut Tally,
    ) {
        let mut requests = 0u64;
        for (i, charged) in &mut self.spenders {
            let upto = sent(&consumers[*i]);
            requests = requests.saturating_add(upto.saturating_sub(*charged));
            *charged = (*charged).max(upto);
        }
        let served = requests.min(u64::from(self.tokens));
        self.tokens -= served as u32;
        tally.served = tally.served.saturating_add(served);
        tally.refused = tally.refused.saturating_add(requests - served);
    }

    /// After how many boundaries every spender's requests fall the same way again, when
    /// that is short enough to look for a steady state over.
    fn cycle(&self, consumers: &[BackgroundConsumer], period: Duration) -> Option<u64> {
        let mut cycle = 1u128;
        for (i, _) in &self.spenders {
            let c = consumers[*i].cycle(period);
            cycle = cycle / super::background::gcd(cycle, c) * c;
            if cycle > LONGEST_CYCLE {
                return None;
            }
        }
        u64::try_from(cycle).ok()
    }
}

/// Whole `period`s from `from` to `to`.
fn periods_between(from: Duration, to: Duration, period: Duration) -> u64 {
    let elapsed = to.saturating_sub(from).as_nanos();
    u64::try_from(elapsed / period.as_nanos().max(1)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RateScope;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Settles one step per `step` up to `until`, and in one jump, and checks both agree.
    fn both_ways(
        limit: &RateLimit,
        consumers: &[BackgroundConsumer],
        step: Duration,
        until: Duration,
    ) -> (u32, Tally) {
        let spenders = 0..consumers.len();
        let mut jump = Bucket::new(limit, consumers, spenders.clone(), Duration::ZERO);
        let mut jumped = Tally::default();
        jump.settle(limit, consumers, until, &mut jumped);
        let mut walk = Bucket::new(limit, consumers, spenders, Duration::ZERO);
        let mut walked = Tally::default();
        let mut t = Duration::ZERO;
        while t < until {
            t = (t + step).min(until);
            walk.settle(limit, consumers, t, &mut walked);
        }
        assert_eq!((jump.tokens, jumped), (walk.tokens, walked));
        (jump.tokens, jumped)
    }

    #[test]
    fn a_consumer_at_the_refill_rate_is_always_served() {
        let limit = RateLimit::new("p", RateScope::Project)
            .capacity(50)
            .refill(50, secs(1));
        let c = [BackgroundConsumer::per_second(50)];
        let (tokens, tally) = both_ways(&limit, &c, Duration::from_millis(70), secs(100));
        assert_eq!(
            tally,
            Tally {
                served: 5000,
                refused: 0
            }
        );
        assert_eq!(tokens, 49, "the request at 100 s came after that refill");
    }

    #[test]
    fn a_consumer_beyond_the_refill_rate_gets_what_is_refilled() {
        // 6 requests per 5 s against 1 token per second: after the first 10 tokens, one
        // request in six is refused.
        let limit = RateLimit::new("p", RateScope::Project)
            .capacity(10)
            .refill(1, secs(1));
        let c = [BackgroundConsumer::new(6, secs(5))];
        let (tokens, tally) = both_ways(&limit, &c, Duration::from_millis(333), secs(3000));
        assert_eq!(tally.served + tally.refused, 3600);
        assert_eq!(tally.served, 3000 + 10 - u64::from(tokens));
    }

    #[test]
    fn a_long_jump_takes_the_steady_state_shortcut_and_stays_exact() {
        let limit = RateLimit::new("p", RateScope::Project)
            .capacity(1_200)
            .refill(500, secs(60));
        let c = [
            BackgroundConsumer::new(250, secs(60)),
            BackgroundConsumer::new(7, secs(13)),
        ];
        both_ways(&limit, &c, Duration::from_millis(4_900), secs(86_400));
        // Five days at once, with 1 ms refills: done through the steady state.
        let fast = RateLimit::new("p", RateScope::Project)
            .capacity(10)
            .refill(1, Duration::from_millis(1));
        let c = [BackgroundConsumer::per_second(1_500)];
        let mut b = Bucket::new(&fast, &c, [0], Duration::ZERO);
        let mut tally = Tally::default();
        b.settle(&fast, &c, secs(5 * 86_400), &mut tally);
        assert_eq!(tally.served + tally.refused, 1_500 * 5 * 86_400);
        assert_eq!(tally.served, 1_000 * 5 * 86_400 + 10 - u64::from(b.tokens));
    }

    #[test]
    fn a_fixed_window_fills_up_again_at_each_window() {
        let limit = RateLimit::new("w", RateScope::Ip).fixed_window(3, secs(10));
        let c = [BackgroundConsumer::per_second(1)];
        let mut b = Bucket::new(&limit, &c, [0], secs(4));
        let mut tally = Tally::default();
        b.settle(&limit, &c, secs(9), &mut tally);
        assert_eq!(
            (b.tokens, tally),
            (
                0,
                Tally {
                    served: 3,
                    refused: 2
                }
            )
        );
        assert_eq!(b.retry_after(&limit, Duration::from_millis(9_500)), 1);
        b.settle(&limit, &c, secs(10), &mut tally);
        assert_eq!(
            (b.tokens, tally),
            (
                2,
                Tally {
                    served: 4,
                    refused: 2
                }
            )
        );
    }
}
