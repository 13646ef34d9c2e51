//! [`Poller`]: a configurable polling schedule, and [`Poller::run`], the loop every waiter
//! and the workflow wait with, built on the one poll step.
//!
//! Nothing here knows about HTTP, so the schedule is unit-tested on paused tokio time.

use std::future::Future;
use std::time::Duration;

use crate::error::Error;
use crate::wait::WaiterError;
use crate::wait::schedule::{self, Schedule};
use crate::wait::step::{Outcome, Polling, Step};

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
        Self::from_schedule(schedule::GENERAL)
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
        self.schedule.jitter = schedule::unit(share);
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
        schedule::backoff_delay(s.min_delay, s.max_delay, attempt, s.jitter, draw)
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
        mut on_poll: C,
    ) -> Result<T, WaiterError<T>>
    where
        F: FnMut() -> Fut,
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
