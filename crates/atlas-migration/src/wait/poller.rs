//! [`Poller`]: a configurable polling schedule, and [`Poller::run`], the loop every waiter
//! and the workflow wait with; the default schedules, all in one place, with the one formula
//! that turns a schedule into a pause; and the one poll step every wait is built from (pause
//! as the schedule says, poll once, judge the reply), which the watch loops over too.
//!
//! Nothing here knows about HTTP, so the schedule is unit-tested on paused tokio time.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;
use crate::wait::WaiterError;

/// What an acceptor concluded from one poll.
///
/// ```
/// use atlas_migration::wait::Acceptance;
///
/// let accept = |n: &u32| if *n >= 3 { Acceptance::Success } else { Acceptance::Retry };
/// assert_eq!(accept(&1), Acceptance::Retry);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// The state waited for has been reached: stop and return it.
    Success,
    /// A state from which the one waited for cannot be reached: stop with
    /// [`WaiterError::FailureState`].
    Failure,
    /// Not there yet: poll again after the next delay.
    Retry,
}

/// What a per-poll callback sees after each poll.
///
/// ```
/// # fn f(event: &atlas_migration::wait::PollEvent<'_, atlas_migration::LiveMigration>) {
/// match event.result {
///     Ok(m) => println!("poll {} after {:?}: {}", event.attempt, event.elapsed, m.status),
///     Err(e) => println!("poll {} failed: {e}", event.attempt),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct PollEvent<'a, T> {
    /// The poll's number, from 1.
    pub attempt: u32,
    /// Time since the wait started, when this poll's reply arrived.
    pub elapsed: Duration,
    /// The poll's reply, or the error it ended with (after the client's own retries).
    pub result: Result<&'a T, &'a Error>,
    /// What the acceptor concluded (`None` when the poll failed).
    pub acceptance: Option<Acceptance>,
}

/// The polling schedule: how long to wait at most, and how long to pause between polls.
///
/// Pauses grow exponentially from `min_delay` (doubling per poll) up to `max_delay`; jitter
/// then adds a random share of up to [`jitter`](Poller::jitter) (default 20%) on top of each
/// pause, so that many waiters do not poll in lockstep, and delays the first poll by up to
/// the same share of `min_delay`. Jitter never shortens a pause.
///
/// `max_wait` bounds everything inside the wait, polls in flight included: the last pause is
/// shortened so that one final poll starts a twentieth of `max_wait` (at most 2 s) before
/// the deadline, a poll still unanswered at the deadline is abandoned (with its retries),
/// and only if the final poll is not accepted does the wait end with
/// [`WaiterError::ExceededMaxWait`].
///
/// Errors after which a read may be repeated (any transport error, a 429 or a 5xx) do not
/// end the wait: the client's [`RetryPolicy`](crate::RetryPolicy) has already retried them,
/// and the poller simply polls again after the next pause. Any other error (401, 403, 404, a
/// decode error, ...) ends the wait at once with [`WaiterError::OperationFailed`].
///
/// Time comes from [`tokio::time`], so tests may run on paused time.
///
/// ```
/// use std::time::Duration;
/// use atlas_migration::wait::{Acceptance, Poller};
///
/// # async fn run() {
/// let mut n = 0u32;
/// let reached = Poller::new()
///     .max_wait(Duration::from_secs(60))
///     .min_delay(Duration::from_millis(10))
///     .max_delay(Duration::from_millis(100))
///     .run(
///         || { n += 1; let v = n; async move { Ok::<_, atlas_migration::Error>(v) } },
///         |v: &u32| if *v == 3 { Acceptance::Success } else { Acceptance::Retry },
///         |_| {},
///     )
///     .await
///     .unwrap();
/// assert_eq!(reached, 3);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Poller {
    schedule: Schedule,
    seed: Option<u64>,
}

impl Default for Poller {
    /// 30 minutes at most, pauses from 2 s to 30 s, up to 20% jitter on top.
    fn default() -> Self {
        Self::from_schedule(GENERAL)
    }
}

impl Poller {
    /// The default schedule (see [`Default`]).
    ///
    /// ```
    /// let p = atlas_migration::wait::Poller::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn from_schedule(schedule: Schedule) -> Self {
        Self {
            schedule,
            seed: None,
        }
    }

    /// How long the wait may last, polls in flight included.
    ///
    /// ```
    /// let p = atlas_migration::wait::Poller::new().max_wait(std::time::Duration::from_secs(600));
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.schedule.max_wait = max_wait;
        self
    }

    /// The first pause, and the shortest any pause may be (except the final one, clamped to
    /// the deadline). A zero value is raised to 1 ms.
    ///
    /// ```
    /// let p = atlas_migration::wait::Poller::new().min_delay(std::time::Duration::from_secs(1));
    /// ```
    pub fn min_delay(mut self, delay: Duration) -> Self {
        self.schedule.min_delay = delay;
        self
    }

    /// The longest pause before jitter; backoff stops growing here. Raised to `min_delay` if
    /// smaller.
    ///
    /// ```
    /// let p = atlas_migration::wait::Poller::new().max_delay(std::time::Duration::from_secs(60));
    /// ```
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.schedule.max_delay = delay;
        self
    }

    /// The largest share (0.0 to 1.0) that jitter may add on top of a pause; 0 disables
    /// jitter. The first poll is delayed by up to the same share of `min_delay`, so that
    /// waiters started together spread their first polls.
    ///
    /// ```
    /// let p = atlas_migration::wait::Poller::new().jitter(0.0);
    /// ```
    pub fn jitter(mut self, share: f64) -> Self {
        self.schedule.jitter = unit(share);
        self
    }

    /// Seeds the jitter so that a schedule can be reproduced (by default it is random).
    ///
    /// ```
    /// let p = atlas_migration::wait::Poller::new().seed(7);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The configured maximum wait.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(atlas_migration::wait::Poller::new().get_max_wait(), Duration::from_secs(1800));
    /// ```
    pub fn get_max_wait(&self) -> Duration {
        self.schedule.max_wait
    }

    /// The pause before the first poll: `draw * jitter` of `min_delay`, so that many waiters
    /// started together spread their first polls (none with jitter off).
    pub(crate) fn first_poll_spread(&self, draw: f64) -> Duration {
        let s = &self.schedule;
        s.min_delay.mul_f64(s.jitter * draw.clamp(0.0, 1.0))
    }

    /// The random numbers jitter draws from: seeded when configured.
    pub(crate) fn rng(&self) -> fastrand::Rng {
        match self.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        }
    }

    /// The pause after poll number `attempt` (from 1), before clamping to the deadline:
    /// `base = min(max_delay, min_delay * 2^(attempt-1))`, plus `draw * jitter` of it on top.
    /// `draw` is the random number in `[0, 1)` the poller draws for this pause (0 adds
    /// nothing).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = atlas_migration::wait::Poller::new()
    ///     .min_delay(Duration::from_secs(1))
    ///     .max_delay(Duration::from_secs(8));
    /// let d: Vec<_> = (1..=5).map(|n| p.delay(n, 0.0).as_secs()).collect();
    /// assert_eq!(d, [1, 2, 4, 8, 8]);
    /// assert_eq!(p.delay(5, 0.5), Duration::from_millis(8800)); // 20% jitter, half drawn
    /// ```
    pub fn delay(&self, attempt: u32, draw: f64) -> Duration {
        let s = &self.schedule;
        backoff_delay(s.min_delay, s.max_delay, attempt, s.jitter, draw)
    }

    /// Polls until `accept` says [`Success`](Acceptance::Success) (returning that reply) or
    /// [`Failure`](Acceptance::Failure), a non-transient error occurs, or `max_wait` has
    /// passed. `on_poll` sees every poll.
    ///
    /// ```
    /// # use atlas_migration::wait::{Acceptance, Poller};
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) {
    /// let lag_small = Poller::new()
    ///     .run(
    ///         || client.get_migration(&g, &id),
    ///         |m| match m.lag {
    ///             Some(lag) if lag.as_secs() < 5 => Acceptance::Success,
    ///             _ if m.status.is_terminal() => Acceptance::Failure,
    ///             _ => Acceptance::Retry,
    ///         },
    ///         |_| {},
    ///     )
    ///     .await;
    /// # }
    /// ```
    pub async fn run<T, F, Fut, A, C>(
        &self,
        mut poll: F,
        accept: A,
        on_poll: C,
    ) -> Result<T, WaiterError<T>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
        A: Fn(&T) -> Acceptance,
        C: FnMut(&PollEvent<'_, T>),
    {
        self.run_until(|_| poll(), accept, on_poll).await
    }

    /// [`run`](Self::run), giving each poll the wait's deadline, so that the waiters' own
    /// calls wait for budget or a connection only while they can still answer in time.
    pub(crate) async fn run_until<T, F, Fut, A, C>(
        &self,
        mut poll: F,
        accept: A,
        mut on_poll: C,
    ) -> Result<T, WaiterError<T>>
    where
        F: FnMut(Instant) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
        A: Fn(&T) -> Acceptance,
        C: FnMut(&PollEvent<'_, T>),
    {
        let mut polling = Polling::new(self);
        let mut last: Option<T> = None;
        loop {
            let polled = match polling.step(&mut poll, &accept).await {
                Step::Polled(polled) => polled,
                Step::DeadlinePassed {
                    elapsed,
                    poll_count,
                } => {
                    return Err(WaiterError::ExceededMaxWait {
                        max_wait: self.schedule.max_wait,
                        elapsed,
                        poll_count,
                        last,
                    });
                }
            };
            on_poll(&polled.event());
            let (attempt, elapsed) = (polled.attempt, polled.elapsed);
            match polled.outcome {
                Outcome::Reply {
                    reply,
                    acceptance: Acceptance::Success,
                } => {
                    tracing::debug!(poll_count = attempt, ?elapsed, "wait succeeded");
                    return Ok(reply);
                }
                Outcome::Reply {
                    reply,
                    acceptance: Acceptance::Failure,
                } => {
                    tracing::debug!(poll_count = attempt, ?elapsed, "failure state");
                    return Err(WaiterError::FailureState { last: reply });
                }
                Outcome::Reply {
                    reply,
                    acceptance: Acceptance::Retry,
                } => last = Some(reply),
                Outcome::Transient(_) => {}
                Outcome::Fatal(error) => {
                    tracing::debug!(poll_count = attempt, %error, "poll failed");
                    return Err(WaiterError::OperationFailed(error));
                }
            }
        }
    }
}

/// Default longest wait for a validation: 30 minutes. Atlas checks connectivity, versions and
/// sizes; this takes seconds to minutes.
pub(crate) const DEFAULT_VALIDATION_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// Default longest wait for readiness: 7 days. The initial sync of a large deployment can take
/// days; Atlas's own limit on a migration comes after readiness (the 120-hour cutover window).
pub(crate) const DEFAULT_READY_MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Default longest wait for completion: 12 days, covering a long initial sync (7 days) plus the
/// whole 120-hour cutover window, so that waiting for completion before anyone has cut over
/// still ends only after Atlas would have expired the migration.
pub(crate) const DEFAULT_COMPLETE_MAX_WAIT: Duration = Duration::from_secs(12 * 24 * 3600);

/// Default pause between the polls of a [`MigrationWatch`](crate::wait::MigrationWatch).
pub(crate) const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(30);

/// How long a wait lasts at most and how its pauses grow; [`Poller`] is its public,
/// configurable form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    pub(crate) max_wait: Duration,
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    /// The largest share (0.0 to 1.0) jitter may add to a pause.
    pub(crate) jitter: f64,
}

/// Spreads waiters that started together, so that they do not poll in lockstep.
const JITTER: f64 = 0.2;

/// [`Poller::new`]: a general-purpose half hour, pauses from 2 s to 30 s.
pub(crate) const GENERAL: Schedule = Schedule {
    max_wait: Duration::from_secs(30 * 60),
    min_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(30),
    jitter: JITTER,
};

/// Validation polls pause 2 s at first, at most 15 s: it is short and someone usually waits.
pub(crate) const VALIDATION: Schedule = Schedule {
    max_wait: DEFAULT_VALIDATION_MAX_WAIT,
    min_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(15),
    jitter: JITTER,
};

/// Migration polls pause 5 s at first, at most 60 s: a state that lasts hours is detected
/// within about a minute, at about one request a minute.
const MIGRATION_MIN_DELAY: Duration = Duration::from_secs(5);
const MIGRATION_MAX_DELAY: Duration = Duration::from_secs(60);

/// Waiting until a migration is ready for cutover.
pub(crate) const READY: Schedule = Schedule {
    max_wait: DEFAULT_READY_MAX_WAIT,
    min_delay: MIGRATION_MIN_DELAY,
    max_delay: MIGRATION_MAX_DELAY,
    jitter: JITTER,
};

/// Waiting until a migration is complete.
pub(crate) const COMPLETE: Schedule = Schedule {
    max_wait: DEFAULT_COMPLETE_MAX_WAIT,
    min_delay: MIGRATION_MIN_DELAY,
    max_delay: MIGRATION_MAX_DELAY,
    jitter: JITTER,
};

/// A watch polls at a steady interval, without jitter (a display refreshes evenly), for as
/// long as a migration can last.
pub(crate) const WATCH: Schedule = Schedule {
    max_wait: DEFAULT_COMPLETE_MAX_WAIT,
    min_delay: DEFAULT_WATCH_INTERVAL,
    max_delay: DEFAULT_WATCH_INTERVAL,
    jitter: 0.0,
};

impl Schedule {
    /// This schedule as a configurable [`Poller`].
    pub(crate) fn poller(self) -> Poller {
        Poller::from_schedule(self)
    }
}

pub(crate) use crate::backoff::{backoff_delay, unit};

/// How long before the deadline the final poll starts, so that it has time to answer: a
/// twentieth of the wait, at most 2 s. No poll runs past the deadline.
pub(crate) fn final_poll_reserve(max_wait: Duration) -> Duration {
    (max_wait / 20).min(Duration::from_secs(2))
}

/// A wait in progress: its schedule, its clock and how many polls it has made.
pub(crate) struct Polling {
    schedule: Poller,
    rng: fastrand::Rng,
    start: Instant,
    polls: u32,
    /// When the latest poll's reply arrived, from `start`.
    last_reply: Duration,
}

/// What one step did.
pub(crate) enum Step<T> {
    /// It polled.
    Polled(Polled<T>),
    /// The deadline had passed, so it did not poll again.
    DeadlinePassed {
        /// From the start of the wait to the last poll's reply.
        elapsed: Duration,
        /// Polls made, including failed ones.
        poll_count: u32,
    },
}

/// One poll and what came of it.
pub(crate) struct Polled<T> {
    /// The poll's number, from 1.
    pub(crate) attempt: u32,
    /// From the start of the wait to this poll's reply.
    pub(crate) elapsed: Duration,
    pub(crate) outcome: Outcome<T>,
}

/// What one poll brought back.
pub(crate) enum Outcome<T> {
    /// A reply, and the acceptor's verdict on it.
    Reply { reply: T, acceptance: Acceptance },
    /// An error that polling again may cure.
    Transient(Error),
    /// An error that polling again would not cure.
    Fatal(Error),
}

impl<T> Polled<T> {
    /// The public view of this poll, for `on_poll` callbacks.
    pub(crate) fn event(&self) -> PollEvent<'_, T> {
        let (result, acceptance) = match &self.outcome {
            Outcome::Reply { reply, acceptance } => (Ok(reply), Some(*acceptance)),
            Outcome::Transient(error) | Outcome::Fatal(error) => (Err(error), None),
        };
        PollEvent {
            attempt: self.attempt,
            elapsed: self.elapsed,
            result,
            acceptance,
        }
    }
}

impl Polling {
    /// Starts the clock of a wait on `schedule`.
    pub(crate) fn new(schedule: &Poller) -> Self {
        Self {
            rng: schedule.rng(),
            schedule: schedule.clone(),
            start: Instant::now(),
            polls: 0,
            last_reply: Duration::ZERO,
        }
    }

    /// Pauses (not before the first poll), then polls once and judges the reply with
    /// `accept`. No poll runs past the deadline: the last pause ends
    /// [`final_poll_reserve`] before it so that the final poll has time to answer, a poll
    /// still in flight at the deadline is abandoned, and once less than the reserve is left
    /// it polls no more.
    ///
    /// Records `poll_count` and `elapsed_ms` on the current span.
    pub(crate) async fn step<T, Fut>(
        &mut self,
        poll: impl FnOnce(Instant) -> Fut,
        accept: impl FnOnce(&T) -> Acceptance,
    ) -> Step<T>
    where
        Fut: Future<Output = Result<T, Error>>,
    {
        let max_wait = self.schedule.get_max_wait();
        if self.polls == 0 {
            // Spread the first polls of waiters started together over a share of the first
            // pause, so that they do not arrive at Atlas in one burst.
            let spread = self.schedule.first_poll_spread(self.rng.f64());
            if !spread.is_zero() {
                tokio::time::sleep(spread.min(max_wait / 2)).await;
            }
        } else {
            let remaining = max_wait.saturating_sub(self.start.elapsed());
            let reserve = final_poll_reserve(max_wait);
            if remaining.is_zero() || remaining <= reserve {
                return Step::DeadlinePassed {
                    elapsed: self.last_reply,
                    poll_count: self.polls,
                };
            }
            let pause = self.schedule.delay(self.polls, self.rng.f64());
            tokio::time::sleep(pause.min(remaining - reserve)).await;
        }
        self.polls = self.polls.saturating_add(1);
        let deadline = self.start + max_wait;
        let polled = poll(deadline);
        let Ok(result) = tokio::time::timeout_at(deadline, polled).await else {
            tracing::warn!(
                poll_count = self.polls,
                ?max_wait,
                "poll still in flight at the deadline; abandoned"
            );
            return Step::DeadlinePassed {
                elapsed: self.start.elapsed(),
                poll_count: self.polls,
            };
        };
        let elapsed = self.start.elapsed();
        self.last_reply = elapsed;
        let span = tracing::Span::current();
        span.record("poll_count", self.polls);
        span.record(
            "elapsed_ms",
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        );
        let outcome = match result {
            Ok(reply) => {
                let acceptance = accept(&reply);
                Outcome::Reply { reply, acceptance }
            }
            Err(error) if may_poll_again(&error) => {
                tracing::warn!(
                    poll_count = self.polls,
                    %error,
                    "poll failed after the client's retries; polling again later"
                );
                Outcome::Transient(error)
            }
            Err(error) => Outcome::Fatal(error),
        };
        Step::Polled(Polled {
            attempt: self.polls,
            elapsed,
            outcome,
        })
    }
}

/// Whether a failed poll may be followed by another: the only place the polling engine asks.
/// A poll is a read, so the answer is the crate's rule for an idempotent call: any transport
/// failure (including a connection dropped mid-reply), a 429 or a 5xx may be repeated.
fn may_poll_again(error: &Error) -> bool {
    error.may_repeat(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::FLOOR;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn base_doubles_from_min_up_to_max() {
        let d: Vec<_> = (1..=6)
            .map(|n| backoff_delay(secs(1), secs(8), n, 0.2, 0.0))
            .collect();
        assert_eq!(d, [1, 2, 4, 8, 8, 8].map(secs));
    }

    #[test]
    fn jitter_is_added_on_top_of_the_base() {
        assert_eq!(
            backoff_delay(secs(10), secs(10), 1, 0.2, 0.5),
            Duration::from_millis(11_000)
        );
        assert_eq!(
            backoff_delay(secs(10), secs(10), 1, 0.2, 1.0),
            secs(12),
            "never more than the jitter share on top"
        );
        for draw in [0.0, 0.3, 0.999] {
            assert!(backoff_delay(secs(10), secs(10), 1, 0.2, draw) >= secs(10));
        }
    }

    #[test]
    fn hostile_inputs_neither_panic_nor_overflow() {
        for jitter in [f64::NAN, f64::INFINITY, -1.0, 7.0] {
            for draw in [f64::NAN, f64::NEG_INFINITY, -0.5, 2.0] {
                let d = backoff_delay(Duration::MAX, Duration::MAX, u32::MAX, jitter, draw);
                assert_eq!(d, Duration::MAX);
                let d = backoff_delay(Duration::ZERO, Duration::ZERO, 0, jitter, draw);
                assert!(d >= FLOOR && d <= FLOOR * 2, "{d:?}");
            }
        }
    }
}
