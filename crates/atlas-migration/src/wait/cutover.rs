//! Requesting the cutover so that a repeated request is harmless: the action
//! [`Client::cutover_and_wait`] starts with, shared with the workflow.
//!
//! Atlas documents no error code for a cutover requested twice, so a refusal is judged by
//! reading the migration's state, never by its code.

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId};
use crate::model::LiveMigration;
use crate::status::MigrationStatus;

impl Client {
    /// Requests the cutover of a migration that was seen ready. If the request fails (after
    /// the client's retries), the migration is read: `COMPLETE`, or in the cutover phase, means
    /// an earlier request (or this one, its answer lost) was accepted, which counts as
    /// success; any other state keeps the error.
    pub(crate) async fn ensure_cutover_requested(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Result<(), Error> {
        let refused = match self.cutover(group, migration).await {
            Ok(()) => return Ok(()),
            Err(e) if !state_may_explain(&e) => return Err(e),
            Err(e) => e,
        };
        let Ok(now) = self.get_migration(group, migration).await else {
            return Err(refused);
        };
        if now.status == MigrationStatus::Complete || in_cutover_phase(&now) {
            tracing::info!(
                migration = migration.as_str(),
                status = %now.status,
                error = %refused,
                "the cutover was refused but the migration's state shows it was requested"
            );
            return Ok(());
        }
        Err(refused)
    }
}

/// Whether the migration's state could show that a refused cutover had in fact been
/// accepted: not when the refusal concerns the caller (credentials, permissions, a wrong id,
/// a redirect, bad input).
fn state_may_explain(error: &Error) -> bool {
    !(error.is_auth()
        || error.is_invalid_input()
        || error.is_redirect()
        || matches!(error.status(), Some(401 | 403 | 404)))
}

/// Whether a migration that was ready is past its cutover: `WORKING` (which the spec says
/// includes "Stopping replication after the cut over"), no longer ready, and without
/// `lagTimeSeconds` (which "Atlas returns … only during an active migration, before the
/// cutover phase"). A migration that lost readiness but still reports lag is not.
fn in_cutover_phase(m: &LiveMigration) -> bool {
    m.status == MigrationStatus::Working && !m.ready_for_cutover && m.lag.is_none()
}
