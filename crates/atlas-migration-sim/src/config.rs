//! Configuration values: lifecycle timings and the source projects the simulator offers.

use std::time::Duration;

use serde::Serialize;

/// How long each lifecycle phase lasts, in simulated time.
///
/// A migration is `NEW` for `to_working`, then `WORKING` for `to_ready`, then `WORKING`
/// with `readyForCutover: true` while `lagTimeSeconds` falls from `lag_start_seconds` by
/// `lag_drop_per_second` per simulated second. Without a cutover within `cutover_window`
/// of becoming ready it turns `EXPIRED`; after a cutover it is `WORKING` for `cutover`,
/// then `COMPLETE`. A validation is `PENDING` for `validation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    /// Time a validation stays `PENDING`.
    pub validation: Duration,
    /// Time a migration stays `NEW`.
    pub to_working: Duration,
    /// Time from `WORKING` until `readyForCutover`.
    pub to_ready: Duration,
    /// `lagTimeSeconds` when the migration becomes ready.
    pub lag_start_seconds: u64,
    /// Lag seconds removed per simulated second once ready.
    pub lag_drop_per_second: f64,
    /// Time from an accepted cutover until `COMPLETE`.
    pub cutover: Duration,
    /// Time after becoming ready within which a cutover must happen, else `EXPIRED`.
    pub cutover_window: Duration,
}

impl Timings {
    /// Fast defaults for tests against a real clock: the whole lifecycle takes about 300 ms
    /// (validation 50 ms, `NEW` 50 ms, `WORKING` 100 ms, cutover 100 ms; lag drops from 30 s
    /// to 0 within 100 ms of readiness), and the cutover window is 60 s.
    pub fn fast() -> Self {
        Self {
            validation: Duration::from_millis(50),
            to_working: Duration::from_millis(50),
            to_ready: Duration::from_millis(100),
            lag_start_seconds: 30,
            lag_drop_per_second: 300.0,
            cutover: Duration::from_millis(100),
            cutover_window: Duration::from_secs(60),
        }
    }

    /// Round numbers meant for a manual clock (see
    /// [`SimulatorBuilder::manual_clock`](crate::SimulatorBuilder::manual_clock)): each phase
    /// lasts 10 s, lag starts at 60 s and drops 1 s per second, the cutover window is 1 h.
    pub fn manual() -> Self {
        Self {
            validation: Duration::from_secs(10),
            to_working: Duration::from_secs(10),
            to_ready: Duration::from_secs(10),
            lag_start_seconds: 60,
            lag_drop_per_second: 1.0,
            cutover: Duration::from_secs(10),
            cutover_window: Duration::from_secs(3600),
        }
    }
}

impl Default for Timings {
    fn default() -> Self {
        Self::fast()
    }
}

/// A deployment of a source project (`AvailableClustersDeployment` of the spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Cluster name.
    pub name: String,
    /// 24-hex cluster id.
    pub cluster_id: String,
    /// Automation agent version.
    pub agent_version: String,
    /// Data size in bytes.
    pub db_size_bytes: i64,
    /// Feature compatibility version, e.g. `7.0`.
    pub feature_compatibility_version: String,
    /// Managed by Cloud/Ops Manager automation.
    pub managed: bool,
    /// MongoDB version.
    #[serde(rename = "mongoDBVersion")]
    pub mongodb_version: String,
    /// Oplog size in MB.
    #[serde(rename = "oplogSizeMB")]
    pub oplog_size_mb: i32,
    /// Sharded cluster.
    pub sharded: bool,
    /// Number of shards.
    pub shards_size: i32,
    /// TLS enabled.
    pub tls_enabled: bool,
}

impl Deployment {
    /// A managed, unsharded replica set running MongoDB 7.0 with TLS.
    pub fn replica_set(name: impl Into<String>, cluster_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            cluster_id: cluster_id.into(),
            agent_version: "13.10.0.8620-1".to_string(),
            db_size_bytes: 1_073_741_824,
            feature_compatibility_version: "7.0".to_string(),
            managed: true,
            mongodb_version: "7.0.14".to_string(),
            oplog_size_mb: 2048,
            sharded: false,
            shards_size: 0,
            tls_enabled: true,
        }
    }
}

/// A Cloud/Ops Manager project offered as a migration source
/// (`LiveImportAvailableProject` of the spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceProject {
    /// Project name.
    pub name: String,
    /// 24-hex project id.
    pub project_id: String,
    /// Migration hosts available to this project.
    pub migration_hosts: Vec<String>,
    /// Deployments of the project.
    pub deployments: Vec<Deployment>,
}
