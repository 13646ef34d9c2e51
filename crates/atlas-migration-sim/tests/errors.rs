//! Atlas-shaped error answers.

mod common;

use std::time::Duration;

use atlas_migration_sim::{Simulator, Timings};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn manual_sim() -> Simulator {
    Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn invalid_body_lists_field_violations() {
    let sim = manual_sim().await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let body = json!({
        "source": {"groupId": "nothex", "managedAuthentication": "yes", "ssl": true},
        "destination": {"clusterName": "T", "groupId": group, "hostnameSchemaType": "CARRIER_PIGEON"},
        "migrationHosts": ["a", "b"],
        "sharding": {"createSupportingIndexes": true, "shardingEntries": [
            {"collection": "c", "database": "d", "shardCollection": {"key": [{"a": 2}]}}
        ]}
    });
    let resp = c.create_migration(group, body).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let e = json(resp).await;
    assert_eq!(e["error"], 400);
    assert_eq!(e["reason"], "Bad Request");
    let fields: Vec<&str> = e["badRequestDetail"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["description"].as_str().is_some_and(|d| !d.is_empty()));
            f["field"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "source.clusterName",
            "source.groupId",
            "source.managedAuthentication",
            "destination.hostnameSchemaType",
            "migrationHosts",
            "sharding.shardingEntries[0].shardCollection.key[0]",
        ]
    );
    assert_eq!(sim.migrations_created(), 0);

    let resp = c.validate(group, json!({})).await;
    let e = json(resp).await;
    let fields: Vec<&str> = e["badRequestDetail"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["source", "destination"]);
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let sim = manual_sim().await;
    let c = DigestClient::new(&sim);
    let path = format!("/api/atlas/v2/groups/{}/liveMigrations", sim.group_id());
    let auth = c.authorization("POST", &path).await;
    let resp = c
        .http
        .post(format!("{}{path}", c.base))
        .header("authorization", auth)
        .header("accept", V2024)
        .header("content-type", V2024)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp).await["errorCode"], "INVALID_JSON");
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_400() {
    let sim = manual_sim().await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let resp = c.get_migration(group, "0123456789abcdef01234567").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let e = json(resp).await;
    assert_eq!(
        (
            e["error"].as_i64(),
            e["errorCode"].as_str(),
            e["reason"].as_str()
        ),
        (Some(404), Some("RESOURCE_NOT_FOUND"), Some("Not Found"))
    );
    assert_eq!(
        e["parameters"][0],
        serde_json::json!({"value": "0123456789abcdef01234567"}),
        "the spec's parameters are objects"
    );
    assert_eq!(
        c.get(&format!(
            "/api/atlas/v2/groups/{group}/liveMigrations/validate/0123456789abcdef01234567"
        ))
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.cutover(group, "0123456789abcdef01234567").await.status(),
        StatusCode::NOT_FOUND
    );
    let resp = c
        .get_migration("NOT-A-GROUP", "0123456789abcdef01234567")
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp).await["errorCode"], "INVALID_GROUP_ID");

    // A migration is only visible in its own project.
    let id = json(
        c.create_migration(group, migration_body(group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        c.get_migration("aaaaaaaaaaaaaaaaaaaaaaaa", &id)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/api/atlas/v2/nothing/here").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn wrong_media_types_are_406_but_only_after_authentication() {
    let sim = manual_sim().await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let path = format!("/api/atlas/v2/groups/{group}/liveMigrations");
    // create_migration needs 2024-05-30; 2023-01-01 is refused.
    let resp = c
        .send(
            Method::POST,
            &path,
            V2023,
            Some((V2023, migration_body(group))),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE);
    let e = json(resp).await;
    assert_eq!(
        (e["error"].as_i64(), e["errorCode"].as_str()),
        (Some(406), Some("INVALID_MEDIA_TYPE"))
    );
    let resp = c
        .send(
            Method::POST,
            &path,
            V2024,
            Some(("application/json", migration_body(group))),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE);
    let resp = c
        .send(
            Method::GET,
            &format!("{path}/0123456789abcdef01234567"),
            "application/json",
            None,
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(sim.migrations_created(), 0);

    // Unauthenticated with a wrong Accept: 401 first, like Atlas.
    let resp = c
        .http
        .get(format!("{}{path}/0123456789abcdef01234567", c.base))
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn link_tokens_cannot_be_deleted_while_a_migration_is_active() {
    let sim = manual_sim().await;
    let c = DigestClient::new(&sim);
    let (org, group) = (sim.org_id(), sim.group_id());
    let projects = format!("/api/atlas/v2/orgs/{org}/liveMigrations/availableProjects");
    let resp = c.get(&projects).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp).await["errorCode"], "LINK_TOKEN_NOT_FOUND");

    assert_eq!(c.create_link_token(org).await.status(), StatusCode::OK);
    assert_eq!(c.get(&projects).await.status(), StatusCode::OK);
    let id = json(
        c.create_migration(group, migration_body(group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let tokens = format!("/api/atlas/v2/orgs/{org}/liveMigrations/linkTokens");
    let resp = c.send(Method::DELETE, &tokens, V2023, None).await.unwrap();
    // The spec's shared `conflict` example describes exactly this refusal.
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let e = json(resp).await;
    assert_eq!(e["error"], 409);
    assert_eq!(
        e["errorCode"],
        "CANNOT_DELETE_ORG_ACTIVE_LIVE_MIGRATION_ATLAS_ORG_LINK"
    );
    assert_eq!(sim.link_tokens(org).len(), 1);

    assert!(sim.fail_migration(&id));
    assert_eq!(
        c.send(Method::DELETE, &tokens, V2023, None)
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(c.get(&projects).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cutover_before_ready_twice_or_after_the_end_is_400() {
    let sim = manual_sim().await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let id = json(
        c.create_migration(group, migration_body(group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = c.cutover(group, &id).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(resp).await["errorCode"],
        "MIGRATION_NOT_READY_FOR_CUTOVER"
    );
    sim.advance(Duration::from_secs(20));
    let accepted = c.cutover(group, &id).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    assert_eq!(
        accepted.headers()["content-type"],
        V2023,
        "the upstream spec declares the media type for the bodiless 202"
    );
    let resp = c.cutover(group, &id).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp).await["errorCode"], "CUTOVER_ALREADY_REQUESTED");
    sim.advance(Duration::from_secs(10));
    let resp = c.cutover(group, &id).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(resp).await["errorCode"],
        "MIGRATION_ALREADY_TERMINATED"
    );
}
