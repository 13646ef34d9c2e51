//! [`BudgetError`]: a request the client did not send because waiting for its turn would
//! have run past the caller's deadline.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// A request that was not sent: Atlas's rate limit (as the client's governor has learned it)
/// would have held it past the caller's deadline, or no request slot came free in time (see
/// [`ClientBuilder::max_in_flight`](crate::ClientBuilder::max_in_flight)). Nothing reached
/// the server, so it is always safe to try again later.
#[derive(Debug, Clone)]
pub(crate) struct BudgetError {
    pub(super) operation: &'static str,
    wait: Option<Duration>,
    deadline_in: Duration,
    refusals: u32,
}

impl BudgetError {
    pub(crate) fn new(operation: &'static str, wait: Option<Duration>, deadline: Instant) -> Self {
        Self {
            operation,
            wait,
            deadline_in: deadline.saturating_duration_since(Instant::now()),
            refusals: 0,
        }
    }

    /// The same error for a call whose earlier attempts Atlas refused `refusals` times.
    pub(crate) fn after_refusals(mut self, refusals: u32) -> Self {
        self.refusals = refusals;
        self
    }

    /// How many times Atlas's rate limit refused this call's earlier attempts (429) before
    /// the client gave up waiting for budget.
    pub(crate) fn refusals(&self) -> u32 {
        self.refusals
    }

    /// How long the rate limit would have held the request (`None` when the wait was for a
    /// request slot).
    pub(crate) fn wait(&self) -> Option<Duration> {
        self.wait
    }
}

impl fmt::Display for BudgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, left) = (self.operation, self.deadline_in.as_secs_f64());
        match self.wait {
            Some(wait) => write!(
                f,
                "{op} was not sent: Atlas's rate limit would hold it {:.1} s, past the caller's \
                 deadline ({left:.1} s away)",
                wait.as_secs_f64()
            )?,
            None => write!(
                f,
                "{op} was not sent: neither a request slot nor rate-limit budget came free \
                 before the caller's deadline ({left:.1} s away)"
            )?,
        }
        if self.refusals > 0 {
            write!(
                f,
                "; Atlas's rate limit refused it {} time{} before (429)",
                self.refusals,
                if self.refusals == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for BudgetError {}
