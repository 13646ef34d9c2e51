//! The steps of a push migration, in order: validate, wait, create, wait until ready, and
//! (automatically or when the caller says) cut over and wait until complete.

use std::sync::Arc;

use chrono::Utc;

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId, OrgId};
use crate::journal::RecordedOutcome;
use crate::model::LiveMigration;
use crate::request::MigrationRequest;
use crate::status::MigrationStatus;
use crate::wait::{Acceptance, WaiterError};
use crate::workflow::governed;
use crate::workflow::recorder::Recorder;
use crate::workflow::settings::{Settings, UNBOUNDED_ATTEMPT};
use crate::workflow::{
    ProgressEvent, PushMigration, PushOutcome, ReadyMigration, Start, Step, WorkflowError,
    WorkflowFailure,
};

/// Runs a workflow from its start to readiness, then cuts over if it was told to; with a
/// journal, from where its record says, recording each step and the outcome.
pub(super) async fn push(flow: PushMigration) -> Result<PushOutcome, WorkflowError> {
    let PushMigration {
        client,
        group,
        start,
        auto_cutover,
        mut settings,
        journal,
        lease_ttl,
        expected_project,
        expected_org,
        recorded_source,
    } = flow;
    if let Some(expected) = expected_project.filter(|expected| *expected != group) {
        let key = journal.as_ref().map_or("(none)", |b| b.key.as_str());
        return Err(WorkflowError::record_mismatch(
            key,
            format!(
                "the workflow is for project {group}, and this one may only touch project \
                 {expected}"
            ),
        ));
    }
    if let Some(org) = &expected_org {
        let key = journal.as_ref().map_or("(none)", |b| b.key.as_str());
        let source = match &start {
            Start::Request(request) => Some(&request.source.project),
            Start::Resume(_) => recorded_source.as_ref(),
        };
        check_org(&client, org, source, key).await?;
    }
    let start = match journal {
        Some(binding) => {
            let (recorder, start) = Recorder::open(binding, &group, start, lease_ttl).await?;
            settings.recorder = Some(recorder);
            start
        }
        None => start,
    };
    let recorder = settings.recorder.clone();
    let result = push_from(client, group, start, auto_cutover, settings).await;
    if let Some(recorder) = recorder {
        recorder
            .finish_with(&result, |outcome| match outcome {
                PushOutcome::Complete(_) => RecordedOutcome::Complete,
                _ => RecordedOutcome::ReadyForCutover,
            })
            .await;
        // A migration handed back ready keeps its record until it is cut over (or the
        // handle is dropped).
        if !matches!(result, Ok(PushOutcome::ReadyForCutover(_))) {
            recorder.release().await;
        }
    }
    result
}

/// Refuses a workflow whose source project is not linked to `org` (or not known).
async fn check_org(
    client: &Client,
    org: &OrgId,
    source: Option<&GroupId>,
    key: &str,
) -> Result<(), WorkflowError> {
    let mismatch = |why| WorkflowError::record_mismatch(key, why);
    let Some(source) = source else {
        return Err(mismatch(format!(
            "this one may only touch organization {org}, and the workflow does not know its \
             source project (resumed by id without a recorded request)"
        )));
    };
    let linked = client
        .list_source_projects(org)
        .await
        .map_err(|e| WorkflowError::new(Step::Journal, WorkflowFailure::Call(e), None))?;
    if linked.iter().any(|p| p.project_id == *source) {
        Ok(())
    } else {
        Err(mismatch(format!(
            "source project {source} is not linked to organization {org}, the only one this \
             workflow may touch"
        )))
    }
}

async fn push_from(
    client: Client,
    group: GroupId,
    start: Start,
    auto_cutover: bool,
    settings: Settings,
) -> Result<PushOutcome, WorkflowError> {
    let id = match start {
        Start::Request(request) => {
            validate_and_create(&client, &group, &request, &settings).await?
        }
        Start::Resume(id) => {
            // The first read is polled like every other, so a transient error (after the
            // client's own retries) is ridden out within the ready wait's bounds.
            let m = settings
                .ready
                .run(
                    || client.get_migration(&group, &id),
                    |_| Acceptance::Success,
                    |_| {},
                )
                .await
                .map_err(|e| {
                    let failure = match e {
                        WaiterError::OperationFailed(e) => WorkflowFailure::Call(e),
                        other => WorkflowFailure::Migration(other),
                    };
                    WorkflowError::new(Step::WaitReady, failure, Some(&id))
                })?;
            settings.progress.emit(ProgressEvent::Resumed {
                at: Utc::now(),
                migration_id: id.clone(),
                status: m.status,
            });
            id
        }
    };
    // Ready or already complete: a resumed migration may have been cut over before.
    let recorded_ready = match &settings.recorder {
        Some(recorder) => recorder.first_ready_at().await,
        None => None,
    };
    let m = client
        .wait_until_ready_or_complete(&group, &id)
        .poller(|_| settings.ready.clone())
        .on_poll(settings.progress.migration_changes(&id, None))
        .await
        .map_err(|e| {
            let failure = match e {
                // Atlas expires a migration only when its window from readiness closes,
                // whether or not this workflow saw it ready (it may have been stopped).
                WaiterError::FailureState { last } if last.status == MigrationStatus::Expired => {
                    WorkflowFailure::CutoverWindowExpired {
                        first_ready_at: recorded_ready,
                        deadline: recorded_ready.and_then(window_end),
                    }
                }
                other => WorkflowFailure::Migration(other),
            };
            WorkflowError::new(Step::WaitReady, failure, Some(&id))
        })?;
    if m.status.is_success() {
        settings.progress.emit(ProgressEvent::Complete {
            at: Utc::now(),
            migration_id: id.clone(),
        });
        return Ok(PushOutcome::Complete(m));
    }
    // Atlas's 120-hour window runs from readiness; a journal keeps the first sighting across
    // restarts.
    let mut first_ready = Utc::now();
    if let Some(recorder) = &settings.recorder {
        first_ready = recorder
            .update_and_read(Step::WaitReady, |r| {
                *r.first_ready_at.get_or_insert(first_ready)
            })
            .await?;
    }
    settings.progress.emit(ProgressEvent::ReadyForCutover {
        at: Utc::now(),
        migration_id: id.clone(),
        lag: m.lag,
    });
    let policy = settings.cutover_policy.clone();
    let mut snapshot = m;
    if let Some(policy) = &policy {
        snapshot =
            governed::wait_for_conditions(&client, &group, &id, policy, first_ready, &settings)
                .await?;
        policy.run_before().await.map_err(|e| {
            WorkflowError::new(
                Step::BeforeCutover,
                WorkflowFailure::Hook {
                    hook: "before_cutover",
                    error: e,
                },
                Some(&id),
            )
        })?;
    }
    let ready = ReadyMigration {
        client,
        group,
        id: id.clone(),
        snapshot,
        settings: Arc::new(settings),
    };
    if !auto_cutover && policy.is_none() {
        return Ok(PushOutcome::ReadyForCutover(ready));
    }
    let done = cutover_and_wait(ready).await?;
    if let Some(policy) = &policy {
        policy.run_after().await.map_err(|e| {
            WorkflowError::new(
                Step::AfterComplete,
                WorkflowFailure::Hook {
                    hook: "after_complete",
                    error: e,
                },
                Some(&id),
            )
        })?;
    }
    Ok(PushOutcome::Complete(done))
}

/// Requests the cutover of a ready migration (harmlessly again if it already was), then waits
/// until the migration is complete.
pub(super) async fn cutover_and_wait(
    ready: ReadyMigration,
) -> Result<LiveMigration, WorkflowError> {
    let ReadyMigration {
        client,
        group,
        id,
        snapshot,
        settings,
    } = ready;
    let failed = |step, source| WorkflowError::new(step, source, Some(&id));
    // A workflow that lost its record to another must not cut over.
    if let Some(recorder) = &settings.recorder {
        recorder.check(Step::Cutover, Some(&id)).await?;
    }
    settings
        .call_client(&client)
        .ensure_cutover_requested(&group, &id)
        .await
        .map_err(|e| failed(Step::Cutover, WorkflowFailure::Call(e)))?;
    if let Some(recorder) = &settings.recorder {
        recorder
            .update(Step::Cutover, |r| {
                r.cutover_requested_at.get_or_insert_with(Utc::now);
            })
            .await?;
    }
    settings.progress.emit(ProgressEvent::CutoverStarted {
        at: Utc::now(),
        migration_id: id.clone(),
    });
    let done = client
        .wait_until_complete(&group, &id)
        .poller(|_| settings.complete.clone())
        .on_poll(settings.progress.migration_changes(&id, Some(&snapshot)))
        .await
        .map_err(|e| failed(Step::WaitComplete, WorkflowFailure::Migration(e)))?;
    settings.progress.emit(ProgressEvent::Complete {
        at: Utc::now(),
        migration_id: id.clone(),
    });
    Ok(done)
}

/// Validates, waits for the validation, and creates the migration (once).
async fn validate_and_create(
    client: &Client,
    group: &GroupId,
    request: &MigrationRequest,
    settings: &Settings,
) -> Result<LiveMigrationId, WorkflowError> {
    let fail = |step, source| WorkflowError::new(step, source, None);
    let started = settings
        .call_client(client)
        .validate_migration(group, request)
        .await
        .map_err(|e| fail(Step::Validate, WorkflowFailure::Call(e)))?;
    let validation_id = started.id;
    client
        .wait_until_validation_done(group, &validation_id)
        .poller(|_| settings.validation.clone())
        .await
        .map_err(|e| fail(Step::WaitValidation, WorkflowFailure::Validation(e)))?;
    if let Some(recorder) = &settings.recorder {
        let id = validation_id.clone();
        recorder
            .update(Step::Validate, |r| r.validation_id = Some(id))
            .await?;
    }
    settings.progress.emit(ProgressEvent::Validated {
        at: Utc::now(),
        validation_id,
    });
    // The record is still this workflow's (a fresh lease), and the intent is durable before
    // the request leaves: a crash from here on never leads to a second create. Until the
    // call returns, an attempt may be sent until its rate-limit wait ends and land a timeout
    // and a margin later.
    let landing = chrono::Duration::from_std(
        client.attempt_timeout().unwrap_or(UNBOUNDED_ATTEMPT) + settings.landing_margin,
    )
    .unwrap_or(chrono::Duration::MAX);
    let sending =
        chrono::Duration::from_std(settings.call_max_wait).unwrap_or(chrono::Duration::MAX);
    let after = |at: chrono::DateTime<Utc>, by: chrono::Duration| at.checked_add_signed(by);
    if let Some(recorder) = &settings.recorder {
        recorder.check(Step::Create, None).await?;
        recorder
            .update(Step::Create, |r| {
                let now = Utc::now();
                r.create_intent_at = Some(now);
                r.create_may_land_until = after(now, sending).and_then(|t| after(t, landing));
            })
            .await?;
    }
    let created = match settings
        .call_client(client)
        .create_migration(group, request)
        .await
    {
        Ok(created) => created,
        Err(e) => {
            let unknown = create_outcome_unknown(&e);
            // The call is over, so nothing more is sent: a request that may have been
            // processed lands within its timeout and the margin; one that was refused or
            // never left is not travelling at all.
            if let Some(recorder) = &settings.recorder {
                let now = Utc::now();
                let until = if unknown {
                    after(now, landing)
                } else {
                    Some(now)
                };
                if let Err(saved) = recorder
                    .update(Step::Create, |r| r.create_may_land_until = until)
                    .await
                {
                    tracing::warn!(error = %saved, "could not record until when the create may land");
                }
            }
            return Err(if unknown {
                tracing::error!(error = %e, "create failed after sending; a migration may exist");
                fail(Step::Create, WorkflowFailure::CreateOutcomeUnknown(e))
            } else {
                fail(Step::Create, WorkflowFailure::Call(e))
            });
        }
    };
    let id = created.id;
    if let Some(recorder) = &settings.recorder {
        let known = id.clone();
        recorder
            .update(Step::Create, |r| r.migration_id = Some(known))
            .await?;
    }
    settings.progress.emit(ProgressEvent::Created {
        at: Utc::now(),
        migration_id: id.clone(),
    });
    Ok(id)
}

/// When the cutover window that opened at `first_ready` closes.
fn window_end(first_ready: chrono::DateTime<Utc>) -> Option<chrono::DateTime<Utc>> {
    first_ready.checked_add_signed(chrono::Duration::from_std(LiveMigration::CUTOVER_WINDOW).ok()?)
}

/// Whether a failed create may nevertheless have created a migration (decided in
/// `classify.rs`, like every other "may this be repeated?").
fn create_outcome_unknown(error: &Error) -> bool {
    error.may_have_been_processed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_after_sending_leave_the_create_outcome_unknown() {
        let api = |s| {
            Error::from(crate::error::ApiError::from_reply(
                s,
                &http::HeaderMap::new(),
                b"",
            ))
        };
        assert!(create_outcome_unknown(&api(500)));
        assert!(create_outcome_unknown(&api(503)));
        for definite in [400, 401, 403, 404, 409, 429] {
            assert!(!create_outcome_unknown(&api(definite)), "{definite}");
        }
    }
}
