//! [`InvalidInput`]: an input rejected locally, before any request.

use std::fmt;

/// An input rejected locally, naming the field and what to change.
///
/// ```
/// let err = "x".parse::<atlas_migration::GroupId>().unwrap_err();
/// if let atlas_migration::Error::InvalidInput(input) = &err {
///     assert_eq!(input.field(), "groupId");
///     assert_eq!(input.value(), Some("x"));
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub(super) field: String,
    pub(super) value: Option<String>,
    pub(super) reason: String,
}

impl InvalidInput {
    /// The field (API name) that was rejected.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::InvalidInput) { println!("{}", e.field()); }
    /// ```
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rejected value, unless it is secret.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::InvalidInput) { println!("{:?}", e.value()); }
    /// ```
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Why it was rejected and what to change.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::InvalidInput) { println!("{}", e.reason()); }
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "invalid {} {:?}: {}", self.field, v, self.reason),
            None => write!(f, "invalid {}: {}", self.field, self.reason),
        }
    }
}

impl std::error::Error for InvalidInput {}
