use serde::Deserialize;

use crate::ids::GroupId;

/// A Cloud/Ops Manager project that can be migrated, with its deployments.
///
/// ```
/// # fn show(p: &atlas_migration::AvailableProject) {
/// for d in &p.deployments {
///     println!("{}/{}: MongoDB {}", p.name, d.name, d.mongodb_version);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AvailableProject {
    /// The project's name.
    pub name: String,
    /// The project's id in Cloud/Ops Manager.
    pub project_id: GroupId,
    /// The clusters in the project.
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// Migration hosts available to the project.
    #[serde(default)]
    pub migration_hosts: Vec<String>,
}

/// A cluster that can be migrated.
///
/// ```
/// # fn show(d: &atlas_migration::Deployment) {
/// if d.sharded { println!("{} has {:?} shards", d.name, d.shards_size); }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Deployment {
    /// The cluster's name.
    pub name: String,
    /// The cluster's id.
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// Version of the automation agent.
    #[serde(default)]
    pub agent_version: Option<String>,
    /// Data size in bytes.
    #[serde(default)]
    pub db_size_bytes: Option<i64>,
    /// Feature compatibility version, e.g. `7.0`.
    #[serde(default)]
    pub feature_compatibility_version: String,
    /// Whether Cloud/Ops Manager automation manages the cluster.
    #[serde(default)]
    pub managed: bool,
    /// MongoDB server version.
    #[serde(rename = "mongoDBVersion", default)]
    pub mongodb_version: String,
    /// Oplog size in MB.
    #[serde(rename = "oplogSizeMB", default)]
    pub oplog_size_mb: Option<i32>,
    /// Whether the cluster is sharded.
    #[serde(default)]
    pub sharded: bool,
    /// Number of shards.
    #[serde(default)]
    pub shards_size: Option<i32>,
    /// Whether TLS is enabled.
    #[serde(default)]
    pub tls_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_project_with_deployments() {
        let p: AvailableProject = serde_json::from_str(
            r#"{"name":"legacy","projectId":"32b6e34b3d91647abb20e7b8","migrationHosts":["h"],
                "deployments":[{"name":"rs0","featureCompatibilityVersion":"7.0","managed":true,
                "mongoDBVersion":"7.0.5","sharded":false,"tlsEnabled":true,"oplogSizeMB":990,
                "dbSizeBytes":1024}]}"#,
        )
        .unwrap();
        assert_eq!(p.deployments[0].mongodb_version, "7.0.5");
        assert_eq!(p.deployments[0].oplog_size_mb, Some(990));
        assert!(p.deployments[0].tls_enabled);
    }
}
