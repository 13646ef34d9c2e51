//! The state shared between the server task and the handle, behind one mutex.

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use parking_lot::Mutex;

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{SourceProject, Timings};
use crate::faults::Faults;
use crate::log::RequestLog;
use crate::metering::Meter;
use crate::rng::Rng;
use crate::state::Lifecycle;

/// Everything mutable.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) clock: Clock,
    pub(crate) rng: Rng,
    pub(crate) auth: Authenticator,
    pub(crate) faults: Faults,
    pub(crate) log: RequestLog,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) meter: Meter,
}

/// Shared simulator state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    pub(crate) timings: Timings,
    pub(crate) source_projects: Vec<SourceProject>,
    /// How 401 answers are paced.
    pub(crate) pacing: UnauthorizedPacing,
    /// TCP connections accepted so far.
    pub(crate) connections_accepted: AtomicUsize,
}

/// How 401 answers are paced (both off by default).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnauthorizedPacing {
    /// Wait before answering refused digest credentials (not missing, not stale ones).
    pub(crate) refusal_delay: Option<Duration>,
    /// Pause between the first byte of a 401's body and the rest.
    pub(crate) body_pause: Option<Duration>,
}
