//! Digest authentication against servers that really verify digests.

use atlas_migration_tests as support;

use atlas_migration_sim::operations::{CREATE_PUSH_MIGRATION, LIST_SOURCE_PROJECTS};
use std::time::Duration;

use atlas_migration_sim::{DigestAlgorithm, Fault, Simulator};
use futures::future::join_all;
use httpmock::prelude::*;

#[tokio::test]
async fn challenge_is_cached_across_100_sequential_calls() {
    let sim = support::linked(Simulator::builder()).await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    for _ in 0..100 {
        client.list_source_projects(&org).await.unwrap();
    }
    let exchanges = sim.requests().len();
    assert!(exchanges <= 101, "{exchanges} exchanges for 100 calls");
    assert_eq!(sim.unauthorized_count(), 1);
}

#[tokio::test]
async fn fifty_concurrent_cold_calls_share_one_challenge_round() {
    let sim = support::linked(Simulator::builder()).await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    let calls = (0..50).map(|_| {
        let client = client.clone();
        let org = org.clone();
        tokio::spawn(async move { client.list_source_projects(&org).await })
    });
    for r in join_all(calls).await {
        r.unwrap().unwrap();
    }
    let exchanges = sim.requests().len();
    assert!(exchanges <= 51, "{exchanges} exchanges for 50 calls");
    assert_eq!(sim.unauthorized_count(), 1);
}

#[tokio::test]
async fn stale_nonce_is_answered_once_and_the_call_succeeds() {
    let sim = support::linked(
        Simulator::builder().fault(Fault::on(LIST_SOURCE_PROJECTS).stale_nonce().times(1)),
    )
    .await;
    let client = support::digest_client(&sim);
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 2);
    assert_eq!(sim.unauthorized_count(), 2, "probe + stale");
    // The renewed challenge is cached: the next call costs one exchange.
    let before = sim.requests().len();
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    assert_eq!(sim.requests().len(), before + 1);
}

#[tokio::test]
async fn repeated_stale_nonces_are_answered_not_taken_for_a_wrong_key() {
    let sim = support::linked(
        Simulator::builder().fault(Fault::on(CREATE_PUSH_MIGRATION).stale_nonce().times(3)),
    )
    .await;
    let client = support::digest_client(&sim);
    let group = support::group(&sim);
    client
        .create_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap();
    assert_eq!(
        sim.count(CREATE_PUSH_MIGRATION),
        4,
        "three stale answers, then success"
    );
    assert_eq!(sim.migrations_created(), 1);
}

#[tokio::test]
async fn endless_stale_nonces_end_as_an_auth_error_after_bounded_retries() {
    let sim = support::linked(
        Simulator::builder().fault(Fault::on(LIST_SOURCE_PROJECTS).stale_nonce().always()),
    )
    .await;
    let client = support::digest_client(&sim);
    let err = client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    // Each of the default 3 attempts answers at most 1 + 3 stale challenges.
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 12);
}

#[tokio::test]
async fn expired_nonce_mid_stream_is_renewed() {
    let sim = support::linked(
        Simulator::builder()
            .manual_clock()
            .nonce_lifetime(Duration::from_secs(10)),
    )
    .await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    client.list_source_projects(&org).await.unwrap();
    sim.advance(Duration::from_secs(11));
    client.list_source_projects(&org).await.unwrap();
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.unauthorized_count(), 2, "probe + one renewal");
    assert_eq!(sim.requests().len(), 5);
}

#[tokio::test]
async fn wrong_credentials_fail_after_one_retry() {
    let sim = Simulator::builder().start().await.unwrap();
    let client = support::builder(&sim.base_url())
        .api_key(sim.public_key(), "wrong-private-key-0000".to_owned())
        .build()
        .unwrap();
    let err = client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("API key was refused"), "{err}");
    assert!(!err.to_string().contains("wrong-private-key"), "{err}");
    // probe, first answer, one renewed answer; no loop and no retries of a refusal.
    assert!(sim.requests().len() <= 3, "{:?}", sim.requests());
    assert!(sim.count(LIST_SOURCE_PROJECTS) <= 2);
}

#[tokio::test]
async fn sha256_challenges_are_answered() {
    let sim = support::linked(Simulator::builder().digest_algorithm(DigestAlgorithm::Sha256)).await;
    let client = support::digest_client(&sim);
    for _ in 0..3 {
        client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap();
    }
    assert_eq!(sim.requests().len(), 4);
}

#[tokio::test]
async fn body_is_never_sent_without_credentials() {
    let sim = Simulator::builder()
        .fault(Fault::on(CREATE_PUSH_MIGRATION).stale_nonce().times(1))
        .start()
        .await
        .unwrap();
    let client = support::digest_client(&sim);
    let group = support::group(&sim);
    // Cold client: the very first call carries a body.
    client
        .validate_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap();
    support::link(&sim, &client).await;
    client
        .create_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap();
    assert_eq!(sim.bodies_sent_without_credentials(), 0);
    let probes: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| !r.authorization_present)
        .collect();
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].method, "GET");
    assert!(!probes[0].had_body);
}

fn challenge(nonce: &str) -> String {
    format!(
        r#"Digest realm="MMS Public API", nonce="{nonce}", algorithm=MD5, qop="auth", stale=false"#
    )
}

#[tokio::test]
async fn new_nonce_without_stale_flag_is_answered_once() {
    let server = MockServer::start_async().await;
    let probe = server.mock(|when, then| {
        when.method(GET)
            .path("/api/atlas/v2")
            .header_missing("authorization");
        then.status(401).header("www-authenticate", challenge("n1"));
    });
    let rotated = server.mock(|when, then| {
        when.path_includes("/availableProjects")
            .header_includes("authorization", "nonce=\"n1\"");
        then.status(401).header("www-authenticate", challenge("n2"));
    });
    let ok = server.mock(|when, then| {
        when.path_includes("/availableProjects")
            .header_includes("authorization", "nonce=\"n2\"");
        then.status(200)
            .header("content-type", "application/json")
            .body("[]");
    });
    let client = support::builder(&server.base_url())
        .api_key("pub", "priv".to_owned())
        .build()
        .unwrap();
    let org = "4888442a3354817a7320eb61".parse().unwrap();
    assert!(client.list_source_projects(&org).await.unwrap().is_empty());
    client.list_source_projects(&org).await.unwrap();
    probe.assert_calls(1);
    rotated.assert_calls(1);
    ok.assert_calls(2);
}

#[tokio::test]
async fn missing_or_garbled_challenges_are_clear_auth_errors() {
    for header in [None, Some("Digest realm=\"x"), Some("Basic realm=\"x\"")] {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.method(GET).path("/api/atlas/v2");
            let then = then.status(401).body("<html>nope</html>");
            if let Some(h) = header {
                then.header("www-authenticate", h);
            }
        });
        let client = support::builder(&server.base_url())
            .api_key("pub", "priv".to_owned())
            .build()
            .unwrap();
        let org = "4888442a3354817a7320eb61".parse().unwrap();
        let err = client.list_source_projects(&org).await.unwrap_err();
        assert!(err.is_auth(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("no WWW-Authenticate")
                || text.contains("garbled")
                || text.contains("no Digest"),
            "{text}"
        );
    }
}
