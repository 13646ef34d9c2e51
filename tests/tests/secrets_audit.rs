//! Secrets audit: whole workflows against the simulator, once with an API key (digest) and
//! once with a service account, with real-looking secrets. Everything a user could see is
//! captured: all tracing output at TRACE from every target (reqwest's `log` records
//! included), the `Display` and `Debug` of every error provoked, and the `Debug` of every
//! public value built along the way. No secret may appear in any of it.
//!
//! Secrets checked: the API private key, the service-account client secret (and its HTTP
//! Basic encoding), the source cluster password, every link token the simulator returned and
//! every bearer token it issued.

use atlas_migration_tests as support;

use atlas_migration_sim::operations::{CREATE_MIGRATION, VALIDATE_MIGRATION};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::secrecy::ExposeSecret;
use atlas_migration::wait::WaiterError;
use atlas_migration::workflow::{ProgressEvent, PushMigration, PushOutcome};
use atlas_migration::{
    Client, Credentials, Destination, LiveMigrationId, MigrationRequest, Source, ValidationId,
};
use atlas_migration_sim::{Fault, Simulator, Timings};
use base64::Engine;
use httpmock::prelude::*;
use serde_json::json;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

const PRIVATE_KEY: &str = "7c1e4f2a-9b3d-4e8f-a6c5-0d2b1e9f3a47";
const CLIENT_ID: &str = "mdb_sa_id_65f1c0ffee0ddba11ca7f00d";
const CLIENT_SECRET: &str = "mdb_sa_sk_Qm8vT3xL9pR2wK7nB4jH6fZ1cY5dS0aEuI";
const POLL: Duration = Duration::from_millis(10);
const UNKNOWN: &str = "0123456789abcdef01234567";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Auth {
    Digest,
    ServiceAccount,
}

/// Everything shown to a user, and the secrets the simulator handed out.
#[derive(Default)]
struct Seen {
    text: String,
    secrets: Vec<String>,
}

impl Seen {
    fn debug(&mut self, what: &str, value: &dyn std::fmt::Debug) {
        self.text += &format!("{what}: {value:?}\n");
    }

    fn error(&mut self, what: &str, e: &(dyn std::error::Error + 'static)) {
        self.text += &format!("{what}: {e}\n{what}: {e:?}\n");
        let mut source = e.source();
        while let Some(s) = source {
            self.text += &format!("{what} caused by: {s}\n");
            source = s.source();
        }
    }
}

fn client_for(sim: &Simulator, auth: Auth, seen: &mut Seen) -> Client {
    let credentials = match auth {
        Auth::Digest => Credentials::api_key(sim.public_key(), PRIVATE_KEY.to_owned()),
        Auth::ServiceAccount => Credentials::service_account(CLIENT_ID, CLIENT_SECRET.to_owned()),
    };
    seen.debug("credentials", &credentials);
    let builder = support::builder(&sim.base_url())
        .retry_policy(support::quick_retries(3))
        .credentials(credentials);
    seen.debug("builder", &builder);
    let client = builder.build().unwrap();
    seen.debug("client", &client);
    client
}

async fn audit(auth: Auth, seen: &mut Seen) {
    let sim = Simulator::builder()
        .private_key(PRIVATE_KEY)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .timings(Timings::fast())
        .start()
        .await
        .unwrap();
    let client = client_for(&sim, auth, seen);
    let org = support::org(&sim);
    let group = support::group(&sim);

    // A bad request (400): projects before any link token.
    let err = client.list_source_projects(&org).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    seen.error("list before link", &err);

    // Link token, then the source projects.
    let token = client
        .create_link_token(&org, ["203.0.113.7"])
        .await
        .unwrap();
    seen.secrets.push(token.expose_secret().to_owned());
    seen.debug("link token", &token);
    let projects = client.list_source_projects(&org).await.unwrap();
    seen.debug("projects", &projects);

    // The whole workflow, with every progress event and the builder itself shown.
    let request = support::request_named(&sim, "atlas-target");
    seen.debug("request", &request);
    let events = Arc::new(Mutex::new(Vec::<ProgressEvent>::new()));
    let sink = events.clone();
    let flow = PushMigration::new(&client, &group, request.clone())
        .auto_cutover(true)
        .poll_delays(POLL, POLL * 3)
        .on_progress(move |e| sink.lock().unwrap().push(e));
    seen.debug("push migration", &flow);
    let outcome = flow.await.unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)), "{outcome:?}");
    seen.debug("outcome", &outcome);
    seen.debug("events", &*events.lock().unwrap());

    // Step by step without auto cutover: the ready handle, then the cutover.
    let flow = PushMigration::new(
        &client,
        &group,
        support::request_named(&sim, "atlas-second"),
    )
    .poll_delays(POLL, POLL * 3);
    let PushOutcome::ReadyForCutover(ready) = flow.await.unwrap() else {
        panic!("expected a ready migration")
    };
    seen.debug("ready", &ready);
    seen.debug("ready migration", ready.migration());
    let done = ready.cutover_and_wait().await.unwrap();
    seen.text += &format!("done: {done}\n");
    seen.debug("done", &done);

    // A validation read back, and an unknown one (404).
    let validation = client
        .validate_migration(&group, &support::request_named(&sim, "atlas-third"))
        .await
        .unwrap();
    seen.debug("validation", &validation);
    let unknown_validation: ValidationId = UNKNOWN.parse().unwrap();
    let err = client
        .get_validation(&group, &unknown_validation)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    seen.error("unknown validation", &err);

    // 404 on a migration, also through a waiter and a resumed workflow.
    let unknown: LiveMigrationId = UNKNOWN.parse().unwrap();
    let err = client.get_migration(&group, &unknown).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    seen.error("unknown migration", &err);
    let err: WaiterError<_> = client
        .wait_until_ready_for_cutover(&group, &unknown)
        .poller(|p| p.min_delay(POLL))
        .await
        .unwrap_err();
    seen.error("waiter", &err);
    let err = PushMigration::resume(&client, &group, &unknown)
        .await
        .unwrap_err();
    seen.error("resume unknown", &err);
    let watch = client.watch_migration(&group, &unknown);
    seen.debug("watch", &watch);

    // Cutover before the migration is ready (400).
    let early = client
        .create_migration(&group, &support::request_named(&sim, "atlas-early"))
        .await
        .unwrap();
    seen.debug("created", &early);
    let err = client.cutover(&group, &early.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    seen.error("early cutover", &err);

    // Workflow errors: a failed validation, and a create whose outcome is unknown.
    sim.fail_next_validation(format!("cannot reach {}", "legacy-rs"));
    let err = PushMigration::new(&client, &group, support::request_named(&sim, "atlas-fails"))
        .poll_delays(POLL, POLL * 3)
        .await
        .unwrap_err();
    seen.error("failed validation", &err);
    seen.text += &format!("server message: {:?}\n", err.server_message());
    sim.inject(Fault::on(CREATE_MIGRATION).status(500));
    let err = PushMigration::new(
        &client,
        &group,
        support::request_named(&sim, "atlas-unknown"),
    )
    .poll_delays(POLL, POLL * 3)
    .await
    .unwrap_err();
    assert!(err.is_create_outcome_unknown(), "{err:?}");
    seen.error("unknown create", &err);
    seen.debug("unknown create source", &err.source);

    // Wrong secrets (401).
    let wrong = match auth {
        Auth::Digest => Credentials::api_key(sim.public_key(), format!("{PRIVATE_KEY}-x")),
        Auth::ServiceAccount => {
            Credentials::service_account(CLIENT_ID, format!("{CLIENT_SECRET}x"))
        }
    };
    let wrong = support::builder(&sim.base_url())
        .retry_policy(support::quick_retries(3))
        .credentials(wrong)
        .build()
        .unwrap();
    let err = wrong.list_source_projects(&org).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    seen.error("wrong secret", &err);
    seen.debug("wrong client", &wrong);

    // Invalid input carrying a password, refused before anything is sent.
    let project = &sim.source_projects()[0];
    let source = || {
        Source::new(
            project.deployments[0].name.clone(),
            project.project_id.parse().unwrap(),
        )
    };
    let with_password = source().credentials("migrator", support::SOURCE_PASSWORD.to_owned());
    seen.debug("source", &with_password);
    let invalid = [
        MigrationRequest::builder()
            .source(with_password.clone())
            .migration_host("host-1.example.net"),
        MigrationRequest::builder()
            .source(
                source()
                    .managed_authentication()
                    .credentials("migrator", support::SOURCE_PASSWORD.to_owned()),
            )
            .destination(Destination::new("atlas-target", group.clone()))
            .migration_host("host-1.example.net"),
        MigrationRequest::builder()
            .source(source().credentials(" ", support::SOURCE_PASSWORD.to_owned()))
            .destination(Destination::new("atlas-target", group.clone()))
            .migration_host("host-1.example.net"),
    ];
    for builder in invalid {
        seen.debug("request builder", &builder);
        let err = builder.build().unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
        seen.error("invalid request", &err);
    }

    if auth == Auth::ServiceAccount {
        let issued = sim.issued_tokens();
        assert!(!issued.is_empty(), "no bearer token was issued");
        seen.secrets.extend(issued);
        seen.text += &format!("token expiry: {:?}\n", client.token_expiry());
    }
    seen.secrets.extend(sim.link_tokens(sim.org_id()));
    assert_eq!(sim.bodies_sent_without_credentials(), 0);
}

const CALLS_PRIVATE_KEY: &str = "3f2a9b7c-1d4e-4f6a-8b9c-0d1e2f3a4b5c";
const CALLS_CLIENT_SECRET: &str = "mdb_sa_sk_Zx9QvL2pR7tY4wK8mN3bH6jF";
const CALLS_BEARER: &str = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWJlYXJlcg.sig";
const CALLS_LINK_TOKEN: &str = "bGluay10b2tlbi1zZWNyZXQtOWY4ZTdk";

/// Single calls outside a workflow: a digest call that fails after a stale nonce, a wrong
/// key, a service account over httpmock whose 401 body quotes its bearer token, and a
/// link-token reply that fails to decode while holding the token.
async fn single_calls(seen: &mut Seen) {
    // Digest key, source password and link token against the simulator.
    let sim = Simulator::builder()
        .private_key(CALLS_PRIVATE_KEY)
        .fault(Fault::on(CREATE_MIGRATION).status(500).times(1))
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
    seen.text += &format!("{token:?} {request:?} {client:?} {err} {err:?}\n");
    let wrong = support::builder(&sim.base_url())
        .api_key(sim.public_key(), format!("{CALLS_PRIVATE_KEY}-wrong"))
        .build()
        .unwrap();
    let err = wrong
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    seen.text += &format!("{err} {err:?} {wrong:?}\n");

    // Service account: client secret, bearer token and a link token over httpmock.
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path("/api/oauth/token");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(json!({"access_token": CALLS_BEARER, "expires_in": 3600}));
    });
    server.mock(|when, then| {
        when.method(POST).path_includes("/linkTokens");
        then.status(200)
            .header("content-type", "application/json")
            .json_body(json!({"linkToken": CALLS_LINK_TOKEN}));
    });
    server.mock(|when, then| {
        when.method(GET).path_includes("/availableProjects");
        then.status(401)
            .body(format!("{{\"detail\":\"token {CALLS_BEARER} refused\"}}"));
    });
    let builder = support::builder(&server.base_url()).credentials(Credentials::service_account(
        "mdb_sa_id_1",
        CALLS_CLIENT_SECRET.to_owned(),
    ));
    seen.text += &format!("{builder:?}\n");
    let account = builder.build().unwrap();
    let org = "4888442a3354817a7320eb61".parse().unwrap();
    let link = account
        .create_link_token(&org, ["203.0.113.7"])
        .await
        .unwrap();
    assert_eq!(link.expose_secret(), CALLS_LINK_TOKEN);
    seen.text += &format!("{link:?} {account:?}\n");
    let err = account.list_source_projects(&org).await.unwrap_err();
    seen.text += &format!("{err} {err:?}\n");

    // A link-token reply that fails to decode must not quote the token either.
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path("/api/oauth/token");
        then.status(200)
            .json_body(json!({"access_token": CALLS_BEARER, "expires_in": 3600}));
    });
    server.mock(|when, then| {
        when.method(POST).path_includes("/linkTokens");
        then.status(200)
            .body(format!("{{\"linkToken\": 5, \"x\": \"{CALLS_LINK_TOKEN}\""));
    });
    let account = support::builder(&server.base_url())
        .service_account("mdb_sa_id_1", CALLS_CLIENT_SECRET.to_owned())
        .build()
        .unwrap();
    let err = account
        .create_link_token(&org, ["203.0.113.7"])
        .await
        .unwrap_err();
    seen.text += &format!("{err} {err:?}\n");

    seen.secrets.extend(
        [
            CALLS_PRIVATE_KEY,
            CALLS_CLIENT_SECRET,
            CALLS_BEARER,
            CALLS_LINK_TOKEN,
            sim_link_token.as_str(),
        ]
        .map(str::to_owned),
    );
}

#[tokio::test]
async fn no_secret_reaches_traces_errors_or_debug_output() {
    let capture = support::TraceCapture::default();
    let writer = capture.clone();
    // Global, so that every thread and reqwest's `log` records (through `tracing-log`) land
    // in the capture; this binary has no other test.
    // The httpmock server that `single_calls` talks to logs the requests it receives,
    // credentials included: that is the test server's output, not the client's, so its
    // target is left out of the capture.
    let everything_but_the_mock_server = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("httpmock", LevelFilter::OFF);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_filter(everything_but_the_mock_server),
        )
        .try_init()
        .unwrap();

    let mut seen = Seen::default();
    audit(Auth::Digest, &mut seen).await;
    audit(Auth::ServiceAccount, &mut seen).await;
    single_calls(&mut seen).await;

    let traces = capture.text();
    // The capture works: spans, operation names and the library's own messages are there.
    for expected in [
        "atlas_migration.call",
        "operation=\"create_migration\"",
        "operation=\"cutover\"",
        "push_migration",
        "attempt finished",
        // HTTP stack records: hyper-util's through tracing, reqwest's through `tracing-log`.
        "hyper_util::",
        "reqwest::",
    ] {
        assert!(
            traces.contains(expected),
            "{expected:?} missing from the traces:\n{traces}"
        );
    }
    assert!(seen.text.contains("LinkToken([REDACTED])"), "{}", seen.text);
    assert!(seen.text.contains("LINK_TOKEN_NOT_FOUND"), "{}", seen.text);

    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let mut secrets = vec![
        PRIVATE_KEY.to_owned(),
        CLIENT_SECRET.to_owned(),
        basic,
        support::SOURCE_PASSWORD.to_owned(),
    ];
    secrets.extend(seen.secrets.iter().cloned());
    assert!(
        secrets.len() >= 7,
        "too few secrets collected: {}",
        secrets.len()
    );
    let mut leaks = Vec::new();
    for secret in &secrets {
        for (name, text) in [("traces", &traces), ("errors and Debug", &seen.text)] {
            if let Some(at) = text.find(secret.as_str()) {
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                leaks.push(format!("{name}: {}", &text[line_start..line_end]));
            }
        }
    }
    println!(
        "secrets audit: {} secrets checked against {} bytes of traces and {} bytes of \
         errors and Debug output; {} leaks",
        secrets.len(),
        traces.len(),
        seen.text.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
