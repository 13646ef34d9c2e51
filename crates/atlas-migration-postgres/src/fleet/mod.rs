//! Fleets shared by replicas: [`FleetStore`] keeps members and their exclusive resources in
//! the database for any replica to claim.

mod store;

pub use store::{Blocked, FleetStore, MemberClaim, MemberOutcome, MemberSpec, MemberStatus};
