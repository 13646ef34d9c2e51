use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, ValidationId};
use crate::status::ValidationStatus;

/// A validation job: Atlas checking that a migration request can work.
///
/// It serializes as Atlas's `LiveImportValidation` JSON (`_id`, `groupId`, `sourceGroupId`,
/// `status`, `errorMessage`; absent values as `null`) and reads back from that or from an
/// Atlas reply; see the [module notes](crate#types-that-serialize).
///
/// ```
/// # fn show(v: &atlas_migration::Validation) {
/// if v.is_terminal() && !v.is_success() {
///     eprintln!("validation failed: {}", v.error_message.as_deref().unwrap_or("no reason given"));
/// }
/// # }
/// ```
///
/// Storing one and reading it back:
///
/// ```
/// use atlas_migration::{Validation, ValidationStatus};
///
/// let v = Validation::new("507f1f77bcf86cd799439011".parse()?, ValidationStatus::Pending);
/// let json = serde_json::to_string(&v).unwrap();
/// assert!(json.contains(r#""status":"PENDING""#));
/// assert_eq!(serde_json::from_str::<Validation>(&json).unwrap(), v);
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Validation {
    /// The validation's id; a value without one, or with a malformed one, does not decode.
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
    /// Why the validation failed, when it did: Atlas's text. It never holds the source
    /// password, which Atlas does not return (`writeOnly` in the spec).
    #[serde(default)]
    pub error_message: Option<String>,
}

impl Validation {
    /// A validation with `id` in state `status`, no projects, no message: for tests and
    /// fixtures. Set the other fields directly.
    ///
    /// ```
    /// use atlas_migration::{Validation, ValidationStatus};
    ///
    /// let mut v = Validation::new("507f1f77bcf86cd799439011".parse()?, ValidationStatus::Failed);
    /// v.error_message = Some("source unreachable".into());
    /// assert!(v.is_terminal() && !v.is_success());
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn new(id: ValidationId, status: ValidationStatus) -> Self {
        Self {
            id,
            group_id: None,
            source_group_id: None,
            status: Some(status),
            error_message: None,
        }
    }

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

    const ID: &str = "507f1f77bcf86cd799439011";
    const GROUP: &str = "32b6e34b3d91647abb20e7b8";

    #[test]
    fn serializes_the_wire_shape_and_round_trips() {
        let mut v = Validation::new(ID.parse().unwrap(), ValidationStatus::Failed);
        v.group_id = Some(GROUP.parse().unwrap());
        v.error_message = Some("source unreachable".into());
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!({"_id": ID, "groupId": GROUP, "sourceGroupId": null,
                "status": "FAILED", "errorMessage": "source unreachable"})
        );
        for status in [
            None,
            Some(ValidationStatus::Success),
            Some(ValidationStatus::Unknown("QUEUED".into())),
        ] {
            v.status = status;
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Validation>(&json).unwrap(), v);
        }
    }

    #[test]
    fn hostile_input_is_refused() {
        for bad in [
            r#"{"status":"SUCCESS"}"#,
            r#"{"_id":"507f1f77bcf86cd79943901"}"#,
            r#"{"_id":"507f1f77bcf86cd799439011","groupId":"not-a-group"}"#,
            r#"{"_id":"507f1f77bcf86cd799439011","sourceGroupId":"32B6E34B3D91647ABB20E7B8"}"#,
            r#"{"_id":"507f1f77bcf86cd799439011","status":["SUCCESS"]}"#,
        ] {
            assert!(serde_json::from_str::<Validation>(bad).is_err(), "{bad}");
        }
        let v: Validation =
            serde_json::from_str(r#"{"_id":"507f1f77bcf86cd799439011","status":"QUEUED"}"#)
                .unwrap();
        assert_eq!(v.status, Some(ValidationStatus::Unknown("QUEUED".into())));
        assert!(!v.is_terminal());
    }
}
