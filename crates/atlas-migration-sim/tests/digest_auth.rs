//! HTTP Digest authentication against hand-built `Authorization` headers.

mod common;

use atlas_migration_sim::operations::CREATE_MIGRATION;
use std::time::Duration;

use atlas_migration_sim::{DigestAlgorithm, Simulator};
use common::*;
use reqwest::StatusCode;

fn path(sim: &Simulator) -> String {
    format!(
        "/api/atlas/v2/groups/{}/liveMigrations/0123456789abcdef01234567",
        sim.group_id()
    )
}

async fn get_with(sim: &Simulator, auth: Option<String>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("{}{}", sim.base_url(), path(sim)))
        .header("accept", V2023);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

async fn nonce(sim: &Simulator) -> String {
    let resp = get_with(sim, None).await;
    challenge_param(&www_authenticate(&resp), "nonce").unwrap()
}

#[tokio::test]
async fn challenge_has_the_atlas_shape() {
    let sim = Simulator::builder().start().await.unwrap();
    let resp = get_with(&sim, None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let ch = www_authenticate(&resp);
    assert!(
        ch.starts_with("Digest realm=\"MMS Public API\", domain=\"\", nonce=\""),
        "{ch}"
    );
    assert!(
        ch.ends_with("algorithm=MD5, qop=\"auth\", stale=false"),
        "{ch}"
    );
    let e = json(resp).await;
    assert_eq!(e["error"], 401);
    assert_eq!(sim.unauthorized_count(), 1);
}

#[tokio::test]
async fn valid_md5_digest_is_accepted_and_nc_may_arrive_out_of_order() {
    let sim = Simulator::builder().start().await.unwrap();
    let n = nonce(&sim).await;
    let h = |nc| {
        digest_header(
            DigestAlgorithm::Md5,
            sim.public_key(),
            sim.private_key(),
            "GET",
            &path(&sim),
            &n,
            nc,
            "abc",
        )
    };
    assert_eq!(
        get_with(&sim, Some(h(2))).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_with(&sim, Some(h(1))).await.status(),
        StatusCode::NOT_FOUND
    );
    let replay = get_with(&sim, Some(h(2))).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge_param(&www_authenticate(&replay), "stale").as_deref(),
        Some("false")
    );
    let authed = sim.requests().iter().filter(|r| r.authenticated).count();
    assert_eq!(authed, 2);
}

#[tokio::test]
async fn wrong_password_gets_a_fresh_challenge() {
    let sim = Simulator::builder().start().await.unwrap();
    let n = nonce(&sim).await;
    let bad = digest_header(
        DigestAlgorithm::Md5,
        sim.public_key(),
        "wrong",
        "GET",
        &path(&sim),
        &n,
        1,
        "abc",
    );
    let resp = get_with(&sim, Some(bad)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let ch = www_authenticate(&resp);
    assert_eq!(challenge_param(&ch, "stale").as_deref(), Some("false"));
    assert_ne!(challenge_param(&ch, "nonce").unwrap(), n);
    let last = sim.requests().pop().unwrap();
    assert!(last.authorization_present && !last.authenticated);
    // A digest for another uri is rejected too.
    let other = digest_header(
        DigestAlgorithm::Md5,
        sim.public_key(),
        sim.private_key(),
        "GET",
        "/elsewhere",
        &n,
        2,
        "abc",
    );
    assert_eq!(
        get_with(&sim, Some(other)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn expired_nonce_is_answered_stale_true() {
    let sim = Simulator::builder()
        .manual_clock()
        .nonce_lifetime(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let n = nonce(&sim).await;
    let h = |nc| {
        digest_header(
            DigestAlgorithm::Md5,
            sim.public_key(),
            sim.private_key(),
            "GET",
            &path(&sim),
            &n,
            nc,
            "abc",
        )
    };
    assert_eq!(
        get_with(&sim, Some(h(1))).await.status(),
        StatusCode::NOT_FOUND
    );
    sim.advance(Duration::from_secs(30));
    let resp = get_with(&sim, Some(h(2))).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let ch = www_authenticate(&resp);
    assert_eq!(challenge_param(&ch, "stale").as_deref(), Some("true"));
    let fresh = challenge_param(&ch, "nonce").unwrap();
    let h2 = digest_header(
        DigestAlgorithm::Md5,
        sim.public_key(),
        sim.private_key(),
        "GET",
        &path(&sim),
        &fresh,
        1,
        "abc",
    );
    assert_eq!(
        get_with(&sim, Some(h2)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn sha256_simulator_accepts_sha256_and_refuses_md5() {
    let sim = Simulator::builder()
        .digest_algorithm(DigestAlgorithm::Sha256)
        .public_key("pubkey")
        .private_key("privkey")
        .start()
        .await
        .unwrap();
    let resp = get_with(&sim, None).await;
    assert_eq!(
        challenge_param(&www_authenticate(&resp), "algorithm").as_deref(),
        Some("SHA-256")
    );
    let n = nonce(&sim).await;
    let ok = digest_header(
        DigestAlgorithm::Sha256,
        "pubkey",
        "privkey",
        "GET",
        &path(&sim),
        &n,
        1,
        "c",
    );
    assert_eq!(
        get_with(&sim, Some(ok)).await.status(),
        StatusCode::NOT_FOUND
    );
    let md5 = digest_header(
        DigestAlgorithm::Md5,
        "pubkey",
        "privkey",
        "GET",
        &path(&sim),
        &n,
        2,
        "c",
    );
    assert_eq!(
        get_with(&sim, Some(md5)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn request_log_tracks_bodies_sent_without_credentials() {
    let sim = Simulator::builder().start().await.unwrap();
    let group = sim.group_id();
    let url = format!(
        "{}/api/atlas/v2/groups/{group}/liveMigrations",
        sim.base_url()
    );
    // A naive client: sends the body (with the password) before authenticating.
    let resp = reqwest::Client::new()
        .post(&url)
        .header("accept", V2024)
        .header("content-type", V2024)
        .body(serde_json::to_vec(&migration_body(group)).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sim.bodies_sent_without_credentials(), 1);
    assert_eq!(sim.bodies_sent_unauthenticated(), 1);
    assert_eq!(sim.migrations_created(), 0);
    let c = DigestClient::new(&sim);
    c.create_migration(group, migration_body(group))
        .await
        .unwrap();
    assert_eq!(sim.bodies_sent_without_credentials(), 1);
    assert_eq!(sim.count(CREATE_MIGRATION), 2);
    assert_eq!(sim.counts()["create_migration"], 2);
}
