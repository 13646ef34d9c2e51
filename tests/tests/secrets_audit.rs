//! Secrets audit: whole workflows against the simulator, once with an API key (digest) and
//! once with a service account, with real-looking secrets. Everything a user could see is
//! captured: all tracing output at TRACE from every target (reqwest's `log` records
//! included), the `Display` and `Debug` of every error provoked, and the `Debug` of every
//! public value built along the way. No secret may appear in any of it.
//!
//! Secrets checked: the API private key, the service-account client secret (and its HTTP
//! Basic encoding), the source cluster password, every link token the simulator returned and
//! every bearer token it issued.

mod support;

use atlas_migration_sim::operations::CREATE_PUSH_MIGRATION;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::wait::WaiterError;
use atlas_migration::workflow::{ProgressEvent, PushMigration, PushOutcome};
use atlas_migration::{
    Client, Credentials, Destination, ExposeSecret, LiveMigrationId, MigrationRequest, Source,
    ValidationId,
};
use atlas_migration_sim::{Fault, Simulator, Timings};
use base64::Engine;

const PRIVATE_KEY: &str = "7c1e4f2a-9b3d-4e8f-a6c5-0d2b1e9f3a47";
const CLIENT_ID: &str = "mdb_sa_id_65f1c0ffee0ddba11ca7f00d";
const CLIENT_SECRET: &str = "mdb_sa_sk_Qm8vT3xL9pR2wK7nB4jH6fZ1cY5dS0aEuI";
const POLL: Duration = Duration::from_millis(10);
const UNKNOWN: &str = "0123456789abcdef01234567";

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
    let builder =
        support::builder(&sim.base_url(), support::quick_retries(3)).credentials(credentials);
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
    let request = support::request(&sim, "atlas-target");
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
    let flow = PushMigration::new(&client, &group, support::request(&sim, "atlas-second"))
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
        .validate_migration(&group, &support::request(&sim, "atlas-third"))
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
        .min_delay(POLL)
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
        .create_migration(&group, &support::request(&sim, "atlas-early"))
        .await
        .unwrap();
    seen.debug("created", &early);
    let err = client.cutover(&group, &early.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    seen.error("early cutover", &err);

    // Workflow errors: a failed validation, and a create whose outcome is unknown.
    sim.fail_next_validation(format!("cannot reach {}", "legacy-rs"));
    let err = PushMigration::new(&client, &group, support::request(&sim, "atlas-fails"))
        .poll_delays(POLL, POLL * 3)
        .await
        .unwrap_err();
    seen.error("failed validation", &err);
    seen.text += &format!("server message: {:?}\n", err.server_message());
    sim.inject(Fault::on(CREATE_PUSH_MIGRATION).status(500));
    let err = PushMigration::new(&client, &group, support::request(&sim, "atlas-unknown"))
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
    let wrong = support::builder(&sim.base_url(), support::quick_retries(3))
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

#[tokio::test]
async fn no_secret_reaches_traces_errors_or_debug_output() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    // Global, so that every thread and reqwest's `log` records (through `tracing-log`) land
    // in the buffer; this binary has no other test.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .unwrap();

    let mut seen = Seen::default();
    audit(Auth::Digest, &mut seen).await;
    audit(Auth::ServiceAccount, &mut seen).await;

    let traces = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    // The capture works: spans, operation names and the library's own messages are there.
    for expected in [
        "atlas_migration.call",
        "operation=\"create_push_migration\"",
        "operation=\"cutover_migration\"",
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
