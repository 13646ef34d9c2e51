use serde::Deserialize;

use crate::ids::{GroupId, ValidationId};
use crate::status::ValidationStatus;

/// A validation job: Atlas checking that a migration request can work.
///
/// ```
/// # fn show(v: &atlas_migration::Validation) {
/// if v.is_terminal() && !v.is_success() {
///     eprintln!("validation failed: {}", v.error_message.as_deref().unwrap_or("no reason given"));
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Validation {
    /// The validation's id; a reply without one is a decode error.
    #[serde(rename = "_id")]
    pub id: ValidationId,
    /// The destination project.
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// The source project.
    #[serde(default)]
    pub source_group_id: Option<GroupId>,
    /// Where the validation stands; `None` when Atlas has not set it yet.
    #[serde(default)]
    pub status: Option<ValidationStatus>,
    /// Why the validation failed, when it did.
    #[serde(default)]
    pub error_message: Option<String>,
}

impl Validation {
    /// Whether the validation finished (success or failure).
    ///
    /// ```
    /// # fn f(v: &atlas_migration::Validation) -> bool {
    /// v.is_terminal()
    /// # }
    /// ```
    pub fn is_terminal(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(ValidationStatus::is_terminal)
    }

    /// Whether the validation passed.
    ///
    /// ```
    /// # fn f(v: &atlas_migration::Validation) -> bool {
    /// v.is_success()
    /// # }
    /// ```
    pub fn is_success(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(ValidationStatus::is_success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_failed_and_pending_validations() {
        let v: Validation = serde_json::from_str(
            r#"{"_id":"507f1f77bcf86cd799439011","groupId":"32b6e34b3d91647abb20e7b8",
                "status":"FAILED","errorMessage":"source unreachable"}"#,
        )
        .unwrap();
        assert!(v.is_terminal() && !v.is_success());
        assert_eq!(v.error_message.as_deref(), Some("source unreachable"));
        let v: Validation =
            serde_json::from_str(r#"{"_id":"507f1f77bcf86cd799439011","status":null}"#).unwrap();
        assert!(!v.is_terminal());
    }
}
