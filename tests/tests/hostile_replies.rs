//! Hostile or odd server replies: each gives the right value or a clear error, never a panic
//! or a hang. Served from real loopback servers (httpmock, and a raw TCP peer for replies no
//! well-behaved server library would produce).

use std::time::Duration;

use atlas_migration::{Client, GroupId, LiveMigrationId, MigrationStatus, RetryPolicy};
use httpmock::MockServer;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const MIGRATION: &str = "507f1f77bcf86cd799439011";
const MIGRATION_PATH: &str =
    "/api/atlas/v2/groups/32b6e34b3d91647abb20e7b8/liveMigrations/507f1f77bcf86cd799439011";
/// No hostile reply may keep a call busy longer than this.
const NO_HANG: Duration = Duration::from_secs(20);

fn client(base_url: &str) -> Client {
    Client::builder()
        .api_key("hostilepub", "hostile-private-key-0d6f".to_owned())
        .base_url(base_url)
        .retry_policy(RetryPolicy::never())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a valid configuration")
}

fn ids() -> (GroupId, LiveMigrationId) {
    (GROUP.parse().unwrap(), MIGRATION.parse().unwrap())
}

/// A well-formed Atlas challenge, as answered to the client's bodiless probe of the API root.
const CHALLENGE: &str = r#"Digest realm="MMS Public API", domain="", nonce="hostile0nonce", algorithm=MD5, qop="auth", stale=false"#;

/// A loopback server whose API root answers the client's challenge probe properly, so the
/// hostile reply under test is the operation's own.
async fn server_with_challenge() -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/atlas/v2");
            then.status(401).header("www-authenticate", CHALLENGE);
        })
        .await;
    server
}

/// Serves `status`, `content_type` and `body` for the migration path.
async fn get_migration_against(
    status: u16,
    content_type: &str,
    body: Vec<u8>,
) -> Result<atlas_migration::LiveMigration, atlas_migration::Error> {
    let server = server_with_challenge().await;
    server
        .mock_async(|when, then| {
            when.path(MIGRATION_PATH);
            then.status(status)
                .header("content-type", content_type)
                .body(body);
        })
        .await;
    let (group, migration) = ids();
    tokio::time::timeout(
        NO_HANG,
        client(&server.base_url()).get_migration(&group, &migration),
    )
    .await
    .expect("the call must not hang")
}

#[tokio::test]
async fn unknown_status_values_and_extra_fields_are_tolerated() {
    let body = json!({"_id": MIGRATION, "status": "PAUSED", "readyForCutover": false,
                      "lagTimeSeconds": 12, "brandNewField": {"nested": [1, 2]}});
    let migration = get_migration_against(
        200,
        "application/vnd.atlas.2023-01-01+json",
        body.to_string().into_bytes(),
    )
    .await
    .expect("unknown values must decode");
    assert_eq!(migration.status, MigrationStatus::Unknown("PAUSED".into()));
    assert!(!migration.status.is_terminal());
}

#[tokio::test]
async fn an_html_502_page_is_an_api_error_with_its_status() {
    let page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>".to_vec();
    let error = get_migration_against(502, "text/html", page)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(502));
    assert!(error.is_transient());
    let text = error.to_string();
    assert!(text.contains("502"), "{text}");
}

#[tokio::test]
async fn an_empty_error_body_and_a_mistyped_id_are_clear_errors() {
    // Quick retries would answer the 503 three times; the message is what matters.
    let error = get_migration_against(503, "text/plain", Vec::new())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("empty body"), "{error}");
    for body in [&b"{\"_id\": 5}"[..], b"<html>ok</html>"] {
        let error = get_migration_against(200, "text/plain", body.to_vec())
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("could not decode the get_migration reply"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn an_empty_success_body_is_a_decode_error() {
    let error = get_migration_against(200, "application/json", Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        atlas_migration::ErrorKind::Decode,
        "{error:?}"
    );
}

#[tokio::test]
async fn truncated_json_is_a_decode_error_quoting_a_snippet() {
    let error = get_migration_against(
        200,
        "application/json",
        br#"{"_id": "507f1f77bcf86cd799439011", "status": "WORK"#.to_vec(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.kind(),
        atlas_migration::ErrorKind::Decode,
        "{error:?}"
    );
    assert!(error.to_string().contains("WORK"), "{error}");
}

#[tokio::test]
async fn invalid_utf8_is_a_decode_error() {
    let error = get_migration_against(200, "application/json", vec![b'{', 0xff, 0xfe, b'"', b'}'])
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        atlas_migration::ErrorKind::Decode,
        "{error:?}"
    );
}

#[tokio::test]
async fn valid_json_under_a_wrong_content_type_still_decodes() {
    let body = json!({"_id": MIGRATION, "status": "WORKING"})
        .to_string()
        .into_bytes();
    let migration = get_migration_against(200, "text/plain", body)
        .await
        .unwrap();
    assert_eq!(migration.status, MigrationStatus::Working);
}

#[tokio::test]
async fn a_10_mb_error_body_is_capped_in_the_error() {
    let body = vec![b'x'; 10 * 1024 * 1024];
    let error = get_migration_against(500, "text/plain", body)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert!(
        error.to_string().len() < 2_000,
        "error text is {} bytes",
        error.to_string().len()
    );
}

/// A raw peer that answers the challenge probe properly and every other request with `head`,
/// then, if `endless`, streams chunks (bounded, but far past any cap). Returns its base URL.
async fn raw_peer(head: &'static str, endless: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let read = socket.read(&mut request).await.unwrap_or(0);
                if request[..read].starts_with(b"GET /api/atlas/v2 ") {
                    let probe = format!(
                        "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: {CHALLENGE}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(probe.as_bytes()).await;
                    return;
                }
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 8192, "y".repeat(8192));
                // Bounded: 64 MiB at most, far more than any cap, then the peer gives up.
                for _ in 0..(endless as usize * 8192) {
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn an_endless_error_body_is_not_read_to_the_end() {
    let base = raw_peer(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n",
        true,
    )
    .await;
    let (group, migration) = ids();
    let error = tokio::time::timeout(NO_HANG, client(&base).get_migration(&group, &migration))
        .await
        .expect("an endless error body must not keep the call busy")
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert!(
        !error.is_auth(),
        "the operation's reply, not the probe's: {error:?}"
    );
}

/// The error of a call whose reply is a 401 with `www_authenticate`; with `on_probe` the
/// hostile 401 answers the challenge probe, otherwise the operation itself.
async fn error_for_401(
    www_authenticate: Option<&'static str>,
    on_probe: bool,
) -> atlas_migration::Error {
    let server = if on_probe {
        MockServer::start_async().await
    } else {
        server_with_challenge().await
    };
    let path = if on_probe {
        "/api/atlas/v2"
    } else {
        MIGRATION_PATH
    };
    server
        .mock_async(|when, then| {
            when.path(path);
            let then = then
                .status(401)
                .header("content-type", "application/json")
                .json_body(json!({
                    "error": 401, "errorCode": "UNAUTHORIZED", "reason": "Unauthorized"
                }));
            if let Some(value) = www_authenticate {
                then.header("www-authenticate", value);
            }
        })
        .await;
    let (group, migration) = ids();
    tokio::time::timeout(
        NO_HANG,
        client(&server.base_url()).get_migration(&group, &migration),
    )
    .await
    .expect("a broken challenge must not loop")
    .unwrap_err()
}

const BROKEN_CHALLENGES: [Option<&str>; 4] = [
    Some("Digest realm=\"MMS Public API, nonce="),
    Some(""),
    Some("Basic realm=\"elsewhere\""),
    None,
];

#[tokio::test]
async fn a_broken_challenge_on_the_probe_is_an_auth_error() {
    for challenge in BROKEN_CHALLENGES {
        let error = error_for_401(challenge, true).await;
        assert!(error.is_auth(), "{challenge:?}: {error:?}");
        assert_eq!(error.status(), Some(401), "{challenge:?}");
    }
}

#[tokio::test]
async fn a_broken_challenge_on_the_operation_is_an_auth_error() {
    for challenge in BROKEN_CHALLENGES {
        let error = error_for_401(challenge, false).await;
        assert!(error.is_auth(), "{challenge:?}: {error:?}");
        assert!(
            !error.to_string().contains("hostile-private-key"),
            "{error}"
        );
    }
}
