//! The generated stubs speak Atlas's versioned media types: they match only requests with the
//! operation's `Accept` and answer successes with the same versioned `Content-Type`.

use atlas_migration_httpmock::MockServerExt;
use httpmock::MockServer;
use serde_json::json;

const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const MIGRATION: &str = "507f1f77bcf86cd799439011";
const V2023: &str = "application/vnd.atlas.2023-01-01+json";

fn migration() -> atlas_migration_sys::types::LiveMigrationResponse {
    serde_json::from_value(json!({"_id": MIGRATION, "status": "WORKING"})).unwrap()
}

async fn get(server: &MockServer, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.url(format!(
            "/api/atlas/v2/groups/{GROUP}/liveMigrations/{MIGRATION}"
        )))
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stub_answers_the_versioned_accept_with_the_versioned_content_type() {
    let server = MockServer::start_async().await;
    let mock = server.get_push_migration(|when, then| {
        when.group_id(GROUP).live_migration_id(MIGRATION);
        then.ok(&migration());
    });
    let reply = get(&server, V2023).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], V2023);
    mock.assert_async().await;
}

#[tokio::test]
async fn a_stub_does_not_match_a_request_atlas_would_answer_406() {
    let server = MockServer::start_async().await;
    let mock = server.get_push_migration(|when, then| {
        when.group_id(GROUP).live_migration_id(MIGRATION);
        then.ok(&migration());
    });
    for accept in ["application/json", "application/vnd.atlas.2024-05-30+json"] {
        assert_eq!(get(&server, accept).await.status(), 404, "{accept}");
    }
    mock.assert_calls_async(0).await;
}
