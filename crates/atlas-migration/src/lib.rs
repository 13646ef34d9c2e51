//! Client for the MongoDB Atlas Admin API v2 **Cloud Migration Service**: push live migrations
//! from Cloud Manager or Ops Manager into Atlas.
//!
//! * Authenticates with a programmatic API key (HTTP Digest; challenges cached, each answered
//!   by one request at a time, so each call costs one exchange and nonce counts reach strict
//!   servers in order) or a service account (OAuth2 client credentials, token cached and
//!   refreshed before it expires).
//! * Retries transient failures with exponential backoff, honouring `Retry-After`, without
//!   ever repeating a `POST` the server may have acted on.
//! * Checks ids and migration requests locally, before anything is sent, and checks a request
//!   against what Atlas reports about the source before validating it ([`preflight`]).
//! * Keeps passwords, keys, tokens and link tokens out of `Debug`, `Display`, errors and logs.
//! * Emits one `tracing` span per call (operation, method, path template, attempt, status,
//!   elapsed time), never bodies.
//!
//! # Example
//!
//! ```no_run
//! use atlas_migration::{Client, Destination, GroupId, MigrationRequest, Source};
//!
//! # async fn run() -> Result<(), atlas_migration::Error> {
//! let client = Client::from_env()?;
//! let source_project: GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
//! let target_project: GroupId = "6296fb4c7c7aa997cf94e9a8".parse()?;
//!
//! let request = MigrationRequest::builder()
//!     .source(Source::new("legacy-rs", source_project).managed_authentication())
//!     .destination(Destination::new("atlas-target", target_project.clone()))
//!     .migration_host("mongomirror-1.example.com")
//!     .build()?;
//!
//! let validation = client.validate_migration(&target_project, &request).await?;
//! println!("validation {:?} is {:?}", validation.id, validation.status);
//! # Ok(()) }
//! ```
//!
//! # Operations
//!
//! | method | Atlas operation |
//! | --- | --- |
//! | [`Client::create_link_token`] | `POST /orgs/{orgId}/liveMigrations/linkTokens` |
//! | [`Client::delete_link_tokens`] | `DELETE /orgs/{orgId}/liveMigrations/linkTokens` |
//! | [`Client::list_source_projects`] | `GET /orgs/{orgId}/liveMigrations/availableProjects` |
//! | [`Client::validate_migration`] | `POST /groups/{groupId}/liveMigrations/validate` |
//! | [`Client::get_validation`] | `GET /groups/{groupId}/liveMigrations/validate/{validationId}` |
//! | [`Client::create_migration`] | `POST /groups/{groupId}/liveMigrations` |
//! | [`Client::get_migration`] | `GET /groups/{groupId}/liveMigrations/{liveMigrationId}` |
//! | [`Client::cutover`] | `PUT /groups/{groupId}/liveMigrations/{liveMigrationId}/cutover` |
//!
//! # Types that serialize
//!
//! The values the operations return ([`LiveMigration`], [`Validation`], [`AvailableProject`],
//! [`Deployment`]), the ids ([`OrgId`], [`GroupId`], [`LiveMigrationId`], [`ValidationId`])
//! and the states ([`MigrationStatus`], [`ValidationStatus`]) serialize and deserialize with
//! `serde`, so they can be stored and logged:
//!
//! * The form is Atlas's own JSON for the resource, field for field: camelCase names, `_id`
//!   for ids, `lagTimeSeconds` as whole seconds (a fraction is dropped), `mongoDBVersion` and
//!   `oplogSizeMB` spelled as Atlas does. Absent values are written as `null`, so every field
//!   is always present; a stored value and an Atlas reply read the same way.
//! * Ids deserialize only in their documented format (24 lowercase hexadecimal digits), as
//!   parsing checks it. States accept any string: an unknown one is kept as `Unknown` and
//!   written back verbatim.
//! * None of them holds a secret. [`LinkToken`] has no `Serialize` at all, and
//!   [`MigrationRequest`] is written without the source password.
//!
//! ```
//! use atlas_migration::{LiveMigration, MigrationStatus};
//!
//! let stored = r#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":"PAUSED","readyForCutover":false,
//!                  "lagTimeSeconds":null,"migrationHosts":[]}"#;
//! let m: LiveMigration = serde_json::from_str(stored).unwrap();
//! assert_eq!(m.status, MigrationStatus::Unknown("PAUSED".into()));
//! assert!(serde_json::to_string(&m).unwrap().contains(r#""status":"PAUSED""#));
//! assert!(serde_json::from_str::<LiveMigration>(r#"{"_id":"not-an-id"}"#).is_err());
//! ```
//!
//! # Cargo features
//!
//! - `rustls-aws-lc` (default), `rustls-ring`, `native-tls`: the TLS of the client this
//!   crate builds.
//! - `atlas-cli`: `AtlasCliProfile`, credentials from an Atlas CLI
//!   profile.
//! - `metrics`: counters and histograms through the `metrics` facade, for the program's own
//!   recorder: `atlas_migration_requests_total` (`operation`, `outcome`),
//!   `atlas_migration_request_duration_seconds`, `atlas_migration_retries_total`,
//!   `atlas_migration_rate_limited_total`, `atlas_migration_token_requests_total`
//!   (`outcome`), `atlas_migration_migration_status_total` (`status`) and
//!   `atlas_migration_lag_seconds`.
//! - `journal-conformance`: `journal::conformance`, a test kit that checks a
//!   [`Journal`](journal::Journal) implementation against the trait's contract (leases,
//!   fencing, round trips), for the tests of journals kept in other stores.
//!
//! # Configuration from the environment
//!
//! [`Client::from_env`] reads `MONGODB_ATLAS_PUBLIC_API_KEY`/`MONGODB_ATLAS_PRIVATE_API_KEY`
//! (Atlas CLI names) or `MONGODB_ATLAS_PUBLIC_KEY`/`MONGODB_ATLAS_PRIVATE_KEY` (Terraform
//! names), or `MONGODB_ATLAS_CLIENT_ID`/`MONGODB_ATLAS_CLIENT_SECRET`, and optionally
//! `MONGODB_ATLAS_BASE_URL` (e.g. [`GOVERNMENT_BASE_URL`]).

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
mod deadline;
mod error;
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
mod telemetry;
mod transport;
pub mod wait;
pub mod workflow;

pub use auth::Credentials;
#[cfg(feature = "atlas-cli")]
pub use auth::cli_profile::AtlasCliProfile;
pub use auth::provider::{CredentialsFuture, CredentialsProvider, EnvironmentCredentials};
pub use client::Client;
pub use config::{ClientBuilder, DEFAULT_BASE_URL, GOVERNMENT_BASE_URL};
pub use error::{
    ApiError, AuthError, BudgetError, DecodeError, Error, FieldViolation, InvalidInput,
    RedirectError, TransportError,
};
pub use governor::{RateLimitStatus, RateLimits, ThrottleStatus};
pub use ids::{GroupId, LiveMigrationId, OrgId, ProjectId, ValidationId};
pub use interceptor::{AttemptRequest, AttemptResponse, HeaderRefused, Interceptor};
pub use model::{AvailableProject, Deployment, LiveMigration, Validation};
pub use request::{
    Destination, HostnameSchema, MigrationRequest, MigrationRequestBuilder, ShardEntry,
    ShardKeyKind, Sharding, Source,
};
pub use retry::RetryPolicy;
pub use secret::{ExposeSecret, LinkToken, SecretString};
pub use status::{MigrationStatus, ValidationStatus};
