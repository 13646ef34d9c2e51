//! PostgreSQL for the `atlas-migration` push-migration workflow: fleets whose members any
//! replica of a service claims ([`FleetStore`]), in a schema the crate creates and migrates
//! ([`Database`]).
//!
//! Kept out of the core crate so that its users need no database client.

mod database;
mod error;
pub mod fleet;
mod schema;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use database::{DEFAULT_SCHEMA, Database, DatabaseBuilder};
pub use error::Error;
pub use fleet::{Blocked, FleetStore, MemberClaim, MemberOutcome, MemberSpec, MemberStatus};
