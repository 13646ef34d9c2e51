//! What the operations return. These are this crate's own types: they do not change when the
//! generated low-level types are renamed upstream.

mod migration;
mod project;
mod validation;

pub use migration::LiveMigration;
pub use project::{AvailableProject, Deployment};
pub use validation::Validation;
