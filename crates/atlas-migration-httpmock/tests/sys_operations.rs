//! Every generated sys operation against a real loopback server (httpmock, with the typed stubs
//! generated from the same spec): method, path, versioned headers, body, typed response.

use atlas_migration_httpmock::sys::MockServerExt;
use atlas_migration_sys::hooks::Hooks;
use atlas_migration_sys::operations::{CREATE_MIGRATION, GET_MIGRATION, OPERATIONS, paths};
use atlas_migration_sys::{Client, types};
use httpmock::MockServer;
use serde_json::json;

const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const ORG: &str = "5f1e2d3c4b5a69788796a5b4";
const MIGRATION: &str = "507f1f77bcf86cd799439011";
const VALIDATION: &str = "507f191e810c19729de860ea";
const V2023: &str = "application/vnd.atlas.2023-01-01+json";
const V2024: &str = "application/vnd.atlas.2024-05-30+json";

fn client(server: &MockServer) -> Client {
    Client::new(&server.base_url(), Hooks::new())
}

fn request() -> types::LiveMigrationRequest20240530 {
    serde_json::from_value(json!({
        "source": {"clusterName": "src", "groupId": GROUP, "managedAuthentication": false,
                   "ssl": true, "username": "admin", "password": "pw"},
        "destination": {"clusterName": "dst", "groupId": GROUP, "hostnameSchemaType": "PUBLIC"},
        "migrationHosts": ["mh1.example.net"],
        "dropDestinationData": false,
        "sharding": {"createSupportingIndexes": true, "shardingEntries": [
            {"database": "db", "collection": "c", "shardCollection": {"key": [{"a": 1}, {"b": "hashed"}]}}
        ]}
    }))
    .expect("the sharding request with numeric and hashed keys is expressible")
}

fn migration(status: &str) -> serde_json::Value {
    json!({"_id": MIGRATION, "status": status, "readyForCutover": true, "lagTimeSeconds": 4,
           "migrationHosts": ["mh1.example.net"]})
}

#[tokio::test]
async fn create_push_migration_sends_the_2024_versioned_body_and_decodes_201() {
    let server = MockServer::start_async().await;
    let mock = server.create_migration(|when, then| {
        when.group_id(GROUP)
            .body(&request())
            .into_inner()
            .header("accept", V2024)
            .header("content-type", V2024);
        then.into_inner()
            .status(201)
            .header("content-type", V2024)
            .json_body(migration("NEW"));
    });
    let created = client(&server)
        .create_migration()
        .group_id(GROUP)
        .body(request())
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.id.as_deref(), Some(MIGRATION));
    assert_eq!(created.status.as_deref(), Some("NEW"));
}

#[tokio::test]
async fn sharding_keys_serialize_as_numbers_and_strings() {
    let body = serde_json::to_value(request()).unwrap();
    assert_eq!(
        body["sharding"]["shardingEntries"][0]["shardCollection"]["key"],
        json!([{"a": 1}, {"b": "hashed"}])
    );
}

#[tokio::test]
async fn validate_migration_sends_the_2024_versioned_body() {
    let server = MockServer::start_async().await;
    let mock = server.validate_migration(|when, then| {
        when.group_id(GROUP)
            .body(&request())
            .into_inner()
            .header("accept", V2024)
            .header("content-type", V2024);
        then.into_inner()
            .status(200)
            .json_body(json!({"_id": VALIDATION, "status": "PENDING", "groupId": GROUP}));
    });
    let validation = client(&server)
        .validate_migration()
        .group_id(GROUP)
        .body(request())
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(validation.id.as_deref(), Some(VALIDATION));
    assert_eq!(validation.status.as_deref(), Some("PENDING"));
}

#[tokio::test]
async fn get_validation_status_decodes_a_failure_message() {
    let server = MockServer::start_async().await;
    let mock = server.get_validation(|when, then| {
        when.group_id(GROUP)
            .validation_id(VALIDATION)
            .into_inner()
            .header("accept", V2023);
        then.into_inner().status(200).json_body(
            json!({"_id": VALIDATION, "status": "FAILED", "errorMessage": "source unreachable"}),
        );
    });
    let validation = client(&server)
        .get_validation()
        .group_id(GROUP)
        .validation_id(VALIDATION)
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(
        validation.error_message.as_deref(),
        Some("source unreachable")
    );
}

#[tokio::test]
async fn get_push_migration_decodes_an_unknown_status_value() {
    let server = MockServer::start_async().await;
    let mock = server.get_migration(|when, then| {
        when.group_id(GROUP)
            .live_migration_id(MIGRATION)
            .into_inner()
            .header("accept", V2023);
        let mut body = migration("PAUSED");
        body["someFieldAddedLater"] = json!({"x": 1});
        then.into_inner().status(200).json_body(body);
    });
    let found = client(&server)
        .get_migration()
        .group_id(GROUP)
        .live_migration_id(MIGRATION)
        .send()
        .await
        .expect("an unknown status value must not fail the call");
    mock.assert_async().await;
    assert_eq!(found.status.as_deref(), Some("PAUSED"));
    assert_eq!(found.lag_time_seconds, Some(4));
    assert_eq!(found.ready_for_cutover, Some(true));
}

#[tokio::test]
async fn cutover_migration_is_a_put_answered_202_without_body() {
    let server = MockServer::start_async().await;
    let mock = server.cutover(|when, then| {
        when.group_id(GROUP)
            .live_migration_id(MIGRATION)
            .into_inner()
            .header("accept", V2023);
        then.accepted();
    });
    let accepted = client(&server)
        .cutover()
        .group_id(GROUP)
        .live_migration_id(MIGRATION)
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(accepted.status(), 202);
}

#[tokio::test]
async fn list_source_projects_decodes_projects_and_deployments() {
    let server = MockServer::start_async().await;
    let mock = server.list_source_projects(|when, then| {
        when.org_id(ORG).into_inner().header("accept", V2023);
        then.into_inner().status(200).json_body(json!([{
            "name": "legacy", "projectId": GROUP, "migrationHosts": ["mh1"],
            "deployments": [{"name": "rs0", "featureCompatibilityVersion": "7.0", "managed": true,
                             "mongoDBVersion": "7.0.12", "sharded": false, "tlsEnabled": true,
                             "dbSizeBytes": 1024}]
        }]));
    });
    let projects = client(&server)
        .list_source_projects()
        .org_id(ORG)
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].deployments[0].mongo_db_version, "7.0.12");
}

#[tokio::test]
async fn create_link_token_sends_the_access_list() {
    let server = MockServer::start_async().await;
    let mock = server.create_link_token(|when, then| {
        when.org_id(ORG)
            .into_inner()
            .header("accept", V2023)
            .header("content-type", V2023)
            .json_body(json!({"accessListIps": ["203.0.113.7"]}));
        then.into_inner()
            .status(200)
            .json_body(json!({"linkToken": "opaque-token"}));
    });
    let token = client(&server)
        .create_link_token()
        .org_id(ORG)
        .body(types::TargetOrgRequest {
            access_list_ips: vec!["203.0.113.7".into()],
        })
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(token.link_token, "opaque-token");
}

#[tokio::test]
async fn delete_link_tokens_is_a_delete_answered_204() {
    let server = MockServer::start_async().await;
    let mock = server.delete_link_tokens(|when, then| {
        when.org_id(ORG).into_inner().header("accept", V2023);
        then.into_inner().status(204);
    });
    let deleted = client(&server)
        .delete_link_tokens()
        .org_id(ORG)
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(deleted.status(), 204);
}

#[tokio::test]
async fn an_atlas_error_body_decodes_as_api_error() {
    let server = MockServer::start_async().await;
    server.get_migration(|when, then| {
        when.group_id(GROUP);
        then.not_found(&serde_json::from_value(json!({
            "error": 404, "errorCode": "RESOURCE_NOT_FOUND", "detail": "No migration.", "reason": "Not Found"
        })).unwrap());
    });
    let error = client(&server)
        .get_migration()
        .group_id(GROUP)
        .live_migration_id(MIGRATION)
        .send()
        .await
        .unwrap_err();
    match error {
        atlas_migration_sys::Error::ErrorResponse(body) => {
            assert_eq!(body.status(), 404);
            assert_eq!(body.error_code, "RESOURCE_NOT_FOUND");
        }
        other => panic!("expected an Atlas error body, got {other:?}"),
    }
}

#[test]
fn path_functions_fill_each_template_and_encode_parameters() {
    for operation in OPERATIONS {
        let filled = match operation.name {
            "create_link_token" => paths::create_link_token(ORG),
            "delete_link_tokens" => paths::delete_link_tokens(ORG),
            "list_source_projects" => paths::list_source_projects(ORG),
            "validate_migration" => paths::validate_migration(GROUP),
            "get_validation" => paths::get_validation(GROUP, VALIDATION),
            "create_migration" => paths::create_migration(GROUP),
            "get_migration" => paths::get_migration(GROUP, MIGRATION),
            "cutover" => paths::cutover(GROUP, MIGRATION),
            other => panic!("no path function checked for {other}"),
        };
        let expected = operation
            .path
            .replace("{orgId}", ORG)
            .replace("{groupId}", GROUP)
            .replace("{validationId}", VALIDATION)
            .replace("{liveMigrationId}", MIGRATION);
        assert_eq!(filled, expected, "{}", operation.name);
    }
    assert_eq!(
        paths::get_migration("a/b", "c d"),
        "/api/atlas/v2/groups/a%2Fb/liveMigrations/c%20d"
    );
}

#[test]
fn path_parameters_are_escaped_as_the_generated_client_escapes_them() {
    let mut parameter: String = (0u8..0x80).map(char::from).collect();
    parameter.push_str("é€😀");
    assert_eq!(
        paths::get_migration(&parameter, "x"),
        format!(
            "/api/atlas/v2/groups/{}/liveMigrations/x",
            progenitor_client::encode_path(&parameter)
        )
    );
}

#[test]
fn only_post_operations_are_not_idempotent() {
    for operation in OPERATIONS {
        assert_eq!(
            operation.idempotent,
            operation.method != "POST",
            "{}",
            operation.name
        );
    }
    assert_eq!(GET_MIGRATION.name, "get_migration");
    const { assert!(!CREATE_MIGRATION.idempotent) };
}

#[test]
fn the_operation_table_has_the_pinned_versions() {
    let versions: Vec<_> = OPERATIONS
        .iter()
        .map(|op| (op.name, op.response_media_type))
        .collect();
    assert_eq!(versions.len(), 8);
    for (name, media_type) in versions {
        let expected = match name {
            "create_migration" | "validate_migration" => V2024,
            _ => V2023,
        };
        assert_eq!(media_type, expected, "{name}");
    }
}
