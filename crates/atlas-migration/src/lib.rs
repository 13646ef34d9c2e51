#![doc = include_str!("../docs/crate.md")]
#![warn(missing_docs)]

// The crate's README (shown on its registry page) is compiled too, so its example cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;

mod auth;
mod backoff;
mod base_url;
mod body;
mod classify;
mod client;
mod config;
mod convert;
mod error;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod governor;
mod identity;
mod ids;
mod interceptor;
pub mod journal;
mod model;
mod ops;
pub mod preflight;
mod request;
mod retry;
mod secret;
mod status;
mod tasks;
mod telemetry;
mod transport;
pub mod wait;
pub mod workflow;

pub use auth::Credentials;
pub use auth::provider::CredentialsProvider;
/// The `chrono` this crate's API is written with (`DateTime<Utc>`, `NaiveTime`), so that
/// callers need no version-matched dependency of their own.
pub use chrono;
pub use client::Client;
pub use config::ClientBuilder;
pub use error::{Error, ErrorKind, FieldViolation};
pub use governor::{RateLimitStatus, RateLimits, ThrottleStatus};
pub use ids::{GroupId, LiveMigrationId, OrgId, ValidationId};
pub use interceptor::{AttemptRequest, AttemptResponse, Interceptor};
pub use model::{AvailableProject, Deployment, LiveMigration, Validation};
pub use request::{
    Destination, HostnameSchema, MigrationRequest, MigrationRequestBuilder, ShardEntry,
    ShardKeyKind, Sharding, Source,
};
pub use retry::RetryPolicy;
/// The `secrecy` this crate holds secrets in: pass a `String` or a [`secrecy::SecretString`]
/// where a secret is asked for, and read a [`LinkToken`] with [`secrecy::ExposeSecret`].
pub use secrecy;
pub use secret::LinkToken;
pub use status::{MigrationStatus, ValidationStatus};
