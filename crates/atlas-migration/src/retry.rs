//! When and how long to wait before trying a call again.

use std::future::Future;
use std::time::Duration;

use crate::backoff::backoff_delay;
use crate::classify::Decision;

/// How failed calls are retried: exponential backoff with optional jitter.
///
/// Retried: `GET`, `PUT` (cutover) and `DELETE` on 429, 500, 502, 503, 504, connection failures
/// and timeouts; `POST` only on 429 and on connection failures (the request never left).
/// After a reply with `Retry-After` the client's rate governor holds the next attempt, and
/// every other request about the same project or organization, at least that long (never
/// cut short by [`max_backoff`](RetryPolicy::max_backoff)), longer after repeated 429s, with
/// jitter; only a caller's deadline (a waiter's `max_wait`) bounds it.
///
/// Setters take the plain name of what they set, as on every builder of this crate; the
/// settings are readable as fields.
///
/// ```
/// use std::time::Duration;
/// use atlas_migration::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .initial_backoff(Duration::from_millis(200))
///     .max_backoff(Duration::from_secs(10));
/// assert_eq!(policy.max_attempts, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts including the first (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry; it doubles with every further retry.
    pub initial_backoff: Duration,
    /// Longest computed delay between attempts (a server's `Retry-After` is not capped).
    pub max_backoff: Duration,
    /// Whether delays are randomized (up to +100 %) so that many clients do not retry in
    /// lockstep.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    /// 3 attempts, 500 ms initial backoff doubling up to 30 s, with jitter.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    ///
    /// ```
    /// assert_eq!(atlas_migration::RetryPolicy::never().max_attempts, 1);
    /// ```
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Total attempts including the first (at least 1).
    ///
    /// ```
    /// let p = atlas_migration::RetryPolicy::default().max_attempts(4);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Delay before the first retry; it doubles with every further retry.
    ///
    /// ```
    /// let p = atlas_migration::RetryPolicy::default()
    ///     .initial_backoff(std::time::Duration::from_millis(100));
    /// ```
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Longest computed delay between attempts (a server's `Retry-After` is not capped).
    ///
    /// ```
    /// let p = atlas_migration::RetryPolicy::default()
    ///     .max_backoff(std::time::Duration::from_secs(5));
    /// ```
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Whether to randomize delays so that many clients do not retry in lockstep.
    ///
    /// ```
    /// let p = atlas_migration::RetryPolicy::default().jitter(false);
    /// ```
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The delay after failed attempt number `attempt` (from 1): the crate's one backoff
    /// formula (`backoff.rs`), with jitter adding up to 100 % on top, then capped at
    /// [`max_backoff`](Self::max_backoff).
    fn delay(&self, attempt: u32, draw: f64) -> Duration {
        let jitter = if self.jitter { 1.0 } else { 0.0 };
        backoff_delay(
            self.initial_backoff,
            self.max_backoff,
            attempt,
            jitter,
            draw,
        )
        .min(self.max_backoff)
    }
}

/// Runs `attempt` (numbered from 1) until `judge` says stop or the policy is spent.
///
/// A refusal for want of rate-limit budget (429) was not processed: while the caller has a
/// `deadline` (a workflow step, a waiter's poll) it spends no attempt, and the call rides the
/// rate limit out until the governor says the deadline would pass. Without a deadline it
/// counts like any other attempt.
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Option<tokio::time::Instant>,
    mut attempt: F,
    judge: impl Fn(&T) -> Decision,
) -> T
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = T>,
{
    let mut n = 1;
    let mut spent = 0;
    loop {
        let outcome = attempt(n).await;
        let Decision::Repeat {
            after: hint,
            refused,
        } = judge(&outcome)
        else {
            return outcome;
        };
        if !(refused && deadline.is_some()) {
            spent += 1;
        }
        if spent >= policy.max_attempts {
            tracing::debug!(attempt = n, "retries exhausted");
            return outcome;
        }
        // A server's Retry-After is not waited out here: the client's rate governor has
        // learned it and holds the next attempt (and every other request to the same project)
        // at least that long, longer after repeated 429s, with jitter.
        let delay = match hint {
            Some(_) => Duration::ZERO,
            None => policy.delay(n, fastrand::f64()),
        };
        tracing::info!(
            attempt = n,
            delay_ms = delay.as_millis() as u64,
            server_hint = hint.is_some(),
            "retrying after a transient failure"
        );
        tokio::time::sleep(delay).await;
        n = n.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::time::Instant;

    fn judge(status: &u16) -> Decision {
        match status {
            503 => Decision::Repeat {
                after: None,
                refused: false,
            },
            429 => Decision::Repeat {
                after: Some(Duration::from_secs(120)),
                refused: true,
            },
            _ => Decision::Stop,
        }
    }

    async fn schedule(
        policy: RetryPolicy,
        deadline: Option<Instant>,
        replies: Vec<u16>,
    ) -> (u16, Vec<Duration>) {
        let start = Instant::now();
        let seen = Mutex::new(Vec::new());
        let replies = Mutex::new(replies.into_iter());
        let out = run(
            &policy,
            deadline,
            |_| {
                seen.lock().unwrap().push(start.elapsed());
                let next = replies.lock().unwrap().next().unwrap_or(200);
                async move { next }
            },
            judge,
        )
        .await;
        (out, seen.into_inner().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_exponentially_then_gives_up() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::from_secs(1))
            .jitter(false);
        let (out, at) = schedule(policy, None, vec![503, 503, 503, 503]).await;
        assert_eq!(out, 503);
        assert_eq!(at, [0, 1, 3].map(Duration::from_secs));
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_hint_is_left_to_the_governor() {
        let policy = RetryPolicy::default()
            .max_attempts(2)
            .max_backoff(Duration::from_secs(7))
            .jitter(false);
        let (out, at) = schedule(policy, None, vec![429, 200]).await;
        assert_eq!(out, 200);
        assert_eq!(
            at,
            [0, 0].map(Duration::from_secs),
            "the loop adds nothing; the governor's admission waits"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_spend_no_attempt_while_the_caller_has_a_deadline() {
        let policy = RetryPolicy::default().max_attempts(2).jitter(false);
        let refusals = vec![429; 20];
        let (out, at) = schedule(policy.clone(), None, refusals.clone()).await;
        assert_eq!(
            (out, at.len()),
            (429, 2),
            "no deadline: the policy's attempts"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let (out, at) = schedule(policy, Some(deadline), refusals).await;
        assert_eq!((out, at.len()), (200, 21), "ridden out under a deadline");
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_stays_within_bounds_and_never_retries_once_done() {
        let policy = RetryPolicy::default().initial_backoff(Duration::from_secs(1));
        let (out, at) = schedule(policy.clone(), None, vec![503, 200]).await;
        assert_eq!(out, 200);
        assert!(
            at[1] >= Duration::from_secs(1) && at[1] <= Duration::from_secs(2),
            "{at:?}"
        );
        let (_, at) = schedule(RetryPolicy::never(), None, vec![503]).await;
        assert_eq!(at.len(), 1);
    }
}
