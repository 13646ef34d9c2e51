//! How a push migration ends: [`PushOutcome`], and the [`ReadyMigration`] handle the caller
//! cuts over with.

use std::fmt;
use std::sync::Arc;

use crate::client::Client;
use crate::ids::{GroupId, LiveMigrationId};
use crate::journal::RecordedOutcome;
use crate::model::LiveMigration;
use crate::workflow::settings::Settings;
use crate::workflow::{WorkflowError, run};

/// How a [`PushMigration`](super::PushMigration) ended.
///
/// ```no_run
/// # async fn f(outcome: atlas_migration::workflow::PushOutcome) {
/// use atlas_migration::workflow::PushOutcome;
/// match outcome {
///     PushOutcome::ReadyForCutover(ready) => println!("{} ready", ready.id()),
///     PushOutcome::Complete(done) => println!("{done}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PushOutcome {
    /// Ready for cutover; the caller decides when (the default).
    ReadyForCutover(ReadyMigration),
    /// Complete (after an automatic cutover, or found complete when resuming).
    Complete(LiveMigration),
}

impl PushOutcome {
    /// The migration's id.
    ///
    /// ```no_run
    /// # fn f(o: &atlas_migration::workflow::PushOutcome) { println!("{:?}", o.migration_id()); }
    /// ```
    pub fn migration_id(&self) -> Option<&LiveMigrationId> {
        match self {
            Self::ReadyForCutover(r) => Some(&r.id),
            Self::Complete(m) => Some(&m.id),
        }
    }
}

/// A migration ready for cutover, handed back by a [`PushMigration`](super::PushMigration).
///
/// ```no_run
/// # async fn f(ready: atlas_migration::workflow::ReadyMigration) -> Result<(), atlas_migration::workflow::WorkflowError> {
/// println!("lag {:?}", ready.migration().lag);
/// let done = ready.cutover_and_wait().await?;
/// # Ok(()) }
/// ```
pub struct ReadyMigration {
    pub(super) client: Client,
    pub(super) group: GroupId,
    pub(super) id: LiveMigrationId,
    pub(super) snapshot: LiveMigration,
    pub(super) settings: Arc<Settings>,
}

impl fmt::Debug for ReadyMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyMigration")
            .field("group", &self.group)
            .field("id", &self.id)
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}

impl ReadyMigration {
    /// The migration's id.
    ///
    /// ```no_run
    /// # fn f(r: &atlas_migration::workflow::ReadyMigration) { println!("{}", r.id()); }
    /// ```
    pub fn id(&self) -> &LiveMigrationId {
        &self.id
    }

    /// The migration as last seen (ready for cutover).
    ///
    /// ```no_run
    /// # fn f(r: &atlas_migration::workflow::ReadyMigration) { println!("{}", r.migration()); }
    /// ```
    pub fn migration(&self) -> &LiveMigration {
        &self.snapshot
    }

    /// Requests the cutover and waits until the migration is complete.
    ///
    /// ```no_run
    /// # async fn f(r: atlas_migration::workflow::ReadyMigration) {
    /// match r.cutover_and_wait().await {
    ///     Ok(done) => println!("{done}"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    pub async fn cutover_and_wait(self) -> Result<LiveMigration, WorkflowError> {
        let recorder = self.settings.recorder.clone();
        let result = run::cutover_and_wait(self).await;
        if let Some(recorder) = recorder {
            recorder
                .finish_with(&result, |_| RecordedOutcome::Complete)
                .await;
            recorder.release().await;
        }
        result
    }
}
