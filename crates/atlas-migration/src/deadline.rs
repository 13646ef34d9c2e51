//! The caller's deadline, visible to everything a call does while it runs, so that a wait
//! inside the call (for rate-limit budget, for a connection slot) can tell at once that it
//! would end too late instead of being cut off there. A waiter sets it around each poll
//! (its `max_wait`); a plain call has none.

use std::future::Future;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as the caller's deadline (the earlier one wins when nested).
pub(crate) async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    let deadline = current().map_or(deadline, |outer| outer.min(deadline));
    DEADLINE.scope(deadline, work).await
}

/// The caller's deadline, if one is set.
pub(crate) fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}
