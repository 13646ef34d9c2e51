use serde::{Deserialize, Serialize};

use crate::ids::GroupId;

/// A Cloud/Ops Manager project that can be migrated, with its deployments.
///
/// It serializes as Atlas's `LiveImportAvailableProject` JSON (`name`, `projectId`,
/// `deployments`, `migrationHosts`) and reads back from that or from an Atlas reply; see the
/// [module notes](crate#types-that-serialize).
///
/// ```
/// # fn show(p: &atlas_migration::AvailableProject) {
/// for d in &p.deployments {
///     println!("{}/{}: MongoDB {}", p.name, d.name, d.mongodb_version);
/// }
/// # }
/// ```
///
/// Building one by hand (for a test or a [preflight](crate::preflight) check) and storing it:
///
/// ```
/// use atlas_migration::{AvailableProject, Deployment};
///
/// let mut project = AvailableProject::new("legacy", "32b6e34b3d91647abb20e7b8".parse()?);
/// project.deployments.push(Deployment::new("rs0"));
/// project.migration_hosts.push("mirror-1.example.com".into());
/// let json = serde_json::to_string(&project).unwrap();
/// assert_eq!(serde_json::from_str::<AvailableProject>(&json).unwrap(), project);
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AvailableProject {
    /// The project's name.
    pub name: String,
    /// The project's id in Cloud/Ops Manager; a malformed one does not decode.
    pub project_id: GroupId,
    /// The clusters in the project.
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// Migration hosts available to the project.
    #[serde(default)]
    pub migration_hosts: Vec<String>,
}

impl AvailableProject {
    /// A project named `name` with id `project_id`, no deployments and no migration hosts:
    /// for tests and fixtures. Push to the lists directly.
    ///
    /// ```
    /// let project = atlas_migration::AvailableProject::new("legacy", "32b6e34b3d91647abb20e7b8".parse()?);
    /// assert!(project.deployments.is_empty());
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn new(name: impl Into<String>, project_id: GroupId) -> Self {
        Self {
            name: name.into(),
            project_id,
            deployments: Vec::new(),
            migration_hosts: Vec::new(),
        }
    }
}

/// A cluster that can be migrated.
///
/// It serializes as Atlas's `AvailableClustersDeployment` JSON (camelCase, with
/// `mongoDBVersion` and `oplogSizeMB` spelled as Atlas does; absent values as `null`).
///
/// ```
/// # fn show(d: &atlas_migration::Deployment) {
/// if d.sharded { println!("{} has {:?} shards", d.name, d.shards_size); }
/// # }
/// ```
///
/// ```
/// let mut d = atlas_migration::Deployment::new("rs0");
/// d.feature_compatibility_version = "7.0".into();
/// d.mongodb_version = "7.0.14".into();
/// let json = serde_json::to_value(&d).unwrap();
/// assert_eq!(json["mongoDBVersion"], "7.0.14");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Feature compatibility version, e.g. `7.0`; empty when Atlas did not say.
    #[serde(default)]
    pub feature_compatibility_version: String,
    /// Whether Cloud/Ops Manager automation manages the cluster.
    #[serde(default)]
    pub managed: bool,
    /// MongoDB server version, e.g. `7.0.14`; empty when Atlas did not say.
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

impl Deployment {
    /// An unsharded, unmanaged cluster named `name` without TLS, its versions and sizes
    /// unknown: for tests and fixtures. Set the other fields directly.
    ///
    /// ```
    /// let mut d = atlas_migration::Deployment::new("rs0");
    /// d.tls_enabled = true;
    /// assert!(d.feature_compatibility_version.is_empty());
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            cluster_id: None,
            agent_version: None,
            db_size_bytes: None,
            feature_compatibility_version: String::new(),
            managed: false,
            mongodb_version: String::new(),
            oplog_size_mb: None,
            sharded: false,
            shards_size: None,
            tls_enabled: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE: &str = r#"{"name":"legacy","projectId":"32b6e34b3d91647abb20e7b8","migrationHosts":["h"],
        "deployments":[{"name":"rs0","featureCompatibilityVersion":"7.0","managed":true,
        "mongoDBVersion":"7.0.5","sharded":false,"tlsEnabled":true,"oplogSizeMB":990,
        "dbSizeBytes":1024}]}"#;

    #[test]
    fn decodes_project_with_deployments() {
        let p: AvailableProject = serde_json::from_str(WIRE).unwrap();
        assert_eq!(p.deployments[0].mongodb_version, "7.0.5");
        assert_eq!(p.deployments[0].oplog_size_mb, Some(990));
        assert!(p.deployments[0].tls_enabled);
    }

    #[test]
    fn serializes_the_wire_shape_and_round_trips() {
        let p: AvailableProject = serde_json::from_str(WIRE).unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "legacy", "projectId": "32b6e34b3d91647abb20e7b8",
                "migrationHosts": ["h"], "deployments": [{"name": "rs0", "clusterId": null,
                "agentVersion": null, "dbSizeBytes": 1024, "featureCompatibilityVersion": "7.0",
                "managed": true, "mongoDBVersion": "7.0.5", "oplogSizeMB": 990,
                "sharded": false, "shardsSize": null, "tlsEnabled": true}]})
        );
        assert_eq!(serde_json::from_value::<AvailableProject>(json).unwrap(), p);
        let bare = AvailableProject::new("", "32b6e34b3d91647abb20e7b8".parse().unwrap());
        let back: AvailableProject =
            serde_json::from_str(&serde_json::to_string(&bare).unwrap()).unwrap();
        assert_eq!(back, bare);
    }

    #[test]
    fn hostile_input_is_refused() {
        for bad in [
            r#"{"name":"p"}"#,
            r#"{"name":"p","projectId":"32b6e34b3d91647abb20e7b"}"#,
            r#"{"name":"p","projectId":"32b6e34b3d91647abb20e7bZ"}"#,
            r#"{"name":"p","projectId":"32b6e34b3d91647abb20e7b8","deployments":[{}]}"#,
            r#"{"name":"p","projectId":"32b6e34b3d91647abb20e7b8","deployments":[{"name":"rs0","oplogSizeMB":4294967296}]}"#,
            r#"{"name":"p","projectId":"32b6e34b3d91647abb20e7b8","migrationHosts":"h"}"#,
        ] {
            assert!(
                serde_json::from_str::<AvailableProject>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
