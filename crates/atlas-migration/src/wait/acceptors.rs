//! Acceptors: what each waiter considers success, failure or "not yet". Small functions, so
//! they are unit-tested on inline fixtures and reusable with [`Poller`](super::Poller).

use crate::model::{LiveMigration, Validation};
use crate::status::{MigrationStatus, ValidationStatus};
use crate::wait::Acceptance;

/// A validation is done: `SUCCESS` succeeds, `FAILED` fails, anything else (`PENDING`, no
/// status yet, a status this client does not know) keeps polling.
///
/// ```
/// use atlas_migration::wait::{acceptors, Acceptance};
/// # fn f(v: &atlas_migration::Validation) {
/// if acceptors::validation_done(v) == Acceptance::Failure {
///     eprintln!("{}", v.error_message.as_deref().unwrap_or("no reason given"));
/// }
/// # }
/// ```
pub fn validation_done(v: &Validation) -> Acceptance {
    match &v.status {
        Some(ValidationStatus::Success) => Acceptance::Success,
        Some(ValidationStatus::Failed) => Acceptance::Failure,
        _ => Acceptance::Retry,
    }
}

/// A migration is ready for cutover: `readyForCutover` while in progress succeeds; any
/// terminal state (`FAILED`, `EXPIRED`, or `COMPLETE`, after which readiness cannot come)
/// fails.
///
/// ```
/// # fn f(m: &atlas_migration::LiveMigration) {
/// let verdict = atlas_migration::wait::acceptors::ready_for_cutover(m);
/// # }
/// ```
pub fn ready_for_cutover(m: &LiveMigration) -> Acceptance {
    if m.status.is_terminal() {
        Acceptance::Failure
    } else if m.ready_for_cutover {
        Acceptance::Success
    } else {
        Acceptance::Retry
    }
}

/// A migration is complete: `COMPLETE` succeeds, `FAILED` and `EXPIRED` fail.
///
/// ```
/// # fn f(m: &atlas_migration::LiveMigration) {
/// let verdict = atlas_migration::wait::acceptors::complete(m);
/// # }
/// ```
pub fn complete(m: &LiveMigration) -> Acceptance {
    match m.status {
        MigrationStatus::Complete => Acceptance::Success,
        MigrationStatus::Failed | MigrationStatus::Expired => Acceptance::Failure,
        _ => Acceptance::Retry,
    }
}

/// Ready for cutover **or** already complete, for callers that do not know whether a cutover
/// was already requested (e.g. when resuming): both succeed; `FAILED` and `EXPIRED` fail.
///
/// ```
/// # fn f(m: &atlas_migration::LiveMigration) {
/// let verdict = atlas_migration::wait::acceptors::ready_or_complete(m);
/// # }
/// ```
pub fn ready_or_complete(m: &LiveMigration) -> Acceptance {
    match complete(m) {
        Acceptance::Retry => ready_for_cutover(m),
        done => done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `json` with an `_id`, which every reply carries.
    fn with_id(json: &str) -> serde_json::Value {
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        value["_id"] = "507f1f77bcf86cd799439011".into();
        value
    }

    fn m(json: &str) -> LiveMigration {
        serde_json::from_value(with_id(json)).unwrap()
    }

    fn v(json: &str) -> Validation {
        serde_json::from_value(with_id(json)).unwrap()
    }

    #[test]
    fn validation_acceptor_names_both_ends() {
        assert_eq!(
            validation_done(&v(r#"{"status":"SUCCESS"}"#)),
            Acceptance::Success
        );
        assert_eq!(
            validation_done(&v(r#"{"status":"FAILED"}"#)),
            Acceptance::Failure
        );
        for pending in [r#"{"status":"PENDING"}"#, "{}", r#"{"status":"QUEUED"}"#] {
            assert_eq!(validation_done(&v(pending)), Acceptance::Retry, "{pending}");
        }
    }

    #[test]
    fn readiness_acceptor_fails_on_every_terminal_state() {
        let ready = m(r#"{"status":"WORKING","readyForCutover":true}"#);
        assert_eq!(ready_for_cutover(&ready), Acceptance::Success);
        for status in ["NEW", "WORKING", "PAUSED"] {
            let x = m(&format!(r#"{{"status":"{status}"}}"#));
            assert_eq!(ready_for_cutover(&x), Acceptance::Retry, "{status}");
        }
        for status in ["FAILED", "EXPIRED", "COMPLETE"] {
            let x = m(&format!(
                r#"{{"status":"{status}","readyForCutover":true}}"#
            ));
            assert_eq!(ready_for_cutover(&x), Acceptance::Failure, "{status}");
        }
    }

    #[test]
    fn completion_acceptors() {
        let done = m(r#"{"status":"COMPLETE"}"#);
        assert_eq!(complete(&done), Acceptance::Success);
        assert_eq!(ready_or_complete(&done), Acceptance::Success);
        let ready = m(r#"{"status":"WORKING","readyForCutover":true}"#);
        assert_eq!(complete(&ready), Acceptance::Retry);
        assert_eq!(ready_or_complete(&ready), Acceptance::Success);
        for status in ["FAILED", "EXPIRED"] {
            let x = m(&format!(r#"{{"status":"{status}"}}"#));
            assert_eq!(complete(&x), Acceptance::Failure);
            assert_eq!(ready_or_complete(&x), Acceptance::Failure);
        }
    }
}
