//! Service-account (OAuth2 client credentials) behaviour against the simulator's token
//! endpoint and httpmock.

use atlas_migration_tests as support;

use atlas_migration_sim::operations::LIST_SOURCE_PROJECTS;
use std::time::Duration;

use atlas_migration_sim::{OAUTH_REVOKE, Simulator};
use chrono::Utc;
use futures::future::join_all;
use httpmock::prelude::*;

async fn linked_sim(builder: atlas_migration_sim::SimulatorBuilder) -> Simulator {
    let sim = builder.start().await.unwrap();
    support::link(&sim, &support::digest_client(&sim)).await;
    sim.clear_requests();
    sim
}

#[tokio::test]
async fn token_is_cached_and_its_expiry_visible() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::account_client(&sim);
    assert_eq!(client.token_expiry(), None);
    for _ in 0..10 {
        client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap();
    }
    assert_eq!(sim.token_requests(), 1);
    assert_eq!(sim.requests().len(), 11);
    let left = client.token_expiry().unwrap() - Utc::now();
    assert!(
        left > chrono::Duration::minutes(59) && left <= chrono::Duration::minutes(60),
        "{left}"
    );
}

#[tokio::test]
async fn fifty_concurrent_cold_calls_fetch_one_token() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::account_client(&sim);
    let org = support::org(&sim);
    let calls = (0..50).map(|_| {
        let (client, org) = (client.clone(), org.clone());
        tokio::spawn(async move { client.list_source_projects(&org).await })
    });
    for r in join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(sim.token_requests(), 1);
}

#[tokio::test]
async fn token_is_refreshed_shortly_before_it_expires() {
    let sim = linked_sim(Simulator::builder().token_lifetime(Duration::from_secs(3))).await;
    let client = support::builder(&sim.base_url())
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .token_refresh_margin(Duration::from_secs(2))
        .build()
        .unwrap();
    let org = support::org(&sim);
    client.list_source_projects(&org).await.unwrap();
    let first_expiry = client.token_expiry().unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The token still has ~1.8 s to live, but is inside the margin: refreshed early.
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert!(client.token_expiry().unwrap() > first_expiry);
    assert_eq!(
        sim.unauthorized_count(),
        0,
        "no call was sent with an expiring token"
    );
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once() {
    let sim = linked_sim(
        Simulator::builder()
            .manual_clock()
            .token_lifetime(Duration::from_secs(60)),
    )
    .await;
    let client = support::builder(&sim.base_url())
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .token_refresh_margin(Duration::ZERO)
        .build()
        .unwrap();
    let org = support::org(&sim);
    client.list_source_projects(&org).await.unwrap();
    sim.advance(Duration::from_secs(61)); // the server now refuses the cached token
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert_eq!(sim.unauthorized_count(), 1);
}

#[tokio::test]
async fn wrong_client_secret_is_a_clear_auth_error() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::builder(&sim.base_url())
        .service_account(sim.client_id(), "mdb_sa_sk_wrong_wrong_wrong".to_owned())
        .build()
        .unwrap();
    let err = client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    let text = err.to_string();
    assert!(text.contains("token endpoint refused"), "{text}");
    assert!(!text.contains("wrong_wrong"), "{text}");
    assert_eq!(
        sim.count(LIST_SOURCE_PROJECTS),
        0,
        "no call without a token"
    );
}

#[tokio::test]
async fn rate_limited_token_endpoint_reports_retry_after() {
    let server = MockServer::start_async().await;
    let token = server.mock(|when, then| {
        when.method(POST)
            .path("/api/oauth/token")
            .header_includes("authorization", "Basic ")
            .body_includes("grant_type=client_credentials");
        then.status(429)
            .header("retry-after", "42")
            .header("content-type", "application/json")
            .body(r#"{"error":"rate_limited"}"#);
    });
    let client = support::builder(&server.base_url())
        .service_account("id", "secret".to_owned())
        .build()
        .unwrap();
    let org = "4888442a3354817a7320eb61".parse().unwrap();
    let err = client.list_source_projects(&org).await.unwrap_err();
    assert!(err.is_auth() && err.is_rate_limited(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(42)));
    assert_eq!(err.error_code(), Some("rate_limited"));
    assert!(err.to_string().contains("10 requests a minute"), "{err}");
    token.assert_calls(1);
}

#[tokio::test]
async fn revoke_forgets_the_token() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::account_client(&sim);
    let org = support::org(&sim);
    client.revoke().await.unwrap(); // nothing cached: no request
    assert_eq!(sim.count(OAUTH_REVOKE), 0);
    client.list_source_projects(&org).await.unwrap();
    client.revoke().await.unwrap();
    assert_eq!(sim.count(OAUTH_REVOKE), 1);
    assert_eq!(client.token_expiry(), None);
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert_eq!(sim.unauthorized_count(), 0);
}
