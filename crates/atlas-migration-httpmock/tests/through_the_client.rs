//! Every stub against the real client: what a stub is given (`atlas-migration`'s own models
//! and ids) is what the client returns, error replies become the client's `Error` field for
//! field, and the request matchers match what the client sends.

use std::time::Duration;

use atlas_migration::secrecy::ExposeSecret;
use atlas_migration::{
    AvailableProject, Client, Deployment, Destination, GroupId, LinkToken, LiveMigration,
    LiveMigrationId, MigrationRequest, MigrationStatus, OrgId, RetryPolicy, ShardEntry,
    ShardKeyKind, Sharding, Source, Validation, ValidationId, ValidationStatus,
};
use atlas_migration_httpmock::httpmock::MockServer;
use atlas_migration_httpmock::{AuthStubsExt, ErrorReply, MockServerExt};

const ORG: &str = "4888442a3354817a7320eb61";
const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const SOURCE_GROUP: &str = "5f1e2d3c4b5a69788796a5b4";
const MIGRATION: &str = "507f1f77bcf86cd799439011";
const VALIDATION: &str = "507f191e810c19729de860ea";

struct Ids {
    org: OrgId,
    group: GroupId,
    migration: LiveMigrationId,
    validation: ValidationId,
}

fn ids() -> Ids {
    Ids {
        org: ORG.parse().unwrap(),
        group: GROUP.parse().unwrap(),
        migration: MIGRATION.parse().unwrap(),
        validation: VALIDATION.parse().unwrap(),
    }
}

async fn setup() -> (MockServer, Client) {
    let server = MockServer::start_async().await;
    server.oauth_token("test-token", 3600);
    let client = Client::builder()
        .base_url(server.base_url())
        .service_account("mdb_sa_id_test", "mdb_sa_sk_test".to_owned())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    (server, client)
}

/// A request using every part of the body: password authentication, private link, sharding.
fn request() -> MigrationRequest {
    MigrationRequest::builder()
        .source(
            Source::new("legacy", SOURCE_GROUP.parse().unwrap())
                .credentials("admin", "Src-P4ssw0rd".to_owned())
                .tls(true),
        )
        .destination(
            Destination::new("target", GROUP.parse().unwrap())
                .hostname_schema(atlas_migration::HostnameSchema::PrivateLink)
                .private_link_id("pl-1"),
        )
        .migration_host("mirror-1")
        .drop_destination_data(true)
        .sharding(
            Sharding::new(true).entry(
                ShardEntry::new("db", "c")
                    .key("a", ShardKeyKind::Ascending)
                    .key("b", ShardKeyKind::Hashed),
            ),
        )
        .build()
        .unwrap()
}

fn full_migration() -> LiveMigration {
    let mut m = LiveMigration::new(MIGRATION.parse().unwrap(), MigrationStatus::Working);
    m.ready_for_cutover = true;
    m.lag = Some(Duration::from_secs(7));
    m.migration_hosts = vec!["mirror-1".to_owned()];
    m
}

fn full_validation(status: ValidationStatus) -> Validation {
    let mut v = Validation::new(VALIDATION.parse().unwrap(), status);
    v.group_id = Some(GROUP.parse().unwrap());
    v.source_group_id = Some(SOURCE_GROUP.parse().unwrap());
    v.error_message = Some("source unreachable".to_owned());
    v
}

#[tokio::test]
async fn org_stubs_round_trip_through_the_client() {
    let (server, client) = setup().await;
    let Ids { org, group, .. } = ids();
    let mut deployment = Deployment::new("rs0");
    deployment.feature_compatibility_version = "7.0".to_owned();
    deployment.mongodb_version = "7.0.5".to_owned();
    deployment.managed = true;
    let mut project = AvailableProject::new("legacy", group.clone());
    project.deployments = vec![deployment];
    project.migration_hosts = vec!["mirror-1".to_owned()];
    let projects = vec![project];

    let token = server.create_link_token(|when, then| {
        when.org(&org)
            .access_list_ips(["203.0.113.7", "198.51.100.0/24"]);
        then.ok(&LinkToken::from("bGluay10b2tlbg==".to_owned()));
    });
    let listed = server.list_source_projects(|when, then| {
        when.org(&org);
        then.ok(&projects);
    });
    let deleted = server.delete_link_tokens(|when, then| {
        when.org(&org);
        then.ok();
    });

    let got = client
        .create_link_token(&org, ["203.0.113.7", "198.51.100.0/24"])
        .await
        .unwrap();
    assert_eq!(got.expose_secret(), "bGluay10b2tlbg==");
    assert_eq!(client.list_source_projects(&org).await.unwrap(), projects);
    client.delete_link_tokens(&org).await.unwrap();
    token.assert_calls(1);
    listed.assert_calls(1);
    deleted.assert_calls(1);
}

#[tokio::test]
async fn project_stubs_round_trip_through_the_client() {
    let (server, client) = setup().await;
    let Ids {
        group,
        migration,
        validation,
        ..
    } = ids();
    let request = request();
    let pending = full_validation(ValidationStatus::Pending);
    let failed = full_validation(ValidationStatus::Failed);
    let created = LiveMigration::new(migration.clone(), MigrationStatus::New);
    let working = full_migration();

    let validate = server.validate_migration(|when, then| {
        when.group(&group).request(&request);
        then.ok(&pending);
    });
    let read_validation = server.get_validation(|when, then| {
        when.group(&group).validation(&validation);
        then.ok(&failed);
    });
    let create = server.create_migration(|when, then| {
        when.group(&group).request(&request);
        then.ok(&created);
    });
    let read = server.get_migration(|when, then| {
        when.group(&group).migration(&migration);
        then.ok(&working);
    });
    let cutover = server.cutover(|when, then| {
        when.group(&group).migration(&migration);
        then.ok();
    });

    let v = client.validate_migration(&group, &request).await.unwrap();
    assert_eq!(v, pending);
    let v = client.get_validation(&group, &validation).await.unwrap();
    assert_eq!(v, failed);
    assert_eq!(
        client.create_migration(&group, &request).await.unwrap(),
        created
    );
    assert_eq!(
        client.get_migration(&group, &migration).await.unwrap(),
        working
    );
    client.cutover(&group, &migration).await.unwrap();
    for stub in [validate, read_validation, create, read, cutover] {
        stub.assert_calls(1);
    }
}

#[tokio::test]
async fn a_different_request_body_does_not_match() {
    let (server, client) = setup().await;
    let Ids { group, .. } = ids();
    let other = MigrationRequest::builder()
        .source(Source::new("legacy", SOURCE_GROUP.parse().unwrap()).managed_authentication())
        .destination(Destination::new("target", group.clone()))
        .migration_host("mirror-2")
        .build()
        .unwrap();
    let stub = server.create_migration(|when, then| {
        when.group(&group).request(&request());
        then.ok(&full_migration());
    });
    let err = client.create_migration(&group, &other).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    stub.assert_calls(0);
}

#[tokio::test]
async fn an_error_reply_reaches_the_client_field_for_field() {
    let (server, client) = setup().await;
    let Ids {
        group, migration, ..
    } = ids();
    let reply = ErrorReply::new(400, "VALIDATION_ERROR")
        .detail("Invalid attribute source.clusterName.")
        .reason("Bad Request")
        .parameter("source.clusterName")
        .parameter(3)
        .field_violation("source.clusterName", "must not be blank");
    server.get_migration(|when, then| {
        when.group(&group).migration(&migration);
        then.error(&reply);
    });
    let err = client.get_migration(&group, &migration).await.unwrap_err();
    assert_eq!(err.kind(), atlas_migration::ErrorKind::Api, "{err:?}");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_code(), Some("VALIDATION_ERROR"));
    assert_eq!(err.detail(), Some("Invalid attribute source.clusterName."));
    assert_eq!(
        err.parameters(),
        [
            serde_json::json!("source.clusterName"),
            serde_json::json!(3)
        ]
    );
    let violations = err.field_violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, "source.clusterName");
    assert_eq!(violations[0].description, "must not be blank");
}

#[tokio::test]
async fn every_then_side_answers_errors() {
    let (server, client) = setup().await;
    let Ids {
        org,
        group,
        migration,
        validation,
    } = ids();
    let missing = ErrorReply::new(404, "RESOURCE_NOT_FOUND");
    server.create_link_token(|_, then| {
        then.error(&missing);
    });
    server.delete_link_tokens(|_, then| {
        then.error(&missing);
    });
    server.list_source_projects(|_, then| {
        then.error(&missing);
    });
    server.validate_migration(|_, then| {
        then.error(&missing);
    });
    server.get_validation(|_, then| {
        then.error(&missing);
    });
    server.create_migration(|_, then| {
        then.error(&missing);
    });
    server.get_migration(|_, then| {
        then.error(&missing);
    });
    server.cutover(|_, then| {
        then.error(&missing);
    });
    let request = request();
    let errors = [
        client
            .create_link_token(&org, Vec::<String>::new())
            .await
            .map(drop),
        client.delete_link_tokens(&org).await,
        client.list_source_projects(&org).await.map(drop),
        client.validate_migration(&group, &request).await.map(drop),
        client.get_validation(&group, &validation).await.map(drop),
        client.create_migration(&group, &request).await.map(drop),
        client.get_migration(&group, &migration).await.map(drop),
        client.cutover(&group, &migration).await,
    ];
    for result in errors {
        let err = result.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert_eq!(err.error_code(), Some("RESOURCE_NOT_FOUND"));
    }
}

#[tokio::test]
async fn a_rate_limited_stub_is_a_429_with_retry_after() {
    let (server, client) = setup().await;
    let Ids {
        group, migration, ..
    } = ids();
    server.cutover(|when, then| {
        when.migration(&migration);
        then.rate_limited(Duration::from_secs(2));
    });
    let err = client.cutover(&group, &migration).await.unwrap_err();
    assert!(err.is_rate_limited(), "{err}");
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.error_code(), Some("RATE_LIMITED"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn a_client_rides_out_one_429_to_the_success_behind_it() {
    let server = MockServer::start_async().await;
    server.oauth_token("test-token", 3600);
    let client = Client::builder()
        .base_url(server.base_url())
        .service_account("mdb_sa_id_test", "mdb_sa_sk_test".to_owned())
        .build()
        .unwrap();
    let Ids {
        group, migration, ..
    } = ids();
    let refused = server.get_migration(|_, then| {
        then.rate_limited(Duration::from_secs(1))
            .into_inner()
            .up_to_n_times(1);
    });
    let answered = server.get_migration(|_, then| {
        then.ok(&full_migration());
    });
    assert_eq!(
        client.get_migration(&group, &migration).await.unwrap(),
        full_migration()
    );
    refused.assert_calls(1);
    answered.assert_calls(1);
}
