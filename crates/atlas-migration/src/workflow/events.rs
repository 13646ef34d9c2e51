//! [`ProgressEvent`]: what a push migration reports as it goes, and how polls of a migration
//! become such events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ids::{LiveMigrationId, ValidationId};
use crate::model::LiveMigration;
use crate::status::MigrationStatus;
use crate::wait::{MigrationChanges, PollEvent};

/// Progress of a [`PushMigration`](super::PushMigration), each event stamped with the time it
/// was observed.
///
/// ```
/// use atlas_migration::workflow::ProgressEvent;
///
/// fn show(event: &ProgressEvent) {
///     match event {
///         ProgressEvent::Lag { lag, .. } => println!("lag {lag:?}"),
///         ProgressEvent::Complete { migration_id, .. } => println!("{migration_id} done"),
///         other => println!("{other:?}"),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// The validation passed.
    Validated {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The validation.
        validation_id: ValidationId,
    },
    /// The migration was created.
    Created {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The new migration.
        migration_id: LiveMigrationId,
    },
    /// A resumed workflow found its migration.
    Resumed {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// Its status then.
        status: MigrationStatus,
    },
    /// The migration's status or readiness changed (first observation included).
    StatusChanged {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// The new status.
        status: MigrationStatus,
        /// Whether it is ready for cutover.
        ready_for_cutover: bool,
    },
    /// The migration's lag changed.
    Lag {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// How far the destination trails the source.
        lag: Duration,
    },
    /// The migration is ready for cutover.
    ReadyForCutover {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// The lag at that time, when known.
        lag: Option<Duration>,
    },
    /// Atlas's cutover window closes soon: a migration not cut over by `deadline` (120 hours
    /// after it was first seen ready) expires. Sent once per warning point of the
    /// [`CutoverPolicy`](crate::workflow::CutoverPolicy) while it waits.
    CutoverDeadline {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// When the window closes.
        deadline: DateTime<Utc>,
    },
    /// The cutover was requested and accepted.
    CutoverStarted {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
    },
    /// The migration is complete.
    Complete {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
    },
}

/// Where progress events go: the caller's callback or channel, if any.
#[derive(Clone, Default)]
pub(super) struct Progress {
    sink: Option<Sink>,
}

/// The caller's callback, shared by the workflow and its ready handle.
type Sink = Arc<Mutex<Box<dyn FnMut(ProgressEvent) + Send>>>;

impl Progress {
    /// Progress delivered to `f`.
    pub(super) fn to(f: impl FnMut(ProgressEvent) + Send + 'static) -> Self {
        Self {
            sink: Some(Arc::new(Mutex::new(Box::new(f)))),
        }
    }

    /// Logs `event` and hands it to the caller.
    pub(super) fn emit(&self, event: ProgressEvent) {
        tracing::debug!(?event, "push migration progress");
        match &event {
            ProgressEvent::StatusChanged { status, .. } => {
                crate::telemetry::migration_status(status.as_str())
            }
            ProgressEvent::Lag { lag, .. } => crate::telemetry::lag(*lag),
            _ => {}
        }
        if let Some(sink) = &self.sink {
            // A callback that panicked once still gets later events.
            let mut f = sink.lock().unwrap_or_else(|p| p.into_inner());
            f(event);
        }
    }

    /// A waiter's `on_poll` callback that reports the migration's status, readiness and lag
    /// changes since `seen` (the snapshot already reported, if any).
    pub(super) fn migration_changes(
        &self,
        id: &LiveMigrationId,
        seen: Option<&LiveMigration>,
    ) -> impl for<'a> FnMut(&PollEvent<'a, LiveMigration>) + Send + 'static {
        let progress = self.clone();
        let id = id.clone();
        let mut changes = MigrationChanges::after(seen);
        move |event: &PollEvent<'_, LiveMigration>| {
            let Ok(m) = event.result else { return };
            let change = changes.observe(m);
            if change.state {
                progress.emit(ProgressEvent::StatusChanged {
                    at: Utc::now(),
                    migration_id: id.clone(),
                    status: m.status.clone(),
                    ready_for_cutover: m.ready_for_cutover,
                });
            }
            if let Some(lag) = m.lag.filter(|_| change.lag) {
                progress.emit(ProgressEvent::Lag {
                    at: Utc::now(),
                    migration_id: id.clone(),
                    lag,
                });
            }
        }
    }
}
