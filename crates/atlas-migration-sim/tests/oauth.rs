//! Service-account OAuth: token, bearer use, expiry and revocation.

mod common;

use std::time::Duration;

use atlas_migration_sim::{Fault, OAUTH_REVOKE, OAUTH_TOKEN, Simulator, TokenReply};
use base64::Engine as _;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn token_request(sim: &Simulator, auth: &str, form: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .header("authorization", auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap()
}

async fn get_bearer(sim: &Simulator, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!(
            "{}/api/atlas/v2/groups/{}/liveMigrations/0123456789abcdef01234567",
            sim.base_url(),
            sim.group_id()
        ))
        .header("accept", V2023)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn client_credentials_token_works_until_it_expires() {
    let sim = Simulator::builder()
        .manual_clock()
        .token_lifetime(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    assert!(sim.client_id().starts_with("mdb_sa_id_") && sim.client_id().len() == 34);
    assert!(sim.client_secret().starts_with("mdb_sa_sk_"));
    let auth = basic(sim.client_id(), sim.client_secret());
    let resp = token_request(&sim, &auth, "grant_type=client_credentials").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(get_bearer(&sim, &token).await, StatusCode::NOT_FOUND);
    sim.advance(Duration::from_secs(600));
    assert_eq!(get_bearer(&sim, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sim.token_requests(), 1);
    assert_eq!(sim.tokens_issued(), 1);
}

#[tokio::test]
async fn bad_client_and_bad_grant_are_refused() {
    let sim = Simulator::builder().start().await.unwrap();
    let resp = token_request(
        &sim,
        &basic(sim.client_id(), "nope"),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let resp = token_request(
        &sim,
        &basic(sim.client_id(), sim.client_secret()),
        "grant_type=password",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.token_requests(), 2);
    assert_eq!(sim.tokens_issued(), 0);
    assert_eq!(get_bearer(&sim, "made-up").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoked_token_stops_working() {
    let sim = Simulator::builder().start().await.unwrap();
    let auth = basic(sim.client_id(), sim.client_secret());
    let body: Value = token_request(&sim, &auth, "grant_type=client_credentials")
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(get_bearer(&sim, &token).await, StatusCode::NOT_FOUND);
    let resp = reqwest::Client::new()
        .post(format!("{}/api/oauth/revoke", sim.base_url()))
        .header("authorization", &auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(get_bearer(&sim, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sim.count(OAUTH_REVOKE), 1);
}

/// The body of one token request to `sim` with valid credentials.
async fn token_body(sim: &Simulator) -> (StatusCode, String) {
    let auth = basic(sim.client_id(), sim.client_secret());
    let resp = token_request(sim, &auth, "grant_type=client_credentials").await;
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test]
async fn token_reply_modes_send_what_they_say() {
    let sim = Simulator::builder()
        .token_reply(TokenReply::ExpiresIn(Some("1e13".into())))
        .start()
        .await
        .unwrap();
    let (status, body) = token_body(&sim).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with(r#""expires_in":1e13}"#), "{body}");
    let token: Value = serde_json::from_str(&body).unwrap();
    let token = token["access_token"].as_str().unwrap();
    assert_eq!(
        get_bearer(&sim, token).await,
        StatusCode::NOT_FOUND,
        "a real token"
    );

    sim.set_token_reply(TokenReply::ExpiresIn(None));
    let (_, body) = token_body(&sim).await;
    assert!(!body.contains("expires_in"), "{body}");

    sim.set_token_reply(TokenReply::AccessToken("line\nbreak".into()));
    let (_, body) = token_body(&sim).await;
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["access_token"], "line\nbreak");

    sim.set_token_reply(TokenReply::Garbage("<html>oops".into()));
    assert_eq!(
        token_body(&sim).await,
        (StatusCode::OK, "<html>oops".into())
    );

    assert_eq!(sim.token_requests(), 4);
    assert_eq!(
        sim.tokens_issued(),
        2,
        "only the expires_in modes issue tokens"
    );
}

#[tokio::test]
async fn token_endpoint_faults_hang_drip_and_fail() {
    let sim = Simulator::builder()
        .fault(Fault::on(OAUTH_TOKEN).too_many_requests(30))
        .fault(Fault::on(OAUTH_TOKEN).hang())
        .fault(Fault::on(OAUTH_TOKEN).drip(Duration::from_millis(100)))
        .start()
        .await
        .unwrap();
    let auth = basic(sim.client_id(), sim.client_secret());
    let resp = token_request(&sim, &auth, "grant_type=client_credentials").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "30");

    let hung = reqwest::Client::new()
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .header("authorization", &auth)
        .body("grant_type=client_credentials")
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(hung.is_timeout(), "{hung}");

    let resp = token_request(&sim, &auth, "grant_type=client_credentials").await;
    assert_eq!(resp.status(), StatusCode::OK, "headers arrive at once");
    let started = std::time::Instant::now();
    let mut resp = resp;
    let first = resp.chunk().await.unwrap().unwrap();
    assert_eq!(first.len(), 1, "one byte at a time");
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(sim.token_requests(), 3);
}
