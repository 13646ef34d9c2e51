//! One-line descriptions of what waiters poll, used in [`WaiterError`](super::WaiterError)
//! messages and progress displays.

use std::fmt;

use crate::model::{LiveMigration, Validation};
use crate::wait::error::human;

/// `migration 6296fb4c7c7aa997cf94e9a8 WORKING, ready for cutover, lag 12s`
impl fmt::Display for LiveMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration {} {}", self.id, self.status)?;
        if self.ready_for_cutover {
            f.write_str(", ready for cutover")?;
        }
        if let Some(lag) = self.lag {
            write!(f, ", lag {}", human(lag))?;
        }
        Ok(())
    }
}

/// `validation 507f1f77bcf86cd799439011 FAILED: source unreachable`
impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "validation {}", self.id)?;
        match &self.status {
            Some(status) => write!(f, " {status}")?,
            None => f.write_str(" (no status yet)")?,
        }
        if let Some(message) = self.error_message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_status_readiness_lag_and_message() {
        let m: LiveMigration = serde_json::from_str(
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":"WORKING","readyForCutover":true,"lagTimeSeconds":75}"#,
        )
        .unwrap();
        assert_eq!(
            m.to_string(),
            "migration 6296fb4c7c7aa997cf94e9a8 WORKING, ready for cutover, lag 1m 15s"
        );
        let v: Validation = serde_json::from_str(
            r#"{"_id":"507f1f77bcf86cd799439011","status":"FAILED","errorMessage":"source unreachable"}"#,
        )
        .unwrap();
        assert_eq!(
            v.to_string(),
            "validation 507f1f77bcf86cd799439011 FAILED: source unreachable"
        );
    }
}
