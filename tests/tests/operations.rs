//! Request and response shapes of the eight operations, and error mapping, on httpmock.
//! The operations are stubbed with the typed stubs (`atlas-migration-httpmock`), named like the
//! client's methods, which also require each operation's versioned `Accept` and answer with its
//! versioned `Content-Type`; the exact wire bodies are checked with httpmock's own matchers.
//! A service account is used so that every mock can match on a fixed bearer token.

use atlas_migration_tests as support;

use std::time::Duration;

use atlas_migration::secrecy::ExposeSecret;
use atlas_migration::{
    AvailableProject, Client, Deployment, Destination, GroupId, HostnameSchema, LinkToken,
    LiveMigration, LiveMigrationId, MigrationRequest, MigrationStatus, OrgId, ShardEntry,
    ShardKeyKind, Sharding, Source, Validation, ValidationId, ValidationStatus,
};
use atlas_migration_httpmock::{AuthStubsExt, MockServerExt};
use httpmock::prelude::*;
use serde_json::json;

const ORG: &str = "4888442a3354817a7320eb61";
const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const MIG: &str = "6296fb4c7c7aa997cf94e9a8";
const VAL: &str = "507f1f77bcf86cd799439011";

async fn setup() -> (MockServer, Client) {
    let server = MockServer::start_async().await;
    server.oauth_token("tok-abc", 3600);
    let client = support::builder(&server.base_url())
        .service_account("mdb_sa_id", "mdb_sa_sk".to_owned())
        .retry_policy(atlas_migration::RetryPolicy::never())
        .build()
        .unwrap();
    (server, client)
}

fn ids() -> (OrgId, GroupId, LiveMigrationId, ValidationId) {
    (
        ORG.parse().unwrap(),
        GROUP.parse().unwrap(),
        MIG.parse().unwrap(),
        VAL.parse().unwrap(),
    )
}

fn request() -> MigrationRequest {
    MigrationRequest::builder()
        .source(
            Source::new("legacy", "5f1e2d3c4b5a69788796a5b4".parse().unwrap())
                .managed_authentication()
                .tls(true),
        )
        .destination(
            Destination::new("target", GROUP.parse().unwrap())
                .hostname_schema(HostnameSchema::PrivateLink)
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

fn request_json() -> serde_json::Value {
    json!({
        "source": {"clusterName": "legacy", "groupId": "5f1e2d3c4b5a69788796a5b4",
                   "managedAuthentication": true, "ssl": true},
        "destination": {"clusterName": "target", "groupId": GROUP,
                        "hostnameSchemaType": "PRIVATE_LINK", "privateLinkId": "pl-1"},
        "migrationHosts": ["mirror-1"],
        "dropDestinationData": true,
        "sharding": {"createSupportingIndexes": true, "shardingEntries": [
            {"database": "db", "collection": "c", "shardCollection": {"key": [{"a": 1}, {"b": "hashed"}]}}]}
    })
}

#[tokio::test]
async fn create_link_token_sends_access_list_and_returns_a_secret() {
    let (server, client) = setup().await;
    let (org, ..) = ids();
    let m = server.create_link_token(|when, then| {
        when.org(&org)
            .into_inner()
            .json_body(json!({"accessListIps": ["203.0.113.7"]}))
            .header("authorization", "Bearer tok-abc")
            .header_includes("user-agent", "atlas-migration/");
        then.ok(&LinkToken::from("bGluay10b2tlbi1zZWNyZXQ=".to_owned()));
    });
    let token = client
        .create_link_token(&org, ["203.0.113.7"])
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "bGluay10b2tlbi1zZWNyZXQ=");
    m.assert();
}

#[tokio::test]
async fn delete_and_list_use_the_org_paths() {
    let (server, client) = setup().await;
    let (org, ..) = ids();
    let mut deployment = Deployment::new("rs0");
    deployment.feature_compatibility_version = "7.0".to_owned();
    deployment.managed = true;
    deployment.mongodb_version = "7.0.5".to_owned();
    deployment.tls_enabled = true;
    let mut project = AvailableProject::new("legacy", GROUP.parse().unwrap());
    project.migration_hosts = vec!["mirror-1".to_owned()];
    project.deployments = vec![deployment];
    let del = server.delete_link_tokens(|when, then| {
        when.org(&org);
        then.ok();
    });
    let list = server.list_source_projects(|when, then| {
        when.org(&org);
        then.ok(std::slice::from_ref(&project));
    });
    client.delete_link_tokens(&org).await.unwrap();
    let projects = client.list_source_projects(&org).await.unwrap();
    assert_eq!(projects, [project]);
    del.assert();
    list.assert();
}

#[tokio::test]
async fn validate_and_create_send_the_2024_request_body() {
    let (server, client) = setup().await;
    let (_, group, ..) = ids();
    let mut pending = Validation::new(VAL.parse().unwrap(), ValidationStatus::Pending);
    pending.group_id = Some(group.clone());
    let mut new = LiveMigration::new(MIG.parse().unwrap(), MigrationStatus::New);
    new.migration_hosts = vec!["mirror-1".to_owned()];
    // The wire body spelled out, so a change in how the client writes it shows here.
    let validate = server.validate_migration(|when, then| {
        when.group(&group).into_inner().json_body(request_json());
        then.ok(&pending);
    });
    let create = server.create_migration(|when, then| {
        when.group(&group).into_inner().json_body(request_json());
        then.ok(&new);
    });
    let v = client.validate_migration(&group, &request()).await.unwrap();
    assert_eq!(v.status, Some(ValidationStatus::Pending));
    let m = client.create_migration(&group, &request()).await.unwrap();
    assert_eq!(m.status, MigrationStatus::New);
    assert_eq!(m.id.as_str(), MIG);
    validate.assert();
    create.assert();
}

#[tokio::test]
async fn get_validation_get_migration_and_cutover() {
    let (server, client) = setup().await;
    let (_, group, mig, val) = ids();
    let mut failed = Validation::new(val.clone(), ValidationStatus::Failed);
    failed.error_message = Some("source unreachable".to_owned());
    let mut paused = LiveMigration::new(mig.clone(), MigrationStatus::Unknown("PAUSED".into()));
    paused.ready_for_cutover = true;
    paused.lag = Some(Duration::from_secs(4));
    paused.migration_hosts = vec!["mirror-1".to_owned()];
    let gv = server.get_validation(|when, then| {
        when.group(&group).validation(&val);
        then.ok(&failed);
    });
    let gm = server.get_migration(|when, then| {
        when.group(&group).migration(&mig);
        then.ok(&paused);
    });
    let cut = server.cutover(|when, then| {
        when.group(&group).migration(&mig);
        then.ok();
    });
    let v = client.get_validation(&group, &val).await.unwrap();
    assert!(v.is_terminal() && !v.is_success());
    assert_eq!(v.error_message.as_deref(), Some("source unreachable"));
    let m = client.get_migration(&group, &mig).await.unwrap();
    assert_eq!(m.status, MigrationStatus::Unknown("PAUSED".into()));
    assert!(m.ready_for_cutover);
    assert_eq!(m.lag, Some(Duration::from_secs(4)));
    client.cutover(&group, &mig).await.unwrap();
    gv.assert();
    gm.assert();
    cut.assert();
}

async fn error_for(status: u16, headers: &[(&str, &str)], body: &str) -> atlas_migration::Error {
    let (server, client) = setup().await;
    let (_, group, mig, _) = ids();
    server.mock(|when, then| {
        when.method(GET)
            .path(format!("/api/atlas/v2/groups/{GROUP}/liveMigrations/{MIG}"));
        let mut then = then.status(status).body(body);
        for (k, v) in headers {
            then = then.header(*k, *v);
        }
    });
    client.get_migration(&group, &mig).await.unwrap_err()
}

#[tokio::test]
async fn atlas_error_bodies_are_mapped_with_their_status() {
    let cases = [
        (400, "VALIDATION_ERROR"),
        (403, "ORG_REQUIRES_ACCESS_LIST"),
        (404, "RESOURCE_NOT_FOUND"),
        (409, "CANNOT_CUTOVER"),
        (429, "RATE_LIMITED"),
        (500, "UNEXPECTED_ERROR"),
    ];
    for (status, code) in cases {
        let body = json!({"error": status, "errorCode": code, "detail": format!("detail {status}"),
            "reason": "Reason", "parameters": ["p"],
            "badRequestDetail": {"fields": [{"field": "source.clusterName", "description": "blank"}]}})
        .to_string();
        let err = error_for(
            status,
            &[("content-type", "application/json"), ("retry-after", "2")],
            &body,
        )
        .await;
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.error_code(), Some(code));
        assert_eq!(err.is_not_found(), status == 404);
        assert_eq!(err.is_rate_limited(), status == 429);
        assert_eq!(err.is_transient(), status == 429 || status == 500);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        let text = err.to_string();
        assert!(
            text.contains(&format!("HTTP {status} {code}: detail {status}")),
            "{text}"
        );
        assert!(text.contains("source.clusterName: blank"), "{text}");
        assert_eq!(err.kind(), atlas_migration::ErrorKind::Api, "{err:?}");
        assert_eq!(err.field_violations().len(), 1);
        assert_eq!(err.parameters().len(), 1);
    }
}

#[tokio::test]
async fn unauthorized_bearer_is_an_auth_error() {
    let err = error_for(
        401,
        &[("content-type", "application/json")],
        r#"{"error":401,"errorCode":"NOT_AUTHORIZED"}"#,
    )
    .await;
    assert!(err.is_auth(), "{err}");
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn bad_ids_and_inputs_send_nothing() {
    let (server, client) = setup().await;
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let err = "4888442A3354817A7320EB61".parse::<OrgId>().unwrap_err();
    assert!(err.to_string().contains("orgId"), "{err}");
    let (org, ..) = ids();
    let err = client
        .create_link_token(&org, ["not an ip"])
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    any.assert_calls(0);
}

/// A success reply far larger than any real one is refused as a typed error instead of being
/// buffered whole (real replies of this API are a few kilobytes).
#[tokio::test]
async fn an_oversize_success_reply_is_a_decode_error() {
    let (server, client) = setup().await;
    let (_, group, mig, _) = ids();
    let padding = "x".repeat(5 * 1024 * 1024);
    server.mock(|when, then| {
        when.method(GET)
            .path(format!("/api/atlas/v2/groups/{GROUP}/liveMigrations/{MIG}"));
        then.status(200)
            .header("content-type", "application/vnd.atlas.2023-01-01+json")
            .body(format!(
                r#"{{"_id":"{MIG}","status":"WORKING","pad":"{padding}"}}"#
            ));
    });
    let err = client.get_migration(&group, &mig).await.unwrap_err();
    assert_eq!(err.kind(), atlas_migration::ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("larger than"), "{err}");
    assert_eq!(err.operation(), Some("get_migration"));
}

#[tokio::test]
async fn an_api_key_client_authenticates_against_the_digest_challenge_stub() {
    let server = MockServer::start_async().await;
    let challenge = server.digest_challenge("stub-nonce");
    let (org, ..) = ids();
    let listed = server.list_source_projects(|when, then| {
        when.org(&org);
        then.ok(&[]);
    });
    let client = support::builder(&server.base_url())
        .api_key("stubpub", "stub-private".to_owned())
        .build()
        .unwrap();
    assert!(client.list_source_projects(&org).await.unwrap().is_empty());
    challenge.assert_calls(1);
    listed.assert_calls(1);
}

#[tokio::test]
async fn stubs_answer_with_this_crates_own_models() {
    let (server, client) = setup().await;
    let (_, group, id, _) = ids();
    let mut expected =
        atlas_migration::LiveMigration::new(id.clone(), atlas_migration::MigrationStatus::Working);
    expected.ready_for_cutover = true;
    expected.lag = Some(Duration::from_secs(7));
    expected.migration_hosts = vec!["mirror-1.example.com".to_owned()];
    server.get_migration(|when, then| {
        when.group(&group).migration(&id);
        then.ok(&expected);
    });
    assert_eq!(client.get_migration(&group, &id).await.unwrap(), expected);
}
