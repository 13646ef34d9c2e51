//! The workflow's side of the journal: it takes the record, decides where to start from it,
//! and saves each step, the create intent strictly before the create request is sent.

use std::sync::Arc;

use chrono::Utc;

use crate::ids::{GroupId, LiveMigrationId};
use crate::journal::{Journal, JournalError, RecordLock, RecordedOutcome, WorkflowRecord};
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

/// The record being driven, and the lock that keeps other processes off it.
pub(super) struct Recorder {
    journal: Arc<dyn Journal>,
    record: tokio::sync::Mutex<WorkflowRecord>,
    _lock: Box<dyn RecordLock>,
}

fn failed(step: Step, e: JournalError) -> WorkflowError {
    WorkflowError::new(step, WorkflowFailure::Journal(e), None)
}

impl Recorder {
    /// Takes `binding`'s record and says where the workflow starts: a new record starts as
    /// configured; a known migration is resumed; a create that may have happened stops the
    /// workflow until the caller confirms what Atlas has.
    pub(super) async fn open(
        binding: Binding,
        group: &GroupId,
        start: Start,
    ) -> Result<(Arc<Recorder>, Start), WorkflowError> {
        let Binding {
            journal,
            key,
            confirmation,
        } = binding;
        crate::journal::check_key(&key)
            .map_err(|e| WorkflowError::new(Step::Journal, WorkflowFailure::Call(e), None))?;
        let lock = journal
            .lock(&key)
            .await
            .map_err(|e| failed(Step::Journal, e))?;
        let given = match &start {
            Start::Request(r) => Some(r.as_ref()),
            Start::Resume(_) => None,
        };
        let mut record = match journal
            .load(&key)
            .await
            .map_err(|e| failed(Step::Journal, e))?
        {
            Some(record) => record,
            None => WorkflowRecord::new(&key, group, given),
        };
        let mismatch = |why: String| {
            WorkflowError::new(
                Step::Journal,
                WorkflowFailure::RecordMismatch {
                    key: key.clone(),
                    why,
                },
                None,
            )
        };
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
            match confirmation {
                Some(Confirmation::Migration(id)) => {
                    record.migration_id = Some(id.clone());
                    Start::Resume(id)
                }
                Some(Confirmation::NoMigration) => {
                    record.create_intent_at = None;
                    request_start(&record, given).ok_or_else(no_request)?
                }
                None => {
                    return Err(WorkflowError::new(
                        Step::Create,
                        WorkflowFailure::CreateUnconfirmed {
                            key,
                            group: record.group.clone(),
                            destination_cluster: record.destination_cluster().map(str::to_owned),
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
        let recorder = Arc::new(Recorder {
            journal,
            record: tokio::sync::Mutex::new(record),
            _lock: lock,
        });
        recorder.update(Step::Journal, |_| {}).await?;
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

    /// Changes the record, saves it, and reads a value from it.
    pub(super) async fn update_and_read<T>(
        &self,
        step: Step,
        change: impl FnOnce(&mut WorkflowRecord) -> T,
    ) -> Result<T, WorkflowError> {
        let mut record = self.record.lock().await;
        let value = change(&mut record);
        record.updated_at = Utc::now();
        self.journal
            .save(&record)
            .await
            .map_err(|e| failed(step, e))?;
        Ok(value)
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
