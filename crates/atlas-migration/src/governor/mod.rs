//! One rate governor per client, shared by all its clones: it learns what Atlas's token
//! buckets give this client (`bucket.rs`, `controller.rs`, `lesson.rs`, `refill.rs`) and
//! makes each request wait for its turn before it is sent instead of sending it into a 429;
//! it also caps the requests in flight, so a client watching thousands of migrations holds a
//! bounded number of sockets.
//!
//! Atlas meters requests per endpoint set and scope. For this API the published sets are one
//! per project (the path's `groupId`) and one per organization (`orgId`); the governor keeps
//! one bucket for each, starting from the published sizes (`estimate.rs`).
//!
//! Waiting is cancel-safe: callers queue in order at their bucket's turnstile, only the first
//! one waits for the bucket, and nothing is reserved ahead, so a caller dropped at any point
//! takes nothing with it, and a turn it was given but did not use is given back.

mod bucket;
mod controller;
mod estimate;
mod lesson;
mod refill;
mod status;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use atlas_migration_sys::operations::Operation;
use http::HeaderMap;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

pub use estimate::RateLimits;
pub(crate) use lesson::ErrorBody;
pub use status::{RateLimitStatus, ThrottleStatus};

use crate::error::{BudgetError, Error};
use bucket::{Bucket, MAX_BUDGET_WAIT, Turn};

/// Requests one client keeps in flight at most, unless configured otherwise.
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// Buckets kept before idle ones are forgotten.
const MAX_BUCKETS: usize = 4096;

pub(crate) struct Governor {
    buckets: Mutex<HashMap<String, Bucket>>,
    limits: RateLimits,
    in_flight: Semaphore,
    max_in_flight: usize,
    refusals: AtomicU64,
    waits: AtomicU64,
    waited_micros: AtomicU64,
}

impl Governor {
    pub(crate) fn new(max_in_flight: usize, limits: RateLimits) -> Self {
        let max_in_flight = max_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            buckets: Mutex::new(HashMap::new()),
            limits,
            in_flight: Semaphore::new(max_in_flight),
            max_in_flight,
            refusals: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            waited_micros: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `scope`'s bucket lets one request go and a slot in flight is free; both
    /// are held until the returned admission drops. Fails, sending nothing, when the wait
    /// would run past the caller's deadline (or past an hour without one): at once when the
    /// queue ahead already says so.
    pub(crate) async fn admit<'a>(
        &'a self,
        scope: &'a str,
        operation: &'static Operation,
        deadline: Option<Instant>,
    ) -> Result<Admission<'a>, Error> {
        let asked = Instant::now();
        let deadline = deadline.unwrap_or(asked + MAX_BUDGET_WAIT);
        // Nobody queued and the bucket lets one go now: the turn is taken at once, without
        // the turnstile (the common case, and the one that must cost next to nothing).
        let queue = self.with_bucket(scope, |b| {
            if b.waiting == 0 && matches!(b.take_turn(asked, fastrand::f64()), Turn::Now) {
                return None;
            }
            let expected = b.expected_wait(asked);
            b.waiting = b.waiting.saturating_add(1);
            Some((b.turnstile.clone(), b.wake.clone(), expected))
        });
        let ticket = match queue {
            None => Ticket::new(self, scope),
            // The waits are boxed: inline, their state (timers, the turnstile) would
            // enlarge the future of every call, including those that never wait.
            Some(queue) => {
                let queued = Queued {
                    governor: self,
                    scope,
                };
                Box::pin(self.wait_for_turn(queued, queue, operation, asked, deadline)).await?
            }
        };
        match self.in_flight.try_acquire() {
            Ok(slot) => Ok(Admission::new(slot, ticket)),
            Err(_) => Box::pin(self.in_flight_slot(ticket, operation, deadline)).await,
        }
    }

    /// Waits in `scope`'s queue (joined as `queued`) for a turn at the bucket, until
    /// `deadline`.
    async fn wait_for_turn<'a>(
        &'a self,
        queued: Queued<'a>,
        (turnstile, wake, expected): Waiting,
        operation: &'static Operation,
        asked: Instant,
        deadline: Instant,
    ) -> Result<Ticket<'a>, Error> {
        let scope = queued.scope;
        let too_late = |wait| Error::from(BudgetError::new(operation.name, wait, deadline));
        if asked + expected > deadline {
            return Err(too_late(Some(expected)));
        }
        let Ok(first) = tokio::time::timeout_at(deadline, turnstile.lock()).await else {
            return Err(too_late(None));
        };
        loop {
            // Register for a wake-up before looking, so a reply in between is not missed.
            let woken = wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let now = Instant::now();
            match self.with_bucket(scope, |b| b.take_turn(now, fastrand::f64())) {
                Turn::Now => break,
                Turn::At(at) if at > deadline => {
                    return Err(too_late(Some(at.saturating_duration_since(asked))));
                }
                Turn::At(at) => {
                    tracing::debug!(
                        scope,
                        wait_ms = at.saturating_duration_since(now).as_millis() as u64,
                        "waiting for rate-limit budget"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = woken => {}
                    }
                }
            }
        }
        // The turn is taken: until the request is handed over, dropping gives it back.
        let ticket = Ticket::new(self, scope);
        drop(first);
        drop(queued);
        let waited = asked.elapsed();
        if !waited.is_zero() {
            self.waits.fetch_add(1, Ordering::Relaxed);
            let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
            self.waited_micros.fetch_add(micros, Ordering::Relaxed);
            self.with_bucket(scope, |b| b.waited = b.waited.saturating_add(waited));
        }
        Ok(ticket)
    }

    /// With its turn taken, a request waits for a slot in flight (until `deadline`).
    async fn in_flight_slot<'a>(
        &'a self,
        ticket: Ticket<'a>,
        operation: &'static Operation,
        deadline: Instant,
    ) -> Result<Admission<'a>, Error> {
        let too_late = || Error::from(BudgetError::new(operation.name, None, deadline));
        let slot = tokio::time::timeout_at(deadline, self.in_flight.acquire())
            .await
            .map_err(|_| too_late())?
            .map_err(|_| too_late())?;
        Ok(Admission::new(slot, ticket))
    }

    /// Runs `f` on `scope`'s bucket (created if new).
    fn with_bucket<T>(&self, scope: &str, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let mut buckets = self.lock();
        if let Some(bucket) = buckets.get_mut(scope) {
            return f(bucket);
        }
        let now = Instant::now();
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| !b.is_idle(now));
        }
        let bucket = Bucket::new(now, self.limits.starting_size(scope));
        f(buckets.entry(scope.to_owned()).or_insert(bucket))
    }

    /// Learns from the reply to `admitted`'s request, sent at `sent`: its status and
    /// headers, and for an error the body's code and detail when they were read. The request
    /// counts as finished from here (Atlas has answered it), in the same turn at the bucket.
    pub(crate) fn learn(
        &self,
        admitted: &mut Admission<'_>,
        sent: Instant,
        status: u16,
        headers: &HeaderMap,
        body: ErrorBody<'_>,
    ) {
        let scope = admitted.ticket.scope;
        let finishes = !std::mem::replace(&mut admitted.ticket.finished, true);
        let lesson = lesson::read(status, headers, body);
        if lesson.refused {
            self.refusals.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                scope,
                status,
                retry_after_s = lesson.retry_after.map(|d| d.as_secs()),
                "Atlas's rate limit refused a request; pacing this scope"
            );
        }
        let now = Instant::now();
        let wake = self.with_bucket(scope, |b| {
            b.learn(lesson, sent, now, fastrand::f64());
            if finishes {
                b.finish();
            }
            b.wake_if_waiting()
        });
        if let Some(wake) = wake {
            wake.notify_waiters();
        }
    }

    /// What the governor knows now.
    pub(crate) fn status(&self) -> ThrottleStatus {
        let now = Instant::now();
        let mut buckets: Vec<RateLimitStatus> = self
            .lock()
            .iter_mut()
            .map(|(scope, b)| status::of(scope, b, now))
            .collect();
        buckets.sort_by(|a, b| a.scope.cmp(&b.scope));
        ThrottleStatus {
            buckets,
            in_flight: self.max_in_flight - self.in_flight.available_permits(),
            max_in_flight: self.max_in_flight,
            refusals: self.refusals.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            waited: Duration::from_micros(self.waited_micros.load(Ordering::Relaxed)),
        }
    }
}

/// A request's place: a slot in flight and its scope's count of requests in flight, both
/// given back when it drops (after the reply's body is read, or when the request fails).
pub(crate) struct Admission<'a> {
    _slot: SemaphorePermit<'a>,
    ticket: Ticket<'a>,
}

impl<'a> Admission<'a> {
    /// The request may go: its turn taken, its slot held.
    fn new(slot: SemaphorePermit<'a>, mut ticket: Ticket<'a>) -> Self {
        ticket.sent = true;
        Self {
            _slot: slot,
            ticket,
        }
    }

    /// The request never reached Atlas (authentication stopped it first): its turn is given
    /// back along with the slot.
    pub(crate) fn not_sent(mut self) {
        self.ticket.sent = false;
    }
}

/// What a caller queued at a bucket waits with: the bucket's turnstile, its wake-up and the
/// wait the queue ahead expected when the caller joined it.
type Waiting = (
    std::sync::Arc<tokio::sync::Mutex<()>>,
    std::sync::Arc<tokio::sync::Notify>,
    Duration,
);

/// A caller counted among those waiting at a bucket, until it drops.
struct Queued<'a> {
    governor: &'a Governor,
    scope: &'a str,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.governor
            .with_bucket(self.scope, |b| b.waiting = b.waiting.saturating_sub(1));
    }
}

/// A turn taken at a bucket: finished when it drops (unless a reply finished it first), and
/// given back if it was never sent.
struct Ticket<'a> {
    governor: &'a Governor,
    scope: &'a str,
    sent: bool,
    finished: bool,
}

impl<'a> Ticket<'a> {
    fn new(governor: &'a Governor, scope: &'a str) -> Self {
        Self {
            governor,
            scope,
            sent: false,
            finished: false,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let sent = self.sent;
        let wake = self.governor.with_bucket(self.scope, |b| {
            if sent {
                b.finish();
            } else {
                b.unsend(Instant::now());
            }
            b.wake_if_waiting()
        });
        // A request fewer in flight, or a turn given back: the first caller may go.
        if let Some(wake) = wake {
            wake.notify_waiters();
        }
    }
}

/// The bucket a request to `path` counts against: its project or organization.
pub(crate) fn scope_of(path: &str) -> &str {
    let rest = path.strip_prefix("/api/atlas/v2/").unwrap_or(path);
    for prefix in ["groups/", "orgs/"] {
        if let Some(tail) = rest.strip_prefix(prefix) {
            let end = tail.find('/').map_or(rest.len(), |i| prefix.len() + i);
            return &rest[..end];
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use atlas_migration_sys::operations::GET_MIGRATION;

    use super::*;

    const SCOPE: &str = "groups/32b6e34b3d91647abb20e7b8";

    /// A governor pacing every project at `per_second`.
    fn paced(per_second: u32) -> Governor {
        let limits = RateLimits::documented().project(1, per_second, Duration::from_secs(1));
        Governor::new(64, limits)
    }

    /// Admits `n` requests one after another, each sent and finished at once; how long
    /// that took.
    async fn admit_in_turn(governor: &Governor, n: usize) -> Duration {
        let started = Instant::now();
        for _ in 0..n {
            drop(governor.admit(SCOPE, &GET_MIGRATION, None).await.unwrap());
        }
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn callers_that_give_up_take_no_budget_with_them() {
        let governor = Arc::new(paced(100));
        let mut rng = fastrand::Rng::with_seed(1);
        let mut storm = Vec::new();
        for _ in 0..5_000 {
            let governor = governor.clone();
            let patience = Duration::from_millis(rng.u64(0..50));
            storm.push(tokio::spawn(async move {
                let admitted = tokio::time::timeout(patience, async {
                    drop(governor.admit(SCOPE, &GET_MIGRATION, None).await);
                });
                admitted.await.is_ok()
            }));
        }
        let mut served = 0;
        for call in storm {
            served += usize::from(call.await.unwrap());
        }
        assert!(served < 100, "most gave up: {served}");
        let status = governor.status();
        assert!(
            status.waited < Duration::from_secs(5_000 * 50 / 1000),
            "only time actually waited: {:?}",
            status.waited
        );
        assert_eq!(status.in_flight, 0);
        // The next 100 go at the pace (1 s, plus jitter), not behind 5,000 abandoned turns.
        let took = admit_in_turn(&governor, 100).await;
        assert!(took <= Duration::from_millis(1_200), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_the_queue_cannot_meet_fails_at_once() {
        let governor = Arc::new(paced(1));
        let mut queue = Vec::new();
        for _ in 0..10 {
            let governor = governor.clone();
            queue.push(tokio::spawn(async move {
                drop(governor.admit(SCOPE, &GET_MIGRATION, None).await);
            }));
        }
        tokio::task::yield_now().await;
        let asked = Instant::now();
        let deadline = asked + Duration::from_secs(3);
        let refused = governor
            .admit(SCOPE, &GET_MIGRATION, Some(deadline))
            .await
            .err()
            .expect("refused");
        assert!(
            refused.kind() == crate::ErrorKind::Budget && refused.is_rate_limited(),
            "{refused}"
        );
        assert_eq!(asked.elapsed(), Duration::ZERO, "without waiting");
        for call in queue {
            call.await.unwrap();
        }
    }

    #[test]
    fn scope_is_the_project_or_organization_of_the_path() {
        assert_eq!(
            scope_of(
                "/api/atlas/v2/groups/32b6e34b3d91647abb20e7b8/liveMigrations/507f1f77bcf86cd799439011"
            ),
            "groups/32b6e34b3d91647abb20e7b8"
        );
        assert_eq!(
            scope_of("/api/atlas/v2/orgs/4888442a3354817a7320eb61/liveMigrations/linkTokens"),
            "orgs/4888442a3354817a7320eb61"
        );
        assert_eq!(scope_of("/api/atlas/v2/groups/abc"), "groups/abc");
        assert_eq!(scope_of("/elsewhere"), "/elsewhere");
    }
}
