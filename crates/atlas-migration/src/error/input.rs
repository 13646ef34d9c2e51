//! [`InvalidInput`]: an input rejected locally, before any request.

use std::fmt;

/// An input rejected locally, naming the field and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidInput {
    pub(super) field: String,
    pub(super) value: Option<String>,
    pub(super) reason: String,
}

impl InvalidInput {
    /// The field (API name) that was rejected.
    pub(crate) fn field(&self) -> &str {
        &self.field
    }

    /// The rejected value, unless it is secret.
    pub(crate) fn value(&self) -> Option<&str> {
        self.value.as_deref()
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
