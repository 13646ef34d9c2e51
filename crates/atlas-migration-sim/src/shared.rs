//! The state shared between the server task and the handle, behind one mutex.

use parking_lot::Mutex;

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{SourceProject, Timings};
use crate::faults::Faults;
use crate::log::RequestLog;
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
}

/// Shared simulator state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    pub(crate) timings: Timings,
    pub(crate) source_projects: Vec<SourceProject>,
}
