//! What the operations return. These are this crate's own types: they do not change when the
//! generated low-level types are renamed upstream.
//!
//! Every type here serializes and deserializes (with `serde`), so callers can store and log
//! them. The serialized form is Atlas's own JSON for the resource, field for field (camelCase,
//! `_id` for ids, `lagTimeSeconds` in whole seconds, `mongoDBVersion`, `oplogSizeMB`), so a
//! stored value and an Atlas reply read the same way. Absent optional values are written as
//! `null`, so every field is always present. Ids are checked on the way in (24 lowercase
//! hexadecimal digits, as their `FromStr`); server-owned states are open enums whose unknown
//! values round-trip verbatim. None of these types holds a secret: Atlas never returns the
//! source password (`writeOnly` in the spec), and link tokens are a separate type without
//! `Serialize` ([`LinkToken`](crate::LinkToken)).

mod lag;
mod migration;
mod project;
mod validation;

pub use migration::LiveMigration;
pub use project::{AvailableProject, Deployment};
pub use validation::Validation;
