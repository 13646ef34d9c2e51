//! Redirects are never followed. The Atlas Admin API does not redirect, so a 3xx is either
//! a misconfigured proxy or an attack: following it would re-send the source cluster's
//! password or a bearer token to another host (over plain http if the redirect says so), or
//! turn a POST into a GET and hand back another server's reply as Atlas's answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::Client;
use atlas_migration_sim::operations::{GET_MIGRATION, VALIDATE_MIGRATION};
use atlas_migration_sim::{Fault, Simulator};
use atlas_migration_tests::{SOURCE_PASSWORD, digest_client, group, linked, request};
use httpmock::MockServer;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Another host on loopback: records every byte it receives and answers 200 with a
/// `COMPLETE` migration, as a server a redirect points to would.
struct Elsewhere {
    url: String,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Elsewhere {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/elsewhere", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let read = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    log.lock().unwrap().extend_from_slice(&buf[..read]);
                    let body = r#"{"_id":"507f1f77bcf86cd799439011","status":"COMPLETE","readyForCutover":false,"migrationHosts":[]}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        Self { url, received }
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }

    fn host(&self) -> String {
        reqwest::Url::parse(&self.url)
            .unwrap()
            .authority()
            .to_owned()
    }
}

/// Checks that `error` names the redirect and its target, and that `elsewhere` saw nothing.
fn assert_refused(error: &atlas_migration::Error, status: u16, elsewhere: &Elsewhere) {
    let text = error.to_string();
    assert!(error.is_redirect(), "{error:?}");
    assert_eq!(error.status(), Some(status), "{text}");
    assert!(text.contains(&status.to_string()), "{text}");
    assert!(
        text.contains(&elsewhere.host()),
        "names the target host: {text}"
    );
    assert!(
        !error.is_transient(),
        "a redirect is configuration, not bad luck"
    );
    assert_eq!(elsewhere.received(), "", "nothing reached the other host");
}

#[tokio::test]
async fn a_redirected_validation_never_sends_the_source_password_elsewhere() {
    for status in [301, 302, 303, 307, 308] {
        let elsewhere = Elsewhere::start().await;
        let sim = linked(Simulator::builder()).await;
        sim.inject(
            Fault::on(VALIDATE_MIGRATION)
                .redirect(status, &elsewhere.url)
                .always(),
        );
        let client = digest_client(&sim);
        let group = group(&sim);
        let error = client
            .validate_migration(&group, &request(&sim, &group))
            .await
            .unwrap_err();
        assert_refused(&error, status, &elsewhere);
        assert!(!elsewhere.received().contains(SOURCE_PASSWORD));
        assert_eq!(sim.count(VALIDATE_MIGRATION), 1, "{status}: not retried");
    }
}

#[tokio::test]
async fn a_redirected_read_never_returns_another_servers_reply() {
    let elsewhere = Elsewhere::start().await;
    let sim = linked(Simulator::builder()).await;
    let client = digest_client(&sim);
    let group = group(&sim);
    let migration = client
        .create_migration(&group, &request(&sim, &group))
        .await
        .unwrap();
    sim.inject(Fault::on(GET_MIGRATION).redirect(301, &elsewhere.url));
    let error = client
        .get_migration(&group, &migration.id)
        .await
        .unwrap_err();
    assert_refused(&error, 301, &elsewhere);
}

#[tokio::test]
async fn a_redirected_revoke_never_sends_the_token_elsewhere() {
    let elsewhere = Elsewhere::start().await;
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/oauth/token");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(json!({"access_token": "tok-redirect-secret", "token_type": "Bearer", "expires_in": 3600}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/api/oauth/revoke");
            then.status(307).header("location", elsewhere.url.as_str());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/api/atlas/v2/orgs/4888442a3354817a7320eb61/liveMigrations/linkTokens");
            then.status(204);
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .service_account("mdb_sa_id_redirect", "mdb_sa_sk_redirect".to_owned())
        .build()
        .unwrap();
    client
        .delete_link_tokens(&"4888442a3354817a7320eb61".parse().unwrap())
        .await
        .unwrap();
    let error = client.revoke().await.unwrap_err();
    assert_refused(&error, 307, &elsewhere);
    assert!(!elsewhere.received().contains("tok-redirect-secret"));
}

#[tokio::test]
async fn a_redirected_challenge_probe_is_refused() {
    let elsewhere = Elsewhere::start().await;
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/atlas/v2");
            then.status(308).header("location", elsewhere.url.as_str());
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .api_key("redirectpub", "redirect-private-key".to_owned())
        .build()
        .unwrap();
    let error = client
        .get_migration(
            &"32b6e34b3d91647abb20e7b8".parse().unwrap(),
            &"507f1f77bcf86cd799439011".parse().unwrap(),
        )
        .await
        .unwrap_err();
    assert_refused(&error, 308, &elsewhere);
}
