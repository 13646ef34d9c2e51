//! What a push migration and its ready handle share: the schedule of each wait and where
//! progress goes.

use std::sync::Arc;
use std::time::Duration;

use crate::client::Client;
use crate::wait::Poller;
use crate::wait::poller as schedule;
use crate::workflow::cutover_policy::CutoverPolicy;
use crate::workflow::events::Progress;
use crate::workflow::recorder::Recorder;

/// How long one call of the workflow (validate, create, cutover) may wait out Atlas's rate
/// limit, unless configured otherwise.
pub(crate) const DEFAULT_CALL_MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// How long after a create attempt's timeout the request may still reach Atlas (held by a
/// load balancer or proxy), unless configured otherwise.
pub(crate) const DEFAULT_LANDING_MARGIN: Duration = Duration::from_secs(30);

/// A call's deadline when its `call_max_wait` is beyond what the clock can add.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

/// The attempt timeout assumed for a client configured without one: a request of such a
/// client may travel for ever, and the record must name some moment.
pub(crate) const UNBOUNDED_ATTEMPT: Duration = Duration::from_secs(30);

/// The schedules of the workflow's three waits, its progress sink, and its journal record
/// once taken.
#[derive(Clone)]
pub(super) struct Settings {
    /// How long one call (validate, create, cutover) may ride out Atlas's rate limit.
    pub(super) call_max_wait: Duration,
    /// How long after an attempt's timeout a create request may still land.
    pub(super) landing_margin: Duration,
    pub(super) validation: Poller,
    pub(super) ready: Poller,
    pub(super) complete: Poller,
    pub(super) progress: Progress,
    pub(super) recorder: Option<Arc<Recorder>>,
    pub(super) cutover_policy: Option<Arc<CutoverPolicy>>,
}

impl Default for Settings {
    /// The waiters' own default schedules.
    fn default() -> Self {
        Self {
            call_max_wait: DEFAULT_CALL_MAX_WAIT,
            landing_margin: DEFAULT_LANDING_MARGIN,
            validation: schedule::VALIDATION.poller(),
            ready: schedule::READY.poller(),
            complete: schedule::COMPLETE.poller(),
            progress: Progress::default(),
            recorder: None,
            cutover_policy: None,
        }
    }
}

impl Settings {
    /// The handle for one call of the workflow, with the call's own deadline, so that 429s
    /// are ridden out until then whatever the client's retry policy allows (a 429 was not
    /// processed).
    pub(super) fn call_client(&self, client: &Client) -> Client {
        let now = tokio::time::Instant::now();
        // A wait longer than the clock can count is no deadline at all.
        let deadline = now
            .checked_add(self.call_max_wait)
            .unwrap_or(now + FAR_FUTURE);
        client.until(deadline)
    }
}
