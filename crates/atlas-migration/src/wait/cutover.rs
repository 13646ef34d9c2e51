//! Requesting the cutover so that a repeated request is harmless: the action
//! [`Client::cutover_and_wait`] starts with, shared with the workflow.

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId};

/// Atlas's answer to a cutover requested a second time.
const ALREADY_REQUESTED: &str = "CUTOVER_ALREADY_REQUESTED";

impl Client {
    /// Requests the cutover. A `409 CUTOVER_ALREADY_REQUESTED` counts as success: it is what a
    /// repeated request gets when an earlier one was accepted but its answer lost.
    pub(crate) async fn ensure_cutover_requested(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Result<(), Error> {
        match self.cutover(group, migration).await {
            Err(e) if e.error_code() == Some(ALREADY_REQUESTED) => {
                tracing::info!(
                    migration = migration.as_str(),
                    "cutover was already requested"
                );
                Ok(())
            }
            other => other,
        }
    }
}
