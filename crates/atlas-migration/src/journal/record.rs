//! [`WorkflowRecord`]: what the journal keeps of one push-migration workflow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::request::MigrationRequest;

/// The format this crate writes; a record of another format is refused as foreign.
pub(crate) const FORMAT: u32 = 1;

/// One workflow's record, saved before each step that creates something and after each
/// step's result. It never holds a secret: the request is stored without the source
/// password (given again on recovery) and link tokens are not part of it.
///
/// ```
/// # fn f(record: &atlas_migration::journal::WorkflowRecord) {
/// if record.create_may_have_happened() {
///     println!("look for a migration into {:?} in Atlas", record.destination_cluster());
/// }
/// # }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkflowRecord {
    /// The record format (1).
    pub format: u32,
    /// The caller's name for the workflow, unique within the journal.
    pub key: String,
    /// The destination Atlas project.
    pub group: GroupId,
    /// The request, without the source password; `None` for a workflow resumed by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<MigrationRequest>,
    /// The validation started for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_id: Option<ValidationId>,
    /// When the create request was sent: saved right before it leaves, and cleared only by a
    /// confirmation that no migration exists. With no `migration_id`, the create may have
    /// happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_intent_at: Option<DateTime<Utc>>,
    /// Until when a create request of this record may still reach Atlas (the last attempt's
    /// sending plus the client's timeout plus a margin; while the call may still be sending,
    /// the end of its rate-limit wait too): before then, Atlas showing no migration proves
    /// nothing. Absent in records of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_may_land_until: Option<DateTime<Utc>>,
    /// The migration, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_id: Option<LiveMigrationId>,
    /// When the migration was first seen ready for cutover: Atlas's 120-hour cutover window
    /// runs from about then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ready_at: Option<DateTime<Utc>>,
    /// When the cutover was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover_requested_at: Option<DateTime<Utc>>,
    /// How the workflow ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RecordedOutcome>,
    /// When the record was last saved.
    pub updated_at: DateTime<Utc>,
}

/// How a recorded workflow ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum RecordedOutcome {
    /// The migration is complete.
    Complete,
    /// The migration is ready and waits for the caller to cut over.
    ReadyForCutover,
    /// The workflow failed at `step` (its [`Step`](crate::workflow::Step) name).
    Failed {
        /// The step that failed.
        step: String,
        /// What went wrong.
        message: String,
    },
}

impl WorkflowRecord {
    pub(crate) fn new(key: &str, group: &GroupId, request: Option<&MigrationRequest>) -> Self {
        Self {
            format: FORMAT,
            key: key.to_owned(),
            group: group.clone(),
            request: request.cloned(),
            validation_id: None,
            create_intent_at: None,
            create_may_land_until: None,
            migration_id: None,
            first_ready_at: None,
            cutover_requested_at: None,
            outcome: None,
            updated_at: Utc::now(),
        }
    }

    /// Whether a create request may have been sent without its reply arriving: the intent is
    /// recorded and no migration id is.
    ///
    /// ```
    /// # fn f(record: &atlas_migration::journal::WorkflowRecord) -> bool {
    /// record.create_may_have_happened()
    /// # }
    /// ```
    pub fn create_may_have_happened(&self) -> bool {
        self.create_intent_at.is_some() && self.migration_id.is_none()
    }

    /// Until when a create request that may have happened may still reach Atlas, if that
    /// moment is still ahead at `now`: looking for the migration before then proves nothing.
    ///
    /// ```
    /// # fn f(record: &atlas_migration::journal::WorkflowRecord) {
    /// if let Some(until) = record.create_may_still_land(atlas_migration::chrono::Utc::now()) {
    ///     println!("look for the migration after {until}");
    /// }
    /// # }
    /// ```
    pub fn create_may_still_land(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.create_may_land_until
            .filter(|until| self.create_may_have_happened() && *until > now)
    }

    /// The destination cluster's name, when the request is recorded.
    ///
    /// ```
    /// # fn f(record: &atlas_migration::journal::WorkflowRecord) -> Option<&str> {
    /// record.destination_cluster()
    /// # }
    /// ```
    pub fn destination_cluster(&self) -> Option<&str> {
        self.request
            .as_ref()
            .map(|r| r.destination.cluster_name.as_str())
    }
}
