use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::LiveMigrationId;
use crate::status::MigrationStatus;

/// A live migration as Atlas reports it.
///
/// It serializes as Atlas's `LiveMigrationResponse` JSON (`_id`, `status`, `readyForCutover`,
/// `lagTimeSeconds` in whole seconds, `migrationHosts`), and reads back from that or from an
/// Atlas reply; see the [module notes](crate#types-that-serialize).
///
/// ```
/// # fn show(m: &atlas_migration::LiveMigration) {
/// if m.ready_for_cutover {
///     println!("{:?} is ready; lag {:?}", m.id, m.lag);
/// }
/// # }
/// ```
///
/// Storing one and reading it back:
///
/// ```
/// use atlas_migration::{LiveMigration, MigrationStatus};
///
/// let mut m = LiveMigration::new("6296fb4c7c7aa997cf94e9a8".parse()?, MigrationStatus::Working);
/// m.lag = Some(std::time::Duration::from_secs(12));
/// let json = serde_json::to_string(&m).unwrap();
/// assert!(json.contains(r#""lagTimeSeconds":12"#));
/// assert_eq!(serde_json::from_str::<LiveMigration>(&json).unwrap(), m);
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LiveMigration {
    /// The migration's id; a value without one, or with a malformed one, does not decode.
    #[serde(rename = "_id")]
    pub id: LiveMigrationId,
    /// Where the migration stands; unknown states decode as `Unknown` and serialize verbatim.
    #[serde(default = "unknown_status")]
    pub status: MigrationStatus,
    /// Whether [`cutover`](crate::Client::cutover) may be called now.
    #[serde(default)]
    pub ready_for_cutover: bool,
    /// How far the destination trails the source, when Atlas knows. Serialized as
    /// `lagTimeSeconds`, whole seconds (a fraction is dropped).
    #[serde(
        rename = "lagTimeSeconds",
        default,
        serialize_with = "super::lag::serialize",
        deserialize_with = "super::lag::deserialize"
    )]
    pub lag: Option<Duration>,
    /// The migration hosts doing the work.
    #[serde(default)]
    pub migration_hosts: Vec<String>,
}

fn unknown_status() -> MigrationStatus {
    MigrationStatus::Unknown(String::new())
}

impl LiveMigration {
    /// Atlas's cutover window: from the first time a migration is ready for cutover until it
    /// expires (spec, `LiveMigrationResponse.status`: "this synchronization starts a timer of
    /// 120 hours").
    ///
    /// ```
    /// use atlas_migration::LiveMigration;
    ///
    /// assert_eq!(LiveMigration::CUTOVER_WINDOW.as_secs(), 120 * 3600);
    /// ```
    pub const CUTOVER_WINDOW: std::time::Duration = std::time::Duration::from_secs(120 * 3600);

    /// A migration with `id` and `status`, not ready for cutover, lag unknown, no hosts: for
    /// tests and fixtures. Set the other fields directly.
    ///
    /// ```
    /// use atlas_migration::{LiveMigration, MigrationStatus};
    ///
    /// let mut m = LiveMigration::new("6296fb4c7c7aa997cf94e9a8".parse()?, MigrationStatus::Working);
    /// m.ready_for_cutover = true;
    /// assert!(m.status.is_in_progress());
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn new(id: LiveMigrationId, status: MigrationStatus) -> Self {
        Self {
            id,
            status,
            ready_for_cutover: false,
            lag: None,
            migration_hosts: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6296fb4c7c7aa997cf94e9a8";

    #[test]
    fn decodes_a_working_migration() {
        let m: LiveMigration = serde_json::from_str(
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":"WORKING","readyForCutover":true,
                "lagTimeSeconds":12,"migrationHosts":["mirror-1"]}"#,
        )
        .unwrap();
        assert_eq!(m.status, MigrationStatus::Working);
        assert!(m.ready_for_cutover);
        assert_eq!(m.lag, Some(Duration::from_secs(12)));
        assert_eq!(m.migration_hosts, ["mirror-1"]);
    }

    #[test]
    fn tolerates_nulls_and_unknown_states() {
        let m: LiveMigration = serde_json::from_str(
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":"PAUSED","lagTimeSeconds":null}"#,
        )
        .unwrap();
        assert_eq!(m.status, MigrationStatus::Unknown("PAUSED".into()));
        assert_eq!(m.lag, None);
    }

    #[test]
    fn a_migration_without_an_id_does_not_decode() {
        let result = serde_json::from_str::<LiveMigration>(r#"{"status":"WORKING"}"#);
        assert!(result.unwrap_err().to_string().contains("_id"));
    }

    #[test]
    fn serializes_the_wire_shape_with_every_field() {
        let mut m = LiveMigration::new(ID.parse().unwrap(), MigrationStatus::Working);
        m.ready_for_cutover = true;
        m.lag = Some(Duration::from_millis(75_900));
        m.migration_hosts = vec!["mirror-1".into()];
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"_id": ID, "status": "WORKING", "readyForCutover": true,
                "lagTimeSeconds": 75, "migrationHosts": ["mirror-1"]})
        );
        let bare = LiveMigration::new(ID.parse().unwrap(), MigrationStatus::New);
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            serde_json::json!({"_id": ID, "status": "NEW", "readyForCutover": false,
                "lagTimeSeconds": null, "migrationHosts": []})
        );
    }

    #[test]
    fn round_trips_including_unknown_and_missing_states() {
        let mut m = LiveMigration::new(ID.parse().unwrap(), MigrationStatus::Complete);
        m.lag = Some(Duration::ZERO);
        for status in [
            MigrationStatus::Complete,
            MigrationStatus::Unknown("PAUSED".into()),
            MigrationStatus::Unknown(String::new()),
        ] {
            m.status = status;
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<LiveMigration>(&json).unwrap(), m);
        }
        // A reply without a status decodes as the empty unknown state, which round-trips.
        let m: LiveMigration =
            serde_json::from_str(r#"{"_id":"6296fb4c7c7aa997cf94e9a8"}"#).unwrap();
        let again: LiveMigration =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn hostile_input_is_refused_or_clamped() {
        for bad in [
            r#"{"_id":"6296FB4C7C7AA997CF94E9A8"}"#,
            r#"{"_id":"6296fb4c7c7aa997cf94e9a"}"#,
            r#"{"_id":"../../../etc/passwd"}"#,
            r#"{"_id":42}"#,
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","lagTimeSeconds":"12"}"#,
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","lagTimeSeconds":1e999}"#,
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":7}"#,
            r#"[]"#,
        ] {
            assert!(serde_json::from_str::<LiveMigration>(bad).is_err(), "{bad}");
        }
        let m: LiveMigration = serde_json::from_str(
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","lagTimeSeconds":-9223372036854775808}"#,
        )
        .unwrap();
        assert_eq!(m.lag, Some(Duration::ZERO));
        // The largest lag a Duration holds is written as the largest that reads back.
        let mut m = LiveMigration::new(ID.parse().unwrap(), MigrationStatus::Working);
        m.lag = Some(Duration::MAX);
        let back: LiveMigration =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back.lag, Some(Duration::from_secs(i64::MAX as u64)));
    }
}
