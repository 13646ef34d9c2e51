//! The workflow's side of the journal: it takes the record under a lease and keeps the lease
//! renewed while it runs, decides where to start from the record, and saves each step under
//! the lease, the create intent strictly before the create request is sent.
//!
//! The lease is what keeps two workflows from driving one record: every save presents it, and
//! before the two steps that change Atlas for good (the create and the cutover) the workflow
//! renews it, stopping when it cannot. The renewal runs as a task of its own, every third of
//! the lease's time to live, and ends with the workflow: dropping the workflow's future drops
//! the keeper, which stops the task and gives the lease back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ids::{GroupId, LiveMigrationId};
use crate::journal::{
    Journal, JournalError, JournalErrorKind, Lease, RecordedOutcome, WorkflowRecord,
};
use crate::request::MigrationRequest;
use crate::workflow::{Start, Step, WorkflowError, WorkflowFailure};

/// A workflow's journal and its record's key, as configured on the builder.
#[derive(Clone)]
pub(super) struct Binding {
    pub(super) journal: Arc<dyn Journal>,
    pub(super) key: String,
    pub(super) confirmation: Option<Confirmation>,
}

/// The caller's answer to a record whose create may have happened.
#[derive(Debug, Clone)]
pub(super) enum Confirmation {
    /// Atlas has this migration for the record.
    Migration(LiveMigrationId),
    /// Atlas has no migration for the record: creating again is safe.
    NoMigration,
}

/// The record being driven, and the lease that keeps other workflows off it.
pub(super) struct Recorder {
    keeper: Keeper,
    record: tokio::sync::Mutex<WorkflowRecord>,
}

/// A lease, renewed in the background until released or dropped.
struct Keeper {
    journal: Arc<dyn Journal>,
    lease: Arc<Mutex<Lease>>,
    ttl: Duration,
    renewal: tokio::task::JoinHandle<()>,
    released: AtomicBool,
}

fn failed(step: Step, e: JournalError) -> WorkflowError {
    WorkflowError::new(step, WorkflowFailure::Journal(e), None)
}

impl Keeper {
    /// Keeps `lease` renewed every third of `ttl` from now on.
    fn start(journal: Arc<dyn Journal>, lease: Lease, ttl: Duration) -> Self {
        let lease = Arc::new(Mutex::new(lease));
        let renewal = crate::tasks::spawn(renew_every(journal.clone(), lease.clone(), ttl));
        Self {
            journal,
            lease,
            ttl,
            renewal,
            released: AtomicBool::new(false),
        }
    }

    fn lease(&self) -> Lease {
        self.lease.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Renews the lease now: proof that the record is still this workflow's, for a full
    /// time to live from here.
    async fn check(&self) -> Result<(), JournalError> {
        let renewed = self.journal.renew(&self.lease(), self.ttl).await?;
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = renewed;
        Ok(())
    }

    /// Stops renewing and gives the lease back (best effort).
    async fn release(&self) {
        self.renewal.abort();
        if self.released.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Err(e) = self.journal.release(&self.lease()).await {
            tracing::warn!(error = %e, "could not release the journal record's lease");
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.renewal.abort();
        if self.released.swap(true, Ordering::AcqRel) {
            return;
        }
        // Dropped without a release (the workflow's future was dropped): give the lease back
        // from a task of its own if a runtime is there; else it runs out after its ttl.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (journal, lease) = (self.journal.clone(), self.lease());
            runtime.spawn(async move {
                let _ = journal.release(&lease).await;
            });
        }
    }
}

/// Renews `lease` every third of `ttl` until it is lost (or the task is aborted). An error
/// other than a lost lease is retried at the next turn: the lease may well outlive it.
async fn renew_every(journal: Arc<dyn Journal>, lease: Arc<Mutex<Lease>>, ttl: Duration) {
    let every = (ttl / 3).max(Duration::from_millis(1));
    loop {
        tokio::time::sleep(every).await;
        let held = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match journal.renew(&held, ttl).await {
            Ok(renewed) => *lease.lock().unwrap_or_else(|p| p.into_inner()) = renewed,
            Err(e) if e.kind() == JournalErrorKind::LeaseLost => {
                tracing::warn!(error = %e, "the journal record's lease was lost; the workflow stops at its next save");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "could not renew the journal record's lease"),
        }
    }
}

impl Recorder {
    /// Takes `binding`'s record under a lease of `ttl` and says where the workflow starts: a
    /// new record starts as configured; a known migration is resumed; a create that may have
    /// happened stops the workflow until the caller confirms what Atlas has (once any create
    /// request still travelling has landed).
    pub(super) async fn open(
        binding: Binding,
        group: &GroupId,
        start: Start,
        ttl: Duration,
    ) -> Result<(Arc<Recorder>, Start), WorkflowError> {
        let Binding {
            journal,
            key,
            confirmation,
        } = binding;
        crate::journal::check_key(&key)
            .map_err(|e| WorkflowError::new(Step::Journal, WorkflowFailure::Call(e), None))?;
        let lease = journal
            .acquire(&key, crate::journal::process_owner(), ttl)
            .await
            .map_err(|e| failed(Step::Journal, e))?;
        let keeper = Keeper::start(journal, lease, ttl);
        let (record, start) = match decide(&keeper, &key, group, start, confirmation).await {
            Ok(decided) => decided,
            Err(e) => {
                keeper.release().await;
                return Err(e);
            }
        };
        let recorder = Arc::new(Recorder {
            keeper,
            record: tokio::sync::Mutex::new(record),
        });
        if let Err(e) = recorder.update(Step::Journal, |_| {}).await {
            recorder.release().await;
            return Err(e);
        }
        Ok((recorder, start))
    }

    /// Changes the record and saves it; the step names where a failure to save stops.
    pub(super) async fn update(
        &self,
        step: Step,
        change: impl FnOnce(&mut WorkflowRecord),
    ) -> Result<(), WorkflowError> {
        self.update_and_read(step, change).await
    }

    /// Changes the record, saves it under the lease, and reads a value from it. A save
    /// refused leaves the record as it was in memory too.
    pub(super) async fn update_and_read<T>(
        &self,
        step: Step,
        change: impl FnOnce(&mut WorkflowRecord) -> T,
    ) -> Result<T, WorkflowError> {
        let mut record = self.record.lock().await;
        let mut changed = record.clone();
        let value = change(&mut changed);
        changed.updated_at = Utc::now();
        self.keeper
            .journal
            .save(&self.keeper.lease(), &changed)
            .await
            .map_err(|e| failed(step, e))?;
        *record = changed;
        Ok(value)
    }

    /// Proves that the record is still this workflow's (renewing its lease) before `step`,
    /// which changes Atlas for good; the lease lost stops the workflow there.
    pub(super) async fn check(
        &self,
        step: Step,
        migration: Option<&LiveMigrationId>,
    ) -> Result<(), WorkflowError> {
        self.keeper
            .check()
            .await
            .map_err(|e| WorkflowError::new(step, WorkflowFailure::Journal(e), migration))
    }

    /// When the migration was first seen ready, as recorded.
    pub(super) async fn first_ready_at(&self) -> Option<DateTime<Utc>> {
        self.record.lock().await.first_ready_at
    }

    /// Gives the record back: the workflow is done with it.
    pub(super) async fn release(&self) {
        self.keeper.release().await;
    }

    /// Records how the workflow ended: `result` as the outcome, `Ok` being `success`.
    pub(super) async fn finish_with<T>(
        &self,
        result: &Result<T, WorkflowError>,
        success: impl FnOnce(&T) -> RecordedOutcome,
    ) {
        let outcome = match result {
            Ok(value) => success(value),
            Err(e) => RecordedOutcome::Failed {
                step: e.step.to_string(),
                message: e.source.to_string(),
            },
        };
        self.finish(outcome).await;
    }

    /// Records how the workflow ended (best effort: the outcome is also the return value).
    pub(super) async fn finish(&self, outcome: RecordedOutcome) {
        if let Err(e) = self
            .update(Step::Journal, |r| r.outcome = Some(outcome))
            .await
        {
            tracing::warn!(error = %e, "could not record the workflow's outcome");
        }
    }
}

/// Reads the record under the lease and decides where the workflow starts.
async fn decide(
    keeper: &Keeper,
    key: &str,
    group: &GroupId,
    start: Start,
    confirmation: Option<Confirmation>,
) -> Result<(WorkflowRecord, Start), WorkflowError> {
    let given = match &start {
        Start::Request(r) => Some(r.as_ref()),
        Start::Resume(_) => None,
    };
    let mut record = match keeper
        .journal
        .load(key)
        .await
        .map_err(|e| failed(Step::Journal, e))?
    {
        Some(record) => record,
        None => WorkflowRecord::new(key, group, given),
    };
    let mismatch = |why| WorkflowError::record_mismatch(key, why);
    if record.group != *group {
        return Err(mismatch(format!(
            "the record is for project {}, not {group}",
            record.group
        )));
    }
    match (&record.request, given) {
        (Some(stored), Some(given)) if !same_request(stored, given) => {
            return Err(mismatch("the record holds another request".to_owned()));
        }
        (None, Some(given)) => record.request = Some(given.clone()),
        _ => {}
    }
    let no_request = || {
        mismatch(
            "the record has no request and no migration; start it with PushMigration::new"
                .to_owned(),
        )
    };
    let start = if let Some(id) = &record.migration_id {
        Start::Resume(id.clone())
    } else if record.create_may_have_happened() {
        let unconfirmed = |record: &WorkflowRecord| {
            (
                record.group.clone(),
                record.destination_cluster().map(str::to_owned),
            )
        };
        match confirmation {
            Some(Confirmation::Migration(id)) => {
                record.migration_id = Some(id.clone());
                Start::Resume(id)
            }
            Some(Confirmation::NoMigration) => {
                if let Some(until) = record.create_may_still_land(Utc::now()) {
                    let (group, destination_cluster) = unconfirmed(&record);
                    return Err(WorkflowError::new(
                        Step::Create,
                        WorkflowFailure::CreateMayStillLand {
                            key: key.to_owned(),
                            group,
                            destination_cluster,
                            until,
                        },
                        None,
                    ));
                }
                record.create_intent_at = None;
                record.create_may_land_until = None;
                request_start(&record, given).ok_or_else(no_request)?
            }
            None => {
                // Looking for the migration before a request still travelling has landed
                // proves nothing: wait until it has, so that the answer's advice holds.
                if let Some(until) = record.create_may_still_land(Utc::now()) {
                    tracing::info!(
                        key,
                        %until,
                        "a create request of this record may still reach Atlas; waiting until it has"
                    );
                    let left = (until - Utc::now()).to_std().unwrap_or_default();
                    tokio::time::sleep(left).await;
                }
                let (group, destination_cluster) = unconfirmed(&record);
                return Err(WorkflowError::new(
                    Step::Create,
                    WorkflowFailure::CreateUnconfirmed {
                        key: key.to_owned(),
                        group,
                        destination_cluster,
                        landed_by: record.create_may_land_until,
                    },
                    None,
                ));
            }
        }
    } else {
        match start {
            Start::Resume(id) => {
                record.migration_id = Some(id.clone());
                Start::Resume(id)
            }
            Start::Request(_) => request_start(&record, given).ok_or_else(no_request)?,
        }
    };
    Ok((record, start))
}

/// The request to validate and create with: the caller's (it carries the password), else the
/// recorded one; `None` when neither exists.
fn request_start(record: &WorkflowRecord, given: Option<&MigrationRequest>) -> Option<Start> {
    let request = given.or(record.request.as_ref()).cloned()?;
    Some(Start::Request(Box::new(request)))
}

/// Whether two requests are the same apart from secrets.
fn same_request(a: &MigrationRequest, b: &MigrationRequest) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
