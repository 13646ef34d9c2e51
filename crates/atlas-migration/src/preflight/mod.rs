//! Preflight checks: what Atlas's list of source projects already says about a migration
//! request, checked before [`validate_migration`](crate::Client::validate_migration) is
//! called.
//!
//! [`Client::preflight`](crate::Client::preflight) fetches the organization's source projects
//! ([`list_source_projects`](crate::Client::list_source_projects)) and checks one request;
//! [`Client::preflight_fleet`](crate::Client::preflight_fleet) checks many with the same
//! single call. [`PreflightReport::check`] and [`PreflightReport::check_fleet`] do the same
//! with a list the caller already has, without I/O.
//!
//! | rule | finding | severity |
//! | --- | --- | --- |
//! | the source project is one the organization can migrate from | `SourceProjectNotFound` | error |
//! | the source cluster is a deployment of that project | `ClusterNotFound` | error |
//! | the migration host is one the project offers | `MigrationHostNotOffered` | error |
//! | the feature compatibility version is 6.0 or later | `FcvTooOld` | error |
//! | the feature compatibility version is not a rapid release (6.1, 7.2, 8.1, ...) | `FcvRapidRelease` | error |
//! | the feature compatibility version is reported and readable | `FcvMissing`, `FcvUnparsable` | warning |
//! | the server is not a rapid release | `VersionRapidRelease` | error |
//! | the server is at least the patch the migration page lists (6.0.17, 7.0.13) | `VersionBelowDocumentedMinimum` | warning |
//! | the server version is reported and readable | `VersionUnparsable` | warning |
//! | the request's TLS flag matches the cluster | `TlsMismatch` | warning |
//! | the cluster uses TLS | `TlsDisabled` | warning |
//! | managed authentication only for clusters automation manages | `ManagedAuthenticationUnmanaged` | warning |
//! | each request of a fleet has its own migration host | `HostSharedInFleet` | error |
//!
//! Errors are what Atlas documents as impossible: the version rules come from "Live Migrate
//! (Push) a Cluster Monitored by Cloud Manager into Atlas"
//! (<https://www.mongodb.com/docs/atlas/import/c2c-push-live-migration/>), the project, host
//! and one-host-per-migration rules from the Admin API spec. Warnings are what may still work
//! or what this client cannot judge: a version Atlas did not report, a minimum patch that the
//! page has raised over time, a TLS or automation setting that looks wrong. A clean report is
//! no promise: Atlas's validation also checks network access, credentials and the destination
//! (whose feature compatibility version must equal the source's, which the project list does
//! not show).
//!
//! ```
//! use atlas_migration::preflight::{FindingCode, PreflightReport};
//! use atlas_migration::{AvailableProject, Deployment, Destination, MigrationRequest, Source};
//!
//! // What `list_source_projects` returned (built by hand here).
//! let mut cluster = Deployment::new("legacy-rs");
//! cluster.feature_compatibility_version = "6.2".into();
//! cluster.mongodb_version = "6.2.1".into();
//! cluster.tls_enabled = true;
//! let mut project = AvailableProject::new("legacy", "32b6e34b3d91647abb20e7b8".parse()?);
//! project.deployments.push(cluster);
//! project.migration_hosts.push("mirror-1.example.com".into());
//!
//! let request = MigrationRequest::builder()
//!     .source(Source::new("legacy-rs", project.project_id.clone()).tls(true).managed_authentication())
//!     .destination(Destination::new("atlas-target", "6296fb4c7c7aa997cf94e9a8".parse()?))
//!     .migration_host("mirror-2.example.com")
//!     .build()?;
//!
//! let report = PreflightReport::check(&[project], &request);
//! assert!(!report.is_ok());
//! assert!(report.has(FindingCode::MigrationHostNotOffered));
//! assert!(report.has(FindingCode::FcvRapidRelease));
//! println!("{report}");
//! # Ok::<(), atlas_migration::Error>(())
//! ```

mod fleet;
mod quote;
mod report;
mod rules;
mod versions;

pub use report::{Finding, FindingCode, PreflightReport};

use crate::model::AvailableProject;
use crate::request::MigrationRequest;

// The checks themselves, on a project list the caller already has: pure, no I/O, so a fleet
// can check any number of requests against one `list_source_projects` call.
impl PreflightReport {
    /// Checks `request` against `projects` (the organization's source projects).
    ///
    /// ```
    /// # fn f(projects: &[atlas_migration::AvailableProject], request: &atlas_migration::MigrationRequest) {
    /// let report = atlas_migration::preflight::PreflightReport::check(projects, request);
    /// if !report.is_ok() {
    ///     eprintln!("{report}");
    /// }
    /// # }
    /// ```
    pub fn check(projects: &[AvailableProject], request: &MigrationRequest) -> Self {
        Self {
            findings: rules::check_request(projects, request, &versions::PUSH_LIVE_MIGRATION),
        }
    }

    /// Checks each of `requests` as [`check`](Self::check) does, and also that no two of
    /// them name the same migration host (case-insensitively, as DNS compares names). The
    /// reports are in the order of `requests`; a shared host is an error in every report
    /// that shares it, naming the others by index.
    ///
    /// ```
    /// # fn f(projects: &[atlas_migration::AvailableProject], requests: &[atlas_migration::MigrationRequest]) {
    /// use atlas_migration::preflight::PreflightReport;
    ///
    /// for (request, report) in requests.iter().zip(PreflightReport::check_fleet(projects, requests)) {
    ///     if !report.is_ok() {
    ///         eprintln!("{}: {report}", request.source_project());
    ///     }
    /// }
    /// # }
    /// ```
    pub fn check_fleet(projects: &[AvailableProject], requests: &[MigrationRequest]) -> Vec<Self> {
        requests
            .iter()
            .zip(fleet::shared_hosts(requests))
            .map(|(request, shared)| {
                let mut report = Self::check(projects, request);
                report.findings.extend(shared);
                report
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;
    use crate::model::Deployment;
    use crate::request::{Destination, Source};

    fn gid(n: u8) -> GroupId {
        format!("{n:024x}").parse().unwrap()
    }

    fn projects() -> Vec<AvailableProject> {
        let mut project = AvailableProject::new("legacy", gid(1));
        for name in ["rs0", "rs1", "rs2"] {
            let mut d = Deployment::new(name);
            d.feature_compatibility_version = "7.0".into();
            d.mongodb_version = "7.0.14".into();
            d.tls_enabled = true;
            project.deployments.push(d);
        }
        project.migration_hosts = vec!["h0".into(), "h1".into(), "h2".into()];
        vec![project]
    }

    fn request(cluster: &str, host: &str) -> MigrationRequest {
        MigrationRequest::builder()
            .source(Source::new(cluster, gid(1)).tls(true))
            .destination(Destination::new(format!("{cluster}-atlas"), gid(2)))
            .migration_host(host)
            .build()
            .unwrap()
    }

    #[test]
    fn a_fleet_gets_one_report_per_request_in_order() {
        let requests = [
            request("rs0", "h0"),
            request("rs1", "h0"),
            request("rs2", "h2"),
            request("rs3", "h1"),
        ];
        let reports = PreflightReport::check_fleet(&projects(), &requests);
        let codes: Vec<Vec<FindingCode>> = reports
            .iter()
            .map(|r| r.findings.iter().map(|f| f.code).collect())
            .collect();
        assert_eq!(
            codes,
            [
                vec![FindingCode::HostSharedInFleet],
                vec![FindingCode::HostSharedInFleet],
                vec![],
                vec![FindingCode::ClusterNotFound],
            ]
        );
        assert_eq!(
            reports[2],
            PreflightReport::check(&projects(), &requests[2])
        );
    }
}
