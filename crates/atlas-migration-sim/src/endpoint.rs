//! Where a request lands: one of the API's operations (a constant of the generated operation
//! table) or one of the OAuth endpoints. Fault rules and request counts take endpoints, not
//! strings, so a rule for an operation that does not exist cannot be written.

use atlas_migration_sys::operations::Operation;

/// An API operation or an OAuth endpoint of the simulator.
///
/// ```
/// use atlas_migration_sim::Endpoint;
/// use atlas_migration_sim::operations::GET_MIGRATION;
///
/// assert_eq!(Endpoint::from(GET_MIGRATION).name(), "get_migration");
/// assert_eq!(Endpoint::OAUTH_TOKEN.name(), "oauth_token");
/// assert!(!Endpoint::OAUTH_TOKEN.is_api());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    name: &'static str,
    api: bool,
}

impl Endpoint {
    /// `POST /api/oauth/token`, where service accounts get access tokens.
    pub const OAUTH_TOKEN: Endpoint = Endpoint {
        name: "oauth_token",
        api: false,
    };

    /// `POST /api/oauth/revoke`, where service accounts revoke them.
    pub const OAUTH_REVOKE: Endpoint = Endpoint {
        name: "oauth_revoke",
        api: false,
    };

    /// The name the request log records: the operation's stable name, or `oauth_token` /
    /// `oauth_revoke`.
    ///
    /// ```
    /// assert_eq!(atlas_migration_sim::Endpoint::OAUTH_REVOKE.name(), "oauth_revoke");
    /// ```
    pub fn name(self) -> &'static str {
        self.name
    }

    /// Whether this is an operation of the Admin API (not an OAuth endpoint).
    ///
    /// ```
    /// use atlas_migration_sim::{Endpoint, operations::CUTOVER};
    /// assert!(Endpoint::from(CUTOVER).is_api());
    /// ```
    pub fn is_api(self) -> bool {
        self.api
    }
}

impl From<Operation> for Endpoint {
    fn from(operation: Operation) -> Self {
        Self {
            name: operation.name,
            api: true,
        }
    }
}

impl From<&Operation> for Endpoint {
    fn from(operation: &Operation) -> Self {
        Self::from(*operation)
    }
}
