//! The rules for one request against the organization's project list: the source project,
//! the source cluster and the migration host exist as named, and the cluster's versions, TLS
//! setting and automation fit the request.

use crate::model::{AvailableProject, Deployment};
use crate::request::{MigrationRequest, SourceAuth};

use super::quote::{quote, quote_list};
use super::report::{Finding, FindingCode};
use super::versions::VersionRules;

/// Every finding for `request`, in rule order. Rules that need the project or the cluster
/// are skipped when it is missing (its own finding already blocks).
pub(super) fn check_request(
    projects: &[AvailableProject],
    request: &MigrationRequest,
    versions: &VersionRules,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(project) = source_project(projects, request, &mut findings) else {
        return findings;
    };
    let deployment = source_cluster(project, request, &mut findings);
    migration_host(project, request, &mut findings);
    if let Some(deployment) = deployment {
        findings.extend(versions.check_fcv(deployment));
        findings.extend(versions.check_server(deployment));
        tls(deployment, request, &mut findings);
        managed_authentication(deployment, request, &mut findings);
    }
    findings
}

/// The source project must be one the organization can migrate from: Atlas lists exactly
/// those (`listSourceProjects`, "Return All Projects Available for Migration").
fn source_project<'a>(
    projects: &'a [AvailableProject],
    request: &MigrationRequest,
    findings: &mut Vec<Finding>,
) -> Option<&'a AvailableProject> {
    let id = request.source_project();
    let project = projects.iter().find(|p| &p.project_id == id);
    if project.is_none() {
        let known = quote_list(projects.iter().map(|p| p.name.as_str()), "none");
        findings.push(Finding::new(
            FindingCode::SourceProjectNotFound,
            format!(
                "source project {id} is not among the projects this organization can migrate \
                 from ({known}); check the project id, and that its Cloud Manager organization \
                 is linked to Atlas"
            ),
        ));
    }
    project
}

/// The source cluster must be a deployment of the project. Names compare exactly; a name that
/// differs only in case is pointed out.
fn source_cluster<'a>(
    project: &'a AvailableProject,
    request: &MigrationRequest,
    findings: &mut Vec<Finding>,
) -> Option<&'a Deployment> {
    let name = &request.source.cluster_name;
    let deployment = project.deployments.iter().find(|d| &d.name == name);
    if deployment.is_none() {
        let hint = match project
            .deployments
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
        {
            Some(near) => format!("; did you mean {}?", quote(&near.name)),
            None => format!(
                "; it has {}",
                quote_list(project.deployments.iter().map(|d| d.name.as_str()), "none")
            ),
        };
        findings.push(Finding::new(
            FindingCode::ClusterNotFound,
            format!(
                "cluster {} is not a deployment of source project {} ({}){hint}",
                quote(name),
                quote(&project.name),
                project.project_id
            ),
        ));
    }
    deployment
}

/// The migration host must be one the project offers (`migrationHosts` of the project:
/// "Hostname of MongoDB Agent that you configured to perform a migration"). Names compare
/// exactly, as Atlas's list spells them.
fn migration_host(
    project: &AvailableProject,
    request: &MigrationRequest,
    findings: &mut Vec<Finding>,
) {
    let host = &request.migration_host;
    if project.migration_hosts.iter().any(|h| h == host) {
        return;
    }
    let offered = quote_list(
        project.migration_hosts.iter().map(String::as_str),
        "none; provision a migration host in Cloud Manager first",
    );
    findings.push(Finding::new(
        FindingCode::MigrationHostNotOffered,
        format!(
            "migration host {} is not offered by source project {}; it offers {offered}",
            quote(host),
            quote(&project.name)
        ),
    ));
}

/// The request's `ssl` flag should match the cluster's `tlsEnabled`. A mismatch is a warning:
/// a cluster in a mixed TLS mode may accept both, and Atlas's validation decides.
fn tls(deployment: &Deployment, request: &MigrationRequest, findings: &mut Vec<Finding>) {
    let on_off = |on: bool| if on { "on" } else { "off" };
    let cluster = quote(&deployment.name);
    if request.source.tls != deployment.tls_enabled {
        findings.push(Finding::new(
            FindingCode::TlsMismatch,
            format!(
                "the request has TLS {} for cluster {cluster}, but Atlas reports TLS {} on it; \
                 set Source::tls({})",
                on_off(request.source.tls),
                on_off(deployment.tls_enabled),
                deployment.tls_enabled
            ),
        ));
    } else if !deployment.tls_enabled {
        findings.push(Finding::new(
            FindingCode::TlsDisabled,
            format!("cluster {cluster} does not use TLS: the migration host reads it unencrypted"),
        ));
    }
}

/// Managed authentication means Cloud Manager automation authenticates to the source
/// (`managedAuthentication`: "whether MongoDB Automation manages authentication to the
/// source cluster"); the deployment's `managed` says whether automation manages it at all.
/// A warning: Atlas does not document refusing the combination.
fn managed_authentication(
    deployment: &Deployment,
    request: &MigrationRequest,
    findings: &mut Vec<Finding>,
) {
    if matches!(request.source.auth, SourceAuth::Managed) && !deployment.managed {
        findings.push(Finding::new(
            FindingCode::ManagedAuthenticationUnmanaged,
            format!(
                "the request asks for managed authentication, but automation does not manage \
                 cluster {}; give a database user with Source::credentials instead",
                quote(&deployment.name)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;
    use crate::preflight::versions::PUSH_LIVE_MIGRATION;
    use crate::request::{Destination, Source};

    const SOURCE: &str = "32b6e34b3d91647abb20e7b8";
    const TARGET: &str = "6296fb4c7c7aa997cf94e9a8";

    fn gid(id: &str) -> GroupId {
        id.parse().unwrap()
    }

    fn good_deployment(name: &str) -> Deployment {
        let mut d = Deployment::new(name);
        d.feature_compatibility_version = "7.0".into();
        d.mongodb_version = "7.0.14".into();
        d.tls_enabled = true;
        d.managed = true;
        d
    }

    fn projects() -> Vec<AvailableProject> {
        let mut other = AvailableProject::new("other", gid("0123456789abcdef01234567"));
        other.deployments.push(good_deployment("rs9"));
        let mut legacy = AvailableProject::new("legacy", gid(SOURCE));
        legacy.deployments.push(good_deployment("rs0"));
        legacy.deployments.push(good_deployment("Orders"));
        legacy.migration_hosts = vec!["mirror-1.example.com".into(), "mirror-2.example.com".into()];
        vec![other, legacy]
    }

    fn request_with(source: Source, host: &str) -> MigrationRequest {
        MigrationRequest::builder()
            .source(source)
            .destination(Destination::new("atlas-target", gid(TARGET)))
            .migration_host(host)
            .build()
            .unwrap()
    }

    fn request(cluster: &str, host: &str) -> MigrationRequest {
        request_with(
            Source::new(cluster, gid(SOURCE))
                .tls(true)
                .credentials("migrator", "pw".to_owned()),
            host,
        )
    }

    fn check(projects: &[AvailableProject], request: &MigrationRequest) -> Vec<Finding> {
        check_request(projects, request, &PUSH_LIVE_MIGRATION)
    }

    fn codes(findings: &[Finding]) -> Vec<FindingCode> {
        findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_request_that_fits_has_no_findings() {
        assert_eq!(
            check(&projects(), &request("rs0", "mirror-1.example.com")),
            []
        );
        assert_eq!(
            check(&projects(), &request("Orders", "mirror-2.example.com")),
            []
        );
    }

    #[test]
    fn an_unknown_source_project_is_an_error_and_stops_the_other_rules() {
        let request = request_with(
            Source::new("rs0", gid("ffffffffffffffffffffffff")),
            "nowhere",
        );
        let findings = check(&projects(), &request);
        assert_eq!(codes(&findings), [FindingCode::SourceProjectNotFound]);
        assert!(findings[0].is_error());
        assert!(findings[0].message.contains("ffffffffffffffffffffffff"));
        assert!(findings[0].message.contains("\"other\", \"legacy\""));
        let findings = check(&[], &request);
        assert!(
            findings[0].message.contains("(none)"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_missing_cluster_is_an_error_naming_the_ones_there() {
        let findings = check(&projects(), &request("rs1", "mirror-1.example.com"));
        assert_eq!(codes(&findings), [FindingCode::ClusterNotFound]);
        assert!(findings[0].is_error());
        assert!(
            findings[0].message.contains("it has \"rs0\", \"Orders\""),
            "{}",
            findings[0].message
        );
        let findings = check(&projects(), &request("orders", "mirror-1.example.com"));
        assert!(
            findings[0].message.contains("did you mean \"Orders\"?"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn an_unoffered_host_is_an_error_also_when_the_cluster_is_missing() {
        let findings = check(&projects(), &request("rs0", "mirror-3.example.com"));
        assert_eq!(codes(&findings), [FindingCode::MigrationHostNotOffered]);
        assert!(findings[0].is_error());
        assert!(
            findings[0]
                .message
                .contains("\"mirror-1.example.com\", \"mirror-2.example.com\"")
        );
        // Hosts compare exactly.
        let findings = check(&projects(), &request("rs0", "MIRROR-1.example.com"));
        assert_eq!(codes(&findings), [FindingCode::MigrationHostNotOffered]);
        let findings = check(&projects(), &request("rs1", "mirror-3.example.com"));
        assert_eq!(
            codes(&findings),
            [
                FindingCode::ClusterNotFound,
                FindingCode::MigrationHostNotOffered
            ]
        );
        let mut bare = projects();
        bare[1].migration_hosts.clear();
        let findings = check(&bare, &request("rs0", "mirror-1.example.com"));
        assert!(
            findings[0].message.contains("provision a migration host"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn version_rules_apply_to_the_named_cluster() {
        let mut list = projects();
        list[1].deployments[0].feature_compatibility_version = "5.0".into();
        list[1].deployments[1].feature_compatibility_version = "7.1".into();
        let rs0 = check(&list, &request("rs0", "mirror-1.example.com"));
        assert_eq!(codes(&rs0), [FindingCode::FcvTooOld]);
        let orders = check(&list, &request("Orders", "mirror-1.example.com"));
        assert_eq!(codes(&orders), [FindingCode::FcvRapidRelease]);
        list[1].deployments[0].feature_compatibility_version = String::new();
        list[1].deployments[0].mongodb_version = "7.0.2".into();
        let rs0 = check(&list, &request("rs0", "mirror-1.example.com"));
        assert_eq!(
            codes(&rs0),
            [
                FindingCode::FcvMissing,
                FindingCode::VersionBelowDocumentedMinimum
            ]
        );
        assert!(rs0.iter().all(|f| !f.is_error()));
    }

    #[test]
    fn tls_disagreement_and_plain_text_sources_are_warnings() {
        let mut list = projects();
        let plain = request_with(
            Source::new("rs0", gid(SOURCE)).credentials("m", "pw".to_owned()),
            "mirror-1.example.com",
        );
        let findings = check(&list, &plain);
        assert_eq!(codes(&findings), [FindingCode::TlsMismatch]);
        assert!(!findings[0].is_error());
        assert!(
            findings[0].message.contains("Source::tls(true)"),
            "{}",
            findings[0].message
        );
        list[1].deployments[0].tls_enabled = false;
        assert_eq!(codes(&check(&list, &plain)), [FindingCode::TlsDisabled]);
        assert_eq!(
            codes(&check(&list, &request("rs0", "mirror-1.example.com"))),
            [FindingCode::TlsMismatch]
        );
    }

    #[test]
    fn managed_authentication_of_an_unmanaged_cluster_is_a_warning() {
        let mut list = projects();
        list[1].deployments[0].managed = false;
        let managed = request_with(
            Source::new("rs0", gid(SOURCE))
                .tls(true)
                .managed_authentication(),
            "mirror-1.example.com",
        );
        let findings = check(&list, &managed);
        assert_eq!(
            codes(&findings),
            [FindingCode::ManagedAuthenticationUnmanaged]
        );
        assert!(!findings[0].is_error());
        // A database user needs no automation.
        assert_eq!(check(&list, &request("rs0", "mirror-1.example.com")), []);
    }

    #[test]
    fn duplicate_entries_in_a_hostile_list_use_the_first() {
        let mut list = projects();
        let mut shadow = AvailableProject::new("shadow", gid(SOURCE));
        shadow.migration_hosts.push("mirror-9".into());
        list.push(shadow);
        assert_eq!(check(&list, &request("rs0", "mirror-1.example.com")), []);
    }
}
