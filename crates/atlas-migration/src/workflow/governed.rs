//! Waiting, after readiness, until the [`CutoverPolicy`] allows the cutover: lag within
//! bounds for long enough, inside the window; warning as Atlas's 120-hour window closes; and
//! naming an expiry for what it is.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::client::Client;
use crate::ids::{GroupId, LiveMigrationId};
use crate::model::LiveMigration;
use crate::status::MigrationStatus;
use crate::wait::{Acceptance, WaiterError};
use crate::workflow::cutover_policy::CutoverPolicy;
use crate::workflow::settings::Settings;
use crate::workflow::{ProgressEvent, Step, WorkflowError, WorkflowFailure};

/// Polls the ready migration until `policy` allows the cutover; the latest snapshot.
pub(super) async fn wait_for_conditions(
    client: &Client,
    group: &GroupId,
    id: &LiveMigrationId,
    policy: &CutoverPolicy,
    first_ready: DateTime<Utc>,
    settings: &Settings,
) -> Result<LiveMigration, WorkflowError> {
    let window =
        chrono::Duration::from_std(LiveMigration::CUTOVER_WINDOW).unwrap_or(chrono::Duration::MAX);
    let deadline = first_ready
        .checked_add_signed(window)
        .unwrap_or(first_ready);
    let left = (deadline - Utc::now()).to_std().unwrap_or_default();
    let poller = settings
        .ready
        .clone()
        .max_wait(settings.ready.get_max_wait().min(left));
    let lag_ok_since: Mutex<Option<Instant>> = Mutex::new(None);
    let mut warned = 0;
    let accept = |m: &LiveMigration| {
        if m.status.is_terminal() {
            return Acceptance::Failure;
        }
        let now = Instant::now();
        let mut since = lag_ok_since.lock().unwrap_or_else(|p| p.into_inner());
        if m.ready_for_cutover && policy.lag_within(m.lag) {
            since.get_or_insert(now);
        } else {
            *since = None;
        }
        if m.ready_for_cutover && policy.allows(*since, now, Utc::now()) {
            Acceptance::Success
        } else {
            Acceptance::Retry
        }
    };
    let progress = settings.progress.clone();
    let on_poll = |_: &crate::wait::PollEvent<'_, LiveMigration>| {
        let left = deadline - Utc::now();
        if left <= chrono::Duration::zero() {
            // Closed already: "closes soon" would be false, and the expiry is reported as such.
            warned = policy.warn_before.len();
            return;
        }
        while let Some(point) = policy.warn_before.get(warned) {
            let point = chrono::Duration::from_std(*point).unwrap_or(chrono::Duration::MAX);
            if left > point {
                break;
            }
            warned += 1;
            tracing::warn!(migration = id.as_str(), %deadline, "the cutover window closes soon");
            progress.emit(ProgressEvent::CutoverDeadline {
                at: Utc::now(),
                migration_id: id.clone(),
                deadline,
            });
        }
    };
    poller
        .run(|| client.get_migration(group, id), accept, on_poll)
        .await
        .map_err(|e| {
            let failure = match e {
                WaiterError::FailureState { last } if last.status == MigrationStatus::Expired => {
                    WorkflowFailure::CutoverWindowExpired {
                        first_ready_at: Some(first_ready),
                        deadline: Some(deadline),
                    }
                }
                WaiterError::ExceededMaxWait { .. } if Utc::now() >= deadline => {
                    WorkflowFailure::CutoverWindowExpired {
                        first_ready_at: Some(first_ready),
                        deadline: Some(deadline),
                    }
                }
                other => WorkflowFailure::Migration(other),
            };
            WorkflowError::new(Step::WaitReady, failure, Some(id))
        })
}
