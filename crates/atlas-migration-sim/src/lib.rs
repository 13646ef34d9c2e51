#![doc = include_str!("../docs/crate.md")]
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
mod metering;
mod pipeline;
mod rng;
mod server;
mod shared;
mod split_body;
mod state;
mod token_endpoint;
mod token_reply;
mod validate;

/// The operation table of the pinned spec (re-exported from `atlas-migration-sys`): name
/// operations for [`Fault::on`] and [`Simulator::count`] by these constants.
pub use atlas_migration_sys::operations;
pub use auth::Credentials;
pub use auth::digest::{DigestAlgorithm, NoncePolicy, REALM, digest_response};
pub use builder::SimulatorBuilder;
pub use config::{Deployment, SourceProject, Timings};
pub use endpoint::Endpoint;
pub use errors::FieldViolation;
pub use faults::{Fault, FaultKind, FaultPlan};
pub use handle::Simulator;
pub use log::{OAUTH_REVOKE, OAUTH_TOKEN, RequestRecord};
pub use metering::{BackgroundConsumer, RateLimit, RateLimitBody, RateLimitHeaders, RateScope};
pub use state::{MigrationRecord, MigrationStatus, MigrationView, ValidationStatus};
pub use token_reply::TokenReply;
