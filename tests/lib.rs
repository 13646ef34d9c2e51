//! The workspace's test kit: helpers shared by every end-to-end test in `tests/tests/`
//! (clients pointed at the simulator, valid requests, a tracing capture), and the README's
//! code compiled as doctests so the quickstart cannot rot. Not published.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::{
    Client, ClientBuilder, Destination, GroupId, MigrationRequest, OrgId, RetryPolicy, Source,
};
use atlas_migration_sim::{Simulator, SimulatorBuilder};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The source cluster password every request carries; never to be seen in any output.
pub const SOURCE_PASSWORD: &str = "Src-P4ssw0rd-7f3a9c!";

/// Fast, deterministic retries for tests: 10 ms doubling up to 200 ms, no jitter.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(200))
        .jitter(false)
}

/// Quick retries: 1 ms doubling up to 20 ms (also the cap on `Retry-After`), `attempts` in
/// all.
pub fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(20))
}

/// A builder pointed at `base_url` with a 10 s per-attempt timeout and [`fast_retries`].
pub fn builder(base_url: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .timeout(Duration::from_secs(10))
        .retry_policy(fast_retries())
}

/// A digest (API key) client for `sim` with [`fast_retries`].
pub fn digest_client(sim: &Simulator) -> Client {
    digest_client_with(sim, fast_retries())
}

/// A digest (API key) client for `sim` with `retry`.
pub fn digest_client_with(sim: &Simulator, retry: RetryPolicy) -> Client {
    builder(&sim.base_url())
        .retry_policy(retry)
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap()
}

/// A service-account client for `sim` with [`fast_retries`].
pub fn account_client(sim: &Simulator) -> Client {
    account_client_with(sim, fast_retries())
}

/// A service-account client for `sim` with `retry`.
pub fn account_client_with(sim: &Simulator, retry: RetryPolicy) -> Client {
    builder(&sim.base_url())
        .retry_policy(retry)
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .build()
        .unwrap()
}

/// `sim`'s organization.
pub fn org(sim: &Simulator) -> OrgId {
    sim.org_id().parse().unwrap()
}

/// `sim`'s Atlas project.
pub fn group(sim: &Simulator) -> GroupId {
    sim.group_id().parse().unwrap()
}

/// A valid request from `sim`'s first source project into the cluster `atlas-target` of
/// `group`, authenticating to the source with [`SOURCE_PASSWORD`].
pub fn request(sim: &Simulator, group: &GroupId) -> MigrationRequest {
    request_into(sim, group, "atlas-target")
}

/// The same into the cluster `destination` of `sim`'s project.
pub fn request_named(sim: &Simulator, destination: &str) -> MigrationRequest {
    request_into(sim, &group(sim), destination)
}

fn request_into(sim: &Simulator, group: &GroupId, destination: &str) -> MigrationRequest {
    let project = &sim.source_projects()[0];
    MigrationRequest::builder()
        .source(
            Source::new(
                project.deployments[0].name.clone(),
                project.project_id.parse().unwrap(),
            )
            .tls(true)
            .credentials("migrator", SOURCE_PASSWORD.to_owned()),
        )
        .destination(Destination::new(destination, group.clone()))
        .migration_host(project.migration_hosts[0].clone())
        .build()
        .unwrap()
}

/// Links `sim`'s organization (creates a link token), as a migration needs.
pub async fn link(sim: &Simulator, client: &Client) {
    client
        .create_link_token(&org(sim), Vec::<String>::new())
        .await
        .unwrap();
}

/// Starts `builder`'s simulator, links it, and forgets the requests that took.
pub async fn linked(builder: SimulatorBuilder) -> Simulator {
    let sim = builder.start().await.unwrap();
    link(&sim, &digest_client(&sim)).await;
    sim.clear_requests();
    sim
}

/// Everything `tracing` writes while it is installed, as text (TRACE level, no colours).
#[derive(Clone, Default)]
pub struct TraceCapture(Arc<Mutex<Vec<u8>>>);

impl TraceCapture {
    /// A capture installed as the current thread's default subscriber until the guard drops.
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// The same, also writing each span with its fields when it closes.
    pub fn install_with_spans() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for TraceCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
