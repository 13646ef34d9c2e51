//! The one change detector: what differs between a migration's consecutive snapshots, as far
//! as someone following it cares (status, readiness, lag). The watch yields a snapshot when
//! anything changed; the workflow turns changes into progress events.

use std::time::Duration;

use crate::model::LiveMigration;
use crate::status::MigrationStatus;

/// Remembers the last snapshot seen and compares each new one with it.
#[derive(Debug, Clone, Default)]
pub(crate) struct MigrationChanges {
    last: Option<Seen>,
}

/// The parts of a snapshot that count as a change.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    status: MigrationStatus,
    ready_for_cutover: bool,
    lag: Option<Duration>,
}

impl Seen {
    fn of(m: &LiveMigration) -> Self {
        Self {
            status: m.status.clone(),
            ready_for_cutover: m.ready_for_cutover,
            lag: m.lag,
        }
    }
}

/// What changed in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    /// The status or the readiness for cutover (always true for the first snapshot).
    pub(crate) state: bool,
    /// The lag, including its appearing or disappearing (for the first snapshot: whether it
    /// has one).
    pub(crate) lag: bool,
}

impl Change {
    /// Whether anything changed.
    pub(crate) fn any(self) -> bool {
        self.state || self.lag
    }
}

impl MigrationChanges {
    /// A detector that has already seen `snapshot` (or nothing).
    pub(crate) fn after(snapshot: Option<&LiveMigration>) -> Self {
        Self {
            last: snapshot.map(Seen::of),
        }
    }

    /// Compares `m` with the last snapshot seen, then remembers `m`.
    pub(crate) fn observe(&mut self, m: &LiveMigration) -> Change {
        let now = Seen::of(m);
        let change = match &self.last {
            None => Change {
                state: true,
                lag: now.lag.is_some(),
            },
            Some(before) => Change {
                state: before.status != now.status
                    || before.ready_for_cutover != now.ready_for_cutover,
                lag: before.lag != now.lag,
            },
        };
        self.last = Some(now);
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(json: &str) -> LiveMigration {
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        value["_id"] = "507f1f77bcf86cd799439011".into();
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn first_snapshot_is_a_change_and_repeats_are_not() {
        let mut changes = MigrationChanges::default();
        let working = m(r#"{"status":"WORKING"}"#);
        assert_eq!(
            changes.observe(&working),
            Change {
                state: true,
                lag: false
            }
        );
        assert!(!changes.observe(&working).any());
    }

    #[test]
    fn status_readiness_and_lag_each_count() {
        let mut changes = MigrationChanges::after(Some(&m(r#"{"status":"WORKING"}"#)));
        let ready = m(r#"{"status":"WORKING","readyForCutover":true}"#);
        assert!(changes.observe(&ready).state);
        let lagging = m(r#"{"status":"WORKING","readyForCutover":true,"lagTimeSeconds":3}"#);
        assert_eq!(
            changes.observe(&lagging),
            Change {
                state: false,
                lag: true
            }
        );
        assert!(changes.observe(&ready).lag, "a lag that disappears changed");
        assert!(changes.observe(&m(r#"{"status":"COMPLETE"}"#)).state);
    }
}
