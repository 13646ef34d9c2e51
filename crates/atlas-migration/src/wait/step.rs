//! The one poll step every wait of the crate is built from: pause as the schedule says, poll
//! once, judge the reply.
//!
//! [`Poller::run`] loops over it until a verdict (so do the waiters and the workflow, which
//! run a `Poller`); [`MigrationWatch`](super::MigrationWatch) loops over it to yield
//! snapshots.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::deadline;
use crate::error::Error;
use crate::wait::schedule::final_poll_reserve;
use crate::wait::{Acceptance, PollEvent, Poller};

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
        poll: impl FnOnce() -> Fut,
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
        let polled = deadline::within(deadline, poll());
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
