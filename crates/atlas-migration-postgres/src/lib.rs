//! PostgreSQL for the `atlas-migration` push-migration workflow: a fenced journal shared by
//! the replicas of a service ([`PostgresJournal`]), fleets whose members any replica claims
//! and runs ([`PostgresFleet`], over [`FleetStore`]), in a schema the crate creates and
//! migrates ([`Database`]).
//!
//! Kept out of the core crate so that its users need no database client.

mod database;
mod error;
mod fleet;
mod journal;
mod schema;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use database::{DEFAULT_SCHEMA, Database, DatabaseBuilder};
pub use error::Error;
pub use fleet::{
    Blocked, FleetStore, MemberClaim, MemberOutcome, MemberReport, MemberSpec, MemberStatus,
    PostgresFleet, PostgresFleetMember, PostgresFleetReport,
};
pub use journal::{PostgresJournal, RecordSummary, record_step};
