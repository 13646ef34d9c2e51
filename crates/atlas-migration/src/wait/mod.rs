//! Waiting for validations and migrations: the reason this API exists is a migration that runs
//! for hours, then a cutover window of 120 hours.
//!
//! * [`Client::wait_until_validation_done`](crate::Client::wait_until_validation_done),
//!   [`Client::wait_until_ready_for_cutover`](crate::Client::wait_until_ready_for_cutover),
//!   [`Client::wait_until_complete`](crate::Client::wait_until_complete) and
//!   [`Client::cutover_and_wait`](crate::Client::cutover_and_wait) return a [`Waiter`]
//!   builder; `.await` it.
//! * [`Client::watch_migration`](crate::Client::watch_migration) is a stream of snapshots for
//!   progress displays.
//! * Underneath, [`Poller`] polls any async closure with an acceptor (a function saying
//!   whether a snapshot is success, failure or worth another poll), with exponential backoff, jitter added on top, a deadline and one last poll
//!   at it. Every wait, the watch and the [`workflow`](crate::workflow) included, is built
//!   from the same poll step, with the default schedules kept in one place.
//!
//! ```no_run
//! # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
//! #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
//! client.wait_until_ready_for_cutover(&g, &id).await?;
//! let done = client.cutover_and_wait(&g, &id).await?;
//! println!("{done}");
//! # Ok(()) }
//! ```

mod error;
pub(crate) mod poller;
#[cfg(test)]
mod tests;
mod waiters;
mod watch;

pub use error::WaiterError;
pub use poller::{Acceptance, PollEvent, Poller};
pub(crate) use waiters::acceptors;
pub use waiters::{PolledResource, Waiter};
pub(crate) use watch::MigrationChanges;
pub use watch::MigrationWatch;
