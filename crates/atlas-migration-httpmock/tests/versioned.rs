//! The stubs speak Atlas's versioned media types: they match only requests with the
//! operation's `Accept` and answer successes with the same versioned `Content-Type` and the
//! status the generated stubs (from the spec) use.

use atlas_migration::{
    AvailableProject, GroupId, LinkToken, LiveMigration, LiveMigrationId, MigrationStatus, OrgId,
    Validation, ValidationId, ValidationStatus,
};
use atlas_migration_httpmock::MockServerExt;
use atlas_migration_httpmock::httpmock::MockServer;
// Not imported: four of the generated stubs share their names with the client's.
use atlas_migration_httpmock::sys;
use atlas_migration_sys::operations::{self, Operation, paths};
use serde_json::json;

const ORG: &str = "4888442a3354817a7320eb61";
const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const MIGRATION: &str = "507f1f77bcf86cd799439011";
const VALIDATION: &str = "507f191e810c19729de860ea";
const V2023: &str = "application/vnd.atlas.2023-01-01+json";
const V2024: &str = "application/vnd.atlas.2024-05-30+json";

fn ids() -> (OrgId, GroupId, LiveMigrationId, ValidationId) {
    (
        ORG.parse().unwrap(),
        GROUP.parse().unwrap(),
        MIGRATION.parse().unwrap(),
        VALIDATION.parse().unwrap(),
    )
}

fn migration() -> LiveMigration {
    LiveMigration::new(MIGRATION.parse().unwrap(), MigrationStatus::Working)
}

fn validation() -> Validation {
    Validation::new(VALIDATION.parse().unwrap(), ValidationStatus::Pending)
}

/// Sends `op` to `path` with `accept` (and a JSON body when it takes one); status and
/// `Content-Type` of the reply.
async fn send(server: &MockServer, op: &Operation, path: &str, accept: &str) -> (u16, String) {
    let method = reqwest::Method::from_bytes(op.method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new()
        .request(method, server.url(path))
        .header("accept", accept);
    if let Some(media_type) = op.request_media_type {
        request = request.header("content-type", media_type).body("{}");
    }
    let reply = request.send().await.unwrap();
    let content_type = reply
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (reply.status().as_u16(), content_type)
}

/// Each operation with its path and a stub of it on `server` answering success.
fn stub_all(server: &MockServer) -> Vec<(Operation, String)> {
    let (org, group, mig, val) = ids();
    let token = LinkToken::from("dG9rZW4=".to_owned());
    let project = AvailableProject::new("legacy", group.clone());
    server.create_link_token(|when, then| {
        when.org(&org);
        then.ok(&token);
    });
    server.delete_link_tokens(|when, then| {
        when.org(&org);
        then.ok();
    });
    server.list_source_projects(|when, then| {
        when.org(&org);
        then.ok(&[project]);
    });
    server.validate_migration(|when, then| {
        when.group(&group);
        then.ok(&validation());
    });
    server.get_validation(|when, then| {
        when.group(&group).validation(&val);
        then.ok(&validation());
    });
    server.create_migration(|when, then| {
        when.group(&group);
        then.ok(&migration());
    });
    server.get_migration(|when, then| {
        when.group(&group).migration(&mig);
        then.ok(&migration());
    });
    server.cutover(|when, then| {
        when.group(&group).migration(&mig);
        then.ok();
    });
    paths_of_all()
}

fn paths_of_all() -> Vec<(Operation, String)> {
    vec![
        (operations::CREATE_LINK_TOKEN, paths::create_link_token(ORG)),
        (
            operations::DELETE_LINK_TOKENS,
            paths::delete_link_tokens(ORG),
        ),
        (
            operations::LIST_SOURCE_PROJECTS,
            paths::list_source_projects(ORG),
        ),
        (
            operations::VALIDATE_MIGRATION,
            paths::validate_migration(GROUP),
        ),
        (
            operations::GET_VALIDATION,
            paths::get_validation(GROUP, VALIDATION),
        ),
        (operations::CREATE_MIGRATION, paths::create_migration(GROUP)),
        (
            operations::GET_MIGRATION,
            paths::get_migration(GROUP, MIGRATION),
        ),
        (operations::CUTOVER, paths::cutover(GROUP, MIGRATION)),
    ]
}

/// A generated wire type from its JSON.
fn wire<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// The same successes from the stubs generated from the spec, with wire types from JSON.
fn stub_all_generated(server: &MockServer) {
    let migration = json!({"_id": MIGRATION, "status": "WORKING"});
    let validation = json!({"_id": VALIDATION, "status": "PENDING"});
    sys::MockServerExt::create_link_token(server, |_, then| {
        then.ok(&wire(json!({"linkToken": "dG9rZW4="})));
    });
    sys::MockServerExt::delete_link_tokens(server, |_, then| {
        then.no_content();
    });
    sys::MockServerExt::list_source_projects(server, |_, then| {
        then.ok(&Vec::new());
    });
    sys::MockServerExt::validate_migration(server, |_, then| {
        then.ok(&wire(validation.clone()));
    });
    sys::MockServerExt::get_validation(server, |_, then| {
        then.ok(&wire(validation));
    });
    sys::MockServerExt::create_migration(server, |_, then| {
        then.created(&wire(migration.clone()));
    });
    sys::MockServerExt::get_migration(server, |_, then| {
        then.ok(&wire(migration));
    });
    sys::MockServerExt::cutover(server, |_, then| {
        then.accepted();
    });
}

#[tokio::test]
async fn every_stub_answers_its_versioned_accept_with_the_spec_status_and_content_type() {
    let ours = MockServer::start_async().await;
    let generated = MockServer::start_async().await;
    let all = stub_all(&ours);
    stub_all_generated(&generated);
    for (op, path) in &all {
        let (status, content_type) = send(&ours, op, path, op.response_media_type).await;
        let expected = send(&generated, op, path, op.response_media_type).await;
        assert!((200..300).contains(&status), "{}: {status}", op.name);
        assert_eq!((status, content_type.clone()), expected, "{}", op.name);
        let has_body = status != 202 && status != 204;
        let versioned = if has_body { op.response_media_type } else { "" };
        assert_eq!(content_type, versioned, "{}", op.name);
    }
}

#[tokio::test]
async fn no_stub_matches_a_request_atlas_would_answer_406() {
    let server = MockServer::start_async().await;
    let all = stub_all(&server);
    for (op, path) in &all {
        let wrong = if op.response_media_type == V2023 {
            V2024
        } else {
            V2023
        };
        for accept in ["application/json", wrong] {
            let (status, _) = send(&server, op, path, accept).await;
            assert_eq!(status, 404, "{} with {accept}", op.name);
        }
    }
}

#[tokio::test]
async fn id_matchers_fix_their_own_path_segment_only() {
    let server = MockServer::start_async().await;
    let (_, group, mig, _) = ids();
    let by_migration = server.get_migration(|when, then| {
        when.migration(&mig);
        then.ok(&migration());
    });
    let by_group = server.cutover(|when, then| {
        when.group(&group);
        then.ok();
    });
    let elsewhere = "6296fb4c7c7aa997cf94e9a8";
    let read = paths::get_migration(elsewhere, MIGRATION);
    let (status, _) = send(&server, &operations::GET_MIGRATION, &read, V2023).await;
    assert_eq!(status, 200);
    let other = paths::cutover(GROUP, elsewhere);
    let (status, _) = send(&server, &operations::CUTOVER, &other, V2023).await;
    assert_eq!(status, 202);
    let foreign = paths::cutover(elsewhere, MIGRATION);
    let (status, _) = send(&server, &operations::CUTOVER, &foreign, V2023).await;
    assert_eq!(status, 404);
    by_migration.assert_calls(1);
    by_group.assert_calls(1);
    // The method is part of the match too.
    let reply = reqwest::Client::new()
        .delete(server.url(&read))
        .header("accept", V2023)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
}
