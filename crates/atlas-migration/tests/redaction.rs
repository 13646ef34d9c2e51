//! Secrets never appear in `Debug`, `Display`, errors or tracing output.

mod support;

use atlas_migration_sim::operations::{CREATE_PUSH_MIGRATION, VALIDATE_MIGRATION};
use std::io::Write;
use std::sync::{Arc, Mutex};

use atlas_migration::{Credentials, ExposeSecret};
use atlas_migration_sim::{Fault, Simulator};
use httpmock::prelude::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "secret {s:?} leaked into:\n{text}");
    }
}

const PRIVATE_KEY: &str = "3f2a9b7c-1d4e-4f6a-8b9c-0d1e2f3a4b5c";
const CLIENT_SECRET: &str = "mdb_sa_sk_Zx9QvL2pR7tY4wK8mN3bH6jF";
const BEARER: &str = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWJlYXJlcg.sig";
const LINK_TOKEN: &str = "bGluay10b2tlbi1zZWNyZXQtOWY4ZTdk";

#[tokio::test]
async fn secrets_stay_out_of_debug_display_errors_and_traces() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut seen = String::new();

    // Digest key, source password and link token against the simulator.
    let sim = Simulator::builder()
        .private_key(PRIVATE_KEY)
        .fault(Fault::on(CREATE_PUSH_MIGRATION).status(500).times(1))
        .fault(Fault::on(VALIDATE_MIGRATION).stale_nonce().times(1))
        .start()
        .await
        .unwrap();
    let client = support::digest_client(&sim);
    let token = client
        .create_link_token(&support::org(&sim), Vec::<String>::new())
        .await
        .unwrap();
    let sim_link_token = token.expose_secret().to_owned();
    let group = support::group(&sim);
    let request = support::request(&sim, &group);
    client.validate_migration(&group, &request).await.unwrap();
    let err = client.create_migration(&group, &request).await.unwrap_err();
    seen += &format!("{token:?} {request:?} {client:?} {err} {err:?}\n");
    let wrong = support::builder(&sim.base_url())
        .api_key(sim.public_key(), format!("{PRIVATE_KEY}-wrong"))
        .build()
        .unwrap();
    let err = wrong
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    seen += &format!("{err} {err:?} {wrong:?}\n");

    // Service account: client secret, bearer token and a link token over httpmock.
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path("/api/oauth/token");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(json!({"access_token": BEARER, "expires_in": 3600}));
    });
    server.mock(|when, then| {
        when.method(POST).path_includes("/linkTokens");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(json!({"linkToken": LINK_TOKEN}));
    });
    server.mock(|when, then| {
        when.method(GET).path_includes("/availableProjects");
        then.status(401)
            .body(format!("{{\"detail\":\"token {BEARER} refused\"}}"));
    });
    let builder = support::builder(&server.base_url()).credentials(Credentials::service_account(
        "mdb_sa_id_1",
        CLIENT_SECRET.to_owned(),
    ));
    seen += &format!("{builder:?}\n");
    let account = builder.build().unwrap();
    let org = "4888442a3354817a7320eb61".parse().unwrap();
    let link = account
        .create_link_token(&org, ["203.0.113.7"])
        .await
        .unwrap();
    assert_eq!(link.expose_secret(), LINK_TOKEN);
    seen += &format!("{link:?} {account:?}\n");
    let err = account.list_source_projects(&org).await.unwrap_err();
    seen += &format!("{err} {err:?}\n");

    // A link-token reply that fails to decode must not quote the token either.
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path("/api/oauth/token");
        then.status(200)
            .json_body(json!({"access_token": BEARER, "expires_in": 3600}));
    });
    server.mock(|when, then| {
        when.method(POST).path_includes("/linkTokens");
        then.status(200)
            .body(format!("{{\"linkToken\": 5, \"x\": \"{LINK_TOKEN}\""));
    });
    let account = support::builder(&server.base_url())
        .service_account("mdb_sa_id_1", CLIENT_SECRET.to_owned())
        .build()
        .unwrap();
    let err = account
        .create_link_token(&org, ["203.0.113.7"])
        .await
        .unwrap_err();
    seen += &format!("{err} {err:?}\n");

    let traces = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        traces.contains("atlas_migration.call"),
        "no spans captured:\n{traces}"
    );
    assert!(traces.contains("attempt"), "{traces}");
    let secrets = [
        PRIVATE_KEY,
        CLIENT_SECRET,
        BEARER,
        LINK_TOKEN,
        support::SOURCE_PASSWORD,
        sim_link_token.as_str(),
    ];
    assert_clean(&seen, &secrets);
    assert_clean(&traces, &secrets);
}
