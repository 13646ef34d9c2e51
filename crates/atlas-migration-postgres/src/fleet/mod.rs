//! Fleets shared by replicas: [`FleetStore`] keeps members and their exclusive resources in
//! the database for any replica to claim; [`PostgresFleet`] runs them, like the core's
//! `Fleet`, on every replica at once.

mod runner;
mod store;

pub use runner::{MemberReport, PostgresFleet, PostgresFleetMember, PostgresFleetReport};
pub use store::{Blocked, FleetStore, MemberClaim, MemberOutcome, MemberSpec, MemberStatus};
