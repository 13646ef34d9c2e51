//! [`WorkflowError`]: which step of a push migration failed, and why.

use std::fmt;

use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId};
use crate::journal::JournalError;
use crate::model::{LiveMigration, Validation};
use crate::wait::WaiterError;
use crate::workflow::Step;

/// What went wrong in a step of a [`WorkflowError`].
///
/// ```
/// # fn f(e: &atlas_migration::workflow::WorkflowError) {
/// use atlas_migration::workflow::WorkflowFailure;
/// if let WorkflowFailure::CreateOutcomeUnknown(_) = &e.source {
///     eprintln!("look for an existing migration before creating another");
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkflowFailure {
    /// A call failed (after the client's retries).
    Call(Error),
    /// Waiting for the validation ended without success (`FAILED` carries the server's
    /// message).
    Validation(WaiterError<Validation>),
    /// Waiting for the migration ended without success (`FAILED`, `EXPIRED`, timeout, ...).
    Migration(WaiterError<LiveMigration>),
    /// The create request may or may not have created a migration: the connection broke after
    /// it was sent, the server answered 5xx, or the reply could not be read. The workflow does
    /// not create again; look for an existing migration in the destination project (Atlas UI or
    /// support) and [`resume`](crate::workflow::PushMigration::resume) it by id, or create
    /// again only once you know there is none.
    CreateOutcomeUnknown(Error),
    /// The journal could not be taken, read or written, or the workflow's lease on its
    /// record was lost ([`JournalErrorKind::LeaseLost`](crate::journal::JournalErrorKind::LeaseLost):
    /// another workflow drives the record now); nothing was sent after the failure.
    Journal(JournalError),
    /// The journal records a create request whose reply never arrived (the process stopped
    /// or the reply was lost): a migration into `destination_cluster` of `group` may exist.
    /// The workflow returns this only once any such request has reached Atlas (`landed_by`),
    /// so looking now is conclusive. Look for it in Atlas, then run again with
    /// [`confirm_migration`](crate::workflow::PushMigration::confirm_migration) or
    /// [`confirm_no_migration`](crate::workflow::PushMigration::confirm_no_migration); the
    /// workflow never creates again before either.
    CreateUnconfirmed {
        /// The journal record.
        key: String,
        /// The destination project.
        group: GroupId,
        /// The destination cluster, when the request is recorded.
        destination_cluster: Option<String>,
        /// By when any create request of the record has reached Atlas, when recorded (not in
        /// records of earlier versions).
        landed_by: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// [`confirm_no_migration`](crate::workflow::PushMigration::confirm_no_migration) was
    /// refused: a create request of the record may still reach Atlas until `until` (the
    /// request's timeout and a margin after it was sent), so finding no migration before then
    /// proves nothing. Look again after `until`, then confirm what you find.
    CreateMayStillLand {
        /// The journal record.
        key: String,
        /// The destination project.
        group: GroupId,
        /// The destination cluster, when the request is recorded.
        destination_cluster: Option<String>,
        /// Until when the create request may still land.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// A hook of the [`CutoverPolicy`](crate::workflow::CutoverPolicy) failed
    /// (`before_cutover`: nothing was cut over; `after_complete`: the migration is complete).
    Hook {
        /// Which hook.
        hook: &'static str,
        /// Its error.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The migration expired: Atlas's 120-hour cutover window, counted from when it was first
    /// seen ready, passed without a cutover (also when it passed while the workflow was not
    /// running).
    CutoverWindowExpired {
        /// When the migration was first seen ready, when known (recorded in a journal).
        first_ready_at: Option<chrono::DateTime<chrono::Utc>>,
        /// When the window closed, when known.
        deadline: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A [`Fleet`](crate::workflow::Fleet) member that never started: another member needing
    /// `exclusive` alone stopped while its migration may still run there (its create is
    /// unconfirmed, or it failed before the migration ended), so starting this one could put
    /// two migrations on one migration host. Resolve `held_by` (find its migration in Atlas,
    /// finish or confirm it), then run this member again.
    ExclusiveStillInUse {
        /// What this member needs alone.
        exclusive: crate::workflow::Exclusive,
        /// The member that holds it.
        held_by: String,
        /// That member's migration, when known (none when its create is unconfirmed).
        migration: Option<LiveMigrationId>,
    },
    /// The journal record does not fit the workflow (another project or request), or lacks
    /// what recovery needs.
    RecordMismatch {
        /// The journal record.
        key: String,
        /// What does not fit.
        why: String,
    },
}

impl fmt::Display for WorkflowFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Call(e) => e.fmt(f),
            Self::Validation(e) => e.fmt(f),
            Self::Migration(e) => e.fmt(f),
            Self::CreateOutcomeUnknown(e) => write!(
                f,
                "the migration may or may not have been created ({e}); look for an existing \
                 migration in the destination project and resume it instead of creating another"
            ),
            Self::Journal(e) => e.fmt(f),
            Self::CreateUnconfirmed {
                key,
                group,
                destination_cluster,
                landed_by,
            } => {
                write!(
                    f,
                    "journal record {key}: a create request for cluster {} in project {group} \
                     may have reached Atlas without its reply arriving; ",
                    destination_cluster.as_deref().unwrap_or("(not recorded)")
                )?;
                if let Some(at) = landed_by {
                    write!(
                        f,
                        "any such request has reached Atlas by {at}, so it is safe to look now: "
                    )?;
                }
                f.write_str(
                    "look for that migration in Atlas, then run again with \
                     confirm_migration(id), or confirm_no_migration() if there is none",
                )
            }
            Self::CreateMayStillLand {
                key,
                group,
                destination_cluster,
                until,
            } => write!(
                f,
                "journal record {key}: confirm_no_migration() refused: a create request for \
                 cluster {} in project {group} may still reach Atlas until {until}, so finding \
                 no migration before then proves nothing; look again after {until}, then \
                 confirm what you find",
                destination_cluster.as_deref().unwrap_or("(not recorded)")
            ),
            Self::RecordMismatch { key, why } => write!(f, "journal record {key}: {why}"),
            Self::ExclusiveStillInUse {
                exclusive,
                held_by,
                migration,
            } => {
                write!(f, "not started: {exclusive} may still serve ")?;
                match migration {
                    Some(id) => write!(f, "migration {id} of member {held_by}")?,
                    None => write!(
                        f,
                        "a migration of member {held_by}, whose create is unconfirmed"
                    )?,
                }
                f.write_str(
                    ", which stopped before it ended; resolve that member, then run this one again",
                )
            }
            Self::Hook { hook, error } => write!(f, "the {hook} hook failed: {error}"),
            Self::CutoverWindowExpired {
                first_ready_at,
                deadline,
            } => {
                f.write_str("the migration expired: ")?;
                match (first_ready_at, deadline) {
                    (Some(first), Some(deadline)) => write!(
                        f,
                        "first ready at {first}, it was not cut over before the 120-hour \
                         window closed at {deadline}"
                    ),
                    _ => f.write_str(
                        "it was not cut over before the 120-hour window from its readiness \
                         closed",
                    ),
                }
            }
        }
    }
}

/// Each message includes the wrapped error's; `source()` continues below it, so a chain
/// reads every message once.
impl std::error::Error for WorkflowFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Call(e) | Self::CreateOutcomeUnknown(e) => e.source(),
            Self::Validation(e) => e.source(),
            Self::Migration(e) => e.source(),
            Self::Journal(e) => e.source(),
            Self::Hook { error, .. } => error.source(),
            Self::CreateUnconfirmed { .. }
            | Self::CreateMayStillLand { .. }
            | Self::RecordMismatch { .. }
            | Self::ExclusiveStillInUse { .. }
            | Self::CutoverWindowExpired { .. } => None,
        }
    }
}

/// A failed step of a [`PushMigration`](crate::workflow::PushMigration).
///
/// ```no_run
/// # async fn run(flow: atlas_migration::workflow::PushMigration) {
/// if let Err(e) = flow.run().await {
///     eprintln!("step {} failed: {e}", e.step);
///     if let Some(message) = e.server_message() {
///         eprintln!("Atlas says: {message}");
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkflowError {
    /// The step that failed.
    pub step: Step,
    /// What went wrong.
    pub source: WorkflowFailure,
    /// The migration, once created or when resuming.
    pub migration: Option<LiveMigrationId>,
}

impl WorkflowError {
    pub(super) fn new(
        step: Step,
        source: WorkflowFailure,
        migration: Option<&LiveMigrationId>,
    ) -> Self {
        Self {
            step,
            source,
            migration: migration.cloned(),
        }
    }

    /// A [`WorkflowFailure::RecordMismatch`] of record `key`, met while taking the record.
    pub(super) fn record_mismatch(key: &str, why: String) -> Self {
        let failure = WorkflowFailure::RecordMismatch {
            key: key.to_owned(),
            why,
        };
        Self::new(Step::Journal, failure, None)
    }

    /// What the server said: a failed validation's `errorMessage`, an API error's detail, or
    /// the final status of a failed or expired migration.
    ///
    /// ```no_run
    /// # fn f(e: &atlas_migration::workflow::WorkflowError) {
    /// println!("{:?}", e.server_message());
    /// # }
    /// ```
    pub fn server_message(&self) -> Option<String> {
        let from_call = |e: &Error| e.detail().map(str::to_owned);
        match &self.source {
            WorkflowFailure::Call(e) | WorkflowFailure::CreateOutcomeUnknown(e) => from_call(e),
            WorkflowFailure::Validation(WaiterError::FailureState { last }) => {
                last.error_message.clone()
            }
            WorkflowFailure::Validation(e) => e.operation_error().and_then(from_call),
            WorkflowFailure::Migration(WaiterError::FailureState { last }) => {
                Some(format!("migration is {}", last.status))
            }
            WorkflowFailure::Migration(e) => e.operation_error().and_then(from_call),
            WorkflowFailure::CutoverWindowExpired { .. } => Some(format!(
                "migration is {}",
                crate::status::MigrationStatus::Expired
            )),
            WorkflowFailure::Journal(_)
            | WorkflowFailure::CreateUnconfirmed { .. }
            | WorkflowFailure::CreateMayStillLand { .. }
            | WorkflowFailure::RecordMismatch { .. }
            | WorkflowFailure::ExclusiveStillInUse { .. }
            | WorkflowFailure::Hook { .. } => None,
        }
    }

    /// Whether the create request's outcome is unknown, so a migration may exist; see
    /// [`WorkflowFailure::CreateOutcomeUnknown`].
    ///
    /// ```no_run
    /// # fn f(e: &atlas_migration::workflow::WorkflowError) {
    /// if e.is_create_outcome_unknown() { /* do not create again blindly */ }
    /// # }
    /// ```
    pub fn is_create_outcome_unknown(&self) -> bool {
        matches!(self.source, WorkflowFailure::CreateOutcomeUnknown(_))
    }

    /// Whether the journal records a create that may have happened and awaits the caller's
    /// confirmation ([`WorkflowFailure::CreateUnconfirmed`]).
    ///
    /// ```
    /// # fn f(e: &atlas_migration::workflow::WorkflowError) -> bool {
    /// e.is_create_unconfirmed()
    /// # }
    /// ```
    pub fn is_create_unconfirmed(&self) -> bool {
        matches!(self.source, WorkflowFailure::CreateUnconfirmed { .. })
    }

    /// Whether a migration this workflow created (or may have created) may still be running
    /// in Atlas though the workflow stopped: the create's outcome is unknown or unconfirmed,
    /// or a step after the create failed before the migration ended (a cutover window that
    /// closed, `FAILED`, `EXPIRED` and a failed `after_complete` hook end it). Fleets keep
    /// such a member's exclusive resources (its migration host) held.
    ///
    /// ```no_run
    /// # fn f(e: &atlas_migration::workflow::WorkflowError) {
    /// if e.migration_may_still_run() {
    ///     eprintln!("its migration host is not free yet");
    /// }
    /// # }
    /// ```
    pub fn migration_may_still_run(&self) -> bool {
        match &self.source {
            WorkflowFailure::CreateOutcomeUnknown(_)
            | WorkflowFailure::CreateUnconfirmed { .. }
            | WorkflowFailure::CreateMayStillLand { .. } => true,
            WorkflowFailure::Migration(WaiterError::FailureState { .. })
            | WorkflowFailure::CutoverWindowExpired { .. }
            | WorkflowFailure::RecordMismatch { .. }
            | WorkflowFailure::ExclusiveStillInUse { .. } => false,
            _ => self.migration.is_some() && self.step != Step::AfterComplete,
        }
    }

    /// Whether the workflow stopped because another workflow took its journal record over
    /// (its lease was lost): nothing was sent after that was found.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::workflow::WorkflowError) -> bool {
    /// e.is_lease_lost()
    /// # }
    /// ```
    pub fn is_lease_lost(&self) -> bool {
        matches!(&self.source, WorkflowFailure::Journal(e)
            if e.kind() == crate::journal::JournalErrorKind::LeaseLost)
    }
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "push migration failed at step \"{}\"", self.step)?;
        if let Some(id) = &self.migration {
            write!(f, " (migration {id})")?;
        }
        write!(f, ": {}", self.source)
    }
}

/// The message includes the failure's; `source()` continues below it.
impl std::error::Error for WorkflowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.source)
    }
}
