//! Preflight checks end to end: the project list comes from the simulator over real HTTP with
//! digest authentication, once per check however many requests are checked.

use atlas_migration_tests as support;

use atlas_migration::preflight::{FindingCode, PreflightReport};
use atlas_migration::{Destination, GroupId, MigrationRequest, Source};
use atlas_migration_sim::operations::{LIST_SOURCE_PROJECTS, VALIDATE_MIGRATION};
use atlas_migration_sim::{Deployment, Simulator, SourceProject};

/// Each finding's code, and whether it blocks.
fn codes(report: &PreflightReport) -> Vec<(bool, FindingCode)> {
    report
        .findings
        .iter()
        .map(|f| (f.is_error(), f.code))
        .collect()
}

/// A request against the simulator's first source project naming `cluster` and `host`.
fn request_for(sim: &Simulator, cluster: &str, host: &str) -> MigrationRequest {
    let project: GroupId = sim.source_projects()[0].project_id.parse().unwrap();
    MigrationRequest::builder()
        .source(
            Source::new(cluster, project)
                .tls(true)
                .credentials("migrator", support::SOURCE_PASSWORD.to_owned()),
        )
        .destination(Destination::new(
            format!("{cluster}-atlas"),
            support::group(sim),
        ))
        .migration_host(host)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_default_request_passes_clean() {
    let sim = support::linked(Simulator::builder()).await;
    let client = support::digest_client(&sim);
    let request = support::request(&sim, &support::group(&sim));
    let report = client
        .preflight(&support::org(&sim), &request)
        .await
        .unwrap();
    // The simulator's cluster runs 7.0.14, at or above every documented minimum.
    assert_eq!(codes(&report), [], "{report}");
    assert!(report.is_ok(), "{report}");
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 1);
    assert_eq!(sim.count(VALIDATE_MIGRATION), 0);
}

#[tokio::test]
async fn a_missing_cluster_and_an_unoffered_host_are_errors() {
    let sim = support::linked(Simulator::builder()).await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    let host = sim.source_projects()[0].migration_hosts[0].clone();
    let cluster = sim.source_projects()[0].deployments[0].name.clone();

    let report = client
        .preflight(&org, &request_for(&sim, "no-such-cluster", &host))
        .await
        .unwrap();
    assert_eq!(
        codes(&report),
        [(true, FindingCode::ClusterNotFound)],
        "{report}"
    );
    assert!(!report.is_ok());
    assert!(
        report.to_string().contains(&format!("it has {cluster:?}")),
        "{report}"
    );

    let report = client
        .preflight(&org, &request_for(&sim, &cluster, "elsewhere.example.net"))
        .await
        .unwrap();
    assert!(report.has(FindingCode::MigrationHostNotOffered), "{report}");
    assert_eq!(report.errors().count(), 1, "{report}");
    assert!(!report.is_ok());
    assert!(
        report.to_string().contains(&format!("it offers {host:?}")),
        "{report}"
    );
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 2);
}

#[tokio::test]
async fn a_fleet_is_checked_with_one_list_call() {
    let hosts = vec![
        "mig-a.example.net".to_string(),
        "mig-b.example.net".to_string(),
    ];
    let mut old = Deployment::replica_set("old", "0000000000000000000000a1");
    old.feature_compatibility_version = "5.0".into();
    old.mongodb_version = "5.0.26".into();
    let mut rapid = Deployment::replica_set("rapid", "0000000000000000000000a2");
    rapid.feature_compatibility_version = "6.3".into();
    rapid.mongodb_version = "6.3.2".into();
    let mut good = Deployment::replica_set("good", "0000000000000000000000a3");
    good.mongodb_version = "7.0.14".into();
    let project = SourceProject {
        name: "Legacy".into(),
        project_id: "0000000000000000000000b1".into(),
        migration_hosts: hosts.clone(),
        deployments: vec![old, rapid, good],
    };
    let sim = support::linked(Simulator::builder().source_projects(vec![project])).await;
    let client = support::digest_client(&sim);
    let requests = [
        request_for(&sim, "good", &hosts[0]),
        request_for(&sim, "old", &hosts[1]),
        request_for(&sim, "rapid", &hosts[1]),
    ];
    let reports = client
        .preflight_fleet(&support::org(&sim), &requests)
        .await
        .unwrap();
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 1);
    assert_eq!(reports.len(), 3);
    assert!(reports[0].findings.is_empty(), "{}", reports[0]);
    assert_eq!(
        codes(&reports[1]),
        [
            (true, FindingCode::FcvTooOld),
            (true, FindingCode::HostSharedInFleet),
        ],
        "{}",
        reports[1]
    );
    assert_eq!(
        codes(&reports[2]),
        [
            (true, FindingCode::FcvRapidRelease),
            (true, FindingCode::VersionRapidRelease),
            (true, FindingCode::HostSharedInFleet),
        ],
        "{}",
        reports[2]
    );
    assert!(
        reports[2].to_string().contains("index 1 (cluster \"old\")"),
        "{}",
        reports[2]
    );
}

#[tokio::test]
async fn a_failed_list_is_the_calls_error_not_a_report() {
    // Not linked: the simulator refuses to list source projects.
    let sim = Simulator::builder().start().await.unwrap();
    let client = support::digest_client(&sim);
    let request = support::request(&sim, &support::group(&sim));
    let err = client
        .preflight(&support::org(&sim), &request)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.error_code(), Some("LINK_TOKEN_NOT_FOUND"), "{err}");
    assert!(!format!("{err} {err:?}").contains(support::SOURCE_PASSWORD));
}
