//! A stateful fake of the MongoDB Atlas Admin API v2 Cloud Migration Service, served over
//! real HTTP on `127.0.0.1`.
//!
//! Routes and required media types come from
//! [`atlas_migration_sys::operations::OPERATIONS`], so the simulator always agrees with the
//! pinned spec. Requests are answered in this order: authentication (HTTP Digest with the
//! API key, or an OAuth bearer token of the service account; failures answer 401), then
//! injected [faults](Fault) (decided **before** processing: a 429/500/503, stale-nonce 401
//! or dropped connection means nothing was processed, except for
//! [`FaultKind::DropAfterProcessing`]), then the versioned `Accept` / `Content-Type`
//! check (406), then the operation itself.
//!
//! Lifecycle state is derived from the simulator's own clock: by default real time with
//! [`Timings::fast`] (a whole migration in about 300 ms); with
//! [`SimulatorBuilder::manual_clock`] time moves only through [`Simulator::advance`].
//!
//! ```no_run
//! use std::time::Duration;
//! use atlas_migration_sim::{Fault, Simulator, Timings};
//! use atlas_migration_sim::operations::GET_PUSH_MIGRATION;
//!
//! # async fn demo() -> std::io::Result<()> {
//! let sim = Simulator::builder()
//!     .timings(Timings::manual())
//!     .manual_clock()
//!     .fault(Fault::on(GET_PUSH_MIGRATION).status(503).times(2))
//!     .start()
//!     .await?;
//! let url = format!(
//!     "{}/api/atlas/v2/groups/{}/liveMigrations",
//!     sim.base_url(),
//!     sim.group_id()
//! );
//! // ... call `url` with digest credentials `sim.public_key()` / `sim.private_key()` ...
//! sim.advance(Duration::from_secs(20));
//! assert_eq!(sim.bodies_sent_without_credentials(), 0);
//! # let _ = url;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod auth;
mod builder;
mod clock;
mod config;
mod endpoint;
mod errors;
mod faults;
mod handle;
mod handlers;
mod hostile;
mod log;
mod pipeline;
mod rng;
mod server;
mod shared;
mod state;
mod token_endpoint;
mod validate;

/// The operation table of the pinned spec (re-exported from `atlas-migration-sys`): name
/// operations for [`Fault::on`] and [`Simulator::count`] by these constants.
pub use atlas_migration_sys::operations;
pub use auth::Credentials;
pub use auth::digest::{DigestAlgorithm, REALM, digest_response};
pub use builder::SimulatorBuilder;
pub use config::{Deployment, SourceProject, Timings};
pub use endpoint::Endpoint;
pub use errors::FieldViolation;
pub use faults::{Fault, FaultKind, FaultPlan};
pub use handle::Simulator;
pub use log::{OAUTH_REVOKE, OAUTH_TOKEN, RequestRecord};
pub use state::{MigrationRecord, MigrationStatus, MigrationView, ValidationStatus};
