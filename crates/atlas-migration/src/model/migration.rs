use std::time::Duration;

use serde::Deserialize;

use crate::ids::LiveMigrationId;
use crate::status::MigrationStatus;

/// A live migration as Atlas reports it.
///
/// ```
/// # fn show(m: &atlas_migration::LiveMigration) {
/// if m.ready_for_cutover {
///     println!("{:?} is ready; lag {:?}", m.id, m.lag);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LiveMigration {
    /// The migration's id; a reply without one does not decode.
    #[serde(rename = "_id")]
    pub id: LiveMigrationId,
    /// Where the migration stands; unknown states decode as `Unknown`.
    #[serde(default = "unknown_status")]
    pub status: MigrationStatus,
    /// Whether [`cutover`](crate::Client::cutover) may be called now.
    #[serde(default)]
    pub ready_for_cutover: bool,
    /// How far the destination trails the source, when Atlas knows.
    #[serde(rename = "lagTimeSeconds", default, deserialize_with = "lag")]
    pub lag: Option<Duration>,
    /// The migration hosts doing the work.
    #[serde(default)]
    pub migration_hosts: Vec<String>,
}

fn unknown_status() -> MigrationStatus {
    MigrationStatus::Unknown(String::new())
}

fn lag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let seconds = Option::<i64>::deserialize(d)?;
    Ok(seconds.map(|s| Duration::from_secs(s.max(0) as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
