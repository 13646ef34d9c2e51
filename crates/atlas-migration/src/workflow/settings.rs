//! What a push migration and its ready handle share: the schedule of each wait and where
//! progress goes.

use std::sync::Arc;

use crate::wait::Poller;
use crate::wait::schedule;
use crate::workflow::cutover_policy::CutoverPolicy;
use crate::workflow::events::Progress;
use crate::workflow::recorder::Recorder;

/// The schedules of the workflow's three waits, its progress sink, and its journal record
/// once taken.
#[derive(Clone)]
pub(super) struct Settings {
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
            validation: schedule::VALIDATION.poller(),
            ready: schedule::READY.poller(),
            complete: schedule::COMPLETE.poller(),
            progress: Progress::default(),
            recorder: None,
            cutover_policy: None,
        }
    }
}
